//! Payments, refunds and alerts as documents of their own (`docs/architecture.md#storage`). A
//! payment belongs to something being bought, named by `biz_type` + `biz_id`; this crate never
//! knows what that is.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use topup_core::{Id, IdKind, Money, Timestamp};
use topup_store::{Document, Lease};
use utoipa::ToSchema;

pub struct PaymentKind;

impl IdKind for PaymentKind {
    const NAME: &'static str = "payment";
}

pub struct RefundKind;

impl IdKind for RefundKind {
    const NAME: &'static str = "refund";
}

pub type PaymentId = Id<PaymentKind>;
pub type RefundId = Id<RefundKind>;

/// Where a payment is in its life. `created → prepaid → succeeded | closed`; a succeeded
/// payment becomes `partially_refunded` and `refunded` as refunds succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    /// Recorded, not yet placed with WeChat Pay.
    Created,
    /// Placed (JSAPI prepay); the user can pay.
    Prepaid,
    /// WeChat Pay says the money was taken.
    Succeeded,
    /// Will not be paid: prepay failed, or it expired unpaid and was closed at WeChat Pay.
    Closed,
    PartiallyRefunded,
    Refunded,
}

impl PaymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::Created => "created",
            PaymentState::Prepaid => "prepaid",
            PaymentState::Succeeded => "succeeded",
            PaymentState::Closed => "closed",
            PaymentState::PartiallyRefunded => "partially_refunded",
            PaymentState::Refunded => "refunded",
        }
    }

    /// The money was taken (whatever was refunded since).
    pub fn is_paid(self) -> bool {
        matches!(
            self,
            PaymentState::Succeeded | PaymentState::PartiallyRefunded | PaymentState::Refunded
        )
    }

    /// Not paid and not closed: WeChat may still report a payment.
    pub fn is_open(self) -> bool {
        matches!(self, PaymentState::Created | PaymentState::Prepaid)
    }
}

impl fmt::Display for PaymentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refund's life: `requested → processing → succeeded | closed | abnormal`. A refund whose
/// request failed on the way (timeout, 5xx) stays `requested` and is sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundState {
    Requested,
    Processing,
    Succeeded,
    Closed,
    /// WeChat could not return the money (closed card, frozen account): staff must act.
    Abnormal,
}

impl RefundState {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundState::Requested => "requested",
            RefundState::Processing => "processing",
            RefundState::Succeeded => "succeeded",
            RefundState::Closed => "closed",
            RefundState::Abnormal => "abnormal",
        }
    }

    /// Still moving: the sync job watches it.
    pub fn is_pending(self) -> bool {
        matches!(self, RefundState::Requested | RefundState::Processing)
    }
}

impl fmt::Display for RefundState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verified notification as received, kept on the record it concerns. No secrets: the
/// resource is the decrypted business payload, never keys or signatures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceivedNotification {
    /// WeChat's notification id (identical on retries and duplicates).
    pub notification_id: String,
    pub event_type: String,
    pub received_at: Timestamp,
    /// The decrypted `resource` (a transaction or a refund).
    pub resource: Value,
}

/// What a payment owner is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    PaymentSucceeded,
    PaymentClosed,
    RefundSucceeded,
    RefundClosed,
    RefundAbnormal,
}

/// An event recorded on the document in the same write as the change it reports, removed
/// once the owner's handler returned `Ok`. A crash in between delivers it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEvent {
    pub id: String,
    pub kind: EventKind,
    pub created_at: Timestamp,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl PendingEvent {
    pub(crate) fn new(kind: EventKind, now: Timestamp) -> Self {
        PendingEvent {
            id: ulid_string(),
            kind,
            created_at: now,
            attempts: 0,
            last_error: None,
        }
    }
}

/// One refund's share of the payment, keyed `r_<refund id>` in [`PaymentRecord::refund_ledger`].
/// Guarded updates on these entries make reserving, releasing and settling each happen once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Fen.
    pub amount: i64,
    pub status: LedgerStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerStatus {
    /// Counted in `refund_reserved`; the refund is not settled yet.
    Reserved,
    /// The refund closed; its amount is refundable again.
    Released,
    /// The refund succeeded; counted in `refunded_total` too.
    Refunded,
}

/// A payment (collection `payments`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentRecord {
    pub id: PaymentId,
    pub version: i64,
    /// What is being bought: `topup_order`, `membership`, … (owners register a handler).
    pub biz_type: String,
    pub biz_id: String,
    /// `[0-9A-Za-z_-]{6,32}`, unique.
    pub out_trade_no: String,
    /// CNY fen.
    pub amount: Money,
    pub payer_openid: String,
    pub description: String,
    pub state: PaymentState,
    /// WeChat refuses payment after this (`time_expire`); the sync job closes it then.
    pub expires_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepay_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepay_expires_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
    /// Why it closed without payment (a prepay failure, expiry), for people to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Sum of refunds that succeeded.
    pub refunded_total: Money,
    /// Sum of refunds not closed (requested, processing, succeeded, abnormal): never above
    /// `amount`, enforced by a guarded increment.
    pub refund_reserved: Money,
    #[serde(default)]
    pub refund_ledger: BTreeMap<String, LedgerEntry>,
    #[serde(default)]
    pub notifications: Vec<ReceivedNotification>,
    #[serde(default)]
    pub pending_events: Vec<PendingEvent>,
    /// When the sync job should deliver `pending_events` if nobody did before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_due_at: Option<Timestamp>,
    /// When the sync job should next ask WeChat about this unpaid payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_check_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Document for PaymentRecord {
    const COLLECTION: &'static str = "payments";
}

impl PaymentRecord {
    /// What may still be refunded (fen).
    pub fn refundable(&self) -> i64 {
        if self.state.is_paid() {
            self.amount
                .amount
                .saturating_sub(self.refund_reserved.amount)
                .max(0)
        } else {
            0
        }
    }
}

/// A refund (collection `payment_refunds`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefundRecord {
    pub id: RefundId,
    pub version: i64,
    pub payment_id: PaymentId,
    pub biz_type: String,
    pub biz_id: String,
    pub out_trade_no: String,
    /// Unique; the same one on every retry, so WeChat refunds at most once.
    pub out_refund_no: String,
    pub amount: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Who asked: `staff:<id>`, `system:<job>`, …
    pub initiator: String,
    pub state: RefundState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    /// Requests sent to WeChat so far (retries included).
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_received_account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
    #[serde(default)]
    pub notifications: Vec<ReceivedNotification>,
    #[serde(default)]
    pub pending_events: Vec<PendingEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_due_at: Option<Timestamp>,
    /// When the sync job should resend (`requested`) or query (`processing`) it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_check_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Document for RefundRecord {
    const COLLECTION: &'static str = "payment_refunds";
}

impl RefundRecord {
    /// The key of this refund in the payment's ledger (a plain field name).
    pub fn ledger_key(&self) -> String {
        ledger_key(&self.id)
    }
}

pub(crate) fn ledger_key(id: &RefundId) -> String {
    format!("r_{id}")
}

/// What kind of discrepancy an alert reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A verified report whose amount differs from our record.
    AmountMismatch,
    /// A verified report whose mchid, appid or out_trade_no differs from our record.
    IdMismatch,
    /// A verified payment notification for an out_trade_no we have no record of.
    UnknownPayment,
    /// A verified refund notification for an out_refund_no we have no record of.
    UnknownRefund,
    /// WeChat reports a payment we had already closed: money was taken for a closed payment.
    PaidAfterClose,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::AmountMismatch => "amount_mismatch",
            AlertKind::IdMismatch => "id_mismatch",
            AlertKind::UnknownPayment => "unknown_payment",
            AlertKind::UnknownRefund => "unknown_refund",
            AlertKind::PaidAfterClose => "paid_after_close",
        }
    }
}

/// Something staff must look at (collection `payment_alerts`). Never applied to a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PaymentAlert {
    /// For notifications `<kind>-<notification id>`, so WeChat's retries count up one alert.
    pub id: String,
    pub kind: AlertKind,
    /// `notification` or `query`.
    pub source: String,
    pub out_trade_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_refund_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_id: Option<String>,
    /// The field that disagrees (`amount.total`, `mchid`, …), when one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Our value (money as `{"amount", "currency"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub expected: Option<Value>,
    /// What WeChat Pay reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub received: Option<Value>,
    pub message: String,
    /// How many times it was seen (WeChat retries a refused notification).
    pub occurrences: u32,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
}

impl Document for PaymentAlert {
    const COLLECTION: &'static str = "payment_alerts";
}

/// A payment to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment {
    pub biz_type: String,
    pub biz_id: String,
    /// `[0-9A-Za-z_-]{6,32}`; generated (`P` + ULID) when absent.
    pub out_trade_no: Option<String>,
    /// Positive CNY.
    pub amount: Money,
    pub payer_openid: String,
    /// 1-127 characters; shown to the payer.
    pub description: String,
    /// When WeChat stops accepting payment (rounded down to whole seconds; at least two
    /// minutes ahead); default `payment_ttl_secs` from now.
    pub expires_at: Option<Timestamp>,
}

/// How much of a payment's description, and of a refund's reason, is sent: WeChat takes at
/// most 127 and 80 characters.
const DESCRIPTION_CHARS: usize = 120;
const REASON_CHARS: usize = 80;

impl NewPayment {
    /// The payment of an order of `biz_type` whose number (`id`) is also the payment's
    /// `out_trade_no`; the description cut to what WeChat takes.
    pub fn for_order(
        biz_type: &str,
        id: &str,
        amount: Money,
        payer_openid: &str,
        description: &str,
        expires_at: Timestamp,
    ) -> Self {
        NewPayment {
            biz_type: biz_type.to_owned(),
            biz_id: id.to_owned(),
            out_trade_no: Some(id.to_owned()),
            amount,
            payer_openid: payer_openid.to_owned(),
            description: description.chars().take(DESCRIPTION_CHARS).collect(),
            expires_at: Some(expires_at),
        }
    }
}

impl NewRefund {
    /// A refund under the owner's own number (so asking again is the same refund); the
    /// reason cut to what WeChat takes.
    pub fn numbered(
        out_trade_no: &str,
        out_refund_no: &str,
        amount: Money,
        reason: &str,
        initiator: &str,
    ) -> Self {
        NewRefund {
            out_trade_no: out_trade_no.to_owned(),
            out_refund_no: Some(out_refund_no.to_owned()),
            amount,
            reason: Some(reason.chars().take(REASON_CHARS).collect()),
            initiator: initiator.to_owned(),
        }
    }
}

/// A refund to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefund {
    pub out_trade_no: String,
    /// At most 64 of `[0-9A-Za-z_-|*@]`; generated (`R` + ULID) when absent. Asking again
    /// with the same number and amount answers the same refund.
    pub out_refund_no: Option<String>,
    pub amount: Money,
    /// At most 80 characters; WeChat shows it to the payer.
    pub reason: Option<String>,
    pub initiator: String,
}

pub(crate) fn ulid_string() -> String {
    ulid::Ulid::new().to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn state_names_are_the_stored_ones() {
        for state in [
            PaymentState::Created,
            PaymentState::Prepaid,
            PaymentState::Succeeded,
            PaymentState::Closed,
            PaymentState::PartiallyRefunded,
            PaymentState::Refunded,
        ] {
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
        }
        for state in [
            RefundState::Requested,
            RefundState::Processing,
            RefundState::Succeeded,
            RefundState::Closed,
            RefundState::Abnormal,
        ] {
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
        }
        assert_eq!(
            serde_json::to_value(AlertKind::PaidAfterClose).unwrap(),
            AlertKind::PaidAfterClose.as_str()
        );
    }

    #[test]
    fn ledger_keys_are_plain_field_names() {
        let key = ledger_key(&RefundId::new());
        assert!(
            topup_store::Field::new(format!("refund_ledger.{key}"))
                .validate()
                .is_ok()
        );
    }
}
