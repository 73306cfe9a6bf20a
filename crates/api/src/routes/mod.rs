pub mod admin;
pub mod app;
pub mod catalog;
pub mod pay;
pub mod system;

use actix_web::{HttpRequest, web};
use topup_core::ErrorCode;

use crate::ApiError;

/// Registers every route. Each path is one `resource` holding all its methods, so a known
/// path with another method answers 405 rather than 404.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(system::healthz)))
        .service(web::resource("/readyz").route(web::get().to(system::readyz)))
        .service(web::resource("/metrics").route(web::get().to(system::metrics)))
        .service(
            web::resource("/api/v1/pay/wechat/notify")
                .app_data(web::PayloadConfig::new(pay::MAX_NOTIFICATION_BYTES))
                .route(web::post().to(pay::notify)),
        )
        .service(
            web::resource("/api/v1/pay/wechat/refund-notify")
                .app_data(web::PayloadConfig::new(pay::MAX_NOTIFICATION_BYTES))
                .route(web::post().to(pay::refund_notify)),
        )
        .configure(catalog::configure)
        .configure(admin::configure)
        .configure(app::configure);
}

pub async fn route_not_found(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::new(
        ErrorCode::RouteNotFound,
        format!("no route for {} {}", req.method(), req.path()),
    ))
}
