//! Membership cards in the app: the plans, my membership, buying one.

use actix_web::http::StatusCode;
use actix_web::web;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use topup_core::{Money, Timestamp};
use topup_marketing::{
    BundleItem, Membership, MembershipOrder, MembershipOrderState, MembershipPlan,
};
use utoipa::ToSchema;

use crate::extract::Json;
use crate::security::AppUser;
use crate::{ApiError, AppState, ErrorBody};

/// A membership card on sale.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipPlanView {
    pub id: String,
    pub name: String,
    /// Days it lasts; null for lifetime.
    pub duration_days: Option<u32>,
    pub price: Money,
    /// Whole percent off every top-up.
    pub discount_percent: u32,
    /// Coupons given at purchase and every 30 days while it lasts.
    pub bundle: Vec<BundleItem>,
    pub benefits: String,
    pub enabled: bool,
    pub sort: i32,
}

impl From<MembershipPlan> for MembershipPlanView {
    fn from(plan: MembershipPlan) -> Self {
        MembershipPlanView {
            id: plan.id,
            name: plan.name,
            duration_days: plan.duration_days,
            price: plan.price,
            discount_percent: plan.discount_percent,
            bundle: plan.bundle,
            benefits: plan.benefits,
            enabled: plan.enabled,
            sort: plan.sort,
        }
    }
}

/// A user's membership.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipStatus {
    pub active: bool,
    pub plan_id: String,
    pub plan_name: String,
    pub discount_percent: u32,
    pub started_at: Timestamp,
    /// Null: lifetime.
    pub ends_at: Option<Timestamp>,
}

pub(crate) fn status_of(membership: Membership, now: Timestamp) -> MembershipStatus {
    MembershipStatus {
        active: membership.is_active(now),
        plan_id: membership.plan_id,
        plan_name: membership.plan_name,
        discount_percent: membership.discount_percent,
        started_at: membership.started_at,
        ends_at: membership.ends_at,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipOverview {
    /// Plans on sale, in their order.
    pub plans: Vec<MembershipPlanView>,
    /// Yours, when you ever had one.
    pub membership: Option<MembershipStatus>,
}

/// The membership plans on sale and your membership.
#[utoipa::path(get, path = "/api/v1/app/membership", tag = "app-membership", operation_id = "app_membership_get",
    responses((status = 200, description = "Plans and your membership", body = MembershipOverview)),
    extensions(("x-app-user" = json!(true))))]
pub async fn overview(
    who: AppUser,
    state: web::Data<AppState>,
) -> Result<Json<MembershipOverview>, ApiError> {
    let plans = state.marketing.list_plans(true).await?;
    let membership = state.marketing.membership(&who.user_id.to_string()).await?;
    let now = state.clock.now();
    Ok(Json(MembershipOverview {
        plans: plans.into_iter().map(Into::into).collect(),
        membership: membership.map(|m| status_of(m, now)),
    }))
}

/// A membership order as its buyer sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppMembershipOrder {
    pub id: String,
    pub plan_id: String,
    pub plan_name: String,
    pub amount: Money,
    pub state: MembershipOrderState,
    pub created_at: Timestamp,
    pub paid_at: Option<Timestamp>,
    /// Your membership's end after this purchase (null: lifetime), once granted.
    pub granted_until: Option<Timestamp>,
    pub granted: bool,
}

impl From<MembershipOrder> for AppMembershipOrder {
    fn from(order: MembershipOrder) -> Self {
        AppMembershipOrder {
            id: order.id,
            plan_id: order.plan_id,
            plan_name: order.plan_name,
            amount: order.amount,
            state: order.state,
            created_at: order.created_at,
            paid_at: order.paid_at,
            granted_until: order.granted_until,
            granted: order.granted,
        }
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"plan_id": "01JD3Q9V8Y5K7T2M4N6P8R0S1T"}))]
pub struct BuyMembershipBody {
    pub plan_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipCheckout {
    pub order: AppMembershipOrder,
    /// Pass to `wx.requestPayment`.
    #[schema(value_type = Object)]
    pub pay_params: Value,
}

/// Buy a membership card: pay with `pay_params`; once paid, your membership lasts until
/// `max(now, its current end) + the plan's days`.
#[utoipa::path(post, path = "/api/v1/app/membership/orders", tag = "app-membership", operation_id = "app_membership_buy",
    request_body = BuyMembershipBody,
    responses(
        (status = 201, description = "Order placed; pay with `pay_params`", body = MembershipCheckout),
        (status = 404, description = "`NOT_FOUND`: no such plan on sale", body = ErrorBody),
        (status = 502, description = "`PAYMENT_UNAVAILABLE`: nothing was charged", body = ErrorBody),
    ),
    extensions(("x-app-user" = json!(true))))]
pub async fn buy(
    who: AppUser,
    state: web::Data<AppState>,
    body: Json<BuyMembershipBody>,
) -> Result<(Json<MembershipCheckout>, StatusCode), ApiError> {
    let (order, pay_params) = state
        .marketing
        .buy_membership(&who.user_id.to_string(), &who.openid, &body.plan_id)
        .await?;
    Ok((
        Json(MembershipCheckout {
            order: order.into(),
            pay_params,
        }),
        StatusCode::CREATED,
    ))
}

/// One of your membership orders (to follow it to `paid`).
#[utoipa::path(get, path = "/api/v1/app/membership/orders/{id}", tag = "app-membership", operation_id = "app_membership_order_get",
    params(("id" = String, Path, description = "Membership order id")),
    responses(
        (status = 200, description = "The order", body = AppMembershipOrder),
        (status = 404, description = "No such order of yours", body = ErrorBody),
    ),
    extensions(("x-app-user" = json!(true))))]
pub async fn order(
    who: AppUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<Json<AppMembershipOrder>, ApiError> {
    let order = state.marketing.membership_order(&id).await?;
    if order.user_id != who.user_id.to_string() {
        // Someone else's order is answered as if it did not exist.
        return Err(ApiError::new(
            topup_core::ErrorCode::NotFound,
            format!("membership order {id} not found"),
        ));
    }
    Ok(Json(order.into()))
}
