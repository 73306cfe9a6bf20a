//! Payment alerts: verified WeChat Pay reports that disagree with our records (amount, ids,
//! unknown payments or refunds, money taken for a closed payment). Never applied; staff
//! look at them here.

use actix_web::web;
use topup_auth::Permission;
use topup_auth::perm::PaymentAlertList;
use topup_core::{Page, PageRequest};
use topup_payment::PaymentAlert;

use crate::extract::{Json, Paging};
use crate::security::Require;
use crate::{ApiError, AppState, ErrorBody};

/// Payment alerts, newest first.
#[utoipa::path(get, path = "/api/v1/admin/payments/alerts", tag = "admin-payments", operation_id = "admin_payment_alerts",
    params(PageRequest),
    responses(
        (status = 200, description = "One page of alerts", body = Page<PaymentAlert>),
        (status = 400, description = "Bad page", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(PaymentAlertList::CODE))))]
pub async fn alerts(
    _who: Require<PaymentAlertList>,
    state: web::Data<AppState>,
    page: Paging,
) -> Result<Json<Page<PaymentAlert>>, ApiError> {
    let page = *page;
    Ok(Json(state.payments.alerts(page).await?))
}
