//! Role administration.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use topup_auth::perm::{
    SystemRoleAssignPermissions, SystemRoleCreate, SystemRoleDelete, SystemRoleList,
    SystemRoleUpdate,
};
use topup_auth::{
    AssignPermissionsRequest, NewRole, Permission, RoleId, RoleQuery, RoleView, UpdateRole,
};
use topup_core::{Page, PageRequest};

use crate::extract::{Json, Paging, Query};
use crate::routes::admin::audited;
use crate::security::Require;
use crate::{ApiError, AppState, ErrorBody};

/// List roles (filter, sort, page).
#[utoipa::path(get, path = "/api/v1/admin/roles", tag = "admin-roles", operation_id = "admin_roles_list",
    params(PageRequest, RoleQuery),
    responses(
        (status = 200, description = "One page of roles", body = Page<RoleView>),
        (status = 400, description = "Bad filter, sort or page", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemRoleList::CODE))))]
pub async fn list(
    _who: Require<SystemRoleList>,
    state: web::Data<AppState>,
    page: Paging,
    query: Query<RoleQuery>,
) -> Result<Json<Page<RoleView>>, ApiError> {
    Ok(Json(state.auth.list_roles(&query, *page).await?))
}

/// Create a role.
#[utoipa::path(post, path = "/api/v1/admin/roles", tag = "admin-roles", operation_id = "admin_roles_create",
    request_body = NewRole,
    responses(
        (status = 201, description = "Created", body = RoleView),
        (status = 400, description = "`VALIDATION_FAILED` (incl. unknown permissions)", body = ErrorBody),
        (status = 409, description = "Code taken (`CONFLICT`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemRoleCreate::CODE))))]
pub async fn create(
    who: Require<SystemRoleCreate>,
    state: web::Data<AppState>,
    body: Json<NewRole>,
) -> Result<(Json<RoleView>, StatusCode), ApiError> {
    let work = state.auth.create_role(&who, body.into_inner());
    let role = audited(&state, &who, "create role", "staff_role", None, work).await?;
    Ok((Json(role), StatusCode::CREATED))
}

/// One role.
#[utoipa::path(get, path = "/api/v1/admin/roles/{id}", tag = "admin-roles", operation_id = "admin_roles_get",
    params(("id" = String, Path, description = "Role id (ULID)")),
    responses(
        (status = 200, description = "The role", body = RoleView),
        (status = 404, description = "No such role", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemRoleList::CODE))))]
pub async fn get(
    _who: Require<SystemRoleList>,
    state: web::Data<AppState>,
    id: web::Path<RoleId>,
) -> Result<Json<RoleView>, ApiError> {
    Ok(Json(state.auth.get_role(*id).await?))
}

/// Change a role's name, description or enabled flag (the built-in role stays enabled).
#[utoipa::path(put, path = "/api/v1/admin/roles/{id}", tag = "admin-roles", operation_id = "admin_roles_update",
    params(("id" = String, Path, description = "Role id (ULID)")),
    request_body = UpdateRole,
    responses(
        (status = 200, description = "Updated", body = RoleView),
        (status = 400, description = "`VALIDATION_FAILED`", body = ErrorBody),
        (status = 404, description = "No such role", body = ErrorBody),
        (status = 409, description = "`BUILTIN_PROTECTED`", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemRoleUpdate::CODE))))]
pub async fn update(
    who: Require<SystemRoleUpdate>,
    state: web::Data<AppState>,
    id: web::Path<RoleId>,
    body: Json<UpdateRole>,
) -> Result<Json<RoleView>, ApiError> {
    let work = state.auth.update_role(&who, *id, body.into_inner());
    let target = Some(id.to_string());
    Ok(Json(
        audited(&state, &who, "update role", "staff_role", target, work).await?,
    ))
}

/// Delete a role nobody holds (never the built-in one).
#[utoipa::path(delete, path = "/api/v1/admin/roles/{id}", tag = "admin-roles", operation_id = "admin_roles_delete",
    params(("id" = String, Path, description = "Role id (ULID)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such role", body = ErrorBody),
        (status = 409, description = "`ROLE_IN_USE` or `BUILTIN_PROTECTED`", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemRoleDelete::CODE))))]
pub async fn delete(
    who: Require<SystemRoleDelete>,
    state: web::Data<AppState>,
    id: web::Path<RoleId>,
) -> Result<HttpResponse, ApiError> {
    let work = state.auth.delete_role(&who, *id);
    audited(
        &state,
        &who,
        "delete role",
        "staff_role",
        Some(id.to_string()),
        work,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Replace a role's permission codes; holders feel it on their next request.
#[utoipa::path(put, path = "/api/v1/admin/roles/{id}/permissions", tag = "admin-roles", operation_id = "admin_roles_set_permissions",
    params(("id" = String, Path, description = "Role id (ULID)")),
    request_body = AssignPermissionsRequest,
    responses(
        (status = 200, description = "Permissions replaced", body = RoleView),
        (status = 400, description = "`VALIDATION_FAILED` (unknown permission codes)", body = ErrorBody),
        (status = 404, description = "No such role", body = ErrorBody),
        (status = 409, description = "`BUILTIN_PROTECTED`", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemRoleAssignPermissions::CODE))))]
pub async fn set_permissions(
    who: Require<SystemRoleAssignPermissions>,
    state: web::Data<AppState>,
    id: web::Path<RoleId>,
    body: Json<AssignPermissionsRequest>,
) -> Result<Json<RoleView>, ApiError> {
    let work = state
        .auth
        .set_role_permissions(&who, *id, body.into_inner());
    let target = Some(id.to_string());
    Ok(Json(
        audited(
            &state,
            &who,
            "assign role permissions",
            "staff_role",
            target,
            work,
        )
        .await?,
    ))
}
