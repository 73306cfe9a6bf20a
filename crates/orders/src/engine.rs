//! The worker side of an order: claims due orders with a lease and drives each one as far as
//! it can go now — close unpaid ones, dispatch the recharge, resolve unknown outcomes by
//! lookup, poll pending ones, fail over, hold, and refund. Every step is written to the order
//! *before* its external effect (a recharge in flight is recorded before the provider is
//! called), so a crash at any point is recovered by looking the key up, never by resending.

use std::sync::Arc;

use chrono::TimeDelta;
use futures_util::StreamExt;
use topup_core::crash::{self, crash_point};
use topup_core::{Msisdn, SharedClock, Timestamp};
use topup_recharge::{
    ProviderAmount, ProviderId, ProviderRouter, RechargeProvider, TopupOutcome, TopupRequest,
    TopupResult, TransactionLookup,
};
use topup_store::{Collection, Filter, Store, StoreError, Update};

use crate::DueSignal;
use crate::model::outcome_class;
use crate::ports::{CloseOutcome, Coupons, OrderNotices, PaymentPort};
use crate::{
    AppliedCoupon, CouponFate, Hold, InFlight, Order, OrderState, OrdersConfig, OrdersError,
    PendingTopup, RechargeAttempt, RechargeLogEntry, RefundState, TimelineCode, TimelineEvent,
};

/// What to do after a step: look again now, or stop until `next_action_at`.
enum Step {
    Continue,
    Done,
}

pub struct OrderEngine {
    pub(crate) orders: Collection<Order>,
    log: Collection<RechargeLogEntry>,
    pub(crate) clock: SharedClock,
    pub(crate) router: Arc<ProviderRouter>,
    pub(crate) payments: Arc<dyn PaymentPort>,
    pub(crate) config: OrdersConfig,
    worker_id: String,
    /// Wakes [`Self::run`] when this process makes an order due.
    due: DueSignal,
    /// Told where an order's coupon goes when the order moves on.
    coupons: Option<Arc<dyn Coupons>>,
    /// Told what the buyer should hear about (paid, recharged, refunded).
    notices: Option<Arc<dyn OrderNotices>>,
}

/// A notice older than this when handed over is recorded without a message.
const STALE_NOTICE: TimeDelta = TimeDelta::days(1);

impl OrderEngine {
    pub fn new(
        store: &Store,
        clock: SharedClock,
        router: Arc<ProviderRouter>,
        payments: Arc<dyn PaymentPort>,
        config: OrdersConfig,
        worker_id: impl Into<String>,
    ) -> Self {
        OrderEngine {
            orders: store.collection(),
            log: store.collection(),
            clock,
            router,
            payments,
            config,
            worker_id: worker_id.into(),
            due: DueSignal::default(),
            coupons: None,
            notices: None,
        }
    }

    /// Where coupons are settled (used when paid, returned when closed or fully refunded).
    pub fn with_coupons(mut self, coupons: Arc<dyn Coupons>) -> Self {
        self.coupons = Some(coupons);
        self
    }

    /// Where the order's notices go (the buyer's WeChat messages).
    pub fn with_notices(mut self, notices: Arc<dyn OrderNotices>) -> Self {
        self.notices = Some(notices);
        self
    }

    /// Wakes the worker loop ([`Self::run`]) when `due` is raised, e.g. by the
    /// [`crate::OrdersService`] of this process on a payment.
    pub fn woken_by(mut self, due: DueSignal) -> Self {
        self.due = due;
        self
    }

    /// Sleeps until `period` passes or an order is made due in this process.
    async fn idle(&self, period: std::time::Duration) {
        tokio::select! {
            () = tokio::time::sleep(period) => {}
            () = self.due.raised() => {}
        }
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Claims up to `limit` due orders under this worker's lease.
    async fn claim(&self, limit: usize) -> Result<Vec<Order>, OrdersError> {
        let now = self.now();
        let due = Filter::lte("next_action_at", now);
        Ok(self
            .orders
            .claim(
                due,
                "next_action_at",
                &self.worker_id,
                now,
                now.plus(TimeDelta::seconds(self.config.lease_seconds)),
                limit,
            )
            .await?)
    }

    /// Drives one claimed order; a failed step gives the lease back and is looked at again
    /// shortly (not at once: the cause may last).
    async fn drive_claimed(&self, order: Order) {
        let order_no = order.id.clone();
        if let Err(error) = self.drive(order).await {
            tracing::warn!(%order_no, %error, "order step failed; it will be retried");
            let retry_at = self.now().plus(TimeDelta::seconds(30));
            let _ = self
                .orders
                .update(
                    &order_no,
                    Filter::eq("lease.owner", self.worker_id.as_str()),
                    &[
                        Update::unset("lease"),
                        Update::set("next_action_at", retry_at),
                    ],
                )
                .await;
        }
    }

    fn concurrency(&self) -> usize {
        self.config.dispatch_concurrency.max(1)
    }

    /// Claims one batch of due orders and drives them concurrently (at most
    /// `dispatch_concurrency` at once); answers how many were looked at.
    pub async fn run_once(&self) -> Result<usize, OrdersError> {
        let claimed = self.claim(self.config.batch_size.max(1)).await?;
        let count = claimed.len();
        futures_util::stream::iter(claimed)
            .for_each_concurrent(self.concurrency(), |order| self.drive_claimed(order))
            .await;
        Ok(count)
    }

    /// The worker: keeps up to `dispatch_concurrency` orders in progress, claiming more as
    /// soon as any finishes, so one slow provider call never holds up the others. Looks for
    /// due orders every `period` when it has nothing to claim. Runs until dropped.
    pub async fn run(self: Arc<Self>, period: std::time::Duration) {
        let permits = Arc::new(tokio::sync::Semaphore::new(self.concurrency()));
        loop {
            // Wait for room before claiming: a claimed order must be driven at once, or its
            // lease runs out while it waits.
            let first = match permits.clone().acquire_owned().await {
                Ok(permit) => permit,
                Err(_) => return,
            };
            let wanted = (permits.available_permits() + 1).min(self.config.batch_size.max(1));
            let claimed = match self.claim(wanted).await {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::warn!(%error, "claiming due orders failed");
                    drop(first);
                    self.idle(period).await;
                    continue;
                }
            };
            let full_batch = claimed.len() == wanted;
            let mut first = Some(first);
            for order in claimed {
                let permit = match first.take() {
                    Some(permit) => permit,
                    None => match permits.clone().acquire_owned().await {
                        Ok(permit) => permit,
                        Err(_) => return,
                    },
                };
                let engine = Arc::clone(&self);
                tokio::spawn(async move {
                    engine.drive_claimed(order).await;
                    drop(permit);
                });
            }
            drop(first);
            if !full_batch {
                // Nothing more is due now.
                self.idle(period).await;
            }
        }
    }

    /// Runs `run_once` until nothing is due (tests and the shutdown path).
    pub async fn run_until_idle(&self) -> Result<(), OrdersError> {
        for _ in 0..1000 {
            if self.run_once().await? == 0 {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Writes the order (compare-and-set) and keeps the stored copy.
    async fn save(&self, order: &mut Order) -> Result<(), OrdersError> {
        order.updated_at = self.now();
        order.figures = crate::model::OrderFigures::of(order);
        self.hand_over_notices(order).await?;
        order.make_due_for_followups(order.updated_at);
        *order = self.orders.replace(order).await?;
        Ok(())
    }

    /// Saves with the lease released: the end of this worker's turn on the order.
    async fn finish(&self, order: &mut Order) -> Result<(), OrdersError> {
        order.lease = None;
        self.save(order).await
    }

    #[tracing::instrument(skip_all, fields(order_no = %order.id))]
    pub(crate) async fn drive(&self, mut order: Order) -> Result<(), OrdersError> {
        for _ in 0..16 {
            let step = match self.step(&mut order).await {
                Ok(step) => step,
                Err(OrdersError::Store(StoreError::Conflict { .. })) => {
                    // Someone (a payment callback) changed it meanwhile: look again.
                    order = self.orders.fetch(&order.id).await?;
                    Step::Continue
                }
                Err(other) => return Err(other),
            };
            if let Step::Done = step {
                return Ok(());
            }
        }
        self.finish(&mut order).await
    }

    async fn step(&self, order: &mut Order) -> Result<Step, OrdersError> {
        let now = self.now();
        if let Some(applied) = order.coupon.clone().filter(AppliedCoupon::is_unsettled) {
            self.settle_coupon(order, &applied, now).await?;
            return Ok(Step::Continue);
        }
        match order.state {
            OrderState::AwaitingPayment => self.close_if_expired(order, now).await,
            OrderState::Paid => {
                order.transition_to(OrderState::Recharging)?;
                order.note(now, "system", TimelineCode::RechargeStarted, None);
                self.save(order).await?;
                Ok(Step::Continue)
            }
            OrderState::Recharging => {
                if order.hold.is_some() {
                    self.check_hold(order, now);
                    self.finish(order).await?;
                    return Ok(Step::Done);
                }
                if order.recharge.in_flight.is_some() {
                    self.resolve_in_flight(order, now).await
                } else if order.recharge.pending.is_some() {
                    self.poll_pending(order, now).await
                } else {
                    self.dispatch(order, now).await
                }
            }
            OrderState::Failed => {
                let refundable = order.total.checked_sub(order.refunded_or_pending()?)?;
                order.transition_to(OrderState::Refunding)?;
                if refundable.is_positive() {
                    order.add_refund(refundable, "recharge failed", "system", now);
                    order.note(now, "system", TimelineCode::AutomaticRefundRequested, None);
                }
                order.next_action_at = Some(now);
                self.save(order).await?;
                Ok(Step::Continue)
            }
            OrderState::Refunding => self.submit_refunds(order, now).await,
            OrderState::Succeeded | OrderState::Refunded | OrderState::Closed => {
                order.next_action_at = None;
                self.finish(order).await?;
                Ok(Step::Done)
            }
        }
    }

    /// Hands the order's new notices to notifications before the order records them as
    /// given (so none is lost; one handed over twice is ignored there by its key). Without
    /// notifications wired they are only recorded, as are stale ones (orders from before
    /// notifications existed, touched again later).
    async fn hand_over_notices(&self, order: &mut Order) -> Result<(), OrdersError> {
        for notice in order.pending_notices() {
            let fresh = order.updated_at.since(notice.at) < STALE_NOTICE;
            if let Some(notices) = self.notices.as_ref().filter(|_| fresh) {
                notices.notify(order, &notice).await?;
            }
            order.notices_given.push(notice.key);
        }
        Ok(())
    }

    /// Tells marketing where the order's coupon goes, then records that it was told.
    async fn settle_coupon(
        &self,
        order: &mut Order,
        applied: &AppliedCoupon,
        now: Timestamp,
    ) -> Result<(), OrdersError> {
        match &self.coupons {
            Some(coupons) => {
                coupons
                    .settle(&applied.coupon_id, &order.id, applied.fate)
                    .await?;
            }
            None => {
                tracing::warn!(order_no = %order.id, "an order has a coupon but no coupon service is wired; leaving it");
            }
        }
        if let Some(coupon) = &mut order.coupon {
            coupon.settled = true;
        }
        let what = match applied.fate {
            CouponFate::Used => TimelineCode::CouponUsed,
            CouponFate::Returned => TimelineCode::CouponReturned,
            CouponFate::Locked => TimelineCode::CouponLocked,
        };
        order.note(now, "system", what, Some(applied.coupon_id.clone()));
        self.save(order).await
    }

    async fn close_if_expired(
        &self,
        order: &mut Order,
        now: Timestamp,
    ) -> Result<Step, OrdersError> {
        if now < order.pay_deadline {
            order.next_action_at = Some(order.pay_deadline);
            self.finish(order).await?;
            return Ok(Step::Done);
        }
        if order.timeline.last().and_then(TimelineEvent::code)
            != Some(TimelineCode::PayDeadlinePassed)
        {
            // Noted before WeChat is asked: closing the payment closes the order through the
            // payment's event, usually before the answer is back here.
            order.note(now, "system", TimelineCode::PayDeadlinePassed, None);
            self.save(order).await?;
        }
        match self
            .payments
            .close_unpaid(&order.payment.out_trade_no)
            .await
        {
            Ok(CloseOutcome::Closed) => {
                order.transition_to(OrderState::Closed)?;
                order.next_action_at = None;
                order.note(now, "system", TimelineCode::ClosedUnpaid, None);
                self.finish(order).await?;
                Ok(Step::Done)
            }
            Ok(CloseOutcome::Paid {
                transaction_id,
                paid_at,
            }) => {
                mark_paid(
                    order,
                    &transaction_id,
                    paid_at,
                    now,
                    "payment found by query",
                )?;
                self.save(order).await?;
                Ok(Step::Continue)
            }
            Err(error) => {
                tracing::warn!(%error, "closing an unpaid order failed; retrying later");
                order.next_action_at = Some(now.plus(TimeDelta::seconds(30)));
                self.finish(order).await?;
                Ok(Step::Done)
            }
        }
    }

    /// Parks the order for staff; the engine looks at it again only to raise the alert when
    /// the hold outlasts `hold_alert_minutes`.
    fn hold(&self, order: &mut Order, reason: String, now: Timestamp) {
        order.note(now, "system", TimelineCode::Held, Some(reason.clone()));
        order.hold = Some(Hold::new(reason, now));
        order.next_action_at = Some(now.plus(self.config.hold_alert()));
    }

    /// Raises the alert of a hold that lasted too long, once: an error in the log and
    /// `hold.alerted_at`, which the staff order list filters on.
    fn check_hold(&self, order: &mut Order, now: Timestamp) {
        let Some(hold) = order.hold.as_mut() else {
            return;
        };
        if hold.alerted_at.is_some() {
            order.next_action_at = None;
            return;
        }
        let due = hold.since.plus(self.config.hold_alert());
        if now < due {
            order.next_action_at = Some(due);
            return;
        }
        hold.alerted_at = Some(now);
        let (reason, since) = (hold.reason.clone(), hold.since);
        tracing::error!(order_no = %order.id, %reason, held_since = %since, "order held longer than the alert threshold; the user's money waits");
        order.note(
            now,
            "system",
            TimelineCode::HoldAlertRaised,
            Some(format!("held since {since}")),
        );
        order.next_action_at = None;
    }

    fn send_attempts(order: &Order) -> u32 {
        let sends = order
            .recharge
            .attempts
            .iter()
            .filter(|a| a.action == "send")
            .count();
        u32::try_from(sends).unwrap_or(u32::MAX)
    }

    async fn dispatch(&self, order: &mut Order, now: Timestamp) -> Result<Step, OrdersError> {
        let candidates: Vec<Arc<dyn RechargeProvider>> = self
            .router
            .candidates(order.country)
            .into_iter()
            .filter(|p| {
                !order
                    .recharge
                    .exhausted_providers
                    .contains(&p.id().to_string())
            })
            .collect();
        let attempts = Self::send_attempts(order);
        let Some(provider) = candidates.into_iter().next() else {
            if let Some(reason) = order.recharge.precondition.clone() {
                tracing::error!(order_no = %order.id, %reason, "order held: no provider can deliver it now");
                self.hold(order, reason, now);
                self.finish(order).await?;
                return Ok(Step::Done);
            }
            if attempts >= self.config.max_recharge_attempts {
                order.transition_to(OrderState::Failed)?;
                order.note(
                    now,
                    "system",
                    TimelineCode::RechargeFailed,
                    Some(format!("{attempts} attempts failed")),
                );
                order.next_action_at = Some(now);
                self.save(order).await?;
                return Ok(Step::Continue);
            }
            order.recharge.exhausted_providers.clear();
            // Back off as the retry policy says, but no longer than a resting provider
            // takes to be tried again.
            let backoff = now.plus(self.config.retry_backoff(attempts));
            let next = self
                .router
                .reopens_at(order.country)
                .map_or(backoff, |reopen| reopen.min(backoff));
            order.next_action_at = Some(next);
            self.finish(order).await?;
            return Ok(Step::Done);
        };
        let number = attempts + 1;
        let key = format!("{}-{number}", order.id);
        self.send(order, provider, key, number, now).await
    }

    /// Records the send in flight, then calls the provider and applies its answer.
    async fn send(
        &self,
        order: &mut Order,
        provider: Arc<dyn RechargeProvider>,
        key: String,
        number: u32,
        now: Timestamp,
    ) -> Result<Step, OrdersError> {
        let provider_id = provider.id().to_string();
        // Written before the call: after a crash this says "look the key up first".
        order.recharge.in_flight = Some(InFlight {
            provider_id: provider_id.clone(),
            key: key.clone(),
            since: now,
        });
        order.recharge.attempts.push(RechargeAttempt {
            number,
            provider_id: provider_id.clone(),
            key: key.clone(),
            action: "send".into(),
            started_at: now,
            finished_at: None,
            latency_ms: None,
            outcome: None,
            summary: None,
        });
        order.next_action_at = Some(now.plus(TimeDelta::seconds(self.config.lease_seconds)));
        self.save(order).await?;

        let request = TopupRequest {
            custom_identifier: key.clone(),
            operator_id: order.plan.provider_operator_id.clone(),
            recipient: Msisdn::parse(&order.phone, Some(order.country))?,
            amount: ProviderAmount::new(
                order.plan.provider_amount.value,
                order.plan.provider_amount.currency,
            ),
            use_local_amount: order.plan.use_local_amount,
            sender_phone: None,
        };
        let started = std::time::Instant::now();
        let call = self.router.call_started(provider.id());
        let result = provider.send_topup(&request).await;
        crash_point(crash::RECHARGE_SENT);
        self.router.record_result(provider.id(), call, &result);
        let latency = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        self.record_result(order, &provider_id, &key, "send", latency, result)
            .await
    }

    async fn resolve_in_flight(
        &self,
        order: &mut Order,
        now: Timestamp,
    ) -> Result<Step, OrdersError> {
        let Some(in_flight) = order.recharge.in_flight.clone() else {
            return Ok(Step::Continue);
        };
        let Some(provider) = self
            .router
            .provider(&ProviderId::new(in_flight.provider_id.clone()))
        else {
            let reason = format!(
                "provider {} is no longer configured; the outcome of {} is unknown",
                in_flight.provider_id, in_flight.key
            );
            tracing::error!(order_no = %order.id, %reason, "order held: its provider is gone");
            self.hold(order, reason, now);
            self.finish(order).await?;
            return Ok(Step::Done);
        };
        let started = std::time::Instant::now();
        let lookup = provider.find_by_custom_identifier(&in_flight.key).await;
        let latency = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        match lookup {
            Ok(TransactionLookup::Found(result)) => {
                order.recharge.attempts.push(RechargeAttempt {
                    number: order
                        .recharge
                        .attempts
                        .last()
                        .map(|a| a.number)
                        .unwrap_or(0),
                    provider_id: in_flight.provider_id.clone(),
                    key: in_flight.key.clone(),
                    action: "lookup".into(),
                    started_at: now,
                    finished_at: None,
                    latency_ms: None,
                    outcome: None,
                    summary: None,
                });
                self.record_result(
                    order,
                    &in_flight.provider_id,
                    &in_flight.key,
                    "lookup",
                    latency,
                    *result,
                )
                .await
            }
            Ok(TransactionLookup::NotFound) => {
                // Too soon after the send, "not found" may just mean "not committed yet".
                let settle = in_flight
                    .since
                    .plus(TimeDelta::seconds(self.config.lookup_delay_seconds));
                if now < settle {
                    order.next_action_at = Some(settle);
                    self.finish(order).await?;
                    return Ok(Step::Done);
                }
                // "Not found" does not prove the first request will never arrive (it may be
                // held in transit): send again under the *same* identifier, which the
                // provider commits at most once, until an answer says what happened.
                let attempts = Self::send_attempts(order);
                if attempts >= self.config.max_recharge_attempts {
                    order.recharge.in_flight = None;
                    order.note(
                        now,
                        "system",
                        TimelineCode::EarlierAttemptNeverSent,
                        Some(in_flight.key),
                    );
                    self.save(order).await?;
                    return Ok(Step::Continue);
                }
                order.note(
                    now,
                    "system",
                    TimelineCode::EarlierAttemptResent,
                    Some(in_flight.key.clone()),
                );
                let number = order
                    .recharge
                    .attempts
                    .iter()
                    .rev()
                    .find(|a| a.key == in_flight.key)
                    .map(|a| a.number)
                    .unwrap_or(attempts + 1);
                self.send(order, provider, in_flight.key, number, now).await
            }
            Err(error) => {
                tracing::warn!(%error, key = %in_flight.key, "lookup failed; will retry, never resend");
                order.next_action_at = Some(now.plus(TimeDelta::seconds(
                    self.config.lookup_delay_seconds.saturating_mul(2),
                )));
                self.finish(order).await?;
                Ok(Step::Done)
            }
        }
    }

    async fn poll_pending(&self, order: &mut Order, now: Timestamp) -> Result<Step, OrdersError> {
        let Some(pending) = order.recharge.pending.clone() else {
            return Ok(Step::Continue);
        };
        let Some(provider) = self
            .router
            .provider(&ProviderId::new(pending.provider_id.clone()))
        else {
            order.next_action_at = Some(now.plus(self.config.poll_interval(pending.polls)));
            self.finish(order).await?;
            return Ok(Step::Done);
        };
        let polled = provider.topup_status(&pending.provider_ref).await;
        crash_point(crash::RECHARGE_POLLED);
        match polled {
            Ok(result) => {
                if let TopupOutcome::Pending { .. } = result.outcome {
                    let polls = pending.polls.saturating_add(1);
                    if let Some(p) = order.recharge.pending.as_mut() {
                        p.polls = polls;
                    }
                    order.next_action_at = Some(now.plus(self.config.poll_interval(polls)));
                    self.finish(order).await?;
                    return Ok(Step::Done);
                }
                order.recharge.attempts.push(RechargeAttempt {
                    number: order
                        .recharge
                        .attempts
                        .last()
                        .map(|a| a.number)
                        .unwrap_or(0),
                    provider_id: pending.provider_id.clone(),
                    key: pending.key.clone(),
                    action: "status".into(),
                    started_at: now,
                    finished_at: None,
                    latency_ms: None,
                    outcome: None,
                    summary: None,
                });
                order.recharge.pending = None;
                self.record_result(
                    order,
                    &pending.provider_id,
                    &pending.key,
                    "status",
                    0,
                    result,
                )
                .await
            }
            Err(error) => {
                tracing::warn!(%error, "status poll failed; will poll again");
                order.next_action_at = Some(now.plus(self.config.poll_interval(pending.polls)));
                self.finish(order).await?;
                Ok(Step::Done)
            }
        }
    }

    /// Applies a provider answer to the order, re-reading it on a write conflict.
    async fn record_result(
        &self,
        order: &mut Order,
        provider_id: &str,
        key: &str,
        action: &str,
        latency_ms: i64,
        result: TopupResult,
    ) -> Result<Step, OrdersError> {
        for _ in 0..5 {
            let now = self.now();
            apply_result(
                order,
                provider_id,
                key,
                action,
                latency_ms,
                &result,
                now,
                &self.config,
            )?;
            match self.save(order).await {
                Ok(()) => {
                    self.log_attempt(order, provider_id, key, action, latency_ms, &result, now)
                        .await;
                    return Ok(Step::Continue);
                }
                Err(OrdersError::Store(StoreError::Conflict { .. })) => {
                    *order = self.orders.fetch(&order.id).await?;
                }
                Err(other) => return Err(other),
            }
        }
        Err(OrdersError::Store(StoreError::Conflict {
            collection: "orders".into(),
            id: order.id.clone(),
        }))
    }

    #[allow(clippy::too_many_arguments)]
    async fn log_attempt(
        &self,
        order: &Order,
        provider_id: &str,
        key: &str,
        action: &str,
        latency_ms: i64,
        result: &TopupResult,
        now: Timestamp,
    ) {
        let sequence = order.recharge.attempts.len();
        let entry = RechargeLogEntry {
            id: format!("{key}:{action}:{sequence}"),
            order_no: order.id.clone(),
            provider_id: provider_id.to_owned(),
            key: key.to_owned(),
            action: action.to_owned(),
            outcome: result.outcome.clone(),
            outcome_class: outcome_class(&result.outcome).to_owned(),
            summary: result.summary.clone(),
            latency_ms,
            country: order.country,
            phone_masked: Msisdn::parse(&order.phone, Some(order.country))
                .map(|m| m.masked())
                .unwrap_or_default(),
            at: now,
        };
        // The order document is the record; this log is a convenience, so a failure here
        // is reported and not retried.
        if let Err(error) = self.log.insert(&entry).await
            && !error.is_duplicate()
        {
            tracing::warn!(%error, "recharge log entry not written");
        }
    }

    async fn submit_refunds(&self, order: &mut Order, now: Timestamp) -> Result<Step, OrdersError> {
        let mut failed = false;
        for index in 0..order.refunds.len() {
            let refund = order.refunds[index].clone();
            if refund.submitted || refund.state != RefundState::Requested {
                continue;
            }
            match self
                .payments
                .request_refund(
                    &order.payment.out_trade_no,
                    &refund.out_refund_no,
                    refund.amount,
                    &refund.reason,
                    &refund.initiator,
                )
                .await
            {
                Ok(()) => {
                    order.refunds[index].submitted = true;
                    order.note(
                        now,
                        "system",
                        TimelineCode::RefundSubmitted,
                        Some(refund.out_refund_no),
                    );
                }
                Err(error) => {
                    tracing::warn!(%error, out_refund_no = %refund.out_refund_no, "refund request failed; retrying with the same number");
                    failed = true;
                }
            }
        }
        // Completion arrives as a payment event; until then nothing is due unless a
        // submission must be retried.
        order.next_action_at = failed.then(|| now.plus(TimeDelta::seconds(30)));
        self.finish(order).await?;
        Ok(Step::Done)
    }
}

pub(crate) fn mark_paid(
    order: &mut Order,
    transaction_id: &str,
    paid_at: Timestamp,
    now: Timestamp,
    how: &str,
) -> Result<(), OrdersError> {
    order.transition_to(OrderState::Paid)?;
    order.payment.transaction_id = Some(transaction_id.to_owned());
    order.payment.paid_at = Some(paid_at);
    order.next_action_at = Some(now);
    order.note(now, "wechat", TimelineCode::Paid, Some(how.to_owned()));
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn apply_result(
    order: &mut Order,
    provider_id: &str,
    key: &str,
    action: &str,
    latency_ms: i64,
    result: &TopupResult,
    now: Timestamp,
    config: &OrdersConfig,
) -> Result<(), OrdersError> {
    if order.state != OrderState::Recharging {
        // Already settled by an earlier pass; nothing to apply.
        return Ok(());
    }
    if let Some(attempt) = order
        .recharge
        .attempts
        .iter_mut()
        .rev()
        .find(|a| a.key == key && a.action == action && a.outcome.is_none())
    {
        attempt.finished_at = Some(now);
        attempt.latency_ms = Some(latency_ms);
        attempt.outcome = Some(result.outcome.clone());
        attempt.summary = Some(result.summary.clone());
    }
    let code = result
        .summary
        .error_code
        .clone()
        .or_else(|| result.summary.provider_status.clone());
    let actor = format!("provider:{provider_id}");
    match &result.outcome {
        TopupOutcome::Succeeded => {
            order.recharge.in_flight = None;
            order.recharge.pending = None;
            order.recharge.provider_transaction_id = result.summary.provider_transaction_id.clone();
            order.recharge.delivered_by = Some(provider_id.to_owned());
            order.transition_to(OrderState::Succeeded)?;
            order.next_action_at = None;
            order.note(
                now,
                actor,
                TimelineCode::Recharged,
                result.summary.provider_transaction_id.clone(),
            );
        }
        TopupOutcome::Pending { provider_ref } => {
            order.recharge.in_flight = None;
            order.recharge.pending = Some(PendingTopup {
                provider_id: provider_id.to_owned(),
                key: key.to_owned(),
                provider_ref: provider_ref.clone(),
                polls: 0,
            });
            order.next_action_at = Some(now.plus(config.poll_interval(0)));
            order.note(
                now,
                actor,
                TimelineCode::ProviderProcessing,
                Some(provider_ref.clone()),
            );
        }
        TopupOutcome::FailedRetryable => {
            order.recharge.in_flight = None;
            order.recharge.pending = None;
            order
                .recharge
                .exhausted_providers
                .push(provider_id.to_owned());
            order.next_action_at = Some(now);
            order.note(now, actor, TimelineCode::AttemptFailed, code);
        }
        TopupOutcome::Precondition => {
            order.recharge.in_flight = None;
            order.recharge.pending = None;
            order
                .recharge
                .exhausted_providers
                .push(provider_id.to_owned());
            order.recharge.precondition = Some(format!(
                "{provider_id}: {}",
                code.clone().unwrap_or_else(|| "provider not ready".into())
            ));
            order.next_action_at = Some(now);
            order.note(now, actor, TimelineCode::ProviderNotReady, code);
        }
        TopupOutcome::FailedFinal => {
            order.recharge.in_flight = None;
            order.recharge.pending = None;
            order.transition_to(OrderState::Failed)?;
            order.next_action_at = Some(now);
            order.note(now, actor, TimelineCode::RechargeFailed, code);
        }
        TopupOutcome::Ambiguous => {
            // Keep `in_flight`: the next pass looks the key up before anything else.
            order.next_action_at = Some(now.plus(TimeDelta::seconds(config.lookup_delay_seconds)));
            order.note(now, actor, TimelineCode::NoAnswer, code);
        }
    }
    Ok(())
}
