//! Delivering recorded events to the owners of `biz_type`s: in order, each removed from the
//! document only after its handler returned `Ok` (at least once, see [`PaymentEvents`]).
//!
//! [`PaymentEvents`]: crate::PaymentEvents

use topup_core::Timestamp;

use super::{Edit, PaymentService, edit, short};
use crate::PaymentError;
use crate::events::HandlerError;
use crate::records::{EventKind, PaymentRecord, PendingEvent, RefundRecord};

/// Longest wait between two deliveries of a failing event, in multiples of
/// `event_retry_secs`.
const MAX_BACKOFF_STEPS: u32 = 20;

impl PaymentService {
    /// Delivers what is pending on a payment right after it changed; failures stay pending
    /// for the sync job. Answers the freshest record.
    pub(crate) async fn deliver_payment_events_now(&self, payment: PaymentRecord) -> PaymentRecord {
        if payment.pending_events.is_empty() {
            return payment;
        }
        let id = payment.id.to_string();
        match self.deliver_payment_events(&id).await {
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, payment = %id, "payment event delivery failed"),
        }
        self.payment(&id).await.unwrap_or(payment)
    }

    pub(crate) async fn deliver_refund_events_now(&self, refund: RefundRecord) -> RefundRecord {
        if refund.pending_events.is_empty() {
            return refund;
        }
        let id = refund.id.to_string();
        match self.deliver_refund_events(&id).await {
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, refund = %id, "refund event delivery failed"),
        }
        self.refunds.get(&id).await.ok().flatten().unwrap_or(refund)
    }

    /// Hands a payment's pending events to its owner, oldest first, stopping at the first
    /// failure. Answers how many were delivered.
    pub(crate) async fn deliver_payment_events(&self, id: &str) -> Result<usize, PaymentError> {
        let mut delivered = 0;
        loop {
            let payment = self.payment(id).await?;
            let Some(event) = payment.pending_events.first().cloned() else {
                return Ok(delivered);
            };
            let outcome = match self.handler(&payment.biz_type) {
                None => Err(HandlerError::from(format!(
                    "no handler registered for biz_type {}",
                    payment.biz_type
                ))),
                Some(handler) => match event.kind {
                    EventKind::PaymentSucceeded => handler.on_payment_succeeded(&payment).await,
                    EventKind::PaymentClosed => handler.on_payment_closed(&payment).await,
                    // Refund events live on refunds; one here is a bug, not worth a retry.
                    other => {
                        tracing::error!(?other, "refund event found on a payment; dropped");
                        Ok(())
                    }
                },
            };
            match outcome {
                Ok(()) => {
                    self.finish_payment_event(id, &event.id).await?;
                    delivered += 1;
                }
                Err(error) => {
                    tracing::warn!(error = %error, payment = %id, kind = ?event.kind, "payment event handler failed; will retry");
                    self.fail_payment_event(id, &event.id, &error).await?;
                    return Ok(delivered);
                }
            }
        }
    }

    /// Settles each pending refund event on the payment (idempotent), then hands it to the
    /// owner, oldest first, stopping at the first failure.
    pub(crate) async fn deliver_refund_events(&self, id: &str) -> Result<usize, PaymentError> {
        let mut delivered = 0;
        loop {
            let refund = self
                .refunds
                .get(id)
                .await?
                .ok_or_else(|| PaymentError::RefundNotFound(id.to_owned()))?;
            let Some(event) = refund.pending_events.first().cloned() else {
                return Ok(delivered);
            };
            // The payment's totals do not wait for the owner.
            self.settle_refund(&refund, event.kind).await?;
            let payment = self.payment(&refund.payment_id.to_string()).await?;
            let outcome = match self.handler(&refund.biz_type) {
                None => Err(HandlerError::from(format!(
                    "no handler registered for biz_type {}",
                    refund.biz_type
                ))),
                Some(handler) => match event.kind {
                    EventKind::RefundSucceeded => {
                        handler.on_refund_succeeded(&payment, &refund).await
                    }
                    EventKind::RefundClosed => handler.on_refund_closed(&payment, &refund).await,
                    EventKind::RefundAbnormal => {
                        handler.on_refund_abnormal(&payment, &refund).await
                    }
                    other => {
                        tracing::error!(?other, "payment event found on a refund; dropped");
                        Ok(())
                    }
                },
            };
            match outcome {
                Ok(()) => {
                    self.finish_refund_event(id, &event.id).await?;
                    delivered += 1;
                }
                Err(error) => {
                    tracing::warn!(error = %error, refund = %id, kind = ?event.kind, "refund event handler failed; will retry");
                    self.fail_refund_event(id, &event.id, &error).await?;
                    return Ok(delivered);
                }
            }
        }
    }

    async fn finish_payment_event(&self, id: &str, event_id: &str) -> Result<(), PaymentError> {
        edit(
            &self.payments,
            id,
            || PaymentError::PaymentNotFound(id.to_owned()),
            |p: &mut PaymentRecord| {
                Ok(remove_event(
                    &mut p.pending_events,
                    &mut p.events_due_at,
                    event_id,
                ))
            },
        )
        .await
        .map(drop)
    }

    async fn finish_refund_event(&self, id: &str, event_id: &str) -> Result<(), PaymentError> {
        edit(
            &self.refunds,
            id,
            || PaymentError::RefundNotFound(id.to_owned()),
            |r: &mut RefundRecord| {
                Ok(remove_event(
                    &mut r.pending_events,
                    &mut r.events_due_at,
                    event_id,
                ))
            },
        )
        .await
        .map(drop)
    }

    async fn fail_payment_event(
        &self,
        id: &str,
        event_id: &str,
        error: &HandlerError,
    ) -> Result<(), PaymentError> {
        let now = self.now();
        let step = self.secs(self.settings.event_retry_secs);
        edit(
            &self.payments,
            id,
            || PaymentError::PaymentNotFound(id.to_owned()),
            |p: &mut PaymentRecord| {
                Ok(note_failure(
                    &mut p.pending_events,
                    &mut p.events_due_at,
                    event_id,
                    error,
                    now,
                    step,
                ))
            },
        )
        .await
        .map(drop)
    }

    async fn fail_refund_event(
        &self,
        id: &str,
        event_id: &str,
        error: &HandlerError,
    ) -> Result<(), PaymentError> {
        let now = self.now();
        let step = self.secs(self.settings.event_retry_secs);
        edit(
            &self.refunds,
            id,
            || PaymentError::RefundNotFound(id.to_owned()),
            |r: &mut RefundRecord| {
                Ok(note_failure(
                    &mut r.pending_events,
                    &mut r.events_due_at,
                    event_id,
                    error,
                    now,
                    step,
                ))
            },
        )
        .await
        .map(drop)
    }
}

fn remove_event(
    events: &mut Vec<PendingEvent>,
    due_at: &mut Option<Timestamp>,
    event_id: &str,
) -> Edit<()> {
    let before = events.len();
    events.retain(|e| e.id != event_id);
    if events.len() == before {
        // Someone else delivered it meanwhile.
        return Edit::Keep(());
    }
    if events.is_empty() {
        *due_at = None;
    }
    Edit::Write(())
}

fn note_failure(
    events: &mut [PendingEvent],
    due_at: &mut Option<Timestamp>,
    event_id: &str,
    error: &HandlerError,
    now: Timestamp,
    step: chrono::TimeDelta,
) -> Edit<()> {
    let Some(event) = events.iter_mut().find(|e| e.id == event_id) else {
        return Edit::Keep(());
    };
    event.attempts = event.attempts.saturating_add(1);
    event.last_error = Some(short(error));
    let steps = event.attempts.clamp(1, MAX_BACKOFF_STEPS);
    *due_at = Some(now.plus(step * i32::try_from(steps).unwrap_or(1)));
    Edit::Write(())
}
