//! One adapter from WeChat Pay's events to whatever a payment was for (a top-up order, a
//! membership order): each owner says what a payment, a close and a settled refund do to it,
//! and is registered for its `biz_type`.

use std::sync::Arc;

use async_trait::async_trait;
use topup_core::{Money, Timestamp};
use topup_payment::{HandlerError, PaymentEvents, PaymentRecord, RefundRecord};

/// What a payment is for, as the payment events see it. Every method is idempotent: the
/// owner's own state decides what a repeated event changes.
#[async_trait]
pub trait PaymentOwner: Send + Sync + 'static {
    type Error: std::error::Error + Send + Sync + 'static;

    /// WeChat took the money for `biz_id`.
    async fn paid(
        &self,
        biz_id: &str,
        transaction_id: &str,
        amount: Money,
        paid_at: Timestamp,
    ) -> Result<(), Self::Error>;

    /// The payment of `biz_id` will not be paid.
    async fn closed(&self, biz_id: &str) -> Result<(), Self::Error>;

    /// A refund of `biz_id` ended: the money is back (`succeeded`) or it will not be.
    async fn refund_settled(
        &self,
        biz_id: &str,
        out_refund_no: &str,
        succeeded: bool,
    ) -> Result<(), Self::Error>;
}

/// Hands a `biz_type`'s payment events to its owner.
pub struct OwnerPaymentEvents<O>(pub Arc<O>);

fn handler_error<E: std::error::Error + Send + Sync + 'static>(error: E) -> HandlerError {
    Box::new(error)
}

#[async_trait]
impl<O: PaymentOwner> PaymentEvents for OwnerPaymentEvents<O> {
    async fn on_payment_succeeded(&self, payment: &PaymentRecord) -> Result<(), HandlerError> {
        self.0
            .paid(
                &payment.biz_id,
                payment.transaction_id.as_deref().unwrap_or_default(),
                payment.amount,
                payment.success_time.unwrap_or(payment.updated_at),
            )
            .await
            .map_err(handler_error)
    }

    async fn on_payment_closed(&self, payment: &PaymentRecord) -> Result<(), HandlerError> {
        self.0.closed(&payment.biz_id).await.map_err(handler_error)
    }

    async fn on_refund_succeeded(
        &self,
        payment: &PaymentRecord,
        refund: &RefundRecord,
    ) -> Result<(), HandlerError> {
        self.0
            .refund_settled(&payment.biz_id, &refund.out_refund_no, true)
            .await
            .map_err(handler_error)
    }

    async fn on_refund_closed(
        &self,
        payment: &PaymentRecord,
        refund: &RefundRecord,
    ) -> Result<(), HandlerError> {
        self.0
            .refund_settled(&payment.biz_id, &refund.out_refund_no, false)
            .await
            .map_err(handler_error)
    }

    async fn on_refund_abnormal(
        &self,
        payment: &PaymentRecord,
        refund: &RefundRecord,
    ) -> Result<(), HandlerError> {
        self.0
            .refund_settled(&payment.biz_id, &refund.out_refund_no, false)
            .await
            .map_err(handler_error)
    }
}
