//! Templates, claims, and the coupon's lock / use / return around an order.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::TimeDelta;
use serde::Serialize;
use topup_core::{Money, Page, PageRequest, SharedClock, Timestamp};
use topup_store::{
    Collection, Filter, FindQuery, GroupKey, Index, SortOrder, Store, StoreError, Update,
};
use utoipa::ToSchema;

use crate::MarketingError;
use crate::model::{
    Channel, Coupon, CouponState, CouponTemplate, CouponTerms, Purchase, Unusable, Validity,
};

/// Who may hold a coupon's lock: the order a coupon was locked for. Marketing asks it only
/// to release locks whose holder never came to exist (a crash between lock and order).
#[async_trait]
pub trait LockHolders: Send + Sync {
    /// Whether `holder` (an order number) exists.
    async fn exists(&self, holder: &str) -> Result<bool, MarketingError>;
}

/// A template as staff write it.
#[derive(Debug, Clone)]
pub struct TemplateDraft {
    pub name: String,
    pub description: String,
    pub terms: CouponTerms,
    pub validity: Validity,
    pub total_stock: Option<i64>,
    pub per_user_limit: u32,
    pub channel: Channel,
    pub enabled: bool,
}

impl TemplateDraft {
    fn validate(&self) -> Result<(), MarketingError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 40 {
            return Err(MarketingError::invalid("name", "1 to 40 characters"));
        }
        if self.description.chars().count() > 200 {
            return Err(MarketingError::invalid(
                "description",
                "at most 200 characters",
            ));
        }
        self.terms.validate()?;
        self.validity.validate()?;
        if self
            .total_stock
            .is_some_and(|s| !(1..=10_000_000).contains(&s))
        {
            return Err(MarketingError::invalid(
                "total_stock",
                "1 to 10000000, or null for unlimited",
            ));
        }
        if !(1..=100).contains(&self.per_user_limit) {
            return Err(MarketingError::invalid("per_user_limit", "1 to 100"));
        }
        Ok(())
    }
}

/// Filters of the template list.
#[derive(Debug, Clone, Default)]
pub struct TemplateQuery {
    pub channel: Option<Channel>,
    pub enabled: Option<bool>,
}

/// Filters of the staff coupon list.
#[derive(Debug, Clone, Default)]
pub struct CouponQuery {
    pub template_id: Option<String>,
    pub user_id: Option<String>,
    pub state: Option<CouponState>,
}

/// What a template's coupons did.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TemplateStats {
    pub claimed: u64,
    pub unused: u64,
    pub locked: u64,
    pub used: u64,
    pub expired: u64,
    /// Membership bundle coupons taken back when their membership was refunded.
    pub withdrawn: u64,
    /// Taken off the orders that used its coupons.
    pub discount_given: Money,
    /// What those orders cost their buyers.
    pub paid_total: Money,
}

/// A template a user can claim from, and how many of its coupons they hold.
#[derive(Debug, Clone)]
pub struct Claimable {
    pub template: CouponTemplate,
    pub claimed_by_me: u32,
}

/// A staff issue to several users: how many got a coupon, and why the others did not.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssueReport {
    pub issued: u32,
    pub refused: Vec<IssueRefusal>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssueRefusal {
    pub user_id: String,
    /// `COUPON_SOLD_OUT`, `COUPON_LIMIT_REACHED`.
    pub code: String,
    pub message: String,
}

/// One of a user's coupons tried against a purchase.
#[derive(Debug, Clone)]
pub struct CouponOption {
    pub coupon: Coupon,
    pub outcome: Result<Money, Unusable>,
}

/// Where a locked or used coupon goes when its order moves on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// The order was paid.
    Used,
    /// The order closed unpaid or was refunded in full.
    Returned,
}

/// How long a lock may exist without its order before the sweeper releases it.
const ORPHAN_LOCK_GRACE: TimeDelta = TimeDelta::minutes(10);
/// How many coupons one sweep looks at per kind of work.
const SWEEP_BATCH: u64 = 500;

pub struct MarketingService {
    pub(crate) store: Store,
    pub(crate) templates: Collection<CouponTemplate>,
    pub(crate) coupons: Collection<Coupon>,
    pub(crate) clock: SharedClock,
    /// How membership orders are paid and refunded.
    pub(crate) payments: Option<Arc<dyn crate::MembershipPayments>>,
    /// Told when a membership is granted.
    pub(crate) notices: Option<Arc<dyn crate::MembershipNotices>>,
}

impl MarketingService {
    pub fn new(store: &Store, clock: SharedClock) -> Self {
        MarketingService {
            store: store.clone(),
            templates: store.collection(),
            coupons: store.collection(),
            clock,
            payments: None,
            notices: None,
        }
    }

    /// Where membership orders are paid and refunded (WeChat Pay, own `biz_type`).
    pub fn with_membership_payments(
        mut self,
        payments: Arc<dyn crate::MembershipPayments>,
    ) -> Self {
        self.payments = Some(payments);
        self
    }

    /// Where granted memberships are announced to their buyers.
    pub fn with_notices(mut self, notices: Arc<dyn crate::MembershipNotices>) -> Self {
        self.notices = Some(notices);
        self
    }

    /// Indexes (idempotent).
    pub async fn prepare(&self) -> Result<(), MarketingError> {
        for index in [
            Index::new("channel_enabled", &["channel", "enabled"]),
            Index::new("created", &["created_at"]),
        ] {
            self.templates.ensure_index(index).await?;
        }
        for index in [
            Index::unique("claim_key", &["claim_key"]),
            Index::new("user_state", &["user_id", "state", "claimed_at"]),
            Index::new("template_state", &["template_id", "state"]),
            Index::new("state_valid_to", &["state", "valid_to"]),
            Index::new("claimed", &["claimed_at"]),
        ] {
            self.coupons.ensure_index(index).await?;
        }
        self.prepare_membership().await
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub async fn create_template(
        &self,
        draft: TemplateDraft,
    ) -> Result<CouponTemplate, MarketingError> {
        draft.validate()?;
        let now = self.now();
        let template = CouponTemplate {
            id: ulid::Ulid::new().to_string(),
            version: 0,
            name: draft.name.trim().to_owned(),
            description: draft.description,
            terms: draft.terms,
            validity: draft.validity,
            total_stock: draft.total_stock,
            claimed: 0,
            per_user_limit: draft.per_user_limit,
            channel: draft.channel,
            enabled: draft.enabled,
            created_at: now,
            updated_at: now,
        };
        self.templates.insert(&template).await?;
        Ok(template)
    }

    /// Rewrites a template's terms; coupons already claimed keep theirs. The stock cannot go
    /// below what was claimed.
    pub async fn update_template(
        &self,
        id: &str,
        draft: TemplateDraft,
    ) -> Result<(CouponTemplate, CouponTemplate), MarketingError> {
        draft.validate()?;
        for _ in 0..10 {
            let before = self.template(id).await?;
            if draft
                .total_stock
                .is_some_and(|stock| stock < before.claimed)
            {
                return Err(MarketingError::invalid(
                    "total_stock",
                    format!("{} already claimed", before.claimed),
                ));
            }
            let mut after = before.clone();
            after.name = draft.name.trim().to_owned();
            after.description = draft.description.clone();
            after.terms = draft.terms.clone();
            after.validity = draft.validity.clone();
            after.total_stock = draft.total_stock;
            after.per_user_limit = draft.per_user_limit;
            after.channel = draft.channel;
            after.enabled = draft.enabled;
            after.updated_at = self.now();
            match self.templates.replace(&after).await {
                Ok(stored) => return Ok((before, stored)),
                Err(StoreError::Conflict { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(StoreError::Conflict {
            collection: "coupon_templates".into(),
            id: id.to_owned(),
        }
        .into())
    }

    pub async fn template(&self, id: &str) -> Result<CouponTemplate, MarketingError> {
        self.templates
            .get(id)
            .await?
            .ok_or_else(|| MarketingError::NotFound(format!("coupon template {id}")))
    }

    pub async fn list_templates(
        &self,
        query: &TemplateQuery,
        page: PageRequest,
    ) -> Result<Page<CouponTemplate>, MarketingError> {
        let mut filter = Filter::All;
        if let Some(channel) = query.channel {
            filter = filter.and(Filter::eq("channel", channel.as_str()));
        }
        if let Some(enabled) = query.enabled {
            filter = filter.and(Filter::eq("enabled", enabled));
        }
        Ok(self
            .templates
            .page(filter, &[("created_at", SortOrder::Desc)], page)
            .await?)
    }

    pub async fn stats(&self, template_id: &str) -> Result<TemplateStats, MarketingError> {
        let rows = self
            .coupons
            .group(
                &Filter::eq("template_id", template_id),
                GroupKey::Field("state".into()),
                &["discount.amount", "order_total.amount"],
            )
            .await?;
        let mut stats = TemplateStats {
            claimed: 0,
            unused: 0,
            locked: 0,
            used: 0,
            expired: 0,
            withdrawn: 0,
            discount_given: Money::cny(0),
            paid_total: Money::cny(0),
        };
        for row in rows {
            stats.claimed += row.count;
            match row.key.as_str() {
                Some("unused") => stats.unused = row.count,
                Some("locked") => stats.locked = row.count,
                Some("used") => {
                    stats.used = row.count;
                    stats.discount_given = Money::cny(row.sums.first().copied().unwrap_or(0));
                    stats.paid_total = Money::cny(row.sums.get(1).copied().unwrap_or(0));
                }
                Some("expired") => stats.expired = row.count,
                Some("withdrawn") => stats.withdrawn = row.count,
                _ => {}
            }
        }
        Ok(stats)
    }

    /// Templates users can claim in the app now, with how many each user already holds.
    pub async fn claimable(&self, user_id: &str) -> Result<Vec<Claimable>, MarketingError> {
        let now = self.now();
        let templates = self
            .templates
            .find(
                &FindQuery::new(
                    Filter::eq("channel", Channel::SelfClaim.as_str())
                        .and(Filter::eq("enabled", true)),
                )
                .sort("created_at", SortOrder::Desc)
                .limit(100),
            )
            .await?;
        let mut claimable = Vec::new();
        for template in templates
            .into_iter()
            .filter(|t| t.validity.claimable_at(now))
        {
            let held = self.held_by(&template.id, user_id).await?;
            claimable.push(Claimable {
                template,
                claimed_by_me: held,
            });
        }
        Ok(claimable)
    }

    /// How many coupons of the template the user holds, in any state. Counted on the unique
    /// claim keys, which all start `<template>:<user>:` (claims, staff issues and membership
    /// bundles alike): asked by template and user, the store went through every coupon of
    /// the template, thousands for a popular one, on each claim and coupon-centre view.
    async fn held_by(&self, template_id: &str, user_id: &str) -> Result<u32, MarketingError> {
        let count = self
            .coupons
            .count(&Filter::starts_with(
                "claim_key",
                &claim_key_prefix(template_id, user_id),
            ))
            .await?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    /// A user claims a coupon in the app (`self` templates only).
    pub async fn claim(&self, user_id: &str, template_id: &str) -> Result<Coupon, MarketingError> {
        let template = self.template(template_id).await?;
        if template.channel != Channel::SelfClaim || !template.enabled {
            return Err(MarketingError::NotFound(format!(
                "claimable coupon template {template_id}"
            )));
        }
        self.give(&template, user_id).await
    }

    /// Staff give a template's coupon to each of `user_ids` (stock and per-user limit apply).
    pub async fn issue(
        &self,
        template_id: &str,
        user_ids: &[String],
    ) -> Result<IssueReport, MarketingError> {
        if user_ids.is_empty() || user_ids.len() > 500 {
            return Err(MarketingError::invalid("user_ids", "1 to 500 users"));
        }
        let template = self.template(template_id).await?;
        let mut report = IssueReport {
            issued: 0,
            refused: Vec::new(),
        };
        for user_id in user_ids {
            match self.give(&template, user_id).await {
                Ok(_) => report.issued += 1,
                Err(error @ (MarketingError::SoldOut(_) | MarketingError::LimitReached { .. })) => {
                    let code = match error {
                        MarketingError::SoldOut(_) => "COUPON_SOLD_OUT",
                        _ => "COUPON_LIMIT_REACHED",
                    };
                    report.refused.push(IssueRefusal {
                        user_id: user_id.clone(),
                        code: code.into(),
                        message: error.to_string(),
                    });
                }
                Err(other) => return Err(other),
            }
        }
        Ok(report)
    }

    /// Gives `user_id` the `new_user` coupons of templates that existed when they joined.
    /// Safe to call at every sign-in: each is given once (its claim key is unique).
    pub async fn welcome(
        &self,
        user_id: &str,
        joined_at: Timestamp,
    ) -> Result<u32, MarketingError> {
        let templates = self
            .templates
            .find(
                &FindQuery::new(
                    Filter::eq("channel", Channel::NewUser.as_str())
                        .and(Filter::eq("enabled", true))
                        .and(Filter::lte("created_at", joined_at)),
                )
                .limit(20),
            )
            .await?;
        let mut given = 0;
        for template in templates {
            let key = claim_key(&template.id, user_id, 1);
            if self
                .coupons
                .find_one(Filter::eq("claim_key", key))
                .await?
                .is_some()
            {
                continue;
            }
            match self.give_slot(&template, user_id, 1).await {
                Ok(_) => given += 1,
                Err(MarketingError::SoldOut(_) | MarketingError::LimitReached { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(given)
    }

    async fn give(
        &self,
        template: &CouponTemplate,
        user_id: &str,
    ) -> Result<Coupon, MarketingError> {
        let held = self.held_by(&template.id, user_id).await?;
        if held >= template.per_user_limit {
            return Err(MarketingError::LimitReached {
                limit: template.per_user_limit,
            });
        }
        self.give_slot(template, user_id, held + 1).await
    }

    /// Takes one from the stock (guarded increment), then writes the coupon under the first
    /// free per-user slot from `first_slot`. A crash between the two leaves the stock one short,
    /// never oversold.
    async fn give_slot(
        &self,
        template: &CouponTemplate,
        user_id: &str,
        first_slot: u32,
    ) -> Result<Coupon, MarketingError> {
        let now = self.now();
        if !template.validity.claimable_at(now) {
            return Err(MarketingError::NotFound(format!(
                "claimable coupon template {}",
                template.id
            )));
        }
        let guard = match template.total_stock {
            Some(stock) => Filter::lt("claimed", stock),
            None => Filter::All,
        };
        if self
            .templates
            .update(&template.id, guard, &[Update::inc("claimed", 1)])
            .await?
            .is_none()
        {
            return Err(MarketingError::SoldOut(template.id.clone()));
        }
        let (valid_from, valid_to) = template.validity.window(now);
        for slot in first_slot..=template.per_user_limit {
            let coupon = Coupon::new_from(
                template,
                user_id,
                claim_key(&template.id, user_id, slot),
                (valid_from, valid_to),
                now,
            );
            match self.coupons.insert(&coupon).await {
                Ok(()) => return Ok(coupon),
                Err(StoreError::Duplicate { .. }) => continue,
                Err(other) => {
                    self.give_back_stock(&template.id).await;
                    return Err(other.into());
                }
            }
        }
        self.give_back_stock(&template.id).await;
        Err(MarketingError::LimitReached {
            limit: template.per_user_limit,
        })
    }

    async fn give_back_stock(&self, template_id: &str) {
        if let Err(error) = self
            .templates
            .update(
                template_id,
                Filter::gt("claimed", 0),
                &[Update::inc("claimed", -1)],
            )
            .await
        {
            tracing::warn!(%error, %template_id, "returning a coupon to its stock failed");
        }
    }

    pub async fn list_for_user(
        &self,
        user_id: &str,
        state: Option<CouponState>,
        page: PageRequest,
    ) -> Result<Page<Coupon>, MarketingError> {
        let mut filter = Filter::eq("user_id", user_id);
        if let Some(state) = state {
            filter = filter.and(Filter::eq("state", state));
        }
        Ok(self
            .coupons
            .page(filter, &[("claimed_at", SortOrder::Desc)], page)
            .await?)
    }

    pub async fn list(
        &self,
        query: &CouponQuery,
        page: PageRequest,
    ) -> Result<Page<Coupon>, MarketingError> {
        let mut filter = Filter::All;
        if let Some(template) = &query.template_id {
            filter = filter.and(Filter::eq("template_id", template.as_str()));
        }
        if let Some(user) = &query.user_id {
            filter = filter.and(Filter::eq("user_id", user.as_str()));
        }
        if let Some(state) = query.state {
            filter = filter.and(Filter::eq("state", state));
        }
        Ok(self
            .coupons
            .page(filter, &[("claimed_at", SortOrder::Desc)], page)
            .await?)
    }

    /// The user's coupons that are not spent, each tried against `purchase`, the best saving
    /// first, then the unusable ones.
    pub async fn options(
        &self,
        user_id: &str,
        purchase: &Purchase,
    ) -> Result<Vec<CouponOption>, MarketingError> {
        let now = self.now();
        let coupons = self
            .coupons
            .find(
                &FindQuery::new(Filter::eq("user_id", user_id).and(Filter::is_in(
                    "state",
                    [CouponState::Unused, CouponState::Locked],
                )))
                .sort("claimed_at", SortOrder::Desc)
                .limit(200),
            )
            .await?;
        let mut options: Vec<CouponOption> = coupons
            .into_iter()
            .filter(|c| now < c.valid_to)
            .map(|coupon| CouponOption {
                outcome: coupon.usable_for(purchase, now),
                coupon,
            })
            .collect();
        // Best saving first; ties go to the coupon that expires first.
        options.sort_by(|a, b| match (&a.outcome, &b.outcome) {
            (Ok(x), Ok(y)) => y
                .amount
                .cmp(&x.amount)
                .then(a.coupon.valid_to.cmp(&b.coupon.valid_to)),
            (Ok(_), Err(_)) => std::cmp::Ordering::Less,
            (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
            (Err(_), Err(_)) => a.coupon.valid_to.cmp(&b.coupon.valid_to),
        });
        Ok(options)
    }

    /// Locks the user's coupon for `order_no` and answers its discount and name. The lock is
    /// a guarded update (`unused`, theirs, in its window): two checkouts cannot both hold it.
    pub async fn lock(
        &self,
        coupon_id: &str,
        user_id: &str,
        order_no: &str,
        purchase: &Purchase,
    ) -> Result<(Money, String), MarketingError> {
        let now = self.now();
        let coupon = self
            .coupons
            .get(coupon_id)
            .await?
            .filter(|c| c.user_id == user_id)
            .ok_or_else(|| MarketingError::NotFound(format!("coupon {coupon_id}")))?;
        let discount =
            coupon
                .usable_for(purchase, now)
                .map_err(|unusable| MarketingError::NotUsable {
                    code: unusable.code,
                    message: unusable.message,
                })?;
        let total = purchase.base.checked_sub(discount)?;
        let locked = self
            .coupons
            .update_if(
                coupon_id,
                Filter::eq("state", CouponState::Unused)
                    .and(Filter::eq("user_id", user_id))
                    .and(Filter::gt("valid_to", now)),
                &[
                    Update::set("state", CouponState::Locked),
                    Update::set("order_no", order_no),
                    Update::set("locked_at", now),
                    Update::set("discount", to_value(&discount)?),
                    Update::set("order_total", to_value(&total)?),
                ],
            )
            .await?;
        if locked {
            Ok((discount, coupon.name))
        } else {
            Err(MarketingError::NotUsable {
                code: "in_use".into(),
                message: "the coupon was just used by another order".into(),
            })
        }
    }

    /// Moves the coupon `order_no` holds to where the order's fate puts it. Idempotent: a
    /// coupon no longer held by that order, or already there, is left alone.
    pub async fn settle(
        &self,
        coupon_id: &str,
        order_no: &str,
        settlement: Settlement,
    ) -> Result<(), MarketingError> {
        let now = self.now();
        let held = Filter::eq("order_no", order_no);
        match settlement {
            Settlement::Used => {
                self.coupons
                    .update_if(
                        coupon_id,
                        held.and(Filter::eq("state", CouponState::Locked)),
                        &[
                            Update::set("state", CouponState::Used),
                            Update::set("used_at", now),
                        ],
                    )
                    .await?;
            }
            Settlement::Returned => {
                let Some(coupon) = self.coupons.get(coupon_id).await? else {
                    return Ok(());
                };
                let back = if now >= coupon.valid_to {
                    CouponState::Expired
                } else {
                    CouponState::Unused
                };
                self.coupons
                    .update_if(
                        coupon_id,
                        held.and(Filter::is_in(
                            "state",
                            [CouponState::Locked, CouponState::Used],
                        )),
                        &[
                            Update::set("state", back),
                            Update::unset("order_no"),
                            Update::unset("locked_at"),
                            Update::unset("discount"),
                            Update::unset("order_total"),
                            Update::unset("used_at"),
                        ],
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// Expires unused coupons past their window, releases locks whose order never came to be
    /// (a crash between the lock and the order), and issues the membership bundles that are
    /// due. Answers how many coupons changed or were issued.
    pub async fn sweep(&self, holders: &dyn LockHolders) -> Result<u64, MarketingError> {
        let now = self.now();
        let mut changed = self.issue_due_bundles().await?;
        let stale = self
            .coupons
            .find(
                &FindQuery::new(
                    Filter::eq("state", CouponState::Unused).and(Filter::lte("valid_to", now)),
                )
                .limit(SWEEP_BATCH),
            )
            .await?;
        for coupon in stale {
            if self
                .coupons
                .update(
                    &coupon.id,
                    Filter::eq("state", CouponState::Unused),
                    &[Update::set("state", CouponState::Expired)],
                )
                .await?
                .is_some()
            {
                changed += 1;
            }
        }
        let old_locks = self
            .coupons
            .find(
                &FindQuery::new(
                    Filter::eq("state", CouponState::Locked)
                        .and(Filter::lte("locked_at", now.minus(ORPHAN_LOCK_GRACE))),
                )
                .limit(SWEEP_BATCH),
            )
            .await?;
        for coupon in old_locks {
            let Some(order_no) = coupon.order_no.as_deref() else {
                continue;
            };
            if !holders.exists(order_no).await? {
                tracing::warn!(coupon_id = %coupon.id, %order_no, "releasing a coupon locked for an order that does not exist");
                self.settle(&coupon.id, order_no, Settlement::Returned)
                    .await?;
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// The sweeper's loop: [`Self::sweep`] every `period`, until dropped.
    pub async fn run_sweeper(
        self: Arc<Self>,
        holders: Arc<dyn LockHolders>,
        period: std::time::Duration,
    ) {
        let mut every = tokio::time::interval(period);
        loop {
            every.tick().await;
            match self.sweep(holders.as_ref()).await {
                Ok(0) => {}
                Ok(changed) => tracing::info!(changed, "coupon sweep"),
                Err(error) => tracing::warn!(%error, "coupon sweep failed"),
            }
        }
    }
}

fn claim_key(template_id: &str, user_id: &str, slot: u32) -> String {
    format!("{template_id}:{user_id}:{slot}")
}

/// What the claim keys of one user's coupons of one template begin with (ids have no `:`).
fn claim_key_prefix(template_id: &str, user_id: &str) -> String {
    format!("{template_id}:{user_id}:")
}

fn to_value(money: &Money) -> Result<serde_json::Value, MarketingError> {
    serde_json::to_value(money).map_err(|e| StoreError::InvalidDocument(e.to_string()).into())
}
