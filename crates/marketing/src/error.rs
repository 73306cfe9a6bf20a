use thiserror::Error;
use topup_core::CoreError;
use topup_store::StoreError;

#[derive(Debug, Error)]
pub enum MarketingError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// Every coupon of the template has been claimed.
    #[error("coupon template {0} is sold out")]
    SoldOut(String),
    /// The user holds as many coupons of the template as it allows.
    #[error("at most {limit} coupon(s) of this kind per user")]
    LimitReached { limit: u32 },
    /// The coupon cannot be applied to this purchase (`code` says why, for the client).
    #[error("{message}")]
    NotUsable { code: String, message: String },
    /// The membership order is not in a state that allows this.
    #[error("{0}")]
    InvalidState(String),
    /// WeChat Pay could not start a payment or take a refund request.
    #[error("payment: {0}")]
    Payment(String),
    /// The holder of a lock (the order) could not be looked up.
    #[error("lock holder: {0}")]
    Holder(String),
    #[error("money arithmetic: {0}")]
    Money(#[from] CoreError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl MarketingError {
    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> Self {
        MarketingError::Invalid {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}
