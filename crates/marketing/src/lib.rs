//! Marketing (`docs/marketing.md`): coupon templates staff define, the coupons users claim or
//! are given, each coupon's lock / use / return as the order it was applied to moves on, and
//! paid membership cards (their orders, the membership they extend, its monthly bundle).
//! Knows nothing of orders: the orders crate asks for a lock and a settlement through its
//! `Coupons` port, filled in by the composition root.

mod error;
mod membership;
mod model;
mod service;

pub use error::MarketingError;
pub use membership::{
    BundleItem, Membership, MembershipNotices, MembershipOrder, MembershipOrderQuery,
    MembershipOrderState, MembershipPayments, MembershipPlan, MembershipRefund, PlanDraft,
};
pub use model::{
    Channel, Coupon, CouponScope, CouponState, CouponTemplate, CouponTerms, DiscountKind, Purchase,
    Unusable, Validity,
};
pub use service::{
    Claimable, CouponOption, CouponQuery, IssueRefusal, IssueReport, LockHolders, MarketingService,
    Settlement, TemplateDraft, TemplateQuery, TemplateStats,
};
