//! Online staff and forced logout.

use actix_web::web;
use topup_auth::perm::{SystemSessionList, SystemSessionRevoke};
use topup_auth::{Permission, SessionId, SessionQuery, SessionView};
use topup_core::{Page, PageRequest};

use crate::extract::{Json, Paging, Query};
use crate::routes::admin::audited;
use crate::security::Require;
use crate::{ApiError, AppState, ErrorBody};

/// Live sessions: who is signed in, from where, since when, last seen.
#[utoipa::path(get, path = "/api/v1/admin/sessions", tag = "admin-sessions", operation_id = "admin_sessions_list",
    params(PageRequest, SessionQuery),
    responses(
        (status = 200, description = "One page of live sessions", body = Page<SessionView>),
        (status = 400, description = "Bad filter or page", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemSessionList::CODE))))]
pub async fn list(
    who: Require<SystemSessionList>,
    state: web::Data<AppState>,
    page: Paging,
    query: Query<SessionQuery>,
) -> Result<Json<Page<SessionView>>, ApiError> {
    Ok(Json(state.auth.list_sessions(&who, &query, *page).await?))
}

/// Force a session to log out; its next request gets 401.
#[utoipa::path(delete, path = "/api/v1/admin/sessions/{id}", tag = "admin-sessions", operation_id = "admin_sessions_revoke",
    params(("id" = String, Path, description = "Session id (ULID)")),
    responses(
        (status = 200, description = "The ended session", body = SessionView),
        (status = 404, description = "No such live session", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemSessionRevoke::CODE))))]
pub async fn revoke(
    who: Require<SystemSessionRevoke>,
    state: web::Data<AppState>,
    id: web::Path<SessionId>,
) -> Result<Json<SessionView>, ApiError> {
    let work = state.auth.force_logout(&who, *id);
    let target = Some(id.to_string());
    Ok(Json(
        audited(&state, &who, "force logout", "staff_session", target, work).await?,
    ))
}
