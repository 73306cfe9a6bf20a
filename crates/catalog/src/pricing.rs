//! Retail prices: cost × FX to CNY × (1 + markup), rounded up to whole fen, then up to a
//! multiple of the price step. Exact decimals throughout; one rounding direction (up, to
//! protect the margin); no floats.

use std::collections::HashMap;

use rust_decimal::prelude::ToPrimitive;
use topup_core::{CoreError, CountryCode, Currency, Decimal, Money};
use topup_recharge::ProviderAmount;

use crate::model::{OperatorId, PlanPrice, PriceSource, PricingRules};

/// Provider currency → CNY rates (CNY per one unit), from `[catalog] fx_to_cny`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FxTable(HashMap<Currency, Decimal>);

impl FxTable {
    pub fn new(rates: HashMap<Currency, Decimal>) -> Self {
        FxTable(rates)
    }

    /// CNY itself needs no rate.
    pub fn to_cny(&self, currency: Currency) -> Option<Decimal> {
        if currency == Currency::CNY {
            return Some(Decimal::ONE);
        }
        self.0.get(&currency).copied()
    }
}

/// The markup that applies: the operator's, else the country's, else the global one.
pub fn markup_for(rules: &PricingRules, country: CountryCode, operator: &OperatorId) -> Decimal {
    rules
        .operator_markups
        .get(operator)
        .or_else(|| rules.country_markups.get(&country))
        .copied()
        .unwrap_or(rules.markup)
}

/// `cost × fx × (1 + markup)` in CNY, rounded up to whole fen and then up to a multiple of
/// `step_fen`.
pub fn retail_price(
    cost: ProviderAmount,
    fx_to_cny: Decimal,
    markup: Decimal,
    step_fen: i64,
) -> Result<Money, CoreError> {
    let factor = Decimal::ONE
        .checked_add(markup)
        .ok_or(CoreError::Overflow)?;
    let fen_per_yuan = Decimal::from(10i64.pow(Currency::CNY.exponent()));
    let exact_fen = cost
        .value
        .checked_mul(fx_to_cny)
        .and_then(|v| v.checked_mul(factor))
        .and_then(|v| v.checked_mul(fen_per_yuan))
        .ok_or(CoreError::Overflow)?;
    let fen = exact_fen.ceil().to_i64().ok_or(CoreError::Overflow)?;
    Money::cny(fen).round_up_to_step(step_fen)
}

/// The price a plan sells at: pinned by staff, or by the rules, or none when the cost
/// currency has no FX rate.
pub fn price_plan(
    cost: ProviderAmount,
    pinned: Option<Money>,
    country: CountryCode,
    operator: &OperatorId,
    rules: &PricingRules,
    fx: &FxTable,
) -> PlanPrice {
    if let Some(pinned) = pinned {
        return PlanPrice {
            retail: Some(pinned),
            source: PriceSource::Pinned,
            markup: None,
            fx_to_cny: None,
            error: None,
        };
    }
    let markup = markup_for(rules, country, operator);
    let Some(rate) = fx.to_cny(cost.currency) else {
        return PlanPrice {
            retail: None,
            source: PriceSource::Missing,
            markup: Some(markup),
            fx_to_cny: None,
            error: Some(format!(
                "no FX rate for {} (set catalog.fx_to_cny.{})",
                cost.currency, cost.currency
            )),
        };
    };
    match retail_price(cost, rate, markup, rules.step_fen) {
        Ok(retail) => PlanPrice {
            retail: Some(retail),
            source: PriceSource::Rule,
            markup: Some(markup),
            fx_to_cny: Some(rate),
            error: None,
        },
        Err(e) => PlanPrice {
            retail: None,
            source: PriceSource::Missing,
            markup: Some(markup),
            fx_to_cny: Some(rate),
            error: Some(e.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::str::FromStr;

    use super::*;
    use topup_core::{Id, Timestamp};

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn usd(text: &str) -> ProviderAmount {
        ProviderAmount::new(dec(text), Currency::USD)
    }

    fn rules(markup: &str, step: i64) -> PricingRules {
        PricingRules {
            id: PricingRules::ID.to_owned(),
            version: 1,
            markup: dec(markup),
            country_markups: BTreeMap::new(),
            operator_markups: BTreeMap::new(),
            step_fen: step,
            updated_at: Timestamp::from_unix_seconds(0).unwrap(),
            updated_by: "test".into(),
        }
    }

    #[test]
    fn exact_fen_values_with_rounding_up_to_the_step() {
        // 0.87 × 7.10 = 6.177; × 1.08 = 6.67116 CNY = 667.116 fen → 668 → 670.
        assert_eq!(
            retail_price(usd("0.87"), dec("7.10"), dec("0.08"), 10).unwrap(),
            Money::cny(670)
        );
        // Step 1: only the ceiling to whole fen.
        assert_eq!(
            retail_price(usd("0.87"), dec("7.10"), dec("0.08"), 1).unwrap(),
            Money::cny(668)
        );
        // An exact result is not bumped: 5 × 7.10 × 1.10 = 39.05 CNY.
        assert_eq!(
            retail_price(usd("5"), dec("7.10"), dec("0.10"), 1).unwrap(),
            Money::cny(3905)
        );
        assert_eq!(
            retail_price(usd("5"), dec("7.10"), dec("0.10"), 10).unwrap(),
            Money::cny(3910)
        );
        // Step 100 (whole yuan): 39.05 → 40.00.
        assert_eq!(
            retail_price(usd("5"), dec("7.10"), dec("0.10"), 100).unwrap(),
            Money::cny(4000)
        );
        // Zero markup, exact multiple of the step: 10 × 7.10 = 71.00.
        assert_eq!(
            retail_price(usd("10"), dec("7.10"), Decimal::ZERO, 10).unwrap(),
            Money::cny(7100)
        );
        // Provider amounts finer than a cent: 4.9985 × 7.1234 × 1.05 = 37.38635... → 3739.
        assert_eq!(
            retail_price(usd("4.9985"), dec("7.1234"), dec("0.05"), 1).unwrap(),
            Money::cny(3739)
        );
    }

    #[test]
    fn most_specific_markup_wins_and_pins_override_everything() {
        let ph = CountryCode::parse("PH").unwrap();
        let id_ = CountryCode::parse("ID").unwrap();
        let globe: OperatorId = Id::new();
        let smart: OperatorId = Id::new();
        let mut rules = rules("0.08", 10);
        rules.country_markups.insert(ph, dec("0.12"));
        rules.operator_markups.insert(globe, dec("0.20"));
        assert_eq!(markup_for(&rules, ph, &globe), dec("0.20"));
        assert_eq!(markup_for(&rules, ph, &smart), dec("0.12"));
        assert_eq!(markup_for(&rules, id_, &smart), dec("0.08"));

        let mut fx = HashMap::new();
        fx.insert(Currency::USD, dec("7.10"));
        let fx = FxTable::new(fx);
        // 1 × 7.10 × 1.20 = 8.52 → 860 with a 10-fen step.
        let priced = price_plan(usd("1"), None, ph, &globe, &rules, &fx);
        assert_eq!(priced.retail, Some(Money::cny(860)));
        assert_eq!(priced.source, PriceSource::Rule);
        // 1 × 7.10 × 1.12 = 7.952 → 800.
        let priced = price_plan(usd("1"), None, ph, &smart, &rules, &fx);
        assert_eq!(priced.retail, Some(Money::cny(800)));
        // 1 × 7.10 × 1.08 = 7.668 → 770.
        let priced = price_plan(usd("1"), None, id_, &smart, &rules, &fx);
        assert_eq!(priced.retail, Some(Money::cny(770)));
        let pinned = price_plan(usd("1"), Some(Money::cny(999)), ph, &globe, &rules, &fx);
        assert_eq!(pinned.retail, Some(Money::cny(999)));
        assert_eq!(pinned.source, PriceSource::Pinned);
        let eur = ProviderAmount::new(dec("1"), Currency::parse("EUR").unwrap());
        let missing = price_plan(eur, None, ph, &globe, &rules, &fx);
        assert_eq!(missing.retail, None);
        assert_eq!(missing.source, PriceSource::Missing);
        assert!(missing.error.unwrap().contains("EUR"));
    }
}
