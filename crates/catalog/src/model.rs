//! The stored documents. Each synced document keeps what the provider says (`upstream`,
//! written only by sync) apart from what staff decide (`staff`, never touched by sync), so a
//! re-sync cannot undo an edit and an edit cannot hide an upstream change.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use topup_core::{CountryCode, Currency, Decimal, Id, IdKind, Money, Timestamp};
use topup_recharge::{Denomination, FxRate, ProductKind, ProviderAmount, ProviderId};
use topup_store::{Document, Lease};
use utoipa::ToSchema;

pub enum CountryKind {}
impl IdKind for CountryKind {
    const NAME: &'static str = "country";
}
pub enum OperatorKind {}
impl IdKind for OperatorKind {
    const NAME: &'static str = "operator";
}
pub enum PlanKind {}
impl IdKind for PlanKind {
    const NAME: &'static str = "plan";
}
pub enum SyncReportKind {}
impl IdKind for SyncReportKind {
    const NAME: &'static str = "sync report";
}
pub enum PriceChangeKind {}
impl IdKind for PriceChangeKind {
    const NAME: &'static str = "price change";
}

pub type CountryId = Id<CountryKind>;
pub type OperatorId = Id<OperatorKind>;
pub type PlanId = Id<PlanKind>;
pub type SyncReportId = Id<SyncReportKind>;
pub type PriceChangeId = Id<PriceChangeKind>;

/// What a plan sells: phone credit or a data bundle (provider "bundles" count as data).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PlanType {
    Airtime,
    Data,
}

impl PlanType {
    pub fn parse(text: &str) -> Option<PlanType> {
        match text {
            "airtime" => Some(PlanType::Airtime),
            "data" => Some(PlanType::Data),
            _ => None,
        }
    }

    pub fn of(kind: ProductKind) -> PlanType {
        match kind {
            ProductKind::Airtime => PlanType::Airtime,
            ProductKind::Data | ProductKind::Bundle => PlanType::Data,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            PlanType::Airtime => "airtime",
            PlanType::Data => "data",
        }
    }
}

// ---------- countries ----------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CountryDoc {
    pub id: CountryId,
    pub version: i64,
    pub code: CountryCode,
    pub upstream: CountryUpstream,
    pub staff: CountryStaff,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Document for CountryDoc {
    const COLLECTION: &'static str = "catalog_countries";
}

/// What the providers say about a country. Written by sync only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CountryUpstream {
    /// English name as the provider spells it.
    pub name: String,
    pub currency: Option<Currency>,
    /// `+63` style.
    pub calling_code: Option<String>,
    pub flag_url: Option<String>,
    /// Providers that listed the country at their last sync; empty means gone upstream.
    #[schema(value_type = Vec<String>)]
    pub providers: Vec<ProviderId>,
    pub synced_at: Option<Timestamp>,
}

/// Staff decisions about a country. Never touched by sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CountryStaff {
    pub name_zh: Option<String>,
    pub name_en: Option<String>,
    pub enabled: bool,
    pub sort: i32,
}

impl Default for CountryStaff {
    fn default() -> Self {
        CountryStaff {
            name_zh: None,
            name_en: None,
            enabled: true,
            sort: 0,
        }
    }
}

impl CountryDoc {
    pub fn available(&self) -> bool {
        !self.upstream.providers.is_empty()
    }

    /// Enabled by staff and still listed by a provider.
    pub fn active(&self) -> bool {
        self.staff.enabled && self.available()
    }

    pub fn name_en(&self) -> String {
        self.staff
            .name_en
            .clone()
            .unwrap_or_else(|| self.upstream.name.clone())
    }

    pub fn name_zh(&self) -> String {
        self.staff
            .name_zh
            .clone()
            .or_else(|| crate::text::chinese_country_name(self.code).map(str::to_owned))
            .unwrap_or_else(|| self.name_en())
    }
}

// ---------- operators ----------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OperatorDoc {
    pub id: OperatorId,
    pub version: i64,
    /// Upsert key: the provider account and its operator id (unique together).
    #[schema(value_type = String)]
    pub provider: ProviderId,
    pub provider_operator_id: String,
    pub country: CountryCode,
    pub upstream: OperatorUpstream,
    pub staff: OperatorStaff,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Document for OperatorDoc {
    const COLLECTION: &'static str = "catalog_operators";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OperatorUpstream {
    pub name: String,
    #[schema(value_type = String, example = "AIRTIME")]
    pub product_kind: ProductKind,
    pub plan_type: PlanType,
    pub logo_url: Option<String>,
    pub sender_currency: Currency,
    pub destination_currency: Currency,
    /// `{rate, currency}`: destination units per sender unit.
    #[schema(value_type = Option<Object>)]
    pub fx: Option<FxRate>,
    /// `{type: FIXED, amounts, local_amounts}` or `{type: RANGE, min, max, …}`.
    #[schema(value_type = Object)]
    pub denomination: Denomination,
    /// Listed at the last successful sync of its country.
    pub available: bool,
    pub synced_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OperatorStaff {
    pub name: Option<String>,
    pub logo_url: Option<String>,
    /// Groups an airtime operator with its data product lines (for detection); default is
    /// the upstream name without a trailing "Data"/"Bundle".
    pub brand: Option<String>,
    pub enabled: bool,
    pub sort: i32,
}

impl Default for OperatorStaff {
    fn default() -> Self {
        OperatorStaff {
            name: None,
            logo_url: None,
            brand: None,
            enabled: true,
            sort: 0,
        }
    }
}

impl OperatorDoc {
    pub fn active(&self) -> bool {
        self.staff.enabled && self.upstream.available
    }

    pub fn name(&self) -> String {
        self.staff
            .name
            .clone()
            .unwrap_or_else(|| self.upstream.name.clone())
    }

    pub fn logo_url(&self) -> Option<String> {
        self.staff
            .logo_url
            .clone()
            .or_else(|| self.upstream.logo_url.clone())
    }

    pub fn brand(&self) -> String {
        self.staff
            .brand
            .clone()
            .unwrap_or_else(|| crate::text::brand_of(&self.upstream.name))
            .to_lowercase()
    }
}

// ---------- plans ----------

/// Where a plan came from: a provider's listing (sync keeps it up to date and disables it
/// when it is gone) or staff (a custom amount on a range operator; sync leaves it alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PlanOrigin {
    Sync,
    Manual,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanDoc {
    pub id: PlanId,
    pub version: i64,
    /// Upsert key: provider, its operator id and `sku` (unique together).
    #[schema(value_type = String)]
    pub provider: ProviderId,
    pub provider_operator_id: String,
    /// The amount the provider is asked for, normalized (`5`, `0.87`); `manual-…` for
    /// staff-made plans.
    pub sku: String,
    pub operator_id: OperatorId,
    pub country: CountryCode,
    pub plan_type: PlanType,
    pub origin: PlanOrigin,
    pub upstream: PlanUpstream,
    pub staff: PlanStaff,
    pub price: PlanPrice,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Document for PlanDoc {
    const COLLECTION: &'static str = "catalog_plans";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanUpstream {
    /// What the provider charges, in its (sender) currency; sent as the top-up amount.
    #[schema(value_type = Object, example = json!({"value": "0.87", "currency": "USD"}))]
    pub cost: ProviderAmount,
    /// What the recipient gets, in the destination currency.
    pub face_value: Money,
    /// The provider's plan text ("GoSURF50: 2GB 3 days").
    pub description: Option<String>,
    pub available: bool,
    pub synced_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct PlanStaff {
    pub title_zh: Option<String>,
    pub title_en: Option<String>,
    pub description_zh: Option<String>,
    pub description_en: Option<String>,
    pub validity_days: Option<u32>,
    pub enabled: bool,
    pub sort: i32,
    pub tags: Vec<String>,
    /// A fixed retail price that no rule changes.
    pub pinned_price: Option<Money>,
}

impl PlanStaff {
    pub fn new() -> Self {
        PlanStaff {
            enabled: true,
            ..PlanStaff::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PriceSource {
    /// Cost × FX × (1 + markup), rounded up to the step.
    Rule,
    /// Staff pinned the price.
    Pinned,
    /// No price could be computed (no FX rate for the cost currency); not sold.
    Missing,
}

/// The retail price as last computed, with what it was computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanPrice {
    pub retail: Option<Money>,
    pub source: PriceSource,
    #[schema(value_type = Option<String>)]
    pub markup: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub fx_to_cny: Option<Decimal>,
    pub error: Option<String>,
}

impl PlanDoc {
    pub fn available(&self) -> bool {
        self.upstream.available
    }

    pub fn active(&self) -> bool {
        self.staff.enabled && self.upstream.available && self.price.retail.is_some()
    }
}

// ---------- pricing rules, price log ----------

/// Markups, most specific first: operator, then country, then global. Stored as one
/// document, edited by staff; seeded from `[catalog]` at first start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PricingRules {
    #[schema(value_type = String)]
    pub id: String,
    pub version: i64,
    /// `0.08` is 8 % over cost.
    #[schema(value_type = String, example = "0.08")]
    pub markup: Decimal,
    #[schema(value_type = BTreeMap<String, String>)]
    pub country_markups: BTreeMap<CountryCode, Decimal>,
    #[schema(value_type = BTreeMap<String, String>)]
    pub operator_markups: BTreeMap<OperatorId, Decimal>,
    /// Prices are rounded up to a multiple of this many fen.
    pub step_fen: i64,
    pub updated_at: Timestamp,
    pub updated_by: String,
}

impl PricingRules {
    pub const ID: &'static str = "rules";
}

impl Document for PricingRules {
    const COLLECTION: &'static str = "catalog_pricing";
}

/// One change of a plan's retail price: who, when, from what to what, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PriceChange {
    pub id: PriceChangeId,
    pub plan_id: PlanId,
    pub old: Option<Money>,
    pub new: Option<Money>,
    /// `staff:<user>` or `sync`.
    pub actor: String,
    /// `sync`, `rules`, `pin`, `unpin`, `created`.
    pub reason: String,
    pub at: Timestamp,
}

impl Document for PriceChange {
    const COLLECTION: &'static str = "catalog_price_changes";
}

// ---------- sync reports ----------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct SyncCounts {
    pub added: u32,
    pub updated: u32,
    pub disabled: u32,
    pub unchanged: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProviderSyncReport {
    #[schema(value_type = String)]
    pub provider: ProviderId,
    pub countries: SyncCounts,
    pub operators: SyncCounts,
    pub plans: SyncCounts,
    /// What went wrong (no secrets); the rest of the provider's catalog still synced.
    pub errors: Vec<String>,
    pub duration_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SyncReport {
    pub id: SyncReportId,
    /// `startup`, `schedule` or `staff:<user>`.
    pub trigger: String,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub duration_ms: i64,
    pub providers: Vec<ProviderSyncReport>,
    /// No provider reported an error.
    pub ok: bool,
}

impl Document for SyncReport {
    const COLLECTION: &'static str = "catalog_sync_reports";
}

// ---------- meta: version stamp and sync lock ----------

/// Bumped on every catalog change; processes compare it with their snapshot's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Stamp {
    pub id: String,
    pub version: i64,
    pub changed_at: Timestamp,
}

impl Stamp {
    pub const ID: &'static str = "stamp";
}

impl Document for Stamp {
    const COLLECTION: &'static str = "catalog_meta";
}

/// At most one sync at a time across processes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SyncLock {
    pub id: String,
    pub version: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
}

impl SyncLock {
    pub const ID: &'static str = "sync_lock";
}

impl Document for SyncLock {
    const COLLECTION: &'static str = "catalog_meta";
}

/// For patches: absent → `None` (leave), `null` → `Some(None)` (clear), value → `Some(Some)`.
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
