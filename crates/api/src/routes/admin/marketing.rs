//! Coupon templates, issuing coupons to users, and the coupons users hold.

use actix_web::http::StatusCode;
use actix_web::web;
use serde::{Deserialize, Serialize};
use topup_auth::Permission;
use topup_auth::perm::{
    MarketingCouponIssue, MarketingCouponList, MarketingCouponTemplateCreate,
    MarketingCouponTemplateList, MarketingCouponTemplateUpdate, MarketingMemberList,
    MarketingMembershipOrderList, MarketingMembershipOrderRefund, MarketingMembershipPlanCreate,
    MarketingMembershipPlanList, MarketingMembershipPlanUpdate,
};
use topup_auth::{Audited, Change};
use topup_core::{Money, Page, PageRequest, Timestamp};
use topup_marketing::{
    BundleItem, Channel, Coupon, CouponQuery, CouponState, CouponTemplate, CouponTerms,
    IssueReport, MarketingError, MembershipOrder, MembershipOrderQuery, MembershipOrderState,
    MembershipRefund, PlanDraft, TemplateDraft, TemplateQuery, TemplateStats, Validity,
};
use utoipa::{IntoParams, ToSchema};

use crate::extract::{Json, Paging, Query};
use crate::routes::admin::audited;
use crate::routes::app::coupons::AppCoupon;
use crate::routes::app::membership::{MembershipPlanView, MembershipStatus, status_of};
use crate::security::Require;
use crate::{ApiError, AppState, ErrorBody};

/// A coupon template as staff write it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "满10减5", "description": "¥5 off any top-up from ¥10",
    "terms": {"kind": "amount_off", "amount_off": {"amount": 500, "currency": "CNY"},
        "threshold": {"amount": 1000, "currency": "CNY"},
        "scope": {"kinds": [], "countries": [], "operator_ids": [], "plan_ids": []}},
    "validity": {"kind": "days_after_claim", "days": 30},
    "total_stock": 1000, "per_user_limit": 1, "channel": "self", "enabled": true}))]
pub struct CouponTemplateBody {
    /// 1–40 characters; shown to users and as the coupon's price line.
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub terms: CouponTerms,
    pub validity: Validity,
    /// How many may ever be claimed; null for unlimited.
    pub total_stock: Option<i64>,
    /// 1–100.
    pub per_user_limit: u32,
    pub channel: Channel,
    pub enabled: bool,
}

impl From<CouponTemplateBody> for TemplateDraft {
    fn from(body: CouponTemplateBody) -> Self {
        TemplateDraft {
            name: body.name,
            description: body.description,
            terms: body.terms,
            validity: body.validity,
            total_stock: body.total_stock,
            per_user_limit: body.per_user_limit,
            channel: body.channel,
            enabled: body.enabled,
        }
    }
}

/// A template with what its coupons did.
#[derive(Debug, Serialize, ToSchema)]
pub struct CouponTemplateView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub terms: CouponTerms,
    pub validity: Validity,
    pub total_stock: Option<i64>,
    pub claimed: i64,
    pub per_user_limit: u32,
    pub channel: Channel,
    pub enabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub stats: TemplateStats,
}

fn template_view(template: CouponTemplate, stats: TemplateStats) -> CouponTemplateView {
    CouponTemplateView {
        id: template.id,
        name: template.name,
        description: template.description,
        terms: template.terms,
        validity: template.validity,
        total_stock: template.total_stock,
        claimed: template.claimed,
        per_user_limit: template.per_user_limit,
        channel: template.channel,
        enabled: template.enabled,
        created_at: template.created_at,
        updated_at: template.updated_at,
        stats,
    }
}

async fn with_stats(
    state: &AppState,
    template: CouponTemplate,
) -> Result<CouponTemplateView, ApiError> {
    let stats = state.marketing.stats(&template.id).await?;
    Ok(template_view(template, stats))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TemplateFilter {
    pub channel: Option<Channel>,
    pub enabled: Option<bool>,
}

/// Coupon templates, newest first, each with its statistics.
#[utoipa::path(get, path = "/api/v1/admin/marketing/coupon-templates", tag = "admin-marketing", operation_id = "admin_coupon_templates_list",
    params(PageRequest, TemplateFilter),
    responses(
        (status = 200, description = "One page of templates", body = Page<CouponTemplateView>),
        (status = 400, description = "Bad filter or page", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(MarketingCouponTemplateList::CODE))))]
pub async fn list_templates(
    _who: Require<MarketingCouponTemplateList>,
    state: web::Data<AppState>,
    page: Paging,
    filter: Query<TemplateFilter>,
) -> Result<Json<Page<CouponTemplateView>>, ApiError> {
    let query = TemplateQuery {
        channel: filter.channel,
        enabled: filter.enabled,
    };
    let mut found = state.marketing.list_templates(&query, *page).await?;
    let mut items = Vec::with_capacity(found.items.len());
    for template in std::mem::take(&mut found.items) {
        items.push(with_stats(&state, template).await?);
    }
    Ok(Json(found.with_items(items)))
}

/// Define a coupon template.
#[utoipa::path(post, path = "/api/v1/admin/marketing/coupon-templates", tag = "admin-marketing", operation_id = "admin_coupon_templates_create",
    request_body = CouponTemplateBody,
    responses(
        (status = 201, description = "Created", body = CouponTemplateView),
        (status = 400, description = "`VALIDATION_FAILED` naming the field (`terms.amount_off`, `validity.to`, …)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(MarketingCouponTemplateCreate::CODE))))]
pub async fn create_template(
    who: Require<MarketingCouponTemplateCreate>,
    state: web::Data<AppState>,
    body: Json<CouponTemplateBody>,
) -> Result<(Json<CouponTemplateView>, StatusCode), ApiError> {
    let work = async {
        let created = state
            .marketing
            .create_template(body.into_inner().into())
            .await?;
        let change = Change::new("coupon_template", &created.id).after(&created);
        Ok::<_, MarketingError>(Audited::new(created, change))
    };
    let created = audited(
        &state,
        &who,
        "create coupon template",
        "coupon_template",
        None,
        work,
    )
    .await?;
    Ok((
        Json(with_stats(&state, created).await?),
        StatusCode::CREATED,
    ))
}

/// One coupon template with its statistics.
#[utoipa::path(get, path = "/api/v1/admin/marketing/coupon-templates/{id}", tag = "admin-marketing", operation_id = "admin_coupon_templates_get",
    params(("id" = String, Path, description = "Template id (ULID)")),
    responses(
        (status = 200, description = "The template", body = CouponTemplateView),
        (status = 404, description = "No such template", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(MarketingCouponTemplateList::CODE))))]
pub async fn get_template(
    _who: Require<MarketingCouponTemplateList>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<Json<CouponTemplateView>, ApiError> {
    let template = state.marketing.template(&id).await?;
    Ok(Json(with_stats(&state, template).await?))
}

/// Rewrite a template (also how it is enabled or disabled). Coupons already claimed keep
/// their terms; the stock cannot go below what was claimed.
#[utoipa::path(put, path = "/api/v1/admin/marketing/coupon-templates/{id}", tag = "admin-marketing", operation_id = "admin_coupon_templates_update",
    params(("id" = String, Path, description = "Template id (ULID)")),
    request_body = CouponTemplateBody,
    responses(
        (status = 200, description = "Updated", body = CouponTemplateView),
        (status = 400, description = "`VALIDATION_FAILED` naming the field", body = ErrorBody),
        (status = 404, description = "No such template", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(MarketingCouponTemplateUpdate::CODE))))]
pub async fn update_template(
    who: Require<MarketingCouponTemplateUpdate>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<CouponTemplateBody>,
) -> Result<Json<CouponTemplateView>, ApiError> {
    let work = async {
        let (before, after) = state
            .marketing
            .update_template(&id, body.into_inner().into())
            .await?;
        let change = Change::new("coupon_template", &after.id)
            .before(&before)
            .after(&after);
        Ok::<_, MarketingError>(Audited::new(after, change))
    };
    let target = Some(id.to_string());
    let updated = audited(
        &state,
        &who,
        "update coupon template",
        "coupon_template",
        target,
        work,
    )
    .await?;
    Ok(Json(with_stats(&state, updated).await?))
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"user_ids": ["01JD3Q9V8Y5K7T2M4N6P8R0S1T"]}))]
pub struct IssueBody {
    /// App user ids, 1 to 500.
    pub user_ids: Vec<String>,
}

/// Give one coupon of the template to each user (its stock and per-user limit apply; users
/// over them are listed as refused).
#[utoipa::path(post, path = "/api/v1/admin/marketing/coupon-templates/{id}/issue", tag = "admin-marketing", operation_id = "admin_coupon_templates_issue",
    params(("id" = String, Path, description = "Template id (ULID)")),
    request_body = IssueBody,
    responses(
        (status = 200, description = "Issued; refusals listed", body = IssueReport),
        (status = 400, description = "`VALIDATION_FAILED` (`user_ids`)", body = ErrorBody),
        (status = 404, description = "No such template", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(MarketingCouponIssue::CODE))))]
pub async fn issue(
    who: Require<MarketingCouponIssue>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<IssueBody>,
) -> Result<Json<IssueReport>, ApiError> {
    let body = body.into_inner();
    let work = async {
        let report = state.marketing.issue(&id, &body.user_ids).await?;
        let change = Change::new("coupon_template", id.as_str())
            .before(&body)
            .after(&report);
        Ok::<_, MarketingError>(Audited::new(report, change))
    };
    let target = Some(id.to_string());
    let report = audited(
        &state,
        &who,
        "issue coupons",
        "coupon_template",
        target,
        work,
    )
    .await?;
    Ok(Json(report))
}

/// A user's coupon as staff see it: what its holder sees, and whose it is.
#[derive(Debug, Serialize, ToSchema)]
pub struct CouponView {
    pub user_id: String,
    pub channel: Channel,
    pub used_at: Option<Timestamp>,
    #[serde(flatten)]
    pub coupon: AppCoupon,
}

impl From<Coupon> for CouponView {
    fn from(coupon: Coupon) -> Self {
        CouponView {
            user_id: coupon.user_id.clone(),
            channel: coupon.channel,
            used_at: coupon.used_at,
            coupon: coupon.into(),
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CouponFilter {
    pub template_id: Option<String>,
    pub user_id: Option<String>,
    pub state: Option<CouponState>,
}

/// Users' coupons, newest first.
#[utoipa::path(get, path = "/api/v1/admin/marketing/coupons", tag = "admin-marketing", operation_id = "admin_coupons_list",
    params(PageRequest, CouponFilter),
    responses(
        (status = 200, description = "One page of coupons", body = Page<CouponView>),
        (status = 400, description = "Bad filter or page", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(MarketingCouponList::CODE))))]
pub async fn list_coupons(
    _who: Require<MarketingCouponList>,
    state: web::Data<AppState>,
    page: Paging,
    filter: Query<CouponFilter>,
) -> Result<Json<Page<CouponView>>, ApiError> {
    let filter = filter.into_inner();
    let query = CouponQuery {
        template_id: filter.template_id,
        user_id: filter.user_id,
        state: filter.state,
    };
    let found = state.marketing.list(&query, *page).await?;
    Ok(Json(found.map(Into::into)))
}

/// A membership plan as staff write it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Gold", "duration_days": 30, "price": {"amount": 990, "currency": "CNY"},
    "discount_percent": 2, "bundle": [], "enabled": true, "sort": 10,
    "benefits": "2% off every top-up"}))]
pub struct MembershipPlanBody {
    /// 1–40 characters.
    pub name: String,
    /// 1–3660 days; null for lifetime.
    pub duration_days: Option<u32>,
    pub price: Money,
    /// 0–50, whole percent off every top-up.
    pub discount_percent: u32,
    /// Coupons of these templates, given at purchase and every 30 days while it lasts.
    #[serde(default)]
    pub bundle: Vec<BundleItem>,
    pub enabled: bool,
    #[serde(default)]
    pub sort: i32,
    #[serde(default)]
    pub benefits: String,
}

impl From<MembershipPlanBody> for PlanDraft {
    fn from(body: MembershipPlanBody) -> Self {
        PlanDraft {
            name: body.name,
            duration_days: body.duration_days,
            price: body.price,
            discount_percent: body.discount_percent,
            bundle: body.bundle,
            enabled: body.enabled,
            sort: body.sort,
            benefits: body.benefits,
        }
    }
}

/// Every membership plan, in their order.
#[utoipa::path(get, path = "/api/v1/admin/marketing/membership-plans", tag = "admin-marketing", operation_id = "admin_membership_plans_list",
    responses((status = 200, description = "Plans", body = Vec<MembershipPlanView>)),
    extensions(("x-permission" = json!(MarketingMembershipPlanList::CODE))))]
pub async fn list_plans(
    _who: Require<MarketingMembershipPlanList>,
    state: web::Data<AppState>,
) -> Result<Json<Vec<MembershipPlanView>>, ApiError> {
    let plans = state.marketing.list_plans(false).await?;
    Ok(Json(plans.into_iter().map(Into::into).collect()))
}

/// Define a membership plan.
#[utoipa::path(post, path = "/api/v1/admin/marketing/membership-plans", tag = "admin-marketing", operation_id = "admin_membership_plans_create",
    request_body = MembershipPlanBody,
    responses(
        (status = 201, description = "Created", body = MembershipPlanView),
        (status = 400, description = "`VALIDATION_FAILED` naming the field", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(MarketingMembershipPlanCreate::CODE))))]
pub async fn create_plan(
    who: Require<MarketingMembershipPlanCreate>,
    state: web::Data<AppState>,
    body: Json<MembershipPlanBody>,
) -> Result<(Json<MembershipPlanView>, StatusCode), ApiError> {
    let work = async {
        let created = state
            .marketing
            .create_plan(body.into_inner().into())
            .await?;
        let change = Change::new("membership_plan", &created.id).after(&created);
        Ok::<_, MarketingError>(Audited::new(created, change))
    };
    let created = audited(
        &state,
        &who,
        "create membership plan",
        "membership_plan",
        None,
        work,
    )
    .await?;
    Ok((Json(created.into()), StatusCode::CREATED))
}

/// Rewrite a membership plan (also how it is taken off sale). Memberships already bought
/// keep what they were sold.
#[utoipa::path(put, path = "/api/v1/admin/marketing/membership-plans/{id}", tag = "admin-marketing", operation_id = "admin_membership_plans_update",
    params(("id" = String, Path, description = "Plan id (ULID)")),
    request_body = MembershipPlanBody,
    responses(
        (status = 200, description = "Updated", body = MembershipPlanView),
        (status = 400, description = "`VALIDATION_FAILED` naming the field", body = ErrorBody),
        (status = 404, description = "No such plan", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(MarketingMembershipPlanUpdate::CODE))))]
pub async fn update_plan(
    who: Require<MarketingMembershipPlanUpdate>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<MembershipPlanBody>,
) -> Result<Json<MembershipPlanView>, ApiError> {
    let work = async {
        let (before, after) = state
            .marketing
            .update_plan(&id, body.into_inner().into())
            .await?;
        let change = Change::new("membership_plan", &after.id)
            .before(&before)
            .after(&after);
        Ok::<_, MarketingError>(Audited::new(after, change))
    };
    let target = Some(id.to_string());
    let updated = audited(
        &state,
        &who,
        "update membership plan",
        "membership_plan",
        target,
        work,
    )
    .await?;
    Ok(Json(updated.into()))
}

/// A member as staff see them.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub user_id: String,
    #[serde(flatten)]
    pub status: MembershipStatus,
    pub updated_at: Timestamp,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MemberFilter {
    /// Only memberships still running.
    pub active: Option<bool>,
}

/// Members, most recently changed first.
#[utoipa::path(get, path = "/api/v1/admin/marketing/members", tag = "admin-marketing", operation_id = "admin_members_list",
    params(PageRequest, MemberFilter),
    responses(
        (status = 200, description = "One page of members", body = Page<MemberView>),
        (status = 400, description = "Bad filter or page", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(MarketingMemberList::CODE))))]
pub async fn list_members(
    _who: Require<MarketingMemberList>,
    state: web::Data<AppState>,
    page: Paging,
    filter: Query<MemberFilter>,
) -> Result<Json<Page<MemberView>>, ApiError> {
    let now = state.clock.now();
    let found = state
        .marketing
        .list_members(filter.active.unwrap_or(false), *page)
        .await?;
    Ok(Json(found.map(|m| MemberView {
        user_id: m.id.clone(),
        updated_at: m.updated_at,
        status: status_of(m, now),
    })))
}

/// A membership order as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipOrderView {
    pub id: String,
    pub user_id: String,
    pub plan_id: String,
    pub plan_name: String,
    pub duration_days: Option<u32>,
    pub amount: Money,
    pub state: MembershipOrderState,
    pub transaction_id: Option<String>,
    pub paid_at: Option<Timestamp>,
    pub granted: bool,
    pub granted_until: Option<Timestamp>,
    pub refund: Option<MembershipRefund>,
    pub created_at: Timestamp,
}

impl From<MembershipOrder> for MembershipOrderView {
    fn from(order: MembershipOrder) -> Self {
        MembershipOrderView {
            id: order.id,
            user_id: order.user_id,
            plan_id: order.plan_id,
            plan_name: order.plan_name,
            duration_days: order.duration_days,
            amount: order.amount,
            state: order.state,
            transaction_id: order.transaction_id,
            paid_at: order.paid_at,
            granted: order.granted,
            granted_until: order.granted_until,
            refund: order.refund,
            created_at: order.created_at,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MembershipOrderFilter {
    pub state: Option<MembershipOrderState>,
    pub user_id: Option<String>,
}

/// Membership orders, newest first.
#[utoipa::path(get, path = "/api/v1/admin/marketing/membership-orders", tag = "admin-marketing", operation_id = "admin_membership_orders_list",
    params(PageRequest, MembershipOrderFilter),
    responses(
        (status = 200, description = "One page of membership orders", body = Page<MembershipOrderView>),
        (status = 400, description = "Bad filter or page", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(MarketingMembershipOrderList::CODE))))]
pub async fn list_membership_orders(
    _who: Require<MarketingMembershipOrderList>,
    state: web::Data<AppState>,
    page: Paging,
    filter: Query<MembershipOrderFilter>,
) -> Result<Json<Page<MembershipOrderView>>, ApiError> {
    let filter = filter.into_inner();
    let query = MembershipOrderQuery {
        state: filter.state,
        user_id: filter.user_id,
    };
    let found = state
        .marketing
        .list_membership_orders(&query, *page)
        .await?;
    Ok(Json(found.map(Into::into)))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "bought by mistake"}))]
pub struct MembershipRefundBody {
    /// 1–80 characters, shown to WeChat Pay.
    pub reason: String,
}

/// Refund a paid membership order in full: its days are taken off the membership at once
/// (it ends now when none are left), its unused bundle coupons are withdrawn, and WeChat Pay
/// returns the money. Sent again while the refund is unsettled, it asks WeChat again under
/// the same refund number; after `refund_failed`, under a new one.
#[utoipa::path(post, path = "/api/v1/admin/marketing/membership-orders/{id}/refund", tag = "admin-marketing", operation_id = "admin_membership_orders_refund",
    params(("id" = String, Path, description = "Membership order id")),
    request_body = MembershipRefundBody,
    responses(
        (status = 200, description = "Refund requested; the order is `refunding`", body = MembershipOrderView),
        (status = 400, description = "`VALIDATION_FAILED` (`reason`)", body = ErrorBody),
        (status = 404, description = "No such order", body = ErrorBody),
        (status = 409, description = "`ORDER_STATE_CONFLICT`: the order was never paid, or is refunded already", body = ErrorBody),
        (status = 502, description = "`PAYMENT_UNAVAILABLE`: WeChat Pay did not take the request; ask again", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(MarketingMembershipOrderRefund::CODE))))]
pub async fn refund_membership_order(
    who: Require<MarketingMembershipOrderRefund>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<MembershipRefundBody>,
) -> Result<Json<MembershipOrderView>, ApiError> {
    let staff_id = who.user_id.to_string();
    let work = async {
        let before = state.marketing.membership_order(&id).await?;
        let after = state
            .marketing
            .refund_membership(&id, &body.reason, &staff_id)
            .await?;
        let change = Change::new("membership_order", &after.id)
            .before(&before)
            .after(&after);
        Ok::<_, MarketingError>(Audited::new(after, change))
    };
    let target = Some(id.to_string());
    let refunded = audited(
        &state,
        &who,
        "refund membership order",
        "membership_order",
        target,
        work,
    )
    .await?;
    Ok(Json(refunded.into()))
}
