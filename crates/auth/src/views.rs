//! Requests and responses of the staff API (serde + OpenAPI schemas + validation rules).

use serde::{Deserialize, Serialize};
use topup_core::{Secret, Timestamp};
use utoipa::{IntoParams, ToSchema};
use validator::{Validate, ValidationError};

use crate::model::{
    ApiKeyId, LoginResult, MenuKind, MenuNodeId, OperationResult, RoleId, SessionId, StaffUserId,
};

fn username_chars(value: &str) -> Result<(), ValidationError> {
    let mut chars = value.chars();
    let valid = matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if valid {
        Ok(())
    } else {
        Err(ValidationError::new("username").with_message(
            "letters, digits, '_', '.' and '-' only, starting with a letter or digit".into(),
        ))
    }
}

fn role_code_chars(value: &str) -> Result<(), ValidationError> {
    let mut chars = value.chars();
    let valid = matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(ValidationError::new("role_code")
            .with_message("lower-case letters, digits and '_' only, starting with a letter".into()))
    }
}

fn not_blank(value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        Err(ValidationError::new("blank").with_message("must not be blank".into()))
    } else {
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct LoginRequest {
    #[validate(length(min = 1, max = 64))]
    #[schema(example = "admin")]
    pub username: String,
    #[schema(value_type = String, format = Password)]
    pub password: Secret<String>,
}

#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct RefreshRequest {
    #[schema(value_type = String, format = Password)]
    pub refresh_token: Secret<String>,
}

#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct ChangePasswordRequest {
    /// The current password.
    #[schema(value_type = String, format = Password)]
    pub old: Secret<String>,
    /// The new password (policy: length, letters and digits).
    #[schema(value_type = String, format = Password)]
    pub new: Secret<String>,
}

/// What login, refresh and password change answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenPair {
    /// Short-lived JWT for `Authorization: Bearer …`.
    pub access_token: String,
    /// Opaque; exchange it at `/auth/refresh` for a new pair. Single use.
    pub refresh_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// While true, only `/auth/me`, `/auth/password`, `/auth/refresh` and `/auth/logout` work.
    pub must_change_password: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RoleSummary {
    #[schema(value_type = String)]
    pub id: RoleId,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffUserView {
    #[schema(value_type = String)]
    pub id: StaffUserId,
    pub username: String,
    pub display_name: String,
    pub enabled: bool,
    pub roles: Vec<RoleSummary>,
    pub must_change_password: bool,
    pub last_login_at: Option<Timestamp>,
    pub last_login_ip: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct NewStaffUser {
    /// Unique, case-insensitive.
    #[validate(length(min = 3, max = 32), custom(function = "username_chars"))]
    #[schema(example = "alice")]
    pub username: String,
    #[validate(length(min = 1, max = 64), custom(function = "not_blank"))]
    pub display_name: String,
    /// Initial password (policy applies).
    #[schema(value_type = String, format = Password)]
    pub password: Secret<String>,
    /// One or more roles.
    #[validate(length(min = 1, max = 32))]
    #[schema(value_type = Vec<String>)]
    pub role_ids: Vec<RoleId>,
    /// Default true.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Default true: the user picks their own password at first login.
    #[serde(default)]
    pub must_change_password: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct UpdateStaffUser {
    #[validate(length(min = 1, max = 64), custom(function = "not_blank"))]
    pub display_name: String,
}

#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct ResetPasswordRequest {
    /// A temporary password; the user must change it at next login.
    #[schema(value_type = String, format = Password)]
    pub password: Secret<String>,
}

#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct AssignRolesRequest {
    #[validate(length(min = 1, max = 32))]
    #[schema(value_type = Vec<String>)]
    pub role_ids: Vec<RoleId>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RoleView {
    #[schema(value_type = String)]
    pub id: RoleId,
    pub code: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub builtin: bool,
    pub permissions: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct NewRole {
    #[validate(length(min = 2, max = 32), custom(function = "role_code_chars"))]
    #[schema(example = "operator")]
    pub code: String,
    #[validate(length(min = 1, max = 64), custom(function = "not_blank"))]
    pub name: String,
    #[serde(default)]
    #[validate(length(max = 256))]
    pub description: String,
    /// Default true.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Permission codes from the menu tree.
    #[serde(default)]
    #[validate(length(max = 1000))]
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct UpdateRole {
    #[validate(length(min = 1, max = 64), custom(function = "not_blank"))]
    pub name: String,
    #[serde(default)]
    #[validate(length(max = 256))]
    pub description: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct AssignPermissionsRequest {
    #[validate(length(max = 1000))]
    pub permissions: Vec<String>,
}

/// A node of the menu/permission tree with its children.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MenuNodeView {
    #[schema(value_type = String)]
    pub id: MenuNodeId,
    /// Stable key of a built-in (seeded) node; absent on nodes created by staff.
    pub key: Option<String>,
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<MenuNodeId>,
    pub kind: MenuKind,
    pub name: String,
    /// `module:resource:action`; absent on pure directories.
    pub permission: Option<String>,
    pub path: Option<String>,
    pub component: Option<String>,
    pub icon: Option<String>,
    pub order: i32,
    pub visible: bool,
    pub builtin: bool,
    #[schema(no_recursion)]
    pub children: Vec<MenuNodeView>,
}

#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct MenuNodeInput {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<MenuNodeId>,
    pub kind: MenuKind,
    #[validate(length(min = 1, max = 64), custom(function = "not_blank"))]
    pub name: String,
    #[serde(default)]
    pub permission: Option<String>,
    #[serde(default)]
    #[validate(length(max = 256))]
    pub path: Option<String>,
    #[serde(default)]
    #[validate(length(max = 256))]
    pub component: Option<String>,
    #[serde(default)]
    #[validate(length(max = 64))]
    pub icon: Option<String>,
    #[serde(default)]
    #[validate(range(min = -100000, max = 100000))]
    pub order: i32,
    #[serde(default = "default_true")]
    pub visible: bool,
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionView {
    #[schema(value_type = String)]
    pub id: SessionId,
    #[schema(value_type = String)]
    pub user_id: StaffUserId,
    pub username: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    /// This is the session the request was made with.
    pub current: bool,
}

/// Who is signed in, what they may do, and the navigation they may see.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub user: StaffUserView,
    pub roles: Vec<RoleSummary>,
    /// Every permission code held (all of them for a super-admin), sorted.
    pub permissions: Vec<String>,
    /// Directories and menus this user may open, as a tree (buttons are in `permissions`).
    pub menus: Vec<MenuNodeView>,
}

/// `sort` takes a field name, `-` in front for descending (e.g. `-created_at`).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Substring of the username or display name, case-insensitive.
    pub q: Option<String>,
    pub enabled: Option<bool>,
    #[param(value_type = Option<String>)]
    pub role_id: Option<RoleId>,
    /// `username`, `created_at` or `last_login_at`, optionally prefixed with `-`; default `-created_at`.
    pub sort: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RoleQuery {
    /// Substring of the code or name, case-insensitive.
    pub q: Option<String>,
    pub enabled: Option<bool>,
    /// `code`, `name` or `created_at`, optionally prefixed with `-`; default `code`.
    pub sort: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionQuery {
    /// Substring of the username, case-insensitive.
    pub username: Option<String>,
    #[param(value_type = Option<String>)]
    pub user_id: Option<StaffUserId>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LoginLogQuery {
    /// Substring of the username typed, case-insensitive.
    pub username: Option<String>,
    pub result: Option<LoginResult>,
    pub ip: Option<String>,
    /// From this time (inclusive), RFC 3339.
    #[param(value_type = Option<String>)]
    pub from: Option<Timestamp>,
    /// Until this time (exclusive), RFC 3339.
    #[param(value_type = Option<String>)]
    pub to: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OperationLogQuery {
    /// Substring of the actor's username, case-insensitive.
    pub actor: Option<String>,
    pub permission: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub result: Option<OperationResult>,
    #[param(value_type = Option<String>)]
    pub from: Option<Timestamp>,
    #[param(value_type = Option<String>)]
    pub to: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccessLogQuery {
    /// Substring of the actor's username, case-insensitive.
    pub actor: Option<String>,
    pub method: Option<String>,
    /// Substring of the route template.
    pub path: Option<String>,
    pub status: Option<u16>,
    #[param(value_type = Option<String>)]
    pub from: Option<Timestamp>,
    #[param(value_type = Option<String>)]
    pub to: Option<Timestamp>,
}

/// A new API key for an integrator (`docs/security.md#api-keys`).
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// What the key is for, shown in lists and logs.
    #[validate(length(min = 1, max = 64), custom(function = "not_blank"))]
    #[schema(example = "warehouse export")]
    pub name: String,
    /// Permission codes; each one must be held by the creator.
    #[validate(length(min = 1, max = 200))]
    #[schema(example = json!(["order:order:list"]))]
    pub permissions: Vec<String>,
    /// When the key stops working; none: never. Must be in the future.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// Addresses or CIDRs the key may be used from; empty or absent: anywhere.
    #[serde(default)]
    #[validate(length(max = 32))]
    #[schema(example = json!(["203.0.113.0/24"]))]
    pub allowed_addresses: Vec<String>,
    /// Requests per minute (default 600).
    #[serde(default)]
    #[validate(range(min = 1, max = 100000))]
    pub rate_per_minute: Option<u32>,
}

/// Whether a key works now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyState {
    Active,
    Expired,
    Revoked,
}

/// An API key as staff see it: never the key itself.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyView {
    #[schema(value_type = String)]
    pub id: ApiKeyId,
    pub name: String,
    /// The key's public start (`tpk_<id>`), to recognise it.
    pub prefix: String,
    pub permissions: Vec<String>,
    pub allowed_addresses: Vec<String>,
    pub rate_per_minute: u32,
    pub expires_at: Option<Timestamp>,
    pub state: ApiKeyState,
    #[schema(value_type = String)]
    pub created_by: StaffUserId,
    pub created_by_username: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub last_used_ip: Option<String>,
    pub revoked_at: Option<Timestamp>,
    pub revoked_by_username: Option<String>,
}

/// A created key: the only time `key` is shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// Send as `Authorization: Bearer <key>`. Not stored: copy it now.
    #[schema(example = "tpk_01JDZ8Q7Y7E3K9V6S2M4T1R0PA_3f5c…")]
    pub key: String,
    #[serde(flatten)]
    pub api_key: ApiKeyView,
}

/// Filters for the API key list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApiKeyQuery {
    /// `active`, `expired` or `revoked`.
    pub state: Option<ApiKeyState>,
}
