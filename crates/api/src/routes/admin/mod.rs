//! `/api/v1/admin/*`: the staff console's API. Every route states its permission twice, kept
//! equal by tests: in the handler signature (`Require<perm::X>`) and in its OpenAPI
//! operation (`x-permission`). Self-service routes take `Authenticated` and say
//! `x-authenticated-only`; only login and refresh are public.

pub mod app_users;
pub mod auth;
pub mod blacklist;
pub mod catalog;
pub mod logs;
pub mod menus;
pub mod orders;
pub mod payments;
pub mod roles;
pub mod sessions;
pub mod users;

use std::future::Future;
use std::time::Instant;

use actix_web::middleware::from_fn;
use actix_web::web;
use topup_auth::{Audited, LogId, OperationLog, OperationResult};

use crate::security::{Actor, access_log, authenticate};
use crate::{ApiError, AppState};

pub const PREFIX: &str = "/api/v1/admin";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(PREFIX)
            // Registered inner first: the session check runs inside the access log, so the
            // log sees who the caller was.
            .wrap(from_fn(authenticate))
            .wrap(from_fn(access_log))
            .service(web::resource("/auth/login").route(web::post().to(auth::login)))
            .service(web::resource("/auth/refresh").route(web::post().to(auth::refresh)))
            .service(web::resource("/auth/logout").route(web::post().to(auth::logout)))
            .service(web::resource("/auth/password").route(web::put().to(auth::change_password)))
            .service(web::resource("/auth/me").route(web::get().to(auth::me)))
            .service(
                web::resource("/users")
                    .route(web::get().to(users::list))
                    .route(web::post().to(users::create)),
            )
            .service(
                web::resource("/users/{id}")
                    .route(web::get().to(users::get))
                    .route(web::put().to(users::update)),
            )
            .service(web::resource("/users/{id}/disable").route(web::post().to(users::disable)))
            .service(web::resource("/users/{id}/enable").route(web::post().to(users::enable)))
            .service(
                web::resource("/users/{id}/reset-password")
                    .route(web::post().to(users::reset_password)),
            )
            .service(web::resource("/users/{id}/roles").route(web::put().to(users::assign_roles)))
            .service(
                web::resource("/roles")
                    .route(web::get().to(roles::list))
                    .route(web::post().to(roles::create)),
            )
            .service(
                web::resource("/roles/{id}")
                    .route(web::get().to(roles::get))
                    .route(web::put().to(roles::update))
                    .route(web::delete().to(roles::delete)),
            )
            .service(
                web::resource("/roles/{id}/permissions")
                    .route(web::put().to(roles::set_permissions)),
            )
            .service(
                web::resource("/menus")
                    .route(web::get().to(menus::tree))
                    .route(web::post().to(menus::create)),
            )
            .service(
                web::resource("/menus/{id}")
                    .route(web::put().to(menus::update))
                    .route(web::delete().to(menus::delete)),
            )
            .service(web::resource("/sessions").route(web::get().to(sessions::list)))
            .service(web::resource("/sessions/{id}").route(web::delete().to(sessions::revoke)))
            .service(web::resource("/logs/login").route(web::get().to(logs::login)))
            .service(web::resource("/logs/operations").route(web::get().to(logs::operations)))
            .service(web::resource("/logs/access").route(web::get().to(logs::access)))
            .service(web::resource("/orders").route(web::get().to(orders::list)))
            .service(web::resource("/orders/export").route(web::get().to(orders::export)))
            .service(web::resource("/orders/{order_no}").route(web::get().to(orders::get)))
            .service(
                web::resource("/orders/{order_no}/refund").route(web::post().to(orders::refund)),
            )
            .service(web::resource("/orders/{order_no}/retry").route(web::post().to(orders::retry)))
            .service(web::resource("/recharges").route(web::get().to(orders::recharges)))
            .service(web::resource("/app-users").route(web::get().to(app_users::list)))
            .service(web::resource("/app-users/{id}").route(web::get().to(app_users::get)))
            .service(
                web::resource("/app-users/{id}/disable").route(web::post().to(app_users::disable)),
            )
            .service(
                web::resource("/app-users/{id}/enable").route(web::post().to(app_users::enable)),
            )
            .service(
                web::resource("/visitors/daily").route(web::get().to(app_users::visitors_daily)),
            )
            .service(
                web::resource("/blacklist")
                    .route(web::get().to(blacklist::list))
                    .route(web::post().to(blacklist::create)),
            )
            .service(web::resource("/blacklist/{id}").route(web::delete().to(blacklist::delete)))
            .service(web::resource("/payments/alerts").route(web::get().to(payments::alerts)))
            .configure(catalog::configure),
    );
}

/// Runs an admin write and records it in the operation log — success with the masked
/// before/after snapshots, or failure with the error code — then answers its value.
pub(crate) async fn audited<T, E>(
    state: &AppState,
    actor: &impl Actor,
    operation: &'static str,
    target_type: &'static str,
    target_id: Option<String>,
    work: impl Future<Output = Result<Audited<T>, E>>,
) -> Result<T, ApiError>
where
    ApiError: From<E>,
{
    let started = Instant::now();
    let outcome = work.await.map_err(ApiError::from);
    let principal = actor.principal();
    let mut entry = OperationLog {
        id: LogId::new(),
        actor_id: principal.user_id,
        actor_username: principal.username.clone(),
        permission: actor.permission().to_owned(),
        operation: operation.to_owned(),
        target_type: target_type.to_owned(),
        target_id,
        before: None,
        after: None,
        result: OperationResult::Success,
        error_code: None,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        ip: principal.client.ip.clone(),
        user_agent: principal.client.user_agent.clone(),
        at: state.clock.now(),
    };
    match &outcome {
        Ok(done) => {
            entry.target_type = done.change.target_type.to_owned();
            entry.target_id = done.change.target_id.clone().or(entry.target_id);
            entry.before = done.change.before.clone();
            entry.after = done.change.after.clone();
        }
        Err(error) => {
            entry.result = OperationResult::Failure;
            entry.error_code = Some(error.code.as_str().to_owned());
        }
    }
    if let Err(error) = state.auth.record_operation(&entry).await {
        // The write itself has happened; answering an error now would mislead the caller.
        tracing::error!(%error, operation, "operation log entry not written");
    }
    outcome.map(|done| done.value)
}
