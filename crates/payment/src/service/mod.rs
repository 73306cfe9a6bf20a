//! Payments and refunds as records, kept in step with WeChat Pay: prepay, verified
//! notifications, queries, closes, refunds, alerts, the owners' events and the sync job.

mod alerts;
mod delivery;
mod notifications;
mod payments;
mod refunds;
mod sync;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::TimeDelta;
use topup_core::{SharedClock, Timestamp};
use topup_store::{Collection, Document, Filter, Index, Store, StoreError};

use crate::PaymentError;
use crate::client::WechatPayClient;
use crate::events::PaymentEvents;
use crate::records::{PaymentAlert, PaymentRecord, PendingEvent, RefundRecord};
use crate::settings::PaymentSettings;

pub use notifications::NotificationOutcome;
pub use payments::ReportSource;
pub use sync::SyncReport;

/// Compare-and-set attempts before giving up on a record that keeps changing.
const MAX_CAS_ATTEMPTS: usize = 16;

/// Notifications kept per record (WeChat retries at most 16 times; duplicates are rare).
const MAX_KEPT_NOTIFICATIONS: usize = 100;

/// The payment side of the system. One per process, shared behind an `Arc`.
pub struct PaymentService {
    payments: Collection<PaymentRecord>,
    refunds: Collection<RefundRecord>,
    alerts: Collection<PaymentAlert>,
    client: Arc<WechatPayClient>,
    clock: SharedClock,
    settings: PaymentSettings,
    handlers: RwLock<HashMap<String, Arc<dyn PaymentEvents>>>,
    /// This process's name in leases.
    worker: String,
}

impl std::fmt::Debug for PaymentService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentService")
            .field("client", &self.client)
            .field("worker", &self.worker)
            .finish_non_exhaustive()
    }
}

/// Whether a call changed the record or found it already so (a duplicate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Changed,
    Unchanged,
}

/// What a compare-and-set edit decided.
pub(crate) enum Edit<R> {
    Write(R),
    Keep(R),
}

impl PaymentService {
    pub fn new(
        store: &Store,
        client: Arc<WechatPayClient>,
        clock: SharedClock,
        settings: PaymentSettings,
    ) -> Result<Self, PaymentError> {
        settings.validate().map_err(PaymentError::Config)?;
        Ok(PaymentService {
            payments: store.collection(),
            refunds: store.collection(),
            alerts: store.collection(),
            client,
            clock,
            settings,
            handlers: RwLock::new(HashMap::new()),
            worker: format!("payment-{}", crate::records::ulid_string()),
        })
    }

    /// Creates the indexes (idempotent). Call once at start.
    pub async fn prepare(&self) -> Result<(), PaymentError> {
        self.payments
            .ensure_index(Index::unique("payments_out_trade_no", &["out_trade_no"]))
            .await?;
        self.payments
            .ensure_index(Index::new("payments_biz", &["biz_type", "biz_id"]))
            .await?;
        self.payments
            .ensure_index(Index::new("payments_next_check", &["next_check_at"]))
            .await?;
        self.payments
            .ensure_index(Index::new("payments_events_due", &["events_due_at"]))
            .await?;
        self.refunds
            .ensure_index(Index::unique(
                "payment_refunds_out_refund_no",
                &["out_refund_no"],
            ))
            .await?;
        self.refunds
            .ensure_index(Index::new("payment_refunds_payment", &["payment_id"]))
            .await?;
        self.refunds
            .ensure_index(Index::new("payment_refunds_next_check", &["next_check_at"]))
            .await?;
        self.refunds
            .ensure_index(Index::new("payment_refunds_events_due", &["events_due_at"]))
            .await?;
        self.alerts
            .ensure_index(Index::new("payment_alerts_created", &["created_at"]))
            .await?;
        Ok(())
    }

    /// Registers the owner of `biz_type`; payments can only be created for registered types.
    /// Registering again replaces the handler.
    pub fn register_events(&self, biz_type: &str, handler: Arc<dyn PaymentEvents>) {
        self.handlers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(biz_type.to_owned(), handler);
    }

    pub fn client(&self) -> &WechatPayClient {
        &self.client
    }

    pub fn settings(&self) -> &PaymentSettings {
        &self.settings
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn handler(&self, biz_type: &str) -> Option<Arc<dyn PaymentEvents>> {
        self.handlers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(biz_type)
            .cloned()
    }

    fn has_handler(&self, biz_type: &str) -> bool {
        self.handlers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(biz_type)
    }

    pub async fn payment(&self, id: &str) -> Result<PaymentRecord, PaymentError> {
        self.payments
            .get(id)
            .await?
            .ok_or_else(|| PaymentError::PaymentNotFound(id.to_owned()))
    }

    pub async fn payment_by_out_trade_no(
        &self,
        out_trade_no: &str,
    ) -> Result<PaymentRecord, PaymentError> {
        self.find_payment(out_trade_no)
            .await?
            .ok_or_else(|| PaymentError::PaymentNotFound(out_trade_no.to_owned()))
    }

    async fn find_payment(
        &self,
        out_trade_no: &str,
    ) -> Result<Option<PaymentRecord>, PaymentError> {
        Ok(self
            .payments
            .find_one(Filter::eq("out_trade_no", out_trade_no))
            .await?)
    }

    /// Every payment made for one thing being bought, oldest first.
    pub async fn payments_of(
        &self,
        biz_type: &str,
        biz_id: &str,
    ) -> Result<Vec<PaymentRecord>, PaymentError> {
        let query = topup_store::FindQuery::new(
            Filter::eq("biz_type", biz_type).and(Filter::eq("biz_id", biz_id)),
        )
        .sort("created_at", topup_store::SortOrder::Asc);
        Ok(self.payments.find(&query).await?)
    }

    pub async fn refund_by_out_refund_no(
        &self,
        out_refund_no: &str,
    ) -> Result<RefundRecord, PaymentError> {
        self.find_refund(out_refund_no)
            .await?
            .ok_or_else(|| PaymentError::RefundNotFound(out_refund_no.to_owned()))
    }

    async fn find_refund(&self, out_refund_no: &str) -> Result<Option<RefundRecord>, PaymentError> {
        Ok(self
            .refunds
            .find_one(Filter::eq("out_refund_no", out_refund_no))
            .await?)
    }

    /// The refunds of a payment, oldest first.
    pub async fn refunds_of(&self, payment_id: &str) -> Result<Vec<RefundRecord>, PaymentError> {
        let query = topup_store::FindQuery::new(Filter::eq("payment_id", payment_id))
            .sort("created_at", topup_store::SortOrder::Asc);
        Ok(self.refunds.find(&query).await?)
    }

    fn secs(&self, value: u64) -> TimeDelta {
        PaymentSettings::secs(value)
    }
}

/// Reads `id`, lets `edit` change it, writes it back if the stored version did not move
/// meanwhile; otherwise reads again and re-applies. `edit` must be a pure function of the
/// document (it may run several times).
pub(crate) async fn edit<T, R>(
    collection: &Collection<T>,
    id: &str,
    missing: impl Fn() -> PaymentError,
    edit: impl FnMut(&mut T) -> Result<Edit<R>, PaymentError>,
) -> Result<(T, R), PaymentError>
where
    T: Document,
{
    edit_from(collection, id, None, missing, edit).await
}

/// [`edit`] whose first attempt starts from `fresh`, a copy the caller has just read (so it
/// is not read twice); a lost race re-reads as usual.
pub(crate) async fn edit_from<T, R>(
    collection: &Collection<T>,
    id: &str,
    mut fresh: Option<T>,
    missing: impl Fn() -> PaymentError,
    mut edit: impl FnMut(&mut T) -> Result<Edit<R>, PaymentError>,
) -> Result<(T, R), PaymentError>
where
    T: Document,
{
    for attempt in 0..MAX_CAS_ATTEMPTS {
        let mut document = match fresh.take() {
            Some(document) => document,
            None => collection.get(id).await?.ok_or_else(&missing)?,
        };
        match edit(&mut document)? {
            Edit::Keep(result) => return Ok((document, result)),
            Edit::Write(result) => match collection.replace(&document).await {
                Ok(stored) => return Ok((stored, result)),
                Err(StoreError::Conflict { .. }) => {
                    tokio::time::sleep(cas_backoff(attempt)).await;
                    continue;
                }
                Err(error) => return Err(error.into()),
            },
        }
    }
    Err(PaymentError::Contention(format!(
        "{}/{id}",
        collection.name()
    )))
}

/// A random pause of up to `2^attempt` ms (at most 64) after a lost compare-and-set: writers
/// that collided (a burst of duplicate callbacks, say) stop colliding in lockstep.
pub(crate) fn cas_backoff(attempt: usize) -> std::time::Duration {
    let ceiling = 1u128 << attempt.min(6);
    let random = ulid::Ulid::new().random();
    std::time::Duration::from_millis(u64::try_from(random % (ceiling + 1)).unwrap_or(0))
}

/// Keeps a received notification, dropping the oldest beyond the cap. Returns whether it
/// was new: a duplicate delivery (same notification id) is not kept again, so a burst of
/// duplicates of an applied notification reads but never writes.
pub(crate) fn keep_notification(
    list: &mut Vec<crate::records::ReceivedNotification>,
    notification: Option<&crate::records::ReceivedNotification>,
) -> bool {
    let Some(notification) = notification else {
        return false;
    };
    if list
        .iter()
        .any(|kept| kept.notification_id == notification.notification_id)
    {
        return false;
    }
    list.push(notification.clone());
    if list.len() > MAX_KEPT_NOTIFICATIONS {
        let excess = list.len() - MAX_KEPT_NOTIFICATIONS;
        list.drain(..excess);
    }
    true
}

/// Adds an event and makes sure the sync job will deliver it if nobody does sooner.
pub(crate) fn push_event(
    events: &mut Vec<PendingEvent>,
    due_at: &mut Option<Timestamp>,
    event: PendingEvent,
    fallback_at: Timestamp,
) {
    events.push(event);
    *due_at = Some(match *due_at {
        Some(existing) if existing < fallback_at => existing,
        _ => fallback_at,
    });
}

/// Text for people, bounded so a chatty error cannot bloat a record.
pub(crate) fn short(text: impl std::fmt::Display) -> String {
    let text = text.to_string();
    if text.chars().count() <= 300 {
        text
    } else {
        text.chars().take(300).collect::<String>() + "…"
    }
}
