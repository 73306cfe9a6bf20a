//! The blacklist: phone numbers, openids and addresses.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use topup_auth::Permission;
use topup_auth::app_users::{
    BlacklistEntryId, BlacklistEntryView, BlacklistQuery, NewBlacklistEntry,
};
use topup_auth::perm::{UserBlacklistCreate, UserBlacklistDelete, UserBlacklistList};
use topup_core::{Page, PageRequest};

use crate::extract::{Json, Paging, Query};
use crate::routes::admin::audited;
use crate::security::Require;
use crate::{ApiError, AppState, ErrorBody};

/// List blacklist entries, newest first.
#[utoipa::path(get, path = "/api/v1/admin/blacklist", tag = "admin-blacklist", operation_id = "admin_blacklist_list",
    params(PageRequest, BlacklistQuery),
    responses(
        (status = 200, description = "One page of entries", body = Page<BlacklistEntryView>),
        (status = 400, description = "Bad filter or page", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(UserBlacklistList::CODE))))]
pub async fn list(
    _who: Require<UserBlacklistList>,
    state: web::Data<AppState>,
    page: Paging,
    query: Query<BlacklistQuery>,
) -> Result<Json<Page<BlacklistEntryView>>, ApiError> {
    Ok(Json(state.app_users.list_blacklist(&query, *page).await?))
}

/// Blacklist a phone number (orders refused), an openid (every app route refused at once)
/// or an address (app login refused), until `expires_at` or for good.
#[utoipa::path(post, path = "/api/v1/admin/blacklist", tag = "admin-blacklist", operation_id = "admin_blacklist_create",
    request_body = NewBlacklistEntry,
    responses(
        (status = 201, description = "Added", body = BlacklistEntryView),
        (status = 400, description = "`VALIDATION_FAILED`, `INVALID_PHONE`, `INVALID_COUNTRY`", body = ErrorBody),
        (status = 409, description = "Already blacklisted (`CONFLICT`)", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(UserBlacklistCreate::CODE))))]
pub async fn create(
    who: Require<UserBlacklistCreate>,
    state: web::Data<AppState>,
    body: Json<NewBlacklistEntry>,
) -> Result<(Json<BlacklistEntryView>, StatusCode), ApiError> {
    let work = state.app_users.add_blacklist(&who, body.into_inner());
    let entry = audited(
        &state,
        &who,
        "add blacklist entry",
        "blacklist_entry",
        None,
        work,
    )
    .await?;
    Ok((Json(entry), StatusCode::CREATED))
}

/// Remove a blacklist entry; it stops blocking at once.
#[utoipa::path(delete, path = "/api/v1/admin/blacklist/{id}", tag = "admin-blacklist", operation_id = "admin_blacklist_delete",
    params(("id" = String, Path, description = "Blacklist entry id (ULID)")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such entry", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(UserBlacklistDelete::CODE))))]
pub async fn delete(
    who: Require<UserBlacklistDelete>,
    state: web::Data<AppState>,
    id: web::Path<BlacklistEntryId>,
) -> Result<HttpResponse, ApiError> {
    let work = state.app_users.remove_blacklist(&who, *id);
    let target = Some(id.to_string());
    audited(
        &state,
        &who,
        "remove blacklist entry",
        "blacklist_entry",
        target,
        work,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
