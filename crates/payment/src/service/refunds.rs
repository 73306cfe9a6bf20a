//! Refunds: reserve the amount atomically on the payment, ask WeChat (again, with the same
//! out_refund_no, until it answers), follow the refund to its end, settle it on the payment.

use serde_json::{Value, json};
use topup_core::crash::{self, crash_point};
use topup_core::{Currency, Timestamp};
use topup_store::{Filter, StoreError, Update};

use super::{Applied, Edit, PaymentService, edit, keep_notification, push_event, short};
use crate::PaymentError;
use crate::client::validate_out_refund_no;
use crate::model::{Refund, RefundRequest, RefundStatus};
use crate::records::{
    AlertKind, EventKind, LedgerStatus, NewRefund, PaymentRecord, PaymentState, PendingEvent,
    ReceivedNotification, RefundId, RefundRecord, RefundState, ulid_string,
};
use crate::service::alerts::NewAlert;

/// What WeChat says about a refund, from the create answer, a query or a notification.
#[derive(Debug, Clone)]
pub(crate) struct RefundReport {
    pub status: RefundStatus,
    pub refund_id: String,
    pub out_trade_no: String,
    pub mchid: Option<String>,
    /// Fen.
    pub refund: i64,
    pub total: i64,
    pub success_time: Option<Timestamp>,
    pub user_received_account: Option<String>,
}

impl RefundReport {
    pub(crate) fn from_refund(refund: &Refund) -> Self {
        RefundReport {
            status: refund.status,
            refund_id: refund.refund_id.clone(),
            out_trade_no: refund.out_trade_no.clone(),
            mchid: None,
            refund: refund.amount.refund,
            total: refund.amount.total,
            success_time: refund.success_time,
            user_received_account: refund.user_received_account.clone(),
        }
    }
}

/// Whether to try the reservation's outcome again.
enum Reservation {
    Held,
    Refused(PaymentError),
}

/// A WeChat answer that settles the request for good: a signed, verified 4xx other than
/// "not enough balance" and rate limiting, or a request we refused to send.
fn is_definitive_refusal(error: &PaymentError) -> bool {
    match error {
        PaymentError::InvalidRequest(_) => true,
        PaymentError::Api { status, code, .. } => {
            (400..500).contains(status) && *status != 429 && code != "NOT_ENOUGH"
        }
        _ => false,
    }
}

fn paid_states() -> Filter {
    Filter::is_in(
        "state",
        [
            PaymentState::Succeeded.as_str(),
            PaymentState::PartiallyRefunded.as_str(),
            PaymentState::Refunded.as_str(),
        ],
    )
}

impl PaymentService {
    /// Refunds part or all of a paid payment. The amount is reserved on the payment by one
    /// guarded write, so concurrent refunds can never add up to more than was paid
    /// ([`PaymentError::RefundExceedsRefundable`] otherwise, and nothing is recorded).
    ///
    /// Answers the refund as it stands: `processing` (or already `succeeded`) when WeChat
    /// accepted it, `requested` when the request failed on the way (the sync job sends it
    /// again with the same out_refund_no). A request WeChat refuses closes the refund and
    /// answers [`PaymentError::RefundRefused`]. Asking again with the same out_refund_no
    /// and amount answers the existing refund.
    #[tracing::instrument(skip_all, fields(out_trade_no = %new.out_trade_no))]
    pub async fn refund(&self, new: NewRefund) -> Result<RefundRecord, PaymentError> {
        if new.amount.currency != Currency::CNY || !new.amount.is_positive() {
            return Err(PaymentError::InvalidRequest(
                "refund amount must be a positive CNY amount".into(),
            ));
        }
        if new
            .reason
            .as_deref()
            .is_some_and(|r| r.chars().count() > 80)
        {
            return Err(PaymentError::InvalidRequest(
                "reason must be at most 80 characters".into(),
            ));
        }
        if new.initiator.trim().is_empty() || new.initiator.len() > 128 {
            return Err(PaymentError::InvalidRequest(
                "initiator must be 1-128 characters".into(),
            ));
        }
        let out_refund_no = new
            .out_refund_no
            .unwrap_or_else(|| format!("R{}", ulid_string()));
        validate_out_refund_no(&out_refund_no)?;
        let payment = self.payment_by_out_trade_no(&new.out_trade_no).await?;
        if let Some(existing) = self.find_refund(&out_refund_no).await? {
            return same_refund(existing, &payment, new.amount.amount, &out_refund_no);
        }
        if !payment.state.is_paid() {
            return Err(PaymentError::InvalidState {
                what: format!("payment {}", payment.out_trade_no),
                state: payment.state.to_string(),
                action: "refund",
            });
        }
        if new.amount.amount > payment.refundable() {
            return Err(PaymentError::RefundExceedsRefundable {
                requested: new.amount.amount,
                refundable: payment.refundable(),
            });
        }
        let now = self.now();
        let record = RefundRecord {
            id: RefundId::new(),
            version: 0,
            payment_id: payment.id,
            biz_type: payment.biz_type.clone(),
            biz_id: payment.biz_id.clone(),
            out_trade_no: payment.out_trade_no.clone(),
            out_refund_no: out_refund_no.clone(),
            amount: new.amount,
            reason: new.reason,
            initiator: new.initiator,
            state: RefundState::Requested,
            refund_id: None,
            attempts: 0,
            last_error: None,
            user_received_account: None,
            success_time: None,
            closed_at: None,
            notifications: Vec::new(),
            pending_events: Vec::new(),
            events_due_at: None,
            // If this process dies before WeChat answers, the sync job takes it from here.
            next_check_at: Some(now.plus(self.secs(self.settings.refund_retry_secs))),
            lease: None,
            created_at: now,
            updated_at: now,
        };
        // The refund is recorded before the amount is reserved, so a crash in between
        // leaves a `requested` refund the sync job reserves (or closes), never a
        // reservation nobody owns.
        match self.refunds.insert(&record).await {
            Ok(()) => {}
            Err(StoreError::Duplicate { .. }) => {
                let existing = self.refund_by_out_refund_no(&out_refund_no).await?;
                return same_refund(existing, &payment, new.amount.amount, &out_refund_no);
            }
            Err(error) => return Err(error.into()),
        }
        match self.reserve(&record).await {
            Ok(Reservation::Held) => {}
            Ok(Reservation::Refused(error)) => {
                // Nothing was asked of WeChat: leave no trace of the refused refund.
                self.refunds.delete(&record.id.to_string()).await?;
                return Err(error);
            }
            Err(error) => return Err(error),
        }
        self.send_refund(record, &payment).await
    }

    /// Reserves the refund's amount on its payment, once: `refund_reserved + amount ≤
    /// amount paid`, checked and written by one guarded update together with the ledger
    /// entry that makes a second reservation of the same refund a no-op.
    async fn reserve(&self, refund: &RefundRecord) -> Result<Reservation, PaymentError> {
        let key = refund.ledger_key();
        let amount = refund.amount.amount;
        let payment_id = refund.payment_id.to_string();
        for _ in 0..super::MAX_CAS_ATTEMPTS {
            let payment = self.payment(&payment_id).await?;
            if let Some(entry) = payment.refund_ledger.get(&key) {
                return Ok(match entry.status {
                    LedgerStatus::Reserved | LedgerStatus::Refunded => Reservation::Held,
                    LedgerStatus::Released => Reservation::Refused(PaymentError::InvalidState {
                        what: format!("refund {}", refund.out_refund_no),
                        state: RefundState::Closed.to_string(),
                        action: "request it again",
                    }),
                });
            }
            if !payment.state.is_paid() {
                return Ok(Reservation::Refused(PaymentError::InvalidState {
                    what: format!("payment {}", payment.out_trade_no),
                    state: payment.state.to_string(),
                    action: "refund",
                }));
            }
            let limit = payment.amount.amount.saturating_sub(amount);
            if payment.refund_reserved.amount > limit {
                return Ok(Reservation::Refused(
                    PaymentError::RefundExceedsRefundable {
                        requested: amount,
                        refundable: payment.refundable(),
                    },
                ));
            }
            let guard = paid_states()
                .and(Filter::missing(&format!("refund_ledger.{key}")))
                .and(Filter::lte("refund_reserved.amount", limit));
            let reserved = self
                .payments
                .update(
                    &payment_id,
                    guard,
                    &[
                        Update::set(
                            &format!("refund_ledger.{key}"),
                            json!({ "amount": amount, "status": "reserved" }),
                        ),
                        Update::inc("refund_reserved.amount", amount),
                    ],
                )
                .await?;
            if reserved.is_some() {
                return Ok(Reservation::Held);
            }
            // Someone else reserved meanwhile; look again.
        }
        Err(PaymentError::Contention(format!("payments/{payment_id}")))
    }

    /// Sends (or sends again) the refund request and applies the answer.
    async fn send_refund(
        &self,
        refund: RefundRecord,
        payment: &PaymentRecord,
    ) -> Result<RefundRecord, PaymentError> {
        let id = refund.id.to_string();
        self.refunds
            .update(&id, Filter::All, &[Update::inc("attempts", 1)])
            .await?;
        let request = RefundRequest {
            out_trade_no: refund.out_trade_no.clone(),
            out_refund_no: refund.out_refund_no.clone(),
            reason: refund.reason.clone(),
            refund: refund.amount,
            total: payment.amount,
        };
        let answered = self.client.refund(&request).await;
        crash_point(crash::REFUND_REQUESTED);
        match answered {
            Ok(answer) => {
                let report = RefundReport::from_refund(&answer);
                self.apply_refund_report(&refund, payment, &report, None, "answer")
                    .await
                    .map(|(stored, _)| stored)
            }
            Err(cause) if is_definitive_refusal(&cause) => {
                tracing::warn!(error = %cause, out_refund_no = %refund.out_refund_no, "refund refused");
                self.close_refund(&id, &format!("refused: {cause}")).await?;
                Err(PaymentError::RefundRefused {
                    out_refund_no: refund.out_refund_no,
                    cause: Box::new(cause),
                })
            }
            Err(cause) => {
                tracing::warn!(error = %cause, out_refund_no = %refund.out_refund_no, "refund request failed; will send it again");
                let now = self.now();
                let next = now.plus(self.secs(self.settings.refund_retry_secs));
                let message = short(&cause);
                let updated = self
                    .refunds
                    .update(
                        &id,
                        Filter::eq("state", RefundState::Requested.as_str()),
                        &[
                            Update::set("last_error", message),
                            Update::set("next_check_at", Value::from(next)),
                            Update::set("updated_at", Value::from(now)),
                        ],
                    )
                    .await?;
                match updated {
                    Some(stored) => Ok(stored),
                    None => self.refund_by_out_refund_no(&refund.out_refund_no).await,
                }
            }
        }
    }

    /// Closes a refund that never reached WeChat (or that WeChat refused) and tells its owner.
    async fn close_refund(&self, id: &str, reason: &str) -> Result<RefundRecord, PaymentError> {
        let now = self.now();
        let fallback = now.plus(self.secs(self.settings.event_retry_secs));
        let (stored, _) = edit(
            &self.refunds,
            id,
            || PaymentError::RefundNotFound(id.to_owned()),
            |r: &mut RefundRecord| {
                if r.state != RefundState::Requested {
                    return Ok(Edit::Keep(()));
                }
                r.state = RefundState::Closed;
                r.closed_at = Some(now);
                r.last_error = Some(short(reason));
                r.next_check_at = None;
                r.updated_at = now;
                push_event(
                    &mut r.pending_events,
                    &mut r.events_due_at,
                    PendingEvent::new(EventKind::RefundClosed, now),
                    fallback,
                );
                Ok(Edit::Write(()))
            },
        )
        .await?;
        Ok(self.deliver_refund_events_now(stored).await)
    }

    /// Applies a verified report of a refund after checking it against our records (a
    /// disagreement is an alert and [`PaymentError::Mismatch`]). Idempotent.
    pub(crate) async fn apply_refund_report(
        &self,
        refund: &RefundRecord,
        payment: &PaymentRecord,
        report: &RefundReport,
        notification: Option<&ReceivedNotification>,
        source: &'static str,
    ) -> Result<(RefundRecord, Applied), PaymentError> {
        if let Some((field, expected, received)) = refund_mismatch(self, refund, payment, report) {
            self.raise_alert(NewAlert {
                kind: if field.starts_with("amount") {
                    AlertKind::AmountMismatch
                } else {
                    AlertKind::IdMismatch
                },
                source,
                out_trade_no: refund.out_trade_no.clone(),
                out_refund_no: Some(refund.out_refund_no.clone()),
                notification_id: notification.map(|n| n.notification_id.clone()),
                field: Some(field.to_owned()),
                expected: Some(expected),
                received: Some(received),
                message: format!("WeChat Pay refund report disagrees with our record on {field}"),
            })
            .await;
            return Err(PaymentError::Mismatch { field });
        }
        let now = self.now();
        let fallback = now.plus(self.secs(self.settings.event_retry_secs));
        let next_query = now.plus(self.secs(self.settings.refund_query_after_secs));
        let id = refund.id.to_string();
        let (stored, applied) = edit(
            &self.refunds,
            &id,
            || PaymentError::RefundNotFound(id.clone()),
            |r: &mut RefundRecord| {
                let mut changed = keep_notification(&mut r.notifications, notification);
                let target = match (r.state, report.status) {
                    (RefundState::Requested, RefundStatus::Processing) => {
                        Some((RefundState::Processing, None))
                    }
                    (
                        RefundState::Requested | RefundState::Processing | RefundState::Abnormal,
                        RefundStatus::Success,
                    ) => Some((RefundState::Succeeded, Some(EventKind::RefundSucceeded))),
                    (
                        RefundState::Requested | RefundState::Processing | RefundState::Abnormal,
                        RefundStatus::Closed,
                    ) => Some((RefundState::Closed, Some(EventKind::RefundClosed))),
                    (RefundState::Requested | RefundState::Processing, RefundStatus::Abnormal) => {
                        Some((RefundState::Abnormal, Some(EventKind::RefundAbnormal)))
                    }
                    _ => None,
                };
                if r.refund_id.is_none() {
                    r.refund_id = Some(report.refund_id.clone());
                    changed = true;
                }
                let Some((state, event)) = target else {
                    return Ok(if changed {
                        r.updated_at = now;
                        Edit::Write(Applied::Unchanged)
                    } else {
                        Edit::Keep(Applied::Unchanged)
                    });
                };
                r.state = state;
                r.updated_at = now;
                r.last_error = None;
                match state {
                    RefundState::Processing => r.next_check_at = Some(next_query),
                    RefundState::Succeeded => {
                        r.success_time = Some(report.success_time.unwrap_or(now));
                        r.user_received_account = report.user_received_account.clone();
                        r.next_check_at = None;
                    }
                    RefundState::Closed => {
                        r.closed_at = Some(now);
                        r.next_check_at = None;
                    }
                    RefundState::Abnormal | RefundState::Requested => r.next_check_at = None,
                }
                if let Some(kind) = event {
                    push_event(
                        &mut r.pending_events,
                        &mut r.events_due_at,
                        PendingEvent::new(kind, now),
                        fallback,
                    );
                }
                Ok(Edit::Write(Applied::Changed))
            },
        )
        .await?;
        if applied == Applied::Changed {
            tracing::info!(out_refund_no = %stored.out_refund_no, state = %stored.state, source, "refund changed");
        }
        let stored = self.deliver_refund_events_now(stored).await;
        Ok((stored, applied))
    }

    /// Sends a `requested` refund again with its out_refund_no (reserving first, in case the
    /// process stopped between recording and reserving).
    pub(crate) async fn retry_refund(
        &self,
        refund: RefundRecord,
    ) -> Result<RefundRecord, PaymentError> {
        let payment = self.payment(&refund.payment_id.to_string()).await?;
        match self.reserve(&refund).await? {
            Reservation::Held => self.send_refund(refund, &payment).await,
            Reservation::Refused(error) => {
                tracing::warn!(%error, out_refund_no = %refund.out_refund_no, "refund can no longer be reserved; closing it");
                self.close_refund(&refund.id.to_string(), &error.to_string())
                    .await
            }
        }
    }

    /// Asks WeChat about a `processing` refund and applies the answer.
    pub(crate) async fn query_refund(
        &self,
        refund: RefundRecord,
    ) -> Result<RefundRecord, PaymentError> {
        let payment = self.payment(&refund.payment_id.to_string()).await?;
        match self.client.query_refund(&refund.out_refund_no).await {
            Ok(answer) => {
                let report = RefundReport::from_refund(&answer);
                let result = self
                    .apply_refund_report(&refund, &payment, &report, None, "query")
                    .await;
                match result {
                    Ok((stored, _)) if stored.state == RefundState::Processing => {
                        self.query_refund_later(&stored).await
                    }
                    Ok((stored, _)) => Ok(stored),
                    Err(error) => {
                        self.query_refund_later(&refund).await?;
                        Err(error)
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, out_refund_no = %refund.out_refund_no, "refund query failed; will ask again");
                self.query_refund_later(&refund).await?;
                Err(error)
            }
        }
    }

    async fn query_refund_later(
        &self,
        refund: &RefundRecord,
    ) -> Result<RefundRecord, PaymentError> {
        let next = self.now().plus(self.secs(self.settings.requery_every_secs));
        let id = refund.id.to_string();
        let updated = self
            .refunds
            .update(
                &id,
                Filter::eq("state", RefundState::Processing.as_str()),
                &[Update::set("next_check_at", Value::from(next))],
            )
            .await?;
        match updated {
            Some(stored) => Ok(stored),
            None => self.refund_by_out_refund_no(&refund.out_refund_no).await,
        }
    }

    /// Brings the payment in line with a refund's outcome, once per refund: a success is
    /// counted in `refunded_total` (and the payment becomes partially or fully refunded),
    /// a close gives its reserved amount back. Safe to run any number of times.
    pub(crate) async fn settle_refund(
        &self,
        refund: &RefundRecord,
        kind: EventKind,
    ) -> Result<(), PaymentError> {
        let payment_id = refund.payment_id.to_string();
        let key = refund.ledger_key();
        let entry = format!("refund_ledger.{key}");
        let status = format!("{entry}.status");
        let amount = refund.amount.amount;
        match kind {
            EventKind::RefundSucceeded => {
                let settled = self
                    .payments
                    .update(
                        &payment_id,
                        Filter::eq(&status, "reserved"),
                        &[
                            Update::set(&status, "refunded"),
                            Update::inc("refunded_total.amount", amount),
                        ],
                    )
                    .await?;
                if settled.is_none() {
                    // WeChat refunded a refund we never reserved (the reservation was lost
                    // or released): count it anyway, money has left.
                    self.payments
                        .update(
                            &payment_id,
                            Filter::missing(&entry).or(Filter::eq(&status, "released")),
                            &[
                                Update::set(
                                    &entry,
                                    json!({ "amount": amount, "status": "refunded" }),
                                ),
                                Update::inc("refunded_total.amount", amount),
                                Update::inc("refund_reserved.amount", amount),
                            ],
                        )
                        .await?;
                }
                self.update_refunded_state(&payment_id).await
            }
            EventKind::RefundClosed => {
                self.payments
                    .update(
                        &payment_id,
                        Filter::eq(&status, "reserved"),
                        &[
                            Update::set(&status, "released"),
                            Update::inc("refund_reserved.amount", -amount),
                        ],
                    )
                    .await?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// `refunded` when everything came back, `partially_refunded` when some did.
    async fn update_refunded_state(&self, payment_id: &str) -> Result<(), PaymentError> {
        let payment = self.payment(payment_id).await?;
        let target = if payment.refunded_total.amount >= payment.amount.amount {
            PaymentState::Refunded
        } else if payment.refunded_total.amount > 0 {
            PaymentState::PartiallyRefunded
        } else {
            return Ok(());
        };
        if payment.state == target || !payment.state.is_paid() {
            return Ok(());
        }
        let guard = match target {
            PaymentState::Refunded => {
                paid_states().and(Filter::gte("refunded_total.amount", payment.amount.amount))
            }
            _ => Filter::eq("state", PaymentState::Succeeded.as_str())
                .and(Filter::gt("refunded_total.amount", 0)),
        };
        let now = self.now();
        self.payments
            .update(
                payment_id,
                guard,
                &[
                    Update::set("state", target.as_str()),
                    Update::set("updated_at", Value::from(now)),
                ],
            )
            .await?;
        Ok(())
    }

    /// Applies a verified refund notification (REFUND.SUCCESS / CLOSED / ABNORMAL).
    pub(crate) async fn apply_refund_notification(
        &self,
        notification: &crate::model::RefundNotification,
        received: &ReceivedNotification,
    ) -> Result<(RefundRecord, Applied), PaymentError> {
        let Some(refund) = self.find_refund(&notification.out_refund_no).await? else {
            self.raise_alert(NewAlert {
                kind: AlertKind::UnknownRefund,
                source: "notification",
                out_trade_no: notification.out_trade_no.clone(),
                out_refund_no: Some(notification.out_refund_no.clone()),
                notification_id: Some(received.notification_id.clone()),
                field: None,
                expected: None,
                received: Some(json!({
                    "out_refund_no": notification.out_refund_no,
                    "refund": notification.amount.refund,
                    "refund_status": notification.refund_status,
                })),
                message: "WeChat Pay reports a refund we have no record of".into(),
            })
            .await;
            return Err(PaymentError::RefundNotFound(
                notification.out_refund_no.clone(),
            ));
        };
        let payment = self.payment(&refund.payment_id.to_string()).await?;
        let report = RefundReport {
            status: notification.refund_status,
            refund_id: notification.refund_id.clone(),
            out_trade_no: notification.out_trade_no.clone(),
            mchid: Some(notification.mchid.clone()),
            refund: notification.amount.refund,
            total: notification.amount.total,
            success_time: notification.success_time,
            user_received_account: notification.user_received_account.clone(),
        };
        self.apply_refund_report(&refund, &payment, &report, Some(received), "notification")
            .await
    }
}

/// The field a refund report disagrees on, with our value and WeChat's.
fn refund_mismatch(
    service: &PaymentService,
    refund: &RefundRecord,
    payment: &PaymentRecord,
    report: &RefundReport,
) -> Option<(&'static str, Value, Value)> {
    if let Some(mchid) = &report.mchid
        && *mchid != service.client.mchid()
    {
        return Some(("mchid", json!(service.client.mchid()), json!(mchid)));
    }
    if report.out_trade_no != refund.out_trade_no {
        return Some((
            "out_trade_no",
            json!(refund.out_trade_no),
            json!(report.out_trade_no),
        ));
    }
    if report.refund != refund.amount.amount {
        return Some((
            "amount.refund",
            json!(refund.amount.amount),
            json!(report.refund),
        ));
    }
    if report.total != payment.amount.amount {
        return Some((
            "amount.total",
            json!(payment.amount.amount),
            json!(report.total),
        ));
    }
    None
}

/// A refund asked for again with an out_refund_no already used: the same refund, or a
/// conflict.
fn same_refund(
    existing: RefundRecord,
    payment: &PaymentRecord,
    amount: i64,
    out_refund_no: &str,
) -> Result<RefundRecord, PaymentError> {
    if existing.payment_id == payment.id && existing.amount.amount == amount {
        Ok(existing)
    } else {
        Err(PaymentError::DuplicateOutRefundNo(out_refund_no.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str) -> PaymentError {
        PaymentError::Api {
            status,
            code: code.into(),
            message: String::new(),
            detail: None,
        }
    }

    #[test]
    fn only_verified_refusals_close_a_refund() {
        assert!(is_definitive_refusal(&api(400, "INVALID_REQUEST")));
        assert!(is_definitive_refusal(&api(404, "RESOURCE_NOT_EXISTS")));
        assert!(is_definitive_refusal(&PaymentError::InvalidRequest(
            "x".into()
        )));
        // Retry with the same out_refund_no: WeChat may have taken it, or may later.
        assert!(!is_definitive_refusal(&api(403, "NOT_ENOUGH")));
        assert!(!is_definitive_refusal(&api(429, "FREQUENCY_LIMITED")));
        assert!(!is_definitive_refusal(&api(500, "SYSTEM_ERROR")));
        assert!(!is_definitive_refusal(&PaymentError::Transport(
            "timeout".into()
        )));
        assert!(!is_definitive_refusal(&PaymentError::UnverifiedResponse {
            status: 200,
            reason: "bad signature".into(),
        }));
    }
}
