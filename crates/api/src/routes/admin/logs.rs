//! Login, operation and access logs.

use actix_web::web;
use topup_auth::perm::{SystemAccessLogList, SystemLoginLogList, SystemOperationLogList};
use topup_auth::{
    AccessLog, AccessLogQuery, LoginLog, LoginLogQuery, OperationLog, OperationLogQuery, Permission,
};
use topup_core::{Page, PageRequest};

use crate::extract::{Json, Paging, Query};
use crate::security::Require;
use crate::{ApiError, AppState, ErrorBody};

/// Login attempts, newest first.
#[utoipa::path(get, path = "/api/v1/admin/logs/login", tag = "admin-logs", operation_id = "admin_logs_login",
    params(PageRequest, LoginLogQuery),
    responses(
        (status = 200, description = "One page of login attempts", body = Page<LoginLog>),
        (status = 400, description = "Bad filter or page", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemLoginLogList::CODE))))]
pub async fn login(
    _who: Require<SystemLoginLogList>,
    state: web::Data<AppState>,
    page: Paging,
    query: Query<LoginLogQuery>,
) -> Result<Json<Page<LoginLog>>, ApiError> {
    Ok(Json(state.auth.list_login_logs(&query, *page).await?))
}

/// Admin writes with before/after snapshots (secrets masked), newest first.
#[utoipa::path(get, path = "/api/v1/admin/logs/operations", tag = "admin-logs", operation_id = "admin_logs_operations",
    params(PageRequest, OperationLogQuery),
    responses(
        (status = 200, description = "One page of operations", body = Page<OperationLog>),
        (status = 400, description = "Bad filter or page", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemOperationLogList::CODE))))]
pub async fn operations(
    _who: Require<SystemOperationLogList>,
    state: web::Data<AppState>,
    page: Paging,
    query: Query<OperationLogQuery>,
) -> Result<Json<Page<OperationLog>>, ApiError> {
    Ok(Json(state.auth.list_operation_logs(&query, *page).await?))
}

/// Sampled admin API requests, newest first.
#[utoipa::path(get, path = "/api/v1/admin/logs/access", tag = "admin-logs", operation_id = "admin_logs_access",
    params(PageRequest, AccessLogQuery),
    responses(
        (status = 200, description = "One page of requests", body = Page<AccessLog>),
        (status = 400, description = "Bad filter or page", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemAccessLogList::CODE))))]
pub async fn access(
    _who: Require<SystemAccessLogList>,
    state: web::Data<AppState>,
    page: Paging,
    query: Query<AccessLogQuery>,
) -> Result<Json<Page<AccessLog>>, ApiError> {
    Ok(Json(state.auth.list_access_logs(&query, *page).await?))
}
