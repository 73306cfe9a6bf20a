//! `/api/v1/app/*`: the mini-program's API. Login is public; every other route takes
//! [`AppUser`](crate::AppUser), which requires an app token whose user is active and not
//! blacklisted (checked on every request). Such operations carry `x-app-user` in OpenAPI.

pub mod auth;
pub mod content;
pub mod coupons;
pub mod me;
pub mod membership;
pub mod orders;
pub mod subscriptions;

use actix_web::middleware::from_fn;
use actix_web::web;

use crate::security::authenticate_app;

pub const PREFIX: &str = "/api/v1/app";

routes! {
    post "/auth/login" => auth::login,
    post "/auth/logout" => auth::logout,
    get "/me" => me::get,
    put "/me" => me::update,
    get "/me/numbers" => me::list_numbers,
    post "/me/numbers" => me::add_number,
    delete "/me/numbers/{id}" => me::delete_number,
    get "/orders" => orders::list,
    post "/orders" => orders::checkout,
    get "/orders/{order_no}" => orders::get,
    post "/orders/{order_no}/cancel" => orders::cancel,
    post "/orders/{order_no}/pay" => orders::pay,
    post "/orders/{order_no}/refund-request" => orders::refund_request,
    get "/coupons/claimable" => coupons::claimable,
    post "/coupons/claim" => coupons::claim,
    get "/coupons" => coupons::list,
    get "/checkout/quote" => coupons::quote,
    get "/membership" => membership::overview,
    post "/membership/orders" => membership::buy,
    get "/membership/orders/{id}" => membership::order,
    get "/subscriptions/templates" => subscriptions::templates,
    post "/subscriptions" => subscriptions::record,
    get "/home" => content::home,
    post "/banners/{id}/click" => content::click_banner,
    get "/announcements" => content::announcements,
    post "/announcements/{id}/read" => content::mark_read,
    get "/service" => content::service,
    get "/agreements" => content::agreements,
    get "/agreements/{kind}" => content::agreement,
    post "/agreements/{kind}/accept" => content::accept,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(PREFIX)
            .wrap(from_fn(authenticate_app))
            .configure(register),
    );
}
