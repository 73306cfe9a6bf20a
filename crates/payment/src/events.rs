//! How the owner of a `biz_type` learns what happened to its payments and refunds.

use async_trait::async_trait;

use crate::records::{PaymentRecord, RefundRecord};

/// A handler's failure; the event stays pending and is delivered again later.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// Implemented by whoever sells something paid with WeChat Pay (top-up orders, memberships)
/// and registered with [`crate::PaymentService::register_events`] for its `biz_type`.
///
/// **Delivery is at least once.** Each event is written on the payment (or refund) document
/// in the same write as the change it reports, and removed only after the handler returned
/// `Ok`. A crash, a timeout or an `Err` in between means the same event is delivered again
/// (by the sync job, after `event_retry_secs`), and two processes may occasionally deliver
/// it at the same time. Handlers must therefore be idempotent: look at the record's state
/// and at your own, and do nothing the second time.
///
/// The record passed is the current one at delivery time (it may have moved on since the
/// event, e.g. a succeeded payment already partly refunded).
#[async_trait]
pub trait PaymentEvents: Send + Sync + 'static {
    /// WeChat Pay took the money (verified notification or query). Delivered once per
    /// payment, also when WeChat reports payment for a payment we had closed (an alert is
    /// raised then: the owner should refund).
    async fn on_payment_succeeded(&self, payment: &PaymentRecord) -> Result<(), HandlerError>;

    /// The payment will not be paid: prepay failed, or it expired and was closed at WeChat.
    async fn on_payment_closed(&self, payment: &PaymentRecord) -> Result<(), HandlerError>;

    /// The money of `refund` is back with the payer; `payment` already counts it.
    async fn on_refund_succeeded(
        &self,
        payment: &PaymentRecord,
        refund: &RefundRecord,
    ) -> Result<(), HandlerError>;

    /// The refund will not happen (WeChat closed it or refused the request); its amount is
    /// refundable again.
    async fn on_refund_closed(
        &self,
        payment: &PaymentRecord,
        refund: &RefundRecord,
    ) -> Result<(), HandlerError>;

    /// WeChat could not return the money (the payer's account is closed or frozen); staff
    /// must handle it. The amount stays reserved.
    async fn on_refund_abnormal(
        &self,
        payment: &PaymentRecord,
        refund: &RefundRecord,
    ) -> Result<(), HandlerError>;
}
