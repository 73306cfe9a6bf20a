//! Money as integer minor units of an ISO-4217 currency. No floats anywhere.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

use crate::CoreError;

/// An ISO-4217 currency (validated against the ISO table, so its minor-unit exponent is known).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    pub const CNY: Currency = Currency(iso_currency::Currency::CNY);
    pub const USD: Currency = Currency(iso_currency::Currency::USD);

    pub fn parse(code: &str) -> Result<Self, CoreError> {
        iso_currency::Currency::from_code(code)
            .filter(|_| code.bytes().all(|b| b.is_ascii_uppercase()))
            .map(Currency)
            .ok_or_else(|| CoreError::InvalidCurrency(code.chars().take(16).collect()))
    }

    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// Number of decimal places of the minor unit (CNY 2, JPY 0, KWD 3).
    pub fn exponent(&self) -> u32 {
        // Funds and metals have no exponent in the table; treat them as whole units.
        self.0.exponent().map(u32::from).unwrap_or(0)
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::parse(&code).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Currency {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[A-Z]{3}$"))
            .description(Some("ISO-4217 currency code"))
            .examples([serde_json::json!("CNY")])
            .into()
    }
}

impl ToSchema for Currency {}

/// How to round when a result falls between two minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Towards negative infinity.
    Floor,
    /// Towards positive infinity (prices rounded up to protect margin).
    Ceil,
    /// To nearest; halves away from zero.
    HalfUp,
    /// To nearest; halves to the even neighbour (banker's rounding).
    HalfEven,
}

/// An amount in integer minor units (fen for CNY) of one currency.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"amount": 3000, "currency": "CNY"}))]
pub struct Money {
    /// Minor units (fen for CNY, cents for USD).
    pub amount: i64,
    pub currency: Currency,
}

impl Money {
    pub const fn new(amount: i64, currency: Currency) -> Self {
        Money { amount, currency }
    }

    pub const fn cny(fen: i64) -> Self {
        Money::new(fen, Currency::CNY)
    }

    pub fn zero(currency: Currency) -> Self {
        Money::new(0, currency)
    }

    pub fn is_zero(&self) -> bool {
        self.amount == 0
    }

    pub fn is_positive(&self) -> bool {
        self.amount > 0
    }

    fn same_currency(&self, other: &Money) -> Result<(), CoreError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(CoreError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    pub fn checked_add(&self, other: Money) -> Result<Money, CoreError> {
        self.same_currency(&other)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(CoreError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    pub fn checked_sub(&self, other: Money) -> Result<Money, CoreError> {
        self.same_currency(&other)?;
        let amount = self
            .amount
            .checked_sub(other.amount)
            .ok_or(CoreError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// `self × numerator / denominator`, rounded as asked. Exact in 128-bit intermediates.
    pub fn checked_mul_ratio(
        &self,
        numerator: i64,
        denominator: i64,
        rounding: Rounding,
    ) -> Result<Money, CoreError> {
        if denominator == 0 {
            return Err(CoreError::DivisionByZero);
        }
        let product = i128::from(self.amount) * i128::from(numerator);
        let amount = div_round(product, i128::from(denominator), rounding);
        let amount = i64::try_from(amount).map_err(|_| CoreError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// `self × factor` for an exact decimal factor (a markup such as `1.15`), rounded as asked.
    pub fn checked_mul_decimal(
        &self,
        factor: Decimal,
        rounding: Rounding,
    ) -> Result<Money, CoreError> {
        let (numerator, denominator) = decimal_as_ratio(factor)?;
        let product = i128::from(self.amount)
            .checked_mul(numerator)
            .ok_or(CoreError::Overflow)?;
        let amount = div_round(product, denominator, rounding);
        let amount = i64::try_from(amount).map_err(|_| CoreError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// Converts into another currency at `rate` (units of `to` per one unit of `self.currency`),
    /// minding both currencies' minor-unit exponents.
    pub fn convert(
        &self,
        rate: Decimal,
        to: Currency,
        rounding: Rounding,
    ) -> Result<Money, CoreError> {
        let (numerator, denominator) = decimal_as_ratio(rate)?;
        let from_exp = self.currency.exponent();
        let to_exp = to.exponent();
        let mut numerator = numerator;
        let mut denominator = denominator;
        if to_exp >= from_exp {
            numerator = numerator
                .checked_mul(10i128.pow(to_exp - from_exp))
                .ok_or(CoreError::Overflow)?;
        } else {
            denominator = denominator
                .checked_mul(10i128.pow(from_exp - to_exp))
                .ok_or(CoreError::Overflow)?;
        }
        let product = i128::from(self.amount)
            .checked_mul(numerator)
            .ok_or(CoreError::Overflow)?;
        let amount = div_round(product, denominator, rounding);
        let amount = i64::try_from(amount).map_err(|_| CoreError::Overflow)?;
        Ok(Money::new(amount, to))
    }

    /// Rounds up (away from negative infinity) to a multiple of `step` minor units.
    pub fn round_up_to_step(&self, step: i64) -> Result<Money, CoreError> {
        if step <= 0 {
            return Err(CoreError::DivisionByZero);
        }
        let steps = div_round(i128::from(self.amount), i128::from(step), Rounding::Ceil);
        let amount = steps
            .checked_mul(i128::from(step))
            .and_then(|a| i64::try_from(a).ok())
            .ok_or(CoreError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// The amount as a decimal in major units (for display only; 3000 CNY fen → 30.00).
    pub fn to_decimal(&self) -> Decimal {
        Decimal::new(self.amount, self.currency.exponent())
    }

    /// Parses a major-unit decimal (`"12.5"`) into minor units; refuses fractions finer than the
    /// currency's minor unit rather than rounding silently.
    pub fn from_decimal(value: Decimal, currency: Currency) -> Result<Money, CoreError> {
        let scaled = value
            .checked_mul(Decimal::from(10i64.pow(currency.exponent())))
            .ok_or(CoreError::Overflow)?;
        if scaled.fract() != Decimal::ZERO {
            return Err(CoreError::Overflow);
        }
        let amount = scaled.to_i64().ok_or(CoreError::Overflow)?;
        Ok(Money::new(amount, currency))
    }
}

fn decimal_as_ratio(value: Decimal) -> Result<(i128, i128), CoreError> {
    let denominator = 10i128
        .checked_pow(value.scale())
        .ok_or(CoreError::Overflow)?;
    Ok((value.mantissa(), denominator))
}

/// Integer division with explicit rounding; `denominator` must be non-zero.
fn div_round(numerator: i128, denominator: i128, rounding: Rounding) -> i128 {
    let (numerator, denominator) = if denominator < 0 {
        (-numerator, -denominator)
    } else {
        (numerator, denominator)
    };
    let floor = numerator.div_euclid(denominator);
    let remainder = numerator.rem_euclid(denominator);
    if remainder == 0 {
        return floor;
    }
    match rounding {
        Rounding::Floor => floor,
        Rounding::Ceil => floor + 1,
        Rounding::HalfUp | Rounding::HalfEven => {
            let twice = remainder * 2;
            if twice > denominator {
                floor + 1
            } else if twice < denominator {
                floor
            } else if rounding == Rounding::HalfEven {
                if floor % 2 == 0 { floor } else { floor + 1 }
            } else if numerator >= 0 {
                floor + 1
            } else {
                floor
            }
        }
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal(), self.currency)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn serializes_as_amount_and_currency() {
        let json = serde_json::to_string(&Money::cny(3000)).unwrap();
        assert_eq!(json, r#"{"amount":3000,"currency":"CNY"}"#);
        let back: Money = serde_json::from_str(&json).unwrap();
        assert_eq!(back, Money::cny(3000));
    }

    #[test]
    fn rejects_unknown_or_lowercase_currency_and_float_amounts() {
        assert!(serde_json::from_str::<Money>(r#"{"amount":1,"currency":"XYZ"}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount":1,"currency":"cny"}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount":1.5,"currency":"CNY"}"#).is_err());
    }

    #[test]
    fn add_and_sub_are_checked() {
        let a = Money::cny(i64::MAX);
        assert_eq!(a.checked_add(Money::cny(1)), Err(CoreError::Overflow));
        assert_eq!(
            Money::cny(500).checked_sub(Money::cny(120)).unwrap(),
            Money::cny(380)
        );
        let usd = Money::new(1, Currency::USD);
        assert!(matches!(
            Money::cny(1).checked_add(usd),
            Err(CoreError::CurrencyMismatch { .. })
        ));
    }

    #[test]
    fn ratio_rounding_modes() {
        let m = Money::cny(10);
        assert_eq!(
            m.checked_mul_ratio(1, 3, Rounding::Floor).unwrap().amount,
            3
        );
        assert_eq!(m.checked_mul_ratio(1, 3, Rounding::Ceil).unwrap().amount, 4);
        assert_eq!(
            m.checked_mul_ratio(1, 4, Rounding::HalfUp).unwrap().amount,
            3
        ); // 2.5 → 3
        assert_eq!(
            m.checked_mul_ratio(1, 4, Rounding::HalfEven)
                .unwrap()
                .amount,
            2
        ); // 2.5 → 2
        assert_eq!(
            Money::cny(-10)
                .checked_mul_ratio(1, 4, Rounding::HalfUp)
                .unwrap()
                .amount,
            -3
        );
        assert_eq!(
            Money::cny(-10)
                .checked_mul_ratio(1, 3, Rounding::Floor)
                .unwrap()
                .amount,
            -4
        );
        assert_eq!(
            m.checked_mul_ratio(1, 0, Rounding::Floor),
            Err(CoreError::DivisionByZero)
        );
        assert_eq!(
            Money::cny(i64::MAX).checked_mul_ratio(2, 1, Rounding::Floor),
            Err(CoreError::Overflow)
        );
    }

    #[test]
    fn decimal_factor_and_conversion_between_exponents() {
        // 1000 fen × 1.15 = 1150 fen exactly.
        assert_eq!(
            Money::cny(1000)
                .checked_mul_decimal(dec("1.15"), Rounding::Ceil)
                .unwrap(),
            Money::cny(1150)
        );
        // 5.00 USD at 7.1234 CNY/USD = 35.617 CNY → ceil 3562 fen.
        let usd = Money::new(500, Currency::USD);
        assert_eq!(
            usd.convert(dec("7.1234"), Currency::CNY, Rounding::Ceil)
                .unwrap(),
            Money::cny(3562)
        );
        // 1.00 USD → JPY (exponent 0) at 150.5 → 150.5 → half-even 150.
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(
            Money::new(100, Currency::USD)
                .convert(dec("150.5"), jpy, Rounding::HalfEven)
                .unwrap()
                .amount,
            150
        );
        // 1000 JPY → USD at 0.0067 = 6.70 USD = 670 cents.
        assert_eq!(
            Money::new(1000, jpy)
                .convert(dec("0.0067"), Currency::USD, Rounding::Floor)
                .unwrap()
                .amount,
            670
        );
    }

    #[test]
    fn step_rounding_and_decimal_parsing() {
        assert_eq!(
            Money::cny(1231).round_up_to_step(10).unwrap(),
            Money::cny(1240)
        );
        assert_eq!(
            Money::cny(1230).round_up_to_step(10).unwrap(),
            Money::cny(1230)
        );
        assert_eq!(
            Money::from_decimal(dec("12.5"), Currency::CNY).unwrap(),
            Money::cny(1250)
        );
        assert!(Money::from_decimal(dec("12.345"), Currency::CNY).is_err());
        assert_eq!(Money::cny(1250).to_string(), "12.50 CNY");
    }
}
