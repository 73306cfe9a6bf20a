//! Permission codes (`module:resource:action`) as marker types, so a route states the one it
//! needs in its handler signature: `Require<perm::SystemUserCreate>`.

/// A permission a route can require. Implemented only by the markers below.
pub trait Permission: Send + Sync + 'static {
    const CODE: &'static str;
}

macro_rules! permissions {
    ($( $(#[$doc:meta])* $name:ident = $code:literal; )*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub struct $name;

            impl Permission for $name {
                const CODE: &'static str = $code;
            }
        )*

        /// Every code a route can require, in declaration order.
        pub const ALL: &[&str] = &[$($code,)*];
    };
}

permissions! {
    /// See the home page's figures: orders, money, users, provider balances.
    DashboardView = "dashboard:dashboard:view";
    /// List and view staff users.
    SystemUserList = "system:user:list";
    SystemUserCreate = "system:user:create";
    /// Change a staff user's profile (display name).
    SystemUserUpdate = "system:user:update";
    SystemUserDisable = "system:user:disable";
    SystemUserEnable = "system:user:enable";
    SystemUserResetPassword = "system:user:reset-password";
    SystemUserAssignRoles = "system:user:assign-roles";
    /// Lift the sign-in locks on a staff user's name.
    SystemUserUnlock = "system:user:unlock";
    /// List and view roles.
    SystemRoleList = "system:role:list";
    SystemRoleCreate = "system:role:create";
    SystemRoleUpdate = "system:role:update";
    SystemRoleDelete = "system:role:delete";
    SystemRoleAssignPermissions = "system:role:assign-permissions";
    /// View the whole menu/permission tree.
    SystemMenuList = "system:menu:list";
    SystemMenuCreate = "system:menu:create";
    SystemMenuUpdate = "system:menu:update";
    SystemMenuDelete = "system:menu:delete";
    /// See who is signed in.
    SystemSessionList = "system:session:list";
    /// Force a session to log out.
    SystemSessionRevoke = "system:session:revoke";
    /// List integrators' API keys (never the keys themselves).
    SystemApiKeyList = "system:apikey:list";
    /// Create an API key holding some of one's own permissions.
    SystemApiKeyCreate = "system:apikey:create";
    SystemApiKeyRevoke = "system:apikey:revoke";
    SystemLoginLogList = "system:login-log:list";
    SystemOperationLogList = "system:operation-log:list";
    SystemAccessLogList = "system:access-log:list";
    /// List coupon templates with their statistics.
    MarketingCouponTemplateList = "marketing:coupon-template:list";
    MarketingCouponTemplateCreate = "marketing:coupon-template:create";
    /// Edit a template's terms, stock, channel, or enable / disable it.
    MarketingCouponTemplateUpdate = "marketing:coupon-template:update";
    /// Give a template's coupons to chosen app users.
    MarketingCouponIssue = "marketing:coupon:issue";
    /// List users' coupons.
    MarketingCouponList = "marketing:coupon:list";
    /// List membership plans.
    MarketingMembershipPlanList = "marketing:membership-plan:list";
    MarketingMembershipPlanCreate = "marketing:membership-plan:create";
    MarketingMembershipPlanUpdate = "marketing:membership-plan:update";
    /// List members and their memberships.
    MarketingMemberList = "marketing:member:list";
    /// List membership orders.
    MarketingMembershipOrderList = "marketing:membership-order:list";
    /// Refund a membership order (its time and unused bundle coupons are taken back).
    MarketingMembershipOrderRefund = "marketing:membership-order:refund";
    /// List banners with their click counts.
    ContentBannerList = "content:banner:list";
    ContentBannerCreate = "content:banner:create";
    ContentBannerUpdate = "content:banner:update";
    ContentBannerDelete = "content:banner:delete";
    /// List announcements.
    ContentAnnouncementList = "content:announcement:list";
    ContentAnnouncementCreate = "content:announcement:create";
    ContentAnnouncementUpdate = "content:announcement:update";
    ContentAnnouncementDelete = "content:announcement:delete";
    /// See the home page's draft, preview and published versions.
    ContentHomeView = "content:home:view";
    /// Edit and save the home page's draft.
    ContentHomeEdit = "content:home:edit";
    /// Publish the draft, or roll back to an earlier version (what every user sees).
    ContentHomePublish = "content:home:publish";
    /// See the customer service page's content.
    ContentServiceView = "content:service:view";
    /// Edit the customer service page: questions, contacts, working hours.
    ContentServiceUpdate = "content:service:update";
    /// See the agreements and every version of them.
    ContentAgreementList = "content:agreement:list";
    /// Publish a new version of an agreement (users are asked to accept it again).
    ContentAgreementPublish = "content:agreement:publish";
    /// See the WeChat message templates and what their deliveries came to.
    NotifyTemplateList = "notify:template:list";
    /// Set an event's WeChat template, its page and data mapping, or turn it off.
    NotifyTemplateUpdate = "notify:template:update";
    /// Read the delivery log of WeChat messages.
    NotifyDeliveryList = "notify:delivery:list";
    /// Send a failed or skipped message again.
    NotifyDeliveryResend = "notify:delivery:resend";
    /// Read the log of staff alerts sent through the official account.
    NotifyAlertList = "notify:alert:list";
    /// Send a test alert to the staff configured to receive alerts.
    NotifyAlertTest = "notify:alert:test";
    /// See the settings (secrets only as set or not).
    SystemSettingView = "system:setting:view";
    /// Change settings, secrets included (write-only).
    SystemSettingUpdate = "system:setting:update";
    /// List, filter and view orders with their timelines.
    OrderList = "order:order:list";
    /// Export the order list as CSV.
    OrderExport = "order:order:export";
    /// See customers' personal data in full (phone numbers, openids, addresses) in orders
    /// and mini-program users; without it they are masked.
    OrderPersonalView = "order:personal:view";
    /// Refund a delivered order, fully or partly.
    OrderRefund = "order:order:refund";
    /// Send a held order back to recharging.
    OrderRetry = "order:order:retry";
    /// Read the recharge log (every provider attempt).
    OrderRechargeList = "order:recharge:list";
    /// List and view catalog countries.
    CatalogCountryList = "catalog:country:list";
    /// Rename, sort, enable or disable countries.
    CatalogCountryUpdate = "catalog:country:update";
    CatalogOperatorList = "catalog:operator:list";
    /// Rename, re-logo, group, sort, enable or disable operators.
    CatalogOperatorUpdate = "catalog:operator:update";
    CatalogPlanList = "catalog:plan:list";
    /// Make a custom-amount plan.
    CatalogPlanCreate = "catalog:plan:create";
    /// Titles, tags, sort, enable/disable, pin a price.
    CatalogPlanUpdate = "catalog:plan:update";
    /// Delete a custom-amount plan.
    CatalogPlanDelete = "catalog:plan:delete";
    /// Read the pricing rules and the price-change log.
    CatalogPricingView = "catalog:pricing:view";
    /// Change markups and the price step (reprices every plan).
    CatalogPricingUpdate = "catalog:pricing:update";
    /// Sync the catalog from the providers now.
    CatalogSyncRun = "catalog:sync:run";
    /// Read sync reports.
    CatalogSyncList = "catalog:sync:list";
    /// List, search and view mini-program users.
    UserAppUserList = "user:app_user:list";
    /// Disable a mini-program user: every app route refuses them at once.
    UserAppUserDisable = "user:app_user:disable";
    UserAppUserEnable = "user:app_user:enable";
    /// List blacklist entries (phone numbers, openids, addresses).
    UserBlacklistList = "user:blacklist:list";
    UserBlacklistCreate = "user:blacklist:create";
    UserBlacklistDelete = "user:blacklist:delete";
    /// Daily new and active mini-program users.
    UserVisitorList = "user:visitor:list";
    /// See payment alerts: WeChat Pay reports that disagree with our records.
    PaymentAlertList = "payment:alert:list";
    /// See reconciliation reports: orders held against WeChat Pay's and the provider's
    /// records, and their discrepancies (with export).
    FinanceReconcileView = "finance:reconcile:view";
    /// Start a reconciliation of a period.
    FinanceReconcileRun = "finance:reconcile:run";
}

/// `module:resource:action`, each part lower-case letters, digits, `-` or `_`, starting
/// with a letter.
pub fn is_valid_code(code: &str) -> bool {
    let parts: Vec<&str> = code.split(':').collect();
    code.len() <= 96
        && parts.len() == 3
        && parts.iter().all(|part| {
            let mut chars = part.chars();
            matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
                && chars
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_well_formed_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in ALL {
            assert!(is_valid_code(code), "{code}");
            assert!(seen.insert(code), "duplicate {code}");
        }
        assert!(!is_valid_code("system:user"));
        assert!(!is_valid_code("System:user:list"));
        assert!(!is_valid_code("a:b:c:d"));
        assert_eq!(SystemUserCreate::CODE, "system:user:create");
    }
}
