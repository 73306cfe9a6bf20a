//! Silent login with a `wx.login()` code.

use actix_web::web;
use topup_auth::app_users::{AppLoginRequest, AppLoginResponse};

use actix_web::HttpResponse;

use crate::extract::Json;
use crate::security::{AppUser, Client};
use crate::{ApiError, AppState, ErrorBody};

/// Log in with the code from `wx.login()`.
///
/// The server exchanges the code with WeChat (`jscode2session`), creates the user on their
/// first login and answers an app token. Each code works once and for five minutes. A new
/// user receives the coupons of enabled `new_user` templates.
#[utoipa::path(post, path = "/api/v1/app/auth/login", tag = "app-auth", operation_id = "app_auth_login",
    request_body = AppLoginRequest,
    responses(
        (status = 200, description = "Logged in", body = AppLoginResponse),
        (status = 400, description = "`VALIDATION_FAILED` (empty or malformed code) or `MALFORMED_JSON`", body = ErrorBody),
        (status = 401, description = "`WECHAT_CODE_INVALID` (unknown or expired) or `WECHAT_CODE_USED`", body = ErrorBody),
        (status = 403, description = "`USER_BLOCKED` (disabled or blacklisted), `IP_BLOCKED`, `WECHAT_USER_RISKY`", body = ErrorBody),
        (status = 429, description = "`RATE_LIMITED` for this address, or `WECHAT_RATE_LIMITED`", body = ErrorBody),
        (status = 502, description = "`UPSTREAM_FAILED`: WeChat refused our app credentials", body = ErrorBody),
        (status = 503, description = "`WECHAT_UNAVAILABLE`: WeChat busy or unreachable", body = ErrorBody),
    ),
    extensions(("x-public" = json!(true))))]
pub async fn login(
    state: web::Data<AppState>,
    client: Client,
    body: Json<AppLoginRequest>,
) -> Result<Json<AppLoginResponse>, ApiError> {
    let answer = state.app_users.login(body.into_inner(), client.0).await?;
    welcome(&state, &answer).await;
    Ok(Json(answer))
}

/// Gives a new user their `new_user` coupons. Tried again at each sign-in on their first day,
/// so a failure (or a crash) right after the first login is made good; each is given once.
async fn welcome(state: &AppState, answer: &AppLoginResponse) {
    let joined_at = answer.user.created_at;
    let first_day = state.clock.now().since(joined_at) < chrono::TimeDelta::days(1);
    if !(answer.new_user || first_day) {
        return;
    }
    let user_id = answer.user.id.to_string();
    if let Err(error) = state.marketing.welcome(&user_id, joined_at).await {
        tracing::warn!(%error, %user_id, "new-user coupons not given; the next sign-in tries again");
    }
}

/// Log out: every app token of this user issued so far stops working at once (on every
/// device); the next launch logs in silently again.
#[utoipa::path(post, path = "/api/v1/app/auth/logout", tag = "app-auth", operation_id = "app_auth_logout",
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "`UNAUTHORIZED` (no or dead token) or `TOKEN_EXPIRED`", body = ErrorBody),
    ),
    extensions(("x-app-user" = json!(true))))]
pub async fn logout(who: AppUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.app_users.logout(who.user_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
