/// Why the application could not be built or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("data directory {path}: {cause}")]
    DataDir { path: String, cause: std::io::Error },
    #[error("store: {0}")]
    Store(#[from] topup_store::StoreError),
    #[error("catalog: {0}")]
    Catalog(#[from] topup_catalog::CatalogError),
    #[error("staff identity: {0}")]
    Auth(#[from] topup_auth::AuthError),
    #[error("payments: {0}")]
    Payment(#[from] topup_payment::PaymentError),
    #[error("orders: {0}")]
    Orders(#[from] topup_orders::OrdersError),
    #[error("settings: {0}")]
    Settings(#[from] topup_settings::SettingsError),
    #[error("content: {0}")]
    Content(#[from] topup_content::ContentError),
    #[error("marketing: {0}")]
    Marketing(#[from] topup_marketing::MarketingError),
    #[error("notifications: {0}")]
    Notify(#[from] topup_notify::NotifyError),
    #[error("secret file {path}: {cause}")]
    Secret { path: String, cause: std::io::Error },
    #[error("backup: {0}")]
    Backup(String),
    #[error("cannot listen on {addr}: {cause}")]
    Listen { addr: String, cause: std::io::Error },
    #[error("server stopped with an error: {0}")]
    Serve(std::io::Error),
}
