//! Mini-program users as staff see them, and the daily visitor counts.

use actix_web::web;
use topup_auth::app_users::{
    AppUserAdminView, AppUserId, AppUserQuery, AppUserStatus, VisitorDay, VisitorQuery,
};
use topup_auth::perm::{UserAppUserDisable, UserAppUserEnable, UserAppUserList, UserVisitorList};
use topup_auth::{Permission, Principal};
use topup_core::{Page, PageRequest};

use crate::extract::{Json, Paging, Query};
use crate::routes::admin::audited;
use crate::routes::admin::orders::sees_personal_data;
use crate::security::Require;
use crate::{ApiError, AppState, ErrorBody};

/// The user as `who` may see them: personal data masked without `order:personal:view`
/// (`docs/security.md#personal-data`).
pub(crate) fn for_viewer(view: AppUserAdminView, who: &Principal) -> AppUserAdminView {
    if sees_personal_data(who) {
        view
    } else {
        view.masked()
    }
}

/// Search mini-program users: by openid or nickname (`q`), saved number, status, creation
/// time; sorted and paged. Openids, numbers and addresses are masked without
/// `order:personal:view`.
#[utoipa::path(get, path = "/api/v1/admin/app-users", tag = "admin-app-users", operation_id = "admin_app_users_list",
    params(PageRequest, AppUserQuery),
    responses(
        (status = 200, description = "One page of mini-program users", body = Page<AppUserAdminView>),
        (status = 400, description = "Bad filter, sort or page", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(UserAppUserList::CODE))))]
pub async fn list(
    who: Require<UserAppUserList>,
    state: web::Data<AppState>,
    page: Paging,
    query: Query<AppUserQuery>,
) -> Result<Json<Page<AppUserAdminView>>, ApiError> {
    let page = state.app_users.list_app_users(&query, *page).await?;
    Ok(Json(page.map(|view| for_viewer(view, &who))))
}

/// One mini-program user with their saved numbers.
#[utoipa::path(get, path = "/api/v1/admin/app-users/{id}", tag = "admin-app-users", operation_id = "admin_app_users_get",
    params(("id" = String, Path, description = "App user id (ULID)")),
    responses(
        (status = 200, description = "The user", body = AppUserAdminView),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(UserAppUserList::CODE))))]
pub async fn get(
    who: Require<UserAppUserList>,
    state: web::Data<AppState>,
    id: web::Path<AppUserId>,
) -> Result<Json<AppUserAdminView>, ApiError> {
    let view = state.app_users.get_app_user(*id).await?;
    Ok(Json(for_viewer(view, &who)))
}

/// Disable a mini-program user: their very next request answers 403 `USER_BLOCKED`.
#[utoipa::path(post, path = "/api/v1/admin/app-users/{id}/disable", tag = "admin-app-users", operation_id = "admin_app_users_disable",
    params(("id" = String, Path, description = "App user id (ULID)")),
    responses(
        (status = 200, description = "Disabled", body = AppUserAdminView),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(UserAppUserDisable::CODE))))]
pub async fn disable(
    who: Require<UserAppUserDisable>,
    state: web::Data<AppState>,
    id: web::Path<AppUserId>,
) -> Result<Json<AppUserAdminView>, ApiError> {
    let work = state
        .app_users
        .set_app_user_status(&who, *id, AppUserStatus::Disabled);
    let target = Some(id.to_string());
    let view = audited(&state, &who, "disable app user", "app_user", target, work).await?;
    Ok(Json(for_viewer(view, &who)))
}

/// Enable a mini-program user again.
#[utoipa::path(post, path = "/api/v1/admin/app-users/{id}/enable", tag = "admin-app-users", operation_id = "admin_app_users_enable",
    params(("id" = String, Path, description = "App user id (ULID)")),
    responses(
        (status = 200, description = "Enabled", body = AppUserAdminView),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(UserAppUserEnable::CODE))))]
pub async fn enable(
    who: Require<UserAppUserEnable>,
    state: web::Data<AppState>,
    id: web::Path<AppUserId>,
) -> Result<Json<AppUserAdminView>, ApiError> {
    let work = state
        .app_users
        .set_app_user_status(&who, *id, AppUserStatus::Active);
    let target = Some(id.to_string());
    let view = audited(&state, &who, "enable app user", "app_user", target, work).await?;
    Ok(Json(for_viewer(view, &who)))
}

/// New and active mini-program users per calendar day (in the configured visitor-day
/// offset), every day of the range, oldest first.
#[utoipa::path(get, path = "/api/v1/admin/visitors/daily", tag = "admin-app-users", operation_id = "admin_visitors_daily",
    params(VisitorQuery),
    responses(
        (status = 200, description = "One row per day", body = Vec<VisitorDay>),
        (status = 400, description = "Bad dates or a range over 366 days (`VALIDATION_FAILED`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(UserVisitorList::CODE))))]
pub async fn visitors_daily(
    _who: Require<UserVisitorList>,
    state: web::Data<AppState>,
    query: Query<VisitorQuery>,
) -> Result<Json<Vec<VisitorDay>>, ApiError> {
    Ok(Json(state.app_users.visitors_per_day(&query).await?))
}
