//! `[catalog]` in the server configuration.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::time::Duration;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use topup_core::{Currency, Decimal};

use crate::CatalogError;
use crate::pricing::FxTable;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CatalogConfig {
    /// CNY per one unit of each provider currency, as decimal strings: `{ USD = "7.10" }`.
    pub fx_to_cny: BTreeMap<String, Decimal>,
    /// Global markup over cost seeded into the pricing rules at first start (`0.08` = 8 %).
    pub markup: Decimal,
    /// Price step in fen seeded into the pricing rules at first start.
    pub price_step_fen: i64,
    /// Amounts (sender currency) offered as plans of range operators, where within range.
    pub range_amounts: Vec<Decimal>,
    /// Minutes between scheduled syncs; 0 syncs only once, at first start.
    pub sync_interval_minutes: u64,
    /// How often each process checks the version stamp for changes made elsewhere.
    pub refresh_interval_seconds: u64,
    /// How long a detected operator is remembered per number.
    pub detect_cache_ttl_seconds: u64,
    /// Most numbers remembered at once; beyond it the least recently used is forgotten.
    pub detect_cache_capacity: usize,
    /// Provider lookups (numbers not remembered) one client address may start per minute on
    /// the public detection route; 0 turns the limit off.
    pub detect_lookups_per_minute: u32,
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap_or(Decimal::ZERO)
}

impl Default for CatalogConfig {
    fn default() -> Self {
        let mut fx_to_cny = BTreeMap::new();
        fx_to_cny.insert("USD".to_owned(), dec("7.10"));
        CatalogConfig {
            fx_to_cny,
            markup: dec("0.08"),
            price_step_fen: 10,
            range_amounts: ["1", "2", "5", "10", "20", "50"]
                .iter()
                .map(|a| dec(a))
                .collect(),
            sync_interval_minutes: 360,
            refresh_interval_seconds: 5,
            detect_cache_ttl_seconds: 86_400,
            detect_cache_capacity: 100_000,
            detect_lookups_per_minute: 30,
        }
    }
}

/// `[catalog]` checked and in the shapes the service uses.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub fx: FxTable,
    pub markup: Decimal,
    pub step_fen: i64,
    pub range_amounts: Vec<Decimal>,
    pub sync_interval: Option<TimeDelta>,
    pub refresh_interval: Duration,
    pub detect_ttl: TimeDelta,
    pub detect_capacity: usize,
    pub detect_lookups_per_minute: u32,
}

pub(crate) fn validate_markup(key: &str, markup: Decimal) -> Result<(), String> {
    if markup < Decimal::ZERO || markup > Decimal::from(10) {
        return Err(format!(
            "{key}: markup must be between 0 and 10 (0.08 is 8 %)"
        ));
    }
    Ok(())
}

pub(crate) fn validate_step(key: &str, step: i64) -> Result<(), String> {
    if !(1..=10_000).contains(&step) {
        return Err(format!("{key}: price step must be 1 to 10000 fen"));
    }
    Ok(())
}

impl Settings {
    /// The defaults without FX rates: nothing is priced, nothing can be misconfigured.
    pub(crate) fn fallback() -> Settings {
        Settings {
            fx: FxTable::default(),
            markup: dec("0.08"),
            step_fen: 10,
            range_amounts: Vec::new(),
            sync_interval: None,
            refresh_interval: Duration::from_secs(5),
            detect_ttl: TimeDelta::hours(24),
            detect_capacity: 1,
            detect_lookups_per_minute: 0,
        }
    }
}

impl CatalogConfig {
    /// Checks every value; the error names the key (`catalog.fx_to_cny.usd: ...`).
    pub fn validate(&self) -> Result<(), CatalogError> {
        self.settings().map(|_| ())
    }

    pub(crate) fn settings(&self) -> Result<Settings, CatalogError> {
        let mut rates = HashMap::new();
        for (code, rate) in &self.fx_to_cny {
            // Environment keys arrive lower-cased (`TOPUP_CATALOG__FX_TO_CNY__USD` → `usd`).
            let currency = Currency::parse(&code.to_ascii_uppercase())
                .map_err(|e| CatalogError::Config(format!("catalog.fx_to_cny.{code}: {e}")))?;
            if *rate <= Decimal::ZERO {
                return Err(CatalogError::Config(format!(
                    "catalog.fx_to_cny.{code}: must be a positive decimal"
                )));
            }
            rates.insert(currency, *rate);
        }
        validate_markup("catalog.markup", self.markup).map_err(CatalogError::Config)?;
        validate_step("catalog.price_step_fen", self.price_step_fen)
            .map_err(CatalogError::Config)?;
        if self.range_amounts.iter().any(|a| *a <= Decimal::ZERO) {
            return Err(CatalogError::Config(
                "catalog.range_amounts: amounts must be positive".into(),
            ));
        }
        if self.refresh_interval_seconds == 0 {
            return Err(CatalogError::Config(
                "catalog.refresh_interval_seconds: must be at least 1".into(),
            ));
        }
        let minutes = |m: u64| TimeDelta::minutes(i64::try_from(m).unwrap_or(i64::MAX / 60_000));
        let seconds = |s: u64| TimeDelta::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1_000));
        Ok(Settings {
            fx: FxTable::new(rates),
            markup: self.markup,
            step_fen: self.price_step_fen,
            range_amounts: self.range_amounts.clone(),
            sync_interval: (self.sync_interval_minutes > 0)
                .then(|| minutes(self.sync_interval_minutes)),
            refresh_interval: Duration::from_secs(self.refresh_interval_seconds),
            detect_ttl: seconds(self.detect_cache_ttl_seconds),
            detect_capacity: self.detect_cache_capacity.max(1),
            detect_lookups_per_minute: self.detect_lookups_per_minute,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key() {
        assert!(CatalogConfig::default().settings().is_ok());
        let mut bad = CatalogConfig::default();
        bad.fx_to_cny.insert("dollar".into(), dec("7"));
        let error = bad.settings().unwrap_err().to_string();
        assert!(error.contains("catalog.fx_to_cny.dollar"), "{error}");
        let mut lower = CatalogConfig::default();
        lower.fx_to_cny.insert("eur".into(), dec("7.8"));
        let settings = lower.settings().unwrap();
        assert_eq!(
            settings.fx.to_cny(Currency::parse("EUR").unwrap()),
            Some(dec("7.8"))
        );
        let bad = CatalogConfig {
            price_step_fen: 0,
            ..CatalogConfig::default()
        };
        assert!(
            bad.settings()
                .unwrap_err()
                .to_string()
                .contains("price_step_fen")
        );
        let from_toml: CatalogConfig = serde_json::from_str(
            r#"{"fx_to_cny": {"USD": "7.25", "EUR": "7.8"}, "markup": "0.1"}"#,
        )
        .unwrap();
        assert_eq!(from_toml.fx_to_cny["EUR"], dec("7.8"));
        assert_eq!(from_toml.price_step_fen, 10);
    }
}
