//! Every key staff can change, and what its value must be. Only keys the product reads while
//! serving are here: a key in this list takes effect on every process without a restart.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::SettingsError;

/// What a value must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SettingKind {
    /// A whole number in `min..=max`.
    Integer { min: i64, max: i64 },
    /// Text of at most `max` characters (empty allowed unless `required`); `multiline` for
    /// key material such as a PEM block.
    Text {
        max: usize,
        required: bool,
        multiline: bool,
    },
    /// An http(s) address or a path starting with `/`; empty allowed.
    Url,
    /// `#rrggbb`.
    Colour,
    /// Write-only text, sealed at rest; never answered.
    Secret { max: usize, multiline: bool },
}

/// A group of keys, as the console shows them.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct GroupDef {
    pub name: &'static str,
    pub title: &'static str,
}

/// One key. Most are fixed in [`SETTINGS`]; a group whose keys depend on the configuration
/// (one pair per top-up provider) gets them at start ([`crate::SettingsService::with_setting`]).
#[derive(Debug, Clone)]
pub struct SettingDef {
    pub group: &'static str,
    pub key: Cow<'static, str>,
    pub kind: SettingKind,
    /// What it does, for the console.
    pub description: Cow<'static, str>,
    /// The configuration key that sets it too (`orders.pay_timeout_minutes`, or the
    /// environment's `TOPUP_ORDERS__PAY_TIMEOUT_MINUTES`).
    pub config_path: Cow<'static, str>,
}

impl SettingDef {
    /// `group.key`.
    pub fn path(&self) -> String {
        format!("{}.{}", self.group, self.key)
    }

    /// The value checked (texts trimmed), or why not.
    pub(crate) fn check(&self, field: &str, value: &Value) -> Result<Value, SettingsError> {
        let text = |value: &Value| -> Result<String, SettingsError> {
            value
                .as_str()
                .map(|s| s.trim().to_owned())
                .ok_or_else(|| SettingsError::invalid(field, "must be a string"))
        };
        match self.kind {
            SettingKind::Integer { min, max } => {
                let number = value
                    .as_i64()
                    .filter(|n| (min..=max).contains(n))
                    .ok_or_else(|| {
                        SettingsError::invalid(field, format!("a whole number {min}–{max}"))
                    })?;
                Ok(Value::from(number))
            }
            SettingKind::Text { max, required, .. } => {
                let text = text(value)?;
                if text.chars().count() > max || (required && text.is_empty()) {
                    let reason = if required {
                        format!("1–{max} characters")
                    } else {
                        format!("at most {max} characters")
                    };
                    return Err(SettingsError::invalid(field, reason));
                }
                Ok(Value::from(text))
            }
            SettingKind::Url => {
                let url = text(value)?;
                let shaped = url.is_empty()
                    || url.starts_with("https://")
                    || url.starts_with("http://")
                    || url.starts_with('/');
                if !shaped
                    || url.chars().count() > 500
                    || url
                        .chars()
                        .any(|c| c.is_whitespace() || c == '"' || c == '<')
                {
                    return Err(SettingsError::invalid(
                        field,
                        "an http(s) address or a path starting with / (up to 500 characters)",
                    ));
                }
                Ok(Value::from(url))
            }
            SettingKind::Colour => {
                let colour = text(value)?.to_ascii_lowercase();
                let hex = colour.strip_prefix('#').unwrap_or_default();
                if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(SettingsError::invalid(field, "a colour as #rrggbb"));
                }
                Ok(Value::from(colour))
            }
            SettingKind::Secret { max, .. } => {
                let secret = text(value)?;
                if secret.is_empty() || secret.chars().count() > max {
                    return Err(SettingsError::invalid(field, format!("1–{max} characters")));
                }
                Ok(Value::from(secret))
            }
        }
    }
}

pub const GROUPS: &[GroupDef] = &[
    GroupDef {
        name: "orders",
        title: "Orders",
    },
    GroupDef {
        name: "mini_program",
        title: "Mini-program",
    },
    GroupDef {
        name: "payment",
        title: "Payment",
    },
    GroupDef {
        name: "providers",
        title: "Third-party APIs",
    },
    GroupDef {
        name: "blacklist",
        title: "Blacklist policy",
    },
    GroupDef {
        name: "official_account",
        title: "Official account",
    },
    GroupDef {
        name: "site",
        title: "Site",
    },
];

/// Groups whose keys depend on the configuration and are added at start.
pub const CONFIGURED_GROUPS: &[&str] = &["providers"];

pub const SETTINGS: &[SettingDef] = &[
    SettingDef {
        group: "orders",
        key: Cow::Borrowed("pay_timeout_minutes"),
        kind: SettingKind::Integer { min: 1, max: 120 },
        description: Cow::Borrowed(
            "An unpaid order is closed this many minutes after checkout (orders already placed keep their deadline).",
        ),
        config_path: Cow::Borrowed("orders.pay_timeout_minutes"),
    },
    SettingDef {
        group: "orders",
        key: Cow::Borrowed("max_orders_per_number_per_day"),
        kind: SettingKind::Integer { min: 0, max: 1000 },
        description: Cow::Borrowed(
            "At most this many paid orders per phone number in 24 hours; 0 for no limit.",
        ),
        config_path: Cow::Borrowed("orders.max_orders_per_number_per_day"),
    },
    SettingDef {
        group: "orders",
        key: Cow::Borrowed("max_unpaid_orders_per_user"),
        kind: SettingKind::Integer { min: 0, max: 100 },
        description: Cow::Borrowed(
            "At most this many unpaid orders per user at a time; 0 for no limit.",
        ),
        config_path: Cow::Borrowed("orders.max_unpaid_orders_per_user"),
    },
    SettingDef {
        group: "mini_program",
        key: Cow::Borrowed("app_id"),
        kind: SettingKind::Text {
            max: 64,
            required: true,
            multiline: false,
        },
        description: Cow::Borrowed(
            "The mini-program's AppID (used for login and subscribe messages).",
        ),
        config_path: Cow::Borrowed("wechat.app_id"),
    },
    SettingDef {
        group: "mini_program",
        key: Cow::Borrowed("app_secret"),
        kind: SettingKind::Secret {
            max: 128,
            multiline: false,
        },
        description: Cow::Borrowed(
            "The mini-program's AppSecret. Write-only: it is never shown again.",
        ),
        config_path: Cow::Borrowed("wechat.app_secret"),
    },
    SettingDef {
        group: "payment",
        key: Cow::Borrowed("mchid"),
        kind: SettingKind::Text {
            max: 32,
            required: true,
            multiline: false,
        },
        description: Cow::Borrowed("The WeChat Pay merchant number (商户号) orders are paid to."),
        config_path: Cow::Borrowed("wechat_pay.mchid"),
    },
    SettingDef {
        group: "payment",
        key: Cow::Borrowed("merchant_serial_no"),
        kind: SettingKind::Text {
            max: 64,
            required: true,
            multiline: false,
        },
        description: Cow::Borrowed("The serial number of the merchant API certificate."),
        config_path: Cow::Borrowed("wechat_pay.merchant_serial_no"),
    },
    SettingDef {
        group: "payment",
        key: Cow::Borrowed("merchant_private_key"),
        kind: SettingKind::Secret {
            max: 8000,
            multiline: true,
        },
        description: Cow::Borrowed(
            "The merchant API private key (apiclient_key.pem, PEM). Write-only.",
        ),
        config_path: Cow::Borrowed("wechat_pay.merchant_private_key"),
    },
    SettingDef {
        group: "payment",
        key: Cow::Borrowed("apiv3_key"),
        kind: SettingKind::Secret {
            max: 32,
            multiline: false,
        },
        description: Cow::Borrowed("The APIv3 key (exactly 32 characters). Write-only."),
        config_path: Cow::Borrowed("wechat_pay.apiv3_key"),
    },
    SettingDef {
        group: "payment",
        key: Cow::Borrowed("public_key_id"),
        kind: SettingKind::Text {
            max: 64,
            required: true,
            multiline: false,
        },
        description: Cow::Borrowed("The WeChat Pay public key's id (PUB_KEY_ID_…)."),
        config_path: Cow::Borrowed("wechat_pay.wechatpay_public_key_id"),
    },
    SettingDef {
        group: "payment",
        key: Cow::Borrowed("public_key"),
        kind: SettingKind::Text {
            max: 4000,
            required: true,
            multiline: true,
        },
        description: Cow::Borrowed(
            "The WeChat Pay public key (PEM, BEGIN PUBLIC KEY); responses and notifications are verified with it.",
        ),
        config_path: Cow::Borrowed("wechat_pay.wechatpay_public_key"),
    },
    SettingDef {
        group: "blacklist",
        key: Cow::Borrowed("failed_topups_to_block"),
        kind: SettingKind::Integer { min: 0, max: 20 },
        description: Cow::Borrowed(
            "A number whose top-ups failed (and were refunded) this many times within 24 hours is blacklisted automatically; 0 turns it off.",
        ),
        config_path: Cow::Borrowed("blacklist.failed_topups_to_block"),
    },
    SettingDef {
        group: "blacklist",
        key: Cow::Borrowed("auto_block_days"),
        kind: SettingKind::Integer { min: 1, max: 365 },
        description: Cow::Borrowed("How many days an automatic blacklist entry lasts."),
        config_path: Cow::Borrowed("blacklist.auto_block_days"),
    },
    SettingDef {
        group: "official_account",
        key: Cow::Borrowed("app_id"),
        kind: SettingKind::Text {
            max: 64,
            required: false,
            multiline: false,
        },
        description: Cow::Borrowed(
            "The official account's (公众号) AppID, through which staff get alerts on WeChat; empty turns the alerts off.",
        ),
        config_path: Cow::Borrowed("official_account.app_id"),
    },
    SettingDef {
        group: "official_account",
        key: Cow::Borrowed("app_secret"),
        kind: SettingKind::Secret {
            max: 128,
            multiline: false,
        },
        description: Cow::Borrowed(
            "The official account's AppSecret. Write-only: it is never shown again.",
        ),
        config_path: Cow::Borrowed("official_account.app_secret"),
    },
    SettingDef {
        group: "official_account",
        key: Cow::Borrowed("alert_template_id"),
        kind: SettingKind::Text {
            max: 64,
            required: false,
            multiline: false,
        },
        description: Cow::Borrowed(
            "The template alerts are sent with: one with the keys thing1 (what happened), character_string2 (order number) and time3 (when).",
        ),
        config_path: Cow::Borrowed("official_account.alert_template_id"),
    },
    SettingDef {
        group: "official_account",
        key: Cow::Borrowed("alert_openids"),
        kind: SettingKind::Text {
            max: 1400,
            required: false,
            multiline: true,
        },
        description: Cow::Borrowed(
            "The openids (in the official account) of the staff who receive alerts, separated by commas or spaces; at most 20. Each must follow the official account.",
        ),
        config_path: Cow::Borrowed("official_account.alert_openids"),
    },
    SettingDef {
        group: "site",
        key: Cow::Borrowed("name"),
        kind: SettingKind::Text {
            max: 40,
            required: true,
            multiline: false,
        },
        description: Cow::Borrowed(
            "The product's name in the console's title bar and sign-in page.",
        ),
        config_path: Cow::Borrowed("site.name"),
    },
    SettingDef {
        group: "site",
        key: Cow::Borrowed("logo_url"),
        kind: SettingKind::Url,
        description: Cow::Borrowed("The console's logo (empty for none)."),
        config_path: Cow::Borrowed("site.logo_url"),
    },
    SettingDef {
        group: "site",
        key: Cow::Borrowed("theme_colour"),
        kind: SettingKind::Colour,
        description: Cow::Borrowed("The console's primary colour."),
        config_path: Cow::Borrowed("site.theme_colour"),
    },
];

/// A top-up provider's credentials (`providers.{id}.client_id`, `….client_secret`), for the
/// provider configured at `recharge.providers[index]`.
pub fn provider_credentials(provider: &str, index: usize) -> [SettingDef; 2] {
    [
        SettingDef {
            group: "providers",
            key: Cow::Owned(format!("{provider}.client_id")),
            kind: SettingKind::Text {
                max: 128,
                required: true,
                multiline: false,
            },
            description: Cow::Owned(format!("The client id of the {provider} account.")),
            config_path: Cow::Owned(format!("recharge.providers[{index}].client_id")),
        },
        SettingDef {
            group: "providers",
            key: Cow::Owned(format!("{provider}.client_secret")),
            kind: SettingKind::Secret {
                max: 256,
                multiline: false,
            },
            description: Cow::Owned(format!(
                "The client secret of the {provider} account. Write-only."
            )),
            config_path: Cow::Owned(format!("recharge.providers[{index}].client_secret")),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_checked_by_kind() {
        let find =
            |group: &str, key: &str| SETTINGS.iter().find(|d| d.group == group && d.key == key);
        let timeout = find("orders", "pay_timeout_minutes").unwrap();
        assert_eq!(timeout.check("v", &json!(30)).unwrap(), json!(30));
        assert!(timeout.check("v", &json!(0)).is_err());
        assert!(timeout.check("v", &json!("30")).is_err());
        let colour = find("site", "theme_colour").unwrap();
        assert_eq!(
            colour.check("v", &json!(" #07C160 ")).unwrap(),
            json!("#07c160")
        );
        assert!(colour.check("v", &json!("green")).is_err());
        let logo = find("site", "logo_url").unwrap();
        assert!(logo.check("v", &json!("javascript:alert(1)")).is_err());
        assert_eq!(logo.check("v", &json!("")).unwrap(), json!(""));
        let secret = find("mini_program", "app_secret").unwrap();
        assert!(secret.check("v", &json!("")).is_err());
    }

    #[test]
    fn every_group_has_keys_and_every_key_a_group() {
        for def in SETTINGS {
            assert!(GROUPS.iter().any(|g| g.name == def.group), "{}", def.path());
        }
        for group in GROUPS
            .iter()
            .filter(|g| !CONFIGURED_GROUPS.contains(&g.name))
        {
            assert!(
                SETTINGS.iter().any(|d| d.group == group.name),
                "{}",
                group.name
            );
        }
    }
}
