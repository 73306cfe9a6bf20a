//! The end-to-end suites, one module per area, in one test binary: each area as its own
//! binary would link the whole product again (about 120 MB and a link step apiece).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin_api_keys;
mod admin_auth;
mod admin_catalog;
mod admin_logs;
mod admin_rbac;
mod alerts;
mod app_users;
mod backup;
mod catalog;
mod content;
mod dashboard;
mod held_orders;
mod http;
mod marketing;
mod notify;
mod orders;
mod reconcile;
mod search;
mod settings;
mod wechat_pay;
