//! Mini-program users (`docs/architecture.md#overview`, `docs/protocols.md#mini-program`): silent
//! login by exchanging a `wx.login()` code with WeChat, the app token, profile and saved numbers,
//! the blacklist (phone, openid, address) and the per-day visitor records the dashboard counts.
//!
//! Every app request goes through [`AppUserService::authenticate`], which reads the user's
//! status and the openid blacklist fresh, so disabling or blacklisting applies to the very
//! next request rather than at token expiry.

mod admin;
mod blacklist;
mod config;
mod model;
mod profile;
mod token;
mod views;
mod visitors;

use std::sync::Arc;

use chrono::TimeDelta;
use topup_core::{Secret, SharedClock, Timestamp};
use topup_store::{Collection, Filter, Index, Store, Update};
use topup_wechat::{MiniProgramClient, WxSession};

use crate::AuthError;
use crate::at_rest::AtRestCipher;
use crate::error::validate;
use crate::service::ClientInfo;
use topup_core::limiter::AddressLimiter;

pub use config::AppUserConfig;
pub use model::{
    AppUserId, AppUserStatus, BlacklistEntry, BlacklistEntryId, BlacklistKind, Language,
    SavedNumberId,
};
pub use views::{
    AppLoginRequest, AppLoginResponse, AppUserAdminView, AppUserQuery, AppUserView,
    BlacklistEntryView, BlacklistQuery, NewBlacklistEntry, NewSavedNumber, SavedNumberView,
    StaffSavedNumberView, UpdateAppProfile, VisitorDay, VisitorQuery,
};
pub use visitors::DemoUser;

use model::{AppUser, AppUserDay};
use token::AppTokenKeys;
use visitors::{PastDays, VisitorMemo};

/// Most numbers one user may save.
pub const MAX_SAVED_NUMBERS: usize = 20;

/// The mini-program user behind a request, as checked just now.
#[derive(Debug, Clone)]
pub struct AppPrincipal {
    pub user_id: AppUserId,
    pub openid: String,
    pub client: ClientInfo,
}

/// Mini-program users over the document store and WeChat's login API.
pub struct AppUserService {
    clock: SharedClock,
    config: AppUserConfig,
    keys: AppTokenKeys,
    cipher: AtRestCipher,
    limiter: AddressLimiter,
    mini_program: Arc<MiniProgramClient>,
    users: Collection<AppUser>,
    blacklist: Collection<BlacklistEntry>,
    days: Collection<AppUserDay>,
    memo: VisitorMemo,
    past_days: PastDays,
}

impl AppUserService {
    /// Cheap and synchronous; call [`AppUserService::prepare`] before serving.
    /// `signing_key` is the server's JWT key (app tokens carry their own audience);
    /// `at_rest_key` (32 bytes) encrypts WeChat session keys.
    pub fn new(
        store: Store,
        clock: SharedClock,
        config: AppUserConfig,
        signing_key: &Secret<Vec<u8>>,
        at_rest_key: &Secret<Vec<u8>>,
        mini_program: Arc<MiniProgramClient>,
    ) -> Result<Self, AuthError> {
        config.validate().map_err(AuthError::Internal)?;
        Ok(AppUserService {
            keys: AppTokenKeys::new(signing_key)?,
            cipher: AtRestCipher::new(at_rest_key)?,
            limiter: AddressLimiter::new(
                config.login_rate_per_minute,
                config.login_rate_burst,
                clock.clone(),
            ),
            mini_program,
            users: store.collection(),
            blacklist: store.collection(),
            days: store.collection(),
            memo: VisitorMemo::default(),
            past_days: PastDays::default(),
            clock,
            config,
        })
    }

    pub fn config(&self) -> &AppUserConfig {
        &self.config
    }

    /// Indexes.
    pub async fn prepare(&self) -> Result<(), AuthError> {
        self.users
            .ensure_index(Index::unique("app_users_openid", &["openid"]))
            .await?;
        self.users
            .ensure_index(Index::new("app_users_unionid", &["unionid"]))
            .await?;
        self.users
            .ensure_index(Index::new("app_users_created_at", &["created_at"]))
            .await?;
        self.users
            .ensure_index(Index::new("app_users_last_seen_at", &["last_seen_at"]))
            .await?;
        self.blacklist
            .ensure_index(Index::unique(
                "app_blacklist_kind_value",
                &["kind", "value"],
            ))
            .await?;
        self.blacklist
            .ensure_index(Index::new("app_blacklist_created_at", &["created_at"]))
            .await?;
        self.days
            // Both of a day's counts (active, and new) are read from this index alone.
            .ensure_index(Index::new("app_user_days_day_new", &["day", "new_user"]))
            .await?;
        Ok(())
    }

    /// Forgets idle addresses of the login rate limit (call it now and then).
    pub fn forget_idle_addresses(&self) {
        self.limiter.forget_idle();
    }

    fn token_ttl(&self) -> TimeDelta {
        TimeDelta::minutes(i64::from(self.config.token_ttl_minutes))
    }

    /// Silent login: exchanges the `wx.login()` code with WeChat, creates the user on their
    /// first login (found again by openid afterwards), keeps the session key encrypted and
    /// answers an app token. Blacklisted addresses, blacklisted openids and disabled users
    /// are refused; each address is rate limited.
    #[tracing::instrument(skip_all)]
    pub async fn login(
        &self,
        input: AppLoginRequest,
        client: ClientInfo,
    ) -> Result<AppLoginResponse, AuthError> {
        let address = client.ip.clone().unwrap_or_else(|| "unknown".into());
        if let Err(retry_after_seconds) = self.limiter.check(&address) {
            return Err(AuthError::RateLimited {
                retry_after_seconds,
            });
        }
        validate(&input)?;
        if let Some(ip) = &client.ip
            && self.is_blocked(BlacklistKind::Ip, ip).await?
        {
            tracing::info!(ip = %ip, "app login refused: address blacklisted");
            return Err(AuthError::IpBlocked);
        }
        let session = self.mini_program.code_to_session(&input.code).await?;
        if self
            .is_blocked(BlacklistKind::Openid, &session.openid)
            .await?
        {
            return Err(AuthError::UserBlocked);
        }
        let now = self.clock.now();
        let (user, new_user) = self.upsert_login(&session, &client, now).await?;
        if user.status != AppUserStatus::Active {
            return Err(AuthError::UserBlocked);
        }
        self.record_visit(&user, now).await;
        let ttl = self.token_ttl();
        let token = self
            .keys
            .issue(user.id, user.token_version, now, now.plus(ttl))?;
        tracing::info!(user = %user.id, new_user, "app user logged in");
        Ok(AppLoginResponse {
            token,
            token_type: "Bearer".into(),
            expires_in: u64::try_from(ttl.num_seconds()).unwrap_or(0),
            new_user,
            user: profile::view(&user),
        })
    }

    /// Finds the user by openid and records this login, or creates them.
    async fn upsert_login(
        &self,
        session: &WxSession,
        client: &ClientInfo,
        now: Timestamp,
    ) -> Result<(AppUser, bool), AuthError> {
        // Twice: a concurrent first login of the same openid may win the insert.
        for _ in 0..2 {
            if let Some(existing) = self
                .users
                .find_one(Filter::eq("openid", session.openid.as_str()))
                .await?
            {
                let id = existing.id.to_string();
                let mut updates = vec![
                    Update::set(
                        "session_key_sealed",
                        serde_json::to_value(self.cipher.seal(&session.session_key, &id)?)
                            .map_err(|e| AuthError::Internal(e.to_string()))?,
                    ),
                    Update::set("last_login_at", now),
                    Update::set("last_seen_at", now),
                    Update::set("last_login_ip", client.ip.clone()),
                ];
                if let Some(unionid) = &session.unionid {
                    updates.push(Update::set("unionid", unionid.as_str()));
                }
                let updated = self
                    .users
                    .update(&id, Filter::All, &updates)
                    .await?
                    .ok_or(AuthError::NotFound("app user"))?;
                return Ok((updated, false));
            }
            let id = AppUserId::new();
            let user = AppUser {
                id,
                openid: session.openid.clone(),
                unionid: session.unionid.clone(),
                nickname: String::new(),
                avatar_url: None,
                language: Language::default(),
                status: AppUserStatus::Active,
                session_key_sealed: Some(self.cipher.seal(&session.session_key, &id.to_string())?),
                saved_numbers: Vec::new(),
                saved_e164: Vec::new(),
                created_at: now,
                last_seen_at: now,
                last_login_at: now,
                last_login_ip: client.ip.clone(),
                disabled_at: None,
                token_version: 0,
                updated_at: now,
                version: 0,
            };
            match self.users.insert(&user).await {
                Ok(()) => return Ok((user, true)),
                Err(e) if e.is_duplicate() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AuthError::Internal(
            "app user could be neither found nor created".into(),
        ))
    }

    /// The check behind every app request: the token is a genuine, unexpired app token;
    /// its user exists, is active and their openid is not blacklisted. Also records the
    /// day's visit and refreshes `last_seen_at` (at most once a minute).
    pub async fn authenticate(
        &self,
        token: &str,
        client: ClientInfo,
    ) -> Result<AppPrincipal, AuthError> {
        let now = self.clock.now();
        let (user_id, token_version) = self.keys.verify(token, now)?;
        let user = self
            .users
            .get(&user_id.to_string())
            .await?
            .ok_or(AuthError::Unauthenticated("unknown app user; log in again"))?;
        // Blocked first: a disabled user is told so, not merely asked to log in again.
        if user.status != AppUserStatus::Active
            || self.is_blocked(BlacklistKind::Openid, &user.openid).await?
        {
            return Err(AuthError::UserBlocked);
        }
        if token_version != user.token_version {
            return Err(AuthError::Unauthenticated("signed out; log in again"));
        }
        self.record_visit(&user, now).await;
        if now.since(user.last_seen_at) >= TimeDelta::seconds(60) {
            let touched = self
                .users
                .update(
                    &user.id.to_string(),
                    Filter::All,
                    &[Update::set("last_seen_at", now)],
                )
                .await;
            if let Err(error) = touched {
                tracing::warn!(%error, "app user last-seen not updated");
            }
        }
        Ok(AppPrincipal {
            user_id: user.id,
            openid: user.openid,
            client,
        })
    }

    /// Ends every app token of the user issued so far (the app's "log out").
    pub async fn logout(&self, user_id: AppUserId) -> Result<(), AuthError> {
        self.users
            .update(
                &user_id.to_string(),
                Filter::All,
                &[
                    Update::inc("token_version", 1),
                    Update::set("updated_at", self.clock.now()),
                ],
            )
            .await?
            .ok_or(AuthError::NotFound("app user"))?;
        Ok(())
    }

    /// The user's current WeChat session key, decrypted (to verify or decrypt data the
    /// mini-program sends, e.g. `wx.getPhoneNumber`). Never log or return it.
    pub async fn session_key(&self, user_id: AppUserId) -> Result<Secret<String>, AuthError> {
        let user = self.fetch(user_id).await?;
        let sealed = user
            .session_key_sealed
            .ok_or(AuthError::NotFound("session key"))?;
        self.cipher.open(&sealed, &user_id.to_string())
    }

    pub(crate) async fn fetch(&self, id: AppUserId) -> Result<AppUser, AuthError> {
        self.users
            .get(&id.to_string())
            .await?
            .ok_or(AuthError::NotFound("app user"))
    }
}
