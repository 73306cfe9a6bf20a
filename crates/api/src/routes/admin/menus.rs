//! The menu/permission tree.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use topup_auth::perm::{SystemMenuCreate, SystemMenuDelete, SystemMenuList, SystemMenuUpdate};
use topup_auth::{MenuNodeId, MenuNodeInput, MenuNodeView, Permission};

use crate::extract::Json;
use crate::routes::admin::audited;
use crate::security::Require;
use crate::{ApiError, AppState, ErrorBody};

/// The whole menu/permission tree, buttons and hidden nodes included.
#[utoipa::path(get, path = "/api/v1/admin/menus", tag = "admin-menus", operation_id = "admin_menus_tree",
    responses((status = 200, description = "Roots of the tree", body = Vec<MenuNodeView>)),
    extensions(("x-permission" = json!(SystemMenuList::CODE))))]
pub async fn tree(
    _who: Require<SystemMenuList>,
    state: web::Data<AppState>,
) -> Result<Json<Vec<MenuNodeView>>, ApiError> {
    Ok(Json(state.auth.menu_tree().await?))
}

/// Add a directory, menu or button.
#[utoipa::path(post, path = "/api/v1/admin/menus", tag = "admin-menus", operation_id = "admin_menus_create",
    request_body = MenuNodeInput,
    responses(
        (status = 201, description = "Created", body = MenuNodeView),
        (status = 400, description = "`VALIDATION_FAILED`", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemMenuCreate::CODE))))]
pub async fn create(
    who: Require<SystemMenuCreate>,
    state: web::Data<AppState>,
    body: Json<MenuNodeInput>,
) -> Result<(Json<MenuNodeView>, StatusCode), ApiError> {
    let work = state.auth.create_menu(&who, body.into_inner());
    let node = audited(&state, &who, "create menu node", "staff_menu", None, work).await?;
    Ok((Json(node), StatusCode::CREATED))
}

/// Change a node. Built-in nodes take only name, icon, order and visibility changes.
#[utoipa::path(put, path = "/api/v1/admin/menus/{id}", tag = "admin-menus", operation_id = "admin_menus_update",
    params(("id" = String, Path, description = "Menu node id (ULID)")),
    request_body = MenuNodeInput,
    responses(
        (status = 200, description = "Updated", body = MenuNodeView),
        (status = 400, description = "`VALIDATION_FAILED`", body = ErrorBody),
        (status = 404, description = "No such node", body = ErrorBody),
        (status = 409, description = "`BUILTIN_PROTECTED`", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemMenuUpdate::CODE))))]
pub async fn update(
    who: Require<SystemMenuUpdate>,
    state: web::Data<AppState>,
    id: web::Path<MenuNodeId>,
    body: Json<MenuNodeInput>,
) -> Result<Json<MenuNodeView>, ApiError> {
    let work = state.auth.update_menu(&who, *id, body.into_inner());
    let target = Some(id.to_string());
    Ok(Json(
        audited(&state, &who, "update menu node", "staff_menu", target, work).await?,
    ))
}

/// Delete a childless node created by staff (built-in nodes can be hidden instead).
#[utoipa::path(delete, path = "/api/v1/admin/menus/{id}", tag = "admin-menus", operation_id = "admin_menus_delete",
    params(("id" = String, Path, description = "Menu node id (ULID)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such node", body = ErrorBody),
        (status = 409, description = "`MENU_HAS_CHILDREN` or `BUILTIN_PROTECTED`", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemMenuDelete::CODE))))]
pub async fn delete(
    who: Require<SystemMenuDelete>,
    state: web::Data<AppState>,
    id: web::Path<MenuNodeId>,
) -> Result<HttpResponse, ApiError> {
    let work = state.auth.delete_menu(&who, *id);
    audited(
        &state,
        &who,
        "delete menu node",
        "staff_menu",
        Some(id.to_string()),
        work,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
