//! The catalog (seed: 各国家套餐管理): per country, the airtime and data plans end users can
//! buy, with retail prices in CNY.
//!
//! - Documents ([`CountryDoc`], [`OperatorDoc`], [`PlanDoc`]) keep provider-owned fields
//!   (`upstream`, written by [`Catalog::sync`]) apart from staff-owned ones (`staff`), so edits
//!   survive re-syncs; products gone upstream are disabled, never deleted.
//! - Retail pricing ([`pricing`]): cost × FX to CNY × (1 + markup), rounded up to a step;
//!   markups per operator, country or globally; staff can pin a price. Changes are logged.
//! - Reads come from an in-memory [`Snapshot`] with pre-serialized responses, rebuilt when
//!   the catalog's version stamp moves (in any process sharing the store).
//! - [`Catalog::detect`] asks the provider which operator a number belongs to, cached per
//!   number on the injected clock.

mod admin;
mod config;
mod detect;
mod error;
mod model;
pub mod pricing;
mod service;
mod snapshot;
mod sync;
pub mod text;

pub use admin::{
    BulkTarget, CountryFilter, CountryPatch, NewPlan, OperatorFilter, OperatorPatch, PlanFilter,
    PlanPatch, PricingRulesUpdate,
};
pub use config::CatalogConfig;
pub use detect::Detection;
pub use error::CatalogError;
pub use model::{
    CountryDoc, CountryId, CountryKind, CountryStaff, CountryUpstream, OperatorDoc, OperatorId,
    OperatorKind, OperatorStaff, OperatorUpstream, PlanDoc, PlanId, PlanKind, PlanOrigin,
    PlanPrice, PlanStaff, PlanType, PlanUpstream, PriceChange, PriceChangeId, PriceSource,
    PricingRules, ProviderSyncReport, SyncCounts, SyncReport, SyncReportId,
};
pub use service::Catalog;
pub use snapshot::{AppCountry, AppOperator, AppPlan, CountryList, PlanList, PlanOffer, Snapshot};
