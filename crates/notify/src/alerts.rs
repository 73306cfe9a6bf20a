//! Staff alerts on WeChat through the shop's official account (公众号) by template message
//! (`docs/notifications.md#staff-alerts`): what staff must look at (a stored payment alert, an
//! order held too long, a reconciliation with discrepancies) reaches the staff who follow the
//! account, one message per alert and staff member, each delivery recorded under a key that
//! makes it happen once whatever crashes or processes there are.
//!
//! The worker finds new alerts through [`AlertSource`] (the composition root reads the
//! domains that raise them) since the last scan, queues one delivery per (alert, openid)
//! with an insert whose id is that pair (a second insert is a duplicate, so two processes
//! or a rescan never queue it twice), and sends what is due under a lease. Every send of a
//! delivery carries the same `client_msg_id`, WeChat's own duplicate guard, so a retry
//! after an unclear answer is not delivered twice either.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{FixedOffset, TimeDelta};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use topup_core::{Page, PageRequest, SharedClock, Timestamp};
use topup_store::{Collection, Document, Filter, Index, Lease, SortOrder, Store, Update};
use topup_wechat::{MiniProgramClient, TemplateMessage, WechatError};
use utoipa::ToSchema;

use crate::NotifyError;
use crate::model::DeliveryAttempt;
use crate::rules::fit;

/// What raised an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StaffAlertKind {
    /// A stored payment alert (`payment_alerts`): WeChat Pay reported something that does
    /// not match our records.
    Payment,
    /// An order held for staff longer than `orders.hold_alert_minutes`.
    HeldOrder,
    /// A reconciliation that found discrepancies.
    Reconciliation,
    /// Sent by staff to check the settings.
    Test,
}

impl StaffAlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StaffAlertKind::Payment => "payment",
            StaffAlertKind::HeldOrder => "held_order",
            StaffAlertKind::Reconciliation => "reconciliation",
            StaffAlertKind::Test => "test",
        }
    }
}

/// One thing staff must hear about.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffAlert {
    /// Stable across scans and processes: `payment:<alert id>`, `hold:<order no>:<unix seconds raised>`,
    /// `reconciliation:<report id>`, `test:<ulid>`.
    pub id: String,
    pub kind: StaffAlertKind,
    /// What happened, in a few words (fitted to 20 characters).
    pub what: String,
    /// The order number, or the report's id (fitted to 32 letters, digits and symbols).
    pub reference: String,
    /// When it was raised.
    pub at: Timestamp,
}

/// Where new alerts come from (the composition root reads the domains that raise them).
#[async_trait]
pub trait AlertSource: Send + Sync {
    /// Alerts raised at or after `since`, oldest first, at most `limit` of each kind.
    async fn alerts_since(&self, since: Timestamp, limit: u64) -> Result<Vec<StaffAlert>, String>;
}

/// Where template messages go: the official account's `template/send`.
#[async_trait]
pub trait TemplateSender: Send + Sync {
    /// Whether an official account is set up (its AppID is not empty).
    fn is_configured(&self) -> bool;
    /// WeChat's `msgid` for a message it took.
    async fn send(&self, message: &TemplateMessage) -> Result<u64, WechatError>;
}

#[async_trait]
impl TemplateSender for MiniProgramClient {
    fn is_configured(&self) -> bool {
        MiniProgramClient::is_configured(self)
    }

    async fn send(&self, message: &TemplateMessage) -> Result<u64, WechatError> {
        self.send_template_message(message).await
    }
}

/// The alert settings in force (the `official_account` group, `docs/settings.md`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertSettings {
    /// The official account's AppID is set: alerts are on.
    pub enabled: bool,
    /// The template staff picked (keys `thing1`, `character_string2`, `time3`).
    pub template_id: String,
    /// The staff who receive alerts.
    pub openids: Vec<String>,
}

impl AlertSettings {
    fn ready(&self) -> bool {
        self.enabled && !self.template_id.trim().is_empty() && !self.openids.is_empty()
    }
}

/// At most this many staff receive alerts.
pub const MAX_OPENIDS: usize = 20;

/// The openids in `text` (separated by commas or whitespace), or why they are not openids:
/// each 1–64 letters, digits, `_` or `-`, at most [`MAX_OPENIDS`], none twice.
pub fn parse_openids(text: &str) -> Result<Vec<String>, String> {
    let mut openids: Vec<String> = Vec::new();
    for openid in text
        .split(|c: char| c == ',' || c == '，' || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        let shaped = openid.len() <= 64
            && openid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !shaped {
            let shown: String = openid.chars().take(70).collect();
            return Err(format!(
                "{shown:?} is not an openid (1–64 letters, digits, _ or -)"
            ));
        }
        if !openids.iter().any(|o| o == openid) {
            openids.push(openid.to_owned());
        }
    }
    if openids.len() > MAX_OPENIDS {
        return Err(format!("at most {MAX_OPENIDS} openids"));
    }
    Ok(openids)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertDeliveryState {
    /// Waiting for the worker (new, or retrying after a passing error).
    Queued,
    /// Handed to WeChat; the answer is not recorded yet.
    Sending,
    Sent,
    /// The staff member does not follow the official account (43004): routine, not retried.
    NotDelivered,
    /// Refused by WeChat (40003 bad openid, 40037 bad template, 47003 bad data…), or out of
    /// retries.
    Failed,
}

impl AlertDeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertDeliveryState::Queued => "queued",
            AlertDeliveryState::Sending => "sending",
            AlertDeliveryState::Sent => "sent",
            AlertDeliveryState::NotDelivered => "not_delivered",
            AlertDeliveryState::Failed => "failed",
        }
    }
}

/// One alert's template message to one staff member (collection `alert_deliveries`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertDelivery {
    /// `<alert id>/<openid>`: one delivery per alert and staff member.
    pub id: String,
    #[serde(default)]
    pub version: i64,
    pub alert_id: String,
    pub kind: StaffAlertKind,
    pub openid: String,
    pub template_id: String,
    /// The values sent, by template key.
    pub data: BTreeMap<String, String>,
    /// WeChat's duplicate guard, the same on every send of this delivery.
    pub client_msg_id: String,
    pub state: AlertDeliveryState,
    #[serde(default)]
    pub attempts: Vec<DeliveryAttempt>,
    /// When the worker should try it (queued ones).
    pub next_attempt_at: Timestamp,
    /// The first send: WeChat honours `client_msg_id` for about ten minutes after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_sent_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msgid: Option<u64>,
    /// WeChat's errcode of the last refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errcode: Option<i64>,
    /// Why it was not delivered, or why the last try failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
}

impl Document for AlertDelivery {
    const COLLECTION: &'static str = "alert_deliveries";
}

/// Up to when alerts have been looked for (one document, shared by every process).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AlertScan {
    id: String,
    #[serde(default)]
    version: i64,
    scanned_to: Timestamp,
    /// The last scan made while alerts were off: what was raised until then is not sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    skipped_to: Option<Timestamp>,
}

impl Document for AlertScan {
    const COLLECTION: &'static str = "alert_scans";
}

const SCAN_ID: &str = "staff_alerts";

/// Each scan looks this far behind the last one: an alert stamped just before a scan may be
/// stored just after it. Deliveries already queued are not queued again.
const SCAN_OVERLAP: TimeDelta = TimeDelta::minutes(5);
/// Alerts of each kind one scan reads at most.
const SCAN_LIMIT: u64 = 200;
/// Tries before a passing error becomes a failure.
const MAX_ATTEMPTS: usize = 6;
/// How long a worker holds a delivery it is sending.
const LEASE: TimeDelta = TimeDelta::seconds(60);
/// Deliveries one round takes.
const BATCH: usize = 100;
/// A send whose answer was unclear is tried again only while WeChat still honours its
/// `client_msg_id` (about ten minutes after the first send), with a margin.
const DUPLICATE_GUARD: TimeDelta = TimeDelta::minutes(9);

/// China Standard Time, as staff read the message.
const CHINA: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

fn backoff(attempts: usize) -> TimeDelta {
    let exponent = u32::try_from(attempts.min(6)).unwrap_or(6);
    TimeDelta::seconds(10 * 2_i64.pow(exponent)).min(TimeDelta::minutes(10))
}

/// A stable `client_msg_id` for a delivery id: 32 hex digits of its SHA-256.
fn client_msg_id(delivery_id: &str) -> String {
    let digest = Sha256::digest(delivery_id.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("alert-{hex}")
}

/// The template data of an alert: `thing1` what happened, `character_string2` the order
/// number or report id, `time3` when (UTC+8), each fitted to WeChat's rule for its key.
pub fn alert_data(alert: &StaffAlert) -> BTreeMap<String, String> {
    let when = alert
        .at
        .as_datetime()
        .with_timezone(&CHINA)
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let what = fit("thing", &alert.what).unwrap_or_else(|_| "系统告警".to_owned());
    let reference = fit("character_string", &alert.reference).unwrap_or_else(|_| "-".to_owned());
    BTreeMap::from([
        ("thing1".to_owned(), what),
        ("character_string2".to_owned(), reference),
        ("time3".to_owned(), when),
    ])
}

/// What became of one send.
enum Outcome {
    Sent(u64),
    NotDelivered,
    Failed {
        errcode: Option<i64>,
        reason: String,
    },
    /// Not delivered, or delivered at most once thanks to `client_msg_id`: try again later.
    Retry {
        errcode: Option<i64>,
        reason: String,
        /// WeChat may have taken it (a timeout after the request left).
        in_doubt: bool,
    },
}

impl Outcome {
    fn of(answer: Result<u64, WechatError>) -> Outcome {
        match answer {
            Ok(msgid) => Outcome::Sent(msgid),
            Err(WechatError::NotFollowing) => Outcome::NotDelivered,
            Err(WechatError::Api { errcode, errmsg }) => Outcome::Failed {
                errcode: Some(errcode),
                reason: format!("WeChat refused it ({errcode}): {errmsg}"),
            },
            Err(WechatError::TokenRejected(errcode) | WechatError::Credentials(errcode)) => {
                Outcome::Retry {
                    errcode: Some(errcode),
                    reason: format!(
                        "WeChat refused the official account's credentials ({errcode})"
                    ),
                    in_doubt: false,
                }
            }
            Err(error @ WechatError::Busy) => Outcome::Retry {
                errcode: Some(-1),
                reason: error.to_string(),
                in_doubt: false,
            },
            Err(error @ WechatError::RateLimited) => Outcome::Retry {
                errcode: Some(45011),
                reason: error.to_string(),
                in_doubt: false,
            },
            Err(error @ WechatError::Unreachable(_)) => Outcome::Retry {
                errcode: None,
                reason: error.to_string(),
                in_doubt: false,
            },
            Err(
                error @ (WechatError::Timeout | WechatError::Transport(_) | WechatError::Decode(_)),
            ) => Outcome::Retry {
                errcode: None,
                reason: error.to_string(),
                in_doubt: true,
            },
            Err(
                error @ (WechatError::InvalidCode
                | WechatError::CodeUsed
                | WechatError::HighRiskUser
                | WechatError::NotSubscribed),
            ) => Outcome::Failed {
                errcode: None,
                reason: error.to_string(),
            },
        }
    }
}

/// Filters of the alert delivery log.
#[derive(Debug, Clone, Default)]
pub struct AlertDeliveryQuery {
    pub state: Option<AlertDeliveryState>,
    pub kind: Option<StaffAlertKind>,
    pub alert_id: Option<String>,
}

pub struct StaffAlerts {
    deliveries: Collection<AlertDelivery>,
    scans: Collection<AlertScan>,
    clock: SharedClock,
    sender: Arc<dyn TemplateSender>,
    source: Arc<dyn AlertSource>,
    settings: RwLock<AlertSettings>,
    /// This process's name on the leases it takes.
    worker: String,
    wake: tokio::sync::Notify,
}

impl StaffAlerts {
    pub fn new(
        store: &Store,
        clock: SharedClock,
        sender: Arc<dyn TemplateSender>,
        source: Arc<dyn AlertSource>,
    ) -> Self {
        StaffAlerts {
            deliveries: store.collection(),
            scans: store.collection(),
            clock,
            sender,
            source,
            settings: RwLock::new(AlertSettings::default()),
            worker: format!("alerts-{}", ulid::Ulid::new()),
            wake: tokio::sync::Notify::new(),
        }
    }

    /// Indexes, and the scan's starting point: alerts raised before the first start are not
    /// sent (idempotent).
    pub async fn prepare(&self) -> Result<(), NotifyError> {
        for index in [
            Index::new("due", &["state", "next_attempt_at"]),
            Index::new("created", &["created_at"]),
            Index::new("alert", &["alert_id"]),
        ] {
            self.deliveries.ensure_index(index).await?;
        }
        let start = AlertScan {
            id: SCAN_ID.to_owned(),
            version: 0,
            scanned_to: self.clock.now(),
            skipped_to: None,
        };
        match self.scans.insert(&start).await {
            Err(error) if !error.is_duplicate() => Err(error.into()),
            _ => Ok(()),
        }
    }

    /// Puts the settings in force (every process, on every change).
    pub fn set_settings(&self, settings: AlertSettings) {
        let mut current = self
            .settings
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if *current != settings {
            *current = settings;
            self.wake.notify_one();
        }
    }

    pub fn settings(&self) -> AlertSettings {
        self.settings
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The delivery log, newest first.
    pub async fn deliveries(
        &self,
        query: &AlertDeliveryQuery,
        page: PageRequest,
    ) -> Result<Page<AlertDelivery>, NotifyError> {
        let mut filter = Filter::All;
        if let Some(state) = query.state {
            filter = filter.and(Filter::eq("state", state.as_str()));
        }
        if let Some(kind) = query.kind {
            filter = filter.and(Filter::eq("kind", kind.as_str()));
        }
        if let Some(alert) = &query.alert_id {
            filter = filter.and(Filter::eq("alert_id", alert.as_str()));
        }
        Ok(self
            .deliveries
            .page(
                filter,
                &[("created_at", SortOrder::Desc), ("id", SortOrder::Asc)],
                page,
            )
            .await?)
    }

    /// Queues one delivery per configured openid for `alert`; an existing one (another
    /// process, an earlier scan) is left as it is. Answers the deliveries this call queued.
    async fn queue(
        &self,
        alert: &StaffAlert,
        settings: &AlertSettings,
    ) -> Result<Vec<AlertDelivery>, NotifyError> {
        let now = self.now();
        let data = alert_data(alert);
        let mut queued = Vec::new();
        for openid in &settings.openids {
            let id = format!("{}/{openid}", alert.id);
            let delivery = AlertDelivery {
                client_msg_id: client_msg_id(&id),
                id,
                version: 0,
                alert_id: alert.id.clone(),
                kind: alert.kind,
                openid: openid.clone(),
                template_id: settings.template_id.trim().to_owned(),
                data: data.clone(),
                state: AlertDeliveryState::Queued,
                attempts: Vec::new(),
                next_attempt_at: now,
                first_sent_at: None,
                msgid: None,
                errcode: None,
                error: None,
                created_at: now,
                updated_at: now,
                lease: None,
            };
            match self.deliveries.insert(&delivery).await {
                Ok(()) => queued.push(delivery),
                Err(error) if error.is_duplicate() => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(queued)
    }

    /// Looks for alerts raised since the last scan (by any process) and queues their
    /// deliveries; answers how many it queued. With alerts off (no AppID, template or
    /// openids) nothing is queued, and what was raised meanwhile is not sent later.
    pub async fn scan(&self) -> Result<usize, NotifyError> {
        let now = self.now();
        let Some(scan) = self.scans.get(SCAN_ID).await? else {
            self.prepare().await?;
            return Ok(0);
        };
        let settings = self.settings();
        let since = scan.scanned_to.minus(SCAN_OVERLAP);
        let mut queued = 0;
        let mut scanned_to = now;
        if settings.ready() {
            let alerts = self
                .source
                .alerts_since(since, SCAN_LIMIT)
                .await
                .map_err(NotifyError::Source)?;
            // A kind that filled its page is read again from its last alert next time.
            let mut per_kind: BTreeMap<&str, (u64, Timestamp)> = BTreeMap::new();
            for alert in &alerts {
                let entry = per_kind.entry(alert.kind.as_str()).or_insert((0, alert.at));
                entry.0 += 1;
                entry.1 = entry.1.max(alert.at);
            }
            for (count, last) in per_kind.values() {
                if *count >= SCAN_LIMIT {
                    scanned_to = scanned_to.min(*last);
                }
            }
            let fresh = |alert: &&StaffAlert| {
                alert.at <= now && scan.skipped_to.is_none_or(|skipped| alert.at > skipped)
            };
            for alert in alerts.iter().filter(fresh) {
                queued += self.queue(alert, &settings).await?.len();
            }
        }
        let mut moves = Vec::new();
        if scanned_to > scan.scanned_to {
            moves.push(Update::set("scanned_to", json!(scanned_to)));
        }
        if !settings.ready() {
            moves.push(Update::set("skipped_to", json!(now)));
        }
        if !moves.is_empty() {
            // Another process may have moved it meanwhile: either move is fine.
            self.scans
                .update_if(SCAN_ID, Filter::eq("version", scan.version), &moves)
                .await?;
        }
        if queued > 0 {
            tracing::info!(queued, "staff alerts queued");
        }
        Ok(queued)
    }

    /// Sends a test alert to every configured openid now and answers each delivery as it
    /// ended (sent, not delivered, failed, or queued for a retry). Refused while alerts are
    /// off or nobody is to receive them.
    pub async fn send_test(&self, by: &str) -> Result<Vec<AlertDelivery>, NotifyError> {
        let settings = self.settings();
        if !settings.enabled {
            return Err(NotifyError::InvalidState(
                "alerts are off: set the official account's AppID (settings, official_account.app_id)".into(),
            ));
        }
        if settings.template_id.trim().is_empty() {
            return Err(NotifyError::InvalidState(
                "no alert template: set official_account.alert_template_id".into(),
            ));
        }
        if settings.openids.is_empty() {
            return Err(NotifyError::InvalidState(
                "nobody receives alerts: set official_account.alert_openids".into(),
            ));
        }
        let id = ulid::Ulid::new().to_string();
        let alert = StaffAlert {
            id: format!("test:{id}"),
            kind: StaffAlertKind::Test,
            what: "告警测试 (alert test)".into(),
            reference: format!("T{}", &id[..20.min(id.len())]),
            at: self.now(),
        };
        tracing::info!(alert = %alert.id, by, "test alert");
        let queued = self.queue(&alert, &settings).await?;
        let mut answered = Vec::new();
        for delivery in queued {
            let lease_until = self.now().plus(LEASE);
            let taken = self
                .deliveries
                .update(
                    &delivery.id,
                    Filter::eq("version", delivery.version),
                    &[Update::set(
                        "lease",
                        stored(&Lease {
                            owner: self.worker.clone(),
                            until: lease_until,
                        })?,
                    )],
                )
                .await?;
            if let Some(taken) = taken {
                self.deliver(taken).await?;
            }
            if let Some(done) = self.deliveries.get(&delivery.id).await? {
                answered.push(done);
            }
        }
        Ok(answered)
    }

    /// Sends what is due (up to a batch), one after another; answers how many it took.
    pub async fn send_due(&self) -> Result<usize, NotifyError> {
        if !self.settings().enabled || !self.sender.is_configured() {
            return Ok(0);
        }
        let now = self.now();
        let due = Filter::is_in("state", ["queued", "sending"])
            .and(Filter::lte("next_attempt_at", json!(now)));
        let claimed = self
            .deliveries
            .claim(
                due,
                "next_attempt_at",
                &self.worker,
                now,
                now.plus(LEASE),
                BATCH,
            )
            .await?;
        let taken = claimed.len();
        for delivery in claimed {
            self.deliver(delivery).await?;
        }
        Ok(taken)
    }

    /// One round of the worker: a scan, then what is due.
    pub async fn run_once(&self) -> Result<usize, NotifyError> {
        let queued = self.scan().await?;
        let sent = self.send_due().await?;
        Ok(queued + sent)
    }

    /// Rounds until nothing is due (tests).
    pub async fn run_until_idle(&self) -> Result<(), NotifyError> {
        self.scan().await?;
        for _ in 0..1_000 {
            if self.send_due().await? == 0 {
                return Ok(());
            }
        }
        Ok(())
    }

    /// The worker: a round every `period`, and at once when the settings change.
    pub async fn run(self: Arc<Self>, period: Duration) {
        loop {
            match self.run_once().await {
                Ok(done) if done >= BATCH => continue,
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "staff alert round failed"),
            }
            let _ = tokio::time::timeout(period, self.wake.notified()).await;
        }
    }

    /// Sends a delivery this worker holds the lease of and records the outcome.
    async fn deliver(&self, delivery: AlertDelivery) -> Result<(), NotifyError> {
        let now = self.now();
        let mine = || Filter::eq("lease.owner", self.worker.as_str());
        if delivery.state == AlertDeliveryState::Sending
            && delivery
                .first_sent_at
                .is_some_and(|first| now.since(first) > DUPLICATE_GUARD)
        {
            // A worker sent it and stopped before recording the answer, too long ago for
            // WeChat's duplicate guard to still hold: it is not sent again.
            return self
                .record(
                    delivery,
                    Outcome::Failed {
                        errcode: None,
                        reason: "interrupted while sending, and WeChat's duplicate guard has run \
                                 out: it may have been delivered, so it is not sent again"
                            .into(),
                    },
                )
                .await;
        }
        let first_sent_at = delivery.first_sent_at.unwrap_or(now);
        let marked = self
            .deliveries
            .update_if(
                &delivery.id,
                mine(),
                &[
                    Update::set("state", "sending"),
                    Update::set("first_sent_at", json!(first_sent_at)),
                ],
            )
            .await?;
        if !marked {
            return Ok(()); // the lease ran out and another worker took it
        }
        let message = TemplateMessage {
            touser: delivery.openid.clone(),
            template_id: delivery.template_id.clone(),
            url: None,
            client_msg_id: Some(delivery.client_msg_id.clone()),
            data: delivery.data.clone(),
        };
        let outcome = Outcome::of(self.sender.send(&message).await);
        let delivery = AlertDelivery {
            first_sent_at: Some(first_sent_at),
            ..delivery
        };
        self.record(delivery, outcome).await
    }

    async fn record(&self, delivery: AlertDelivery, outcome: Outcome) -> Result<(), NotifyError> {
        let now = self.now();
        let mut attempts = delivery.attempts.clone();
        let guard_left = delivery
            .first_sent_at
            .is_none_or(|first| now.since(first) <= DUPLICATE_GUARD);
        let (state, reason, errcode, msgid, next) = match outcome {
            Outcome::Sent(msgid) => (AlertDeliveryState::Sent, None, None, Some(msgid), None),
            Outcome::NotDelivered => (
                AlertDeliveryState::NotDelivered,
                Some("does not follow the official account (43004)".to_owned()),
                Some(43004),
                None,
                None,
            ),
            Outcome::Failed { errcode, reason } => (
                AlertDeliveryState::Failed,
                Some(reason),
                errcode,
                None,
                None,
            ),
            Outcome::Retry {
                errcode, reason, ..
            } if attempts.len() + 1 >= MAX_ATTEMPTS => (
                AlertDeliveryState::Failed,
                Some(format!("gave up after {MAX_ATTEMPTS} tries: {reason}")),
                errcode,
                None,
                None,
            ),
            Outcome::Retry {
                errcode,
                reason,
                in_doubt: true,
            } if !guard_left => (
                AlertDeliveryState::Failed,
                Some(format!(
                    "no clear answer, and WeChat's duplicate guard has run out, so it is not \
                     sent again: {reason}"
                )),
                errcode,
                None,
                None,
            ),
            Outcome::Retry {
                errcode, reason, ..
            } => (
                AlertDeliveryState::Queued,
                Some(reason),
                errcode,
                None,
                Some(now.plus(backoff(attempts.len()))),
            ),
        };
        attempts.push(DeliveryAttempt {
            at: now,
            outcome: if next.is_some() {
                "retry"
            } else {
                state.as_str()
            }
            .into(),
            errcode,
            message: reason.clone(),
        });
        let mut updates = vec![
            Update::set("state", state.as_str()),
            Update::set("attempts", stored(&attempts)?),
            Update::set("updated_at", json!(now)),
            Update::unset("lease"),
        ];
        match &reason {
            Some(reason) => updates.push(Update::set("error", reason.as_str())),
            None => updates.push(Update::unset("error")),
        }
        match errcode {
            Some(errcode) => updates.push(Update::set("errcode", json!(errcode))),
            None => updates.push(Update::unset("errcode")),
        }
        if let Some(msgid) = msgid {
            updates.push(Update::set("msgid", json!(msgid)));
        }
        if let Some(first) = delivery.first_sent_at {
            updates.push(Update::set("first_sent_at", json!(first)));
        }
        if let Some(next) = next {
            updates.push(Update::set("next_attempt_at", json!(next)));
        }
        let recorded = self
            .deliveries
            .update_if(
                &delivery.id,
                Filter::eq("lease.owner", self.worker.as_str()),
                &updates,
            )
            .await?;
        if !recorded {
            tracing::warn!(delivery = %delivery.id, "an alert delivery's lease ran out before its answer was recorded");
        } else if state == AlertDeliveryState::Failed {
            tracing::warn!(delivery = %delivery.id, reason = reason.as_deref().unwrap_or(""), "staff alert not delivered");
        }
        Ok(())
    }
}

fn stored<T: Serialize>(value: &T) -> Result<serde_json::Value, NotifyError> {
    serde_json::to_value(value)
        .map_err(|e| topup_store::StoreError::InvalidDocument(e.to_string()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openids_are_split_checked_and_deduplicated() {
        assert_eq!(
            parse_openids(" o_a, o-b\no_a \t oC9 ").unwrap(),
            ["o_a", "o-b", "oC9"]
        );
        assert_eq!(parse_openids("").unwrap(), Vec::<String>::new());
        assert!(parse_openids("o_a, not;an-openid").is_err());
        assert!(parse_openids(&"x".repeat(65)).is_err());
        let many: Vec<String> = (0..21).map(|i| format!("o{i}")).collect();
        assert!(parse_openids(&many.join(",")).is_err());
        assert_eq!(parse_openids(&many[..20].join(" ")).unwrap().len(), 20);
    }

    #[test]
    fn alert_data_keeps_to_the_value_rules() {
        let alert = StaffAlert {
            id: "hold:T1".into(),
            kind: StaffAlertKind::HeldOrder,
            what: "订单挂起超时：provider wallet empty\nplease top up".into(),
            reference: "T2026030100000000000000000000000001-订单".into(),
            at: Timestamp::parse("2026-03-01T08:00:00Z").unwrap(),
        };
        let data = alert_data(&alert);
        assert_eq!(data["thing1"].chars().count(), 20);
        assert!(!data["thing1"].contains('\n'));
        assert_eq!(data["character_string2"].chars().count(), 32);
        assert_eq!(data["time3"], "2026-03-01 16:00");
    }

    #[test]
    fn the_client_msg_id_is_stable_per_delivery() {
        assert_eq!(client_msg_id("a/o1"), client_msg_id("a/o1"));
        assert_ne!(client_msg_id("a/o1"), client_msg_id("a/o2"));
        assert_eq!(client_msg_id("a/o1").len(), 38);
    }
}
