//! Every route module declares its routes once with [`routes!`]: the same list registers
//! them and is compared with the OpenAPI document by a test, so nothing is served undocumented
//! or documented unserved (`docs/adding-a-module.md`).

/// Declares a module's routes: `ROUTES` (method, path relative to where the module is
/// mounted), `register`, which registers them with one resource per path (so a known path
/// with another method answers 405) in the order written (literal paths before `{params}`),
/// and `Api`, the module's part of the OpenAPI document: exactly these handlers' operations.
macro_rules! routes {
    ($($method:ident $path:literal => $($handler:ident)::+),* $(,)?) => {
        /// This module's routes: method and path, relative to where it is mounted.
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        /// Registers [`ROUTES`].
        pub fn register(cfg: &mut actix_web::web::ServiceConfig) {
            $crate::routes::register_grouped(
                cfg,
                vec![$(($path, actix_web::web::$method().to($($handler)::+))),*],
            );
        }

        /// This module's operations in the OpenAPI document (merged by [`crate::openapi`]).
        #[derive(utoipa::OpenApi)]
        #[openapi(paths($($($handler)::+),*))]
        pub struct Api;
    };
}

pub mod admin;
pub mod app;
pub mod catalog;
pub mod pay;
pub mod system;

use actix_web::{HttpRequest, web};
use topup_core::ErrorCode;

use crate::ApiError;

pub(crate) fn register_grouped(
    cfg: &mut web::ServiceConfig,
    routes: Vec<(&'static str, actix_web::Route)>,
) {
    let mut by_path: Vec<(&'static str, Vec<actix_web::Route>)> = Vec::new();
    for (path, route) in routes {
        match by_path.iter_mut().find(|(known, _)| *known == path) {
            Some((_, routes)) => routes.push(route),
            None => by_path.push((path, vec![route])),
        }
    }
    for (path, routes) in by_path {
        let mut resource = web::resource(path);
        for route in routes {
            resource = resource.route(route);
        }
        cfg.service(resource);
    }
}

/// One route module: where it is mounted, its routes and its part of the OpenAPI document.
pub(crate) struct Module {
    pub prefix: &'static str,
    pub routes: &'static [(&'static str, &'static str)],
    pub openapi: fn() -> utoipa::openapi::OpenApi,
}

/// Every route module. A new module adds one line here and one `configure` call below.
pub(crate) const MODULES: &[Module] = &[
    module(
        "",
        system::ROUTES,
        <system::Api as utoipa::OpenApi>::openapi,
    ),
    module(
        "",
        catalog::ROUTES,
        <catalog::Api as utoipa::OpenApi>::openapi,
    ),
    module(
        pay::PREFIX,
        pay::ROUTES,
        <pay::Api as utoipa::OpenApi>::openapi,
    ),
    module(
        admin::PREFIX,
        admin::ROUTES,
        <admin::Api as utoipa::OpenApi>::openapi,
    ),
    module(
        admin::PREFIX,
        admin::catalog::ROUTES,
        <admin::catalog::Api as utoipa::OpenApi>::openapi,
    ),
    module(
        app::PREFIX,
        app::ROUTES,
        <app::Api as utoipa::OpenApi>::openapi,
    ),
];

const fn module(
    prefix: &'static str,
    routes: &'static [(&'static str, &'static str)],
    openapi: fn() -> utoipa::openapi::OpenApi,
) -> Module {
    Module {
        prefix,
        routes,
        openapi,
    }
}

/// Every route the API serves: `(method, full path)`, method in lower case.
pub fn registered_routes() -> Vec<(String, String)> {
    MODULES
        .iter()
        .flat_map(|module| {
            module.routes.iter().map(move |(method, path)| {
                ((*method).to_owned(), format!("{}{path}", module.prefix))
            })
        })
        .collect()
}

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(system::register)
        .service(
            web::scope(pay::PREFIX)
                .app_data(web::PayloadConfig::new(pay::MAX_NOTIFICATION_BYTES))
                .configure(pay::register),
        )
        .configure(catalog::register)
        .configure(admin::configure)
        .configure(app::configure);
}

pub async fn route_not_found(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(not_found(&req))
}

fn not_found(req: &HttpRequest) -> ApiError {
    ApiError::new(
        ErrorCode::RouteNotFound,
        format!("no route for {} {}", req.method(), req.path()),
    )
}

/// The JSON 404 of an unknown route, for handlers mounted beside the API (the front ends).
pub fn route_not_found_response(req: &HttpRequest) -> actix_web::HttpResponse {
    let mut response = actix_web::ResponseError::error_response(&not_found(req));
    // A catch-all route answered: its pattern would mislabel the request in the metrics.
    response
        .extensions_mut()
        .insert(crate::middleware::UnmatchedRoute);
    response
}
