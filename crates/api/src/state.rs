use std::sync::Arc;

use topup_auth::{AppUserService, AuthService};
use topup_catalog::Catalog;
use topup_content::ContentService;
use topup_core::{SharedClock, Timestamp};
use topup_marketing::MarketingService;
use topup_notify::NotifyService;
use topup_notify::alerts::StaffAlerts;
use topup_orders::OrdersService;
use topup_orders::reconcile::Reconciler;
use topup_orders::stats::OrderStats;
use topup_payment::PaymentService;
use topup_recharge::ProviderRouter;
use topup_settings::SettingsService;
use topup_store::Store;

use crate::Metrics;

/// The domain services the routes call, built by the composition root (`topup-app`).
#[derive(Clone)]
pub struct Services {
    pub store: Store,
    pub clock: SharedClock,
    /// Staff identity: sessions, permissions, audit logs.
    pub auth: Arc<AuthService>,
    /// Mini-program users: silent login, profile, saved numbers, blacklist, visitors.
    pub app_users: Arc<AppUserService>,
    /// What end users can buy; the app routes read its in-memory snapshot.
    pub catalog: Catalog,
    /// Payments and refunds with WeChat Pay.
    pub payments: Arc<PaymentService>,
    /// Orders: checkout, lifecycle, admin actions.
    pub orders: Arc<OrdersService>,
    /// Coupons: templates, claims, and their lock / use / return around orders.
    pub marketing: Arc<MarketingService>,
    /// WeChat subscribe messages: templates, subscriptions, deliveries.
    pub notify: Arc<NotifyService>,
    /// Staff alerts on WeChat through the official account.
    pub alerts: Arc<StaffAlerts>,
    /// Orders held against WeChat Pay's and the provider's records.
    pub reconciler: Arc<Reconciler>,
    /// The per-day order figures the dashboard reads.
    pub stats: Arc<OrderStats>,
    /// The top-up providers, for their balances.
    pub providers: Arc<ProviderRouter>,
    /// Banners, announcements and the home page's decoration.
    pub content: Arc<ContentService>,
    /// The settings staff change while serving.
    pub settings: Arc<SettingsService>,
}

/// What every handler can reach. Cheap to clone (all `Arc`s inside).
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub clock: SharedClock,
    pub metrics: Arc<Metrics>,
    pub catalog: Catalog,
    pub auth: Arc<AuthService>,
    pub orders: Arc<OrdersService>,
    pub app_users: Arc<AppUserService>,
    pub payments: Arc<PaymentService>,
    pub marketing: Arc<MarketingService>,
    pub notify: Arc<NotifyService>,
    pub alerts: Arc<StaffAlerts>,
    pub reconciler: Arc<Reconciler>,
    pub stats: Arc<OrderStats>,
    pub providers: Arc<ProviderRouter>,
    pub content: Arc<ContentService>,
    pub settings: Arc<SettingsService>,
    /// The built home page, checked against the content's stamp on every request.
    pub home_cache: Arc<crate::routes::app::content::HomeCache>,
    pub started_at: Timestamp,
    /// Largest JSON body accepted, in bytes.
    pub max_json_bytes: usize,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Arc<crate::TrustedProxies>,
}

impl AppState {
    pub fn new(services: Services) -> Self {
        let Services {
            store,
            clock,
            auth,
            app_users,
            catalog,
            payments,
            orders,
            marketing,
            notify,
            alerts,
            reconciler,
            stats,
            providers,
            content,
            settings,
        } = services;
        let started_at = clock.now();
        AppState {
            store,
            clock,
            metrics: Arc::new(Metrics::new()),
            catalog,
            auth,
            orders,
            app_users,
            payments,
            marketing,
            notify,
            alerts,
            reconciler,
            stats,
            providers,
            content,
            settings,
            home_cache: Arc::default(),
            started_at,
            max_json_bytes: 64 * 1024,
            trusted_proxies: Arc::default(),
        }
    }
}
