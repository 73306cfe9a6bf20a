//! Reloadly's JSON, read leniently: numbers exactly (through the raw JSON text, never a
//! float), ids as numbers or strings, `fixedAmountsDescriptions` as `{}` or `[]`, dates
//! `yyyy-MM-dd HH:mm:ss` without a zone (UTC). A malformed field becomes "unknown" instead of
//! failing the whole response.

use std::str::FromStr;

use chrono::{NaiveDateTime, TimeZone, Utc};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use topup_core::{CountryCode, Currency, Decimal, Timestamp};

use crate::model::{
    AttemptSummary, Denomination, FixedAmount, FxRate, ProductKind, ProviderAmount,
    ProviderCountry, ProviderOperator,
};

/// Parses the text of a JSON number or numeric string exactly.
pub(crate) fn parse_decimal(text: &str) -> Option<Decimal> {
    let text = text.trim().trim_matches('"').trim();
    if text.is_empty() {
        return None;
    }
    if text.contains(['e', 'E']) {
        Decimal::from_scientific(text).ok()
    } else {
        Decimal::from_str(text).ok()
    }
}

/// A decimal that may be absent, null or unreadable (then `None`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Num(pub Option<Decimal>);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw.get().trim();
        if text.starts_with('"') {
            let inner: String = serde_json::from_str(text).map_err(D::Error::custom)?;
            return Ok(Num(parse_decimal(&inner)));
        }
        Ok(Num(parse_decimal(text)))
    }
}

/// An id sent as a JSON number or string (`4602843` or `"4602843"`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IdText(pub Option<String>);

impl<'de> Deserialize<'de> for IdText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw.get().trim();
        if text.starts_with('"') {
            let inner: String = serde_json::from_str(text).map_err(D::Error::custom)?;
            let inner = inner.trim().to_owned();
            return Ok(IdText((!inner.is_empty()).then_some(inner)));
        }
        if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            return Ok(IdText(Some(text.to_owned())));
        }
        Ok(IdText(None))
    }
}

/// Reloadly's `yyyy-MM-dd HH:mm:ss` (UTC, no zone); RFC 3339 is accepted too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LenientTime(pub Option<Timestamp>);

pub(crate) fn parse_reloadly_time(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(at) = Timestamp::parse(text) {
        return Some(at);
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|naive| Timestamp::from_datetime(Utc.from_utc_datetime(&naive)))
}

impl<'de> Deserialize<'de> for LenientTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Option::<IdText>::deserialize(d)?.and_then(|t| t.0);
        Ok(LenientTime(text.as_deref().and_then(parse_reloadly_time)))
    }
}

/// `fixedAmountsDescriptions`: an object keyed by amount (`{"5.00": "2GB 7 days"}`), an empty
/// object, or an empty array. An array of strings is taken as aligned with the amounts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Descriptions {
    #[default]
    None,
    ByAmount(Vec<(Decimal, String)>),
    ByIndex(Vec<String>),
}

impl Descriptions {
    fn for_amount(&self, index: usize, amount: Decimal) -> Option<String> {
        match self {
            Descriptions::None => None,
            // Decimal equality is numeric: "5.00" matches 5.
            Descriptions::ByAmount(entries) => entries
                .iter()
                .find(|(a, _)| *a == amount)
                .map(|(_, d)| d.clone()),
            Descriptions::ByIndex(texts) => texts.get(index).cloned(),
        }
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty())
    }
}

impl<'de> Deserialize<'de> for Descriptions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw.get().trim();
        if text.starts_with('{') {
            let entries = object_entries(text).map_err(D::Error::custom)?;
            let parsed = entries
                .into_iter()
                .filter_map(|(key, value)| {
                    let amount = parse_decimal(&key)?;
                    let description: String = serde_json::from_str(value.get()).ok()?;
                    Some((amount, description))
                })
                .collect();
            return Ok(Descriptions::ByAmount(parsed));
        }
        if text.starts_with('[') {
            let items: Vec<Box<RawValue>> = serde_json::from_str(text).map_err(D::Error::custom)?;
            let texts: Vec<String> = items
                .iter()
                .filter_map(|item| serde_json::from_str::<String>(item.get()).ok())
                .collect();
            if texts.is_empty() || texts.len() != items.len() {
                return Ok(Descriptions::None);
            }
            return Ok(Descriptions::ByIndex(texts));
        }
        Ok(Descriptions::None)
    }
}

/// The entries of a JSON object with raw values (numbers untouched).
fn object_entries(text: &str) -> Result<Vec<(String, Box<RawValue>)>, serde_json::Error> {
    let map: std::collections::BTreeMap<String, Box<RawValue>> = serde_json::from_str(text)?;
    Ok(map.into_iter().collect())
}

fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

fn currency(code: Option<&str>) -> Option<Currency> {
    code.and_then(|c| Currency::parse(c.trim()).ok())
}

fn amount(value: Num, code: Option<&str>) -> Option<ProviderAmount> {
    Some(ProviderAmount::new(value.0?, currency(code)?))
}

// ---------- auth ----------

#[derive(Serialize)]
pub(crate) struct TokenRequest<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub grant_type: &'static str,
    pub audience: &'a str,
}

#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Num,
}

// ---------- errors ----------

/// Reloadly's error body, and Spring's own 404 shape (`status`, `error`) for wrong paths.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub error_code: IdText,
    #[serde(default)]
    pub error: Option<String>,
}

impl ErrorBody {
    pub fn parse(body: &[u8]) -> ErrorBody {
        serde_json::from_slice(body).unwrap_or_default()
    }

    pub fn code(&self) -> Option<&str> {
        self.error_code.0.as_deref()
    }

    pub fn message(&self) -> Option<String> {
        self.message
            .clone()
            .or_else(|| self.error.clone())
            .map(|m| m.chars().take(300).collect())
    }
}

// ---------- catalog ----------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CountryDto {
    pub iso_name: Option<String>,
    pub name: Option<String>,
    pub currency_code: Option<String>,
    pub flag: Option<String>,
    #[serde(default, deserialize_with = "list")]
    pub calling_codes: Vec<String>,
}

impl CountryDto {
    pub fn into_model(self) -> Option<ProviderCountry> {
        let code = CountryCode::parse(self.iso_name.as_deref()?).ok()?;
        Some(ProviderCountry {
            code,
            name: self.name.unwrap_or_else(|| code.as_str().to_owned()),
            currency: currency(self.currency_code.as_deref()),
            calling_codes: self.calling_codes,
            flag_url: self.flag,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CountryRefDto {
    pub iso_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FxDto {
    #[serde(default)]
    pub rate: Num,
    pub currency_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OperatorDto {
    #[serde(default)]
    pub id: IdText,
    #[serde(default)]
    pub operator_id: IdText,
    pub name: Option<String>,
    pub bundle: Option<bool>,
    pub data: Option<bool>,
    pub supports_local_amounts: Option<bool>,
    pub denomination_type: Option<String>,
    pub sender_currency_code: Option<String>,
    pub destination_currency_code: Option<String>,
    #[serde(default)]
    pub min_amount: Num,
    #[serde(default)]
    pub max_amount: Num,
    #[serde(default)]
    pub local_min_amount: Num,
    #[serde(default)]
    pub local_max_amount: Num,
    pub country: Option<CountryRefDto>,
    pub fx: Option<FxDto>,
    #[serde(default, deserialize_with = "list")]
    pub logo_urls: Vec<String>,
    #[serde(default, deserialize_with = "list")]
    pub fixed_amounts: Vec<Num>,
    #[serde(default)]
    pub fixed_amounts_descriptions: Descriptions,
    #[serde(default, deserialize_with = "list")]
    pub local_fixed_amounts: Vec<Num>,
    #[serde(default)]
    pub local_fixed_amounts_descriptions: Descriptions,
}

fn fixed_amounts(
    values: &[Num],
    descriptions: &Descriptions,
    currency: Currency,
) -> Vec<FixedAmount> {
    values
        .iter()
        .enumerate()
        .filter_map(|(index, value)| {
            let value = value.0?;
            Some(FixedAmount {
                amount: ProviderAmount::new(value, currency),
                description: descriptions.for_amount(index, value),
            })
        })
        .collect()
}

impl OperatorDto {
    /// `None` when an essential field (id, country, currencies, amounts) is missing.
    pub fn into_model(self) -> Option<ProviderOperator> {
        let operator_id = self.operator_id.0.or(self.id.0)?;
        let country = CountryCode::parse(self.country.as_ref()?.iso_name.as_deref()?).ok()?;
        let sender = currency(self.sender_currency_code.as_deref())?;
        let destination = currency(self.destination_currency_code.as_deref())?;
        let kind = if self.data.unwrap_or(false) {
            ProductKind::Data
        } else if self.bundle.unwrap_or(false) {
            ProductKind::Bundle
        } else {
            ProductKind::Airtime
        };
        let is_range = self
            .denomination_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("RANGE"));
        let denomination = if is_range {
            Denomination::Range {
                min: ProviderAmount::new(self.min_amount.0?, sender),
                max: ProviderAmount::new(self.max_amount.0?, sender),
                local_min: self
                    .local_min_amount
                    .0
                    .map(|v| ProviderAmount::new(v, destination)),
                local_max: self
                    .local_max_amount
                    .0
                    .map(|v| ProviderAmount::new(v, destination)),
            }
        } else {
            Denomination::Fixed {
                amounts: fixed_amounts(
                    &self.fixed_amounts,
                    &self.fixed_amounts_descriptions,
                    sender,
                ),
                local_amounts: fixed_amounts(
                    &self.local_fixed_amounts,
                    &self.local_fixed_amounts_descriptions,
                    destination,
                ),
            }
        };
        let fx = self.fx.and_then(|fx| {
            Some(FxRate {
                rate: fx.rate.0?,
                currency: currency(fx.currency_code.as_deref()).unwrap_or(destination),
            })
        });
        Some(ProviderOperator {
            operator_id,
            name: self.name.unwrap_or_default(),
            country,
            kind,
            denomination,
            sender_currency: sender,
            destination_currency: destination,
            fx,
            supports_local_amounts: self.supports_local_amounts.unwrap_or(false),
            logo_urls: self.logo_urls,
        })
    }
}

// ---------- top-ups ----------

/// A JSON number written from an exact decimal.
pub(crate) struct JsonNumber(pub Decimal);

impl Serialize for JsonNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(self.0.normalize().to_string())
            .map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

/// An operator id as a JSON number when it is one, else as a string.
pub(crate) struct OperatorIdJson<'a>(pub &'a str);

impl Serialize for OperatorIdJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.parse::<u64>() {
            Ok(n) => s.serialize_u64(n),
            Err(_) => s.serialize_str(self.0),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PhoneJson {
    pub country_code: String,
    pub number: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TopupBody<'a> {
    pub operator_id: OperatorIdJson<'a>,
    pub amount: JsonNumber,
    pub use_local_amount: bool,
    pub custom_identifier: &'a str,
    pub recipient_phone: PhoneJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_phone: Option<PhoneJson>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BalanceInfoDto {
    #[serde(default)]
    pub new_balance: Num,
    pub currency_code: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TransactionDto {
    #[serde(default)]
    pub transaction_id: IdText,
    pub status: Option<String>,
    #[serde(default)]
    pub operator_transaction_id: IdText,
    #[serde(default)]
    pub custom_identifier: IdText,
    #[serde(default)]
    pub discount: Num,
    pub discount_currency_code: Option<String>,
    #[serde(default)]
    pub requested_amount: Num,
    pub requested_amount_currency_code: Option<String>,
    #[serde(default)]
    pub delivered_amount: Num,
    pub delivered_amount_currency_code: Option<String>,
    #[serde(default)]
    pub transaction_date: LenientTime,
    pub balance_info: Option<BalanceInfoDto>,
}

impl TransactionDto {
    pub fn status(&self) -> Option<String> {
        self.status
            .as_deref()
            .map(|s| s.trim().to_ascii_uppercase())
    }

    /// Fills the parts of an attempt summary this transaction knows.
    pub fn summarize(&self, summary: &mut AttemptSummary) {
        summary.provider_transaction_id = self.transaction_id.0.clone();
        summary.operator_transaction_id = self.operator_transaction_id.0.clone();
        summary.provider_status = self.status();
        if let Some(key) = &self.custom_identifier.0 {
            summary.custom_identifier = Some(key.clone());
        }
        summary.requested_amount = amount(
            self.requested_amount,
            self.requested_amount_currency_code.as_deref(),
        );
        summary.delivered_amount = amount(
            self.delivered_amount,
            self.delivered_amount_currency_code.as_deref(),
        );
        summary.discount = amount(self.discount, self.discount_currency_code.as_deref());
        summary.transaction_date = self.transaction_date.0;
        summary.balance_after = self
            .balance_info
            .as_ref()
            .and_then(|b| amount(b.new_balance, b.currency_code.as_deref()));
    }
}

/// `GET /topups/{id}/status`: either `{code, message, status, transaction}` or the flat
/// transaction. This probe reads the wrapper fields; `transaction` stays raw.
#[derive(Deserialize)]
struct StatusProbe {
    #[serde(default)]
    code: IdText,
    message: Option<String>,
    status: Option<String>,
    transaction: Option<Box<RawValue>>,
}

/// A status answer in either shape.
#[derive(Debug, Clone, Default)]
pub(crate) struct StatusView {
    /// The transaction, its `status` taken from the wrapper when there is one.
    pub transaction: TransactionDto,
    pub code: Option<String>,
    pub message: Option<String>,
}

pub(crate) fn parse_status(body: &[u8]) -> Result<StatusView, serde_json::Error> {
    let probe: StatusProbe = serde_json::from_slice(body)?;
    match &probe.transaction {
        Some(raw) if raw.get().trim_start().starts_with('{') => {
            let mut transaction: TransactionDto = serde_json::from_str(raw.get())?;
            if probe.status.is_some() {
                transaction.status = probe.status;
            }
            Ok(StatusView {
                transaction,
                code: probe.code.0,
                message: probe.message,
            })
        }
        _ => Ok(StatusView {
            transaction: serde_json::from_slice(body)?,
            code: None,
            message: None,
        }),
    }
}

/// `{content: [...]}` (Spring page) or a bare array.
pub(crate) fn parse_report(body: &[u8]) -> Result<Vec<TransactionDto>, serde_json::Error> {
    #[derive(Deserialize)]
    struct Page {
        #[serde(default, deserialize_with = "list")]
        content: Vec<TransactionDto>,
    }
    let trimmed = std::str::from_utf8(body)
        .map(str::trim_start)
        .unwrap_or_default();
    if trimmed.starts_with('[') {
        serde_json::from_slice(body)
    } else {
        serde_json::from_slice::<Page>(body).map(|p| p.content)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BalanceDto {
    #[serde(default)]
    pub balance: Num,
    pub currency_code: Option<String>,
}

impl BalanceDto {
    pub fn into_model(self) -> Option<ProviderAmount> {
        amount(self.balance, self.currency_code.as_deref())
    }
}
