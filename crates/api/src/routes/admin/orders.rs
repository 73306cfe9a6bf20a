//! Staff view of orders: filtered lists, CSV export, the detail with its timeline, refunds,
//! retries of held orders, and the recharge log.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use topup_auth::perm::{
    OrderExport, OrderList, OrderPersonalView, OrderRechargeList, OrderRefund, OrderRetry,
};
use topup_auth::{Audited, Change, Permission, Principal};
use topup_core::personal::{mask_openid, mask_phone};
use topup_core::{CountryCode, Money, Page, PageRequest, Timestamp};
use topup_orders::{
    Hold, Order, OrderQuery, OrderRefund as Refund, OrderState, PaymentInfo, PlanSnapshot,
    PriceLine, RechargeInfo, RechargeLogEntry, RechargeLogQuery, TimelineCode, TimelineEvent,
};
use topup_store::SortOrder;
use utoipa::{IntoParams, ToSchema};

use crate::extract::{Json, Paging, Query, field_error};
use crate::routes::admin::audited;
use crate::security::Require;
use crate::{ApiError, AppState, ErrorBody};

/// An order as staff see it: its whole story, without the store's bookkeeping (version,
/// lease, the worker's schedule, the checkout's idempotency key).
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminOrder {
    pub order_no: String,
    pub state: OrderState,
    /// The app user who placed it, and their WeChat openid.
    pub user_id: String,
    pub openid: String,
    /// The number recharged (E.164).
    pub phone: String,
    #[schema(value_type = String, example = "PH")]
    pub country: CountryCode,
    pub plan: PlanSnapshot,
    pub price_lines: Vec<PriceLine>,
    pub total: Money,
    pub payment: PaymentInfo,
    pub recharge: RechargeInfo,
    pub refunds: Vec<Refund>,
    pub timeline: Vec<AdminTimelineEvent>,
    /// Present while the order waits for staff (a provider precondition failed).
    pub hold: Option<Hold>,
    /// An unpaid order closes at this moment.
    pub pay_deadline: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The address the checkout came from.
    pub client_ip: Option<String>,
}

/// One entry of an order's timeline as staff see it: the stored phrase, and its code for the
/// console to word in the reader's language (`docs/architecture.md#timeline`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "at": "2026-12-07T08:54:28Z", "actor": "system", "what": "recharge started",
    "code": "recharge_started"
}))]
pub struct AdminTimelineEvent {
    pub at: Timestamp,
    /// `user:<id>`, `staff:<id>`, `system`, `wechat`, `provider:<id>`.
    pub actor: String,
    /// What happened, in English as stored.
    pub what: String,
    /// The step `what` records; absent for a phrase without a code.
    pub code: Option<TimelineCode>,
    /// The step's particulars: an id, an amount with its reason, a provider's error code.
    pub detail: Option<String>,
}

impl From<TimelineEvent> for AdminTimelineEvent {
    fn from(event: TimelineEvent) -> Self {
        AdminTimelineEvent {
            code: event.code(),
            at: event.at,
            actor: event.actor,
            what: event.what,
            detail: event.detail,
        }
    }
}

/// Whether `who` sees customers' numbers, openids and addresses in full
/// (`docs/security.md#personal-data`).
pub(crate) fn sees_personal_data(who: &Principal) -> bool {
    who.can(OrderPersonalView::CODE)
}

impl AdminOrder {
    /// The order as this viewer may see it: personal data masked without its permission.
    fn for_viewer(order: Order, who: &Principal) -> Self {
        let mut view = AdminOrder::from(order);
        if !sees_personal_data(who) {
            view.phone = mask_phone(&view.phone);
            view.openid = mask_openid(&view.openid);
            view.client_ip = None;
        }
        view
    }
}

impl From<Order> for AdminOrder {
    fn from(order: Order) -> Self {
        AdminOrder {
            order_no: order.id,
            state: order.state,
            user_id: order.user_id,
            openid: order.openid,
            phone: order.phone,
            country: order.country,
            plan: order.plan,
            price_lines: order.price_lines,
            total: order.total,
            payment: order.payment,
            recharge: order.recharge,
            refunds: order.refunds,
            timeline: order
                .timeline
                .into_iter()
                .map(AdminTimelineEvent::from)
                .collect(),
            hold: order.hold,
            pay_deadline: order.pay_deadline,
            created_at: order.created_at,
            updated_at: order.updated_at,
            client_ip: order.client_ip,
        }
    }
}

/// Filters of the order list and export.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrderFilter {
    pub state: Option<OrderState>,
    /// `airtime` or `data`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    #[param(value_type = Option<String>)]
    pub country: Option<CountryCode>,
    /// Catalog operator id.
    pub operator: Option<String>,
    /// The start of the number with its `+` (`+63917`, or the whole `+639171234500`: served
    /// by an index), or any other part of it (searched in every order's number: slower over
    /// many orders).
    pub phone: Option<String>,
    /// App user id.
    pub user: Option<String>,
    /// Created at or after (RFC 3339).
    #[param(value_type = Option<String>)]
    pub from: Option<Timestamp>,
    /// Created before (RFC 3339).
    #[param(value_type = Option<String>)]
    pub to: Option<Timestamp>,
    /// Lowest total in fen.
    pub min_amount: Option<i64>,
    /// Highest total in fen.
    pub max_amount: Option<i64>,
    /// Only orders held for staff (`true`) or not held (`false`).
    pub held: Option<bool>,
    /// Only orders held longer than `orders.hold_alert_minutes` (`true`): the hold alert.
    pub hold_alerted: Option<bool>,
    /// `created_at` (default), `-created_at`, `total`, `-total`, `updated_at`, `-updated_at`.
    pub sort: Option<String>,
}

impl OrderFilter {
    fn query(&self) -> Result<OrderQuery, ApiError> {
        if let Some(kind) = &self.kind
            && kind != "airtime"
            && kind != "data"
        {
            return Err(field_error("type", "must be airtime or data"));
        }
        Ok(OrderQuery {
            state: self.state,
            kind: self.kind.clone(),
            country: self.country,
            operator_id: self.operator.clone(),
            phone: self.phone.clone(),
            user_id: self.user.clone(),
            created_from: self.from,
            created_to: self.to,
            min_total: self.min_amount,
            max_total: self.max_amount,
            held: self.held,
            hold_alerted: self.hold_alerted,
        })
    }

    fn sort(&self) -> Result<Vec<(&'static str, SortOrder)>, ApiError> {
        let Some(sort) = self.sort.as_deref() else {
            return Ok(Vec::new());
        };
        let (field, order) = match sort.strip_prefix('-') {
            Some(field) => (field, SortOrder::Desc),
            None => (sort, SortOrder::Asc),
        };
        let field = match field {
            "created_at" => "created_at",
            "updated_at" => "updated_at",
            "total" => "total.amount",
            other => {
                return Err(field_error("sort", format!("cannot sort by {other:?}")));
            }
        };
        Ok(vec![(field, order)])
    }
}

/// List orders (filters, sort, paging).
#[utoipa::path(get, path = "/api/v1/admin/orders", tag = "admin-orders", operation_id = "admin_orders_list",
    params(PageRequest, OrderFilter),
    responses(
        (status = 200, description = "One page of orders", body = Page<AdminOrder>),
        (status = 400, description = "Bad filter", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(OrderList::CODE))))]
pub async fn list(
    who: Require<OrderList>,
    state: web::Data<AppState>,
    paging: Paging,
    filter: Query<OrderFilter>,
) -> Result<Json<Page<AdminOrder>>, ApiError> {
    let orders = &state.orders;
    let page = orders
        .list(&filter.query()?, &filter.sort()?, *paging)
        .await?;
    Ok(Json(page.map(|order| AdminOrder::for_viewer(order, &who))))
}

/// One CSV cell, always quoted. A cell a spreadsheet would read as a formula (leading `=`,
/// `+`, `-`, `@`, or a tab, carriage return or space before one) gets a leading `'`.
pub(crate) fn csv_field(text: &str) -> String {
    let formula = text
        .trim_start_matches([' ', '\t', '\r'])
        .starts_with(['=', '+', '-', '@']);
    let leading_control = text.starts_with(['\t', '\r']);
    let text = if formula || leading_control {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    format!("\"{}\"", text.replace('"', "\"\""))
}

fn csv_row(order: &Order, personal: bool) -> String {
    let refunded = order
        .refunds
        .iter()
        .filter(|refund| refund.state == topup_orders::RefundState::Succeeded)
        .try_fold(0_i64, |sum, refund| sum.checked_add(refund.amount.amount));
    let phone = if personal {
        order.phone.clone()
    } else {
        mask_phone(&order.phone)
    };
    let fields = [
        order.id.clone(),
        order.created_at.to_string(),
        order.state.as_str().to_owned(),
        order.plan.kind.as_str().to_owned(),
        order.country.to_string(),
        order.plan.operator_name.clone(),
        order.plan.title.clone(),
        phone,
        order.user_id.clone(),
        order.total.to_decimal().to_string(),
        refunded
            .map(|fen| {
                Money::new(fen, order.total.currency)
                    .to_decimal()
                    .to_string()
            })
            .unwrap_or_default(),
        order.total.currency.to_string(),
        order.payment.transaction_id.clone().unwrap_or_default(),
        order
            .recharge
            .provider_transaction_id
            .clone()
            .unwrap_or_default(),
    ];
    let mut row = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    row.push_str("\r\n");
    row
}

/// With a UTF-8 byte-order mark, so spreadsheets read operator names and titles right.
const CSV_HEADER: &str = "\u{feff}order_no,created_at,state,type,country,operator,plan,phone,user_id,total,refunded,currency,wechat_transaction_id,provider_transaction_id\r\n";

/// Export matching orders as CSV, streamed in batches (any range size).
#[utoipa::path(get, path = "/api/v1/admin/orders/export", tag = "admin-orders", operation_id = "admin_orders_export",
    params(OrderFilter),
    responses(
        (status = 200, description = "CSV, newest first", content_type = "text/csv", body = String),
        (status = 400, description = "Bad filter", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(OrderExport::CODE))))]
pub async fn export(
    who: Require<OrderExport>,
    state: web::Data<AppState>,
    filter: Query<OrderFilter>,
) -> Result<HttpResponse, ApiError> {
    let query = filter.query()?;
    let personal = sees_personal_data(&who);
    const BATCH: u64 = 500;
    let stream = futures_util::stream::unfold(
        (state, query, 0u64, false),
        move |(state, query, skip, done)| async move {
            if done {
                return None;
            }
            let orders = &state.orders;
            if skip == 0 {
                // The header goes out first, then batches.
                return Some((
                    Ok::<_, actix_web::Error>(web::Bytes::from_static(CSV_HEADER.as_bytes())),
                    (state, query, 1, false),
                ));
            }
            match orders.export_batch(&query, skip - 1, BATCH).await {
                Ok(batch) => {
                    let last = (batch.len() as u64) < BATCH;
                    let text: String = batch.iter().map(|order| csv_row(order, personal)).collect();
                    let next = skip + batch.len() as u64;
                    Some((Ok(web::Bytes::from(text)), (state, query, next, last)))
                }
                Err(error) => {
                    tracing::error!(%error, "order export stopped");
                    None
                }
            }
        },
    );
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"orders.csv\"",
        ))
        .streaming(stream))
}

/// One order with its price lines, payment, recharge attempts, refunds and timeline.
#[utoipa::path(get, path = "/api/v1/admin/orders/{order_no}", tag = "admin-orders", operation_id = "admin_orders_get",
    params(("order_no" = String, Path, description = "Order number")),
    responses(
        (status = 200, description = "The order", body = AdminOrder),
        (status = 404, description = "`ORDER_NOT_FOUND`", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(OrderList::CODE))))]
pub async fn get(
    who: Require<OrderList>,
    state: web::Data<AppState>,
    order_no: web::Path<String>,
) -> Result<Json<AdminOrder>, ApiError> {
    let order = state.orders.get(&order_no).await?;
    Ok(Json(AdminOrder::for_viewer(order, &who)))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": {"amount": 500, "currency": "CNY"}, "reason": "customer asked"}))]
pub struct RefundRequest {
    /// How much to refund, in the order's currency (CNY fen); omit it for everything still
    /// refundable.
    pub amount: Option<Money>,
    /// Shown to the user and kept in the timeline (1–80 characters).
    pub reason: String,
}

/// Refund a delivered order, fully or partly; or a held order, in full, once its provider
/// confirms nothing was delivered under any of its keys.
#[utoipa::path(post, path = "/api/v1/admin/orders/{order_no}/refund", tag = "admin-orders", operation_id = "admin_orders_refund",
    params(("order_no" = String, Path, description = "Order number")),
    request_body = RefundRequest,
    responses(
        (status = 200, description = "Refund requested; the order is `refunding`", body = AdminOrder),
        (status = 400, description = "`REFUND_TOO_LARGE` or `VALIDATION_FAILED`", body = ErrorBody),
        (status = 404, description = "`ORDER_NOT_FOUND`", body = ErrorBody),
        (status = 409, description = "`ORDER_STATE_CONFLICT`: only succeeded or held orders; a held order the provider reports delivered or in progress", body = ErrorBody),
        (status = 503, description = "`UNAVAILABLE`: the provider could not be asked whether a held order was delivered", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(OrderRefund::CODE))))]
pub async fn refund(
    who: Require<OrderRefund>,
    state: web::Data<AppState>,
    order_no: web::Path<String>,
    body: Json<RefundRequest>,
) -> Result<Json<AdminOrder>, ApiError> {
    let orders = &state.orders;
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 80 {
        return Err(field_error("reason", "must be 1 to 80 characters"));
    }
    if let Some(amount) = body.amount {
        if amount.currency != topup_core::Currency::CNY {
            return Err(field_error("amount.currency", "must be CNY"));
        }
        if !amount.is_positive() {
            return Err(field_error("amount.amount", "must be at least 1 fen"));
        }
    }
    let amount = body.amount;
    let staff = who.user_id.to_string();
    let work = async {
        let before = orders.get(&order_no).await?;
        let after = orders.refund(&order_no, amount, reason, &staff).await?;
        let change = Change::new("order", &after.id)
            .before(&before)
            .after(&after);
        Ok::<_, topup_orders::OrdersError>(Audited::new(after, change))
    };
    let order = audited(
        &state,
        &who,
        "refund order",
        "order",
        Some(order_no.to_string()),
        work,
    )
    .await?;
    Ok(Json(AdminOrder::for_viewer(order, &who)))
}

/// Send a held order back to recharging (after the wallet is topped up, say).
#[utoipa::path(post, path = "/api/v1/admin/orders/{order_no}/retry", tag = "admin-orders", operation_id = "admin_orders_retry",
    params(("order_no" = String, Path, description = "Order number")),
    responses(
        (status = 200, description = "Released; the workers pick it up at once", body = AdminOrder),
        (status = 404, description = "`ORDER_NOT_FOUND`", body = ErrorBody),
        (status = 409, description = "`ORDER_STATE_CONFLICT`: only held orders", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(OrderRetry::CODE))))]
pub async fn retry(
    who: Require<OrderRetry>,
    state: web::Data<AppState>,
    order_no: web::Path<String>,
) -> Result<Json<AdminOrder>, ApiError> {
    let orders = &state.orders;
    let staff = who.user_id.to_string();
    let work = async {
        let before = orders.get(&order_no).await?;
        let after = orders.retry(&order_no, &staff).await?;
        let change = Change::new("order", &after.id)
            .before(&before)
            .after(&after);
        Ok::<_, topup_orders::OrdersError>(Audited::new(after, change))
    };
    let order = audited(
        &state,
        &who,
        "retry held order",
        "order",
        Some(order_no.to_string()),
        work,
    )
    .await?;
    Ok(Json(AdminOrder::for_viewer(order, &who)))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RechargeFilter {
    pub order_no: Option<String>,
    pub provider: Option<String>,
    /// `succeeded`, `pending`, `failed_retryable`, `failed_final`, `precondition`, `ambiguous`.
    pub outcome: Option<String>,
    #[param(value_type = Option<String>)]
    pub from: Option<Timestamp>,
    #[param(value_type = Option<String>)]
    pub to: Option<Timestamp>,
}

/// The recharge log: every provider attempt (send, lookup, status), newest first.
#[utoipa::path(get, path = "/api/v1/admin/recharges", tag = "admin-orders", operation_id = "admin_recharges_list",
    params(PageRequest, RechargeFilter),
    responses(
        (status = 200, description = "One page of attempts", body = Page<RechargeLogEntry>),
        (status = 400, description = "Bad filter", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(OrderRechargeList::CODE))))]
pub async fn recharges(
    _who: Require<OrderRechargeList>,
    state: web::Data<AppState>,
    paging: Paging,
    filter: Query<RechargeFilter>,
) -> Result<Json<Page<RechargeLogEntry>>, ApiError> {
    let page = *paging;
    let query = RechargeLogQuery {
        order_no: filter.order_no.clone(),
        provider_id: filter.provider.clone(),
        outcome: filter.outcome.clone(),
        from: filter.from,
        to: filter.to,
    };
    Ok(Json(state.orders.recharge_log(&query, page).await?))
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_cells_never_start_a_formula() {
        assert_eq!(csv_field("+639171234500"), "\"'+639171234500\"");
        assert_eq!(csv_field("=1+1"), "\"'=1+1\"");
        assert_eq!(csv_field(" =cmd"), "\"' =cmd\"");
        assert_eq!(csv_field("\t@x"), "\"'\t@x\"");
        assert_eq!(csv_field("\rplain"), "\"'\rplain\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("Globe 话费"), "\"Globe 话费\"");
    }
}
