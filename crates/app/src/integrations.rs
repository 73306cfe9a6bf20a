//! The outside world: WeChat (mini-program and Pay) and the top-up providers. In the embedded
//! mode every one of them is the in-process sandbox, mounted under `/sandbox/*` and reached
//! over real HTTP with real cryptography — or, with `sandbox.external_url`, another embedded
//! process's sandbox, which outlives this one; in production they come from configuration
//! and the sandbox is refused.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use topup_api::Mount;
use topup_core::{Decimal, OffsetClock, Secret, SharedClock};
use topup_payment::HttpSettings;
use topup_payment::{PemSource, WechatPayClient, WechatPayConfig};
use topup_recharge::{ProviderConfig, ProviderRouter, ProvidersConfig};
use topup_sandbox::reloadly::{ReloadlySandbox, ReloadlySandboxConfig};
use topup_sandbox::wechat_mp::{MiniProgramSandbox, MiniProgramSandboxConfig};
use topup_sandbox::wechat_pay::{SandboxKeySet, WechatPaySandbox};
use topup_wechat::{MiniProgramClient, MiniProgramConfig, OfficialAccountClient};

use crate::AppError;
use crate::config::{Config, Mode, SandboxSection};

/// The mini-program app the embedded sandbox recognises.
pub const SANDBOX_APP_ID: &str = "wx0000sandbox0000";
/// Its secret (the embedded sandbox is no secret).
pub const SANDBOX_APP_SECRET: &str = "sandbox-app-secret";
/// The official account (公众号) the embedded sandbox plays, for staff alerts.
pub const SANDBOX_OFFICIAL_ACCOUNT_APP_ID: &str = "wx0000sandboxoa00";
/// Its secret.
pub const SANDBOX_OFFICIAL_ACCOUNT_SECRET: &str = "sandbox-official-account-secret";
/// The merchant number the embedded WeChat Pay sandbox recognises.
pub const SANDBOX_MCHID: &str = "1900000109";
const SANDBOX_PROVIDER_CLIENT_ID: &str = "sandbox-client-id";
const SANDBOX_PROVIDER_CLIENT_SECRET: &str = "sandbox-client-secret";
const SANDBOX_PROVIDER_AUDIENCE: &str = "https://topups-sandbox.reloadly.com";

pub struct Integrations {
    /// Routes to serve beside the API (the sandboxes, in the embedded mode).
    pub mounts: Vec<Mount>,
    pub mini_program: Arc<MiniProgramClient>,
    /// The official account's client (staff alerts); its AppID may be empty (alerts off).
    pub official_account: Arc<OfficialAccountClient>,
    pub wechat_pay: Arc<WechatPayClient>,
    /// The merchant settings the client started with: the configuration's, the sandbox's,
    /// or, in production without `[wechat_pay]`, only where WeChat reaches us (staff set the
    /// merchant in the settings).
    pub wechat_pay_config: WechatPayConfig,
    pub recharge: Arc<ProviderRouter>,
    /// The provider accounts the router was built from (the sandbox's in the embedded mode).
    pub recharge_config: ProvidersConfig,
    /// The in-process sandboxes, when this process serves them.
    pub sandboxes: Option<Sandboxes>,
}

/// The in-process stand-ins for the outside world, for tests to inspect and steer.
#[derive(Clone)]
pub struct Sandboxes {
    pub mini_program: MiniProgramSandbox,
    /// Its notification loop runs with the other background work.
    pub wechat_pay: WechatPaySandbox,
    pub reloadly: ReloadlySandbox,
}

/// Adjustments of the in-process sandboxes and of our clients of them, for tests; every
/// `None` keeps the embedded default.
#[derive(Clone, Default)]
pub struct SandboxTuning {
    /// Fixed WeChat Pay keys instead of the ones generated into the data dir.
    pub keys: Option<SandboxKeySet>,
    /// How long the provider withholds a digit-5 answer (real time).
    pub provider_hang: Option<Duration>,
    /// Our provider client's read timeout.
    pub provider_read_timeout_ms: Option<u64>,
    /// How long after acceptance the WeChat Pay sandbox settles a refund (on the clock).
    pub refund_delay_secs: Option<u64>,
    /// Share of WeChat Pay notifications the sandbox sends twice.
    pub duplicate_percent: Option<u8>,
    /// Our WeChat Pay client's retries and timeouts.
    pub wechat_pay_http: Option<HttpSettings>,
    /// Where our mini-program client sends code2session (default: the mounted sandbox).
    pub mini_program_base_url: Option<String>,
}

fn config_error(key: &str, cause: impl std::fmt::Display) -> AppError {
    AppError::Config(format!("{key}: {cause}"))
}

/// `base_url` is where this server is reachable (notify URLs and the embedded sandboxes).
pub fn build(
    config: &Config,
    base_url: &str,
    clock: SharedClock,
    tuning: &SandboxTuning,
) -> Result<Integrations, AppError> {
    match config.mode {
        Mode::Embedded => embedded(config, base_url, clock, tuning),
        Mode::Production => production(config, clock),
    }
}

fn embedded(
    config: &Config,
    base_url: &str,
    clock: SharedClock,
    tuning: &SandboxTuning,
) -> Result<Integrations, AppError> {
    let external = config
        .sandbox
        .external_url
        .as_deref()
        .map(|url| url.trim_end_matches('/'));
    let (keys, mounts, sandboxes, sandbox_base) = match external {
        Some(url) => {
            // Another process plays the outside world: only its merchant keys are needed.
            let keys_dir = config.sandbox.keys_dir.as_ref().ok_or_else(|| {
                config_error("sandbox.keys_dir", "required with sandbox.external_url")
            })?;
            let keys =
                SandboxKeySet::load(keys_dir).map_err(|e| config_error("sandbox.keys_dir", e))?;
            tracing::info!(url, "using the sandboxes of another process");
            (keys, Vec::new(), None, url.to_owned())
        }
        None => {
            let keys = match &tuning.keys {
                Some(keys) => keys.clone(),
                None => SandboxKeySet::load_or_generate(&config.data_dir.join("secrets"))
                    .map_err(|e| config_error("wechat_pay (sandbox keys)", e))?,
            };
            let (mounts, sandboxes) = sandboxes(
                &keys,
                clock.clone(),
                tuning,
                &config.sandbox,
                &config.data_dir,
            )?;
            (keys, mounts, Some(sandboxes), base_url.to_owned())
        }
    };

    let mini_program = MiniProgramClient::new(
        MiniProgramConfig::new(
            SANDBOX_APP_ID,
            Secret::new(SANDBOX_APP_SECRET.to_owned()),
            tuning
                .mini_program_base_url
                .clone()
                .unwrap_or_else(|| format!("{sandbox_base}/sandbox/wechat")),
        ),
        clock.clone(),
    )
    .map_err(|e| config_error("wechat", e))?;
    // The sandbox's official account, on the same host as its mini-program APIs.
    let official_account = OfficialAccountClient::new(
        MiniProgramConfig::new(
            SANDBOX_OFFICIAL_ACCOUNT_APP_ID,
            Secret::new(SANDBOX_OFFICIAL_ACCOUNT_SECRET.to_owned()),
            format!("{sandbox_base}/sandbox/wechat"),
        ),
        clock.clone(),
    )
    .map_err(|e| config_error("official_account", e))?;

    let pay_config = WechatPayConfig {
        mchid: SANDBOX_MCHID.to_owned(),
        appid: SANDBOX_APP_ID.to_owned(),
        merchant_serial_no: keys.merchant_serial_no.clone(),
        merchant_private_key: PemSource::Pem(keys.merchant_private_key_pem.clone()),
        apiv3_key: keys.apiv3_key.clone(),
        wechatpay_public_key: Some(PemSource::Pem(Secret::new(
            keys.platform_public_key_pem.clone(),
        ))),
        wechatpay_public_key_id: Some(keys.platform_public_key_id.clone()),
        platform_certificates: false,
        // Notifications come to this process, wherever the sandbox runs.
        notify_url: format!("{base_url}/api/v1/pay/wechat/notify"),
        refund_notify_url: format!("{base_url}/api/v1/pay/wechat/refund-notify"),
        base_url: format!("{sandbox_base}/sandbox/wechat/pay"),
        http: tuning.wechat_pay_http.clone().unwrap_or_default(),
    };
    let wechat_pay = WechatPayClient::new(&pay_config, clock.clone())
        .map_err(|e| config_error("wechat_pay", e))?;

    let providers = if config.recharge.providers.is_empty() {
        let mut sandbox = ProviderConfig::reloadly(
            "sandbox",
            Secret::new(SANDBOX_PROVIDER_CLIENT_ID.to_owned()),
            Secret::new(SANDBOX_PROVIDER_CLIENT_SECRET.to_owned()),
        );
        sandbox.auth_url = format!("{sandbox_base}/sandbox/reloadly/auth");
        sandbox.api_url = format!("{sandbox_base}/sandbox/reloadly/topups");
        sandbox.audience = Some(SANDBOX_PROVIDER_AUDIENCE.to_owned());
        if let Some(timeout) = tuning.provider_read_timeout_ms {
            sandbox.read_timeout_ms = timeout;
        }
        ProvidersConfig {
            providers: vec![sandbox],
            circuit_breaker: config.recharge.circuit_breaker,
        }
    } else {
        config.recharge.clone()
    };
    let recharge = providers
        .build_router(clock)
        .map_err(|e| config_error("recharge.providers", e))?;
    let recharge_config = providers;

    Ok(Integrations {
        mounts,
        mini_program: Arc::new(mini_program),
        official_account: Arc::new(official_account),
        wechat_pay: Arc::new(wechat_pay),
        wechat_pay_config: pay_config,
        recharge: Arc::new(recharge),
        recharge_config,
        sandboxes,
    })
}

/// The in-process sandboxes (mini-program, WeChat Pay, Reloadly) as routes to mount under
/// `/sandbox/*`, and the WeChat Pay sandbox whose notification loop the server runs.
fn sandboxes(
    keys: &SandboxKeySet,
    clock: SharedClock,
    tuning: &SandboxTuning,
    settings: &SandboxSection,
    data_dir: &Path,
) -> Result<(Vec<Mount>, Sandboxes), AppError> {
    let mut mounts: Vec<Mount> = Vec::new();
    // The outside world's clock is never quite ours.
    let clock: SharedClock = if settings.clock_skew_secs == 0 {
        clock
    } else {
        Arc::new(OffsetClock::new(
            clock,
            chrono::TimeDelta::seconds(settings.clock_skew_secs),
        ))
    };

    let mut sandbox_config = keys.sandbox_config(SANDBOX_MCHID, SANDBOX_APP_ID);
    // Refunds settle quickly in the demo so the whole story is visible in a minute.
    sandbox_config.refund_delay_secs = tuning.refund_delay_secs.unwrap_or(5);
    sandbox_config.duplicate_percent = tuning
        .duplicate_percent
        .unwrap_or(settings.duplicate_percent);
    let pay_sandbox = WechatPaySandbox::new(sandbox_config, clock.clone())
        .map_err(|e| config_error("wechat_pay (sandbox)", e))?;
    let remembered = pay_sandbox
        .remember_in(&data_dir.join(WECHAT_PAY_SANDBOX_JOURNAL))
        .map_err(|e| config_error("wechat_pay (sandbox journal)", e))?;
    log_remembered("WeChat Pay", "orders", remembered);
    let served = pay_sandbox.clone();
    mounts.push(Arc::new(move |cfg: &mut web::ServiceConfig| {
        cfg.service(served.scope());
    }));

    // After the Pay scope: `/sandbox/wechat` would otherwise swallow `/sandbox/wechat/pay`.
    let mini_program_sandbox = MiniProgramSandbox::new(
        MiniProgramSandboxConfig::new(SANDBOX_APP_ID, SANDBOX_APP_SECRET).with_official_account(
            SANDBOX_OFFICIAL_ACCOUNT_APP_ID,
            SANDBOX_OFFICIAL_ACCOUNT_SECRET,
        ),
        clock.clone(),
    );
    let remembered = mini_program_sandbox
        .remember_in(&data_dir.join(MINI_PROGRAM_SANDBOX_JOURNAL))
        .map_err(|e| config_error("wechat (sandbox journal)", e))?;
    log_remembered("WeChat", "users", remembered);
    let served = mini_program_sandbox.clone();
    mounts.push(Arc::new(move |cfg: &mut web::ServiceConfig| {
        let sandbox = served.clone();
        cfg.service(web::scope("/sandbox/wechat").configure(move |cfg| sandbox.configure(cfg)));
    }));

    let defaults = ReloadlySandboxConfig::default();
    let provider_sandbox = ReloadlySandbox::new(ReloadlySandboxConfig {
        // A demo that can be load-tested without tripping the sandbox's own limits.
        rate_limit_per_second: 100_000,
        starting_balance: Decimal::new(100_000_000, 2),
        hang: tuning.provider_hang.unwrap_or(defaults.hang),
        topup_latency: Duration::from_millis(settings.provider_latency_ms),
        clock,
        ..defaults
    });
    let remembered = provider_sandbox
        .remember_in(&data_dir.join(PROVIDER_SANDBOX_JOURNAL))
        .map_err(|e| config_error("providers (sandbox journal)", e))?;
    log_remembered("provider", "top-ups", remembered);
    let served = provider_sandbox.clone();
    mounts.push(Arc::new(move |cfg: &mut web::ServiceConfig| {
        cfg.service(
            web::scope("/sandbox/reloadly")
                .configure(topup_sandbox::reloadly::configure(served.clone())),
        );
    }));
    Ok((
        mounts,
        Sandboxes {
            mini_program: mini_program_sandbox,
            wechat_pay: pay_sandbox,
            reloadly: provider_sandbox,
        },
    ))
}

/// Where the in-process sandboxes remember what they were told, under the data dir, so that a
/// restart does not make WeChat Pay forget a payment or the provider a top-up.
pub const WECHAT_PAY_SANDBOX_JOURNAL: &str = "sandbox/wechat-pay.jsonl";
pub const PROVIDER_SANDBOX_JOURNAL: &str = "sandbox/reloadly.jsonl";
pub const MINI_PROGRAM_SANDBOX_JOURNAL: &str = "sandbox/wechat.jsonl";

fn log_remembered(sandbox: &str, records: &str, remembered: Option<usize>) {
    match remembered {
        Some(count) => tracing::info!(sandbox, count, "sandbox took up the {records} it remembers"),
        None => tracing::warn!(
            sandbox,
            "another process holds this data dir's sandbox journal: this sandbox forgets at \
             restart (several processes on one data dir share one with sandbox.external_url)"
        ),
    }
}

fn refuse_sandbox(key: &str, url: &str) -> Result<(), AppError> {
    if url.contains("/sandbox/") || url.starts_with("http://") {
        return Err(config_error(
            key,
            "production mode needs the real https endpoint, not the sandbox",
        ));
    }
    Ok(())
}

/// A merchant with only WeChat's endpoints and ours: what staff complete in the settings.
pub(crate) fn unset_merchant(public_url: &str) -> WechatPayConfig {
    WechatPayConfig {
        mchid: String::new(),
        appid: String::new(),
        merchant_serial_no: String::new(),
        merchant_private_key: PemSource::pem(""),
        apiv3_key: Secret::new(String::new()),
        wechatpay_public_key: None,
        wechatpay_public_key_id: None,
        platform_certificates: false,
        notify_url: format!("{public_url}/api/v1/pay/wechat/notify"),
        refund_notify_url: format!("{public_url}/api/v1/pay/wechat/refund-notify"),
        base_url: topup_payment::DEFAULT_BASE_URL.to_owned(),
        http: HttpSettings::default(),
    }
}

fn production(config: &Config, clock: SharedClock) -> Result<Integrations, AppError> {
    let wechat = &config.wechat;
    if wechat.app_id.is_empty() || wechat.app_secret.expose().is_empty() {
        // Staff may set them in the console's settings instead (applied before serving when
        // stored already); until then mini-program logins are refused by WeChat.
        tracing::warn!(
            "wechat.app_id / wechat.app_secret are not configured: set them in the console \
             (Settings → Mini-program) or the configuration, or mini-program logins fail"
        );
    }
    refuse_sandbox("wechat.api_base_url", &wechat.api_base_url)?;
    let mini_program = MiniProgramClient::new(
        MiniProgramConfig::new(
            wechat.app_id.clone(),
            wechat.app_secret.clone(),
            wechat.api_base_url.clone(),
        ),
        clock.clone(),
    )
    .map_err(|e| config_error("wechat", e))?;
    // Staff alerts: the official account on the same host; an empty AppID (the default)
    // leaves alerts off until staff set one in the console.
    let account = &config.official_account;
    let official_account = OfficialAccountClient::new(
        MiniProgramConfig::new(
            account.app_id.trim().to_owned(),
            account.app_secret.clone(),
            wechat.api_base_url.clone(),
        ),
        clock.clone(),
    )
    .map_err(|e| config_error("official_account", e))?;

    let (pay_config, wechat_pay) = match &config.wechat_pay {
        Some(pay_config) => {
            refuse_sandbox("wechat_pay.base_url", &pay_config.base_url)?;
            refuse_sandbox("wechat_pay.notify_url", &pay_config.notify_url)?;
            refuse_sandbox(
                "wechat_pay.refund_notify_url",
                &pay_config.refund_notify_url,
            )?;
            let client = WechatPayClient::new(pay_config, clock.clone())
                .map_err(|e| config_error("wechat_pay", e))?;
            (pay_config.clone(), client)
        }
        None => {
            // Staff set the merchant in the console (Settings → Payment); until then every
            // payment is refused as unavailable, and nothing is charged.
            let Some(public_url) = &config.server.public_url else {
                return Err(config_error(
                    "wechat_pay",
                    "required in production mode, unless server.public_url is set (WeChat \
                     Pay's notifications go there) and staff set the merchant in the console",
                ));
            };
            refuse_sandbox("server.public_url", public_url)?;
            tracing::warn!(
                "wechat_pay is not configured: set the merchant in the console (Settings → \
                 Payment); until then payments are refused"
            );
            (
                unset_merchant(public_url.trim_end_matches('/')),
                WechatPayClient::unconfigured(clock.clone()),
            )
        }
    };

    if config.recharge.providers.iter().all(|p| !p.enabled) {
        return Err(config_error(
            "recharge.providers",
            "at least one enabled provider is required in production mode",
        ));
    }
    for provider in &config.recharge.providers {
        refuse_sandbox("recharge.providers.api_url", &provider.api_url)?;
        refuse_sandbox("recharge.providers.auth_url", &provider.auth_url)?;
        if provider.client_id.expose().is_empty() || provider.client_secret.expose().is_empty() {
            tracing::warn!(
                provider = %provider.id,
                "the provider has no credentials: set them in the console (Settings → \
                 Third-party APIs); until then its calls are refused"
            );
        }
    }
    let recharge = config
        .recharge
        .build_router(clock)
        .map_err(|e| config_error("recharge.providers", e))?;
    Ok(Integrations {
        mounts: Vec::new(),
        mini_program: Arc::new(mini_program),
        official_account: Arc::new(official_account),
        wechat_pay: Arc::new(wechat_pay),
        wechat_pay_config: pay_config,
        recharge: Arc::new(recharge),
        recharge_config: config.recharge.clone(),
        sandboxes: None,
    })
}

/// How often the embedded WeChat Pay sandbox looks for notifications to (re)deliver.
pub const SANDBOX_DELIVERY_PERIOD: Duration = Duration::from_secs(1);
