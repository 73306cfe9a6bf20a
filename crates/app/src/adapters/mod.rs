//! The ports one domain declares, filled with another domain's service. Orders declare what
//! they need (`topup_orders::{PlanCatalog, Blocklist, PaymentPort}`); these adapters connect
//! them to the catalog, the app users' blacklist and WeChat Pay, and carry the policy that
//! belongs to the connection (a paid payment is never closed; checkout proceeds when operator
//! detection fails).

mod alerts;
mod catalog;
mod content;
mod failed_numbers;
mod marketing;
mod notify;
mod orders;
mod payment_events;

pub use alerts::DomainAlerts;
pub use catalog::CatalogPlans;
pub use content::AgreementTerms;
pub use failed_numbers::{FailedNumberRule, FailedNumbers};
pub use marketing::{
    MEMBERSHIP_BIZ_TYPE, MarketingCoupons, MarketingMembers, MembershipWechatPayments,
    OrderLockHolders,
};
pub use notify::{MembershipMessages, OrderMessages, sandbox_templates};
pub use orders::{BIZ_TYPE, UserBlocklist, WechatPayLedger, WechatPayments};
pub use payment_events::{OwnerPaymentEvents, PaymentOwner};
