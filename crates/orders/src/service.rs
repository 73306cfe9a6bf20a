//! The order's public face: checkout, the events that move it (payment, refund), what users
//! and staff may do with it, and the queries that list it.

use std::sync::Arc;

use chrono::TimeDelta;
use serde_json::Value;
use topup_core::crash::{self, crash_point};
use topup_core::limiter::AddressLimiter;
use topup_core::{CountryCode, Money, Msisdn, Page, PageRequest, SharedClock, Timestamp};
use topup_recharge::{ProviderId, ProviderRouter, TopupOutcome, TransactionLookup};
use topup_store::{Collection, Filter, FindQuery, Index, SortOrder, Store, StoreError};

use crate::engine::mark_paid;
use crate::ports::{
    BlockKind, Blocklist, CloseOutcome, Coupons, Members, PaymentPort, PaymentStart, PlanCatalog,
    RechargeTerms,
};
use crate::pricing::{discount_line, member_discount, total_of};
use crate::{
    AppliedCoupon, CheckoutKey, CheckoutRules, CouponFate, DueSignal, Order, OrderFigures,
    OrderState, OrdersConfig, OrdersError, PaymentInfo, PlanSnapshot, PriceLine, RechargeInfo,
    RechargeLogEntry, RefundState, TimelineCode,
};

/// A checkout as the user asked for it.
#[derive(Debug, Clone)]
pub struct CheckoutRequest {
    pub user_id: String,
    pub openid: String,
    pub plan_id: String,
    pub phone: String,
    pub country: Option<CountryCode>,
    pub client_ip: Option<String>,
    /// `Idempotency-Key` header and a hash of the body it came with.
    pub idempotency: Option<CheckoutKey>,
    /// One of the user's coupons to apply.
    pub coupon_id: Option<String>,
}

/// The created order and how the mini-program pays for it.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub order: Order,
    pub pay_params: Option<Value>,
    /// An earlier checkout answered again (its `Idempotency-Key` came back).
    pub replayed: bool,
}

/// Filters of the admin order list.
#[derive(Debug, Clone, Default)]
pub struct OrderQuery {
    pub state: Option<OrderState>,
    pub kind: Option<String>,
    pub country: Option<CountryCode>,
    pub operator_id: Option<String>,
    pub phone: Option<String>,
    pub user_id: Option<String>,
    pub created_from: Option<Timestamp>,
    pub created_to: Option<Timestamp>,
    pub min_total: Option<i64>,
    pub max_total: Option<i64>,
    pub held: Option<bool>,
    /// Held longer than `orders.hold_alert_minutes` (the alert was raised).
    pub hold_alerted: Option<bool>,
}

impl OrderQuery {
    pub fn filter(&self) -> Filter {
        let mut filter = Filter::All;
        if let Some(state) = self.state {
            filter = filter.and(Filter::eq("state", state));
        }
        if let Some(kind) = &self.kind {
            filter = filter.and(Filter::eq("plan.kind", kind.as_str()));
        }
        if let Some(country) = self.country {
            filter = filter.and(Filter::eq("country", country));
        }
        if let Some(operator) = &self.operator_id {
            filter = filter.and(Filter::eq("plan.operator_id", operator.as_str()));
        }
        if let Some(phone) = &self.phone {
            // Numbers are stored as `+` and digits: one that starts with `+` is a prefix,
            // answered by the phone index; any other part is searched for in every order's
            // number.
            let phone = phone.trim();
            filter = filter.and(if phone.starts_with('+') {
                Filter::starts_with("phone", phone)
            } else {
                Filter::contains("phone", phone)
            });
        }
        if let Some(user) = &self.user_id {
            filter = filter.and(Filter::eq("user_id", user.as_str()));
        }
        if let Some(from) = self.created_from {
            filter = filter.and(Filter::gte("created_at", from));
        }
        if let Some(to) = self.created_to {
            filter = filter.and(Filter::lt("created_at", to));
        }
        if let Some(min) = self.min_total {
            filter = filter.and(Filter::gte("total.amount", min));
        }
        if let Some(max) = self.max_total {
            filter = filter.and(Filter::lte("total.amount", max));
        }
        match self.held {
            // Every hold has `since`: this form is served by the held index.
            Some(true) => filter = filter.and(Filter::exists("hold.since")),
            Some(false) => filter = filter.and(Filter::missing("hold")),
            None => {}
        }
        match self.hold_alerted {
            Some(true) => filter = filter.and(Filter::exists("hold.alerted_at")),
            Some(false) => filter = filter.and(Filter::missing("hold.alerted_at")),
            None => {}
        }
        filter
    }
}

/// A payment that arrived for a closed order (the user paid a prepay handed out while the
/// order was being closed) is returned in full, once: the order records the payment and moves
/// to `refunding`, so a repeated notification finds it no longer closed.
fn refund_paid_after_close(
    order: &mut Order,
    transaction_id: &str,
    amount: Money,
    paid_at: Timestamp,
    now: Timestamp,
) -> Result<(), OrdersError> {
    tracing::error!(order_no = %order.id, %amount, "payment arrived for a closed order; refunding it");
    order.transition_to(OrderState::Refunding)?;
    order.payment.transaction_id = Some(transaction_id.to_owned());
    order.payment.paid_at = Some(paid_at);
    order.note(
        now,
        "wechat",
        TimelineCode::PaidAfterClose,
        Some(transaction_id.to_owned()),
    );
    order.add_refund(amount, "paid after the order closed", "system", now);
    order.note(now, "system", TimelineCode::AutomaticRefundRequested, None);
    order.next_action_at = Some(now);
    Ok(())
}

/// Filters of the recharge log.
#[derive(Debug, Clone, Default)]
pub struct RechargeLogQuery {
    pub order_no: Option<String>,
    pub provider_id: Option<String>,
    /// `succeeded`, `pending`, `failed_retryable`, `failed_final`, `precondition`, `ambiguous`.
    pub outcome: Option<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

pub struct OrdersService {
    orders: Collection<Order>,
    log: Collection<RechargeLogEntry>,
    clock: SharedClock,
    catalog: Arc<dyn PlanCatalog>,
    blocklist: Arc<dyn Blocklist>,
    payments: Arc<dyn PaymentPort>,
    /// `orders.checkout_rate_per_minute`, per user.
    checkout_limiter: AddressLimiter,
    config: OrdersConfig,
    /// The checkout rules staff can change while serving (settings, `docs/settings.md`);
    /// they start as the configuration's.
    rules: std::sync::RwLock<CheckoutRules>,
    /// Asked before a held order is refunded: was anything delivered under its keys?
    providers: Option<Arc<ProviderRouter>>,
    /// Raised when a change makes an order due now, for this process's worker.
    due: DueSignal,
    /// Locks the coupon a checkout applies; without it checkouts with a coupon are refused.
    coupons: Option<Arc<dyn Coupons>>,
    /// The buyer's membership discount; without it nobody has one.
    members: Option<Arc<dyn Members>>,
    /// The recharge terms a new order needs accepted; without them none are asked for.
    terms: Option<Arc<dyn RechargeTerms>>,
}

/// A plan priced for one buyer before any coupon: the base line and, for members, the
/// membership line.
#[derive(Debug, Clone)]
pub struct Priced {
    pub plan: PlanSnapshot,
    pub lines: Vec<PriceLine>,
    /// What the lines add up to: what a coupon applies to.
    pub subtotal: Money,
}

/// Who asks for a held order's money back.
#[derive(Debug, Clone, Copy)]
pub enum HeldRefundBy<'a> {
    Staff(&'a str),
    User(&'a str),
}

impl HeldRefundBy<'_> {
    fn actor(&self) -> String {
        match self {
            HeldRefundBy::Staff(id) => format!("staff:{id}"),
            HeldRefundBy::User(id) => format!("user:{id}"),
        }
    }
}

impl OrdersService {
    pub fn new(
        store: &Store,
        clock: SharedClock,
        catalog: Arc<dyn PlanCatalog>,
        blocklist: Arc<dyn Blocklist>,
        payments: Arc<dyn PaymentPort>,
        config: OrdersConfig,
    ) -> Self {
        OrdersService {
            orders: store.collection(),
            log: store.collection(),
            checkout_limiter: AddressLimiter::new(
                config.checkout_rate_per_minute,
                config.checkout_rate_per_minute,
                clock.clone(),
            ),
            clock,
            catalog,
            blocklist,
            payments,
            rules: std::sync::RwLock::new(CheckoutRules::from(&config)),
            config,
            providers: None,
            due: DueSignal::default(),
            coupons: None,
            members: None,
            terms: None,
        }
    }

    /// Where a buyer's membership discount comes from.
    pub fn with_members(mut self, members: Arc<dyn Members>) -> Self {
        self.members = Some(members);
        self
    }

    /// The recharge terms a buyer must have accepted before a new order is placed.
    pub fn with_terms(mut self, terms: Arc<dyn RechargeTerms>) -> Self {
        self.terms = Some(terms);
        self
    }

    /// Where checkout locks the coupon it applies.
    pub fn with_coupons(mut self, coupons: Arc<dyn Coupons>) -> Self {
        self.coupons = Some(coupons);
        self
    }

    /// Raised whenever a change here makes an order due now: hand it to
    /// [`crate::OrderEngine::woken_by`] so paid orders are dispatched without waiting for the
    /// worker's next look.
    pub fn due_signal(&self) -> DueSignal {
        self.due.clone()
    }

    /// The providers a held order's keys are looked up at before it is refunded; without
    /// them held orders cannot be refunded (nothing could confirm nothing was delivered).
    pub fn with_providers(mut self, router: Arc<ProviderRouter>) -> Self {
        self.providers = Some(router);
        self
    }

    pub fn config(&self) -> &OrdersConfig {
        &self.config
    }

    /// The checkout rules in force.
    pub fn checkout_rules(&self) -> CheckoutRules {
        *self
            .rules
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Changes the checkout rules from the next checkout on (orders already placed keep
    /// their payment deadline).
    pub fn set_checkout_rules(&self, rules: CheckoutRules) {
        *self
            .rules
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = rules;
    }

    /// Creates the indexes the workers and lists rely on (idempotent).
    pub async fn prepare(&self) -> Result<(), OrdersError> {
        for index in [
            Index::new("due", &["next_action_at"]),
            Index::new("user_created", &["user_id", "created_at"]),
            Index::new("state_created", &["state", "created_at"]),
            Index::new("phone_created", &["phone", "created_at"]),
            Index::new("created", &["created_at"]),
            // Global search: the ids WeChat and the provider gave the order.
            Index::new("wechat_transaction", &["payment.transaction_id"]),
            Index::new(
                "provider_transaction",
                &["recharge.provider_transaction_id"],
            ),
            // The dashboard counts held orders without scanning the rest.
            Index::new("held", &["hold.since"]),
            Index::unique("checkout_key", &["user_id", "checkout_key.key"]),
            // Present only while open; absent values are not constrained.
            Index::unique("open_slot", &["open_slot"]),
        ] {
            self.orders.ensure_index(index).await?;
        }
        for index in [
            Index::new("at", &["at"]),
            Index::new("order_at", &["order_no", "at"]),
        ] {
            self.log.ensure_index(index).await?;
        }
        Ok(())
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Validates, prices and creates the order, then starts its payment. A payment that
    /// cannot be started closes the order: nothing is charged.
    #[tracing::instrument(skip_all, fields(plan_id = %request.plan_id))]
    pub async fn checkout(&self, request: CheckoutRequest) -> Result<Checkout, OrdersError> {
        if let Some(key) = &request.idempotency
            && let Some(existing) = self
                .find_by_checkout_key(&request.user_id, &key.key)
                .await?
        {
            return self.replay(existing, key).await;
        }
        // After the replay: an order placed before new terms were published is answered
        // again as it was; only new orders wait for the acceptance.
        if let Some(terms) = &self.terms
            && let Some((version, title)) = terms.awaiting(&request.user_id).await?
        {
            return Err(OrdersError::TermsNotAccepted { version, title });
        }
        let priced = self.price(&request.user_id, &request.plan_id).await?;
        let snapshot = priced.plan.clone();
        let phone = Self::number_for(&snapshot, &request.phone, request.country)?;
        // Counted from here: what follows costs a provider lookup and a WeChat prepay.
        self.checkout_limiter
            .check(&request.user_id)
            .map_err(|retry_after_seconds| OrdersError::RateLimited {
                retry_after_seconds,
            })?;
        if let Some(detected) = self.catalog.detect_operators(&phone).await
            && !detected.contains(&snapshot.operator_id)
        {
            return Err(OrdersError::OperatorMismatch {
                detected: detected.join(", "),
                plan: snapshot.operator_id.clone(),
            });
        }
        self.check_blocklist(&request, &phone).await?;
        if let Err(error) = self.check_limits(&request.user_id, &phone).await {
            // A concurrent request with the same key may have placed the order just now:
            // that is a replay, not a limit.
            if let Some(key) = &request.idempotency
                && let Some(existing) = self
                    .find_by_checkout_key(&request.user_id, &key.key)
                    .await?
            {
                return self.replay(existing, key).await;
            }
            return Err(error);
        }

        let now = self.now();
        let order_no = ulid::Ulid::new().to_string();
        let mut price_lines = priced.lines;
        let mut coupon = None;
        if let Some(coupon_id) = &request.coupon_id {
            let coupons = self
                .coupons
                .as_ref()
                .ok_or_else(|| OrdersError::CouponNotUsable {
                    code: "unavailable".into(),
                    message: "coupons are not offered".into(),
                })?;
            // Locked before the order exists: a crash in between leaves a lock without its
            // order, which marketing's sweeper releases (`docs/marketing.md`).
            let locked = coupons
                .lock(
                    coupon_id,
                    &request.user_id,
                    &order_no,
                    &snapshot,
                    priced.subtotal,
                )
                .await;
            let discount = match locked {
                Ok(discount) => discount,
                Err(error) => {
                    // The same checkout sent twice at once: the first holds the coupon, and
                    // this one is its replay.
                    if let Some(key) = &request.idempotency
                        && let Some(existing) = self
                            .find_by_checkout_key(&request.user_id, &key.key)
                            .await?
                    {
                        return self.replay(existing, key).await;
                    }
                    return Err(error);
                }
            };
            price_lines.push(discount_line("coupon", discount.label, discount.amount)?);
            coupon = Some(AppliedCoupon {
                coupon_id: coupon_id.clone(),
                discount: discount.amount,
                fate: CouponFate::Locked,
                settled: true,
            });
        }
        let total = total_of(&price_lines)?;
        let mut order = Order {
            id: order_no.clone(),
            version: 0,
            user_id: request.user_id.clone(),
            openid: request.openid.clone(),
            phone: phone.e164().to_owned(),
            country: phone.country(),
            plan: snapshot,
            price_lines,
            total,
            state: OrderState::AwaitingPayment,
            payment: PaymentInfo {
                out_trade_no: order_no.clone(),
                transaction_id: None,
                paid_at: None,
            },
            recharge: RechargeInfo::default(),
            refunds: Vec::new(),
            timeline: Vec::new(),
            hold: None,
            coupon,
            next_action_at: None,
            lease: None,
            checkout_key: request.idempotency.clone(),
            open_slot: Some(Order::slot_of(&request.user_id, phone.e164())),
            notices_given: Vec::new(),
            cancel_requested_at: None,
            pay_deadline: now.plus(TimeDelta::minutes(
                self.checkout_rules().pay_timeout_minutes,
            )),
            created_at: now,
            updated_at: now,
            client_ip: request.client_ip.clone(),
            figures: OrderFigures::default(),
        };
        order.figures = OrderFigures::of(&order);
        order.note(
            now,
            format!("user:{}", request.user_id),
            TimelineCode::OrderPlaced,
            None,
        );
        order.next_action_at = Some(order.pay_deadline);
        let inserted = self.orders.insert(&order).await;
        if inserted.is_err()
            && let (Some(applied), Some(coupons)) = (&order.coupon, &self.coupons)
            && let Err(error) = coupons
                .settle(&applied.coupon_id, &order_no, CouponFate::Returned)
                .await
        {
            tracing::warn!(%error, %order_no, "returning the coupon of an order not placed failed; the sweeper releases it");
        }
        match inserted {
            Ok(()) => {}
            Err(StoreError::Duplicate { .. }) => {
                // A concurrent request won: with the same key it is this checkout (replay);
                // otherwise it holds the user's slot for this number.
                if let Some(checkout_key) = &request.idempotency
                    && let Some(existing) = self
                        .find_by_checkout_key(&request.user_id, &checkout_key.key)
                        .await?
                {
                    return self.replay(existing, checkout_key).await;
                }
                return Err(OrdersError::LimitReached(
                    "an order for this number is still unpaid or recharging".into(),
                ));
            }
            Err(other) => return Err(other.into()),
        }
        let start = PaymentStart {
            out_trade_no: order_no.clone(),
            amount: order.total,
            payer_openid: order.openid.clone(),
            description: format!("{} {}", order.plan.title, phone.masked()),
            expires_at: order.pay_deadline,
        };
        let started = self.payments.start(start).await;
        crash_point(crash::CHECKOUT_PAYMENT_STARTED);
        match started {
            Ok(pay_params) => {
                // A cancel may have closed the order while its payment was being placed (it
                // found no payment to close): then the prepay is never handed out, and the
                // payment now placed is closed at WeChat.
                let current = self.get(&order_no).await?;
                if !current.is_payable() {
                    if let Err(error) = self.payments.close_unpaid(&order_no).await {
                        tracing::warn!(%error, %order_no, "closing the payment of an order cancelled during checkout failed; the deadline pass retries");
                    }
                    return Err(OrdersError::InvalidState {
                        state: current.state.as_str().into(),
                        action: "paying (it was cancelled during checkout)".into(),
                    });
                }
                Ok(Checkout {
                    order,
                    pay_params: Some(pay_params),
                    replayed: false,
                })
            }
            Err(error) => {
                if let Ok(current) = self.get(&order_no).await
                    && current.state != OrderState::AwaitingPayment
                    && current.cancel_requested_at.is_some()
                {
                    // Cancelled meanwhile: that, not the payment service, is why. (A payment
                    // that failed to start closes its order too, through its events; that
                    // order was not cancelled, and its buyer hears why it failed.)
                    return Err(OrdersError::InvalidState {
                        state: current.state.as_str().into(),
                        action: "paying (it was cancelled during checkout)".into(),
                    });
                }
                let reason = error.to_string();
                self.update_with(&order_no, |order, now| {
                    if order.state == OrderState::AwaitingPayment {
                        order.transition_to(OrderState::Closed)?;
                        order.next_action_at = None;
                        order.note(
                            now,
                            "system",
                            TimelineCode::ClosedPaymentNotStarted,
                            Some(reason.clone()),
                        );
                    }
                    Ok(())
                })
                .await?;
                Err(OrdersError::PaymentFailed(reason))
            }
        }
    }

    /// The plan priced for `user_id`: base, then their membership discount.
    pub async fn price(&self, user_id: &str, plan_id: &str) -> Result<Priced, OrdersError> {
        let (plan, retail) = self.priced_plan(plan_id).await?;
        let mut lines = vec![PriceLine {
            kind: "base".into(),
            label: plan.title.clone(),
            amount: retail,
        }];
        if let Some(members) = &self.members
            && let Some(member) = members.discount(user_id).await?
        {
            let off = member_discount(retail, member.percent)?;
            if off.is_positive() {
                lines.push(discount_line("membership", member.label, off)?);
            }
        }
        let subtotal = total_of(&lines)?;
        Ok(Priced {
            plan,
            lines,
            subtotal,
        })
    }

    /// The plan for sale and its retail price (CNY fen).
    async fn priced_plan(&self, plan_id: &str) -> Result<(PlanSnapshot, Money), OrdersError> {
        let plan = self
            .catalog
            .checkout_plan(plan_id)
            .await?
            .filter(|p| p.enabled)
            .ok_or_else(|| OrdersError::PlanUnavailable(plan_id.to_owned()))?;
        let retail = plan
            .retail
            .filter(Money::is_positive)
            .ok_or_else(|| OrdersError::PlanUnavailable(plan_id.to_owned()))?;
        Ok((plan.snapshot, retail))
    }

    /// The number to recharge, which must be in the plan's country.
    pub fn number_for(
        plan: &PlanSnapshot,
        phone: &str,
        country: Option<CountryCode>,
    ) -> Result<Msisdn, OrdersError> {
        let phone = Msisdn::parse(phone, country.or(Some(plan.country)))
            .map_err(|e| OrdersError::InvalidPhone(e.to_string()))?;
        if phone.country() != plan.country {
            return Err(OrdersError::CountryMismatch {
                number_country: phone.country().to_string(),
                plan_country: plan.country.to_string(),
            });
        }
        Ok(phone)
    }

    /// The answer to a checkout sent again with its key: the same order, and while it is
    /// unpaid what pays it (the client may have lost the first answer).
    async fn replay(&self, existing: Order, key: &CheckoutKey) -> Result<Checkout, OrdersError> {
        let same_body = existing
            .checkout_key
            .as_ref()
            .is_some_and(|k| k.body_hash == key.body_hash);
        if !same_body {
            return Err(OrdersError::IdempotencyMismatch);
        }
        let pay_params = if existing.is_payable() {
            match self.payments.resume(&existing.payment.out_trade_no).await {
                Ok(params) => Some(params),
                Err(error) => {
                    tracing::debug!(%error, "replayed checkout answered without pay params");
                    None
                }
            }
        } else {
            None
        };
        Ok(Checkout {
            order: existing,
            pay_params,
            replayed: true,
        })
    }

    /// What pays the user's unpaid order again (they closed WeChat's payment sheet, or lost
    /// the checkout's answer). Nothing new is placed at WeChat while its prepay_id is valid.
    pub async fn pay(&self, user_id: &str, order_no: &str) -> Result<Checkout, OrdersError> {
        let order = self.get_for_user(user_id, order_no).await?;
        if !order.is_payable() {
            return Err(OrdersError::InvalidState {
                state: order.state.as_str().into(),
                action: if order.state == OrderState::AwaitingPayment {
                    "pay (it is being cancelled)".into()
                } else {
                    "pay".into()
                },
            });
        }
        let pay_params = match self.payments.resume(&order.payment.out_trade_no).await {
            Ok(params) => params,
            Err(error) => {
                let current = self.get(order_no).await?;
                if current.state != OrderState::AwaitingPayment {
                    // A cancel (or the payment) won the race: a conflict, not an outage.
                    return Err(OrdersError::InvalidState {
                        state: current.state.as_str().into(),
                        action: "pay".into(),
                    });
                }
                return Err(error);
            }
        };
        Ok(Checkout {
            order,
            pay_params: Some(pay_params),
            replayed: false,
        })
    }

    async fn find_by_checkout_key(
        &self,
        user_id: &str,
        key: &str,
    ) -> Result<Option<Order>, OrdersError> {
        Ok(self
            .orders
            .find_one(Filter::eq("user_id", user_id).and(Filter::eq("checkout_key.key", key)))
            .await?)
    }

    async fn check_blocklist(
        &self,
        request: &CheckoutRequest,
        phone: &Msisdn,
    ) -> Result<(), OrdersError> {
        let blocked = self
            .blocklist
            .blocked(phone, &request.openid, request.client_ip.as_deref())
            .await?;
        // The number first: it is what the user can change.
        if blocked.contains(&BlockKind::Phone) {
            Err(OrdersError::Blocked(
                "this number cannot be recharged".into(),
            ))
        } else if blocked.contains(&BlockKind::Openid) {
            Err(OrdersError::UserBlocked(
                "this account cannot place orders".into(),
            ))
        } else if blocked.contains(&BlockKind::Ip) {
            Err(OrdersError::UserBlocked(
                "orders from this address are refused".into(),
            ))
        } else {
            Ok(())
        }
    }

    /// The anti-abuse limits (`docs/security.md#checkout-limits`): a user has one open order
    /// per number (the `open_slot` unique index guarantees it; this check answers first) and at
    /// most `max_unpaid_orders_per_user` unpaid ones; a number takes at most
    /// `max_orders_per_number_per_day` paid orders a day. Unpaid orders bind only their own
    /// user, so nobody can block a number for everyone else.
    async fn check_limits(&self, user_id: &str, phone: &Msisdn) -> Result<(), OrdersError> {
        let slot = Order::slot_of(user_id, phone.e164());
        if self
            .orders
            .find_one(Filter::eq("open_slot", slot.as_str()))
            .await?
            .is_some()
        {
            return Err(OrdersError::LimitReached(
                "your order for this number is still unpaid or recharging".into(),
            ));
        }
        let rules = self.checkout_rules();
        let unpaid_limit = rules.max_unpaid_orders_per_user;
        if unpaid_limit > 0 {
            // Among the user's open orders only, found by their slots' common prefix: asked
            // by user and state, the store went through every order the user ever placed.
            let open = self
                .orders
                .find(&FindQuery::new(Filter::starts_with(
                    "open_slot",
                    &Order::slot_prefix_of(user_id),
                )))
                .await?;
            let unpaid = open
                .iter()
                .filter(|order| order.state == OrderState::AwaitingPayment)
                .count();
            if unpaid >= unpaid_limit as usize {
                return Err(OrdersError::LimitReached(format!(
                    "at most {unpaid_limit} unpaid orders; pay or cancel one first"
                )));
            }
        }
        let limit = rules.max_orders_per_number_per_day;
        if limit == 0 {
            return Ok(());
        }
        let since = self.now().minus(TimeDelta::days(1));
        let paid = self
            .orders
            .find(
                &FindQuery::new(
                    Filter::eq("phone", phone.e164())
                        .and(Filter::gte("created_at", since))
                        .and(Filter::ne("state", OrderState::AwaitingPayment))
                        .and(Filter::ne("state", OrderState::Closed)),
                )
                .lookup(u64::from(limit)),
            )
            .await?;
        if paid.len() >= limit as usize {
            return Err(OrdersError::LimitReached(format!(
                "at most {limit} orders per number per day"
            )));
        }
        Ok(())
    }

    /// Re-reads and re-applies `change` until the compare-and-set write wins.
    async fn update_with<F>(&self, order_no: &str, mut change: F) -> Result<Order, OrdersError>
    where
        F: FnMut(&mut Order, Timestamp) -> Result<(), OrdersError>,
    {
        for _ in 0..20 {
            let mut order = self
                .orders
                .get(order_no)
                .await?
                .ok_or_else(|| OrdersError::NotFound(order_no.to_owned()))?;
            let before = order.clone();
            let now = self.now();
            change(&mut order, now)?;
            if order == before {
                return Ok(order);
            }
            order.updated_at = now;
            order.figures = OrderFigures::of(&order);
            order.make_due_for_followups(now);
            match self.orders.replace(&order).await {
                Ok(stored) => {
                    if stored.next_action_at.is_some_and(|at| at <= now) {
                        self.due.raise();
                    }
                    return Ok(stored);
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(OrdersError::Store(StoreError::Conflict {
            collection: "orders".into(),
            id: order_no.to_owned(),
        }))
    }

    /// A verified payment (notification or query) for `out_trade_no`. Duplicates change
    /// nothing.
    pub async fn payment_succeeded(
        &self,
        out_trade_no: &str,
        transaction_id: &str,
        amount: Money,
        paid_at: Timestamp,
    ) -> Result<(), OrdersError> {
        self.update_with(out_trade_no, |order, now| {
            if order.state == OrderState::Closed {
                return refund_paid_after_close(order, transaction_id, amount, paid_at, now);
            }
            if order.state != OrderState::AwaitingPayment {
                return Ok(());
            }
            if amount != order.total {
                tracing::error!(order_no = %order.id, %amount, total = %order.total, "paid amount differs from the order total");
                return Err(OrdersError::Payment("paid amount differs from the order".into()));
            }
            mark_paid(order, transaction_id, paid_at, now, "payment notification")
        })
        .await
        .map(|_| ())
    }

    /// The payment will not be paid (prepay failed, or it expired and was closed at WeChat).
    pub async fn payment_closed(&self, order_no: &str) -> Result<(), OrdersError> {
        self.update_with(order_no, |order, now| {
            if order.state == OrderState::AwaitingPayment {
                order.transition_to(OrderState::Closed)?;
                order.next_action_at = None;
                order.note(now, "wechat", TimelineCode::ClosedPaymentClosed, None);
            }
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// A refund settled at WeChat (`succeeded = false` for closed/abnormal ones).
    pub async fn refund_settled(
        &self,
        out_trade_no: &str,
        out_refund_no: &str,
        succeeded: bool,
    ) -> Result<(), OrdersError> {
        self.update_with(out_trade_no, |order, now| {
            let Some(refund) = order
                .refunds
                .iter_mut()
                .find(|r| r.out_refund_no == out_refund_no)
            else {
                return Ok(());
            };
            if refund.state != RefundState::Requested {
                return Ok(());
            }
            refund.state = if succeeded {
                RefundState::Succeeded
            } else {
                RefundState::Failed
            };
            refund.finished_at = Some(now);
            let what = if succeeded {
                TimelineCode::Refunded
            } else {
                TimelineCode::RefundFailed
            };
            order.note(now, "wechat", what, Some(out_refund_no.to_owned()));
            if order
                .refunds
                .iter()
                .any(|r| r.state == RefundState::Requested)
            {
                return Ok(());
            }
            if order.state == OrderState::Refunding {
                let refunded = order
                    .refunds
                    .iter()
                    .filter(|r| r.state == RefundState::Succeeded)
                    .try_fold(Money::zero(order.total.currency), |s, r| {
                        s.checked_add(r.amount)
                    })?;
                if refunded == order.total {
                    order.transition_to(OrderState::Refunded)?;
                } else if order.recharge.delivered_by.is_some() {
                    order.transition_to(OrderState::Succeeded)?;
                } else {
                    // A refund of an undelivered order failed: staff must look.
                    order.hold = Some(crate::Hold::new(
                        format!("refund {out_refund_no} did not complete"),
                        now,
                    ));
                }
                order.next_action_at = None;
            }
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// The user cancels an unpaid order (WeChat is asked first: a paid one is not closed).
    pub async fn cancel(&self, user_id: &str, order_no: &str) -> Result<Order, OrdersError> {
        let order = self.get_for_user(user_id, order_no).await?;
        if order.state != OrderState::AwaitingPayment {
            return Err(OrdersError::InvalidState {
                state: order.state.as_str().into(),
                action: "cancel".into(),
            });
        }
        // Noted before WeChat is asked: closing the payment closes the order through the
        // payment's event, usually before the answer is back here.
        self.update_with(order_no, |order, now| {
            if order.state == OrderState::AwaitingPayment && order.cancel_requested_at.is_none() {
                order.cancel_requested_at = Some(now);
                order.note(
                    now,
                    format!("user:{user_id}"),
                    TimelineCode::CancelRequested,
                    None,
                );
            }
            Ok(())
        })
        .await?;
        let outcome = self
            .payments
            .close_unpaid(&order.payment.out_trade_no)
            .await?;
        self.update_with(order_no, |order, now| {
            if order.state != OrderState::AwaitingPayment {
                return Ok(());
            }
            match &outcome {
                CloseOutcome::Closed => {
                    order.transition_to(OrderState::Closed)?;
                    order.next_action_at = None;
                    order.note(
                        now,
                        format!("user:{user_id}"),
                        TimelineCode::ClosedCancelled,
                        None,
                    );
                    Ok(())
                }
                CloseOutcome::Paid {
                    transaction_id,
                    paid_at,
                } => mark_paid(
                    order,
                    transaction_id,
                    *paid_at,
                    now,
                    "payment found by query",
                ),
            }
        })
        .await
    }

    /// Staff refund of a delivered order, full (`amount = None`) or partial.
    pub async fn refund(
        &self,
        order_no: &str,
        amount: Option<Money>,
        reason: &str,
        staff_id: &str,
    ) -> Result<Order, OrdersError> {
        let current = self.get(order_no).await?;
        if current.is_held() {
            let full = current.total.checked_sub(current.refunded_or_pending()?)?;
            if let Some(amount) = amount
                && amount != full
            {
                return Err(OrdersError::InvalidState {
                    state: "held".into(),
                    action: format!(
                        "a partial refund ({amount} of {full}; nothing was delivered, so it is refunded in full)"
                    ),
                });
            }
            return self
                .refund_held(current, HeldRefundBy::Staff(staff_id), reason)
                .await;
        }
        self.update_with(order_no, |order, now| {
            if order.state != OrderState::Succeeded {
                return Err(OrdersError::InvalidState {
                    state: order.state.as_str().into(),
                    action: "refund".into(),
                });
            }
            let refundable = order.total.checked_sub(order.refunded_or_pending()?)?;
            let amount = amount.unwrap_or(refundable);
            if !amount.is_positive()
                || amount.currency != refundable.currency
                || amount.amount > refundable.amount
            {
                return Err(OrdersError::RefundTooLarge {
                    requested: amount.to_string(),
                    refundable: refundable.to_string(),
                });
            }
            order.add_refund(amount, reason, &format!("staff:{staff_id}"), now);
            order.transition_to(OrderState::Refunding)?;
            order.next_action_at = Some(now);
            order.note(
                now,
                format!("staff:{staff_id}"),
                TimelineCode::RefundRequested,
                Some(format!("{amount}: {reason}")),
            );
            Ok(())
        })
        .await
    }

    /// The user asks for the money of their held order back: granted at once when every
    /// provider it was sent to confirms nothing was delivered.
    pub async fn request_refund(
        &self,
        user_id: &str,
        order_no: &str,
    ) -> Result<Order, OrdersError> {
        let order = self.get_for_user(user_id, order_no).await?;
        if !order.is_held() {
            let state = if order.state == OrderState::Recharging {
                "recharging (not delayed)"
            } else {
                order.state.as_str()
            };
            return Err(OrdersError::InvalidState {
                state: state.into(),
                action: "a refund request (only delayed orders can be refunded on request)".into(),
            });
        }
        self.refund_held(order, HeldRefundBy::User(user_id), "requested by the user")
            .await
    }

    /// Refunds a held order in full once its providers confirm nothing was delivered under
    /// any of its keys. The hold keeps the engine away meanwhile; the write checks the order
    /// still has exactly the sends that were confirmed.
    async fn refund_held(
        &self,
        order: Order,
        by: HeldRefundBy<'_>,
        reason: &str,
    ) -> Result<Order, OrdersError> {
        let sends = self.confirm_nothing_delivered(&order).await?;
        let actor = by.actor();
        self.update_with(&order.id, |order, now| {
            let unchanged = order
                .recharge
                .attempts
                .iter()
                .filter(|a| a.action == "send")
                .count()
                == sends;
            if !order.is_held() || !unchanged || order.recharge.pending.is_some() {
                return Err(OrdersError::InvalidState {
                    state: order.state.as_str().into(),
                    action: "refunding a held order (it changed meanwhile; look again)".into(),
                });
            }
            let refundable = order.total.checked_sub(order.refunded_or_pending()?)?;
            order.transition_to(OrderState::Failed)?;
            order.hold = None;
            order.note(
                now,
                actor.clone(),
                TimelineCode::HoldGivenUp,
                Some("the provider confirmed nothing was delivered".into()),
            );
            order.transition_to(OrderState::Refunding)?;
            if refundable.is_positive() {
                order.add_refund(refundable, reason, &actor, now);
                order.note(
                    now,
                    actor.clone(),
                    TimelineCode::RefundRequested,
                    Some(format!("{refundable}: {reason}")),
                );
            }
            order.next_action_at = Some(now);
            Ok(())
        })
        .await
    }

    /// Looks every key the order was sent under up at its provider; answers how many sends
    /// were confirmed. Anything delivered, still processing or unknown refuses the refund.
    async fn confirm_nothing_delivered(&self, order: &Order) -> Result<usize, OrdersError> {
        let Some(router) = &self.providers else {
            return Err(OrdersError::ProviderUnavailable(
                "no provider is configured to confirm nothing was delivered".into(),
            ));
        };
        if order.recharge.in_flight.is_some() || order.recharge.pending.is_some() {
            return Err(OrdersError::DeliveryNotRuledOut(
                "a top-up of this order is still in progress at the provider".into(),
            ));
        }
        let mut keys: Vec<(&str, &str)> = Vec::new();
        for attempt in order
            .recharge
            .attempts
            .iter()
            .filter(|a| a.action == "send")
        {
            let key = (attempt.provider_id.as_str(), attempt.key.as_str());
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        for (provider_id, key) in &keys {
            let provider = router
                .provider(&ProviderId::new(*provider_id))
                .ok_or_else(|| {
                    OrdersError::ProviderUnavailable(format!(
                        "provider {provider_id} is no longer configured; {key} cannot be looked up"
                    ))
                })?;
            match provider.find_by_custom_identifier(key).await {
                Ok(TransactionLookup::NotFound) => {}
                Ok(TransactionLookup::Found(result)) => match result.outcome {
                    TopupOutcome::FailedFinal
                    | TopupOutcome::FailedRetryable
                    | TopupOutcome::Precondition => {}
                    TopupOutcome::Succeeded => {
                        return Err(OrdersError::DeliveryNotRuledOut(format!(
                            "the provider reports top-up {key} delivered"
                        )));
                    }
                    TopupOutcome::Pending { .. } | TopupOutcome::Ambiguous => {
                        return Err(OrdersError::DeliveryNotRuledOut(format!(
                            "the provider reports top-up {key} still in progress"
                        )));
                    }
                },
                Err(error) => {
                    return Err(OrdersError::ProviderUnavailable(format!(
                        "top-up {key} could not be looked up: {error}"
                    )));
                }
            }
        }
        Ok(order
            .recharge
            .attempts
            .iter()
            .filter(|a| a.action == "send")
            .count())
    }

    /// Staff releases a held order for another recharge round.
    pub async fn retry(&self, order_no: &str, staff_id: &str) -> Result<Order, OrdersError> {
        self.update_with(order_no, |order, now| {
            if order.hold.is_none() || order.state != OrderState::Recharging {
                return Err(OrdersError::InvalidState {
                    state: order.state.as_str().into(),
                    action: "retry (only held recharging orders)".into(),
                });
            }
            order.hold = None;
            order.recharge.precondition = None;
            order.recharge.exhausted_providers.clear();
            order.next_action_at = Some(now);
            order.note(
                now,
                format!("staff:{staff_id}"),
                TimelineCode::RetryRequested,
                None,
            );
            Ok(())
        })
        .await
    }

    /// Orders whose hold outlasted `orders.hold_alert_minutes` and was reported at or after
    /// `since`, oldest report first, at most `limit` (staff alerts on WeChat,
    /// `docs/notifications.md#staff-alerts`). Held orders are few: the `held` index finds
    /// them.
    pub async fn hold_alerts_since(
        &self,
        since: Timestamp,
        limit: u64,
    ) -> Result<Vec<Order>, OrdersError> {
        let filter = Filter::exists("hold.since").and(Filter::gte("hold.alerted_at", since));
        Ok(self
            .orders
            .find(
                &FindQuery::new(filter)
                    .sort("hold.alerted_at", SortOrder::Asc)
                    .limit(limit),
            )
            .await?)
    }

    pub async fn get(&self, order_no: &str) -> Result<Order, OrdersError> {
        self.orders
            .get(order_no)
            .await?
            .ok_or_else(|| OrdersError::NotFound(order_no.to_owned()))
    }

    /// Orders a staff member's search words may mean, newest first, each with what matched:
    /// its number (`order_no`), its phone number (`phone`: a full `+E.164` exactly, 6 or more
    /// digits anywhere in it), WeChat's transaction id (`transaction_id`) or the provider's
    /// (`provider_transaction_id`). Every lookup but the partial number is one index probe.
    pub async fn search(
        &self,
        words: &str,
        limit: usize,
    ) -> Result<Vec<(Order, &'static str)>, OrdersError> {
        let words = words.trim();
        let mut found: Vec<(Order, &'static str)> = Vec::new();
        let mut add = |orders: Vec<Order>, matched: &'static str| {
            for order in orders {
                if !found.iter().any(|(o, _)| o.id == order.id) {
                    found.push((order, matched));
                }
            }
        };
        if words.len() == 26 && ulid::Ulid::from_string(words).is_ok() {
            add(
                self.orders.get(words).await?.into_iter().collect(),
                "order_no",
            );
        }
        let digits: String = words.chars().filter(char::is_ascii_digit).collect();
        let only_digits = !digits.is_empty()
            && words
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-'));
        let newest = |filter: Filter| {
            FindQuery::new(filter)
                .sort("created_at", SortOrder::Desc)
                .limit(limit as u64)
        };
        if only_digits && words.starts_with('+') && digits.len() >= 8 {
            let exact = newest(Filter::eq("phone", format!("+{digits}")));
            add(self.orders.find(&exact).await?, "phone");
        } else if only_digits && digits.len() >= 6 {
            let partial = newest(Filter::contains("phone", digits.as_str()));
            add(self.orders.find(&partial).await?, "phone");
        }
        if !words.is_empty() && !words.contains(char::is_whitespace) {
            let wechat = newest(Filter::eq("payment.transaction_id", words));
            add(self.orders.find(&wechat).await?, "transaction_id");
            let provider = newest(Filter::eq("recharge.provider_transaction_id", words));
            add(
                self.orders.find(&provider).await?,
                "provider_transaction_id",
            );
        }
        found.truncate(limit);
        Ok(found)
    }

    /// Another user's order is reported as not found, not forbidden.
    pub async fn get_for_user(&self, user_id: &str, order_no: &str) -> Result<Order, OrdersError> {
        match self.orders.get(order_no).await? {
            Some(order) if order.user_id == user_id => Ok(order),
            _ => Err(OrdersError::NotFound(order_no.to_owned())),
        }
    }

    pub async fn list_for_user(
        &self,
        user_id: &str,
        state: Option<OrderState>,
        kind: Option<String>,
        page: PageRequest,
    ) -> Result<Page<Order>, OrdersError> {
        let query = OrderQuery {
            state,
            kind,
            user_id: Some(user_id.to_owned()),
            ..OrderQuery::default()
        };
        // The buyer's own list offers "more", not a count: counting one past the page keeps
        // it as quick for a buyer with thousands of orders as for one with a few.
        Ok(self
            .orders
            .page_counting_within(query.filter(), &[("created_at", SortOrder::Desc)], page, 0)
            .await?)
    }

    /// Orders held for a person, and orders whose refund is not confirmed yet: each counted
    /// over an index.
    pub async fn attention_counts(&self) -> Result<(u64, u64), OrdersError> {
        let held = self.orders.count(&Filter::exists("hold.since")).await?;
        let refunding = self
            .orders
            .count(&Filter::eq("state", OrderState::Refunding))
            .await?;
        Ok((held, refunding))
    }

    pub async fn list(
        &self,
        query: &OrderQuery,
        sort: &[(&str, SortOrder)],
        page: PageRequest,
    ) -> Result<Page<Order>, OrdersError> {
        let sort = if sort.is_empty() {
            &[("created_at", SortOrder::Desc)][..]
        } else {
            sort
        };
        Ok(self.orders.page(query.filter(), sort, page).await?)
    }

    /// Every provider attempt, newest first.
    pub async fn recharge_log(
        &self,
        query: &RechargeLogQuery,
        page: PageRequest,
    ) -> Result<Page<RechargeLogEntry>, OrdersError> {
        let mut filter = Filter::All;
        if let Some(order_no) = &query.order_no {
            filter = filter.and(Filter::eq("order_no", order_no.as_str()));
        }
        if let Some(provider) = &query.provider_id {
            filter = filter.and(Filter::eq("provider_id", provider.as_str()));
        }
        if let Some(outcome) = &query.outcome {
            filter = filter.and(Filter::eq("outcome_class", outcome.as_str()));
        }
        if let Some(from) = query.from {
            filter = filter.and(Filter::gte("at", from));
        }
        if let Some(to) = query.to {
            filter = filter.and(Filter::lt("at", to));
        }
        Ok(self
            .log
            .page(filter, &[("at", SortOrder::Desc)], page)
            .await?)
    }

    /// A window of matching orders for streaming exports (`created_at` descending).
    pub async fn export_batch(
        &self,
        query: &OrderQuery,
        skip: u64,
        limit: u64,
    ) -> Result<Vec<Order>, OrdersError> {
        Ok(self
            .orders
            .find(
                &FindQuery::new(query.filter())
                    .sort("created_at", SortOrder::Desc)
                    .skip(skip)
                    .limit(limit),
            )
            .await?)
    }
}
