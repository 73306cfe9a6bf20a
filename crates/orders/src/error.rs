use thiserror::Error;
use topup_core::CoreError;
use topup_store::StoreError;

#[derive(Debug, Error)]
pub enum OrdersError {
    #[error("order {0} not found")]
    NotFound(String),
    #[error("plan {0} is not for sale")]
    PlanUnavailable(String),
    #[error("{0}")]
    InvalidPhone(String),
    #[error("the number belongs to {number_country}, the plan to {plan_country}")]
    CountryMismatch {
        number_country: String,
        plan_country: String,
    },
    #[error("the number is on operator {detected}, the plan is for {plan}")]
    OperatorMismatch { detected: String, plan: String },
    /// The number to top up is blacklisted.
    #[error("blocked: {0}")]
    Blocked(String),
    /// The user or the address they call from is blacklisted.
    #[error("blocked: {0}")]
    UserBlocked(String),
    #[error("limit reached: {0}")]
    LimitReached(String),
    #[error("too many checkouts; retry in {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    #[error("the same Idempotency-Key was used with another request body")]
    IdempotencyMismatch,
    #[error("order is {state}; {action} is not possible")]
    InvalidState { state: String, action: String },
    #[error("refund of {requested} exceeds the refundable {refundable}")]
    RefundTooLarge {
        requested: String,
        refundable: String,
    },
    /// A held order's money cannot be returned: something may have been delivered.
    #[error("not refundable: {0}")]
    DeliveryNotRuledOut(String),
    /// A provider that must be asked first could not be.
    #[error("provider unavailable: {0}")]
    ProviderUnavailable(String),
    /// The coupon does not apply to this purchase (`code`: `below_threshold`, `expired`, …).
    #[error("coupon not usable: {message}")]
    CouponNotUsable { code: String, message: String },
    #[error("payment could not be started: {0}")]
    PaymentFailed(String),
    #[error("payment service: {0}")]
    Payment(String),
    /// The buyer has not accepted the current recharge terms (`version`, titled `title`).
    #[error("please read and accept the {title} first")]
    TermsNotAccepted { version: u32, title: String },
    /// Another domain behind one of the ports failed in a way that is not ours to explain.
    #[error("{port}: {cause}")]
    Dependency { port: &'static str, cause: String },
    #[error("money arithmetic: {0}")]
    Money(#[from] CoreError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
