//! WeChat Pay callbacks: verified over the raw body, decrypted, matched against our
//! records, applied idempotently.

use crate::PaymentError;
use crate::notification::NotificationPayload;
use crate::platform::WechatPayHeaders;
use crate::records::ReceivedNotification;
use topup_core::crash::{self, crash_point};

use super::payments::ReportSource;
use super::{Applied, PaymentService};

/// What a callback did: the record it concerns and whether it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationOutcome {
    pub notification_id: String,
    pub event_type: String,
    pub out_trade_no: String,
    pub out_refund_no: Option<String>,
    /// `Unchanged` for a duplicate (or a report of a state we already have).
    pub applied: Applied,
}

impl PaymentService {
    /// `POST …/notify`: verify (timestamp window, signature over `raw_body`), decrypt, then
    /// apply the transaction. Errors for which [`PaymentError::is_authentication_failure`]
    /// holds mean "answer 401, nothing changed"; [`PaymentError::PaymentNotFound`] and
    /// [`PaymentError::Mismatch`] were raised as alerts and changed nothing either.
    pub async fn handle_payment_notification(
        &self,
        headers: &WechatPayHeaders,
        raw_body: &[u8],
    ) -> Result<NotificationOutcome, PaymentError> {
        let now = self.now();
        let verified = self
            .client
            .verify_notification(headers, raw_body, now)
            .await?;
        let NotificationPayload::Transaction(transaction) = &verified.payload else {
            return Err(PaymentError::UnsupportedEvent(verified.event_type));
        };
        let received = ReceivedNotification {
            notification_id: verified.id.clone(),
            event_type: verified.event_type.clone(),
            received_at: now,
            resource: serde_json::to_value(transaction)
                .map_err(|e| PaymentError::MalformedNotification(e.to_string()))?,
        };
        let (payment, applied) = self
            .apply_transaction(transaction, ReportSource::Notification(&received))
            .await?;
        crash_point(crash::PAYMENT_NOTIFICATION_APPLIED);
        Ok(NotificationOutcome {
            notification_id: verified.id,
            event_type: verified.event_type,
            out_trade_no: payment.out_trade_no,
            out_refund_no: None,
            applied,
        })
    }

    /// `POST …/refund-notify`: like [`Self::handle_payment_notification`] for
    /// `REFUND.SUCCESS`, `REFUND.CLOSED` and `REFUND.ABNORMAL`.
    pub async fn handle_refund_notification(
        &self,
        headers: &WechatPayHeaders,
        raw_body: &[u8],
    ) -> Result<NotificationOutcome, PaymentError> {
        let now = self.now();
        let verified = self
            .client
            .verify_notification(headers, raw_body, now)
            .await?;
        let NotificationPayload::Refund(refund) = &verified.payload else {
            return Err(PaymentError::UnsupportedEvent(verified.event_type));
        };
        let received = ReceivedNotification {
            notification_id: verified.id.clone(),
            event_type: verified.event_type.clone(),
            received_at: now,
            resource: serde_json::to_value(refund)
                .map_err(|e| PaymentError::MalformedNotification(e.to_string()))?,
        };
        let (stored, applied) = self.apply_refund_notification(refund, &received).await?;
        crash_point(crash::REFUND_NOTIFICATION_APPLIED);
        Ok(NotificationOutcome {
            notification_id: verified.id,
            event_type: verified.event_type,
            out_trade_no: stored.out_trade_no,
            out_refund_no: Some(stored.out_refund_no),
            applied,
        })
    }
}
