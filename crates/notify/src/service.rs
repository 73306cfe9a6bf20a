//! Templates, subscriptions, the delivery queue and its worker (`docs/notifications.md`).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::TimeDelta;
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::json;
use topup_core::{Page, PageRequest, SharedClock, Timestamp};
use topup_store::{
    Collection, Filter, FindQuery, GroupKey, Index, SortOrder, Store, StoreError, Update,
};
use topup_wechat::{MiniProgramClient, SubscribeMessage, WechatError};
use utoipa::ToSchema;

use crate::NotifyError;
use crate::model::{
    Delivery, DeliveryAttempt, DeliveryState, FieldMapping, Notice, NoticeEvent, NoticeTemplate,
    Subscription,
};
use crate::rules::{fit, is_known_key, key_type};

/// Where messages go: WeChat's `subscribe/send` (the sandbox's in tests and demos).
#[async_trait]
pub trait MessageSender: Send + Sync {
    /// WeChat's `msgid` for a message it took.
    async fn send(&self, message: &SubscribeMessage) -> Result<u64, WechatError>;
}

#[async_trait]
impl MessageSender for MiniProgramClient {
    async fn send(&self, message: &SubscribeMessage) -> Result<u64, WechatError> {
        self.send_subscribe_message(message).await
    }
}

/// A template as staff write it.
#[derive(Debug, Clone)]
pub struct TemplateDraft {
    pub template_id: String,
    pub page: String,
    pub fields: Vec<FieldMapping>,
    pub miniprogram_state: String,
    pub lang: String,
    pub enabled: bool,
}

/// A template's message for one notice: the page and the data, each value fitted to its
/// key's rule.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Rendered {
    pub page: String,
    pub data: BTreeMap<String, String>,
}

/// Filters of the delivery log.
#[derive(Debug, Clone, Default)]
pub struct DeliveryQuery {
    pub event: Option<NoticeEvent>,
    pub state: Option<DeliveryState>,
    pub user_id: Option<String>,
    pub order_no: Option<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

/// What one template's deliveries came to.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TemplateCounts {
    pub event: NoticeEvent,
    pub template_id: String,
    pub queued: u64,
    pub sent: u64,
    pub skipped: u64,
    pub failed: u64,
}

/// Tries before a passing error (WeChat busy, unreachable) becomes a failure.
const MAX_ATTEMPTS: usize = 6;
/// How long a worker holds a delivery it is sending.
const LEASE: TimeDelta = TimeDelta::seconds(60);
/// Deliveries one round of the worker takes, and how many it sends at once.
const BATCH: u64 = 200;
const IN_FLIGHT: usize = 32;

/// Why a delivery interrupted mid-send is not sent again (`docs/notifications.md#exactly-once`).
const IN_DOUBT: &str =
    "no clear answer from WeChat: it may have delivered the message, so it is not sent again";

pub struct NotifyService {
    templates: Collection<NoticeTemplate>,
    subscriptions: Collection<Subscription>,
    deliveries: Collection<Delivery>,
    clock: SharedClock,
    sender: Arc<dyn MessageSender>,
    /// This process's name on the leases it takes.
    worker: String,
    /// At most this many messages a second from this process's worker; none for no limit.
    rate: Option<u32>,
    wake: tokio::sync::Notify,
}

fn backoff(attempts: usize) -> TimeDelta {
    let exponent = u32::try_from(attempts.min(6)).unwrap_or(6);
    TimeDelta::seconds(10 * 2_i64.pow(exponent)).min(TimeDelta::minutes(10))
}

fn stored<T: Serialize>(value: &T) -> Result<serde_json::Value, NotifyError> {
    serde_json::to_value(value).map_err(|e| StoreError::InvalidDocument(e.to_string()).into())
}

/// `text` with each `{name}` replaced by its value (absent values leave nothing); unknown
/// names are refused.
fn substitute(
    text: &str,
    allowed: &[&str],
    values: &BTreeMap<&'static str, String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| "an unclosed {".to_owned())?;
        let name = &after[..close];
        if !allowed.contains(&name) {
            return Err(format!(
                "unknown placeholder {{{name}}}; this event has {}",
                allowed
                    .iter()
                    .map(|p| format!("{{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
        if let Some(value) = values.get(name) {
            out.push_str(value);
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

impl TemplateDraft {
    fn validate(&self, event: NoticeEvent) -> Result<(), NotifyError> {
        let id = self.template_id.trim();
        if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_graphic()) {
            return Err(NotifyError::invalid(
                "template_id",
                "1 to 64 visible ASCII characters",
            ));
        }
        if self.page.len() > 256 || self.page.chars().any(char::is_whitespace) {
            return Err(NotifyError::invalid(
                "page",
                "a mini-program path without spaces, at most 256 characters",
            ));
        }
        substitute(&self.page, event.placeholders(), &BTreeMap::new())
            .map_err(|reason| NotifyError::invalid("page", reason))?;
        if self.fields.is_empty() || self.fields.len() > 20 {
            return Err(NotifyError::invalid("fields", "1 to 20 keys"));
        }
        let mut seen = HashSet::new();
        for (index, field) in self.fields.iter().enumerate() {
            if !is_known_key(&field.key) {
                return Err(NotifyError::invalid(
                    format!("fields[{index}].key"),
                    "a WeChat key: a type (thing, amount, time, character_string, phrase…) and a number",
                ));
            }
            if !seen.insert(field.key.as_str()) {
                return Err(NotifyError::invalid(
                    format!("fields[{index}].key"),
                    "used twice",
                ));
            }
            if field.value.chars().count() > 200 {
                return Err(NotifyError::invalid(
                    format!("fields[{index}].value"),
                    "at most 200 characters",
                ));
            }
        }
        if !matches!(
            self.miniprogram_state.as_str(),
            "developer" | "trial" | "formal"
        ) {
            return Err(NotifyError::invalid(
                "miniprogram_state",
                "developer, trial or formal",
            ));
        }
        if !matches!(self.lang.as_str(), "zh_CN" | "en_US" | "zh_HK" | "zh_TW") {
            return Err(NotifyError::invalid("lang", "zh_CN, en_US, zh_HK or zh_TW"));
        }
        Ok(())
    }
}

/// The message `fields` and `page` make of `notice`; the first value that breaks its key's
/// rule is refused, named by its place in `fields`.
fn render(
    event: NoticeEvent,
    page: &str,
    fields: &[FieldMapping],
    notice: &Notice,
) -> Result<Rendered, NotifyError> {
    let values = notice.values();
    let allowed = event.placeholders();
    let page = substitute(page, allowed, &values)
        .map_err(|reason| NotifyError::invalid("page", reason))?;
    let mut data = BTreeMap::new();
    for (index, field) in fields.iter().enumerate() {
        let value = substitute(&field.value, allowed, &values)
            .and_then(|raw| fit(key_type(&field.key), &raw))
            .map_err(|reason| NotifyError::invalid(format!("fields[{index}].value"), reason))?;
        data.insert(field.key.clone(), value);
    }
    Ok(Rendered { page, data })
}

/// What became of one try at sending.
enum Outcome {
    Sent(u64),
    Skipped {
        errcode: Option<i64>,
        reason: String,
    },
    Failed {
        errcode: Option<i64>,
        reason: String,
    },
    /// Not delivered, and safe to try again.
    Retry {
        errcode: Option<i64>,
        reason: String,
    },
}

impl Outcome {
    fn of(answer: Result<u64, WechatError>) -> Outcome {
        match answer {
            Ok(msgid) => Outcome::Sent(msgid),
            Err(WechatError::NotSubscribed) => Outcome::Skipped {
                errcode: Some(43101),
                reason: "the user has not subscribed (43101)".into(),
            },
            Err(WechatError::Api { errcode, errmsg }) => Outcome::Failed {
                errcode: Some(errcode),
                reason: format!("WeChat refused it ({errcode}): {errmsg}"),
            },
            Err(
                error @ (WechatError::Timeout | WechatError::Transport(_) | WechatError::Decode(_)),
            ) => Outcome::Failed {
                errcode: None,
                reason: format!("{IN_DOUBT} ({error})"),
            },
            Err(WechatError::TokenRejected(errcode)) | Err(WechatError::Credentials(errcode)) => {
                Outcome::Retry {
                    errcode: Some(errcode),
                    reason: format!("WeChat refused our credentials ({errcode})"),
                }
            }
            Err(error @ WechatError::Busy) => Outcome::Retry {
                errcode: Some(-1),
                reason: error.to_string(),
            },
            Err(error @ WechatError::RateLimited) => Outcome::Retry {
                errcode: Some(45011),
                reason: error.to_string(),
            },
            Err(error @ WechatError::Unreachable(_)) => Outcome::Retry {
                errcode: None,
                reason: error.to_string(),
            },
            Err(
                error @ (WechatError::InvalidCode
                | WechatError::CodeUsed
                | WechatError::HighRiskUser
                | WechatError::NotFollowing),
            ) => Outcome::Failed {
                errcode: None,
                reason: error.to_string(),
            },
        }
    }
}

impl NotifyService {
    pub fn new(store: &Store, clock: SharedClock, sender: Arc<dyn MessageSender>) -> Self {
        NotifyService {
            templates: store.collection(),
            subscriptions: store.collection(),
            deliveries: store.collection(),
            clock,
            sender,
            worker: format!("notify-{}", ulid::Ulid::new()),
            wake: tokio::sync::Notify::new(),
            rate: None,
        }
    }

    /// Paces the worker ([`NotifyService::run`]) to at most `per_second` messages a second (0
    /// for no limit): sending takes CPU and store writes from checkouts on the same machine,
    /// and a burst of queued messages need not take all of them (`docs/notifications.md`).
    pub fn with_rate(mut self, per_second: u32) -> Self {
        self.rate = (per_second > 0).then_some(per_second);
        self
    }

    /// Indexes (idempotent).
    pub async fn prepare(&self) -> Result<(), NotifyError> {
        for index in [
            Index::new("due", &["state", "next_attempt_at"]),
            Index::new("event_state", &["event", "state"]),
            Index::new("user", &["user_id", "created_at"]),
            Index::new("order", &["order_no"]),
            Index::new("created", &["created_at"]),
        ] {
            self.deliveries.ensure_index(index).await?;
        }
        Ok(())
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The configured templates, in event order.
    pub async fn templates(&self) -> Result<Vec<NoticeTemplate>, NotifyError> {
        let mut all = self
            .templates
            .find(&FindQuery::new(Filter::All).limit(100))
            .await?;
        all.sort_by_key(|t| NoticeEvent::ALL.iter().position(|e| *e == t.event));
        Ok(all)
    }

    pub async fn template(
        &self,
        event: NoticeEvent,
    ) -> Result<Option<NoticeTemplate>, NotifyError> {
        Ok(self.templates.get(event.as_str()).await?)
    }

    /// What `draft` would send for a made-up `event`.
    pub fn preview(
        &self,
        event: NoticeEvent,
        draft: &TemplateDraft,
    ) -> Result<Rendered, NotifyError> {
        draft.validate(event)?;
        render(event, &draft.page, &draft.fields, &event.sample(self.now()))
    }

    /// Sets the template of `event`; answers what it was before (for the audit log) and is
    /// now. A draft whose sample message WeChat would refuse is refused here.
    pub async fn put_template(
        &self,
        event: NoticeEvent,
        draft: TemplateDraft,
    ) -> Result<(Option<NoticeTemplate>, NoticeTemplate), NotifyError> {
        self.preview(event, &draft)?;
        let before = self.template(event).await?;
        let after = NoticeTemplate {
            id: event.as_str().to_owned(),
            version: before.as_ref().map_or(0, |t| t.version),
            event,
            template_id: draft.template_id.trim().to_owned(),
            page: draft.page,
            fields: draft.fields,
            miniprogram_state: draft.miniprogram_state,
            lang: draft.lang,
            enabled: draft.enabled,
            updated_at: self.now(),
        };
        let stored = match &before {
            Some(_) => self.templates.replace(&after).await?,
            None => {
                self.templates.insert(&after).await?;
                after
            }
        };
        Ok((before, stored))
    }

    /// The WeChat template ids a user may be asked about now (enabled templates), by event.
    pub async fn subscribable(&self) -> Result<Vec<(NoticeEvent, String)>, NotifyError> {
        Ok(self
            .templates()
            .await?
            .into_iter()
            .filter(|t| t.enabled)
            .map(|t| (t.event, t.template_id))
            .collect())
    }

    /// Records the user's answer to `wx.requestSubscribeMessage`: each accepted template
    /// allows one more message.
    pub async fn record_choice(
        &self,
        user_id: &str,
        accepted: &[String],
        rejected: &[String],
    ) -> Result<(), NotifyError> {
        let known: HashSet<String> = self
            .subscribable()
            .await?
            .into_iter()
            .map(|(_, id)| id)
            .collect();
        if accepted.len() + rejected.len() > 3 {
            return Err(NotifyError::invalid(
                "accepted",
                "one prompt asks about at most three templates",
            ));
        }
        for (field, ids) in [("accepted", accepted), ("rejected", rejected)] {
            if let Some(index) = ids.iter().position(|id| !known.contains(id)) {
                return Err(NotifyError::invalid(
                    format!("{field}[{index}]"),
                    "not a template of this mini-program",
                ));
            }
        }
        for (ids, took) in [(accepted, true), (rejected, false)] {
            for template_id in ids {
                self.count_choice(user_id, template_id, took).await?;
            }
        }
        Ok(())
    }

    async fn count_choice(
        &self,
        user_id: &str,
        template_id: &str,
        accepted: bool,
    ) -> Result<(), NotifyError> {
        let id = Subscription::id_of(user_id, template_id);
        let now = self.now();
        let (available, total_field) = if accepted {
            (1, "accepted_total")
        } else {
            (0, "rejected_total")
        };
        for _ in 0..3 {
            let counted = self
                .subscriptions
                .update(
                    &id,
                    Filter::All,
                    &[
                        Update::inc("available", available),
                        Update::inc(total_field, 1),
                        Update::set("updated_at", stored(&now)?),
                    ],
                )
                .await?;
            if counted.is_some() {
                return Ok(());
            }
            let first = Subscription {
                id: id.clone(),
                version: 0,
                user_id: user_id.to_owned(),
                template_id: template_id.to_owned(),
                available,
                accepted_total: i64::from(accepted),
                rejected_total: i64::from(!accepted),
                updated_at: now,
            };
            match self.subscriptions.insert(&first).await {
                Ok(()) => return Ok(()),
                // Another request created it meanwhile: count on it.
                Err(error) if error.is_duplicate() => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(StoreError::Conflict {
            collection: "notify_subscriptions".into(),
            id,
        }
        .into())
    }

    /// The user's unspent acceptances of `template_id`.
    pub async fn available(&self, user_id: &str, template_id: &str) -> Result<i64, NotifyError> {
        Ok(self
            .subscriptions
            .get(&Subscription::id_of(user_id, template_id))
            .await?
            .map_or(0, |s| s.available))
    }

    async fn spend_subscription(
        &self,
        user_id: &str,
        template_id: &str,
    ) -> Result<bool, NotifyError> {
        Ok(self
            .subscriptions
            .update_if(
                &Subscription::id_of(user_id, template_id),
                Filter::gt("available", 0),
                &[Update::inc("available", -1)],
            )
            .await?)
    }

    async fn give_back_subscription(
        &self,
        user_id: &str,
        template_id: &str,
    ) -> Result<(), NotifyError> {
        self.subscriptions
            .update_if(
                &Subscription::id_of(user_id, template_id),
                Filter::All,
                &[Update::inc("available", 1)],
            )
            .await?;
        Ok(())
    }

    /// Queues the message of `notice`, once per notice key: giving the same notice again
    /// changes nothing. Nothing is queued when the event has no enabled template. A message
    /// the template cannot render is recorded as failed with the reason.
    pub async fn enqueue(&self, notice: &Notice) -> Result<Option<Delivery>, NotifyError> {
        let Some(template) = self.template(notice.event).await?.filter(|t| t.enabled) else {
            return Ok(None);
        };
        let now = self.now();
        let (page, data, state, reason) =
            match render(notice.event, &template.page, &template.fields, notice) {
                Ok(rendered) => (rendered.page, rendered.data, DeliveryState::Queued, None),
                Err(error) => (
                    String::new(),
                    BTreeMap::new(),
                    DeliveryState::Failed,
                    Some(format!("the template cannot render this event: {error}")),
                ),
            };
        let delivery = Delivery {
            id: notice.key.clone(),
            version: 0,
            event: notice.event,
            user_id: notice.user_id.clone(),
            order_no: notice.order_no.clone(),
            openid: notice.openid.clone(),
            template_id: template.template_id,
            page,
            data,
            miniprogram_state: template.miniprogram_state,
            lang: template.lang,
            state,
            attempts: Vec::new(),
            next_attempt_at: now,
            msgid: None,
            reason,
            created_at: now,
            updated_at: now,
            lease: None,
        };
        match self.deliveries.insert(&delivery).await {
            Ok(()) => {
                self.wake.notify_one();
                Ok(Some(delivery))
            }
            Err(error) if error.is_duplicate() => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    pub async fn delivery(&self, id: &str) -> Result<Delivery, NotifyError> {
        self.deliveries
            .get(id)
            .await?
            .ok_or_else(|| NotifyError::NotFound(format!("delivery {id}")))
    }

    pub async fn deliveries(
        &self,
        query: &DeliveryQuery,
        page: PageRequest,
    ) -> Result<Page<Delivery>, NotifyError> {
        let mut filter = Filter::All;
        if let Some(event) = query.event {
            filter = filter.and(Filter::eq("event", event.as_str()));
        }
        if let Some(state) = query.state {
            filter = filter.and(Filter::eq("state", state.as_str()));
        }
        if let Some(user_id) = &query.user_id {
            filter = filter.and(Filter::eq("user_id", user_id.as_str()));
        }
        if let Some(order_no) = &query.order_no {
            filter = filter.and(Filter::eq("order_no", order_no.as_str()));
        }
        if let Some(from) = query.from {
            filter = filter.and(Filter::gte("created_at", stored(&from)?));
        }
        if let Some(to) = query.to {
            filter = filter.and(Filter::lt("created_at", stored(&to)?));
        }
        Ok(self
            .deliveries
            .page(filter, &[("created_at", SortOrder::Desc)], page)
            .await?)
    }

    /// Sends a failed or skipped delivery again (staff, after fixing the cause).
    pub async fn resend(&self, id: &str) -> Result<Delivery, NotifyError> {
        let before = self.delivery(id).await?;
        if before.data.is_empty() {
            return Err(NotifyError::InvalidState(
                "this delivery has no message: fix the template; the next event will use it".into(),
            ));
        }
        let now = self.now();
        let queued = self
            .deliveries
            .update(
                id,
                Filter::is_in("state", ["failed", "skipped"]),
                &[
                    Update::set("state", "queued"),
                    Update::set("next_attempt_at", stored(&now)?),
                    Update::unset("reason"),
                    Update::set("updated_at", stored(&now)?),
                ],
            )
            .await?
            .ok_or_else(|| {
                NotifyError::InvalidState(format!(
                    "only failed or skipped deliveries can be sent again; this one is {}",
                    before.state.as_str()
                ))
            })?;
        self.wake.notify_one();
        Ok(queued)
    }

    /// Per template: how many of its deliveries were sent, skipped, failed or wait.
    pub async fn counts(&self) -> Result<Vec<TemplateCounts>, NotifyError> {
        let mut all = Vec::new();
        for template in self.templates().await? {
            let rows = self
                .deliveries
                .group(
                    &Filter::eq("event", template.event.as_str()),
                    GroupKey::Field(topup_store::Field::new("state")),
                    &[],
                )
                .await?;
            let count = |state: &str| {
                rows.iter()
                    .filter(|r| r.key.as_str() == Some(state))
                    .map(|r| r.count)
                    .sum::<u64>()
            };
            all.push(TemplateCounts {
                event: template.event,
                template_id: template.template_id.clone(),
                queued: count("queued") + count("sending"),
                sent: count("sent"),
                skipped: count("skipped"),
                failed: count("failed"),
            });
        }
        Ok(all)
    }

    /// One round of the worker: takes the due deliveries (up to a batch) and sends them, a
    /// few at a time. Answers how many it took.
    pub async fn run_once(&self) -> Result<usize, NotifyError> {
        let now = self.now();
        let due = Filter::is_in("state", ["queued", "sending"])
            .and(Filter::lte("next_attempt_at", stored(&now)?))
            .and(
                Filter::eq("lease.until", serde_json::Value::Null)
                    .or(Filter::lte("lease.until", stored(&now)?)),
            );
        let candidates = self
            .deliveries
            .find(
                &FindQuery::new(due)
                    .sort("next_attempt_at", SortOrder::Asc)
                    .limit(BATCH),
            )
            .await?;
        let taken = candidates.len();
        // One user's messages go out one after another, in the order their events happened
        // (a refund after the failure it follows); different users' at once.
        let mut by_user: BTreeMap<String, Vec<Delivery>> = BTreeMap::new();
        for delivery in candidates {
            by_user
                .entry(delivery.user_id.clone())
                .or_default()
                .push(delivery);
        }
        let results: Vec<Result<(), NotifyError>> =
            futures_util::stream::iter(by_user.into_values())
                .map(|mut deliveries| async move {
                    deliveries.sort_by_key(|d| {
                        (
                            d.created_at,
                            NoticeEvent::ALL.iter().position(|e| *e == d.event),
                        )
                    });
                    for delivery in deliveries {
                        self.deliver(delivery, now).await?;
                    }
                    Ok(())
                })
                .buffer_unordered(IN_FLIGHT)
                .collect()
                .await;
        for result in results {
            result?;
        }
        Ok(taken)
    }

    /// Runs rounds until nothing is due (tests, and a burst).
    pub async fn run_until_idle(&self) -> Result<(), NotifyError> {
        for _ in 0..10_000 {
            if self.run_once().await? == 0 {
                return Ok(());
            }
        }
        Ok(())
    }

    /// The worker: a round whenever something is queued, and every `period` for retries.
    pub async fn run(self: Arc<Self>, period: Duration) {
        loop {
            let started = std::time::Instant::now();
            let round = self.run_once().await;
            // A round of n messages takes at least n / rate seconds (real time, as the rate is).
            if let (Ok(taken), Some(rate)) = (&round, self.rate) {
                let least = Duration::from_secs_f64(*taken as f64 / f64::from(rate));
                if let Some(rest) = least.checked_sub(started.elapsed()) {
                    tokio::time::sleep(rest).await;
                }
            }
            match round {
                Ok(taken) if taken as u64 >= BATCH => continue,
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "notification round failed"),
            }
            let _ = tokio::time::timeout(period, self.wake.notified()).await;
        }
    }

    /// Takes the delivery (a guarded write: one worker wins), sends it, records the outcome.
    async fn deliver(&self, delivery: Delivery, now: Timestamp) -> Result<(), NotifyError> {
        let lease = stored(&topup_store::Lease {
            owner: self.worker.clone(),
            until: now.plus(LEASE),
        })?;
        let unchanged = Filter::eq("version", delivery.version);
        if delivery.state == DeliveryState::Sending {
            // A worker took it and stopped before recording WeChat's answer.
            let attempt = DeliveryAttempt {
                at: now,
                outcome: "failed".into(),
                errcode: None,
                message: Some(IN_DOUBT.into()),
            };
            let mut attempts = delivery.attempts.clone();
            attempts.push(attempt);
            self.deliveries
                .update_if(
                    &delivery.id,
                    unchanged,
                    &[
                        Update::set("state", "failed"),
                        Update::set("reason", format!("interrupted while sending: {IN_DOUBT}")),
                        Update::set("attempts", stored(&attempts)?),
                        Update::set("updated_at", stored(&now)?),
                        Update::unset("lease"),
                    ],
                )
                .await?;
            return Ok(());
        }
        let taken = self
            .deliveries
            .update(
                &delivery.id,
                unchanged,
                &[Update::set("state", "sending"), Update::set("lease", lease)],
            )
            .await?;
        let Some(delivery) = taken else {
            return Ok(()); // another worker took it
        };
        let outcome = if self
            .spend_subscription(&delivery.user_id, &delivery.template_id)
            .await?
        {
            let message = SubscribeMessage {
                touser: delivery.openid.clone(),
                template_id: delivery.template_id.clone(),
                page: Some(delivery.page.clone()).filter(|p| !p.is_empty()),
                data: delivery.data.clone(),
                miniprogram_state: Some(delivery.miniprogram_state.clone()),
                lang: Some(delivery.lang.clone()),
            };
            let outcome = Outcome::of(self.sender.send(&message).await);
            if matches!(outcome, Outcome::Retry { .. } | Outcome::Skipped { .. }) {
                // Not delivered: the acceptance is still the user's (for 43101 WeChat says
                // there is none; ours was out of step, and the next prompt puts it right).
                if matches!(outcome, Outcome::Retry { .. }) {
                    self.give_back_subscription(&delivery.user_id, &delivery.template_id)
                        .await?;
                }
            }
            outcome
        } else {
            Outcome::Skipped {
                errcode: None,
                reason: "the user has not subscribed to this template".into(),
            }
        };
        self.record(delivery, outcome).await
    }

    async fn record(&self, delivery: Delivery, outcome: Outcome) -> Result<(), NotifyError> {
        let now = self.now();
        let mut attempts = delivery.attempts.clone();
        let (state, reason, errcode, msgid, next) = match outcome {
            Outcome::Sent(msgid) => ("sent", None, None, Some(msgid), None),
            Outcome::Skipped { errcode, reason } => ("skipped", Some(reason), errcode, None, None),
            Outcome::Failed { errcode, reason } => ("failed", Some(reason), errcode, None, None),
            Outcome::Retry { errcode, reason } if attempts.len() + 1 >= MAX_ATTEMPTS => (
                "failed",
                Some(format!("gave up after {MAX_ATTEMPTS} tries: {reason}")),
                errcode,
                None,
                None,
            ),
            Outcome::Retry { errcode, reason } => (
                "queued",
                Some(reason),
                errcode,
                None,
                Some(now.plus(backoff(attempts.len()))),
            ),
        };
        attempts.push(DeliveryAttempt {
            at: now,
            outcome: if next.is_some() { "retry" } else { state }.into(),
            errcode,
            message: reason.clone(),
        });
        let mut updates = vec![
            Update::set("state", state),
            Update::set("attempts", stored(&attempts)?),
            Update::set("updated_at", stored(&now)?),
            Update::unset("lease"),
        ];
        if let Some(reason) = reason {
            updates.push(Update::set("reason", reason));
        }
        if let Some(msgid) = msgid {
            updates.push(Update::set("msgid", json!(msgid)));
        }
        if let Some(next) = next {
            updates.push(Update::set("next_attempt_at", stored(&next)?));
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
            tracing::warn!(delivery = %delivery.id, "a delivery's lease ran out before its answer was recorded");
        }
        Ok(())
    }
}
