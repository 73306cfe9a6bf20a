//! Stored documents. Collections are prefixed `staff_` to keep them apart from end users.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use topup_core::{Id, IdKind, Timestamp};
use topup_store::Document;
use utoipa::ToSchema;

macro_rules! id_kind {
    ($kind:ident, $name:literal, $alias:ident) => {
        #[derive(Debug)]
        pub struct $kind;

        impl IdKind for $kind {
            const NAME: &'static str = $name;
        }

        pub type $alias = Id<$kind>;
    };
}

id_kind!(StaffUserKind, "staff user", StaffUserId);
id_kind!(RoleKind, "role", RoleId);
id_kind!(MenuNodeKind, "menu node", MenuNodeId);
id_kind!(SessionKind, "session", SessionId);
id_kind!(LogKind, "log entry", LogId);
id_kind!(ApiKeyKind, "API key", ApiKeyId);

/// An argon2id PHC string. Useless to an attacker without cracking, but still never shown:
/// `Debug` hides it and operation-log snapshots mask it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(pub(crate) String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(***)")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StaffUser {
    pub id: StaffUserId,
    /// As entered at creation; shown to people.
    pub username: String,
    /// Lower-cased `username`, unique: usernames are case-insensitive.
    pub username_key: String,
    pub display_name: String,
    pub password_hash: PasswordHash,
    pub enabled: bool,
    pub role_ids: Vec<RoleId>,
    pub must_change_password: bool,
    pub last_login_at: Option<Timestamp>,
    pub last_login_ip: Option<String>,
    pub password_changed_at: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

impl Document for StaffUser {
    const COLLECTION: &'static str = "staff_users";
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Role {
    pub id: RoleId,
    pub code: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    /// Built-in roles (`super_admin`) cannot be deleted, disabled or narrowed.
    pub builtin: bool,
    pub permissions: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

impl Document for Role {
    const COLLECTION: &'static str = "staff_roles";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MenuKind {
    /// A group in the navigation.
    Directory,
    /// A page of the SPA.
    Menu,
    /// An action on a page; carries a permission code, never shown in the navigation.
    Button,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MenuNode {
    pub id: MenuNodeId,
    /// Stable seed key; present only on seeded (built-in) nodes. Omitted rather than null so
    /// the unique index ignores custom nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub parent_id: Option<MenuNodeId>,
    pub kind: MenuKind,
    pub name: String,
    pub permission: Option<String>,
    pub path: Option<String>,
    pub component: Option<String>,
    pub icon: Option<String>,
    pub order: i32,
    pub visible: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

impl Document for MenuNode {
    const COLLECTION: &'static str = "staff_menus";
}

/// One signed-in browser. Access tokens name it; revoking it ends them at once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub id: SessionId,
    pub user_id: StaffUserId,
    pub username: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// When the current refresh token runs out; refreshing moves it.
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub revoked_reason: Option<String>,
    pub version: i64,
}

impl Document for Session {
    const COLLECTION: &'static str = "staff_sessions";
}

/// An integrator's key (`docs/security.md#api-keys`). The key itself is shown once at
/// creation; only its SHA-256 is kept. It acts for its creator, within `permissions`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: String,
    /// Lower-case hex SHA-256 of the whole key.
    pub secret_hash: String,
    pub permissions: Vec<String>,
    /// Addresses or CIDRs the key may be used from; empty: anywhere.
    pub allowed_addresses: Vec<String>,
    pub rate_per_minute: u32,
    pub expires_at: Option<Timestamp>,
    pub created_by: StaffUserId,
    pub created_by_username: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub last_used_ip: Option<String>,
    pub revoked_at: Option<Timestamp>,
    pub revoked_by_username: Option<String>,
    pub version: i64,
}

impl Document for ApiKey {
    const COLLECTION: &'static str = "staff_api_keys";
}

/// A refresh token, stored only as its SHA-256 (the id). Kept after rotation so that a
/// second use is recognised as theft and ends the session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshToken {
    pub id: String,
    pub session_id: SessionId,
    pub user_id: StaffUserId,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    pub rotated_at: Option<Timestamp>,
    pub version: i64,
}

impl Document for RefreshToken {
    const COLLECTION: &'static str = "staff_refresh_tokens";
}

/// Failed-login bookkeeping per (case-folded) username, known or not, and client address: a
/// stranger's failures lock the name only for the stranger's address
/// (`docs/security.md#lockout`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lockout {
    /// `<username_key>|<address>`.
    pub id: String,
    #[serde(default)]
    pub username_key: String,
    /// Failures inside the current window, oldest first.
    pub failures: Vec<Timestamp>,
    pub locked_until: Option<Timestamp>,
    /// Locks in a row without a successful sign-in; each lasts twice as long as the last.
    #[serde(default)]
    pub locks: u32,
    pub updated_at: Timestamp,
    pub version: i64,
}

impl Lockout {
    pub(crate) fn id_for(username_key: &str, address: &str) -> String {
        format!("{username_key}|{address}")
    }
}

impl Document for Lockout {
    const COLLECTION: &'static str = "staff_lockouts";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoginResult {
    Success,
    InvalidCredentials,
    Locked,
    Disabled,
    RateLimited,
    InvalidInput,
}

/// One login attempt.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginLog {
    #[schema(value_type = String)]
    pub id: LogId,
    /// As typed (trimmed, at most 64 characters).
    pub username: String,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub user_id: Option<StaffUserId>,
    pub result: LoginResult,
    pub reason: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub at: Timestamp,
}

impl Document for LoginLog {
    const COLLECTION: &'static str = "staff_login_logs";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OperationResult {
    Success,
    Failure,
}

/// One admin write: who, under which permission, to what, and what it looked like before
/// and after (secrets masked).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OperationLog {
    #[schema(value_type = String)]
    pub id: LogId,
    #[schema(value_type = String)]
    pub actor_id: StaffUserId,
    pub actor_username: String,
    /// The API key the change came with, if any (its id).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub api_key_id: Option<ApiKeyId>,
    /// The permission the route required, or `authenticated` for self-service routes.
    pub permission: String,
    /// What was done, e.g. `create staff user`.
    pub operation: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub result: OperationResult,
    /// The error code when `result` is `failure`.
    pub error_code: Option<String>,
    pub duration_ms: u64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub at: Timestamp,
}

impl Document for OperationLog {
    const COLLECTION: &'static str = "staff_operation_logs";
}

/// One admin API request (sampled).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccessLog {
    #[schema(value_type = String)]
    pub id: LogId,
    pub method: String,
    /// The route template, e.g. `/api/v1/admin/users/{id}`.
    pub path: String,
    pub status: u16,
    pub duration_ms: u64,
    #[schema(value_type = Option<String>)]
    pub actor_id: Option<StaffUserId>,
    pub actor_username: Option<String>,
    /// The API key the request came with, if any (its id).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub api_key_id: Option<ApiKeyId>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub at: Timestamp,
}

impl Document for AccessLog {
    const COLLECTION: &'static str = "staff_access_logs";
}
