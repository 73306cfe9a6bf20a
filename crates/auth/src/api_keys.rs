//! API keys for integrators (`docs/security.md#api-keys`). A key acts for the staff member
//! who created it, within the permissions written on it: what it may do is those permissions
//! that its creator still holds, so a creator who is disabled or loses a role takes their keys
//! down with them. The key is `tpk_<id>_<64 hex>`; only its SHA-256 is stored, and the id
//! finds the record without a scan.

use std::collections::BTreeSet;
use std::net::IpAddr;

use chrono::TimeDelta;
use ipnet::IpNet;
use topup_core::network::parse_network;
use topup_core::{Page, PageRequest, Timestamp};
use topup_store::{Filter, Index, SortOrder, Update};

use crate::audit::{Audited, Change};
use crate::ceiling::codes_within_reach;
use crate::error::validate;
use crate::model::{ApiKey, ApiKeyId};
use crate::password::random_bytes;
use crate::seed::SUPER_ADMIN;
use crate::service::{AuthService, ClientInfo, Principal, not_found};
use crate::token::{hex, refresh_token_hash};
use crate::views::{ApiKeyQuery, ApiKeyState, ApiKeyView, CreatedApiKey, NewApiKey};
use crate::{AuthError, FieldErrors};

/// Every API key starts so; anything else in a bearer header is a session token.
pub const API_KEY_PREFIX: &str = "tpk_";
const DEFAULT_RATE_PER_MINUTE: u32 = 600;
/// Codes a key never carries: a key cannot mint or revoke keys, so revoking one is final.
const KEY_MANAGEMENT: &str = "system:apikey:";

fn state_of(key: &ApiKey, now: Timestamp) -> ApiKeyState {
    if key.revoked_at.is_some() {
        ApiKeyState::Revoked
    } else if key.expires_at.is_some_and(|at| at <= now) {
        ApiKeyState::Expired
    } else {
        ApiKeyState::Active
    }
}

fn view(key: &ApiKey, now: Timestamp) -> ApiKeyView {
    ApiKeyView {
        id: key.id,
        name: key.name.clone(),
        prefix: format!("{API_KEY_PREFIX}{}", key.id),
        permissions: key.permissions.clone(),
        allowed_addresses: key.allowed_addresses.clone(),
        rate_per_minute: key.rate_per_minute,
        expires_at: key.expires_at,
        state: state_of(key, now),
        created_by: key.created_by,
        created_by_username: key.created_by_username.clone(),
        created_at: key.created_at,
        last_used_at: key.last_used_at,
        last_used_ip: key.last_used_ip.clone(),
        revoked_at: key.revoked_at,
        revoked_by_username: key.revoked_by_username.clone(),
    }
}

fn parse_networks(entries: &[String]) -> Result<Vec<IpNet>, AuthError> {
    let mut errors = FieldErrors::new();
    let mut networks = Vec::new();
    for entry in entries {
        match parse_network(entry) {
            Some(net) => networks.push(net),
            None => {
                let shown: String = entry.trim().chars().take(64).collect();
                errors.add(
                    "allowed_addresses",
                    format!("{shown:?} is not an address or CIDR"),
                );
            }
        }
    }
    errors.into_result()?;
    Ok(networks)
}

/// Equal-time comparison of two hex digests, so response time says nothing about how much of
/// a guessed key was right.
fn same_digest(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}

const KEY_REFUSED: AuthError = AuthError::Unauthenticated("invalid API key");

impl AuthService {
    pub(crate) async fn ensure_api_key_indexes(&self) -> Result<(), AuthError> {
        self.api_keys
            .ensure_index(Index::new("staff_api_keys_created_at", &["created_at"]))
            .await?;
        Ok(())
    }

    /// Creates a key holding `input.permissions`, each of which `actor` must hold. Answers
    /// the key once; only its hash is kept.
    pub async fn create_api_key(
        &self,
        actor: &Principal,
        input: NewApiKey,
    ) -> Result<Audited<CreatedApiKey>, AuthError> {
        if actor.api_key.is_some() {
            return Err(AuthError::Forbidden(
                "API keys cannot create API keys; sign in as staff".to_owned(),
            ));
        }
        validate(&input)?;
        let now = self.clock.now();
        let mut errors = FieldErrors::new();
        if input.expires_at.is_some_and(|at| at <= now) {
            errors.add("expires_at", "must be in the future");
        }
        let known = self.known_permissions().await?;
        for code in &input.permissions {
            let shown: String = code.chars().take(96).collect();
            if !known.contains(code) {
                errors.add("permissions", format!("unknown permission {shown:?}"));
            } else if code.starts_with(KEY_MANAGEMENT) {
                errors.add(
                    "permissions",
                    format!("{shown:?}: API keys cannot manage API keys"),
                );
            }
        }
        errors.into_result()?;
        parse_networks(&input.allowed_addresses)?;
        let permissions: Vec<String> = input
            .permissions
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        codes_within_reach(actor, &permissions)?;

        let id = ApiKeyId::new();
        let key = format!("{API_KEY_PREFIX}{id}_{}", hex(&random_bytes::<32>()?));
        let record = ApiKey {
            id,
            name: input.name.trim().to_owned(),
            secret_hash: refresh_token_hash(&key),
            permissions,
            allowed_addresses: input
                .allowed_addresses
                .iter()
                .map(|a| a.trim().to_owned())
                .collect(),
            rate_per_minute: input.rate_per_minute.unwrap_or(DEFAULT_RATE_PER_MINUTE),
            expires_at: input.expires_at,
            created_by: actor.user_id,
            created_by_username: actor.username.clone(),
            created_at: now,
            last_used_at: None,
            last_used_ip: None,
            revoked_at: None,
            revoked_by_username: None,
            version: 0,
        };
        self.api_keys.insert(&record).await?;
        let shown = view(&record, now);
        Ok(Audited::new(
            CreatedApiKey {
                key,
                api_key: shown.clone(),
            },
            Change::new("api_key", id).after(&shown),
        ))
    }

    /// Keys, newest first.
    pub async fn list_api_keys(
        &self,
        query: &ApiKeyQuery,
        page: PageRequest,
    ) -> Result<Page<ApiKeyView>, AuthError> {
        let page = page
            .validated()
            .map_err(|e| AuthError::field("page", e.to_string()))?;
        let now = self.clock.now();
        let filter = match query.state {
            None => Filter::All,
            Some(ApiKeyState::Revoked) => Filter::exists("revoked_at"),
            Some(ApiKeyState::Expired) => {
                Filter::missing("revoked_at").and(Filter::lte("expires_at", now))
            }
            Some(ApiKeyState::Active) => Filter::missing("revoked_at")
                .and(Filter::missing("expires_at").or(Filter::gt("expires_at", now))),
        };
        Ok(self
            .api_keys
            .page(filter, &[("created_at", SortOrder::Desc)], page)
            .await?
            .map(|k| view(&k, now)))
    }

    /// Revokes a key: its next request is refused. Revoking twice changes nothing.
    pub async fn revoke_api_key(
        &self,
        actor: &Principal,
        id: ApiKeyId,
    ) -> Result<Audited<ApiKeyView>, AuthError> {
        let now = self.clock.now();
        let before = self
            .api_keys
            .get(&id.to_string())
            .await?
            .ok_or_else(not_found("API key"))?;
        let after = match self
            .api_keys
            .update(
                &id.to_string(),
                Filter::missing("revoked_at"),
                &[
                    Update::set("revoked_at", now),
                    Update::set("revoked_by_username", actor.username.as_str()),
                ],
            )
            .await?
        {
            Some(after) => after,
            None => before.clone(),
        };
        self.key_limiter.forget(&id.to_string());
        Ok(Audited::new(
            view(&after, now),
            Change::new("api_key", id)
                .before(&view(&before, now))
                .after(&view(&after, now)),
        ))
    }

    /// The principal a request with `key` acts as: its creator, limited to the key's
    /// permissions they still hold. Refuses revoked, expired and unknown keys, addresses
    /// outside the key's list, and requests beyond its rate.
    pub async fn authenticate_api_key(
        &self,
        key: &str,
        client: ClientInfo,
    ) -> Result<Principal, AuthError> {
        let now = self.clock.now();
        let id = key
            .strip_prefix(API_KEY_PREFIX)
            .and_then(|rest| rest.split_once('_'))
            .and_then(|(id, _)| id.parse::<ApiKeyId>().ok())
            .ok_or(KEY_REFUSED)?;
        let record = self
            .api_keys
            .get(&id.to_string())
            .await?
            .filter(|k| same_digest(&k.secret_hash, &refresh_token_hash(key)))
            .ok_or(KEY_REFUSED)?;
        match state_of(&record, now) {
            ApiKeyState::Active => {}
            ApiKeyState::Revoked => return Err(AuthError::Unauthenticated("API key revoked")),
            ApiKeyState::Expired => return Err(AuthError::Unauthenticated("API key expired")),
        }
        if !record.allowed_addresses.is_empty() {
            let networks = parse_networks(&record.allowed_addresses)?;
            let allowed = client
                .ip
                .as_deref()
                .and_then(|ip| ip.parse::<IpAddr>().ok())
                .is_some_and(|ip| networks.iter().any(|net| net.contains(&ip)));
            if !allowed {
                return Err(AuthError::Unauthenticated(
                    "API key not allowed from this address",
                ));
            }
        }
        self.key_limiter
            .check(&id.to_string(), record.rate_per_minute)
            .map_err(|retry_after_seconds| AuthError::KeyRateLimited {
                retry_after_seconds,
            })?;
        let creator = self
            .users
            .get(&record.created_by.to_string())
            .await?
            .filter(|u| u.enabled)
            .ok_or(AuthError::Unauthenticated(
                "the API key's creator is disabled or removed",
            ))?;
        let roles = self.roles_of(&creator).await?;
        let super_admin = roles.iter().any(|r| r.code == SUPER_ADMIN);
        let held: BTreeSet<String> = roles.into_iter().flat_map(|r| r.permissions).collect();
        let permissions = record
            .permissions
            .iter()
            .filter(|code| super_admin || held.contains(*code))
            .cloned()
            .collect();
        let stale = record
            .last_used_at
            .is_none_or(|at| now.since(at) >= TimeDelta::seconds(60));
        if stale {
            let touched = self
                .api_keys
                .update(
                    &id.to_string(),
                    Filter::missing("revoked_at"),
                    &[
                        Update::set("last_used_at", now),
                        Update::set("last_used_ip", client.ip.clone()),
                    ],
                )
                .await;
            if let Err(error) = touched {
                tracing::warn!(%error, "API key last use not recorded");
            }
        }
        Ok(Principal {
            user_id: creator.id,
            username: creator.username,
            session_id: None,
            api_key: Some(id),
            super_admin: false,
            permissions,
            must_change_password: false,
            client,
        })
    }
}
