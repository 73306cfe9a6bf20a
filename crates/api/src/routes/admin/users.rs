//! Staff user administration.

use actix_web::http::StatusCode;
use actix_web::web;
use topup_auth::perm::{
    SystemUserAssignRoles, SystemUserCreate, SystemUserDisable, SystemUserEnable, SystemUserList,
    SystemUserResetPassword, SystemUserUnlock, SystemUserUpdate,
};
use topup_auth::{
    AssignRolesRequest, NewStaffUser, Permission, ResetPasswordRequest, StaffUserId, StaffUserView,
    UpdateStaffUser, UserQuery,
};
use topup_core::{Page, PageRequest};

use crate::extract::{Json, Paging, Query};
use crate::routes::admin::audited;
use crate::security::Require;
use crate::{ApiError, AppState, ErrorBody};

/// List staff users (filter, sort, page).
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin-users", operation_id = "admin_users_list",
    params(PageRequest, UserQuery),
    responses(
        (status = 200, description = "One page of staff users", body = Page<StaffUserView>),
        (status = 400, description = "Bad filter, sort or page", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemUserList::CODE))))]
pub async fn list(
    _who: Require<SystemUserList>,
    state: web::Data<AppState>,
    page: Paging,
    query: Query<UserQuery>,
) -> Result<Json<Page<StaffUserView>>, ApiError> {
    Ok(Json(state.auth.list_users(&query, *page).await?))
}

/// Create a staff user.
#[utoipa::path(post, path = "/api/v1/admin/users", tag = "admin-users", operation_id = "admin_users_create",
    request_body = NewStaffUser,
    responses(
        (status = 201, description = "Created", body = StaffUserView),
        (status = 400, description = "`VALIDATION_FAILED` (per-field `details.fields`)", body = ErrorBody),
        (status = 409, description = "Username taken (`CONFLICT`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemUserCreate::CODE))))]
pub async fn create(
    who: Require<SystemUserCreate>,
    state: web::Data<AppState>,
    body: Json<NewStaffUser>,
) -> Result<(Json<StaffUserView>, StatusCode), ApiError> {
    let work = state.auth.create_user(&who, body.into_inner());
    let user = audited(&state, &who, "create staff user", "staff_user", None, work).await?;
    Ok((Json(user), StatusCode::CREATED))
}

/// One staff user.
#[utoipa::path(get, path = "/api/v1/admin/users/{id}", tag = "admin-users", operation_id = "admin_users_get",
    params(("id" = String, Path, description = "Staff user id (ULID)")),
    responses(
        (status = 200, description = "The staff user", body = StaffUserView),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemUserList::CODE))))]
pub async fn get(
    _who: Require<SystemUserList>,
    state: web::Data<AppState>,
    id: web::Path<StaffUserId>,
) -> Result<Json<StaffUserView>, ApiError> {
    Ok(Json(state.auth.get_user(*id).await?))
}

/// Change a staff user's profile.
#[utoipa::path(put, path = "/api/v1/admin/users/{id}", tag = "admin-users", operation_id = "admin_users_update",
    params(("id" = String, Path, description = "Staff user id (ULID)")),
    request_body = UpdateStaffUser,
    responses(
        (status = 200, description = "Updated", body = StaffUserView),
        (status = 400, description = "`VALIDATION_FAILED`", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemUserUpdate::CODE))))]
pub async fn update(
    who: Require<SystemUserUpdate>,
    state: web::Data<AppState>,
    id: web::Path<StaffUserId>,
    body: Json<UpdateStaffUser>,
) -> Result<Json<StaffUserView>, ApiError> {
    let work = state.auth.update_user(&who, *id, body.into_inner());
    let target = Some(id.to_string());
    Ok(Json(
        audited(
            &state,
            &who,
            "update staff user",
            "staff_user",
            target,
            work,
        )
        .await?,
    ))
}

/// Disable a staff user; their sessions end at once. Not yourself, not the last enabled
/// super-admin.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/disable", tag = "admin-users", operation_id = "admin_users_disable",
    params(("id" = String, Path, description = "Staff user id (ULID)")),
    responses(
        (status = 200, description = "Disabled", body = StaffUserView),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "`SELF_MODIFICATION` or `LAST_SUPER_ADMIN`", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemUserDisable::CODE))))]
pub async fn disable(
    who: Require<SystemUserDisable>,
    state: web::Data<AppState>,
    id: web::Path<StaffUserId>,
) -> Result<Json<StaffUserView>, ApiError> {
    let work = state.auth.set_user_enabled(&who, *id, false);
    let target = Some(id.to_string());
    Ok(Json(
        audited(
            &state,
            &who,
            "disable staff user",
            "staff_user",
            target,
            work,
        )
        .await?,
    ))
}

/// Enable a staff user.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/enable", tag = "admin-users", operation_id = "admin_users_enable",
    params(("id" = String, Path, description = "Staff user id (ULID)")),
    responses(
        (status = 200, description = "Enabled", body = StaffUserView),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemUserEnable::CODE))))]
pub async fn enable(
    who: Require<SystemUserEnable>,
    state: web::Data<AppState>,
    id: web::Path<StaffUserId>,
) -> Result<Json<StaffUserView>, ApiError> {
    let work = state.auth.set_user_enabled(&who, *id, true);
    let target = Some(id.to_string());
    Ok(Json(
        audited(
            &state,
            &who,
            "enable staff user",
            "staff_user",
            target,
            work,
        )
        .await?,
    ))
}

/// Set a temporary password; the user must change it at next login. Their sessions end.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/reset-password", tag = "admin-users", operation_id = "admin_users_reset_password",
    params(("id" = String, Path, description = "Staff user id (ULID)")),
    request_body = ResetPasswordRequest,
    responses(
        (status = 200, description = "Password reset", body = StaffUserView),
        (status = 400, description = "`VALIDATION_FAILED` (password policy)", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemUserResetPassword::CODE))))]
pub async fn reset_password(
    who: Require<SystemUserResetPassword>,
    state: web::Data<AppState>,
    id: web::Path<StaffUserId>,
    body: Json<ResetPasswordRequest>,
) -> Result<Json<StaffUserView>, ApiError> {
    let work = state.auth.reset_password(&who, *id, body.into_inner());
    let target = Some(id.to_string());
    Ok(Json(
        audited(
            &state,
            &who,
            "reset staff password",
            "staff_user",
            target,
            work,
        )
        .await?,
    ))
}

/// Lift the sign-in locks on a staff user's name (from every address), e.g. after they
/// called about being locked out. A password reset does the same.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/unlock", tag = "admin-users", operation_id = "admin_users_unlock",
    params(("id" = String, Path, description = "Staff user id (ULID)")),
    responses(
        (status = 200, description = "Unlocked", body = StaffUserView),
        (status = 403, description = "`GRANT_EXCEEDED`: the user holds more than you", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemUserUnlock::CODE))))]
pub async fn unlock(
    who: Require<SystemUserUnlock>,
    state: web::Data<AppState>,
    id: web::Path<StaffUserId>,
) -> Result<Json<StaffUserView>, ApiError> {
    let work = state.auth.unlock_user(&who, *id);
    let target = Some(id.to_string());
    Ok(Json(
        audited(
            &state,
            &who,
            "unlock staff user",
            "staff_user",
            target,
            work,
        )
        .await?,
    ))
}

/// Replace a staff user's roles; it applies to their next request.
#[utoipa::path(put, path = "/api/v1/admin/users/{id}/roles", tag = "admin-users", operation_id = "admin_users_assign_roles",
    params(("id" = String, Path, description = "Staff user id (ULID)")),
    request_body = AssignRolesRequest,
    responses(
        (status = 200, description = "Roles replaced", body = StaffUserView),
        (status = 400, description = "`VALIDATION_FAILED` (unknown role ids)", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "`LAST_SUPER_ADMIN`", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemUserAssignRoles::CODE))))]
pub async fn assign_roles(
    who: Require<SystemUserAssignRoles>,
    state: web::Data<AppState>,
    id: web::Path<StaffUserId>,
    body: Json<AssignRolesRequest>,
) -> Result<Json<StaffUserView>, ApiError> {
    let work = state.auth.assign_roles(&who, *id, body.into_inner());
    let target = Some(id.to_string());
    Ok(Json(
        audited(
            &state,
            &who,
            "assign staff roles",
            "staff_user",
            target,
            work,
        )
        .await?,
    ))
}
