//! Provider accounts from configuration, and the builder that turns them into providers and a
//! router.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use serde::Deserialize;
use topup_core::{CountryCode, Secret, SharedClock};

use crate::router::{BreakerPolicy, ProviderRouter, RouteEntry};
use crate::{ProviderId, RechargeError, RechargeProvider, ReloadlyConfig, ReloadlyProvider};

/// `[recharge]` in the server configuration.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProvidersConfig {
    #[serde(default)]
    pub providers: Vec<ProviderConfig>,
    #[serde(default)]
    pub circuit_breaker: CircuitBreakerConfig,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct CircuitBreakerConfig {
    /// Failures that open a provider's circuit when they are also `failure_rate_percent` of
    /// its recent results.
    #[serde(default = "default_failure_threshold")]
    pub failure_threshold: u32,
    /// The share of the provider's last results (at most 20) that must have failed, 1–100
    /// (checked when the configuration loads).
    #[serde(default = "default_failure_rate_percent")]
    pub failure_rate_percent: u8,
    /// How long an open circuit skips the provider.
    #[serde(default = "default_cool_down_secs")]
    pub cool_down_secs: u64,
}

impl Default for CircuitBreakerConfig {
    fn default() -> Self {
        CircuitBreakerConfig {
            failure_threshold: default_failure_threshold(),
            failure_rate_percent: default_failure_rate_percent(),
            cool_down_secs: default_cool_down_secs(),
        }
    }
}

impl CircuitBreakerConfig {
    pub fn policy(&self) -> BreakerPolicy {
        BreakerPolicy {
            failure_threshold: self.failure_threshold.max(1),
            failure_rate_percent: self.failure_rate_percent.clamp(1, 100),
            cool_down: TimeDelta::seconds(i64::try_from(self.cool_down_secs).unwrap_or(i64::MAX)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Reloadly,
}

/// One provider account.
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderConfig {
    pub id: String,
    pub kind: ProviderKind,
    /// Empty when staff set it in the console instead (`docs/settings.md`); until then every
    /// call is refused by the provider's auth server.
    #[serde(default)]
    pub client_id: Secret<String>,
    #[serde(default)]
    pub client_secret: Secret<String>,
    #[serde(default = "default_auth_url")]
    pub auth_url: String,
    #[serde(default = "default_api_url")]
    pub api_url: String,
    /// The token `audience`; defaults to `api_url` (what Reloadly expects for its own hosts).
    #[serde(default)]
    pub audience: Option<String>,
    /// Lower is tried first.
    #[serde(default = "default_priority")]
    pub priority: u32,
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    #[serde(default = "default_read_timeout_ms")]
    pub read_timeout_ms: u64,
    /// A 429 resetting within this is waited out and retried once.
    #[serde(default = "default_max_rate_limit_wait_ms")]
    pub max_rate_limit_wait_ms: u64,
    /// Countries this account is used for; empty means all.
    #[serde(default)]
    pub countries: Vec<CountryCode>,
}

fn default_failure_threshold() -> u32 {
    3
}
fn default_failure_rate_percent() -> u8 {
    80
}
fn default_cool_down_secs() -> u64 {
    60
}
fn default_auth_url() -> String {
    "https://auth.reloadly.com".to_owned()
}
fn default_api_url() -> String {
    "https://topups.reloadly.com".to_owned()
}
fn default_priority() -> u32 {
    100
}
fn default_enabled() -> bool {
    true
}
fn default_connect_timeout_ms() -> u64 {
    3_000
}
fn default_read_timeout_ms() -> u64 {
    15_000
}
fn default_max_rate_limit_wait_ms() -> u64 {
    2_000
}

impl ProviderConfig {
    /// A Reloadly account with every optional setting at its default.
    pub fn reloadly(
        id: impl Into<String>,
        client_id: Secret<String>,
        client_secret: Secret<String>,
    ) -> Self {
        ProviderConfig {
            id: id.into(),
            kind: ProviderKind::Reloadly,
            client_id,
            client_secret,
            auth_url: default_auth_url(),
            api_url: default_api_url(),
            audience: None,
            priority: default_priority(),
            enabled: default_enabled(),
            connect_timeout_ms: default_connect_timeout_ms(),
            read_timeout_ms: default_read_timeout_ms(),
            max_rate_limit_wait_ms: default_max_rate_limit_wait_ms(),
            countries: Vec::new(),
        }
    }

    fn validate(&self) -> Result<(), RechargeError> {
        if self.id.trim().is_empty() {
            return Err(RechargeError::Config(
                "a provider has an empty id".to_owned(),
            ));
        }
        if self.read_timeout_ms == 0 || self.connect_timeout_ms == 0 {
            return Err(RechargeError::Config(format!(
                "provider {} needs non-zero timeouts",
                self.id
            )));
        }
        Ok(())
    }

    /// The provider this configuration describes.
    pub fn build(&self, clock: SharedClock) -> Result<Arc<dyn RechargeProvider>, RechargeError> {
        self.validate()?;
        match self.kind {
            ProviderKind::Reloadly => {
                let api_url = self.api_url.trim_end_matches('/').to_owned();
                let config = ReloadlyConfig {
                    id: ProviderId::new(self.id.trim()),
                    client_id: self.client_id.clone(),
                    client_secret: self.client_secret.clone(),
                    auth_url: self.auth_url.trim_end_matches('/').to_owned(),
                    audience: self.audience.clone().unwrap_or_else(|| api_url.clone()),
                    api_url,
                    connect_timeout: Duration::from_millis(self.connect_timeout_ms),
                    read_timeout: Duration::from_millis(self.read_timeout_ms),
                    max_rate_limit_wait: Duration::from_millis(self.max_rate_limit_wait_ms),
                };
                Ok(Arc::new(ReloadlyProvider::new(config, clock)?))
            }
        }
    }
}

impl ProvidersConfig {
    /// Builds every configured provider (disabled ones too, so their past transactions can
    /// still be looked up) and the router over them.
    pub fn build_router(&self, clock: SharedClock) -> Result<ProviderRouter, RechargeError> {
        let mut seen = HashSet::new();
        let mut entries = Vec::with_capacity(self.providers.len());
        for config in &self.providers {
            if !seen.insert(config.id.trim().to_owned()) {
                return Err(RechargeError::Config(format!(
                    "provider id {} is used twice",
                    config.id
                )));
            }
            entries.push(RouteEntry {
                provider: config.build(clock.clone())?,
                priority: config.priority,
                enabled: config.enabled,
                countries: config.countries.clone(),
            });
        }
        Ok(ProviderRouter::new(
            entries,
            self.circuit_breaker.policy(),
            clock,
        ))
    }
}
