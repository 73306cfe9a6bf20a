//! The top-up order (`docs/architecture.md#storage`, `#money-rules`): checkout, one state machine,
//! and the workers that drive it from payment to recharge to refund, exactly once whatever crashes
//! in between.

mod config;
mod due;
mod engine;
mod error;
mod model;
mod ports;
pub mod pricing;
pub mod reconcile;
mod service;
pub mod stats;

pub use config::{CheckoutRules, OrdersConfig};
pub use due::DueSignal;
pub use engine::OrderEngine;
pub use error::OrdersError;
pub use model::{
    AppliedCoupon, CheckoutKey, CouponFate, Hold, InFlight, Order, OrderFigures, OrderRefund,
    OrderState, PaymentInfo, PendingTopup, PlanKind, PlanSnapshot, PriceLine,
    RECHARGE_FAILED_REASON, RechargeAttempt, RechargeInfo, RechargeLogEntry, RefundState,
    TimelineCode, TimelineEvent,
};
pub use ports::{
    BlockKind, Blocklist, CheckoutPlan, CloseOutcome, CouponDiscount, Coupons, MemberDiscount,
    Members, OrderNotice, OrderNoticeKind, OrderNotices, PaymentPort, PaymentStart, PlanCatalog,
    RechargeTerms,
};
pub use service::{
    Checkout, CheckoutRequest, HeldRefundBy, OrderQuery, OrdersService, Priced, RechargeLogQuery,
};
