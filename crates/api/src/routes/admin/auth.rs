//! Sign-in, token refresh, logout, password change and "who am I".

use actix_web::{HttpResponse, web};
use topup_auth::{ChangePasswordRequest, LoginRequest, Me, RefreshRequest, TokenPair};

use crate::extract::Json;
use crate::routes::admin::audited;
use crate::security::{Authenticated, Client};
use crate::{ApiError, AppState, ErrorBody};

/// Sign in with username and password.
///
/// Unknown usernames and wrong passwords both answer 401 `INVALID_CREDENTIALS`. After
/// `lockout_threshold` failures within the window the username is locked (423
/// `ACCOUNT_LOCKED`, also for the attempt that locks it); each address is rate limited (429).
#[utoipa::path(post, path = "/api/v1/admin/auth/login", tag = "admin-auth", operation_id = "admin_auth_login",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenPair),
        (status = 400, description = "Malformed input (`VALIDATION_FAILED`)", body = ErrorBody),
        (status = 401, description = "`INVALID_CREDENTIALS`", body = ErrorBody),
        (status = 403, description = "`ACCOUNT_DISABLED`", body = ErrorBody),
        (status = 423, description = "`ACCOUNT_LOCKED`", body = ErrorBody),
        (status = 429, description = "`RATE_LIMITED` for this address", body = ErrorBody),
    ),
    extensions(("x-public" = json!(true))))]
pub async fn login(
    state: web::Data<AppState>,
    client: Client,
    body: Json<LoginRequest>,
) -> Result<Json<TokenPair>, ApiError> {
    Ok(Json(state.auth.login(body.into_inner(), client.0).await?))
}

/// Exchange a refresh token for a new pair. Each refresh token works once; reusing one ends
/// its session.
#[utoipa::path(post, path = "/api/v1/admin/auth/refresh", tag = "admin-auth", operation_id = "admin_auth_refresh",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New token pair", body = TokenPair),
        (status = 400, description = "Malformed input", body = ErrorBody),
        (status = 401, description = "Invalid, expired or reused refresh token", body = ErrorBody),
    ),
    extensions(("x-public" = json!(true))))]
pub async fn refresh(
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> Result<Json<TokenPair>, ApiError> {
    Ok(Json(state.auth.refresh(body.into_inner()).await?))
}

/// End the current session; its tokens stop working at once.
#[utoipa::path(post, path = "/api/v1/admin/auth/logout", tag = "admin-auth", operation_id = "admin_auth_logout",
    responses((status = 204, description = "Signed out")),
    extensions(("x-authenticated-only" = json!(true))))]
pub async fn logout(
    who: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    audited(
        &state,
        &who,
        "log out",
        "staff_session",
        None,
        state.auth.logout(&who),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Change your own password. Every session of yours ends; the answer is a new pair.
#[utoipa::path(put, path = "/api/v1/admin/auth/password", tag = "admin-auth", operation_id = "admin_auth_change_password",
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Password changed; use the new tokens", body = TokenPair),
        (status = 400, description = "Wrong current password or weak new one (`VALIDATION_FAILED`)", body = ErrorBody),
    ),
    extensions(("x-authenticated-only" = json!(true))))]
pub async fn change_password(
    who: Authenticated,
    state: web::Data<AppState>,
    body: Json<ChangePasswordRequest>,
) -> Result<Json<TokenPair>, ApiError> {
    let target = Some(who.user_id.to_string());
    let work = state.auth.change_password(&who, body.into_inner());
    let pair = audited(
        &state,
        &who,
        "change own password",
        "staff_user",
        target,
        work,
    )
    .await?;
    Ok(Json(pair))
}

/// Who you are: profile, roles, permission codes and the navigation tree you may see.
#[utoipa::path(get, path = "/api/v1/admin/auth/me", tag = "admin-auth", operation_id = "admin_auth_me",
    responses((status = 200, description = "The signed-in staff member", body = Me)),
    extensions(("x-authenticated-only" = json!(true))))]
pub async fn me(who: Authenticated, state: web::Data<AppState>) -> Result<Json<Me>, ApiError> {
    Ok(Json(state.auth.me(&who).await?))
}
