//! Every route module declares its routes once with [`routes!`]: the same list registers
//! them and is compared with the OpenAPI document by a test, so nothing is served undocumented
//! or documented unserved (`docs/adding-a-module.md`).

/// Declares a module's routes: `ROUTES` (method, path relative to where the module is
/// mounted) and `register`, which registers them with one resource per path (so a known path
/// with another method answers 405), in the order written (literal paths before `{params}`).
macro_rules! routes {
    ($($method:ident $path:literal => $handler:expr),* $(,)?) => {
        /// This module's routes: method and path, relative to where it is mounted.
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        /// Registers [`ROUTES`].
        pub fn register(cfg: &mut actix_web::web::ServiceConfig) {
            $crate::routes::register_grouped(
                cfg,
                vec![$(($path, actix_web::web::$method().to($handler))),*],
            );
        }
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

/// Where each module is mounted, and its routes.
const MODULES: &[(&str, &[(&str, &str)])] = &[
    ("", system::ROUTES),
    ("", catalog::ROUTES),
    (pay::PREFIX, pay::ROUTES),
    (admin::PREFIX, admin::ROUTES),
    (admin::PREFIX, admin::catalog::ROUTES),
    (app::PREFIX, app::ROUTES),
];

/// Every route the API serves: `(method, full path)`, method in lower case.
pub fn registered_routes() -> Vec<(String, String)> {
    MODULES
        .iter()
        .flat_map(|(prefix, routes)| {
            routes
                .iter()
                .map(move |(method, path)| ((*method).to_owned(), format!("{prefix}{path}")))
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
