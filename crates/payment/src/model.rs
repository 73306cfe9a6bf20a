//! What we send to and read from WeChat Pay. Amounts are integer fen; absent optional fields
//! are skipped when serialising (WeChat rejects `null`).

use serde::{Deserialize, Serialize};
use topup_core::{Currency, Money, Timestamp};

use crate::PaymentError;

/// A JSAPI (mini-program) order to place. appid, mchid and notify_url come from the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsapiOrder {
    /// At most 127 characters.
    pub description: String,
    /// `[0-9A-Za-z_-]{6,32}`, unique per merchant.
    pub out_trade_no: String,
    /// Must be CNY and positive.
    pub amount: Money,
    pub payer_openid: String,
    /// Optional deadline for paying; at least one minute in the future.
    pub time_expire: Option<Timestamp>,
    /// Echoed back in queries and notifications; at most 128 characters.
    pub attach: Option<String>,
}

/// What `wx.requestPayment` needs (`docs/protocols.md#jsapi-and-paysign`); serialises with the
/// mini-program's field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestPaymentParams {
    pub time_stamp: String,
    pub nonce_str: String,
    pub package: String,
    pub sign_type: String,
    pub pay_sign: String,
}

/// A refund to request. `out_refund_no` makes it idempotent: retry with the same one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub out_trade_no: String,
    /// At most 64 characters of `[0-9A-Za-z_-|*@]`.
    pub out_refund_no: String,
    pub reason: Option<String>,
    /// The amount to give back.
    pub refund: Money,
    /// The order's paid total (WeChat checks it).
    pub total: Money,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TradeState {
    Success,
    Refund,
    Notpay,
    Closed,
    Revoked,
    Userpaying,
    Payerror,
    /// A state this client does not know yet; treat as "not paid (yet)".
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionAmount {
    /// Order total in fen.
    pub total: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_total: Option<i64>,
    pub currency: Currency,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_currency: Option<String>,
}

impl TransactionAmount {
    pub fn total_money(&self) -> Money {
        Money::new(self.total, self.currency)
    }
}

/// An order as WeChat Pay reports it: from a query or inside a `TRANSACTION.*` notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub appid: String,
    pub mchid: String,
    pub out_trade_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_type: Option<String>,
    pub trade_state: TradeState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_state_desc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<Payer>,
    pub amount: TransactionAmount,
}

/// The decrypted resource of a `TRANSACTION.SUCCESS` notification.
pub type TransactionNotification = Transaction;

/// Our own record of a payment, to hold a verified report against.
#[derive(Debug, Clone, Copy)]
pub struct ExpectedPayment<'a> {
    pub mchid: &'a str,
    pub appid: &'a str,
    pub out_trade_no: &'a str,
    pub total: Money,
}

impl Transaction {
    /// Checks mchid, appid, out_trade_no and amount.total against our own record
    /// (`docs/protocols.md#callbacks`).
    pub fn ensure_matches(&self, expected: &ExpectedPayment<'_>) -> Result<(), PaymentError> {
        if self.mchid != expected.mchid {
            return Err(PaymentError::Mismatch { field: "mchid" });
        }
        if self.appid != expected.appid {
            return Err(PaymentError::Mismatch { field: "appid" });
        }
        if self.out_trade_no != expected.out_trade_no {
            return Err(PaymentError::Mismatch {
                field: "out_trade_no",
            });
        }
        if self.amount.total_money() != expected.total {
            return Err(PaymentError::Mismatch {
                field: "amount.total",
            });
        }
        Ok(())
    }

    pub fn is_paid(&self) -> bool {
        matches!(self.trade_state, TradeState::Success | TradeState::Refund)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RefundStatus {
    Success,
    Closed,
    Processing,
    Abnormal,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundAmount {
    /// The order total, fen.
    pub total: i64,
    /// This refund, fen.
    pub refund: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_total: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_refund: Option<i64>,
    pub currency: Currency,
}

impl RefundAmount {
    pub fn refund_money(&self) -> Money {
        Money::new(self.refund, self.currency)
    }
}

/// A refund as WeChat Pay reports it (answer to create and query).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub refund_id: String,
    pub out_refund_no: String,
    pub transaction_id: String,
    pub out_trade_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_received_account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<Timestamp>,
    pub status: RefundStatus,
    pub amount: RefundAmount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundNotificationAmount {
    pub total: i64,
    pub refund: i64,
    pub payer_total: i64,
    pub payer_refund: i64,
}

/// The decrypted resource of a `REFUND.*` notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundNotification {
    pub mchid: String,
    pub transaction_id: String,
    pub out_trade_no: String,
    pub refund_id: String,
    pub out_refund_no: String,
    pub refund_status: RefundStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_received_account: Option<String>,
    pub amount: RefundNotificationAmount,
}

// Wire forms of our requests. Borrowed, so building them costs no copies on the hot path.

#[derive(Serialize)]
pub(crate) struct JsapiPrepayBody<'a> {
    pub appid: &'a str,
    pub mchid: &'a str,
    pub description: &'a str,
    pub out_trade_no: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_expire: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach: Option<&'a str>,
    pub notify_url: &'a str,
    pub amount: WireAmount,
    pub payer: WirePayer<'a>,
}

#[derive(Serialize)]
pub(crate) struct WireAmount {
    pub total: i64,
    pub currency: &'static str,
}

#[derive(Serialize)]
pub(crate) struct WirePayer<'a> {
    pub openid: &'a str,
}

#[derive(Deserialize)]
pub(crate) struct PrepayAnswer {
    pub prepay_id: String,
}

#[derive(Serialize)]
pub(crate) struct CloseBody<'a> {
    pub mchid: &'a str,
}

#[derive(Serialize)]
pub(crate) struct RefundBody<'a> {
    pub out_trade_no: &'a str,
    pub out_refund_no: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    pub notify_url: &'a str,
    pub amount: WireRefundAmount,
}

#[derive(Serialize)]
pub(crate) struct WireRefundAmount {
    pub refund: i64,
    pub total: i64,
    pub currency: &'static str,
}

#[derive(Deserialize)]
pub(crate) struct ErrorAnswer {
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub detail: Option<serde_json::Value>,
}
