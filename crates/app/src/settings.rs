//! The console's settings wired to what reads them (`docs/settings.md`): the configuration's
//! values as their defaults, the keys it fixes, and the listeners that apply a change in this
//! process — the orders' checkout rules, the WeChat mini-program client's credentials, the
//! WeChat Pay merchant, the top-up providers' credentials, the blacklist's rule and the
//! official account staff alerts go through.

use std::sync::{Arc, Mutex, PoisonError};

use serde_json::json;
use topup_auth::AtRestCipher;
use topup_core::{Secret, SharedClock};
use topup_notify::alerts::{AlertSettings, StaffAlerts, parse_openids};
use topup_orders::{CheckoutRules, OrdersService};
use topup_payment::{PemSource, WechatPayClient, WechatPayConfig};
use topup_recharge::{ProviderId, ProviderRouter, ProvidersConfig};
use topup_settings::{Effective, FixedBy, SettingsListener, SettingsService, provider_credentials};
use topup_store::Store;
use topup_wechat::{MiniProgramClient, OfficialAccountClient};

use crate::AppError;
use crate::adapters::{FailedNumberRule, FailedNumbers};
use crate::config::{Config, Mode};
use crate::integrations::{
    SANDBOX_APP_SECRET, SANDBOX_OFFICIAL_ACCOUNT_APP_ID, SANDBOX_OFFICIAL_ACCOUNT_SECRET,
};

/// Puts the checkout rules in force.
struct CheckoutRulesFromSettings(Arc<OrdersService>);

impl SettingsListener for CheckoutRulesFromSettings {
    fn apply(&self, settings: &Effective) {
        let current = self.0.checkout_rules();
        self.0.set_checkout_rules(CheckoutRules {
            pay_timeout_minutes: settings
                .integer("orders.pay_timeout_minutes")
                .unwrap_or(current.pay_timeout_minutes),
            max_orders_per_number_per_day: settings
                .count("orders.max_orders_per_number_per_day")
                .unwrap_or(current.max_orders_per_number_per_day),
            max_unpaid_orders_per_user: settings
                .count("orders.max_unpaid_orders_per_user")
                .unwrap_or(current.max_unpaid_orders_per_user),
        });
    }
}

/// Gives the mini-program client the AppID and AppSecret in force.
struct WechatCredentialsFromSettings(Arc<MiniProgramClient>);

impl SettingsListener for WechatCredentialsFromSettings {
    fn apply(&self, settings: &Effective) {
        let app_id = settings.text("mini_program.app_id").unwrap_or_default();
        if let Some(secret) = settings.secret("mini_program.app_secret")
            && !app_id.is_empty()
        {
            self.0.set_credentials(app_id.to_owned(), secret.clone());
        }
    }
}

/// Puts the official account in force for staff alerts: its credentials in the client, the
/// template and the recipients in the alert worker. An empty AppID turns alerts off.
struct StaffAlertsFromSettings {
    client: Arc<OfficialAccountClient>,
    alerts: Arc<StaffAlerts>,
}

impl SettingsListener for StaffAlertsFromSettings {
    fn apply(&self, settings: &Effective) {
        let app_id = settings
            .text("official_account.app_id")
            .unwrap_or_default()
            .trim()
            .to_owned();
        let secret = settings
            .secret("official_account.app_secret")
            .cloned()
            .unwrap_or_default();
        self.client.set_credentials(app_id.clone(), secret);
        let openids = settings
            .text("official_account.alert_openids")
            .unwrap_or_default();
        self.alerts.set_settings(AlertSettings {
            enabled: !app_id.is_empty(),
            template_id: settings
                .text("official_account.alert_template_id")
                .unwrap_or_default()
                .trim()
                .to_owned(),
            // Saves are checked (below); a bad stored value leaves nobody to alert.
            openids: parse_openids(openids).unwrap_or_default(),
        });
    }

    fn check(&self, settings: &Effective) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let openids = settings
            .text("official_account.alert_openids")
            .unwrap_or_default();
        if let Err(reason) = parse_openids(openids) {
            problems.push(("official_account.alert_openids".to_owned(), reason));
        }
        let app_id = settings.text("official_account.app_id").unwrap_or_default();
        let has_secret = settings
            .secret("official_account.app_secret")
            .is_some_and(|s| !s.expose().is_empty());
        if !app_id.trim().is_empty() && !has_secret {
            problems.push((
                "official_account.app_secret".to_owned(),
                "is required with an AppID".to_owned(),
            ));
        }
        if !app_id.trim().is_empty()
            && settings
                .text("official_account.alert_template_id")
                .unwrap_or_default()
                .trim()
                .is_empty()
        {
            problems.push((
                "official_account.alert_template_id".to_owned(),
                "is required with an AppID".to_owned(),
            ));
        }
        problems
    }
}

/// The payment group's keys, by the name the merchant settings give each.
const PAYMENT_KEYS: &[(&str, &str)] = &[
    ("mchid", "payment.mchid"),
    ("appid", "mini_program.app_id"),
    ("merchant_serial_no", "payment.merchant_serial_no"),
    ("merchant_private_key", "payment.merchant_private_key"),
    ("apiv3_key", "payment.apiv3_key"),
    ("wechatpay_public_key_id", "payment.public_key_id"),
    ("wechatpay_public_key", "payment.public_key"),
];

/// Puts the WeChat Pay merchant staff set in force (production only: the embedded mode pays
/// its sandbox). Where WeChat Pay reaches us and how we call it stay as configured.
struct WechatPayFromSettings {
    client: Arc<WechatPayClient>,
    /// The configured merchant (or only its endpoints), which the settings complete.
    template: WechatPayConfig,
    /// What was put in force last, so that a change elsewhere does not rebuild the client.
    applied: Mutex<Option<String>>,
}

impl WechatPayFromSettings {
    /// The merchant these settings describe; none while no merchant number is set.
    fn merchant(&self, settings: &Effective) -> Option<WechatPayConfig> {
        let text = |path: &str| settings.text(path).unwrap_or_default().trim().to_owned();
        let secret = |path: &str| {
            settings
                .secret(path)
                .cloned()
                .unwrap_or_else(|| Secret::new(String::new()))
        };
        let mchid = text("payment.mchid");
        if mchid.is_empty() {
            return None;
        }
        let (key_id, key) = (text("payment.public_key_id"), text("payment.public_key"));
        Some(WechatPayConfig {
            mchid,
            // Payments are made in the mini-program; the configured one until staff set it.
            appid: Some(text("mini_program.app_id"))
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| self.template.appid.clone()),
            merchant_serial_no: text("payment.merchant_serial_no"),
            merchant_private_key: PemSource::Pem(secret("payment.merchant_private_key")),
            apiv3_key: secret("payment.apiv3_key"),
            wechatpay_public_key: (!key.is_empty()).then(|| PemSource::pem(key)),
            wechatpay_public_key_id: (!key_id.is_empty()).then_some(key_id),
            ..self.template.clone()
        })
    }
}

/// Everything that makes one merchant differ from another (kept in memory only, as the
/// client's own keys are).
fn fingerprint(merchant: &WechatPayConfig) -> String {
    let pem = |source: &PemSource| match source {
        PemSource::Pem(text) => text.expose().clone(),
        PemSource::File(path) => path.display().to_string(),
    };
    format!(
        "{}|{}|{}|{}|{}|{:?}|{:?}",
        merchant.mchid,
        merchant.appid,
        merchant.merchant_serial_no,
        pem(&merchant.merchant_private_key),
        merchant.apiv3_key.expose(),
        merchant.wechatpay_public_key.as_ref().map(pem),
        merchant.wechatpay_public_key_id,
    )
}

impl SettingsListener for WechatPayFromSettings {
    fn apply(&self, settings: &Effective) {
        let Some(merchant) = self.merchant(settings) else {
            return;
        };
        let print = fingerprint(&merchant);
        let mut applied = self.applied.lock().unwrap_or_else(PoisonError::into_inner);
        if applied.as_ref() == Some(&print) {
            return;
        }
        match self.client.reconfigure(&merchant) {
            Ok(()) => {
                tracing::info!(mchid = %merchant.mchid, "WeChat Pay merchant settings in force");
                *applied = Some(print);
            }
            // Saves are checked first; this is a value another version stored, or a key file
            // gone. The merchant in force stays.
            Err(error) => {
                tracing::error!(%error, "WeChat Pay merchant settings cannot be put in force")
            }
        }
    }

    fn check(&self, settings: &Effective) -> Vec<(String, String)> {
        let Some(merchant) = self.merchant(settings) else {
            return Vec::new();
        };
        let mut problems: Vec<(String, String)> = merchant
            .problems()
            .into_iter()
            .filter_map(|(name, reason)| {
                PAYMENT_KEYS
                    .iter()
                    .find(|(field, _)| *field == name)
                    .map(|(_, path)| ((*path).to_owned(), reason))
            })
            .collect();
        if merchant.wechatpay_public_key.is_none() && !merchant.platform_certificates {
            problems.push(("payment.public_key".to_owned(), "is required".to_owned()));
        }
        if merchant.wechatpay_public_key_id.is_none() && merchant.wechatpay_public_key.is_some() {
            problems.push(("payment.public_key_id".to_owned(), "is required".to_owned()));
        }
        problems
    }
}

/// What the configuration (or the sandbox) says for the payment group's keys.
fn configured_merchant(
    mut settings: SettingsService,
    merchant: &WechatPayConfig,
) -> Result<SettingsService, AppError> {
    let load = |source: &PemSource| {
        source
            .load()
            .map_err(|e| AppError::Config(format!("wechat_pay: {e}")))
    };
    settings = settings
        .configured("payment.mchid", json!(merchant.mchid))
        .configured(
            "payment.merchant_serial_no",
            json!(merchant.merchant_serial_no),
        )
        .configured(
            "payment.public_key_id",
            json!(merchant.wechatpay_public_key_id.clone().unwrap_or_default()),
        );
    if let Some(key) = &merchant.wechatpay_public_key {
        settings = settings.configured("payment.public_key", json!(load(key)?.expose()));
    }
    if !merchant.mchid.is_empty() {
        settings = settings
            .configured_secret(
                "payment.merchant_private_key",
                load(&merchant.merchant_private_key)?,
            )
            .configured_secret("payment.apiv3_key", merchant.apiv3_key.clone());
    }
    Ok(settings)
}

/// A provider account's client id and secret.
type ClientCredentials = (Secret<String>, Secret<String>);

/// Gives each top-up provider the credentials staff set (production only).
struct ProviderCredentialsFromSettings {
    router: Arc<ProviderRouter>,
    /// What each provider was last given, so that a change elsewhere leaves it alone.
    applied: Mutex<std::collections::BTreeMap<String, ClientCredentials>>,
}

impl SettingsListener for ProviderCredentialsFromSettings {
    fn apply(&self, settings: &Effective) {
        let mut applied = self.applied.lock().unwrap_or_else(PoisonError::into_inner);
        for entry in self.router.entries() {
            let id = entry.provider.id().to_string();
            let client_id = settings
                .text(&format!("providers.{id}.client_id"))
                .unwrap_or_default()
                .trim()
                .to_owned();
            let Some(secret) = settings.secret(&format!("providers.{id}.client_secret")) else {
                continue;
            };
            if client_id.is_empty() {
                continue;
            }
            let pair = (Secret::new(client_id), secret.clone());
            if applied.get(&id) == Some(&pair) {
                continue;
            }
            if entry
                .provider
                .set_credentials(pair.0.clone(), pair.1.clone())
            {
                tracing::info!(provider = %id, "provider credentials in force");
                applied.insert(id, pair);
            }
        }
    }
}

/// Puts the blacklist's automatic rule in force.
struct FailedNumbersFromSettings(Arc<FailedNumbers>);

impl SettingsListener for FailedNumbersFromSettings {
    fn apply(&self, settings: &Effective) {
        let current = self.0.rule();
        self.0.set_rule(FailedNumberRule {
            failures: settings
                .count("blacklist.failed_topups_to_block")
                .unwrap_or(current.failures),
            days: settings
                .count("blacklist.auto_block_days")
                .unwrap_or(current.days),
        });
    }
}

/// Each provider's credential keys, what the configuration says for them, and who fixes them:
/// the embedded mode (its provider is the sandbox), or the configuration file where it gives
/// them (a list entry the environment cannot address one key of).
fn configured_providers(
    mut settings: SettingsService,
    providers: &ProvidersConfig,
    mode: Mode,
) -> SettingsService {
    for (index, provider) in providers.providers.iter().enumerate() {
        let id = ProviderId::new(provider.id.trim()).to_string();
        for def in provider_credentials(&id, index) {
            settings = settings.with_setting(def);
        }
        let (id_path, secret_path) = (
            format!("providers.{id}.client_id"),
            format!("providers.{id}.client_secret"),
        );
        settings = settings.configured(&id_path, json!(provider.client_id.expose()));
        if !provider.client_secret.expose().is_empty() {
            settings = settings.configured_secret(&secret_path, provider.client_secret.clone());
        }
        let fixed_by = if mode == Mode::Embedded {
            Some(FixedBy::Embedded)
        } else if !provider.client_id.expose().is_empty() {
            Some(FixedBy::ConfigFile)
        } else {
            None
        };
        if let Some(by) = fixed_by {
            settings = settings.fixed(&id_path, by).fixed(&secret_path, by);
        }
    }
    settings
}

/// What the configuration says for the official account's keys; in the embedded mode the
/// sandbox's official account and its alert template (staff only add their openids).
fn configured_official_account(settings: SettingsService, config: &Config) -> SettingsService {
    let account = &config.official_account;
    let (app_id, secret, template) = if config.mode == Mode::Embedded {
        (
            SANDBOX_OFFICIAL_ACCOUNT_APP_ID.to_owned(),
            Secret::new(SANDBOX_OFFICIAL_ACCOUNT_SECRET.to_owned()),
            topup_sandbox::wechat_mp::STAFF_ALERT_TEMPLATE.to_owned(),
        )
    } else {
        (
            account.app_id.trim().to_owned(),
            account.app_secret.clone(),
            account.alert_template_id.trim().to_owned(),
        )
    };
    let settings = settings
        .configured("official_account.app_id", json!(app_id))
        .configured("official_account.alert_template_id", json!(template))
        .configured(
            "official_account.alert_openids",
            json!(account.alert_openids.trim()),
        );
    if secret.expose().is_empty() {
        settings
    } else {
        settings.configured_secret("official_account.app_secret", secret)
    }
}

/// Who reads the settings besides the store: the clients whose credentials they carry.
pub(crate) struct Readers<'a> {
    pub mini_program: &'a Arc<MiniProgramClient>,
    pub wechat_pay: &'a Arc<WechatPayClient>,
    pub wechat_pay_config: &'a WechatPayConfig,
    pub orders: &'a Arc<OrdersService>,
    pub recharge: &'a Arc<ProviderRouter>,
    pub recharge_config: &'a ProvidersConfig,
    pub failed_numbers: &'a Arc<FailedNumbers>,
    pub official_account: &'a Arc<OfficialAccountClient>,
    pub alerts: &'a Arc<StaffAlerts>,
}

pub(crate) fn build(
    config: &Config,
    store: &Store,
    clock: SharedClock,
    at_rest_key: &Secret<Vec<u8>>,
    readers: Readers<'_>,
) -> Result<SettingsService, AppError> {
    let Readers {
        mini_program,
        wechat_pay,
        wechat_pay_config,
        orders,
        recharge,
        recharge_config,
        failed_numbers,
        official_account,
        alerts,
    } = readers;
    let site = &config.site;
    let mut settings = SettingsService::new(store, clock, AtRestCipher::new(at_rest_key)?)
        .configured(
            "orders.pay_timeout_minutes",
            json!(config.orders.pay_timeout_minutes),
        )
        .configured(
            "orders.max_orders_per_number_per_day",
            json!(config.orders.max_orders_per_number_per_day),
        )
        .configured(
            "orders.max_unpaid_orders_per_user",
            json!(config.orders.max_unpaid_orders_per_user),
        )
        .configured("mini_program.app_id", json!(mini_program.app_id()))
        .configured("site.name", json!(site.name))
        .configured("site.logo_url", json!(site.logo_url))
        .configured("site.theme_colour", json!(site.theme_colour))
        .configured(
            "blacklist.failed_topups_to_block",
            json!(config.blacklist.failed_topups_to_block),
        )
        .configured(
            "blacklist.auto_block_days",
            json!(config.blacklist.auto_block_days),
        )
        .with_listener(Arc::new(CheckoutRulesFromSettings(Arc::clone(orders))))
        .with_listener(Arc::new(FailedNumbersFromSettings(Arc::clone(
            failed_numbers,
        ))))
        .with_listener(Arc::new(StaffAlertsFromSettings {
            client: Arc::clone(official_account),
            alerts: Arc::clone(alerts),
        }));
    settings = configured_official_account(settings, config);
    settings = configured_merchant(settings, wechat_pay_config)?;
    settings = configured_providers(settings, recharge_config, config.mode);
    if config.mode == Mode::Embedded {
        // The sandbox's credentials, fixed (`Config::load`).
        settings = settings.configured_secret(
            "mini_program.app_secret",
            Secret::new(SANDBOX_APP_SECRET.to_owned()),
        );
    } else {
        if !config.wechat.app_secret.expose().is_empty() {
            settings = settings
                .configured_secret("mini_program.app_secret", config.wechat.app_secret.clone());
        }
        settings = settings
            .with_listener(Arc::new(WechatCredentialsFromSettings(Arc::clone(
                mini_program,
            ))))
            .with_listener(Arc::new(ProviderCredentialsFromSettings {
                router: Arc::clone(recharge),
                applied: Mutex::new(std::collections::BTreeMap::new()),
            }))
            .with_listener(Arc::new(WechatPayFromSettings {
                client: Arc::clone(wechat_pay),
                template: wechat_pay_config.clone(),
                applied: Mutex::new(None),
            }));
    }
    for (path, by) in &config.fixed_settings {
        settings = settings.fixed(path, *by);
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::BTreeMap;

    use serde_json::Value;
    use topup_auth::generate_at_rest_key;
    use topup_core::{ManualClock, Timestamp};
    use topup_sandbox::wechat_pay::SandboxKeySet;
    use topup_settings::SettingsError;
    use topup_store::testing::TestStore;

    use super::*;

    fn payment(
        keys: &SandboxKeySet,
        private_key: &str,
        apiv3_key: &str,
        key_id: &str,
    ) -> BTreeMap<String, Value> {
        [
            ("mchid", json!("1900000109")),
            ("merchant_serial_no", json!(keys.merchant_serial_no)),
            ("merchant_private_key", json!(private_key)),
            ("apiv3_key", json!(apiv3_key)),
            ("public_key_id", json!(key_id)),
            ("public_key", json!(keys.platform_public_key_pem)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    #[tokio::test]
    async fn staff_set_the_merchant_and_payments_use_it_without_a_restart() {
        let store = TestStore::open().await.unwrap();
        let clock: SharedClock = Arc::new(ManualClock::new(
            Timestamp::parse("2026-12-01T00:00:00Z").unwrap(),
        ));
        let client = Arc::new(WechatPayClient::unconfigured(clock.clone()));
        let cipher = AtRestCipher::new(&generate_at_rest_key().unwrap()).unwrap();
        let settings = SettingsService::new(&store.store, clock, cipher)
            .configured("mini_program.app_id", json!("wx0000sandbox0000"))
            .with_listener(Arc::new(WechatPayFromSettings {
                client: Arc::clone(&client),
                template: crate::integrations::unset_merchant("https://shop.example"),
                applied: Mutex::new(None),
            }));
        settings.start().await.unwrap();
        assert!(!client.is_configured());

        let keys = SandboxKeySet::generate().unwrap();
        let private_key = keys.merchant_private_key_pem.expose().clone();
        let apiv3_key = keys.apiv3_key.expose().clone();
        // Keys that do not parse are refused, each named, and nothing is put in force.
        let refused = settings
            .update(
                "payment",
                0,
                payment(&keys, "not a key", "short", "KEY_1"),
                "admin",
            )
            .await
            .unwrap_err();
        let SettingsError::Invalid(fields) = refused else {
            panic!("{refused:?}")
        };
        let names: Vec<&str> = fields.fields().keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "values.apiv3_key",
                "values.merchant_private_key",
                "values.public_key_id"
            ]
        );
        assert!(!client.is_configured());

        let key_id = keys.platform_public_key_id.clone();
        let (_, after) = settings
            .update(
                "payment",
                0,
                payment(&keys, &private_key, &apiv3_key, &key_id),
                "admin",
            )
            .await
            .unwrap();
        assert!(client.is_configured());
        assert_eq!(
            (client.mchid(), client.appid()),
            ("1900000109".to_owned(), "wx0000sandbox0000".to_owned())
        );
        assert_eq!(client.known_platform_serials(), [key_id]);
        // The key is never answered.
        let answered = serde_json::to_string(&settings.view().await.unwrap()).unwrap();
        assert!(!answered.contains("PRIVATE KEY") && !answered.contains(&apiv3_key));
        let sealed = after
            .settings
            .iter()
            .find(|s| s.key == "merchant_private_key")
            .unwrap();
        assert_eq!(sealed.value, json!({"set": true}));
    }
}
