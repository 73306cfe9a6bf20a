//! [`AuthService`]: sign-in, sessions and the checks every admin request goes through.

use std::collections::BTreeSet;
use std::sync::Mutex;

use chrono::TimeDelta;
use serde_json::Value;
use tokio::sync::OnceCell;
use topup_core::{Secret, SharedClock, Timestamp};
use topup_store::{Collection, Filter, FindQuery, Index, Store, StoreError, Update};

use crate::audit::{AccessLogSink, AccessLogWriter, Audited, Change, access_log_channel};
use crate::config::AuthConfig;
use crate::error::validate_with_secrets;
use crate::model::{
    AccessLog, ApiKey, ApiKeyId, Lockout, LockoutPolicy, LogId, LoginLog, LoginResult, MenuNode,
    OperationLog, PasswordHash, RefreshToken, Role, Session, SessionId, StaffUser, StaffUserId,
};
use crate::password::{self, check_policy, generate_password};
use crate::seed::SUPER_ADMIN;
use crate::token::{TokenKeys, new_refresh_token, refresh_token_hash};
use crate::views::{ChangePasswordRequest, LoginRequest, Me, RefreshRequest, TokenPair};
use crate::{AuthError, perm};
use topup_core::limiter::{AddressLimiter, PerKeyLimiter};

/// Where a request came from, for logs, sessions and the login rate limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// Keeps only a bounded, printable user agent.
    pub fn new(ip: Option<String>, user_agent: Option<&str>) -> Self {
        ClientInfo {
            ip,
            user_agent: user_agent
                .map(|ua| ua.chars().filter(|c| !c.is_control()).take(256).collect()),
        }
    }
}

/// The signed-in staff member behind a request, as checked just now.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: StaffUserId,
    pub username: String,
    /// The session of a signed-in staff member; none for an API key.
    pub session_id: Option<SessionId>,
    /// The API key the request came with (`docs/security.md#api-keys`).
    pub api_key: Option<ApiKeyId>,
    /// Holds the built-in `super_admin` role: every permission.
    pub super_admin: bool,
    /// Union of the permissions of the user's enabled roles.
    pub permissions: BTreeSet<String>,
    pub must_change_password: bool,
    pub client: ClientInfo,
}

impl Principal {
    pub fn can(&self, code: &str) -> bool {
        self.super_admin || self.permissions.contains(code)
    }
}

/// The first administrator, created on an empty store. The password is shown once.
#[derive(Debug)]
pub struct InitialAdmin {
    pub username: String,
    pub password: Secret<String>,
}

/// Staff identity and access control over the document store.
pub struct AuthService {
    pub(crate) clock: SharedClock,
    pub(crate) config: AuthConfig,
    keys: TokenKeys,
    limiter: AddressLimiter,
    pub(crate) users: Collection<StaffUser>,
    pub(crate) roles: Collection<Role>,
    pub(crate) menus: Collection<MenuNode>,
    pub(crate) sessions: Collection<Session>,
    pub(crate) refresh_tokens: Collection<RefreshToken>,
    pub(crate) lockouts: Collection<Lockout>,
    pub(crate) login_logs: Collection<LoginLog>,
    pub(crate) operation_logs: Collection<OperationLog>,
    pub(crate) access_logs: Collection<AccessLog>,
    pub(crate) api_keys: Collection<ApiKey>,
    /// Each API key's requests per minute.
    pub(crate) key_limiter: PerKeyLimiter,
    access_log: AccessLogSink,
    access_writer: Mutex<Option<AccessLogWriter>>,
    /// Compared against when the username is unknown, so both cases take the same time.
    dummy_hash: OnceCell<PasswordHash>,
    /// Serialises in-process changes guarded by "last super-admin" counts.
    pub(crate) guard: tokio::sync::Mutex<()>,
}

pub(crate) fn minutes(value: u32) -> TimeDelta {
    TimeDelta::minutes(i64::from(value))
}

pub(crate) fn not_found(what: &'static str) -> impl FnOnce() -> AuthError {
    move || AuthError::NotFound(what)
}

const SESSION_ENDED: AuthError = AuthError::Unauthenticated("session ended; log in again");

impl AuthService {
    /// Cheap and synchronous; call [`AuthService::prepare`] before serving.
    pub fn new(
        store: Store,
        clock: SharedClock,
        config: AuthConfig,
        signing_key: &Secret<Vec<u8>>,
    ) -> Result<Self, AuthError> {
        config.validate().map_err(AuthError::Internal)?;
        let keys = TokenKeys::new(signing_key)?;
        let limiter = AddressLimiter::new(
            config.login_rate_per_minute,
            config.login_rate_burst,
            clock.clone(),
        );
        let (access_log, writer) =
            access_log_channel(store.collection(), config.access_log_sample_rate);
        Ok(AuthService {
            key_limiter: PerKeyLimiter::new(clock.clone()),
            clock,
            keys,
            limiter,
            users: store.collection(),
            roles: store.collection(),
            menus: store.collection(),
            sessions: store.collection(),
            refresh_tokens: store.collection(),
            lockouts: store.collection(),
            login_logs: store.collection(),
            operation_logs: store.collection(),
            access_logs: store.collection(),
            api_keys: store.collection(),
            access_log,
            access_writer: Mutex::new(Some(writer)),
            dummy_hash: OnceCell::new(),
            guard: tokio::sync::Mutex::new(()),
            config,
        })
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub(crate) fn forget_idle_addresses(&self) {
        self.limiter.forget_idle();
    }

    /// Where request middleware sends access-log entries.
    pub fn access_log(&self) -> &AccessLogSink {
        &self.access_log
    }

    /// The access-log writer, to spawn once (`None` after the first call).
    pub fn take_access_log_writer(&self) -> Option<AccessLogWriter> {
        self.access_writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }

    /// Indexes, the menu/permission seed, the `super_admin` role, and — on an empty store —
    /// the first administrator, whose generated password is returned once.
    pub async fn prepare(&self) -> Result<Option<InitialAdmin>, AuthError> {
        self.ensure_indexes().await?;
        self.ensure_api_key_indexes().await?;
        self.seed_menus().await?;
        let super_admin = self.seed_super_admin().await?;
        self.bootstrap_admin(&super_admin).await
    }

    async fn ensure_indexes(&self) -> Result<(), AuthError> {
        self.users
            .ensure_index(Index::unique("staff_users_username_key", &["username_key"]))
            .await?;
        self.users
            .ensure_index(Index::new("staff_users_created_at", &["created_at"]))
            .await?;
        self.roles
            .ensure_index(Index::unique("staff_roles_code", &["code"]))
            .await?;
        self.menus
            .ensure_index(Index::unique("staff_menus_key", &["key"]))
            .await?;
        self.menus
            .ensure_index(Index::new("staff_menus_parent", &["parent_id"]))
            .await?;
        self.sessions
            .ensure_index(Index::new("staff_sessions_user", &["user_id"]))
            .await?;
        self.sessions
            .ensure_index(Index::new("staff_sessions_expires", &["expires_at"]))
            .await?;
        self.refresh_tokens
            .ensure_index(Index::new("staff_refresh_tokens_expires", &["expires_at"]))
            .await?;
        self.lockouts
            .ensure_index(Index::new("staff_lockouts_updated", &["updated_at"]))
            .await?;
        self.lockouts
            .ensure_index(Index::new("staff_lockouts_username", &["username_key"]))
            .await?;
        self.login_logs
            .ensure_index(Index::new("staff_login_logs_at", &["at"]))
            .await?;
        self.operation_logs
            .ensure_index(Index::new("staff_operation_logs_at", &["at"]))
            .await?;
        self.access_logs
            .ensure_index(Index::new("staff_access_logs_at", &["at"]))
            .await?;
        Ok(())
    }

    async fn seed_super_admin(&self) -> Result<Role, AuthError> {
        let all: Vec<String> = self.known_permissions().await?.into_iter().collect();
        let now = self.clock.now();
        match self.roles.find_one(Filter::eq("code", SUPER_ADMIN)).await? {
            Some(role) if role.permissions == all && role.enabled && role.builtin => Ok(role),
            Some(mut role) => {
                role.permissions = all;
                role.enabled = true;
                role.builtin = true;
                role.updated_at = now;
                Ok(self.roles.replace(&role).await?)
            }
            None => {
                let role = Role {
                    id: Default::default(),
                    code: SUPER_ADMIN.into(),
                    name: "Super administrator".into(),
                    description: "Built-in: holds every permission.".into(),
                    enabled: true,
                    builtin: true,
                    permissions: all,
                    created_at: now,
                    updated_at: now,
                    version: 0,
                };
                match self.roles.insert(&role).await {
                    Ok(()) => Ok(role),
                    // Another server process seeded it first.
                    Err(e) if e.is_duplicate() => self
                        .roles
                        .find_one(Filter::eq("code", SUPER_ADMIN))
                        .await?
                        .ok_or_else(not_found("role")),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    async fn bootstrap_admin(&self, super_admin: &Role) -> Result<Option<InitialAdmin>, AuthError> {
        if self.users.count(&Filter::All).await? > 0 {
            return Ok(None);
        }
        let password = generate_password()?;
        let now = self.clock.now();
        let user = StaffUser {
            id: StaffUserId::new(),
            username: "admin".into(),
            username_key: "admin".into(),
            display_name: "Administrator".into(),
            password_hash: password::hash(password.clone()).await?,
            enabled: true,
            role_ids: vec![super_admin.id],
            must_change_password: true,
            last_login_at: None,
            last_login_ip: None,
            password_changed_at: now,
            created_at: now,
            updated_at: now,
            version: 0,
        };
        match self.users.insert(&user).await {
            Ok(()) => Ok(Some(InitialAdmin {
                username: user.username,
                password,
            })),
            Err(e) if e.is_duplicate() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Every permission code that exists: the routes' and the menu tree's.
    pub async fn known_permissions(&self) -> Result<BTreeSet<String>, AuthError> {
        let mut all: BTreeSet<String> = perm::ALL.iter().map(|c| (*c).to_owned()).collect();
        let nodes = self
            .menus
            .find(&FindQuery::new(Filter::exists("permission")))
            .await?;
        all.extend(nodes.into_iter().filter_map(|n| n.permission));
        Ok(all)
    }

    pub(crate) async fn roles_of(&self, user: &StaffUser) -> Result<Vec<Role>, AuthError> {
        if user.role_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = user.role_ids.iter().map(|id| Value::from(*id));
        Ok(self
            .roles
            .find(&FindQuery::new(
                Filter::is_in("id", ids).and(Filter::eq("enabled", true)),
            ))
            .await?)
    }

    /// The two checks behind every admin request, first half: the token is genuine and
    /// unexpired, its session is live, its user exists and is enabled. Permissions are read
    /// fresh, so role changes apply to the very next request.
    pub async fn authenticate(
        &self,
        access_token: &str,
        client: ClientInfo,
    ) -> Result<Principal, AuthError> {
        let now = self.clock.now();
        let (user_id, session_id) = self.keys.verify(access_token, now)?;
        let session = self
            .sessions
            .get(&session_id.to_string())
            .await?
            .filter(|s| s.user_id == user_id && session_live(s, now))
            .ok_or(SESSION_ENDED)?;
        let user = self
            .users
            .get(&user_id.to_string())
            .await?
            .filter(|u| u.enabled)
            .ok_or(AuthError::Unauthenticated("account disabled or removed"))?;
        let roles = self.roles_of(&user).await?;
        if now.since(session.last_seen_at) >= TimeDelta::seconds(60) {
            let touched = self
                .sessions
                .update(
                    &session.id.to_string(),
                    Filter::missing("revoked_at"),
                    &[Update::set("last_seen_at", now)],
                )
                .await;
            if let Err(error) = touched {
                tracing::warn!(%error, "session last-seen not updated");
            }
        }
        Ok(Principal {
            user_id,
            username: user.username,
            session_id: Some(session_id),
            api_key: None,
            super_admin: roles.iter().any(|r| r.code == SUPER_ADMIN),
            permissions: roles.into_iter().flat_map(|r| r.permissions).collect(),
            must_change_password: user.must_change_password,
            client,
        })
    }

    async fn dummy_hash(&self) -> Result<PasswordHash, AuthError> {
        self.dummy_hash
            .get_or_try_init(|| async { password::hash(generate_password()?).await })
            .await
            .cloned()
    }

    /// Username + password → a new session. Unknown users and wrong passwords fail alike;
    /// too many failures lock the username; too many attempts from one address are refused.
    #[tracing::instrument(skip_all)]
    pub async fn login(
        &self,
        input: LoginRequest,
        client: ClientInfo,
    ) -> Result<TokenPair, AuthError> {
        let now = self.clock.now();
        let typed: String = input.username.trim().chars().take(64).collect();
        let address = client.ip.clone().unwrap_or_else(|| "unknown".into());
        if let Err(retry_after_seconds) = self.limiter.check(&address) {
            self.log_login(
                &typed,
                None,
                LoginResult::RateLimited,
                "too many attempts from this address",
                &client,
            )
            .await;
            return Err(AuthError::RateLimited {
                retry_after_seconds,
            });
        }
        if let Err(error) = validate_with_secrets(&input, &[("password", &input.password)]) {
            self.log_login(
                &typed,
                None,
                LoginResult::InvalidInput,
                "malformed request",
                &client,
            )
            .await;
            return Err(error);
        }
        let key = typed.to_lowercase();
        let lock_id = Lockout::id_for(&key, &address);
        if let Some(until) = self.locked_until(&lock_id, now).await? {
            self.log_login(
                &typed,
                None,
                LoginResult::Locked,
                "username is locked",
                &client,
            )
            .await;
            return Err(AuthError::AccountLocked { until });
        }
        let found = self
            .users
            .find_one(Filter::eq("username_key", key.as_str()))
            .await?;
        let hash = match &found {
            Some(user) => user.password_hash.clone(),
            None => self.dummy_hash().await?,
        };
        let matches = password::verify(input.password.clone(), hash).await?;
        let user = match found {
            Some(user) if matches => user,
            found => {
                let user_id = found.map(|u| u.id);
                let locked = self.record_failure(&key, &lock_id, now).await?;
                return match locked {
                    Some(until) => {
                        self.log_login(
                            &typed,
                            user_id,
                            LoginResult::Locked,
                            "wrong password; username now locked",
                            &client,
                        )
                        .await;
                        Err(AuthError::AccountLocked { until })
                    }
                    None => {
                        let reason = if user_id.is_some() {
                            "wrong password"
                        } else {
                            "unknown username"
                        };
                        self.log_login(
                            &typed,
                            user_id,
                            LoginResult::InvalidCredentials,
                            reason,
                            &client,
                        )
                        .await;
                        Err(AuthError::InvalidCredentials)
                    }
                };
            }
        };
        if !user.enabled {
            self.log_login(
                &typed,
                Some(user.id),
                LoginResult::Disabled,
                "account disabled",
                &client,
            )
            .await;
            return Err(AuthError::AccountDisabled);
        }
        self.lockouts.delete(&lock_id).await?;
        let pair = self.start_session(&user, &client, now).await?;
        self.users
            .update(
                &user.id.to_string(),
                Filter::All,
                &[
                    Update::set("last_login_at", now),
                    Update::set("last_login_ip", client.ip.clone()),
                ],
            )
            .await?;
        self.log_login(
            &typed,
            Some(user.id),
            LoginResult::Success,
            "signed in",
            &client,
        )
        .await;
        Ok(pair)
    }

    async fn log_login(
        &self,
        username: &str,
        user_id: Option<StaffUserId>,
        result: LoginResult,
        reason: &str,
        client: &ClientInfo,
    ) {
        let entry = LoginLog {
            id: LogId::new(),
            username: username.to_owned(),
            user_id,
            result,
            reason: Some(reason.to_owned()),
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            at: self.clock.now(),
        };
        // A login must not fail because its log line could not be written.
        if let Err(error) = self.login_logs.insert(&entry).await {
            tracing::error!(%error, "login log entry not written");
        }
    }

    async fn locked_until(
        &self,
        lock_id: &str,
        now: Timestamp,
    ) -> Result<Option<Timestamp>, AuthError> {
        Ok(self
            .lockouts
            .get(lock_id)
            .await?
            .and_then(|l| l.locked_until)
            .filter(|until| *until > now))
    }

    /// Counts a failure for the username from one address; `Some(until)` when it locks them.
    /// Each lock in a row lasts twice as long as the one before, up to a day.
    pub(crate) async fn record_failure(
        &self,
        key: &str,
        lock_id: &str,
        now: Timestamp,
    ) -> Result<Option<Timestamp>, AuthError> {
        let policy = LockoutPolicy {
            threshold: self.config.lockout_threshold,
            window: minutes(self.config.lockout_window_minutes),
            lock_minutes: self.config.lockout_minutes,
        };
        for _ in 0..8 {
            let current = self.lockouts.get(lock_id).await?;
            let mut next = current.clone().unwrap_or(Lockout {
                id: lock_id.to_owned(),
                username_key: key.to_owned(),
                failures: Vec::new(),
                locked_until: None,
                locks: 0,
                updated_at: now,
                version: 0,
            });
            let locked = next.count_failure(now, &policy);
            let written = match current {
                None => self.lockouts.insert(&next).await,
                Some(_) => self.lockouts.replace(&next).await.map(|_| ()),
            };
            match written {
                Ok(()) => return Ok(locked),
                // Another attempt for the same name landed first; count again on top of it.
                Err(e) if e.is_duplicate() || e.is_conflict() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AuthError::Internal(
            "lockout bookkeeping kept conflicting".into(),
        ))
    }

    pub(crate) async fn start_session(
        &self,
        user: &StaffUser,
        client: &ClientInfo,
        now: Timestamp,
    ) -> Result<TokenPair, AuthError> {
        let session = Session {
            id: SessionId::new(),
            user_id: user.id,
            username: user.username.clone(),
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            created_at: now,
            last_seen_at: now,
            expires_at: now.plus(self.refresh_ttl()),
            revoked_at: None,
            revoked_reason: None,
            version: 0,
        };
        self.sessions.insert(&session).await?;
        self.issue_tokens(&session, user.must_change_password, now)
            .await
    }

    fn refresh_ttl(&self) -> TimeDelta {
        TimeDelta::days(i64::from(self.config.refresh_token_ttl_days))
    }

    async fn issue_tokens(
        &self,
        session: &Session,
        must_change_password: bool,
        now: Timestamp,
    ) -> Result<TokenPair, AuthError> {
        let (refresh_token, hash) = new_refresh_token()?;
        self.refresh_tokens
            .insert(&RefreshToken {
                id: hash,
                session_id: session.id,
                user_id: session.user_id,
                issued_at: now,
                expires_at: now.plus(self.refresh_ttl()),
                rotated_at: None,
                version: 0,
            })
            .await?;
        let ttl = minutes(self.config.access_token_ttl_minutes);
        let access_token = self
            .keys
            .issue(session.user_id, session.id, now, now.plus(ttl))?;
        Ok(TokenPair {
            access_token,
            refresh_token,
            token_type: "Bearer".into(),
            expires_in: u64::try_from(ttl.num_seconds()).unwrap_or(0),
            must_change_password,
        })
    }

    /// Exchanges a refresh token for a new pair. Each refresh token works once; presenting
    /// a used one again means it was copied, so the whole session is ended.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, input: RefreshRequest) -> Result<TokenPair, AuthError> {
        validate_with_secrets(&input, &[("refresh_token", &input.refresh_token)])?;
        let now = self.clock.now();
        let hash = refresh_token_hash(input.refresh_token.expose());
        let invalid = AuthError::Unauthenticated("invalid or expired refresh token");
        let reused =
            AuthError::Unauthenticated("refresh token already used; the session has been ended");
        let Some(stored) = self.refresh_tokens.get(&hash).await? else {
            return Err(invalid);
        };
        if stored.rotated_at.is_some() {
            tracing::warn!(session = %stored.session_id, "refresh token reused; ending the session");
            self.revoke_session(stored.session_id, "refresh token reused")
                .await?;
            return Err(reused);
        }
        if stored.expires_at <= now {
            return Err(invalid);
        }
        let claimed = self
            .refresh_tokens
            .update(
                &hash,
                Filter::missing("rotated_at"),
                &[Update::set("rotated_at", now)],
            )
            .await?;
        if claimed.is_none() {
            // Two refreshes with one token raced: the same theft signal.
            self.revoke_session(stored.session_id, "refresh token reused")
                .await?;
            return Err(reused);
        }
        let user = self
            .users
            .get(&stored.user_id.to_string())
            .await?
            .filter(|u| u.enabled)
            .ok_or(AuthError::Unauthenticated("account disabled or removed"))?;
        let session = self
            .sessions
            .update(
                &stored.session_id.to_string(),
                Filter::missing("revoked_at").and(Filter::gt("expires_at", now)),
                &[
                    Update::set("expires_at", now.plus(self.refresh_ttl())),
                    Update::set("last_seen_at", now),
                ],
            )
            .await?
            .ok_or(SESSION_ENDED)?;
        self.issue_tokens(&session, user.must_change_password, now)
            .await
    }

    /// Ends the session the request was made with.
    pub async fn logout(&self, principal: &Principal) -> Result<Audited<()>, AuthError> {
        let session_id = principal.session_id.ok_or(AuthError::Unauthenticated(
            "an API key has no session to end",
        ))?;
        let (before, after) = self.revoke_session(session_id, "logout").await?;
        let mut change = Change::new("staff_session", session_id);
        if let Some(before) = before {
            change = change.before(&before);
        }
        if let Some(after) = after {
            change = change.after(&after);
        }
        Ok(Audited::new((), change))
    }

    /// Marks a session revoked (no-op if it already is); answers it before and after.
    pub(crate) async fn revoke_session(
        &self,
        id: SessionId,
        reason: &str,
    ) -> Result<(Option<Session>, Option<Session>), AuthError> {
        let before = self.sessions.get(&id.to_string()).await?;
        let after = self
            .sessions
            .update(
                &id.to_string(),
                Filter::missing("revoked_at"),
                &[
                    Update::set("revoked_at", self.clock.now()),
                    Update::set("revoked_reason", reason),
                ],
            )
            .await?;
        Ok((before, after))
    }

    /// Ends every live session of a user; answers how many.
    pub(crate) async fn revoke_user_sessions(
        &self,
        user: StaffUserId,
        reason: &str,
    ) -> Result<u64, AuthError> {
        let live = self
            .sessions
            .find(&FindQuery::new(
                Filter::eq("user_id", user).and(Filter::missing("revoked_at")),
            ))
            .await?;
        let mut ended = 0;
        for session in live {
            if self.revoke_session(session.id, reason).await?.1.is_some() {
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// Changes the caller's own password. Every session of the user ends (other browsers
    /// too); a fresh pair for a new session is returned.
    pub async fn change_password(
        &self,
        principal: &Principal,
        input: ChangePasswordRequest,
    ) -> Result<Audited<TokenPair>, AuthError> {
        validate_with_secrets(&input, &[("old", &input.old), ("new", &input.new)])?;
        let now = self.clock.now();
        let user = self
            .users
            .get(&principal.user_id.to_string())
            .await?
            .ok_or(SESSION_ENDED)?;
        let address = principal.client.ip.as_deref().unwrap_or("unknown");
        let lock_id = Lockout::id_for(&user.username_key, address);
        if let Some(until) = self.locked_until(&lock_id, now).await? {
            return Err(AuthError::AccountLocked { until });
        }
        if !password::verify(input.old.clone(), user.password_hash.clone()).await? {
            // Guessing through a stolen session counts like guessing at the sign-in.
            if let Some(until) = self
                .record_failure(&user.username_key, &lock_id, now)
                .await?
            {
                self.revoke_user_sessions(user.id, "password guessed too often")
                    .await?;
                return Err(AuthError::AccountLocked { until });
            }
            return Err(AuthError::field(
                "old",
                "does not match the current password",
            ));
        }
        check_policy(&self.config, "new", input.new.expose())?;
        if input.new.expose() == input.old.expose() {
            return Err(AuthError::field(
                "new",
                "must differ from the current password",
            ));
        }
        let mut next = user.clone();
        next.password_hash = password::hash(input.new.clone()).await?;
        next.must_change_password = false;
        next.password_changed_at = now;
        next.updated_at = now;
        let saved = self.users.replace(&next).await?;
        self.revoke_user_sessions(user.id, "password changed")
            .await?;
        let pair = self.start_session(&saved, &principal.client, now).await?;
        Ok(Audited::new(
            pair,
            Change::new("staff_user", user.id)
                .before(&user)
                .after(&saved),
        ))
    }

    /// The caller, their roles, permissions and navigation.
    pub async fn me(&self, principal: &Principal) -> Result<Me, AuthError> {
        let user = self
            .users
            .get(&principal.user_id.to_string())
            .await?
            .ok_or(SESSION_ENDED)?;
        let permissions: BTreeSet<String> = if principal.super_admin {
            self.known_permissions().await?
        } else {
            principal.permissions.clone()
        };
        let menus = self.visible_menus(&permissions).await?;
        let view = self.user_view(&user).await?;
        Ok(Me {
            roles: view.roles.clone(),
            user: view,
            permissions: permissions.into_iter().collect(),
            menus,
        })
    }
}

pub(crate) fn session_live(session: &Session, now: Timestamp) -> bool {
    session.revoked_at.is_none() && session.expires_at > now
}

pub(crate) fn duplicate_as(message: &'static str) -> impl FnOnce(StoreError) -> AuthError {
    move |error| {
        if error.is_duplicate() {
            AuthError::Conflict(message.to_owned())
        } else {
            error.into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(super_admin: bool, permissions: &[&str]) -> Principal {
        Principal {
            user_id: StaffUserId::new(),
            username: "alice".into(),
            session_id: None,
            api_key: None,
            super_admin,
            permissions: permissions.iter().map(|code| (*code).to_owned()).collect(),
            must_change_password: false,
            client: ClientInfo::default(),
        }
    }

    #[test]
    fn a_permission_is_held_exactly_or_through_super_admin_only() {
        let staff = principal(false, &["order:order:list", "system:user:list"]);
        assert!(staff.can("order:order:list"));
        assert!(!staff.can("order:order:refund"), "default deny");
        assert!(!staff.can("order:order"), "no prefix matching");
        assert!(!staff.can("order:order:list:extra"));
        assert!(!staff.can("ORDER:ORDER:LIST"), "codes are exact");
        assert!(!staff.can(""));
        assert!(!principal(false, &[]).can("order:order:list"));
        assert!(principal(true, &[]).can("order:order:refund"));
    }
}
