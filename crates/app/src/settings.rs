//! The console's settings wired to what reads them (`docs/settings.md`): the configuration's
//! values as their defaults, the keys it fixes, and the listeners that apply a change in this
//! process — the orders' checkout rules and the WeChat mini-program client's credentials.

use std::sync::Arc;

use serde_json::json;
use topup_auth::AtRestCipher;
use topup_core::{Secret, SharedClock};
use topup_orders::{CheckoutRules, OrdersService};
use topup_settings::{Effective, SettingsListener, SettingsService};
use topup_store::Store;
use topup_wechat::MiniProgramClient;

use crate::AppError;
use crate::config::{Config, Mode};
use crate::integrations::SANDBOX_APP_SECRET;

/// Puts the checkout rules in force.
struct CheckoutRulesFromSettings(Arc<OrdersService>);

impl SettingsListener for CheckoutRulesFromSettings {
    fn apply(&self, settings: &Effective) {
        let current = self.0.checkout_rules();
        let count = |path: &str, fallback: u32| {
            settings
                .integer(path)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(fallback)
        };
        self.0.set_checkout_rules(CheckoutRules {
            pay_timeout_minutes: settings
                .integer("orders.pay_timeout_minutes")
                .unwrap_or(current.pay_timeout_minutes),
            max_orders_per_number_per_day: count(
                "orders.max_orders_per_number_per_day",
                current.max_orders_per_number_per_day,
            ),
            max_unpaid_orders_per_user: count(
                "orders.max_unpaid_orders_per_user",
                current.max_unpaid_orders_per_user,
            ),
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

pub(crate) fn build(
    config: &Config,
    store: &Store,
    clock: SharedClock,
    at_rest_key: &Secret<Vec<u8>>,
    mini_program: &Arc<MiniProgramClient>,
    orders: &Arc<OrdersService>,
) -> Result<SettingsService, AppError> {
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
        .with_listener(Arc::new(CheckoutRulesFromSettings(Arc::clone(orders))));
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
        settings = settings.with_listener(Arc::new(WechatCredentialsFromSettings(Arc::clone(
            mini_program,
        ))));
    }
    for (path, by) in &config.fixed_settings {
        settings = settings.fixed(path, *by);
    }
    Ok(settings)
}
