//! The admin console's two checks on every request: a live session (middleware, 401), then
//! the route's permission (the `Require<P>` extractor in the handler signature, 403). Also
//! the access log, written off the request path.

use std::future::{Ready, ready};
use std::marker::PhantomData;
use std::ops::Deref;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{AUTHORIZATION, USER_AGENT};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use topup_auth::{
    API_KEY_PREFIX, AccessLog, AppPrincipal, AuthError, ClientInfo, LogId, Permission, Principal,
};
use topup_core::ErrorCode;

use crate::{ApiError, AppState, current_request_id};

/// What the session check concluded, kept in the request's extensions for the extractors.
#[derive(Clone)]
enum AuthOutcome {
    Signed(Principal),
    Rejected(ApiError),
}

/// The address and user agent of the caller. The address is the TCP peer, or, behind one of
/// `server.trusted_proxies`, the nearest untrusted `X-Forwarded-For` hop
/// (`docs/security.md#client-addresses`).
pub fn client_info(req: &HttpRequest) -> ClientInfo {
    let address = match req.app_data::<web::Data<AppState>>() {
        Some(state) => state.trusted_proxies.client_of(req),
        None => req.peer_addr().map(|addr| addr.ip()),
    };
    ClientInfo::new(
        address.map(|ip| ip.to_string()),
        req.headers()
            .get(USER_AGENT)
            .and_then(|value| value.to_str().ok()),
    )
}

/// Middleware for `/api/v1/admin`: checks a bearer token if one is sent — a session's access
/// token, or an integrator's API key (`tpk_…`, `docs/security.md#api-keys`). Routes decide
/// what they need through their extractors, so public routes (login, refresh) still work.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .map(|value| value.to_str().unwrap_or_default().to_owned());
    if let Some(header) = header {
        let outcome = match header.strip_prefix("Bearer ").map(str::trim) {
            Some(token) if !token.is_empty() => {
                match req.app_data::<web::Data<AppState>>().cloned() {
                    Some(state) => {
                        let client = client_info(req.request());
                        let checked = if token.starts_with(API_KEY_PREFIX) {
                            state.auth.authenticate_api_key(token, client).await
                        } else {
                            state.auth.authenticate(token, client).await
                        };
                        match checked {
                            Ok(principal) => AuthOutcome::Signed(principal),
                            Err(error) => AuthOutcome::Rejected(error.into()),
                        }
                    }
                    None => AuthOutcome::Rejected(ApiError::internal("no app state")),
                }
            }
            _ => AuthOutcome::Rejected(ApiError::new(
                ErrorCode::Unauthorized,
                "expected Authorization: Bearer <access_token>",
            )),
        };
        req.extensions_mut().insert(outcome);
    }
    next.call(req).await
}

fn signed_in(req: &HttpRequest) -> Result<Principal, ApiError> {
    match req.extensions().get::<AuthOutcome>() {
        Some(AuthOutcome::Signed(principal)) => Ok(principal.clone()),
        Some(AuthOutcome::Rejected(error)) => Err(error.clone()),
        None => Err(ApiError::new(
            ErrorCode::Unauthorized,
            "sign in first: Authorization: Bearer <access_token>",
        )),
    }
}

/// Something acting on the admin API, for the operation log.
pub trait Actor {
    fn principal(&self) -> &Principal;
    /// The permission the route required, or `authenticated`.
    fn permission(&self) -> &'static str;
}

/// A signed-in staff member holding permission `P`. Put it first in a handler's arguments:
/// it resolves at once, before any body is read. Refuses with 401 without a live session,
/// 403 `PASSWORD_CHANGE_REQUIRED` while the password must be changed, 403 `FORBIDDEN`
/// without `P`.
pub struct Require<P: Permission> {
    principal: Principal,
    permission: PhantomData<P>,
}

impl<P: Permission> Deref for Require<P> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.principal
    }
}

impl<P: Permission> Actor for Require<P> {
    fn principal(&self) -> &Principal {
        &self.principal
    }
    fn permission(&self) -> &'static str {
        P::CODE
    }
}

impl<P: Permission> FromRequest for Require<P> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(signed_in(req).and_then(|principal| {
            if principal.must_change_password {
                return Err(AuthError::PasswordChangeRequired.into());
            }
            if !principal.can(P::CODE) {
                return Err(AuthError::Forbidden(P::CODE.to_owned()).into());
            }
            Ok(Require {
                principal,
                permission: PhantomData,
            })
        }))
    }
}

/// Any signed-in staff member, even one who must still change their password. Only for
/// self-service routes (me, password, logout), which carry `x-authenticated-only`. An API key
/// is refused here (403): those routes belong to a person's session.
pub struct Authenticated(pub Principal);

impl Deref for Authenticated {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl Actor for Authenticated {
    fn principal(&self) -> &Principal {
        &self.0
    }
    fn permission(&self) -> &'static str {
        "authenticated"
    }
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(signed_in(req).and_then(|principal| {
            if principal.api_key.is_some() {
                return Err(ApiError::new(
                    ErrorCode::Forbidden,
                    "API keys cannot use the staff session routes (/auth/*)",
                ));
            }
            Ok(Authenticated(principal))
        }))
    }
}

/// The caller's address and user agent, for public routes.
pub struct Client(pub ClientInfo);

impl FromRequest for Client {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Client(client_info(req))))
    }
}

/// Middleware for `/api/v1/admin`: records method, route template, status, duration, actor,
/// API key, address and user agent of a sample of requests and of every API-key request.
/// Entries go through a bounded channel to a background writer, so a slow store never slows
/// a request.
pub async fn access_log(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let sampled = state
        .as_ref()
        .is_some_and(|state| state.auth.access_log().sampled());
    let method = req.method().to_string();
    let client = client_info(req.request());
    let response = next.call(req).await?.map_into_boxed_body();
    let request = response.request();
    let (actor_id, actor_username, api_key_id) = match request.extensions().get::<AuthOutcome>() {
        Some(AuthOutcome::Signed(p)) => (Some(p.user_id), Some(p.username.clone()), p.api_key),
        _ => (None, None, None),
    };
    // Every use of an API key is logged; staff requests by sample.
    if let Some(state) = state.filter(|_| sampled || api_key_id.is_some()) {
        state.auth.access_log().record(AccessLog {
            id: LogId::new(),
            method,
            path: request
                .match_pattern()
                .unwrap_or_else(|| "unmatched".to_owned()),
            status: response.status().as_u16(),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            actor_id,
            actor_username,
            api_key_id,
            ip: client.ip,
            user_agent: client.user_agent,
            request_id: current_request_id(),
            at: state.clock.now(),
        });
    }
    Ok(response)
}

/// What the app-token check concluded, for the [`AppUser`] extractor.
#[derive(Clone)]
enum AppAuthOutcome {
    Signed(AppPrincipal),
    Rejected(ApiError),
}

/// Middleware for `/api/v1/app`: checks a bearer app token if one is sent — its user must
/// be active and not blacklisted, read fresh on every request. Routes that need a user take
/// [`AppUser`]; login works without a token.
pub async fn authenticate_app(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .map(|value| value.to_str().unwrap_or_default().to_owned());
    if let Some(header) = header {
        let outcome = match header.strip_prefix("Bearer ").map(str::trim) {
            Some(token) if !token.is_empty() => {
                match req.app_data::<web::Data<AppState>>().cloned() {
                    Some(state) => match state
                        .app_users
                        .authenticate(token, client_info(req.request()))
                        .await
                    {
                        Ok(principal) => AppAuthOutcome::Signed(principal),
                        Err(error) => AppAuthOutcome::Rejected(error.into()),
                    },
                    None => AppAuthOutcome::Rejected(ApiError::internal("no app state")),
                }
            }
            _ => AppAuthOutcome::Rejected(ApiError::new(
                ErrorCode::Unauthorized,
                "expected Authorization: Bearer <token>",
            )),
        };
        req.extensions_mut().insert(outcome);
    }
    next.call(req).await
}

/// A signed-in mini-program user, active and not blacklisted. Refuses with 401 without a
/// valid app token (staff tokens are not app tokens) and 403 `USER_BLOCKED` for a disabled
/// or blacklisted user.
pub struct AppUser(pub AppPrincipal);

impl Deref for AppUser {
    type Target = AppPrincipal;
    fn deref(&self) -> &AppPrincipal {
        &self.0
    }
}

impl FromRequest for AppUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let outcome = match req.extensions().get::<AppAuthOutcome>() {
            Some(AppAuthOutcome::Signed(principal)) => Ok(AppUser(principal.clone())),
            Some(AppAuthOutcome::Rejected(error)) => Err(error.clone()),
            None => Err(ApiError::new(
                ErrorCode::Unauthorized,
                "log in first (POST /api/v1/app/auth/login), then send Authorization: Bearer <token>",
            )),
        };
        ready(outcome)
    }
}
