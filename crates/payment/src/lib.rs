//! WeChat Pay APIv3 for a direct merchant selling in a mini-program (JSAPI payments).
//!
//! - [`WechatPayClient`]: signs every request, verifies every response with the
//!   WeChat Pay public key and/or platform certificates, places JSAPI orders, builds
//!   `wx.requestPayment` parameters, queries, closes, refunds.
//! - [`WechatPayClient::verify_notification`] / [`verify_and_decrypt_notification`]: the
//!   callback check (timestamp window, signature over the raw body, AEAD decryption).
//!
//! - [`PaymentService`]: payments and refunds as records of their own (collections
//!   `payments`, `payment_refunds`, `payment_alerts`), kept in step with WeChat Pay through
//!   verified callbacks and a sync job; their owners learn of changes through
//!   [`PaymentEvents`].

mod client;
mod config;
mod crypto;
mod error;
mod events;
mod model;
mod notification;
mod platform;
mod records;
mod service;
mod settings;

pub use client::WechatPayClient;
pub use config::{DEFAULT_BASE_URL, HttpSettings, PemSource, WechatPayConfig};
pub use crypto::{
    ApiV3Key, MerchantSigner, SignatureVerifier, authorization_header, pay_sign_message,
    random_nonce, request_message, response_message,
};
pub use error::PaymentError;
pub use events::{HandlerError, PaymentEvents};
pub use model::{
    ExpectedPayment, JsapiOrder, Payer, Refund, RefundAmount, RefundNotification,
    RefundNotificationAmount, RefundRequest, RefundStatus, RequestPaymentParams, TradeState,
    Transaction, TransactionAmount, TransactionNotification,
};
pub use notification::{
    NotificationPayload, VerifiedNotification, verify_and_decrypt_notification,
};
pub use platform::{MAX_CLOCK_SKEW_SECONDS, PUBLIC_KEY_ID_PREFIX, PlatformKeys, WechatPayHeaders};
pub use records::{
    AlertKind, EventKind, LedgerEntry, LedgerStatus, NewPayment, NewRefund, PaymentAlert,
    PaymentId, PaymentKind, PaymentRecord, PaymentState, PendingEvent, ReceivedNotification,
    RefundId, RefundKind, RefundRecord, RefundState,
};
pub use service::{Applied, NotificationOutcome, PaymentService, ReportSource, SyncReport};
pub use settings::PaymentSettings;
