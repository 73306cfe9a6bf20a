//! Paid membership cards (`docs/marketing.md#membership-cards`): plans staff define, orders
//! paid through WeChat Pay under their own `biz_type`, the membership they extend, its
//! discount on top-ups, and the monthly coupon bundle.

use async_trait::async_trait;
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use topup_core::{Currency, Money, Page, PageRequest, Timestamp};
use topup_store::{Document, Filter, FindQuery, SortOrder, StoreError, Update};
use utoipa::ToSchema;

use crate::MarketingError;
use crate::model::{Channel, Coupon, CouponState};
use crate::service::MarketingService;

/// A coupon given with a membership, every month while it lasts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BundleItem {
    pub template_id: String,
    /// 1–10 coupons of the template per month.
    pub count: u32,
}

/// A membership card one can buy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MembershipPlan {
    pub id: String,
    pub version: i64,
    pub name: String,
    /// Days it lasts; none for lifetime.
    pub duration_days: Option<u32>,
    pub price: Money,
    /// Whole percent off every top-up (0–50).
    pub discount_percent: u32,
    #[serde(default)]
    pub bundle: Vec<BundleItem>,
    pub enabled: bool,
    /// Smaller first.
    pub sort: i32,
    pub benefits: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Document for MembershipPlan {
    const COLLECTION: &'static str = "membership_plans";
}

/// A plan as staff write it.
#[derive(Debug, Clone)]
pub struct PlanDraft {
    pub name: String,
    pub duration_days: Option<u32>,
    pub price: Money,
    pub discount_percent: u32,
    pub bundle: Vec<BundleItem>,
    pub enabled: bool,
    pub sort: i32,
    pub benefits: String,
}

/// A user's membership: one document per user, extended by each paid order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Membership {
    /// The user id.
    pub id: String,
    pub version: i64,
    pub plan_id: String,
    pub plan_name: String,
    pub discount_percent: u32,
    pub started_at: Timestamp,
    /// None: lifetime.
    pub ends_at: Option<Timestamp>,
    /// When the next monthly bundle is due.
    pub next_bundle_at: Option<Timestamp>,
    /// The orders whose time has been added (each once) and later taken back.
    #[serde(default)]
    pub granted_orders: Vec<String>,
    #[serde(default)]
    pub revoked_orders: Vec<String>,
    pub updated_at: Timestamp,
}

impl Document for Membership {
    const COLLECTION: &'static str = "memberships";
}

impl Membership {
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.ends_at.is_none_or(|end| now < end)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MembershipOrderState {
    AwaitingPayment,
    /// Paid, and its time added to the membership.
    Paid,
    Closed,
    /// Staff asked WeChat for the money back; the time was taken back at once.
    Refunding,
    Refunded,
    /// WeChat could not return the money; staff may ask again.
    RefundFailed,
}

impl MembershipOrderState {
    pub fn as_str(&self) -> &'static str {
        match self {
            MembershipOrderState::AwaitingPayment => "awaiting_payment",
            MembershipOrderState::Paid => "paid",
            MembershipOrderState::Closed => "closed",
            MembershipOrderState::Refunding => "refunding",
            MembershipOrderState::Refunded => "refunded",
            MembershipOrderState::RefundFailed => "refund_failed",
        }
    }
}

impl From<MembershipOrderState> for Value {
    fn from(state: MembershipOrderState) -> Self {
        Value::String(state.as_str().to_owned())
    }
}

/// One purchase of a membership plan; its id is the WeChat `out_trade_no`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MembershipOrder {
    pub id: String,
    pub version: i64,
    pub user_id: String,
    pub openid: String,
    pub plan_id: String,
    pub plan_name: String,
    pub duration_days: Option<u32>,
    pub discount_percent: u32,
    #[serde(default)]
    pub bundle: Vec<BundleItem>,
    pub amount: Money,
    pub state: MembershipOrderState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<Timestamp>,
    /// Whether its time and first bundle were given (after `paid`, before answering the
    /// payment event: a redelivered event finishes the job).
    #[serde(default)]
    pub granted: bool,
    /// The membership's end after this order, as granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted_until: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<MembershipRefund>,
    pub pay_deadline: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Document for MembershipOrder {
    const COLLECTION: &'static str = "membership_orders";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MembershipRefund {
    pub out_refund_no: String,
    pub amount: Money,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    /// Bundle coupons withdrawn (they were unused).
    #[serde(default)]
    pub withdrawn_coupons: u32,
}

/// What marketing needs from WeChat Pay for membership orders.
#[async_trait]
pub trait MembershipPayments: Send + Sync {
    /// Starts the payment; answers the `wx.requestPayment` parameters.
    async fn start(
        &self,
        out_trade_no: &str,
        amount: Money,
        payer_openid: &str,
        description: &str,
        expires_at: Timestamp,
    ) -> Result<Value, MarketingError>;

    /// Asks for the money back (idempotent by `out_refund_no`).
    async fn refund(
        &self,
        out_trade_no: &str,
        out_refund_no: &str,
        amount: Money,
        reason: &str,
        initiator: &str,
    ) -> Result<(), MarketingError>;
}

/// Filters of the staff lists.
#[derive(Debug, Clone, Default)]
pub struct MembershipOrderQuery {
    pub state: Option<MembershipOrderState>,
    pub user_id: Option<String>,
}

/// A bundle month is 30 days.
const BUNDLE_PERIOD: TimeDelta = TimeDelta::days(30);
/// How long a membership order waits for its payment.
const PAY_WINDOW: TimeDelta = TimeDelta::minutes(15);

impl PlanDraft {
    fn validate(&self) -> Result<(), MarketingError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 40 {
            return Err(MarketingError::invalid("name", "1 to 40 characters"));
        }
        if self.duration_days.is_some_and(|d| !(1..=3660).contains(&d)) {
            return Err(MarketingError::invalid(
                "duration_days",
                "1 to 3660, or null for lifetime",
            ));
        }
        if self.price.currency != Currency::CNY || self.price.amount < 1 {
            return Err(MarketingError::invalid("price", "a positive amount in CNY"));
        }
        if self.discount_percent > 50 {
            return Err(MarketingError::invalid("discount_percent", "0 to 50"));
        }
        if self.bundle.len() > 10 || self.bundle.iter().any(|b| !(1..=10).contains(&b.count)) {
            return Err(MarketingError::invalid(
                "bundle",
                "at most 10 items of 1 to 10 coupons each",
            ));
        }
        if self.benefits.chars().count() > 500 {
            return Err(MarketingError::invalid(
                "benefits",
                "at most 500 characters",
            ));
        }
        Ok(())
    }
}

impl MarketingService {
    pub(crate) async fn prepare_membership(&self) -> Result<(), MarketingError> {
        self.membership_orders()
            .ensure_index(topup_store::Index::new(
                "user_created",
                &["user_id", "created_at"],
            ))
            .await?;
        self.membership_orders()
            .ensure_index(topup_store::Index::new(
                "state_created",
                &["state", "created_at"],
            ))
            .await?;
        self.memberships()
            .ensure_index(topup_store::Index::new("bundle_due", &["next_bundle_at"]))
            .await?;
        Ok(())
    }

    fn membership_payments(&self) -> Result<&dyn MembershipPayments, MarketingError> {
        self.payments
            .as_deref()
            .ok_or_else(|| MarketingError::Payment("no payment service for memberships".into()))
    }

    fn plans(&self) -> topup_store::Collection<MembershipPlan> {
        self.store.collection()
    }

    fn memberships(&self) -> topup_store::Collection<Membership> {
        self.store.collection()
    }

    fn membership_orders(&self) -> topup_store::Collection<MembershipOrder> {
        self.store.collection()
    }

    pub async fn create_plan(&self, draft: PlanDraft) -> Result<MembershipPlan, MarketingError> {
        draft.validate()?;
        self.check_bundle(&draft.bundle).await?;
        let now = self.clock.now();
        let plan = MembershipPlan {
            id: ulid::Ulid::new().to_string(),
            version: 0,
            name: draft.name.trim().to_owned(),
            duration_days: draft.duration_days,
            price: draft.price,
            discount_percent: draft.discount_percent,
            bundle: draft.bundle,
            enabled: draft.enabled,
            sort: draft.sort,
            benefits: draft.benefits,
            created_at: now,
            updated_at: now,
        };
        self.plans().insert(&plan).await?;
        Ok(plan)
    }

    async fn check_bundle(&self, bundle: &[BundleItem]) -> Result<(), MarketingError> {
        for item in bundle {
            if self.templates.get(&item.template_id).await?.is_none() {
                return Err(MarketingError::invalid(
                    "bundle",
                    format!("no coupon template {}", item.template_id),
                ));
            }
        }
        Ok(())
    }

    pub async fn update_plan(
        &self,
        id: &str,
        draft: PlanDraft,
    ) -> Result<(MembershipPlan, MembershipPlan), MarketingError> {
        draft.validate()?;
        self.check_bundle(&draft.bundle).await?;
        for _ in 0..10 {
            let before = self.plan(id).await?;
            let after = MembershipPlan {
                name: draft.name.trim().to_owned(),
                duration_days: draft.duration_days,
                price: draft.price,
                discount_percent: draft.discount_percent,
                bundle: draft.bundle.clone(),
                enabled: draft.enabled,
                sort: draft.sort,
                benefits: draft.benefits.clone(),
                updated_at: self.clock.now(),
                ..before.clone()
            };
            match self.plans().replace(&after).await {
                Ok(stored) => return Ok((before, stored)),
                Err(StoreError::Conflict { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(StoreError::Conflict {
            collection: "membership_plans".into(),
            id: id.to_owned(),
        }
        .into())
    }

    pub async fn plan(&self, id: &str) -> Result<MembershipPlan, MarketingError> {
        self.plans()
            .get(id)
            .await?
            .ok_or_else(|| MarketingError::NotFound(format!("membership plan {id}")))
    }

    /// Every plan (staff), or the enabled ones (the app), by `sort`.
    pub async fn list_plans(
        &self,
        enabled_only: bool,
    ) -> Result<Vec<MembershipPlan>, MarketingError> {
        let filter = if enabled_only {
            Filter::eq("enabled", true)
        } else {
            Filter::All
        };
        Ok(self
            .plans()
            .find(
                &FindQuery::new(filter)
                    .sort("sort", SortOrder::Asc)
                    .limit(100),
            )
            .await?)
    }

    /// The user's membership, active or not.
    pub async fn membership(&self, user_id: &str) -> Result<Option<Membership>, MarketingError> {
        Ok(self.memberships().get(user_id).await?)
    }

    /// The discount percent of the user's active membership and its name.
    pub async fn member_discount(
        &self,
        user_id: &str,
    ) -> Result<Option<(u32, String)>, MarketingError> {
        let now = self.clock.now();
        Ok(self
            .membership(user_id)
            .await?
            .filter(|m| m.is_active(now) && m.discount_percent > 0)
            .map(|m| (m.discount_percent, m.plan_name)))
    }

    pub async fn list_members(
        &self,
        active_only: bool,
        page: PageRequest,
    ) -> Result<Page<Membership>, MarketingError> {
        let filter = if active_only {
            Filter::missing("ends_at").or(Filter::gt("ends_at", self.clock.now()))
        } else {
            Filter::All
        };
        Ok(self
            .memberships()
            .page(filter, &[("updated_at", SortOrder::Desc)], page)
            .await?)
    }

    pub async fn list_membership_orders(
        &self,
        query: &MembershipOrderQuery,
        page: PageRequest,
    ) -> Result<Page<MembershipOrder>, MarketingError> {
        let mut filter = Filter::All;
        if let Some(state) = query.state {
            filter = filter.and(Filter::eq("state", state));
        }
        if let Some(user) = &query.user_id {
            filter = filter.and(Filter::eq("user_id", user.as_str()));
        }
        Ok(self
            .membership_orders()
            .page(filter, &[("created_at", SortOrder::Desc)], page)
            .await?)
    }

    /// What membership orders created in `[from, to)` brought in and kept, in fen: paid ones,
    /// and ones whose refund failed (the money is still ours). Served by the `state_created`
    /// index, whatever the number of orders outside the period.
    pub async fn membership_revenue(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<i64, MarketingError> {
        let filter = Filter::is_in(
            "state",
            [
                MembershipOrderState::Paid,
                MembershipOrderState::RefundFailed,
            ],
        )
        .and(Filter::gte("created_at", from))
        .and(Filter::lt("created_at", to));
        let rows = self
            .membership_orders()
            .group(
                &filter,
                topup_store::GroupKey::Field("state".into()),
                &["amount.amount"],
            )
            .await?;
        let mut revenue = Money::cny(0);
        for row in rows {
            revenue = revenue.checked_add(Money::cny(row.sums.first().copied().unwrap_or(0)))?;
        }
        Ok(revenue.amount)
    }

    pub async fn membership_order(&self, id: &str) -> Result<MembershipOrder, MarketingError> {
        self.membership_orders()
            .get(id)
            .await?
            .ok_or_else(|| MarketingError::NotFound(format!("membership order {id}")))
    }

    /// Places a membership order and starts its payment; answers it and the pay parameters.
    /// A payment that cannot be started closes the order (nothing is charged).
    pub async fn buy_membership(
        &self,
        user_id: &str,
        openid: &str,
        plan_id: &str,
    ) -> Result<(MembershipOrder, Value), MarketingError> {
        let payments = self.membership_payments()?;
        let plan = self
            .plan(plan_id)
            .await
            .ok()
            .filter(|p| p.enabled)
            .ok_or_else(|| MarketingError::NotFound(format!("membership plan {plan_id}")))?;
        let now = self.clock.now();
        let order = MembershipOrder {
            id: ulid::Ulid::new().to_string(),
            version: 0,
            user_id: user_id.to_owned(),
            openid: openid.to_owned(),
            plan_id: plan.id.clone(),
            plan_name: plan.name.clone(),
            duration_days: plan.duration_days,
            discount_percent: plan.discount_percent,
            bundle: plan.bundle.clone(),
            amount: plan.price,
            state: MembershipOrderState::AwaitingPayment,
            transaction_id: None,
            paid_at: None,
            granted: false,
            granted_until: None,
            refund: None,
            pay_deadline: now.plus(PAY_WINDOW),
            created_at: now,
            updated_at: now,
        };
        self.membership_orders().insert(&order).await?;
        match payments
            .start(
                &order.id,
                order.amount,
                openid,
                &plan.name,
                order.pay_deadline,
            )
            .await
        {
            Ok(params) => Ok((order, params)),
            Err(error) => {
                self.membership_payment_closed(&order.id).await?;
                Err(error)
            }
        }
    }

    /// Re-reads and re-applies `change` until the compare-and-set write wins.
    async fn update_membership_order<F>(
        &self,
        id: &str,
        mut change: F,
    ) -> Result<MembershipOrder, MarketingError>
    where
        F: FnMut(&mut MembershipOrder) -> Result<(), MarketingError>,
    {
        for _ in 0..20 {
            let mut order = self.membership_order(id).await?;
            let before = order.clone();
            change(&mut order)?;
            if order == before {
                return Ok(order);
            }
            order.updated_at = self.clock.now();
            match self.membership_orders().replace(&order).await {
                Ok(stored) => return Ok(stored),
                Err(StoreError::Conflict { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(StoreError::Conflict {
            collection: "membership_orders".into(),
            id: id.to_owned(),
        }
        .into())
    }

    /// WeChat took the money for a membership order (a verified event; duplicates are
    /// harmless). Marks it paid, then adds its time and first bundle once.
    pub async fn membership_paid(
        &self,
        id: &str,
        transaction_id: &str,
        amount: Money,
        paid_at: Timestamp,
    ) -> Result<(), MarketingError> {
        let order = self
            .update_membership_order(id, |order| {
                if matches!(
                    order.state,
                    MembershipOrderState::AwaitingPayment | MembershipOrderState::Closed
                ) {
                    if amount != order.amount {
                        return Err(MarketingError::invalid(
                            "amount",
                            format!("paid {amount}, the order is {}", order.amount),
                        ));
                    }
                    // Paid after it closed still buys the membership: the user paid for it.
                    order.state = MembershipOrderState::Paid;
                    order.transaction_id = Some(transaction_id.to_owned());
                    order.paid_at = Some(paid_at);
                }
                Ok(())
            })
            .await?;
        if order.state == MembershipOrderState::Paid && !order.granted {
            self.grant(&order).await?;
        }
        Ok(())
    }

    /// Adds the order's time to the user's membership (each order once) and issues its first
    /// bundle, then records that on the order.
    async fn grant(&self, order: &MembershipOrder) -> Result<(), MarketingError> {
        let now = self.clock.now();
        let mut until = None;
        let mut written_once = false;
        for _ in 0..20 {
            let current = self.memberships().get(&order.user_id).await?;
            let (next, insert) = match current {
                Some(m) if m.granted_orders.contains(&order.id) => {
                    until = m.ends_at;
                    written_once = true;
                    break;
                }
                Some(mut m) => {
                    let was_active = m.is_active(now);
                    let from = m.ends_at.map(|end| if end > now { end } else { now });
                    m.ends_at = match (from, order.duration_days) {
                        (Some(from), Some(days)) => {
                            Some(from.plus(TimeDelta::days(i64::from(days))))
                        }
                        _ => None,
                    };
                    if !was_active {
                        m.started_at = now;
                    }
                    m.plan_id = order.plan_id.clone();
                    m.plan_name = order.plan_name.clone();
                    m.discount_percent = order.discount_percent;
                    // A running monthly rhythm continues; a new one starts a month from now.
                    m.next_bundle_at = match m.next_bundle_at {
                        Some(at) if was_active => Some(at),
                        _ => (!order.bundle.is_empty()).then(|| now.plus(BUNDLE_PERIOD)),
                    };
                    m.granted_orders.push(order.id.clone());
                    m.updated_at = now;
                    (m, false)
                }
                None => (
                    Membership {
                        id: order.user_id.clone(),
                        version: 0,
                        plan_id: order.plan_id.clone(),
                        plan_name: order.plan_name.clone(),
                        discount_percent: order.discount_percent,
                        started_at: now,
                        ends_at: order
                            .duration_days
                            .map(|days| now.plus(TimeDelta::days(i64::from(days)))),
                        next_bundle_at: (!order.bundle.is_empty()).then(|| now.plus(BUNDLE_PERIOD)),
                        granted_orders: vec![order.id.clone()],
                        revoked_orders: Vec::new(),
                        updated_at: now,
                    },
                    true,
                ),
            };
            let written = if insert {
                self.memberships()
                    .insert(&next)
                    .await
                    .map(|()| next.clone())
            } else {
                self.memberships().replace(&next).await
            };
            match written {
                Ok(stored) => {
                    until = stored.ends_at;
                    written_once = true;
                    break;
                }
                Err(StoreError::Conflict { .. } | StoreError::Duplicate { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        if !written_once {
            // The payment event is delivered again, and this runs again.
            return Err(StoreError::Conflict {
                collection: "memberships".into(),
                id: order.user_id.clone(),
            }
            .into());
        }
        self.issue_bundle(&order.user_id, &order.bundle, &format!("o{}", order.id))
            .await?;
        if let Some(notices) = &self.notices {
            // Before `granted` is recorded: a crash here tells the buyer again on the retry,
            // which notifications ignore by the notice's key.
            notices.membership_activated(order, until).await?;
        }
        self.update_membership_order(&order.id, |o| {
            o.granted = true;
            o.granted_until = until;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// Gives the bundle's coupons, each once per `batch` (its claim key names the batch).
    /// Bundles are paid for: no stock or per-user limit applies.
    async fn issue_bundle(
        &self,
        user_id: &str,
        bundle: &[BundleItem],
        batch: &str,
    ) -> Result<u32, MarketingError> {
        let now = self.clock.now();
        let mut given = 0;
        for item in bundle {
            let Some(template) = self.templates.get(&item.template_id).await? else {
                tracing::warn!(template_id = %item.template_id, "a membership bundle names a template that is gone");
                continue;
            };
            let (valid_from, valid_to) = template.validity.window(now);
            let mut inserted = 0;
            for n in 1..=item.count {
                // Bundles are paid benefits: they show as given by staff.
                let mut coupon = Coupon::new_from(
                    &template,
                    user_id,
                    format!("{}:{user_id}:bundle:{batch}:{n}", template.id),
                    (valid_from, valid_to),
                    now,
                );
                coupon.channel = Channel::Staff;
                match self.coupons.insert(&coupon).await {
                    Ok(()) => inserted += 1,
                    Err(StoreError::Duplicate { .. }) => {}
                    Err(other) => return Err(other.into()),
                }
            }
            if inserted > 0 {
                // For the template's statistics; one write for the whole item.
                self.templates
                    .update(
                        &template.id,
                        Filter::All,
                        &[Update::inc("claimed", i64::from(inserted))],
                    )
                    .await?;
            }
            given += inserted;
        }
        Ok(given)
    }

    /// Issues the monthly bundles that are due (the sweeper calls it).
    pub(crate) async fn issue_due_bundles(&self) -> Result<u64, MarketingError> {
        let now = self.clock.now();
        let due = self
            .memberships()
            .find(&FindQuery::new(Filter::lte("next_bundle_at", now)).limit(200))
            .await?;
        let mut issued = 0;
        for membership in due {
            let Some(at) = membership.next_bundle_at else {
                continue;
            };
            if !membership.is_active(now) {
                self.memberships()
                    .update(
                        &membership.id,
                        Filter::eq("next_bundle_at", at),
                        &[Update::unset("next_bundle_at")],
                    )
                    .await?;
                continue;
            }
            let plan = self.plans().get(&membership.plan_id).await?;
            let bundle = plan.map(|p| p.bundle).unwrap_or_default();
            let batch = format!("m{}", at.unix_seconds());
            issued += u64::from(self.issue_bundle(&membership.id, &bundle, &batch).await?);
            self.memberships()
                .update(
                    &membership.id,
                    Filter::eq("next_bundle_at", at),
                    &[Update::set("next_bundle_at", at.plus(BUNDLE_PERIOD))],
                )
                .await?;
        }
        Ok(issued)
    }

    /// Staff refund a paid membership order in full: its time is taken back at once (the
    /// membership ends now if nothing is left), its unused bundle coupons are withdrawn, and
    /// WeChat is asked for the money.
    pub async fn refund_membership(
        &self,
        id: &str,
        reason: &str,
        staff_id: &str,
    ) -> Result<MembershipOrder, MarketingError> {
        let payments = self.membership_payments()?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 80 {
            return Err(MarketingError::invalid("reason", "1 to 80 characters"));
        }
        let now = self.clock.now();
        let order = self
            .update_membership_order(id, |order| {
                let previous = order.refund.clone();
                match order.state {
                    MembershipOrderState::Paid | MembershipOrderState::RefundFailed => {}
                    // Asked before, and the request may not have reached WeChat (a crash or
                    // an error in between): ask again under the same refund number.
                    MembershipOrderState::Refunding
                        if previous.as_ref().is_some_and(|r| r.finished_at.is_none()) =>
                    {
                        return Ok(());
                    }
                    other => {
                        return Err(MarketingError::InvalidState(format!(
                            "the order is {}; only paid orders are refunded",
                            other.as_str()
                        )));
                    }
                }
                // A refund WeChat could not make is asked for again under a new number.
                let number = previous
                    .as_ref()
                    .and_then(|r| r.out_refund_no.rsplit('R').next())
                    .and_then(|n| n.parse::<u32>().ok())
                    .map_or(1, |n| n + 1);
                order.state = MembershipOrderState::Refunding;
                order.refund = Some(MembershipRefund {
                    out_refund_no: format!("{}R{number}", order.id),
                    amount: order.amount,
                    reason: reason.to_owned(),
                    requested_by: format!("staff:{staff_id}"),
                    requested_at: now,
                    finished_at: None,
                    withdrawn_coupons: previous.map_or(0, |r| r.withdrawn_coupons),
                });
                Ok(())
            })
            .await?;
        let withdrawn = self.take_back(&order).await?;
        let order = self
            .update_membership_order(id, |o| {
                if let Some(refund) = &mut o.refund {
                    refund.withdrawn_coupons += withdrawn;
                }
                Ok(())
            })
            .await?;
        if let Some(refund) = &order.refund {
            payments
                .refund(
                    &order.id,
                    &refund.out_refund_no,
                    refund.amount,
                    reason,
                    &format!("staff:{staff_id}"),
                )
                .await?;
        }
        Ok(order)
    }

    /// Takes an order's time off the membership (once) and withdraws its unused bundle
    /// coupons; answers how many coupons were withdrawn.
    async fn take_back(&self, order: &MembershipOrder) -> Result<u32, MarketingError> {
        let now = self.clock.now();
        for _ in 0..20 {
            let Some(mut m) = self.memberships().get(&order.user_id).await? else {
                break;
            };
            if m.revoked_orders.contains(&order.id) || !m.granted_orders.contains(&order.id) {
                break;
            }
            m.ends_at = match (m.ends_at, order.duration_days) {
                (Some(end), Some(days)) => {
                    let shortened = end.minus(TimeDelta::days(i64::from(days)));
                    Some(if shortened > now { shortened } else { now })
                }
                // A lifetime order refunded ends the membership now.
                (None, None) | (Some(_), None) => Some(now),
                (None, Some(_)) => None,
            };
            m.revoked_orders.push(order.id.clone());
            m.updated_at = now;
            match self.memberships().replace(&m).await {
                Ok(_) => break,
                Err(StoreError::Conflict { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        let batch = format!(":bundle:o{}:", order.id);
        let unused = self
            .coupons
            .find(
                &FindQuery::new(
                    Filter::eq("user_id", order.user_id.as_str())
                        .and(Filter::eq("state", CouponState::Unused))
                        .and(Filter::contains("claim_key", batch.as_str())),
                )
                .limit(500),
            )
            .await?;
        let mut withdrawn = 0;
        for coupon in unused {
            if self
                .coupons
                .update(
                    &coupon.id,
                    Filter::eq("state", CouponState::Unused),
                    &[Update::set("state", CouponState::Withdrawn)],
                )
                .await?
                .is_some()
            {
                withdrawn += 1;
            }
        }
        Ok(withdrawn)
    }

    /// The payment of a membership order will not be paid.
    pub async fn membership_payment_closed(&self, id: &str) -> Result<(), MarketingError> {
        self.update_membership_order(id, |order| {
            if order.state == MembershipOrderState::AwaitingPayment {
                order.state = MembershipOrderState::Closed;
            }
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// A membership refund settled at WeChat.
    pub async fn membership_refund_settled(
        &self,
        id: &str,
        out_refund_no: &str,
        succeeded: bool,
    ) -> Result<(), MarketingError> {
        let now = self.clock.now();
        self.update_membership_order(id, |order| {
            let ours = order
                .refund
                .as_ref()
                .is_some_and(|r| r.out_refund_no == out_refund_no);
            if ours && order.state == MembershipOrderState::Refunding {
                order.state = if succeeded {
                    MembershipOrderState::Refunded
                } else {
                    MembershipOrderState::RefundFailed
                };
                if let Some(refund) = &mut order.refund {
                    refund.finished_at = Some(now);
                }
            }
            Ok(())
        })
        .await
        .map(|_| ())
    }
}

/// Notifications (the notify module): told once a paid membership is granted.
#[async_trait::async_trait]
pub trait MembershipNotices: Send + Sync {
    /// `until` is the membership's new end (`None`: lifetime).
    async fn membership_activated(
        &self,
        order: &MembershipOrder,
        until: Option<Timestamp>,
    ) -> Result<(), MarketingError>;
}
