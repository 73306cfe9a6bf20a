//! What orders need from the rest of the system, as small traits the composition root fills
//! with the catalog, payment and user services. Keeps this crate free of their internals.

use async_trait::async_trait;
use serde_json::Value;
use topup_core::{Money, Msisdn, Timestamp};

use crate::{CouponFate, OrdersError, PlanSnapshot};

/// A plan as checkout sees it.
#[derive(Debug, Clone)]
pub struct CheckoutPlan {
    pub snapshot: PlanSnapshot,
    /// The retail price in CNY fen; `None` when not priced (not for sale).
    pub retail: Option<Money>,
    pub enabled: bool,
}

#[async_trait]
pub trait PlanCatalog: Send + Sync {
    async fn checkout_plan(&self, plan_id: &str) -> Result<Option<CheckoutPlan>, OrdersError>;

    /// The catalog operator ids of the number's operator (its airtime and data lines), when
    /// detection knows them.
    async fn detect_operators(&self, phone: &Msisdn) -> Option<Vec<String>>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    Phone,
    Openid,
    Ip,
}

#[async_trait]
pub trait Blocklist: Send + Sync {
    /// Which of a checkout's number, user (openid) and address are blocked right now (one
    /// lookup for all).
    async fn blocked(
        &self,
        number: &Msisdn,
        openid: &str,
        ip: Option<&str>,
    ) -> Result<Vec<BlockKind>, OrdersError>;
}

/// The payment an order needs started.
#[derive(Debug, Clone)]
pub struct PaymentStart {
    pub out_trade_no: String,
    pub amount: Money,
    pub payer_openid: String,
    pub description: String,
    pub expires_at: Timestamp,
}

/// What closing an unpaid payment found at WeChat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseOutcome {
    Closed,
    /// It was paid after all (the notification was late or lost).
    Paid {
        transaction_id: String,
        paid_at: Timestamp,
    },
}

#[async_trait]
pub trait PaymentPort: Send + Sync {
    /// Creates the payment and its prepay; answers the `wx.requestPayment` parameters.
    async fn start(&self, start: PaymentStart) -> Result<Value, OrdersError>;

    /// The `wx.requestPayment` parameters of a payment started before, to pay it now: its
    /// prepay_id signed afresh while WeChat still honours it, a new prepay otherwise.
    async fn resume(&self, out_trade_no: &str) -> Result<Value, OrdersError>;

    /// Closes an unpaid payment after querying WeChat.
    async fn close_unpaid(&self, out_trade_no: &str) -> Result<CloseOutcome, OrdersError>;

    /// Requests a refund; idempotent by `out_refund_no` (safe to call again after an error).
    async fn request_refund(
        &self,
        out_trade_no: &str,
        out_refund_no: &str,
        amount: Money,
        reason: &str,
        initiator: &str,
    ) -> Result<(), OrdersError>;
}

/// A coupon's discount on a purchase, as the order records it.
#[derive(Debug, Clone)]
pub struct CouponDiscount {
    pub label: String,
    pub amount: Money,
}

/// Coupons (the marketing module): locked at checkout, settled as the order moves on. The
/// policy (which order state spends or returns a coupon) is the order's: [`CouponFate`].
#[async_trait]
pub trait Coupons: Send + Sync {
    /// Locks the user's coupon for `order_no` and answers its discount on `plan` at `base`;
    /// [`OrdersError::CouponNotUsable`] when it does not apply.
    async fn lock(
        &self,
        coupon_id: &str,
        user_id: &str,
        order_no: &str,
        plan: &PlanSnapshot,
        base: Money,
    ) -> Result<CouponDiscount, OrdersError>;

    /// Moves the coupon `order_no` holds to `fate` (idempotent).
    async fn settle(
        &self,
        coupon_id: &str,
        order_no: &str,
        fate: CouponFate,
    ) -> Result<(), OrdersError>;
}

/// A buyer's membership discount.
#[derive(Debug, Clone)]
pub struct MemberDiscount {
    /// The membership's name, for the price line.
    pub label: String,
    /// Whole percent off the base price.
    pub percent: u32,
}

/// Memberships (the marketing module): whether a buyer holds one and what it takes off.
#[async_trait]
pub trait Members: Send + Sync {
    async fn discount(&self, user_id: &str) -> Result<Option<MemberDiscount>, OrdersError>;
}

/// The recharge terms a buyer must have accepted before placing an order (the content
/// module's agreements, `docs/content.md#agreements`).
#[async_trait]
pub trait RechargeTerms: Send + Sync {
    /// The current version's number and title when the buyer has not accepted it.
    async fn awaiting(&self, user_id: &str) -> Result<Option<(u32, String)>, OrdersError>;
}

/// What an order tells its buyer about (`docs/notifications.md#order-notices`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderNoticeKind {
    PaymentSucceeded,
    RechargeSucceeded,
    RechargeFailedRefunded,
    RefundSucceeded,
}

/// One thing that happened to an order, named once and for all by `key`.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderNotice {
    /// `order:<order_no>:<event>` (a refund's adds its refund number).
    pub key: String,
    pub kind: OrderNoticeKind,
    /// Paid, or refunded.
    pub amount: Money,
    pub reason: Option<String>,
    pub at: Timestamp,
}

/// Notifications (the notify module): an order's notices are handed over once each, before
/// the order records that they were (a crash in between hands one over again, which the
/// receiver ignores by its key).
#[async_trait]
pub trait OrderNotices: Send + Sync {
    async fn notify(&self, order: &crate::Order, notice: &OrderNotice) -> Result<(), OrdersError>;
}
