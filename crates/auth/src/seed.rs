//! The menu/permission tree every installation starts with, upserted at start by stable key.
//! Later modules add their directories, menus and buttons to [`MENU_SEED`]: one list, parents
//! before children.

use crate::model::MenuKind;
use crate::perm::{self, Permission};

/// Code of the built-in role that holds every permission.
pub const SUPER_ADMIN: &str = "super_admin";

/// One node of the seeded tree. `key` is stable forever: it is how the seed finds the node
/// again on the next start.
#[derive(Debug, Clone, Copy)]
pub struct SeedNode {
    pub key: &'static str,
    pub parent: Option<&'static str>,
    pub kind: MenuKind,
    pub name: &'static str,
    pub permission: Option<&'static str>,
    /// SPA route path.
    pub path: Option<&'static str>,
    /// SPA component key.
    pub component: Option<&'static str>,
    pub icon: Option<&'static str>,
    pub order: i32,
}

const fn directory(
    key: &'static str,
    name: &'static str,
    path: &'static str,
    icon: &'static str,
    order: i32,
) -> SeedNode {
    SeedNode {
        key,
        parent: None,
        kind: MenuKind::Directory,
        name,
        permission: None,
        path: Some(path),
        component: None,
        icon: Some(icon),
        order,
    }
}

const fn menu(
    key: &'static str,
    parent: &'static str,
    name: &'static str,
    permission: &'static str,
    order: i32,
) -> SeedNode {
    SeedNode {
        key,
        parent: Some(parent),
        kind: MenuKind::Menu,
        name,
        permission: Some(permission),
        path: None,
        component: None,
        icon: None,
        order,
    }
}

impl SeedNode {
    /// Where the SPA shows a menu: route path, component key, icon.
    const fn page(
        mut self,
        path: &'static str,
        component: &'static str,
        icon: &'static str,
    ) -> SeedNode {
        self.path = Some(path);
        self.component = Some(component);
        self.icon = Some(icon);
        self
    }
}

const fn button(
    key: &'static str,
    parent: &'static str,
    name: &'static str,
    permission: &'static str,
    order: i32,
) -> SeedNode {
    SeedNode {
        key,
        parent: Some(parent),
        kind: MenuKind::Button,
        name,
        permission: Some(permission),
        path: None,
        component: None,
        icon: None,
        order,
    }
}

/// The whole seeded tree. Add new modules' nodes here.
pub const MENU_SEED: &[SeedNode] = &[
    // The home page is always there; its figures need this permission. The directory holds
    // only the button, so the side navigation leaves it out.
    directory("dashboard", "Dashboard", "/home", "dashboard", 0),
    button(
        "dashboard.view",
        "dashboard",
        "View figures",
        perm::DashboardView::CODE,
        1,
    ),
    directory("users", "Users", "/users", "team", 100),
    // Mini-program users.
    menu(
        "users.app-users",
        "users",
        "Mini-program users",
        perm::UserAppUserList::CODE,
        10,
    )
    .page("/users/app-users", "users/app-users/index", "user"),
    button(
        "users.app-users.disable",
        "users.app-users",
        "Disable",
        perm::UserAppUserDisable::CODE,
        1,
    ),
    button(
        "users.app-users.enable",
        "users.app-users",
        "Enable",
        perm::UserAppUserEnable::CODE,
        2,
    ),
    // Blacklist.
    menu(
        "users.blacklist",
        "users",
        "Blacklist",
        perm::UserBlacklistList::CODE,
        20,
    )
    .page("/users/blacklist", "users/blacklist/index", "stop"),
    button(
        "users.blacklist.create",
        "users.blacklist",
        "Add",
        perm::UserBlacklistCreate::CODE,
        1,
    ),
    button(
        "users.blacklist.delete",
        "users.blacklist",
        "Remove",
        perm::UserBlacklistDelete::CODE,
        2,
    ),
    // Visitor statistics.
    menu(
        "users.visitors",
        "users",
        "Visitors",
        perm::UserVisitorList::CODE,
        30,
    )
    .page("/users/visitors", "users/visitors/index", "line-chart"),
    directory("system", "System", "/system", "setting", 900),
    // Staff users.
    menu(
        "system.users",
        "system",
        "Staff users",
        perm::SystemUserList::CODE,
        10,
    )
    .page("/system/users", "system/users/index", "user"),
    button(
        "system.users.create",
        "system.users",
        "Create",
        perm::SystemUserCreate::CODE,
        1,
    ),
    button(
        "system.users.update",
        "system.users",
        "Edit",
        perm::SystemUserUpdate::CODE,
        2,
    ),
    button(
        "system.users.disable",
        "system.users",
        "Disable",
        perm::SystemUserDisable::CODE,
        3,
    ),
    button(
        "system.users.enable",
        "system.users",
        "Enable",
        perm::SystemUserEnable::CODE,
        4,
    ),
    button(
        "system.users.reset-password",
        "system.users",
        "Reset password",
        perm::SystemUserResetPassword::CODE,
        5,
    ),
    button(
        "system.users.assign-roles",
        "system.users",
        "Assign roles",
        perm::SystemUserAssignRoles::CODE,
        6,
    ),
    button(
        "system.users.unlock",
        "system.users",
        "Unlock sign-in",
        perm::SystemUserUnlock::CODE,
        7,
    ),
    // Roles.
    menu(
        "system.roles",
        "system",
        "Roles",
        perm::SystemRoleList::CODE,
        20,
    )
    .page("/system/roles", "system/roles/index", "team"),
    button(
        "system.roles.create",
        "system.roles",
        "Create",
        perm::SystemRoleCreate::CODE,
        1,
    ),
    button(
        "system.roles.update",
        "system.roles",
        "Edit",
        perm::SystemRoleUpdate::CODE,
        2,
    ),
    button(
        "system.roles.delete",
        "system.roles",
        "Delete",
        perm::SystemRoleDelete::CODE,
        3,
    ),
    button(
        "system.roles.assign-permissions",
        "system.roles",
        "Assign permissions",
        perm::SystemRoleAssignPermissions::CODE,
        4,
    ),
    // Menus and permissions.
    menu(
        "system.menus",
        "system",
        "Menus & permissions",
        perm::SystemMenuList::CODE,
        30,
    )
    .page("/system/menus", "system/menus/index", "menu"),
    button(
        "system.menus.create",
        "system.menus",
        "Create",
        perm::SystemMenuCreate::CODE,
        1,
    ),
    button(
        "system.menus.update",
        "system.menus",
        "Edit",
        perm::SystemMenuUpdate::CODE,
        2,
    ),
    button(
        "system.menus.delete",
        "system.menus",
        "Delete",
        perm::SystemMenuDelete::CODE,
        3,
    ),
    // Online sessions.
    menu(
        "system.sessions",
        "system",
        "Online staff",
        perm::SystemSessionList::CODE,
        40,
    )
    .page("/system/sessions", "system/sessions/index", "desktop"),
    button(
        "system.sessions.revoke",
        "system.sessions",
        "Force logout",
        perm::SystemSessionRevoke::CODE,
        1,
    ),
    // Integrators' API keys.
    menu(
        "system.api-keys",
        "system",
        "API keys",
        perm::SystemApiKeyList::CODE,
        45,
    )
    .page("/system/api-keys", "system/api-keys/index", "key"),
    button(
        "system.api-keys.create",
        "system.api-keys",
        "Create",
        perm::SystemApiKeyCreate::CODE,
        1,
    ),
    button(
        "system.api-keys.revoke",
        "system.api-keys",
        "Revoke",
        perm::SystemApiKeyRevoke::CODE,
        2,
    ),
    // Logs.
    menu(
        "system.login-logs",
        "system",
        "Login log",
        perm::SystemLoginLogList::CODE,
        50,
    )
    .page("/system/logs/login", "system/logs/login", "login"),
    menu(
        "system.operation-logs",
        "system",
        "Operation log",
        perm::SystemOperationLogList::CODE,
        60,
    )
    .page("/system/logs/operations", "system/logs/operations", "audit"),
    menu(
        "system.access-logs",
        "system",
        "Access log",
        perm::SystemAccessLogList::CODE,
        70,
    )
    .page("/system/logs/access", "system/logs/access", "history"),
    // Orders.
    directory("order", "Orders", "/order", "shopping", 200),
    menu("order.orders", "order", "Orders", perm::OrderList::CODE, 10).page(
        "/order/orders",
        "order/orders/index",
        "profile",
    ),
    button(
        "order.orders.export",
        "order.orders",
        "Export CSV",
        perm::OrderExport::CODE,
        1,
    ),
    button(
        "order.orders.refund",
        "order.orders",
        "Refund",
        perm::OrderRefund::CODE,
        2,
    ),
    button(
        "order.orders.retry",
        "order.orders",
        "Retry held order",
        perm::OrderRetry::CODE,
        3,
    ),
    button(
        "order.orders.personal",
        "order.orders",
        "See personal data",
        perm::OrderPersonalView::CODE,
        4,
    ),
    menu(
        "order.recharges",
        "order",
        "Recharge log",
        perm::OrderRechargeList::CODE,
        20,
    )
    .page("/order/recharges", "order/recharges/index", "thunderbolt"),
    // Catalog (各国家套餐管理).
    directory("catalog", "Catalog", "/catalog", "appstore", 150),
    menu(
        "catalog.countries",
        "catalog",
        "Countries",
        perm::CatalogCountryList::CODE,
        10,
    )
    .page("/catalog/countries", "catalog/countries/index", "global"),
    button(
        "catalog.countries.update",
        "catalog.countries",
        "Edit / enable / disable",
        perm::CatalogCountryUpdate::CODE,
        1,
    ),
    menu(
        "catalog.operators",
        "catalog",
        "Operators",
        perm::CatalogOperatorList::CODE,
        20,
    )
    .page("/catalog/operators", "catalog/operators/index", "cluster"),
    button(
        "catalog.operators.update",
        "catalog.operators",
        "Edit / enable / disable",
        perm::CatalogOperatorUpdate::CODE,
        1,
    ),
    menu(
        "catalog.plans",
        "catalog",
        "Plans",
        perm::CatalogPlanList::CODE,
        30,
    )
    .page("/catalog/plans", "catalog/plans/index", "tags"),
    button(
        "catalog.plans.create",
        "catalog.plans",
        "Create custom plan",
        perm::CatalogPlanCreate::CODE,
        1,
    ),
    button(
        "catalog.plans.update",
        "catalog.plans",
        "Edit / pin price / enable / disable",
        perm::CatalogPlanUpdate::CODE,
        2,
    ),
    button(
        "catalog.plans.delete",
        "catalog.plans",
        "Delete custom plan",
        perm::CatalogPlanDelete::CODE,
        3,
    ),
    menu(
        "catalog.pricing",
        "catalog",
        "Pricing",
        perm::CatalogPricingView::CODE,
        40,
    )
    .page("/catalog/pricing", "catalog/pricing/index", "money-collect"),
    button(
        "catalog.pricing.update",
        "catalog.pricing",
        "Change pricing rules",
        perm::CatalogPricingUpdate::CODE,
        1,
    ),
    menu(
        "catalog.sync",
        "catalog",
        "Provider sync",
        perm::CatalogSyncList::CODE,
        50,
    )
    .page("/catalog/sync", "catalog/sync/index", "sync"),
    button(
        "catalog.sync.run",
        "catalog.sync",
        "Sync now",
        perm::CatalogSyncRun::CODE,
        1,
    ),
    // Marketing (会员卡、优惠券管理和配置).
    directory("marketing", "Marketing", "/marketing", "gift", 250),
    menu(
        "marketing.coupon-templates",
        "marketing",
        "Coupon templates",
        perm::MarketingCouponTemplateList::CODE,
        10,
    )
    .page(
        "/marketing/coupon-templates",
        "marketing/coupon-templates/index",
        "tags",
    ),
    button(
        "marketing.coupon-templates.create",
        "marketing.coupon-templates",
        "Create",
        perm::MarketingCouponTemplateCreate::CODE,
        1,
    ),
    button(
        "marketing.coupon-templates.update",
        "marketing.coupon-templates",
        "Edit",
        perm::MarketingCouponTemplateUpdate::CODE,
        2,
    ),
    button(
        "marketing.coupon-templates.issue",
        "marketing.coupon-templates",
        "Issue to users",
        perm::MarketingCouponIssue::CODE,
        3,
    ),
    menu(
        "marketing.coupons",
        "marketing",
        "Coupons",
        perm::MarketingCouponList::CODE,
        20,
    )
    .page(
        "/marketing/coupons",
        "marketing/coupons/index",
        "money-collect",
    ),
    menu(
        "marketing.membership-plans",
        "marketing",
        "Membership plans",
        perm::MarketingMembershipPlanList::CODE,
        30,
    )
    .page(
        "/marketing/membership-plans",
        "marketing/membership-plans/index",
        "gift",
    ),
    button(
        "marketing.membership-plans.create",
        "marketing.membership-plans",
        "Create",
        perm::MarketingMembershipPlanCreate::CODE,
        1,
    ),
    button(
        "marketing.membership-plans.update",
        "marketing.membership-plans",
        "Edit",
        perm::MarketingMembershipPlanUpdate::CODE,
        2,
    ),
    menu(
        "marketing.members",
        "marketing",
        "Members",
        perm::MarketingMemberList::CODE,
        40,
    )
    .page("/marketing/members", "marketing/members/index", "team"),
    menu(
        "marketing.membership-orders",
        "marketing",
        "Membership orders",
        perm::MarketingMembershipOrderList::CODE,
        50,
    )
    .page(
        "/marketing/membership-orders",
        "marketing/membership-orders/index",
        "profile",
    ),
    button(
        "marketing.membership-orders.refund",
        "marketing.membership-orders",
        "Refund",
        perm::MarketingMembershipOrderRefund::CODE,
        1,
    ),
    // Notifications (微信订阅通知).
    directory("notify", "Notifications", "/notify", "notification", 260),
    menu(
        "notify.templates",
        "notify",
        "Message templates",
        perm::NotifyTemplateList::CODE,
        10,
    )
    .page("/notify/templates", "notify/templates/index", "message"),
    button(
        "notify.templates.update",
        "notify.templates",
        "Edit",
        perm::NotifyTemplateUpdate::CODE,
        1,
    ),
    menu(
        "notify.deliveries",
        "notify",
        "Delivery log",
        perm::NotifyDeliveryList::CODE,
        20,
    )
    .page("/notify/deliveries", "notify/deliveries/index", "send"),
    button(
        "notify.deliveries.resend",
        "notify.deliveries",
        "Resend",
        perm::NotifyDeliveryResend::CODE,
        1,
    ),
    menu(
        "notify.alerts",
        "notify",
        "Staff alerts",
        perm::NotifyAlertList::CODE,
        30,
    )
    .page("/notify/alerts", "notify/alerts/index", "alert"),
    button(
        "notify.alerts.test",
        "notify.alerts",
        "Send test alert",
        perm::NotifyAlertTest::CODE,
        1,
    ),
    // Content (广告、公告、首页装修).
    directory("content", "Content", "/content", "picture", 270),
    menu(
        "content.banners",
        "content",
        "Banners",
        perm::ContentBannerList::CODE,
        10,
    )
    .page("/content/banners", "content/banners/index", "picture"),
    button(
        "content.banners.create",
        "content.banners",
        "Create",
        perm::ContentBannerCreate::CODE,
        1,
    ),
    button(
        "content.banners.update",
        "content.banners",
        "Edit",
        perm::ContentBannerUpdate::CODE,
        2,
    ),
    button(
        "content.banners.delete",
        "content.banners",
        "Delete",
        perm::ContentBannerDelete::CODE,
        3,
    ),
    menu(
        "content.announcements",
        "content",
        "Announcements",
        perm::ContentAnnouncementList::CODE,
        20,
    )
    .page(
        "/content/announcements",
        "content/announcements/index",
        "notification",
    ),
    button(
        "content.announcements.create",
        "content.announcements",
        "Create",
        perm::ContentAnnouncementCreate::CODE,
        1,
    ),
    button(
        "content.announcements.update",
        "content.announcements",
        "Edit",
        perm::ContentAnnouncementUpdate::CODE,
        2,
    ),
    button(
        "content.announcements.delete",
        "content.announcements",
        "Delete",
        perm::ContentAnnouncementDelete::CODE,
        3,
    ),
    menu(
        "content.home",
        "content",
        "Home page",
        perm::ContentHomeView::CODE,
        30,
    )
    .page("/content/home", "content/home/index", "layout"),
    button(
        "content.home.edit",
        "content.home",
        "Edit draft",
        perm::ContentHomeEdit::CODE,
        1,
    ),
    button(
        "content.home.publish",
        "content.home",
        "Publish and roll back",
        perm::ContentHomePublish::CODE,
        2,
    ),
    menu(
        "content.service",
        "content",
        "Customer service",
        perm::ContentServiceView::CODE,
        40,
    )
    .page(
        "/content/service",
        "content/service/index",
        "customer-service",
    ),
    button(
        "content.service.update",
        "content.service",
        "Edit",
        perm::ContentServiceUpdate::CODE,
        1,
    ),
    menu(
        "content.agreements",
        "content",
        "Agreements",
        perm::ContentAgreementList::CODE,
        50,
    )
    .page(
        "/content/agreements",
        "content/agreements/index",
        "file-text",
    ),
    button(
        "content.agreements.publish",
        "content.agreements",
        "Publish a version",
        perm::ContentAgreementPublish::CODE,
        1,
    ),
    // Settings (下单、支付、小程序、站点等配置).
    menu(
        "system.settings",
        "system",
        "Settings",
        perm::SystemSettingView::CODE,
        90,
    )
    .page("/system/settings", "system/settings/index", "setting"),
    button(
        "system.settings.update",
        "system.settings",
        "Edit",
        perm::SystemSettingUpdate::CODE,
        1,
    ),
    // Payments.
    directory("payment", "Payments", "/payment", "wallet", 300),
    menu(
        "payment.alerts",
        "payment",
        "Payment alerts",
        perm::PaymentAlertList::CODE,
        10,
    )
    .page("/payment/alerts", "payment/alerts/index", "alert"),
    menu(
        "payment.reconciliations",
        "payment",
        "Reconciliation",
        perm::FinanceReconcileView::CODE,
        20,
    )
    .page(
        "/payment/reconciliations",
        "payment/reconciliations/index",
        "audit",
    ),
    button(
        "payment.reconciliations.run",
        "payment.reconciliations",
        "Run",
        perm::FinanceReconcileRun::CODE,
        1,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn keys_are_unique_and_parents_come_first() {
        let mut seen = HashSet::new();
        for node in MENU_SEED {
            if let Some(parent) = node.parent {
                assert!(
                    seen.contains(parent),
                    "{} before its parent {parent}",
                    node.key
                );
            }
            assert!(seen.insert(node.key), "duplicate key {}", node.key);
            if node.kind == MenuKind::Button {
                assert!(
                    node.parent.is_some() && node.permission.is_some(),
                    "{}",
                    node.key
                );
            }
        }
    }

    #[test]
    fn every_route_permission_can_be_granted_from_the_tree() {
        let seeded: HashSet<&str> = MENU_SEED.iter().filter_map(|n| n.permission).collect();
        for code in perm::ALL {
            assert!(seeded.contains(code), "{code} is not in the menu seed");
        }
    }
}
