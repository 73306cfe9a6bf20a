//! The order's public face: checkout, the events that move it (payment, refund), what users
//! and staff may do with it, and the queries that list it.

use std::sync::Arc;

use chrono::TimeDelta;
use serde_json::Value;
use topup_core::limiter::AddressLimiter;
use topup_core::{CountryCode, Money, Msisdn, Page, PageRequest, SharedClock, Timestamp};
use topup_store::{Collection, Filter, FindQuery, Index, SortOrder, Store, StoreError};

use crate::engine::mark_paid;
use crate::ports::{BlockKind, Blocklist, CloseOutcome, PaymentPort, PaymentStart, PlanCatalog};
use crate::{
    CheckoutKey, Order, OrderRefund, OrderState, OrdersConfig, OrdersError, PaymentInfo, PriceLine,
    RechargeInfo, RechargeLogEntry, RefundState,
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
            filter = filter.and(Filter::contains("phone", phone.as_str()));
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
            Some(true) => filter = filter.and(Filter::exists("hold")),
            Some(false) => filter = filter.and(Filter::missing("hold")),
            None => {}
        }
        filter
    }
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
            config,
        }
    }

    pub fn config(&self) -> &OrdersConfig {
        &self.config
    }

    /// Creates the indexes the workers and lists rely on (idempotent).
    pub async fn prepare(&self) -> Result<(), OrdersError> {
        for index in [
            Index::new("due", &["next_action_at"]),
            Index::new("user_created", &["user_id", "created_at"]),
            Index::new("state_created", &["state", "created_at"]),
            Index::new("phone_created", &["phone", "created_at"]),
            Index::new("created", &["created_at"]),
            Index::unique("checkout_key", &["user_id", "checkout_key.key"]),
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
        let plan = self
            .catalog
            .checkout_plan(&request.plan_id)
            .await?
            .filter(|p| p.enabled)
            .ok_or_else(|| OrdersError::PlanUnavailable(request.plan_id.clone()))?;
        let retail = plan
            .retail
            .filter(Money::is_positive)
            .ok_or_else(|| OrdersError::PlanUnavailable(request.plan_id.clone()))?;
        let snapshot = plan.snapshot;
        let phone = Msisdn::parse(&request.phone, request.country.or(Some(snapshot.country)))
            .map_err(|e| OrdersError::InvalidPhone(e.to_string()))?;
        if phone.country() != snapshot.country {
            return Err(OrdersError::CountryMismatch {
                number_country: phone.country().to_string(),
                plan_country: snapshot.country.to_string(),
            });
        }
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
        self.check_limits(&request.user_id, &phone).await?;

        let now = self.now();
        let order_no = ulid::Ulid::new().to_string();
        let price_lines = vec![PriceLine {
            kind: "base".into(),
            label: snapshot.title.clone(),
            amount: retail,
        }];
        let total = price_lines
            .iter()
            .skip(1)
            .try_fold(price_lines[0].amount, |sum, line| {
                sum.checked_add(line.amount)
            })?;
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
            next_action_at: None,
            lease: None,
            checkout_key: request.idempotency.clone(),
            pay_deadline: now.plus(self.config.pay_timeout()),
            created_at: now,
            updated_at: now,
            client_ip: request.client_ip.clone(),
        };
        order.note(
            now,
            format!("user:{}", request.user_id),
            "order placed",
            None,
        );
        order.next_action_at = Some(order.pay_deadline);
        match self.orders.insert(&order).await {
            Ok(()) => {}
            Err(StoreError::Duplicate { .. }) if request.idempotency.is_some() => {
                // A concurrent request with the same key won the race.
                let key = request
                    .idempotency
                    .as_ref()
                    .map(|k| k.key.as_str())
                    .unwrap_or("");
                if let Some(existing) = self.find_by_checkout_key(&request.user_id, key).await?
                    && let Some(checkout_key) = &request.idempotency
                {
                    return self.replay(existing, checkout_key).await;
                }
                return Err(OrdersError::IdempotencyMismatch);
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
        match self.payments.start(start).await {
            Ok(pay_params) => Ok(Checkout {
                order,
                pay_params: Some(pay_params),
                replayed: false,
            }),
            Err(error) => {
                let reason = error.to_string();
                self.update_with(&order_no, |order, now| {
                    if order.state == OrderState::AwaitingPayment {
                        order.state = OrderState::Closed;
                        order.next_action_at = None;
                        order.note(
                            now,
                            "system",
                            "closed: payment could not be started",
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
        let pay_params = if existing.state == OrderState::AwaitingPayment {
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
        if order.state != OrderState::AwaitingPayment {
            return Err(OrdersError::InvalidState {
                state: order.state.as_str().into(),
                action: "pay".into(),
            });
        }
        let pay_params = self.payments.resume(&order.payment.out_trade_no).await?;
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

    /// The anti-abuse limits (`docs/orders.md#limits`): a user has one open order per number
    /// and at most `max_unpaid_orders_per_user` unpaid ones; a number takes at most
    /// `max_orders_per_number_per_day` paid orders a day. Unpaid orders bind only their own
    /// user, so nobody can block a number for everyone else.
    async fn check_limits(&self, user_id: &str, phone: &Msisdn) -> Result<(), OrdersError> {
        const OPEN: [OrderState; 3] = [
            OrderState::AwaitingPayment,
            OrderState::Paid,
            OrderState::Recharging,
        ];
        let mine =
            self.orders
                .find(
                    &FindQuery::new(Filter::eq("user_id", user_id).and(
                        Filter::eq("state", OrderState::AwaitingPayment).or(
                            Filter::eq("phone", phone.e164()).and(Filter::is_in("state", OPEN)),
                        ),
                    ))
                    .lookup(u64::from(self.config.max_unpaid_orders_per_user).max(1) + 1),
                )
                .await?;
        if mine
            .iter()
            .any(|order| order.phone == phone.e164() && OPEN.contains(&order.state))
        {
            return Err(OrdersError::LimitReached(
                "your order for this number is still unpaid or recharging".into(),
            ));
        }
        let unpaid_limit = self.config.max_unpaid_orders_per_user;
        let unpaid = mine
            .iter()
            .filter(|order| order.state == OrderState::AwaitingPayment)
            .count();
        if unpaid_limit > 0 && unpaid >= unpaid_limit as usize {
            return Err(OrdersError::LimitReached(format!(
                "at most {unpaid_limit} unpaid orders; pay or cancel one first"
            )));
        }
        let limit = self.config.max_orders_per_number_per_day;
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
            match self.orders.replace(&order).await {
                Ok(stored) => return Ok(stored),
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
            if order.state != OrderState::AwaitingPayment {
                if order.state == OrderState::Closed {
                    tracing::error!(order_no = %order.id, "payment reported for a closed order");
                }
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
                order.state = OrderState::Closed;
                order.next_action_at = None;
                order.note(now, "wechat", "closed: payment closed", None);
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
                "refunded"
            } else {
                "refund failed"
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
                    order.state = OrderState::Refunded;
                } else if order.recharge.delivered_by.is_some() {
                    order.state = OrderState::Succeeded;
                } else {
                    // A refund of an undelivered order failed: staff must look.
                    order.hold = Some(crate::Hold {
                        reason: format!("refund {out_refund_no} did not complete"),
                        since: now,
                    });
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
            if order.state == OrderState::AwaitingPayment {
                order.note(now, format!("user:{user_id}"), "cancel requested", None);
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
                    order.state = OrderState::Closed;
                    order.next_action_at = None;
                    order.note(now, format!("user:{user_id}"), "closed: cancelled", None);
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
            let number = order.refunds.len() + 1;
            order.refunds.push(OrderRefund {
                out_refund_no: format!("{}R{number}", order.id),
                amount,
                reason: reason.to_owned(),
                initiator: format!("staff:{staff_id}"),
                state: RefundState::Requested,
                requested_at: now,
                finished_at: None,
                submitted: false,
            });
            order.state = OrderState::Refunding;
            order.next_action_at = Some(now);
            order.note(
                now,
                format!("staff:{staff_id}"),
                "refund requested",
                Some(format!("{amount}: {reason}")),
            );
            Ok(())
        })
        .await
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
            order.note(now, format!("staff:{staff_id}"), "retry requested", None);
            Ok(())
        })
        .await
    }

    pub async fn get(&self, order_no: &str) -> Result<Order, OrdersError> {
        self.orders
            .get(order_no)
            .await?
            .ok_or_else(|| OrdersError::NotFound(order_no.to_owned()))
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
        Ok(self
            .orders
            .page(query.filter(), &[("created_at", SortOrder::Desc)], page)
            .await?)
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
