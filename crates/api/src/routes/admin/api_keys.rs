//! Integrators' API keys (`docs/security.md#api-keys`).

use actix_web::http::StatusCode;
use actix_web::web;
use topup_auth::perm::{SystemApiKeyCreate, SystemApiKeyList, SystemApiKeyRevoke};
use topup_auth::{ApiKeyId, ApiKeyQuery, ApiKeyView, CreatedApiKey, NewApiKey, Permission};
use topup_core::{Page, PageRequest};

use crate::extract::{Json, Paging, Query};
use crate::routes::admin::audited;
use crate::security::Require;
use crate::{ApiError, AppState, ErrorBody};

/// API keys, newest first (never the keys themselves).
#[utoipa::path(get, path = "/api/v1/admin/api-keys", tag = "admin-api-keys", operation_id = "admin_api_keys_list",
    params(PageRequest, ApiKeyQuery),
    responses(
        (status = 200, description = "One page of API keys", body = Page<ApiKeyView>),
        (status = 400, description = "Bad filter or page", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemApiKeyList::CODE))))]
pub async fn list(
    _who: Require<SystemApiKeyList>,
    state: web::Data<AppState>,
    page: Paging,
    query: Query<ApiKeyQuery>,
) -> Result<Json<Page<ApiKeyView>>, ApiError> {
    Ok(Json(state.auth.list_api_keys(&query, *page).await?))
}

/// Create an API key holding some of one's own permissions. The answer's `key` is shown this
/// once; send it as `Authorization: Bearer <key>` on `/api/v1/admin/*` (not `/auth/*`).
#[utoipa::path(post, path = "/api/v1/admin/api-keys", tag = "admin-api-keys", operation_id = "admin_api_keys_create",
    request_body = NewApiKey,
    responses(
        (status = 201, description = "Created; `key` is not shown again", body = CreatedApiKey),
        (status = 400, description = "`VALIDATION_FAILED` (per-field `details.fields`)", body = ErrorBody),
        (status = 403, description = "`GRANT_EXCEEDED`: a permission the creator does not hold; `FORBIDDEN`: the caller is an API key", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemApiKeyCreate::CODE))))]
pub async fn create(
    who: Require<SystemApiKeyCreate>,
    state: web::Data<AppState>,
    body: Json<NewApiKey>,
) -> Result<(Json<CreatedApiKey>, StatusCode), ApiError> {
    let work = state.auth.create_api_key(&who, body.into_inner());
    let created = audited(&state, &who, "create API key", "api_key", None, work).await?;
    Ok((Json(created), StatusCode::CREATED))
}

/// Revoke an API key: its next request is refused with 401.
#[utoipa::path(delete, path = "/api/v1/admin/api-keys/{id}", tag = "admin-api-keys", operation_id = "admin_api_keys_revoke",
    params(("id" = String, Path, description = "API key id (ULID)")),
    responses(
        (status = 200, description = "The revoked key", body = ApiKeyView),
        (status = 404, description = "No such key", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemApiKeyRevoke::CODE))))]
pub async fn revoke(
    who: Require<SystemApiKeyRevoke>,
    state: web::Data<AppState>,
    id: web::Path<ApiKeyId>,
) -> Result<Json<ApiKeyView>, ApiError> {
    let work = state.auth.revoke_api_key(&who, *id);
    let target = Some(id.to_string());
    Ok(Json(
        audited(&state, &who, "revoke API key", "api_key", target, work).await?,
    ))
}
