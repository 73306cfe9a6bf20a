//! The sync job: WeChat does not guarantee delivery, so unpaid payments are asked about
//! (and closed once expired), refunds followed to their end, and events that nobody
//! delivered handed to their owners. Work is claimed with leases, so several processes on
//! one database never work on the same record at once.

use std::sync::Arc;
use std::time::Duration;

use topup_core::Timestamp;
use topup_store::{Collection, Document, Filter};

use super::PaymentService;
use crate::PaymentError;
use crate::records::{PaymentState, RefundState};

/// What one [`PaymentService::run_sync`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Unpaid payments asked about.
    pub payments_checked: usize,
    /// …of which WeChat said were paid.
    pub payments_succeeded: usize,
    /// …of which were closed.
    pub payments_closed: usize,
    /// `requested` refunds sent again.
    pub refunds_sent: usize,
    /// `processing` refunds asked about.
    pub refunds_checked: usize,
    /// Events handed to owners.
    pub events_delivered: usize,
    /// Records whose work failed this time (they are tried again later).
    pub errors: usize,
}

impl PaymentService {
    /// One pass of the sync job at the clock's current time. The server runs it every
    /// `sync_period_secs`; tests call it after moving a `ManualClock`.
    pub async fn run_sync(&self) -> Result<SyncReport, PaymentError> {
        let mut report = SyncReport::default();
        self.sync_unpaid_payments(&mut report).await?;
        self.sync_pending_refunds(&mut report).await?;
        self.deliver_due_events(&mut report).await?;
        Ok(report)
    }

    /// Runs [`Self::run_sync`] every `sync_period_secs` until the task is aborted.
    pub fn spawn_sync_loop(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let service = Arc::clone(self);
        let period = Duration::from_secs(self.settings.sync_period_secs);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                match service.run_sync().await {
                    Ok(report) if report != SyncReport::default() => {
                        tracing::info!(?report, "payment sync");
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "payment sync failed"),
                }
            }
        })
    }

    async fn claim<T: Document>(
        &self,
        collection: &Collection<T>,
        due: Filter,
        sort_field: &str,
        now: Timestamp,
    ) -> Result<Vec<T>, PaymentError> {
        let until = now.plus(self.secs(self.settings.lease_secs));
        Ok(collection
            .claim(
                due,
                sort_field,
                &self.worker,
                now,
                until,
                self.settings.batch_size,
            )
            .await?)
    }

    async fn sync_unpaid_payments(&self, report: &mut SyncReport) -> Result<(), PaymentError> {
        let now = self.now();
        let due = Filter::is_in(
            "state",
            [
                PaymentState::Created.as_str(),
                PaymentState::Prepaid.as_str(),
            ],
        )
        .and(Filter::lte("next_check_at", now));
        let claimed = self
            .claim(&self.payments, due, "next_check_at", now)
            .await?;
        for payment in claimed {
            report.payments_checked += 1;
            match self.sync_payment(&payment.out_trade_no).await {
                Ok(stored) if stored.state.is_paid() => report.payments_succeeded += 1,
                Ok(stored) if stored.state == PaymentState::Closed => report.payments_closed += 1,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, out_trade_no = %payment.out_trade_no, "payment sync failed");
                    report.errors += 1;
                }
            }
            self.payments
                .release(&payment.id.to_string(), &self.worker)
                .await?;
        }
        Ok(())
    }

    async fn sync_pending_refunds(&self, report: &mut SyncReport) -> Result<(), PaymentError> {
        let now = self.now();
        let due = Filter::is_in(
            "state",
            [
                RefundState::Requested.as_str(),
                RefundState::Processing.as_str(),
            ],
        )
        .and(Filter::lte("next_check_at", now));
        let claimed = self.claim(&self.refunds, due, "next_check_at", now).await?;
        for refund in claimed {
            let id = refund.id.to_string();
            let out_refund_no = refund.out_refund_no.clone();
            let result = match refund.state {
                RefundState::Requested => {
                    report.refunds_sent += 1;
                    self.retry_refund(refund).await
                }
                _ => {
                    report.refunds_checked += 1;
                    self.query_refund(refund).await
                }
            };
            if let Err(error) = result {
                tracing::warn!(%error, %out_refund_no, "refund sync failed");
                report.errors += 1;
            }
            self.refunds.release(&id, &self.worker).await?;
        }
        Ok(())
    }

    async fn deliver_due_events(&self, report: &mut SyncReport) -> Result<(), PaymentError> {
        let now = self.now();
        let due = Filter::lte("events_due_at", now);
        let payments = self
            .claim(&self.payments, due.clone(), "events_due_at", now)
            .await?;
        for payment in payments {
            let id = payment.id.to_string();
            match self.deliver_payment_events(&id).await {
                Ok(count) => report.events_delivered += count,
                Err(error) => {
                    tracing::warn!(%error, payment = %id, "payment event delivery failed");
                    report.errors += 1;
                }
            }
            self.payments.release(&id, &self.worker).await?;
        }
        let refunds = self.claim(&self.refunds, due, "events_due_at", now).await?;
        for refund in refunds {
            let id = refund.id.to_string();
            match self.deliver_refund_events(&id).await {
                Ok(count) => report.events_delivered += count,
                Err(error) => {
                    tracing::warn!(%error, refund = %id, "refund event delivery failed");
                    report.errors += 1;
                }
            }
            self.refunds.release(&id, &self.worker).await?;
        }
        Ok(())
    }
}
