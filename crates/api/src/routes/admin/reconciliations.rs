//! Reconciliation (`docs/reconciliation.md`): a period's orders held against WeChat Pay's and
//! the provider's own records. Starting one answers at once; the run goes on in the
//! background and its report is read here (with a CSV of its discrepancies).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use topup_auth::perm::{FinanceReconcileRun, FinanceReconcileView};
use topup_auth::{Audited, Change, Permission};
use topup_core::{Page, PageRequest, Timestamp};
use topup_orders::reconcile::{Reconciliation, ReconciliationState, ReconciliationTotals};
use utoipa::ToSchema;

use crate::extract::{Json, Paging, field_error};
use crate::routes::admin::audited;
use crate::routes::admin::orders::csv_field;
use crate::security::{Actor, Require};
use crate::{ApiError, AppState, ErrorBody};

/// The longest period one run covers.
pub const MAX_DAYS: i64 = 31;

/// The period to reconcile: orders created from `from` (inclusive) to `to` (exclusive).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00Z"}))]
pub struct NewReconciliation {
    pub from: Timestamp,
    pub to: Timestamp,
}

/// A report without its list of discrepancies, for the list of runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReconciliationSummary {
    pub id: String,
    pub from: Timestamp,
    pub to: Timestamp,
    pub trigger: String,
    pub state: ReconciliationState,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub totals: ReconciliationTotals,
    pub discrepancy_count: u64,
    pub error: Option<String>,
}

impl From<Reconciliation> for ReconciliationSummary {
    fn from(report: Reconciliation) -> Self {
        ReconciliationSummary {
            id: report.id,
            from: report.from,
            to: report.to,
            trigger: report.trigger,
            state: report.state,
            started_at: report.started_at,
            finished_at: report.finished_at,
            totals: report.totals,
            discrepancy_count: report.discrepancy_count,
            error: report.error,
        }
    }
}

/// Reconciliation runs, newest first.
#[utoipa::path(get, path = "/api/v1/admin/reconciliations", tag = "admin-finance", operation_id = "admin_reconciliations_list",
    params(PageRequest),
    responses(
        (status = 200, description = "One page of runs", body = Page<ReconciliationSummary>),
        (status = 400, description = "Bad page", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(FinanceReconcileView::CODE))))]
pub async fn list(
    _who: Require<FinanceReconcileView>,
    state: web::Data<AppState>,
    page: Paging,
) -> Result<Json<Page<ReconciliationSummary>>, ApiError> {
    let page = state.reconciler.list(*page).await?;
    Ok(Json(page.map(ReconciliationSummary::from)))
}

/// Starts reconciling a period (at most 31 days): answers the running report at once; read
/// it again until `state` is `finished`. Every order of the period is looked up at WeChat
/// Pay (payment and refunds) and at its provider (each top-up it sent).
#[utoipa::path(post, path = "/api/v1/admin/reconciliations", tag = "admin-finance", operation_id = "admin_reconciliations_start",
    request_body = NewReconciliation,
    responses(
        (status = 202, description = "Started; the report is `running`", body = Reconciliation),
        (status = 400, description = "`VALIDATION_FAILED`: `to` not after `from`, or more than 31 days", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(FinanceReconcileRun::CODE))))]
pub async fn start(
    who: Require<FinanceReconcileRun>,
    state: web::Data<AppState>,
    body: Json<NewReconciliation>,
) -> Result<(Json<Reconciliation>, StatusCode), ApiError> {
    let NewReconciliation { from, to } = body.into_inner();
    if to <= from {
        return Err(field_error("to", "must be after from"));
    }
    if to.since(from) > chrono::TimeDelta::days(MAX_DAYS) {
        return Err(field_error(
            "to",
            format!("at most {MAX_DAYS} days after from"),
        ));
    }
    let reconciler = state.reconciler.clone();
    let trigger = format!("staff:{}", who.principal().user_id);
    let work = async {
        let report = reconciler
            .begin(None, from, to, &trigger)
            .await?
            .ok_or_else(|| ApiError::internal("a fresh reconciliation id was taken"))?;
        let change = Change::new("reconciliation", &report.id).after(&report);
        Ok::<_, ApiError>(Audited::new(report, change))
    };
    let report = audited(
        &state,
        &who,
        "start reconciliation",
        "reconciliation",
        None,
        work,
    )
    .await?;
    let running = report.clone();
    let reconciler = state.reconciler.clone();
    tokio::spawn(async move {
        if let Err(error) = reconciler.complete(running).await {
            tracing::error!(%error, "reconciliation could not be stored");
        }
    });
    Ok((Json(report), StatusCode::ACCEPTED))
}

/// One report with its discrepancies (the first 2,000; `discrepancy_count` has them all).
#[utoipa::path(get, path = "/api/v1/admin/reconciliations/{id}", tag = "admin-finance", operation_id = "admin_reconciliations_get",
    params(("id" = String, Path, description = "Report id: a ULID, or `daily-YYYY-MM-DD`")),
    responses(
        (status = 200, description = "The report", body = Reconciliation),
        (status = 404, description = "No such report", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(FinanceReconcileView::CODE))))]
pub async fn get(
    _who: Require<FinanceReconcileView>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<Json<Reconciliation>, ApiError> {
    Ok(Json(state.reconciler.get(&id).await?))
}

/// A report's discrepancies as CSV: order number, kind, the order's state, the provider's
/// transaction (for a top-up no order sent), what was found.
#[utoipa::path(get, path = "/api/v1/admin/reconciliations/{id}/export", tag = "admin-finance", operation_id = "admin_reconciliations_export",
    params(("id" = String, Path, description = "Report id")),
    responses(
        (status = 200, description = "CSV with a header row", content_type = "text/csv", body = String),
        (status = 404, description = "No such report", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(FinanceReconcileView::CODE))))]
pub async fn export(
    _who: Require<FinanceReconcileView>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let report = state.reconciler.get(&id).await?;
    let mut text = String::from("order_no,kind,order_state,provider_transaction_id,detail\r\n");
    for discrepancy in &report.discrepancies {
        let cells = [
            discrepancy.order_no.as_deref().unwrap_or_default(),
            discrepancy.kind.as_str(),
            discrepancy.order_state.map_or("", |s| s.as_str()),
            discrepancy
                .provider_transaction_id
                .as_deref()
                .unwrap_or_default(),
            discrepancy.detail.as_str(),
        ];
        let row: Vec<String> = cells.iter().map(|c| csv_field(c)).collect();
        text.push_str(&row.join(","));
        text.push_str("\r\n");
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"reconciliation-{}.csv\"", report.id),
        ))
        .body(text))
}
