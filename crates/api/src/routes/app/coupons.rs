//! The coupon centre, my coupons, and the checkout quote that tries them on a purchase.

use actix_web::http::StatusCode;
use actix_web::web;
use serde::{Deserialize, Serialize};
use topup_core::{CountryCode, Money, Page, PageRequest, Timestamp};
use topup_marketing::{Claimable, Coupon, CouponState, CouponTerms, Purchase, Unusable, Validity};
use topup_orders::{OrdersService, PlanSnapshot, PriceLine};
use utoipa::{IntoParams, ToSchema};

use crate::extract::{Json, Paging, Query};
use crate::security::AppUser;
use crate::{ApiError, AppState, ErrorBody};

/// A coupon as its holder sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppCoupon {
    pub id: String,
    pub template_id: String,
    pub name: String,
    pub description: String,
    pub terms: CouponTerms,
    pub state: CouponState,
    pub valid_from: Timestamp,
    pub valid_to: Timestamp,
    pub claimed_at: Timestamp,
    /// The order holding or having used it.
    pub order_no: Option<String>,
    /// What it took off that order.
    pub discount: Option<Money>,
}

impl From<Coupon> for AppCoupon {
    fn from(coupon: Coupon) -> Self {
        AppCoupon {
            id: coupon.id,
            template_id: coupon.template_id,
            name: coupon.name,
            description: coupon.description,
            terms: coupon.terms,
            state: coupon.state,
            valid_from: coupon.valid_from,
            valid_to: coupon.valid_to,
            claimed_at: coupon.claimed_at,
            order_no: coupon.order_no,
            discount: coupon.discount,
        }
    }
}

/// A coupon one can claim in the coupon centre.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimableCoupon {
    pub template_id: String,
    pub name: String,
    pub description: String,
    pub terms: CouponTerms,
    pub validity: Validity,
    /// Left to claim; none when unlimited.
    pub remaining: Option<i64>,
    pub per_user_limit: u32,
    /// How many of these you hold.
    pub claimed_by_me: u32,
    /// Whether claiming now can succeed (stock left and under your limit).
    pub can_claim: bool,
}

impl From<Claimable> for ClaimableCoupon {
    fn from(claimable: Claimable) -> Self {
        let template = claimable.template;
        let remaining = template.remaining();
        ClaimableCoupon {
            can_claim: remaining != Some(0) && claimable.claimed_by_me < template.per_user_limit,
            template_id: template.id,
            name: template.name,
            description: template.description,
            terms: template.terms,
            validity: template.validity,
            remaining,
            per_user_limit: template.per_user_limit,
            claimed_by_me: claimable.claimed_by_me,
        }
    }
}

/// Coupons you can claim now.
#[utoipa::path(get, path = "/api/v1/app/coupons/claimable", tag = "app-coupons", operation_id = "app_coupons_claimable",
    responses((status = 200, description = "Claimable coupons, newest first", body = Vec<ClaimableCoupon>)),
    extensions(("x-app-user" = json!(true))))]
pub async fn claimable(
    who: AppUser,
    state: web::Data<AppState>,
) -> Result<Json<Vec<ClaimableCoupon>>, ApiError> {
    let list = state.marketing.claimable(&who.user_id.to_string()).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"template_id": "01JD3Q9V8Y5K7T2M4N6P8R0S1T"}))]
pub struct ClaimBody {
    pub template_id: String,
}

/// Claim a coupon from the coupon centre.
#[utoipa::path(post, path = "/api/v1/app/coupons/claim", tag = "app-coupons", operation_id = "app_coupons_claim",
    request_body = ClaimBody,
    responses(
        (status = 201, description = "Claimed", body = AppCoupon),
        (status = 404, description = "`NOT_FOUND`: no such claimable coupon", body = ErrorBody),
        (status = 409, description = "`COUPON_SOLD_OUT` or `COUPON_LIMIT_REACHED`", body = ErrorBody),
    ),
    extensions(("x-app-user" = json!(true))))]
pub async fn claim(
    who: AppUser,
    state: web::Data<AppState>,
    body: Json<ClaimBody>,
) -> Result<(Json<AppCoupon>, StatusCode), ApiError> {
    let coupon = state
        .marketing
        .claim(&who.user_id.to_string(), &body.template_id)
        .await?;
    Ok((Json(coupon.into()), StatusCode::CREATED))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MyCouponsFilter {
    pub state: Option<CouponState>,
}

/// Your coupons, newest first.
#[utoipa::path(get, path = "/api/v1/app/coupons", tag = "app-coupons", operation_id = "app_coupons_list",
    params(PageRequest, MyCouponsFilter),
    responses(
        (status = 200, description = "One page of your coupons", body = Page<AppCoupon>),
        (status = 400, description = "Bad filter or page", body = ErrorBody),
    ),
    extensions(("x-app-user" = json!(true))))]
pub async fn list(
    who: AppUser,
    state: web::Data<AppState>,
    page: Paging,
    filter: Query<MyCouponsFilter>,
) -> Result<Json<Page<AppCoupon>>, ApiError> {
    let found = state
        .marketing
        .list_for_user(&who.user_id.to_string(), filter.state, *page)
        .await?;
    Ok(Json(found.map(Into::into)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct QuoteQuery {
    pub plan_id: String,
    /// The number to recharge (checked against the plan's country when given).
    pub phone: Option<String>,
    #[param(value_type = Option<String>, example = "PH")]
    pub country: Option<CountryCode>,
}

/// Why a coupon does not apply, for the picker.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteCoupon {
    pub coupon: AppCoupon,
    pub usable: bool,
    /// What it takes off this purchase, when usable.
    pub discount: Option<Money>,
    pub reason: Option<Unusable>,
}

/// The price of a purchase and what each of your coupons does to it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Quote {
    pub plan_id: String,
    /// The base price and, for members, the membership discount.
    pub price_lines: Vec<PriceLine>,
    /// What the price lines add up to: what coupons apply to.
    pub base: Money,
    /// Usable ones first, the best saving first.
    pub coupons: Vec<QuoteCoupon>,
    /// The usable coupon saving most: preselect it.
    pub best_coupon_id: Option<String>,
    /// What you pay with the best coupon (or without, when none is usable).
    pub total: Money,
}

/// What a purchase of the plan is, for coupon scopes.
pub(crate) fn purchase_of(plan: &PlanSnapshot, base: Money) -> Purchase {
    Purchase {
        plan_id: plan.plan_id.clone(),
        kind: plan.kind.as_str().to_owned(),
        country: plan.country.to_string(),
        operator_id: plan.operator_id.clone(),
        base,
    }
}

/// The price of a plan for you and your coupons tried on it.
#[utoipa::path(get, path = "/api/v1/app/checkout/quote", tag = "app-coupons", operation_id = "app_checkout_quote",
    params(QuoteQuery),
    responses(
        (status = 200, description = "Price lines and coupons", body = Quote),
        (status = 400, description = "`PLAN_UNAVAILABLE`, `INVALID_PHONE`, `NUMBER_PLAN_MISMATCH`, `INVALID_QUERY`", body = ErrorBody),
    ),
    extensions(("x-app-user" = json!(true))))]
pub async fn quote(
    who: AppUser,
    state: web::Data<AppState>,
    query: Query<QuoteQuery>,
) -> Result<Json<Quote>, ApiError> {
    let user_id = who.user_id.to_string();
    let priced = state.orders.price(&user_id, &query.plan_id).await?;
    let plan = &priced.plan;
    if let Some(phone) = &query.phone {
        OrdersService::number_for(plan, phone, query.country)?;
    }
    let base = priced.subtotal;
    let options = state
        .marketing
        .options(&user_id, &purchase_of(plan, base))
        .await?;
    let best = options
        .first()
        .and_then(|o| o.outcome.as_ref().ok().map(|d| (o.coupon.id.clone(), *d)));
    let total = match &best {
        Some((_, discount)) => base.checked_sub(*discount).map_err(ApiError::internal)?,
        None => base,
    };
    Ok(Json(Quote {
        plan_id: plan.plan_id.clone(),
        price_lines: priced.lines,
        base,
        coupons: options
            .into_iter()
            .map(|option| {
                let (discount, reason) = match option.outcome {
                    Ok(discount) => (Some(discount), None),
                    Err(unusable) => (None, Some(unusable)),
                };
                QuoteCoupon {
                    usable: discount.is_some(),
                    coupon: option.coupon.into(),
                    discount,
                    reason,
                }
            })
            .collect(),
        best_coupon_id: best.map(|(id, _)| id),
        total,
    }))
}
