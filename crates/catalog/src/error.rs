use thiserror::Error;
use topup_core::CoreError;
use topup_recharge::RechargeError;
use topup_store::StoreError;

/// Everything the catalog can fail with. `topup-api` maps each variant to one error code.
#[derive(Debug, Error)]
pub enum CatalogError {
    /// The country code is malformed, unknown, or not sold.
    #[error("country {0:?} is not sold here")]
    UnknownCountry(String),
    /// The phone number is not a valid mobile number.
    #[error("{0}")]
    InvalidPhone(String),
    /// A query parameter (plan type, operator) is malformed or names nothing sold.
    #[error("{field}: {reason}")]
    InvalidQuery { field: &'static str, reason: String },
    /// Input that fails validation; the message names the field.
    #[error("{0}")]
    Invalid(String),
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    /// The change is not allowed in the current state (or collides with an existing item).
    #[error("{0}")]
    Conflict(String),
    /// This client address started too many provider lookups lately.
    #[error("too many new numbers looked up from this address; retry in {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    /// Another sync holds the lock.
    #[error("a catalog sync is already running")]
    SyncInProgress,
    /// Invalid `[catalog]` configuration; the message names the key.
    #[error("catalog configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Provider(#[from] RechargeError),
    /// Arithmetic overflow and similar core failures (never caused by valid input).
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl CatalogError {
    pub(crate) fn not_found(what: &'static str, id: impl Into<String>) -> Self {
        CatalogError::NotFound {
            what,
            id: id.into(),
        }
    }
}
