//! The order document: one unit of consistency that carries its own whole story — state, price
//! lines, payment, every recharge attempt, refunds and a timeline (`docs/architecture.md#storage`).

use serde::{Deserialize, Serialize};
use topup_core::{CountryCode, Money, Timestamp};
use topup_recharge::{AttemptSummary, ProviderAmount, TopupOutcome};
use topup_store::{Document, Lease};
use utoipa::ToSchema;

/// The one state machine of an order.
///
/// ```text
/// awaiting_payment ─┬─> paid ─> recharging ─┬─> succeeded ─(staff refund)─> refunding ─> refunded
///                   └─> closed              └─> failed ─> refunding ─> refunded
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    AwaitingPayment,
    Paid,
    Recharging,
    Succeeded,
    Failed,
    Refunding,
    Refunded,
    Closed,
}

impl OrderState {
    pub fn as_str(&self) -> &'static str {
        match self {
            OrderState::AwaitingPayment => "awaiting_payment",
            OrderState::Paid => "paid",
            OrderState::Recharging => "recharging",
            OrderState::Succeeded => "succeeded",
            OrderState::Failed => "failed",
            OrderState::Refunding => "refunding",
            OrderState::Refunded => "refunded",
            OrderState::Closed => "closed",
        }
    }

    /// Whether the machine allows `self → next`. Every state change goes through this.
    pub fn can_become(&self, next: OrderState) -> bool {
        use OrderState::*;
        matches!(
            (self, next),
            (AwaitingPayment, Paid)
                | (AwaitingPayment, Closed)
                | (Paid, Recharging)
                | (Recharging, Succeeded)
                | (Recharging, Failed)
                | (Failed, Refunding)
                | (Succeeded, Refunding)
                | (Refunding, Refunded)
                // A partial staff refund completes back into the delivered state.
                | (Refunding, Succeeded)
                // A payment that arrived after the order closed is returned.
                | (Closed, Refunding)
        )
    }

    /// Unpaid, paid or recharging: the user's number is taken by this order.
    pub fn is_open(&self) -> bool {
        matches!(
            self,
            OrderState::AwaitingPayment | OrderState::Paid | OrderState::Recharging
        )
    }

    pub fn is_final(&self) -> bool {
        matches!(
            self,
            OrderState::Succeeded | OrderState::Refunded | OrderState::Closed
        )
    }
}

impl From<OrderState> for serde_json::Value {
    fn from(state: OrderState) -> Self {
        serde_json::Value::String(state.as_str().to_owned())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanKind {
    Airtime,
    Data,
}

impl PlanKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            PlanKind::Airtime => "airtime",
            PlanKind::Data => "data",
        }
    }
}

/// What was bought, frozen at checkout so later catalog edits never change an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanSnapshot {
    pub plan_id: String,
    pub kind: PlanKind,
    pub country: CountryCode,
    pub operator_id: String,
    pub operator_name: String,
    pub title: String,
    /// The provider whose catalog the plan came from, and its product.
    pub provider_id: String,
    pub provider_operator_id: String,
    /// What the provider is asked to send (sender currency, or local when `use_local_amount`).
    #[schema(value_type = Object)]
    pub provider_amount: ProviderAmount,
    pub use_local_amount: bool,
}

/// One line of the price: the base retail price, then discounts (membership, coupon).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PriceLine {
    /// `base`, `membership`, `coupon`.
    pub kind: String,
    pub label: String,
    /// Positive for the base, negative for discounts.
    pub amount: Money,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PaymentInfo {
    pub out_trade_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<Timestamp>,
}

/// One call to a provider (or one lookup of an earlier call), as the recharge log shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RechargeAttempt {
    /// 1-based attempt number; its idempotency key is `<order_no>-<n>`.
    pub number: u32,
    pub provider_id: String,
    pub key: String,
    /// `send`, `lookup` or `status`.
    pub action: String,
    pub started_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<i64>,
    /// The outcome class, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub outcome: Option<TopupOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub summary: Option<AttemptSummary>,
}

/// The dispatch written *before* a provider is called: after a crash it says "this key may
/// have been committed at this provider — look it up before anything else".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InFlight {
    pub provider_id: String,
    pub key: String,
    pub since: Timestamp,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RechargeInfo {
    #[serde(default)]
    pub attempts: Vec<RechargeAttempt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_flight: Option<InFlight>,
    /// A provider accepted the top-up and is still processing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingTopup>,
    /// Providers that failed this order in a way that allows trying the next one.
    #[serde(default)]
    pub exhausted_providers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_by: Option<String>,
    /// The last "our side is not ready" answer (wallet empty, credentials): if no other
    /// provider can deliver, the order is held for staff with this reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precondition: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PendingTopup {
    pub provider_id: String,
    pub key: String,
    pub provider_ref: String,
    pub polls: u32,
}

/// Why an order waits for staff (a provider precondition: wallet empty, credentials).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Hold {
    pub reason: String,
    pub since: Timestamp,
    /// When the hold outlasted `orders.hold_alert_minutes` and was reported (once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerted_at: Option<Timestamp>,
}

impl Hold {
    pub fn new(reason: impl Into<String>, since: Timestamp) -> Self {
        Hold {
            reason: reason.into(),
            since,
            alerted_at: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundState {
    Requested,
    Succeeded,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrderRefund {
    pub out_refund_no: String,
    pub amount: Money,
    pub reason: String,
    /// `system` for automatic refunds, else the staff user id.
    pub initiator: String,
    pub state: RefundState,
    pub requested_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    /// Whether the payment side has accepted the request (it is retried until it has).
    #[serde(default)]
    pub submitted: bool,
}

/// One entry of the order's story.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TimelineEvent {
    pub at: Timestamp,
    /// `user:<id>`, `staff:<id>`, `system`, `wechat`, `provider:<id>`.
    pub actor: String,
    /// The English phrase of a [`TimelineCode`].
    pub what: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl TimelineEvent {
    /// The step this entry records; `None` for a phrase no code has (`docs/architecture.md#timeline`).
    pub fn code(&self) -> Option<TimelineCode> {
        self.what.parse().ok()
    }
}

/// The steps an order's timeline records, each with a stable code (serialized `snake_case`)
/// and the English phrase the entry stores (strum's `serialize`), so that the console and the
/// app can word each step in the reader's language (`docs/architecture.md#timeline`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    strum::EnumIter,
    strum::EnumString,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
pub enum TimelineCode {
    #[strum(serialize = "order placed")]
    OrderPlaced,
    #[strum(serialize = "paid")]
    Paid,
    #[strum(serialize = "paid after the order closed")]
    PaidAfterClose,
    #[strum(serialize = "not paid in time; closing its payment")]
    PayDeadlinePassed,
    #[strum(serialize = "closed: not paid in time")]
    ClosedUnpaid,
    #[strum(serialize = "closed: payment could not be started")]
    ClosedPaymentNotStarted,
    #[strum(serialize = "closed: payment closed")]
    ClosedPaymentClosed,
    #[strum(serialize = "cancel requested")]
    CancelRequested,
    #[strum(serialize = "closed: cancelled")]
    ClosedCancelled,
    #[strum(serialize = "recharge started")]
    RechargeStarted,
    #[strum(serialize = "provider is processing")]
    ProviderProcessing,
    #[strum(serialize = "attempt failed, will retry")]
    AttemptFailed,
    #[strum(serialize = "provider not ready")]
    ProviderNotReady,
    #[strum(serialize = "no answer; will look the top-up up by its key")]
    NoAnswer,
    #[strum(serialize = "earlier attempt never reached the provider")]
    EarlierAttemptNeverSent,
    #[strum(
        serialize = "earlier attempt not found at the provider; sending again under the same key"
    )]
    EarlierAttemptResent,
    #[strum(serialize = "recharged")]
    Recharged,
    #[strum(serialize = "recharge failed")]
    RechargeFailed,
    #[strum(serialize = "held for staff")]
    Held,
    #[strum(serialize = "hold alert raised")]
    HoldAlertRaised,
    #[strum(serialize = "held order given up")]
    HoldGivenUp,
    #[strum(serialize = "retry requested")]
    RetryRequested,
    #[strum(serialize = "automatic full refund requested")]
    AutomaticRefundRequested,
    #[strum(serialize = "refund requested")]
    RefundRequested,
    #[strum(serialize = "refund submitted")]
    RefundSubmitted,
    #[strum(serialize = "refunded")]
    Refunded,
    #[strum(serialize = "refund failed")]
    RefundFailed,
    #[strum(serialize = "coupon used")]
    CouponUsed,
    #[strum(serialize = "coupon returned")]
    CouponReturned,
    #[strum(serialize = "coupon locked")]
    CouponLocked,
}

impl TimelineCode {
    /// Every step, in declaration order.
    pub fn all() -> impl Iterator<Item = TimelineCode> {
        <Self as strum::IntoEnumIterator>::iter()
    }

    /// The English phrase the timeline stores.
    pub fn phrase(self) -> &'static str {
        self.into()
    }

    /// Whether the buyer sees this step on their order: the payment, the recharge and the
    /// money's way back, not the provider's retries, staff alerts or coupon bookkeeping.
    pub fn shown_to_buyer(self) -> bool {
        use TimelineCode::*;
        matches!(
            self,
            OrderPlaced
                | Paid
                | PaidAfterClose
                | ClosedUnpaid
                | ClosedPaymentNotStarted
                | ClosedPaymentClosed
                | CancelRequested
                | ClosedCancelled
                | RechargeStarted
                | Recharged
                | RechargeFailed
                | Held
                | AutomaticRefundRequested
                | RefundRequested
                | Refunded
                | RefundFailed
        )
    }
}

/// Where an order's coupon should be, by the order's state (`docs/marketing.md#coupons-and-orders`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CouponFate {
    /// Held while the order is unpaid.
    Locked,
    /// Spent: the order was paid (a partial refund leaves it spent).
    Used,
    /// Given back: the order closed unpaid or was refunded in full.
    Returned,
}

/// Why the buyer got their money back after a recharge that could not be delivered, as a
/// notice tells them.
pub const RECHARGE_FAILED_REASON: &str = "充值未成功，已全额退款";

/// The coupon an order was checked out with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AppliedCoupon {
    pub coupon_id: String,
    pub discount: Money,
    /// Where the coupon should be.
    pub fate: CouponFate,
    /// Whether marketing has been told `fate`. Until it has, the order stays due, so a crash
    /// between the order's change and the coupon's never leaves the coupon behind.
    pub settled: bool,
}

impl AppliedCoupon {
    /// Follows the order into `next`: paid spends the coupon, closed or fully refunded gives
    /// it back.
    fn follow(&mut self, next: OrderState) {
        let fate = match next {
            OrderState::Paid => CouponFate::Used,
            OrderState::Closed | OrderState::Refunded => CouponFate::Returned,
            _ => return,
        };
        if self.fate != fate {
            self.fate = fate;
            self.settled = false;
        }
    }

    pub fn is_unsettled(&self) -> bool {
        !self.settled
    }
}

/// The `Idempotency-Key` a checkout was made with, and a hash of its body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckoutKey {
    pub key: String,
    pub body_hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Order {
    /// The order number; also the WeChat `out_trade_no` (a ULID fits its pattern).
    pub id: String,
    #[serde(default)]
    pub version: i64,
    pub user_id: String,
    pub openid: String,
    pub phone: String,
    pub country: CountryCode,
    pub plan: PlanSnapshot,
    pub price_lines: Vec<PriceLine>,
    pub total: Money,
    pub state: OrderState,
    pub payment: PaymentInfo,
    #[serde(default)]
    pub recharge: RechargeInfo,
    #[serde(default)]
    pub refunds: Vec<OrderRefund>,
    #[serde(default)]
    pub timeline: Vec<TimelineEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Hold>,
    /// The coupon applied at checkout and where it should be now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon: Option<AppliedCoupon>,
    /// The keys of the notices handed to notifications (see [`Order::pending_notices`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(ignore)]
    pub notices_given: Vec<String>,
    /// When a worker should next look at this order; absent when nothing is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_action_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub lease: Option<Lease>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub checkout_key: Option<CheckoutKey>,
    /// `<user_id>:<e164>` while the order is open (unpaid, paid or recharging), absent once
    /// it closes or finishes: a unique index on it makes "one open order per user and
    /// number" a store-level guarantee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub open_slot: Option<String>,
    /// Set by the user's cancel before WeChat is asked to close the payment. A checkout
    /// still placing its prepay reads it afterwards and never hands that prepay out, so a
    /// cancel that found nothing to close at WeChat cannot be followed by a payable prepay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub cancel_requested_at: Option<Timestamp>,
    /// When an unpaid order is closed.
    pub pay_deadline: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The client address at checkout (for limits and audit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub client_ip: Option<String>,
    /// Money figures kept as plain integers beside the order, so the statistics can sum them
    /// in the store (`crate::stats`). Refreshed on every write.
    #[serde(default)]
    #[schema(ignore)]
    pub figures: OrderFigures,
}

/// What the dashboard sums per order, in fen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFigures {
    /// Refunds WeChat has confirmed.
    pub refunded: i64,
    /// The coupon's discount (positive).
    pub coupon_off: i64,
    /// The membership discount (positive).
    pub member_off: i64,
}

impl OrderFigures {
    /// The figures of `order` as it is now; sums are checked, and one that overflows (it
    /// cannot, with real amounts) saturates rather than failing a write.
    pub fn of(order: &Order) -> Self {
        let refunded = order
            .refunds
            .iter()
            .filter(|r| r.state == RefundState::Succeeded)
            .fold(0_i64, |sum, r| sum.saturating_add(r.amount.amount));
        let discount = |kind: &str| {
            order
                .price_lines
                .iter()
                .filter(|line| line.kind == kind)
                .fold(0_i64, |sum, line| sum.saturating_sub(line.amount.amount))
        };
        OrderFigures {
            refunded,
            coupon_off: discount("coupon"),
            member_off: discount("membership"),
        }
    }
}

impl Document for Order {
    const COLLECTION: &'static str = "orders";
}

impl Order {
    pub fn order_no(&self) -> &str {
        &self.id
    }

    /// Adds a refund of `amount` to be requested at WeChat, numbered `<order_no>R<n>` so a
    /// retried request is the same refund there.
    pub fn add_refund(&mut self, amount: Money, reason: &str, initiator: &str, now: Timestamp) {
        let number = self.refunds.len() + 1;
        self.refunds.push(OrderRefund {
            out_refund_no: format!("{}R{number}", self.id),
            amount,
            reason: reason.to_owned(),
            initiator: initiator.to_owned(),
            state: RefundState::Requested,
            requested_at: now,
            finished_at: None,
            submitted: false,
        });
    }

    /// A coupon whose new fate marketing has not been told, or a notice not handed over,
    /// makes the order due now: the worker does it (`OrderEngine`), whatever crashed in
    /// between.
    pub(crate) fn make_due_for_followups(&mut self, now: Timestamp) {
        let owed = self
            .coupon
            .as_ref()
            .is_some_and(AppliedCoupon::is_unsettled)
            || !self.pending_notices().is_empty();
        if owed && self.next_action_at.is_none_or(|at| at > now) {
            self.next_action_at = Some(now);
        }
    }

    /// What the buyer should hear about, by what the order records: paid, recharged,
    /// refunded after a failed recharge, and each refund paid out.
    pub fn notices(&self) -> Vec<crate::OrderNotice> {
        use crate::{OrderNotice, OrderNoticeKind};
        let key = |event: &str| format!("order:{}:{event}", self.id);
        let mut notices = Vec::new();
        if let Some(paid_at) = self.payment.paid_at
            && self.state != OrderState::Closed
        {
            notices.push(OrderNotice {
                key: key("payment_succeeded"),
                kind: OrderNoticeKind::PaymentSucceeded,
                amount: self.total,
                reason: None,
                at: paid_at,
            });
        }
        if self.state == OrderState::Succeeded {
            notices.push(OrderNotice {
                key: key("recharge_succeeded"),
                kind: OrderNoticeKind::RechargeSucceeded,
                amount: self.total,
                reason: None,
                at: self.updated_at,
            });
        }
        let refunded = |r: &&OrderRefund| r.state == RefundState::Succeeded;
        if self.state == OrderState::Refunded
            && self.refunds.iter().any(|r| r.initiator == "system")
        {
            let amount = self
                .refunds
                .iter()
                .filter(refunded)
                .try_fold(Money::zero(self.total.currency), |sum, r| {
                    sum.checked_add(r.amount)
                })
                .unwrap_or(self.total);
            notices.push(OrderNotice {
                key: key("recharge_failed_refunded"),
                kind: OrderNoticeKind::RechargeFailedRefunded,
                amount,
                reason: Some(RECHARGE_FAILED_REASON.into()),
                at: self.updated_at,
            });
        }
        for refund in self.refunds.iter().filter(refunded) {
            notices.push(OrderNotice {
                key: key(&format!("refund_succeeded:{}", refund.out_refund_no)),
                kind: OrderNoticeKind::RefundSucceeded,
                amount: refund.amount,
                reason: Some(if refund.initiator == "system" {
                    RECHARGE_FAILED_REASON.to_owned()
                } else {
                    refund.reason.clone()
                }),
                at: refund.finished_at.unwrap_or(self.updated_at),
            });
        }
        notices
    }

    /// The notices not handed over yet.
    pub fn pending_notices(&self) -> Vec<crate::OrderNotice> {
        let mut notices = self.notices();
        notices.retain(|n| !self.notices_given.contains(&n.key));
        notices
    }

    /// Unpaid, and nobody asked to cancel it: its pay parameters may be handed out.
    pub fn is_payable(&self) -> bool {
        self.state == OrderState::AwaitingPayment && self.cancel_requested_at.is_none()
    }

    /// The one way an order changes state: refuses any edge the machine does not allow.
    pub fn transition_to(&mut self, next: OrderState) -> Result<(), crate::OrdersError> {
        if !self.state.can_become(next) {
            return Err(crate::OrdersError::InvalidState {
                state: self.state.as_str().to_owned(),
                action: format!("becoming {}", next.as_str()),
            });
        }
        self.state = next;
        if let Some(coupon) = &mut self.coupon {
            coupon.follow(next);
        }
        if !next.is_open() {
            // Frees the user's slot for this number (see `open_slot`).
            self.open_slot = None;
        }
        Ok(())
    }

    /// The value of `open_slot` for a user and number.
    pub fn slot_of(user_id: &str, e164: &str) -> String {
        format!("{user_id}:{e164}")
    }

    /// What every `open_slot` of a user's open orders begins with (user ids have no `:`).
    pub fn slot_prefix_of(user_id: &str) -> String {
        format!("{user_id}:")
    }

    /// Whether the order waits for staff (recharging, no provider can deliver it now).
    pub fn is_held(&self) -> bool {
        self.state == OrderState::Recharging && self.hold.is_some()
    }

    /// Appends to the timeline.
    pub fn note(
        &mut self,
        at: Timestamp,
        actor: impl Into<String>,
        what: TimelineCode,
        detail: Option<String>,
    ) {
        self.timeline.push(TimelineEvent {
            at,
            actor: actor.into(),
            what: what.phrase().to_owned(),
            detail,
        });
    }

    /// Sum of refunds not failed.
    pub fn refunded_or_pending(&self) -> Result<Money, topup_core::CoreError> {
        self.refunds
            .iter()
            .filter(|r| r.state != RefundState::Failed)
            .try_fold(Money::zero(self.total.currency), |sum, r| {
                sum.checked_add(r.amount)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::OrderState::*;

    #[test]
    fn the_machine_allows_only_its_edges() {
        let all = [
            AwaitingPayment,
            Paid,
            Recharging,
            Succeeded,
            Failed,
            Refunding,
            Refunded,
            Closed,
        ];
        let allowed = [
            (AwaitingPayment, Paid),
            (AwaitingPayment, Closed),
            (Paid, Recharging),
            (Recharging, Succeeded),
            (Recharging, Failed),
            (Failed, Refunding),
            (Succeeded, Refunding),
            (Refunding, Refunded),
            (Refunding, Succeeded),
            (Closed, Refunding),
        ];
        for from in all {
            for to in all {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
        assert!(!Closed.can_become(Paid), "a closed order is never paid");
        assert!(!Refunded.can_become(Recharging));
    }

    fn order_in(state: super::OrderState) -> super::Order {
        serde_json::from_value(serde_json::json!({
            "id": "01J", "user_id": "u", "openid": "o", "phone": "+639171234500",
            "country": "PH",
            "plan": {"plan_id": "p", "kind": "airtime", "country": "PH", "operator_id": "op",
                "operator_name": "Globe", "title": "t", "provider_id": "a",
                "provider_operator_id": "173",
                "provider_amount": {"value": "5", "currency": "USD"}, "use_local_amount": false},
            "price_lines": [], "total": {"amount": 3800, "currency": "CNY"},
            "state": state, "payment": {"out_trade_no": "01J"},
            "pay_deadline": "2026-01-01T00:15:00Z", "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn an_illegal_edge_is_refused_and_leaves_the_state_alone() {
        let mut order = order_in(Succeeded);
        let refused = order.transition_to(Paid);
        assert!(
            matches!(refused, Err(crate::OrdersError::InvalidState { .. })),
            "{refused:?}"
        );
        assert_eq!(order.state, Succeeded);
        let mut closed = order_in(Closed);
        assert!(closed.transition_to(Recharging).is_err());
        assert!(closed.transition_to(Refunding).is_ok());
        assert_eq!(closed.state, Refunding);
    }

    #[test]
    fn every_timeline_step_reads_back_from_its_phrase_and_has_its_own_code() {
        use super::TimelineCode;
        use std::collections::HashSet;
        let mut phrases = HashSet::new();
        let mut codes = HashSet::new();
        for code in TimelineCode::all() {
            assert_eq!(code.phrase().parse::<TimelineCode>(), Ok(code));
            assert!(phrases.insert(code.phrase()), "{code:?}");
            let wire = serde_json::to_value(code).unwrap();
            assert!(codes.insert(wire.to_string()), "{code:?}");
        }
        assert_eq!(phrases.len(), 30);
        // Entries written before codes existed read as before; others have none.
        let old = super::TimelineEvent {
            at: topup_core::Timestamp::from_unix_millis(0).unwrap(),
            actor: "wechat".into(),
            what: "paid".into(),
            detail: None,
        };
        assert_eq!(old.code(), Some(TimelineCode::Paid));
        let unknown = super::TimelineEvent {
            what: "something else".into(),
            ..old
        };
        assert_eq!(unknown.code(), None);
    }
}

/// One provider call of the recharge log, kept beside the order so staff can list every
/// attempt across orders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RechargeLogEntry {
    /// `<key>:<action>:<sequence>`.
    pub id: String,
    pub order_no: String,
    pub provider_id: String,
    pub key: String,
    /// `send`, `lookup` or `status`.
    pub action: String,
    #[schema(value_type = Object)]
    pub outcome: TopupOutcome,
    /// Outcome class as a plain word, for filtering.
    pub outcome_class: String,
    #[schema(value_type = Object)]
    pub summary: AttemptSummary,
    pub latency_ms: i64,
    pub country: CountryCode,
    /// Masked: the log is for operations, not for reading numbers.
    pub phone_masked: String,
    pub at: Timestamp,
}

impl Document for RechargeLogEntry {
    const COLLECTION: &'static str = "recharge_log";
}

pub fn outcome_class(outcome: &TopupOutcome) -> &'static str {
    match outcome {
        TopupOutcome::Succeeded => "succeeded",
        TopupOutcome::Pending { .. } => "pending",
        TopupOutcome::FailedRetryable => "failed_retryable",
        TopupOutcome::FailedFinal => "failed_final",
        TopupOutcome::Precondition => "precondition",
        TopupOutcome::Ambiguous => "ambiguous",
    }
}
