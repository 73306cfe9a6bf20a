//! Stored documents. Collections are prefixed `staff_` to keep them apart from end users.

use std::fmt;

use chrono::TimeDelta;
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

/// How failed sign-ins turn into locks (`auth.lockout_*`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LockoutPolicy {
    /// Failures inside the window that lock.
    pub threshold: u32,
    pub window: TimeDelta,
    /// The first lock's length; each lock in a row doubles it.
    pub lock_minutes: u32,
}

impl Lockout {
    /// The longest lock, however many came before it (unless the first is longer).
    const LONGEST_LOCK_MINUTES: u32 = 24 * 60;

    pub(crate) fn id_for(username_key: &str, address: &str) -> String {
        format!("{username_key}|{address}")
    }

    /// Counts one failure at `now`; `Some(until)` when it locks. Failures older than the
    /// window are forgotten; a lock starts a new count.
    pub(crate) fn count_failure(
        &mut self,
        now: Timestamp,
        policy: &LockoutPolicy,
    ) -> Option<Timestamp> {
        let window_start = now.minus(policy.window);
        self.failures.retain(|at| *at > window_start);
        self.failures.push(now);
        self.updated_at = now;
        let threshold = usize::try_from(policy.threshold).unwrap_or(usize::MAX);
        if self.failures.len() < threshold {
            return None;
        }
        self.failures.clear();
        let doubling = 1_u32.checked_shl(self.locks.min(16)).unwrap_or(u32::MAX);
        let lock_minutes = policy
            .lock_minutes
            .saturating_mul(doubling)
            .min(Self::LONGEST_LOCK_MINUTES.max(policy.lock_minutes));
        self.locks = self.locks.saturating_add(1);
        let until = now.plus(TimeDelta::minutes(i64::from(lock_minutes)));
        self.locked_until = Some(until);
        // A zero-minute lock (`auth.lockout_minutes = 0`) locks nobody.
        Some(until).filter(|until| *until > now)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> Timestamp {
        Timestamp::parse("2026-01-01T00:00:00Z")
            .unwrap()
            .plus(TimeDelta::minutes(minute))
    }

    fn fresh() -> Lockout {
        Lockout {
            id: Lockout::id_for("alice", "127.0.0.1"),
            username_key: "alice".into(),
            failures: Vec::new(),
            locked_until: None,
            locks: 0,
            updated_at: at(0),
            version: 0,
        }
    }

    const POLICY: LockoutPolicy = LockoutPolicy {
        threshold: 5,
        window: TimeDelta::minutes(15),
        lock_minutes: 15,
    };

    #[test]
    fn the_threshold_th_failure_in_the_window_locks_and_not_one_before() {
        let mut lockout = fresh();
        for minute in 0..4 {
            assert_eq!(lockout.count_failure(at(minute), &POLICY), None);
        }
        assert_eq!(lockout.count_failure(at(4), &POLICY), Some(at(19)));
        assert_eq!(lockout.locked_until, Some(at(19)));
        assert!(lockout.failures.is_empty(), "a lock starts a new count");
    }

    #[test]
    fn failures_older_than_the_window_are_forgotten() {
        let mut lockout = fresh();
        for minute in [0, 1, 2, 3] {
            lockout.count_failure(at(minute), &POLICY);
        }
        // 16 minutes on, the first failures have left the window: four in it, not five.
        assert_eq!(lockout.count_failure(at(16), &POLICY), None);
        assert_eq!(lockout.failures.len(), 3);
    }

    #[test]
    fn locks_in_a_row_double_up_to_a_day() {
        let mut lockout = fresh();
        let mut lengths = Vec::new();
        for lock in 0..9_i64 {
            let start = lock * 10_000;
            for n in 0..4 {
                lockout.count_failure(at(start + n), &POLICY);
            }
            let until = lockout.count_failure(at(start + 4), &POLICY).unwrap();
            lengths.push((until.unix_seconds() - at(start + 4).unix_seconds()) / 60);
        }
        assert_eq!(
            lengths,
            [15, 30, 60, 120, 240, 480, 960, 1440, 1440],
            "doubling, capped at a day"
        );
    }

    #[test]
    fn a_zero_minute_lock_locks_nobody() {
        let mut lockout = fresh();
        let policy = LockoutPolicy {
            threshold: 1,
            lock_minutes: 0,
            ..POLICY
        };
        assert_eq!(lockout.count_failure(at(0), &policy), None);
    }
}
