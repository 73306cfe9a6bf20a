//! Staff identity and role-based access control for the admin console
//! (`docs/architecture.md#api-conventions`, `#money-rules`): staff users with argon2id passwords,
//! roles holding `module:resource:action` permission codes, the menu/permission tree the SPA
//! renders, revocable sessions (short JWTs naming a stored session + rotating refresh tokens),
//! lockout and a per-address login limit, and the login, operation and access logs. Also the
//! mini-program's end users ([`app_users`]): silent login through WeChat's code2session, profile,
//! saved numbers, the blacklist and visitor days. No HTTP here: `topup-api` maps this to routes.

mod api_keys;
pub mod app_users;
mod at_rest;
mod audit;
mod ceiling;
mod config;
mod error;
mod listing;
mod logs;
mod menus;
mod model;
mod password;
pub mod perm;
mod roles;
pub mod seed;
mod service;
mod sessions;
mod token;
mod users;
mod views;

pub use api_keys::API_KEY_PREFIX;
pub use app_users::{AppPrincipal, AppUserConfig, AppUserService};
pub use at_rest::{AT_REST_KEY_LEN, AtRestCipher, Sealed, generate_at_rest_key};
pub use audit::{AccessLogSink, AccessLogWriter, Audited, Change, mask_secrets, snapshot};
pub use config::AuthConfig;
pub use error::{AuthError, FieldErrors};
pub use logs::PurgeReport;
pub use model::{
    AccessLog, ApiKeyId, LogId, LoginLog, LoginResult, MenuKind, MenuNodeId, OperationLog,
    OperationResult, RoleId, SessionId, StaffUserId,
};
pub use password::generate_password;
pub use perm::Permission;
pub use service::{AuthService, ClientInfo, InitialAdmin, Principal};
pub use token::generate_signing_key;
pub use views::*;
