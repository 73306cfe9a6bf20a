//! `/api/v1/app/*`: the mini-program's API. Login is public; every other route takes
//! [`AppUser`](crate::AppUser), which requires an app token whose user is active and not
//! blacklisted (checked on every request). Such operations carry `x-app-user` in OpenAPI.

pub mod auth;
pub mod me;
pub mod orders;

use actix_web::middleware::from_fn;
use actix_web::web;

use crate::security::authenticate_app;

pub const PREFIX: &str = "/api/v1/app";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(PREFIX)
            .wrap(from_fn(authenticate_app))
            .service(web::resource("/auth/login").route(web::post().to(auth::login)))
            .service(
                web::resource("/me")
                    .route(web::get().to(me::get))
                    .route(web::put().to(me::update)),
            )
            .service(
                web::resource("/me/numbers")
                    .route(web::get().to(me::list_numbers))
                    .route(web::post().to(me::add_number)),
            )
            .service(web::resource("/me/numbers/{id}").route(web::delete().to(me::delete_number)))
            .service(
                web::resource("/orders")
                    .route(web::get().to(orders::list))
                    .route(web::post().to(orders::checkout)),
            )
            .service(web::resource("/orders/{order_no}").route(web::get().to(orders::get)))
            .service(
                web::resource("/orders/{order_no}/cancel").route(web::post().to(orders::cancel)),
            )
            .service(web::resource("/orders/{order_no}/pay").route(web::post().to(orders::pay)))
            .service(
                web::resource("/orders/{order_no}/refund-request")
                    .route(web::post().to(orders::refund_request)),
            ),
    );
}
