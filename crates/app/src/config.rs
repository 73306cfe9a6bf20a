//! Configuration: built-in defaults (the embedded mode) < TOML file (`--config`) <
//! environment (`TOPUP_SECTION__KEY`) < command-line flags. Invalid values stop the start
//! with a message naming the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use topup_store::SqliteOptions;

use crate::AppError;

/// Top-level keys that environment variables may set; other `TOPUP_*` variables (such as the
/// test suite's) are not configuration.
const ENV_SECTIONS: &[&str] = &[
    "mode",
    "data_dir",
    "server",
    "store",
    "log",
    "wechat",
    "wechat_pay",
    "recharge",
    "catalog",
    "auth",
    "orders",
    "app",
    "payment",
    "notify",
    "sandbox",
    "web",
    "site",
    "blacklist",
    "official_account",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Zero setup: SQLite under the data dir, sandbox integrations, generated secrets.
    Embedded,
    /// Real integrations only; refuses sandbox endpoints and generated defaults.
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// HTTP worker threads; default one per core.
    pub workers: Option<usize>,
    /// Largest JSON request body in bytes.
    pub max_json_bytes: usize,
    /// Seconds in-flight requests get to finish on SIGINT/SIGTERM.
    pub shutdown_timeout_seconds: u64,
    /// How the outside world reaches this server (WeChat Pay notify URLs); default
    /// `http://<listen address>`.
    pub public_url: Option<String>,
    /// Embedded mode only: listen on a non-loopback address although anyone who reaches it
    /// can sign in as any user and "pay" through the sandbox (`docs/security.md#embedded-mode`).
    #[serde(default)]
    pub allow_public_embedded: bool,
    /// Reverse proxies (CIDRs or addresses) whose `X-Forwarded-For` names the client. Empty:
    /// the TCP peer is the client (`docs/security.md#client-addresses`).
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// `sqlite://PATH` or `mongodb://HOST/DB`; empty means `sqlite://<data_dir>/topup.db`.
    pub url: String,
    /// SQLite only: each reading connection's page cache in MiB (the writer's is twice it):
    /// the store's share of the memory once the database outgrows it
    /// (docs/operations.md#memory).
    #[serde(default = "default_sqlite_cache_mib")]
    pub sqlite_cache_mib: u32,
}

fn default_sqlite_cache_mib() -> u32 {
    SqliteOptions::DEFAULT_CACHE_MIB
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `topup=debug,actix_web=info`; `RUST_LOG` wins.
    pub level: String,
}

/// Embedded mode only: whose sandboxes stand in for WeChat and the provider.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxSection {
    /// Base URL of another embedded `topup serve` (e.g. `http://127.0.0.1:8080`) whose
    /// `/sandbox/*` this process uses instead of mounting its own. Several processes then
    /// share one outside world that outlives any of them (crash tests, several processes on
    /// one database). Unset: this process serves its own sandboxes.
    pub external_url: Option<String>,
    /// With `external_url`: the directory holding that process's
    /// `wechat_pay_sandbox_keys.json` (its `<data_dir>/secrets`), the merchant keys its
    /// WeChat Pay sandbox knows. Read only; never generated here.
    pub keys_dir: Option<PathBuf>,
    /// How long the in-process provider sandbox takes to answer each top-up (ms), as a real
    /// provider's synchronous top-up does (Reloadly: usually 1–3 s). 0 answers at once.
    pub provider_latency_ms: u64,
    /// Share (0-100) of payment and refund notifications the in-process WeChat Pay sandbox
    /// sends twice, as WeChat may: fault tests turn it up.
    pub duplicate_percent: u8,
    /// How far the in-process sandboxes' clock runs ahead of this process's (negative:
    /// behind), within WeChat's 5-minute window for signed timestamps: fault tests skew it.
    pub clock_skew_secs: i64,
}

/// Where the front ends come from. Unset: the copies built into the binary
/// (`docs/front-ends.md`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebSection {
    /// Serve the admin console from this folder (a `vite build` output) instead.
    pub admin_dir: Option<PathBuf>,
    /// Serve the H5 client (embedded mode, at `/h5/`) from this folder instead.
    pub h5_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifySection {
    /// Whether this process delivers queued messages. Off for a process that only serves the
    /// API while another on the same store delivers; messages wait for it, never lost.
    pub run_worker: bool,
    /// At most this many messages a second from this process (0: no limit), so that a burst
    /// of queued messages leaves checkouts their share of the machine.
    pub max_messages_per_second: u32,
}

impl Default for NotifySection {
    fn default() -> Self {
        NotifySection {
            run_worker: true,
            max_messages_per_second: 1_000,
        }
    }
}

/// The blacklist's automatic rule (`docs/settings.md`); staff may change it in the console.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlacklistSection {
    /// A number whose top-ups failed and were refunded this many times within 24 hours is
    /// blacklisted automatically; 0 turns the rule off.
    pub failed_topups_to_block: u32,
    /// How long such an automatic entry lasts.
    pub auto_block_days: u32,
}

impl Default for BlacklistSection {
    fn default() -> Self {
        BlacklistSection {
            failed_topups_to_block: 0,
            auto_block_days: 30,
        }
    }
}

/// The shop's official account (公众号), through which staff get alerts on WeChat
/// (`docs/notifications.md#staff-alerts`); staff may set every key in the console's settings
/// unless set here. An empty `app_id` turns alerts off.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OfficialAccountSection {
    pub app_id: String,
    pub app_secret: topup_core::Secret<String>,
    /// The template staff alerts are sent with (keys `thing1`, `character_string2`, `time3`).
    pub alert_template_id: String,
    /// The openids of the staff who receive alerts, separated by commas or whitespace.
    pub alert_openids: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiteSection {
    /// Shown in the console's title bar and sign-in page.
    pub name: String,
    /// The console's logo: an http(s) address or a path; empty for none.
    pub logo_url: String,
    /// The console's primary colour, `#rrggbb`.
    pub theme_colour: String,
}

impl Default for SiteSection {
    fn default() -> Self {
        SiteSection {
            name: "Topup".into(),
            logo_url: String::new(),
            theme_colour: "#07c160".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub mode: Mode,
    /// Where the embedded database and generated secrets live.
    pub data_dir: PathBuf,
    pub server: ServerSection,
    pub store: StoreSection,
    pub log: LogSection,
    /// The mini-program's server-API credentials (ignored in the embedded mode).
    #[serde(default, skip_serializing)]
    pub wechat: WechatSection,
    /// WeChat Pay merchant settings (ignored in the embedded mode, which generates its own).
    #[serde(default, skip_serializing)]
    pub wechat_pay: Option<topup_payment::WechatPayConfig>,
    /// Top-up providers; empty in the embedded mode means the in-process sandbox.
    #[serde(default, skip_serializing)]
    pub recharge: topup_recharge::ProvidersConfig,
    /// FX rates, pricing seeds, sync schedule, cache lifetimes.
    #[serde(default)]
    pub catalog: topup_catalog::CatalogConfig,
    /// Staff sign-in, sessions, lockout, password policy and audit logs.
    #[serde(default)]
    pub auth: topup_auth::AuthConfig,
    /// Payment timeout, per-number limits, recharge retries and the order worker.
    #[serde(default)]
    pub orders: topup_orders::OrdersConfig,
    /// Mini-program users: app token lifetime, login rate limit, visitor-day offset.
    #[serde(default)]
    pub app: topup_auth::AppUserConfig,
    /// Payment expiry, refund retries and the payment sync job.
    #[serde(default)]
    pub payment: topup_payment::PaymentSettings,
    /// Which process sends the mini-program's subscribe messages.
    #[serde(default)]
    pub notify: NotifySection,
    /// The product's name, logo and colour in the console (staff can change them in the
    /// console's settings unless set here).
    #[serde(default)]
    pub site: SiteSection,
    /// The blacklist's automatic rule (the console's settings unless set here).
    #[serde(default)]
    pub blacklist: BlacklistSection,
    /// The official account staff alerts go through (the console's settings unless set here).
    #[serde(default, skip_serializing)]
    pub official_account: OfficialAccountSection,
    /// Keys of the console's settings that the configuration file or the environment set
    /// (they win; staff cannot change them). Filled in by [`Config::load`].
    #[serde(skip)]
    pub fixed_settings: std::collections::BTreeMap<String, topup_settings::FixedBy>,
    /// Embedded mode: use another process's sandboxes.
    #[serde(default)]
    pub sandbox: SandboxSection,
    /// The admin console and the H5 client.
    #[serde(default)]
    pub web: WebSection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WechatSection {
    #[serde(default)]
    pub app_id: String,
    #[serde(default)]
    pub app_secret: topup_core::Secret<String>,
    #[serde(default = "default_wechat_api")]
    pub api_base_url: String,
}

fn default_wechat_api() -> String {
    "https://api.weixin.qq.com".to_owned()
}

impl Default for WechatSection {
    fn default() -> Self {
        WechatSection {
            app_id: String::new(),
            app_secret: topup_core::Secret::default(),
            api_base_url: default_wechat_api(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: Mode::Embedded,
            data_dir: PathBuf::from("./data"),
            server: ServerSection {
                listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
                workers: None,
                max_json_bytes: 64 * 1024,
                shutdown_timeout_seconds: 30,
                public_url: None,
                allow_public_embedded: false,
                trusted_proxies: Vec::new(),
            },
            store: StoreSection {
                url: String::new(),
                sqlite_cache_mib: default_sqlite_cache_mib(),
            },
            log: LogSection {
                format: LogFormat::Pretty,
                level: "info".into(),
            },
            wechat: WechatSection::default(),
            wechat_pay: None,
            recharge: topup_recharge::ProvidersConfig::default(),
            catalog: topup_catalog::CatalogConfig::default(),
            orders: topup_orders::OrdersConfig::default(),
            auth: topup_auth::AuthConfig::default(),
            app: topup_auth::AppUserConfig::default(),
            payment: topup_payment::PaymentSettings::default(),
            notify: NotifySection::default(),
            sandbox: SandboxSection::default(),
            web: WebSection::default(),
            site: SiteSection::default(),
            blacklist: BlacklistSection::default(),
            official_account: OfficialAccountSection::default(),
            fixed_settings: std::collections::BTreeMap::new(),
        }
    }
}

/// Command-line values that override everything else.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
}

/// Where the store lives, decided from `store.url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    Sqlite(PathBuf),
    Mongo(String),
}

/// Which settings keys the configuration fixes: set by the environment or the file, or, in
/// the embedded mode, the mini-program's and the merchant's (its WeChat is the sandbox, and
/// it never touches real money).
fn fixed_settings(
    mode: Mode,
    file: Option<&Figment>,
    env: &Figment,
) -> std::collections::BTreeMap<String, topup_settings::FixedBy> {
    use topup_settings::FixedBy;
    let mut fixed = std::collections::BTreeMap::new();
    for def in topup_settings::SETTINGS {
        let by = if mode == Mode::Embedded && matches!(def.group, "mini_program" | "payment") {
            Some(FixedBy::Embedded)
        } else if env.contains(&def.config_path) {
            Some(FixedBy::Environment)
        } else if file.is_some_and(|file| file.contains(&def.config_path)) {
            Some(FixedBy::ConfigFile)
        } else {
            None
        };
        if let Some(by) = by {
            fixed.insert(def.path(), by);
        }
    }
    fixed
}

impl Config {
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, AppError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.is_file() {
                return Err(AppError::Config(format!(
                    "config file {} does not exist",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file(file));
        }
        let env = Env::prefixed("TOPUP_").split("__").filter(|key| {
            let key = key.as_str().to_ascii_lowercase();
            ENV_SECTIONS.iter().any(|section| {
                key == *section
                    || key.starts_with(&format!("{section}."))
                    || key.starts_with(&format!("{section}__"))
            })
        });
        let from_file = file.map(|file| Figment::from(Toml::file(file)));
        let from_env = Figment::from(env.clone());
        figment = figment.merge(env);
        if let Some(dir) = &overrides.data_dir {
            figment = figment.merge(Serialized::default("data_dir", dir));
        }
        if let Some(listen) = &overrides.listen {
            figment = figment.merge(Serialized::default("server.listen", listen));
        }
        if let Some(format) = &overrides.log_format {
            figment = figment.merge(Serialized::default("log.format", format));
        }
        let mut config: Config = figment
            .extract()
            .map_err(|error| AppError::Config(describe(error)))?;
        config.validate()?;
        config.fixed_settings = fixed_settings(config.mode, from_file.as_ref(), &from_env);
        Ok(config)
    }

    fn validate(&self) -> Result<(), AppError> {
        self.store_location()?;
        self.catalog
            .validate()
            .map_err(|e| AppError::Config(e.to_string()))?;
        if self.server.max_json_bytes < 1024 {
            return Err(AppError::Config(
                "server.max_json_bytes: must be at least 1024".into(),
            ));
        }
        if !(1..=100).contains(&self.recharge.circuit_breaker.failure_rate_percent) {
            return Err(AppError::Config(
                "recharge.circuit_breaker.failure_rate_percent: must be from 1 to 100".into(),
            ));
        }
        if self.server.workers == Some(0) {
            return Err(AppError::Config(
                "server.workers: must be at least 1".into(),
            ));
        }
        if !(1..=4096).contains(&self.store.sqlite_cache_mib) {
            return Err(AppError::Config(
                "store.sqlite_cache_mib: must be from 1 to 4096".into(),
            ));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| AppError::Config(format!("log.level: {e}")))?;
        self.auth.validate().map_err(AppError::Config)?;
        self.app.validate().map_err(AppError::Config)?;
        self.payment.validate().map_err(AppError::Config)?;
        topup_api::TrustedProxies::parse(&self.server.trusted_proxies)
            .map_err(|e| AppError::Config(format!("server.trusted_proxies{e}")))?;
        self.validate_sandbox()?;
        self.validate_embedded()?;
        topup_notify::alerts::parse_openids(&self.official_account.alert_openids)
            .map_err(|e| AppError::Config(format!("official_account.alert_openids: {e}")))?;
        for (key, value, max) in [
            ("official_account.app_id", &self.official_account.app_id, 64),
            (
                "official_account.alert_template_id",
                &self.official_account.alert_template_id,
                64,
            ),
        ] {
            if value.trim().chars().count() > max {
                return Err(AppError::Config(format!("{key}: at most {max} characters")));
            }
        }
        Ok(())
    }

    /// The embedded mode pays only through its sandbox, so it also logs in and recharges only
    /// through a sandbox, and stays on this machine unless told otherwise
    /// (`docs/security.md#embedded-mode`). Production endpoints are refused by key.
    fn validate_embedded(&self) -> Result<(), AppError> {
        if self.mode != Mode::Embedded {
            return Ok(());
        }
        let production_hint = "set mode = \"production\" to use real services";
        if self.wechat_pay.is_some() {
            return Err(AppError::Config(format!(
                "wechat_pay: the embedded mode pays only through its sandbox; {production_hint}"
            )));
        }
        let wechat = &self.wechat;
        for (key, configured) in [
            ("wechat.app_id", !wechat.app_id.is_empty()),
            ("wechat.app_secret", !wechat.app_secret.expose().is_empty()),
            (
                "official_account.app_id",
                !self.official_account.app_id.is_empty(),
            ),
            (
                "official_account.app_secret",
                !self.official_account.app_secret.expose().is_empty(),
            ),
            (
                "wechat.api_base_url",
                wechat.api_base_url != default_wechat_api(),
            ),
        ] {
            if configured {
                return Err(AppError::Config(format!(
                    "{key}: the embedded mode reaches WeChat only through its sandbox; {production_hint}"
                )));
            }
        }
        for (index, provider) in self.recharge.providers.iter().enumerate() {
            for (field, url) in [
                ("auth_url", &provider.auth_url),
                ("api_url", &provider.api_url),
            ] {
                if !is_local_sandbox(url) {
                    return Err(AppError::Config(format!(
                        "recharge.providers[{index}].{field}: the embedded mode recharges only \
                         through a sandbox on this machine (http://127.0.0.1:PORT/sandbox/...), \
                         not {url:?}; {production_hint}"
                    )));
                }
            }
        }
        let listen = self.server.listen;
        if !listen.ip().is_loopback() && !self.server.allow_public_embedded {
            return Err(AppError::Config(format!(
                "server.listen: the embedded mode lets anyone who reaches it sign in as any \
                 user and pay through the sandbox, so it listens on a loopback address; set \
                 server.allow_public_embedded = true to listen on {listen} anyway"
            )));
        }
        Ok(())
    }

    /// Embedded mode on a non-loopback address (allowed by `server.allow_public_embedded`).
    pub fn embedded_in_public(&self) -> bool {
        self.mode == Mode::Embedded && !self.server.listen.ip().is_loopback()
    }

    fn validate_sandbox(&self) -> Result<(), AppError> {
        if self.sandbox.clock_skew_secs.abs() > 3600 {
            return Err(AppError::Config(
                "sandbox.clock_skew_secs: at most an hour either way".into(),
            ));
        }
        if self.sandbox.duplicate_percent > 100 {
            return Err(AppError::Config(
                "sandbox.duplicate_percent: at most 100".into(),
            ));
        }
        let Some(url) = &self.sandbox.external_url else {
            if self.sandbox.keys_dir.is_some() {
                return Err(AppError::Config(
                    "sandbox.keys_dir: only meaningful with sandbox.external_url".into(),
                ));
            }
            return Ok(());
        };
        if self.mode != Mode::Embedded {
            return Err(AppError::Config(
                "sandbox.external_url: only the embedded mode uses a sandbox".into(),
            ));
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(AppError::Config(
                "sandbox.external_url: must be an http:// or https:// base URL".into(),
            ));
        }
        if self.sandbox.keys_dir.is_none() {
            return Err(AppError::Config(
                "sandbox.keys_dir: required with sandbox.external_url (the other process's secrets directory)".into(),
            ));
        }
        Ok(())
    }

    pub fn store_location(&self) -> Result<StoreLocation, AppError> {
        let url = self.store.url.trim();
        if url.is_empty() {
            return Ok(StoreLocation::Sqlite(self.data_dir.join("topup.db")));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(AppError::Config(
                    "store.url: sqlite:// needs a file path, e.g. sqlite://./data/topup.db".into(),
                ));
            }
            return Ok(StoreLocation::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("mongodb://") {
            return Ok(StoreLocation::Mongo(url.to_owned()));
        }
        Err(AppError::Config(
            "store.url: must start with sqlite:// or mongodb://".into(),
        ))
    }
}

/// A URL under `/sandbox/` on a loopback host: this process's sandbox or another embedded
/// process's on the same machine.
fn is_local_sandbox(text: &str) -> bool {
    let Ok(url) = url::Url::parse(text) else {
        return false;
    };
    let local = match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    local && matches!(url.scheme(), "http" | "https") && url.path().starts_with("/sandbox/")
}

/// Figment's message, prefixed with the key path when it knows it.
fn describe(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            if key.is_empty() {
                e.to_string()
            } else {
                format!("{key}: {}", e.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return its error type
mod tests {
    use super::*;

    #[test]
    fn defaults_give_the_embedded_mode() {
        figment::Jail::expect_with(|_| {
            let config = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(config.mode, Mode::Embedded);
            assert_eq!(
                config.store_location().unwrap(),
                StoreLocation::Sqlite(PathBuf::from("./data/topup.db"))
            );
            assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
            Ok(())
        });
    }

    #[test]
    fn file_then_environment_then_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "topup.toml",
                "data_dir = \"/srv/topup\"\n[server]\nlisten = \"0.0.0.0:9000\"\nallow_public_embedded = true\n[store]\nurl = \"mongodb://db:27017/topup\"\n",
            )?;
            jail.set_env("TOPUP_SERVER__LISTEN", "0.0.0.0:9100");
            jail.set_env("TOPUP_TEST_MONGODB_URI", "ignored: not configuration");
            jail.set_env("TOPUP_NOTIFY__RUN_WORKER", "false");
            let config =
                Config::load(Some(Path::new("topup.toml")), &Overrides::default()).unwrap();
            assert_eq!(config.server.listen.to_string(), "0.0.0.0:9100");
            assert!(!config.notify.run_worker);
            assert_eq!(config.data_dir, PathBuf::from("/srv/topup"));
            assert_eq!(
                config.store_location().unwrap(),
                StoreLocation::Mongo("mongodb://db:27017/topup".into())
            );
            let flags = Overrides {
                listen: Some("127.0.0.1:0".into()),
                ..Overrides::default()
            };
            let config = Config::load(Some(Path::new("topup.toml")), &flags).unwrap();
            assert_eq!(config.server.listen.to_string(), "127.0.0.1:0");
            Ok(())
        });
    }

    #[test]
    fn a_breaker_rate_outside_one_to_a_hundred_is_refused_by_key() {
        figment::Jail::expect_with(|jail| {
            for bad in ["0", "101"] {
                jail.set_env("TOPUP_RECHARGE__CIRCUIT_BREAKER__FAILURE_RATE_PERCENT", bad);
                let error = Config::load(None, &Overrides::default())
                    .unwrap_err()
                    .to_string();
                assert!(
                    error.contains("recharge.circuit_breaker.failure_rate_percent"),
                    "{error}"
                );
            }
            jail.set_env(
                "TOPUP_RECHARGE__CIRCUIT_BREAKER__FAILURE_RATE_PERCENT",
                "50",
            );
            let config = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(
                config
                    .recharge
                    .circuit_breaker
                    .policy()
                    .failure_rate_percent,
                50
            );
            Ok(())
        });
    }

    #[test]
    fn the_sqlite_cache_is_four_mib_unless_set_and_zero_is_refused_by_key() {
        figment::Jail::expect_with(|jail| {
            let config = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(config.store.sqlite_cache_mib, 4);
            jail.set_env("TOPUP_STORE__SQLITE_CACHE_MIB", "0");
            let error = Config::load(None, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(error.contains("store.sqlite_cache_mib"), "{error}");
            jail.set_env("TOPUP_STORE__SQLITE_CACHE_MIB", "16");
            let config = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(config.store.sqlite_cache_mib, 16);
            Ok(())
        });
    }

    /// The embedded mode's sandbox payments must never meet a real provider or WeChat, nor
    /// strangers (`docs/security.md#embedded-mode`).
    #[test]
    fn the_embedded_mode_refuses_real_endpoints_and_public_addresses() {
        figment::Jail::expect_with(|jail| {
            let refused = |toml: &str| -> String {
                std::fs::write("refused.toml", toml).unwrap();
                Config::load(Some(Path::new("refused.toml")), &Overrides::default())
                    .unwrap_err()
                    .to_string()
            };
            let reloadly = "[[recharge.providers]]\nid = \"reloadly\"\nkind = \"reloadly\"\n\
                client_id = \"id\"\nclient_secret = \"secret\"\n\
                auth_url = \"https://auth.reloadly.com/oauth/token\"\n\
                api_url = \"https://topups.reloadly.com\"\n";
            let error = refused(reloadly);
            assert!(error.contains("recharge.providers[0].auth_url"), "{error}");
            assert!(!error.contains("secret"), "{error}");
            let sandbox_elsewhere = reloadly
                .replace(
                    "https://auth.reloadly.com/oauth/token",
                    "http://127.0.0.1:9/sandbox/reloadly/auth",
                )
                .replace(
                    "https://topups.reloadly.com",
                    "http://10.0.0.8/sandbox/reloadly/topups",
                );
            let error = refused(&sandbox_elsewhere);
            assert!(error.contains("recharge.providers[0].api_url"), "{error}");
            let local = sandbox_elsewhere.replace("10.0.0.8", "localhost:9");
            std::fs::write("local.toml", &local).unwrap();
            Config::load(Some(Path::new("local.toml")), &Overrides::default()).unwrap();

            let error = refused("[wechat]\napp_id = \"wx1234567890abcdef\"\n");
            assert!(error.contains("wechat.app_id"), "{error}");
            let error = refused(
                "[wechat_pay]\nmchid = \"1900000001\"\nappid = \"wx1234567890abcdef\"\n\
                 merchant_serial_no = \"5157F09EFDC096DE15EBE81A47057A7232F1B8E1\"\n\
                 merchant_private_key = { file = \"/etc/topup/apiclient_key.pem\" }\n\
                 apiv3_key = \"0123456789abcdef0123456789abcdef\"\n\
                 notify_url = \"https://shop.example.com/api/v1/pay/wechat/notify\"\n\
                 refund_notify_url = \"https://shop.example.com/api/v1/pay/wechat/refund-notify\"\n",
            );
            assert!(
                error.contains("wechat_pay: the embedded mode pays"),
                "{error}"
            );
            assert!(!error.contains("0123456789abcdef"), "{error}");

            let public = Overrides {
                listen: Some("0.0.0.0:8080".into()),
                ..Overrides::default()
            };
            let error = Config::load(None, &public).unwrap_err().to_string();
            assert!(error.contains("server.listen"), "{error}");
            assert!(error.contains("allow_public_embedded"), "{error}");
            jail.set_env("TOPUP_SERVER__ALLOW_PUBLIC_EMBEDDED", "true");
            let config = Config::load(None, &public).unwrap();
            assert!(config.embedded_in_public());
            Ok(())
        });
    }

    #[test]
    fn catalog_settings_from_file_and_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "topup.toml",
                "[catalog]\nfx_to_cny = { USD = \"7.25\", EUR = \"7.80\" }\nprice_step_fen = 100\n",
            )?;
            jail.set_env("TOPUP_CATALOG__MARKUP", "0.12");
            jail.set_env("TOPUP_CATALOG__FX_TO_CNY__GBP", "9.10");
            let config =
                Config::load(Some(Path::new("topup.toml")), &Overrides::default()).unwrap();
            assert_eq!(config.catalog.fx_to_cny["USD"].to_string(), "7.25");
            assert_eq!(config.catalog.fx_to_cny["EUR"].to_string(), "7.80");
            assert_eq!(config.catalog.price_step_fen, 100);
            assert!(
                config.catalog.validate().is_ok(),
                "env keys arrive lower-cased"
            );
            assert_eq!(config.catalog.markup.to_string(), "0.12");
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.set_env("TOPUP_CATALOG__FX_TO_CNY__DOLLAR", "7");
            let error = Config::load(None, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(error.contains("catalog.fx_to_cny"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn auth_section_has_defaults_and_takes_overrides() {
        figment::Jail::expect_with(|jail| {
            let config = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(config.auth, topup_auth::AuthConfig::default());
            jail.create_file("topup.toml", "[auth]\nlockout_threshold = 3\n")?;
            jail.set_env("TOPUP_AUTH__ACCESS_TOKEN_TTL_MINUTES", "10");
            let config =
                Config::load(Some(Path::new("topup.toml")), &Overrides::default()).unwrap();
            assert_eq!(config.auth.lockout_threshold, 3);
            assert_eq!(config.auth.access_token_ttl_minutes, 10);
            assert_eq!(config.auth.log_retention_days, 90);
            jail.set_env("TOPUP_AUTH__ACCESS_LOG_SAMPLE_RATE", "2.5");
            let error = Config::load(None, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(error.contains("auth.access_log_sample_rate"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn app_section_has_defaults_and_takes_overrides() {
        figment::Jail::expect_with(|jail| {
            let config = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(config.app, topup_auth::AppUserConfig::default());
            assert_eq!(config.app.token_ttl_minutes, 7 * 24 * 60);
            jail.create_file("topup.toml", "[app]\nlogin_rate_per_minute = 5\n")?;
            jail.set_env("TOPUP_APP__VISITOR_DAY_UTC_OFFSET_MINUTES", "0");
            let config =
                Config::load(Some(Path::new("topup.toml")), &Overrides::default()).unwrap();
            assert_eq!(config.app.login_rate_per_minute, 5);
            assert_eq!(config.app.visitor_day_utc_offset_minutes, 0);
            jail.set_env("TOPUP_APP__TOKEN_TTL_MINUTES", "0");
            let error = Config::load(None, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(error.contains("app.token_ttl_minutes"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn payment_section_has_defaults_and_takes_overrides() {
        figment::Jail::expect_with(|jail| {
            let config = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(config.payment, topup_payment::PaymentSettings::default());
            jail.create_file("topup.toml", "[payment]\nsync_period_secs = 5\n")?;
            jail.set_env("TOPUP_PAYMENT__PAYMENT_TTL_SECS", "600");
            let config =
                Config::load(Some(Path::new("topup.toml")), &Overrides::default()).unwrap();
            assert_eq!(config.payment.sync_period_secs, 5);
            assert_eq!(config.payment.payment_ttl_secs, 600);
            assert_eq!(config.payment.query_unpaid_after_secs, 120);
            jail.set_env("TOPUP_PAYMENT__PAYMENT_TTL_SECS", "30");
            let error = Config::load(None, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(error.contains("payment.payment_ttl_secs"), "{error}");
            jail.set_env("TOPUP_PAYMENT__PAYMENT_TTL_SECS", "600");
            jail.create_file("bad.toml", "[payment]\nsync_every = 5\n")?;
            let error = Config::load(Some(Path::new("bad.toml")), &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(error.contains("sync_every"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn an_external_sandbox_needs_its_keys_and_the_embedded_mode() {
        figment::Jail::expect_with(|jail| {
            let config = Config::load(None, &Overrides::default()).unwrap();
            assert!(config.sandbox.external_url.is_none());
            jail.set_env("TOPUP_SANDBOX__EXTERNAL_URL", "http://127.0.0.1:9000");
            let error = Config::load(None, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(error.contains("sandbox.keys_dir"), "{error}");
            jail.set_env("TOPUP_SANDBOX__KEYS_DIR", "/srv/sandbox/secrets");
            let config = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(
                config.sandbox.external_url.as_deref(),
                Some("http://127.0.0.1:9000")
            );
            assert_eq!(
                config.sandbox.keys_dir,
                Some(PathBuf::from("/srv/sandbox/secrets"))
            );
            jail.set_env("TOPUP_MODE", "production");
            let error = Config::load(None, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(error.contains("sandbox.external_url"), "{error}");
            jail.set_env("TOPUP_MODE", "embedded");
            jail.set_env("TOPUP_SANDBOX__EXTERNAL_URL", "127.0.0.1:9000");
            let error = Config::load(None, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(error.contains("sandbox.external_url"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn invalid_values_name_their_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("TOPUP_SERVER__LISTEN", "not-an-address");
            let error = Config::load(None, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(error.contains("server.listen"), "{error}");
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.set_env("TOPUP_STORE__URL", "postgres://x");
            let error = Config::load(None, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(error.contains("store.url"), "{error}");
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "[server]\nlisten_port = 5\n")?;
            let error = Config::load(Some(Path::new("bad.toml")), &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(error.contains("listen_port"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn settings_keys_the_file_or_environment_set_are_fixed() {
        use topup_settings::FixedBy;
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "topup.toml",
                "[orders]\npay_timeout_minutes = 20\n[site]\nname = \"Shop\"\n",
            )?;
            jail.set_env("TOPUP_ORDERS__MAX_UNPAID_ORDERS_PER_USER", "5");
            let config =
                Config::load(Some(Path::new("topup.toml")), &Overrides::default()).unwrap();
            let fixed = |path: &str| config.fixed_settings.get(path).copied();
            assert_eq!(
                fixed("orders.pay_timeout_minutes"),
                Some(FixedBy::ConfigFile)
            );
            assert_eq!(
                fixed("orders.max_unpaid_orders_per_user"),
                Some(FixedBy::Environment)
            );
            assert_eq!(fixed("site.name"), Some(FixedBy::ConfigFile));
            assert_eq!(fixed("mini_program.app_secret"), Some(FixedBy::Embedded));
            assert_eq!(fixed("orders.max_orders_per_number_per_day"), None);
            assert_eq!(fixed("site.theme_colour"), None);
            assert_eq!(
                (config.site.name.as_str(), config.site.theme_colour.as_str()),
                ("Shop", "#07c160")
            );
            Ok(())
        });
    }
}
