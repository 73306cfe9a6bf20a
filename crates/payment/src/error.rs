use thiserror::Error;

/// Everything that can go wrong talking to WeChat Pay or checking what it sent.
///
/// Messages never contain keys, signatures' inputs or bodies: they may end up in logs.
#[derive(Debug, Error)]
pub enum PaymentError {
    #[error("invalid WeChat Pay configuration: {0}")]
    Config(String),
    #[error("the APIv3 key must be exactly 32 bytes")]
    ApiV3KeyLength,
    #[error("invalid key material: {0}")]
    InvalidKey(String),
    #[error("cannot read key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error("the system random generator failed")]
    Random,
    #[error("request rejected before sending: {0}")]
    InvalidRequest(String),
    #[error("WeChat Pay could not be reached: {0}")]
    Transport(String),
    /// WeChat Pay answered (and signed) a non-2xx status.
    #[error("WeChat Pay answered {status} {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
        /// Boxed: keeps every `Result<_, PaymentError>` small.
        detail: Option<Box<serde_json::Value>>,
    },
    /// A response whose signature did not check out; its body is not trusted.
    #[error("WeChat Pay response (status {status}) failed verification: {reason}")]
    UnverifiedResponse { status: u16, reason: String },
    #[error("unexpected WeChat Pay response body: {0}")]
    Decode(String),

    // Failures of an incoming signed message (callback); all of them mean "answer 401".
    #[error("missing or empty header {0}")]
    MissingHeader(&'static str),
    #[error("malformed Wechatpay-Timestamp")]
    MalformedTimestamp,
    #[error("timestamp is {skew_seconds} s away from now (limit 300 s)")]
    StaleTimestamp { skew_seconds: i64 },
    #[error("signature is a WeChat Pay probe (WECHATPAY/SIGNTEST/)")]
    SignatureProbe,
    #[error("no WeChat Pay key with serial {0}")]
    UnknownSerial(String),
    #[error("signature does not verify")]
    BadSignature,
    #[error("AEAD_AES_256_GCM decryption failed")]
    Decrypt,
    #[error("malformed notification: {0}")]
    MalformedNotification(String),

    /// Verified and decrypted, but of a kind this client does not handle.
    #[error("unsupported notification event type {0}")]
    UnsupportedEvent(String),
    /// A verified message that does not match our own record of the payment.
    #[error("notification does not match our record: {field} differs")]
    Mismatch { field: &'static str },

    // Payment and refund records.
    #[error("store: {0}")]
    Store(#[from] topup_store::StoreError),
    #[error("payment {0} not found")]
    PaymentNotFound(String),
    #[error("refund {0} not found")]
    RefundNotFound(String),
    #[error("out_trade_no {0} is already used")]
    DuplicateOutTradeNo(String),
    #[error("out_refund_no {0} is already used for another refund")]
    DuplicateOutRefundNo(String),
    /// The operation does not apply to the record in its current state.
    #[error("{what} is {state}: cannot {action}")]
    InvalidState {
        what: String,
        state: String,
        action: &'static str,
    },
    #[error("refund of {requested} fen exceeds the {refundable} fen still refundable")]
    RefundExceedsRefundable { requested: i64, refundable: i64 },
    #[error("no payment event handler is registered for biz_type {0:?}")]
    UnknownBizType(String),
    /// Prepay was refused or failed; the payment is closed and nothing was charged.
    #[error("WeChat Pay prepay failed, payment {out_trade_no} closed: {cause}")]
    PrepayFailed {
        out_trade_no: String,
        cause: Box<PaymentError>,
    },
    /// The refund request was refused; the refund is closed and its amount refundable again.
    #[error("WeChat Pay refused refund {out_refund_no}: {cause}")]
    RefundRefused {
        out_refund_no: String,
        cause: Box<PaymentError>,
    },
    /// A record kept changing under us; try again.
    #[error("{0} changed concurrently too often; retry")]
    Contention(String),
}

impl PaymentError {
    /// True when an incoming callback must be refused with 401 (forged, stale, probe, unreadable).
    pub fn is_authentication_failure(&self) -> bool {
        matches!(
            self,
            PaymentError::MissingHeader(_)
                | PaymentError::MalformedTimestamp
                | PaymentError::StaleTimestamp { .. }
                | PaymentError::SignatureProbe
                | PaymentError::UnknownSerial(_)
                | PaymentError::BadSignature
                | PaymentError::Decrypt
                | PaymentError::MalformedNotification(_)
        )
    }

    /// True for failures where sending the same request again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            PaymentError::Transport(_) => true,
            PaymentError::Api { status, .. } | PaymentError::UnverifiedResponse { status, .. } => {
                *status >= 500 || *status == 429
            }
            _ => false,
        }
    }

    /// The WeChat Pay error code, when WeChat answered with one.
    pub fn api_code(&self) -> Option<&str> {
        match self {
            PaymentError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}
