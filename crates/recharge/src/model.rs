//! The provider-neutral vocabulary of the port: catalog entries, top-up requests and the
//! classified results every adapter returns.

use std::fmt;

use serde::{Deserialize, Serialize};
use topup_core::{CoreError, CountryCode, Currency, Decimal, Money, Msisdn, Rounding, Timestamp};

/// The configured name of one provider account (`reloadly-main`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProviderId(String);

impl ProviderId {
    pub fn new(id: impl Into<String>) -> Self {
        ProviderId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An exact amount in major units of a currency, as providers quote them. Provider amounts can
/// be finer than the currency's minor unit (`4.9985 GBP`), so this is not [`Money`]; convert
/// with [`ProviderAmount::to_money`] when a rounding rule is chosen.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderAmount {
    /// Major units, serialized as a string so no JSON reader turns it into a float.
    pub value: Decimal,
    pub currency: Currency,
}

impl ProviderAmount {
    pub fn new(value: Decimal, currency: Currency) -> Self {
        ProviderAmount { value, currency }
    }

    /// Minor units, rounded as asked.
    pub fn to_money(&self, rounding: Rounding) -> Result<Money, CoreError> {
        use rust_decimal::RoundingStrategy as S;
        let strategy = match rounding {
            Rounding::Floor => S::ToNegativeInfinity,
            Rounding::Ceil => S::ToPositiveInfinity,
            Rounding::HalfUp => S::MidpointAwayFromZero,
            Rounding::HalfEven => S::MidpointNearestEven,
        };
        let rounded = self
            .value
            .round_dp_with_strategy(self.currency.exponent(), strategy);
        Money::from_decimal(rounded, self.currency)
    }

    pub fn from_money(money: Money) -> Self {
        ProviderAmount::new(money.to_decimal(), money.currency)
    }
}

impl fmt::Debug for ProviderAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.value, self.currency)
    }
}

impl fmt::Display for ProviderAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.value, self.currency)
    }
}

/// A country the provider serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderCountry {
    pub code: CountryCode,
    pub name: String,
    pub currency: Option<Currency>,
    /// `+63` style.
    pub calling_codes: Vec<String>,
    pub flag_url: Option<String>,
}

/// What an operator entry sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProductKind {
    /// Phone credit.
    Airtime,
    /// Data plans.
    Data,
    /// Combined plans (data, minutes, texts).
    Bundle,
}

/// A fixed denomination; data plans carry a description such as "2GB 7 days".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedAmount {
    pub amount: ProviderAmount,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Denomination {
    /// Only these amounts. `amounts` are in the sender currency; `local_amounts` in the
    /// destination currency when the operator takes local amounts.
    Fixed {
        amounts: Vec<FixedAmount>,
        local_amounts: Vec<FixedAmount>,
    },
    /// Any amount between the bounds (sender currency; local bounds in destination currency).
    Range {
        min: ProviderAmount,
        max: ProviderAmount,
        local_min: Option<ProviderAmount>,
        local_max: Option<ProviderAmount>,
    },
}

/// Destination-currency units for one sender-currency unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FxRate {
    pub rate: Decimal,
    pub currency: Currency,
}

/// An operator (or one of its data/bundle product lines) as the provider lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderOperator {
    /// The provider's own id, as text (Reloadly's are numbers).
    pub operator_id: String,
    pub name: String,
    pub country: CountryCode,
    pub kind: ProductKind,
    pub denomination: Denomination,
    pub sender_currency: Currency,
    pub destination_currency: Currency,
    pub fx: Option<FxRate>,
    pub supports_local_amounts: bool,
    pub logo_urls: Vec<String>,
}

/// One top-up as we ask a provider for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopupRequest {
    /// Our idempotency key (Reloadly's `customIdentifier`): unique per provider transaction.
    pub custom_identifier: String,
    /// The provider's operator id.
    pub operator_id: String,
    pub recipient: Msisdn,
    /// Sender (account) currency, or destination currency when `use_local_amount`.
    pub amount: ProviderAmount,
    pub use_local_amount: bool,
    pub sender_phone: Option<Msisdn>,
}

/// The class of a top-up result; it decides what the order does next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "class", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TopupOutcome {
    /// Delivered.
    Succeeded,
    /// Accepted and still running; poll the status of `provider_ref`.
    Pending { provider_ref: String },
    /// Not done, nothing charged; the same or another provider may be tried again.
    FailedRetryable,
    /// Not done and will not be: refund the user.
    FailedFinal,
    /// Our side is not ready (wallet empty, credentials refused, misconfiguration): hold the
    /// order and alert staff; another provider may be tried.
    Precondition,
    /// No answer: the top-up may or may not have happened. Look it up by the custom
    /// identifier before anything else; never resend blindly.
    Ambiguous,
}

impl TopupOutcome {
    /// Whether the router may try the next provider after this result.
    pub fn allows_failover(&self) -> bool {
        matches!(
            self,
            TopupOutcome::FailedRetryable | TopupOutcome::Precondition
        )
    }
}

/// What happened, for an order's recharge-attempt log. Never holds secrets.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AttemptSummary {
    pub provider: Option<ProviderId>,
    pub custom_identifier: Option<String>,
    pub provider_transaction_id: Option<String>,
    pub operator_transaction_id: Option<String>,
    /// The provider's own status word (`SUCCESSFUL`, `PROCESSING`, ...).
    pub provider_status: Option<String>,
    pub http_status: Option<u16>,
    /// The provider's error code (`INSUFFICIENT_BALANCE`) or ours for transport failures
    /// (`TIMEOUT`, `CONNECT_FAILED`).
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub requested_amount: Option<ProviderAmount>,
    pub delivered_amount: Option<ProviderAmount>,
    pub discount: Option<ProviderAmount>,
    pub balance_after: Option<ProviderAmount>,
    pub transaction_date: Option<Timestamp>,
}

/// A classified top-up result with its log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopupResult {
    pub outcome: TopupOutcome,
    pub summary: AttemptSummary,
}

impl TopupResult {
    pub fn new(outcome: TopupOutcome, summary: AttemptSummary) -> Self {
        TopupResult { outcome, summary }
    }
}

/// The answer to "did a transaction with our key ever happen?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransactionLookup {
    Found(Box<TopupResult>),
    /// The provider has no transaction with this key: it was never committed.
    NotFound,
}

/// A page of a provider's transaction report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionPage {
    pub transactions: Vec<TopupResult>,
    /// No page follows this one.
    pub last: bool,
}

/// One provider's balance for a dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderBalance {
    pub provider: ProviderId,
    pub balance: Option<ProviderAmount>,
    /// Why the balance could not be read (no secrets in it).
    pub error: Option<String>,
}
