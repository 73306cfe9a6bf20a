//! `/api/v1/admin/*`: the staff console's API. Every route states its permission twice, kept
//! equal by tests: in the handler signature (`Require<perm::X>`) and in its OpenAPI
//! operation (`x-permission`). Self-service routes take `Authenticated` and say
//! `x-authenticated-only`; only login and refresh are public.

pub mod api_keys;
pub mod app_users;
pub mod auth;
pub mod blacklist;
pub mod catalog;
pub mod content;
pub mod dashboard;
pub mod logs;
pub mod marketing;
pub mod menus;
pub mod notify;
pub mod orders;
pub mod payments;
pub mod reconciliations;
pub mod roles;
pub mod search;
pub mod sessions;
pub mod settings;
pub mod users;

use std::future::Future;
use std::time::Instant;

use actix_web::middleware::from_fn;
use actix_web::web;
use topup_auth::{Audited, LogId, OperationLog, OperationResult};

use crate::security::{Actor, access_log, authenticate};
use crate::{ApiError, AppState};

pub const PREFIX: &str = "/api/v1/admin";

routes! {
    post "/auth/login" => auth::login,
    post "/auth/refresh" => auth::refresh,
    post "/auth/logout" => auth::logout,
    put "/auth/password" => auth::change_password,
    get "/auth/me" => auth::me,
    get "/users" => users::list,
    post "/users" => users::create,
    get "/users/{id}" => users::get,
    put "/users/{id}" => users::update,
    post "/users/{id}/disable" => users::disable,
    post "/users/{id}/enable" => users::enable,
    post "/users/{id}/reset-password" => users::reset_password,
    post "/users/{id}/unlock" => users::unlock,
    put "/users/{id}/roles" => users::assign_roles,
    get "/roles" => roles::list,
    post "/roles" => roles::create,
    get "/roles/{id}" => roles::get,
    put "/roles/{id}" => roles::update,
    delete "/roles/{id}" => roles::delete,
    put "/roles/{id}/permissions" => roles::set_permissions,
    get "/menus" => menus::tree,
    post "/menus" => menus::create,
    put "/menus/{id}" => menus::update,
    delete "/menus/{id}" => menus::delete,
    get "/sessions" => sessions::list,
    delete "/sessions/{id}" => sessions::revoke,
    get "/logs/login" => logs::login,
    get "/logs/operations" => logs::operations,
    get "/logs/access" => logs::access,
    get "/orders" => orders::list,
    get "/orders/export" => orders::export,
    get "/orders/{order_no}" => orders::get,
    post "/orders/{order_no}/refund" => orders::refund,
    post "/orders/{order_no}/retry" => orders::retry,
    get "/recharges" => orders::recharges,
    get "/app-users" => app_users::list,
    get "/app-users/{id}" => app_users::get,
    post "/app-users/{id}/disable" => app_users::disable,
    post "/app-users/{id}/enable" => app_users::enable,
    get "/visitors/daily" => app_users::visitors_daily,
    get "/blacklist" => blacklist::list,
    post "/blacklist" => blacklist::create,
    delete "/blacklist/{id}" => blacklist::delete,
    get "/payments/alerts" => payments::alerts,
    get "/search" => search::search,
    get "/dashboard" => dashboard::dashboard,
    get "/reconciliations" => reconciliations::list,
    post "/reconciliations" => reconciliations::start,
    get "/reconciliations/{id}" => reconciliations::get,
    get "/reconciliations/{id}/export" => reconciliations::export,
    get "/api-keys" => api_keys::list,
    post "/api-keys" => api_keys::create,
    delete "/api-keys/{id}" => api_keys::revoke,
    get "/marketing/coupon-templates" => marketing::list_templates,
    post "/marketing/coupon-templates" => marketing::create_template,
    get "/marketing/coupon-templates/{id}" => marketing::get_template,
    put "/marketing/coupon-templates/{id}" => marketing::update_template,
    post "/marketing/coupon-templates/{id}/issue" => marketing::issue,
    get "/marketing/coupons" => marketing::list_coupons,
    get "/marketing/membership-plans" => marketing::list_plans,
    post "/marketing/membership-plans" => marketing::create_plan,
    put "/marketing/membership-plans/{id}" => marketing::update_plan,
    get "/marketing/members" => marketing::list_members,
    get "/marketing/membership-orders" => marketing::list_membership_orders,
    post "/marketing/membership-orders/{id}/refund" => marketing::refund_membership_order,
    get "/content/banners" => content::list_banners,
    post "/content/banners" => content::create_banner,
    put "/content/banners/{id}" => content::update_banner,
    delete "/content/banners/{id}" => content::delete_banner,
    get "/content/announcements" => content::list_announcements,
    post "/content/announcements" => content::create_announcement,
    put "/content/announcements/{id}" => content::update_announcement,
    delete "/content/announcements/{id}" => content::delete_announcement,
    get "/content/home" => content::home,
    put "/content/home/draft" => content::save_draft,
    post "/content/home/preview" => content::preview,
    post "/content/home/publish" => content::publish,
    get "/content/home/versions" => content::versions,
    get "/content/home/versions/{number}" => content::version,
    post "/content/home/versions/{number}/restore" => content::restore,
    get "/content/service" => content::service,
    put "/content/service" => content::save_service,
    get "/content/agreements" => content::agreements,
    get "/content/agreements/{kind}/versions" => content::agreement_versions,
    post "/content/agreements/{kind}/versions" => content::publish_agreement,
    get "/settings" => settings::list,
    put "/settings/{group}" => settings::update,
    get "/notify/templates" => notify::list_templates,
    put "/notify/templates/{event}" => notify::put_template,
    post "/notify/templates/{event}/preview" => notify::preview,
    get "/notify/deliveries" => notify::list_deliveries,
    post "/notify/deliveries/{id}/resend" => notify::resend,
    get "/notify/counts" => notify::counts,
    get "/notify/alerts" => notify::list_alerts,
    post "/notify/alerts/test" => notify::test_alert,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(PREFIX)
            // Registered inner first: the session check runs inside the access log, so the
            // log sees who the caller was.
            .wrap(from_fn(authenticate))
            .wrap(from_fn(access_log))
            .configure(register)
            .configure(catalog::register),
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
        api_key_id: principal.api_key,
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
