//! The signed-in user's profile and saved numbers.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use topup_auth::app_users::{
    AppUserView, NewSavedNumber, SavedNumberId, SavedNumberView, UpdateAppProfile,
};

use crate::extract::Json;
use crate::security::AppUser;
use crate::{ApiError, AppState, ErrorBody};

/// Your profile.
#[utoipa::path(get, path = "/api/v1/app/me", tag = "app-me", operation_id = "app_me_get",
    responses((status = 200, description = "The signed-in user", body = AppUserView)),
    extensions(("x-app-user" = json!(true))))]
pub async fn get(who: AppUser, state: web::Data<AppState>) -> Result<Json<AppUserView>, ApiError> {
    Ok(Json(state.app_users.me(&who).await?))
}

/// Change your nickname, avatar or language; fields left out stay as they are.
#[utoipa::path(put, path = "/api/v1/app/me", tag = "app-me", operation_id = "app_me_update",
    request_body = UpdateAppProfile,
    responses(
        (status = 200, description = "Updated", body = AppUserView),
        (status = 400, description = "`VALIDATION_FAILED` (nickname over 64 characters, avatar not https) or `MALFORMED_JSON` (unknown field, language not zh|en)", body = ErrorBody),
    ),
    extensions(("x-app-user" = json!(true))))]
pub async fn update(
    who: AppUser,
    state: web::Data<AppState>,
    body: Json<UpdateAppProfile>,
) -> Result<Json<AppUserView>, ApiError> {
    Ok(Json(
        state.app_users.update_me(&who, body.into_inner()).await?,
    ))
}

/// Your saved numbers, oldest first. Blacklisted ones are flagged `blocked`.
#[utoipa::path(get, path = "/api/v1/app/me/numbers", tag = "app-me", operation_id = "app_me_numbers_list",
    responses((status = 200, description = "Saved numbers", body = Vec<SavedNumberView>)),
    extensions(("x-app-user" = json!(true))))]
pub async fn list_numbers(
    who: AppUser,
    state: web::Data<AppState>,
) -> Result<Json<Vec<SavedNumberView>>, ApiError> {
    Ok(Json(state.app_users.list_numbers(&who).await?))
}

/// Save a number (at most 20, no duplicates). A blacklisted number is saved but flagged
/// `blocked`: orders to it are refused.
#[utoipa::path(post, path = "/api/v1/app/me/numbers", tag = "app-me", operation_id = "app_me_numbers_add",
    request_body = NewSavedNumber,
    responses(
        (status = 201, description = "Saved", body = SavedNumberView),
        (status = 400, description = "`INVALID_PHONE`, `INVALID_COUNTRY` or `VALIDATION_FAILED`", body = ErrorBody),
        (status = 409, description = "`CONFLICT` (already saved) or `SAVED_NUMBER_LIMIT`", body = ErrorBody),
    ),
    extensions(("x-app-user" = json!(true))))]
pub async fn add_number(
    who: AppUser,
    state: web::Data<AppState>,
    body: Json<NewSavedNumber>,
) -> Result<(Json<SavedNumberView>, StatusCode), ApiError> {
    let saved = state.app_users.add_number(&who, body.into_inner()).await?;
    Ok((Json(saved), StatusCode::CREATED))
}

/// Forget a saved number.
#[utoipa::path(delete, path = "/api/v1/app/me/numbers/{id}", tag = "app-me", operation_id = "app_me_numbers_delete",
    params(("id" = String, Path, description = "Saved number id (ULID)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such saved number", body = ErrorBody),
    ),
    extensions(("x-app-user" = json!(true))))]
pub async fn delete_number(
    who: AppUser,
    state: web::Data<AppState>,
    id: web::Path<SavedNumberId>,
) -> Result<HttpResponse, ApiError> {
    state.app_users.delete_number(&who, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}
