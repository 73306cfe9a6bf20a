//! The mini-program's orders: checkout, my orders, one order, pay again, cancel.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use topup_core::{CountryCode, ErrorCode, Money, Page, PageRequest, Timestamp};
use topup_orders::{
    CheckoutKey, CheckoutRequest, Order, OrderState, PlanKind, PriceLine, RefundState, TimelineCode,
};
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};

use crate::extract::{Json, Paging, Query, field_error};
use crate::security::{AppUser, client_info};
use crate::{ApiError, AppState, ErrorBody};

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutBody {
    /// The plan to buy (from `/api/v1/app/catalog/plans`).
    pub plan_id: String,
    /// The number to recharge: E.164 (`+639171234567`) or national with `country`.
    pub phone: String,
    #[schema(value_type = Option<String>, example = "PH")]
    pub country: Option<CountryCode>,
    /// One of your coupons to apply (`GET /api/v1/app/checkout/quote` lists them with the
    /// best one first).
    pub coupon_id: Option<String>,
}

/// What the user sees of a plan they bought.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppOrderPlan {
    pub plan_id: String,
    pub kind: PlanKind,
    #[schema(value_type = String)]
    pub country: CountryCode,
    pub operator_name: String,
    pub title: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppOrderRefund {
    pub amount: Money,
    pub state: RefundState,
    pub requested_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

/// An order as its buyer sees it: no provider internals.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppOrder {
    pub order_no: String,
    pub state: OrderState,
    pub phone: String,
    pub plan: AppOrderPlan,
    pub price_lines: Vec<PriceLine>,
    pub total: Money,
    pub created_at: Timestamp,
    /// Pay before this moment, or the order closes.
    pub pay_deadline: Timestamp,
    pub paid_at: Option<Timestamp>,
    pub refunds: Vec<AppOrderRefund>,
    /// The order's steps so far, oldest first: paid, recharged, refunded and the like, without
    /// the provider's retries or staff notes (`docs/architecture.md#timeline`).
    pub timeline: Vec<AppOrderStep>,
    /// Set while the recharge is delayed on our side (the provider cannot deliver now): the
    /// order waits for staff, and the user may ask for their money back
    /// (`POST /api/v1/app/orders/{order_no}/refund-request`).
    pub delay: Option<AppOrderDelay>,
}

/// One step of an order as its buyer sees it; the app words each code itself.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({ "at": "2026-12-07T08:54:28Z", "code": "recharged" }))]
pub struct AppOrderStep {
    pub at: Timestamp,
    #[schema(schema_with = buyer_step_code)]
    pub code: TimelineCode,
}

/// `AppOrderStep.code`'s schema: only the steps a buyer is shown.
fn buyer_step_code() -> Object {
    let codes = TimelineCode::all()
        .filter(|code| code.shown_to_buyer())
        .filter_map(|code| serde_json::to_value(code).ok());
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(codes))
        .description(Some(
            "The step (`docs/architecture.md#timeline`): one of the steps a buyer is shown.",
        ))
        .build()
}

/// Why a paid order is not recharged yet, as the buyer is told.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppOrderDelay {
    pub since: Timestamp,
    /// `provider_unavailable`: stable, for the client's own wording.
    pub code: String,
    pub message: String,
    /// Whether a refund request is possible now.
    pub refundable: bool,
}

impl From<Order> for AppOrder {
    fn from(order: Order) -> Self {
        let delay = order
            .hold
            .as_ref()
            .filter(|_| order.is_held())
            .map(|hold| AppOrderDelay {
                since: hold.since,
                code: "provider_unavailable".into(),
                message: "Your recharge is delayed: our provider cannot deliver it right now. \
                          We are on it; you can also ask for your money back."
                    .into(),
                refundable: true,
            });
        AppOrder {
            order_no: order.id,
            state: order.state,
            phone: order.phone,
            plan: AppOrderPlan {
                plan_id: order.plan.plan_id,
                kind: order.plan.kind,
                country: order.plan.country,
                operator_name: order.plan.operator_name,
                title: order.plan.title,
            },
            price_lines: order.price_lines,
            total: order.total,
            created_at: order.created_at,
            pay_deadline: order.pay_deadline,
            paid_at: order.payment.paid_at,
            timeline: order
                .timeline
                .iter()
                .filter_map(|event| {
                    let code = event.code().filter(|code| code.shown_to_buyer())?;
                    Some(AppOrderStep { at: event.at, code })
                })
                .collect(),
            refunds: order
                .refunds
                .into_iter()
                .map(|r| AppOrderRefund {
                    amount: r.amount,
                    state: r.state,
                    requested_at: r.requested_at,
                    finished_at: r.finished_at,
                })
                .collect(),
            delay,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckoutAnswer {
    pub order: AppOrder,
    /// Pass to `wx.requestPayment` (`timeStamp`, `nonceStr`, `package`, `signType`,
    /// `paySign`). Absent when an `Idempotency-Key` replays a checkout whose order is no longer
    /// awaiting payment.
    #[schema(value_type = Option<Object>)]
    pub pay_params: Option<Value>,
}

const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

fn idempotency(req: &HttpRequest, body: &CheckoutBody) -> Result<Option<CheckoutKey>, ApiError> {
    let Some(value) = req.headers().get(IDEMPOTENCY_HEADER) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 64 && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::BadRequest,
                "Idempotency-Key must be 1-64 visible ASCII characters",
            )
        })?;
    let canonical = serde_json::to_vec(body).map_err(ApiError::internal)?;
    let hash = Sha256::digest(&canonical);
    Ok(Some(CheckoutKey {
        key: key.to_owned(),
        body_hash: hash.iter().map(|b| format!("{b:02x}")).collect(),
    }))
}

/// Place an order and get the `wx.requestPayment` parameters.
#[utoipa::path(post, path = "/api/v1/app/orders", tag = "app-orders", operation_id = "app_orders_checkout",
    request_body = CheckoutBody,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Same key and body → the same order; same key, other body → 409")),
    responses(
        (status = 201, description = "Order placed; pay with `pay_params`", body = CheckoutAnswer),
        (status = 200, description = "Replay of an earlier checkout with the same Idempotency-Key", body = CheckoutAnswer),
        (status = 400, description = "`PLAN_UNAVAILABLE`, `INVALID_PHONE`, `NUMBER_PLAN_MISMATCH`, `MALFORMED_JSON`", body = ErrorBody),
        (status = 401, description = "No or invalid app token", body = ErrorBody),
        (status = 403, description = "`USER_BLOCKED` or `NUMBER_BLOCKED`", body = ErrorBody),
        (status = 409, description = "`ORDER_LIMIT_REACHED` (an open order of yours for the number, too many unpaid orders, the number's daily limit), `IDEMPOTENCY_KEY_REUSED`, `COUPON_NOT_USABLE` (`details.reason`: `below_threshold`, `expired`, `not_yet_valid`, `out_of_scope`, `in_use`, `used`), or `AGREEMENT_REQUIRED` (the current recharge terms, `details.version`, are not accepted yet: `POST /api/v1/app/agreements/recharge_terms/accept`, then check out again)", body = ErrorBody),
        (status = 429, description = "`RATE_LIMITED`: `orders.checkout_rate_per_minute`; `details.retry_after_seconds`", body = ErrorBody),
        (status = 502, description = "`PAYMENT_UNAVAILABLE`: nothing was charged", body = ErrorBody),
    ),
    extensions(("x-app-user" = json!(true))))]
pub async fn checkout(
    user: AppUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<CheckoutBody>,
) -> Result<(Json<CheckoutAnswer>, StatusCode), ApiError> {
    let orders = &state.orders;
    let key = idempotency(&req, &body)?;
    let client = client_info(&req);
    let checkout = orders
        .checkout(CheckoutRequest {
            user_id: user.user_id.to_string(),
            openid: user.openid.clone(),
            plan_id: body.plan_id.clone(),
            phone: body.phone.clone(),
            country: body.country,
            client_ip: client.ip,
            idempotency: key,
            coupon_id: body.coupon_id.clone(),
        })
        .await?;
    let status = if checkout.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        Json(CheckoutAnswer {
            order: checkout.order.into(),
            pay_params: checkout.pay_params,
        }),
        status,
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MyOrdersFilter {
    pub state: Option<OrderState>,
    /// `airtime` or `data`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
}

/// My orders, newest first. The total counts one past this page at most: `total_capped`
/// says another page follows (the list offers "more", not a count).
#[utoipa::path(get, path = "/api/v1/app/orders", tag = "app-orders", operation_id = "app_orders_list",
    params(PageRequest, MyOrdersFilter),
    responses(
        (status = 200, description = "One page of my orders; `total_capped` when more follow", body = Page<AppOrder>),
        (status = 400, description = "Bad filter", body = ErrorBody),
        (status = 401, description = "No or invalid app token", body = ErrorBody),
    ),
    extensions(("x-app-user" = json!(true))))]
pub async fn list(
    user: AppUser,
    state: web::Data<AppState>,
    paging: Paging,
    filter: Query<MyOrdersFilter>,
) -> Result<Json<Page<AppOrder>>, ApiError> {
    if let Some(kind) = &filter.kind
        && kind != "airtime"
        && kind != "data"
    {
        return Err(field_error("type", "must be airtime or data"));
    }
    let page = *paging;
    let orders = state
        .orders
        .list_for_user(
            &user.user_id.to_string(),
            filter.state,
            filter.kind.clone(),
            page,
        )
        .await?;
    Ok(Json(orders.map(AppOrder::from)))
}

/// One of my orders (another user's is 404).
#[utoipa::path(get, path = "/api/v1/app/orders/{order_no}", tag = "app-orders", operation_id = "app_orders_get",
    params(("order_no" = String, Path, description = "Order number")),
    responses(
        (status = 200, description = "The order", body = AppOrder),
        (status = 404, description = "`ORDER_NOT_FOUND`", body = ErrorBody),
    ),
    extensions(("x-app-user" = json!(true))))]
pub async fn get(
    user: AppUser,
    state: web::Data<AppState>,
    order_no: web::Path<String>,
) -> Result<Json<AppOrder>, ApiError> {
    let order = state
        .orders
        .get_for_user(&user.user_id.to_string(), &order_no)
        .await?;
    Ok(Json(order.into()))
}

/// Pay an unpaid order again: fresh `wx.requestPayment` parameters, for when the payment
/// sheet was closed or the checkout's answer lost. Nothing new is placed at WeChat while the
/// order's prepay_id is valid.
#[utoipa::path(post, path = "/api/v1/app/orders/{order_no}/pay", tag = "app-orders", operation_id = "app_orders_pay",
    params(("order_no" = String, Path, description = "Order number")),
    responses(
        (status = 200, description = "The order and its `pay_params`", body = CheckoutAnswer),
        (status = 404, description = "`ORDER_NOT_FOUND`", body = ErrorBody),
        (status = 409, description = "`ORDER_STATE_CONFLICT`: not awaiting payment", body = ErrorBody),
        (status = 502, description = "`PAYMENT_UNAVAILABLE`: WeChat Pay could not be reached, or the payment is about to expire", body = ErrorBody),
    ),
    extensions(("x-app-user" = json!(true))))]
pub async fn pay(
    user: AppUser,
    state: web::Data<AppState>,
    order_no: web::Path<String>,
) -> Result<Json<CheckoutAnswer>, ApiError> {
    let checkout = state
        .orders
        .pay(&user.user_id.to_string(), &order_no)
        .await?;
    Ok(Json(CheckoutAnswer {
        order: checkout.order.into(),
        pay_params: checkout.pay_params,
    }))
}

/// Cancel an unpaid order (WeChat is asked first; a paid order is not cancelled).
#[utoipa::path(post, path = "/api/v1/app/orders/{order_no}/cancel", tag = "app-orders", operation_id = "app_orders_cancel",
    params(("order_no" = String, Path, description = "Order number")),
    responses(
        (status = 200, description = "Closed — or paid, if WeChat says it was", body = AppOrder),
        (status = 404, description = "`ORDER_NOT_FOUND`", body = ErrorBody),
        (status = 409, description = "`ORDER_STATE_CONFLICT`: not awaiting payment", body = ErrorBody),
    ),
    extensions(("x-app-user" = json!(true))))]
pub async fn cancel(
    user: AppUser,
    state: web::Data<AppState>,
    order_no: web::Path<String>,
) -> Result<Json<AppOrder>, ApiError> {
    let order = state
        .orders
        .cancel(&user.user_id.to_string(), &order_no)
        .await?;
    Ok(Json(order.into()))
}

/// Ask for the money of a delayed order back. Granted at once (the order becomes
/// `refunding`) when the provider confirms nothing was delivered.
#[utoipa::path(post, path = "/api/v1/app/orders/{order_no}/refund-request", tag = "app-orders", operation_id = "app_orders_refund_request",
    params(("order_no" = String, Path, description = "Order number")),
    responses(
        (status = 200, description = "Refund granted; the order is `refunding`", body = AppOrder),
        (status = 404, description = "`ORDER_NOT_FOUND`", body = ErrorBody),
        (status = 409, description = "`ORDER_STATE_CONFLICT`: the order is not delayed, or the provider reports the top-up delivered or in progress", body = ErrorBody),
        (status = 503, description = "`UNAVAILABLE`: the provider could not be asked; try again later", body = ErrorBody),
    ),
    extensions(("x-app-user" = json!(true))))]
pub async fn refund_request(
    user: AppUser,
    state: web::Data<AppState>,
    order_no: web::Path<String>,
) -> Result<Json<AppOrder>, ApiError> {
    let order = state
        .orders
        .request_refund(&user.user_id.to_string(), &order_no)
        .await?;
    Ok(Json(order.into()))
}
