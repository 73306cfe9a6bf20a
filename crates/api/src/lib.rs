//! The HTTP face of Topup: one actix-web app with the error envelope, request ids, metrics
//! and the OpenAPI document. Domain crates stay free of actix; this crate maps them to HTTP.

mod client_address;
mod error;
pub mod extract;
mod middleware;
mod openapi;
mod routes;
mod security;
mod state;

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, web};

pub use client_address::TrustedProxies;
pub use error::{ApiError, ErrorBody, json_config, path_config, query_config};
pub use middleware::{Metrics, REQUEST_ID_HEADER, current_request_id};
pub use openapi::document as openapi_document;
pub use routes::admin::PREFIX as ADMIN_PREFIX;
pub use routes::app::PREFIX as APP_PREFIX;
pub use routes::{registered_routes, route_not_found_response};
pub use security::{Actor, AppUser, Authenticated, Client, Require, client_info};
pub use state::{AppState, Services};

/// Extra routes the composition root mounts beside the API (the sandbox in embedded mode).
pub type Mount = Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>;

/// Builds the whole app for one worker. Call it inside `HttpServer::new`.
pub fn app(
    state: AppState,
    mounts: Vec<Mount>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let mut app = App::new()
        .app_data(web::Data::new(state.clone()))
        .app_data(json_config(state.max_json_bytes))
        .app_data(query_config())
        .app_data(path_config())
        .configure(routes::configure)
        .configure(openapi::configure);
    for mount in mounts {
        app = app.configure(|cfg| mount(cfg));
    }
    app.default_service(web::to(routes::route_not_found))
        .wrap(actix_web::middleware::from_fn(middleware::envelope_errors))
        // Text and JSON travel compressed when the client accepts it.
        .wrap(actix_web::middleware::Compress::default())
        .wrap(actix_web::middleware::from_fn(middleware::request_context))
}
