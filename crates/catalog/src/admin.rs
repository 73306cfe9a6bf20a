//! What staff do with the catalog: list and edit countries, operators and plans, make
//! custom plans, enable/disable in bulk, set pricing rules, read sync reports and the price
//! log. Every edit touches only the staff-owned part of a document, so syncs keep it.
//! Callers pass `actor` (`staff:<user>`) for the logs; permissions are checked by the caller.

use std::collections::BTreeMap;

use serde::Deserialize;
use topup_core::{CountryCode, Currency, Decimal, Id, Money, Page, PageRequest};
use topup_recharge::{Denomination, ProviderAmount};
use topup_store::{Collection, Document, Filter, SortOrder};
use utoipa::ToSchema;

use crate::config::{validate_markup, validate_step};
use crate::model::{
    CountryDoc, OperatorDoc, OperatorId, PlanDoc, PlanId, PlanOrigin, PlanStaff, PlanType,
    PlanUpstream, PriceChange, PricingRules, SyncReport, double_option,
};
use crate::pricing::price_plan;
use crate::service::modify;
use crate::sync::{face_value_of, sku_of};
use crate::{Catalog, CatalogError};

const MAX_TEXT: usize = 200;
const MAX_TAGS: usize = 10;
/// ¥1,000,000.00: no plan is pinned above this.
const MAX_PINNED_FEN: i64 = 100_000_000;

fn text(field: &str, value: Option<String>) -> Result<Option<String>, CatalogError> {
    match value.map(|v| v.trim().to_owned()) {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) if v.chars().count() > MAX_TEXT => Err(CatalogError::Invalid(format!(
            "{field}: at most {MAX_TEXT} characters"
        ))),
        Some(v) => Ok(Some(v)),
    }
}

fn tags(values: Vec<String>) -> Result<Vec<String>, CatalogError> {
    if values.len() > MAX_TAGS {
        return Err(CatalogError::Invalid(format!("tags: at most {MAX_TAGS}")));
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for tag in values {
        let tag = tag.trim().to_ascii_lowercase();
        let valid = (1..=32).contains(&tag.len())
            && tag
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !valid {
            return Err(CatalogError::Invalid(format!(
                "tags: {tag:?} must be 1-32 of a-z, 0-9, - and _"
            )));
        }
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

fn pinned(value: Option<Money>) -> Result<Option<Money>, CatalogError> {
    match value {
        Some(price) if price.currency != Currency::CNY => {
            Err(CatalogError::Invalid("pinned_price: must be in CNY".into()))
        }
        Some(price) if price.amount <= 0 || price.amount > MAX_PINNED_FEN => Err(
            CatalogError::Invalid("pinned_price: must be between 1 fen and ¥1,000,000".into()),
        ),
        other => Ok(other),
    }
}

fn parse_id<K: topup_core::IdKind>(what: &'static str, id: &str) -> Result<Id<K>, CatalogError> {
    Id::parse(id)
        .map_err(|_| CatalogError::not_found(what, id.chars().take(40).collect::<String>()))
}

/// The document `id` names, after checking it is an id of kind `K`; a malformed or unknown
/// id is the same "not found".
async fn fetch_by_id<K: topup_core::IdKind, T: Document>(
    collection: &Collection<T>,
    what: &'static str,
    id: &str,
) -> Result<T, CatalogError> {
    let id = parse_id::<K>(what, id)?.to_string();
    collection
        .get(&id)
        .await?
        .ok_or_else(|| CatalogError::not_found(what, id))
}

async fn page_of<T: Document>(
    collection: &Collection<T>,
    filter: Filter,
    sort: &[(&str, SortOrder)],
    page: PageRequest,
) -> Result<Page<T>, CatalogError> {
    let page = page.validated()?;
    Ok(collection.page(filter, sort, page).await?)
}

/// Staff changes to a country; absent fields stay as they are, `null` clears.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CountryPatch {
    #[serde(default, deserialize_with = "double_option")]
    pub name_zh: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub name_en: Option<Option<String>>,
    pub enabled: Option<bool>,
    pub sort: Option<i32>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorPatch {
    #[serde(default, deserialize_with = "double_option")]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub logo_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub brand: Option<Option<String>>,
    pub enabled: Option<bool>,
    pub sort: Option<i32>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanPatch {
    #[serde(default, deserialize_with = "double_option")]
    pub title_zh: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub title_en: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub description_zh: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub description_en: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub validity_days: Option<Option<u32>>,
    pub enabled: Option<bool>,
    pub sort: Option<i32>,
    pub tags: Option<Vec<String>>,
    /// A CNY price no rule changes; `null` returns the plan to the rules.
    #[serde(default, deserialize_with = "double_option")]
    pub pinned_price: Option<Option<Money>>,
}

/// A staff-made plan: a custom amount on one of an operator's denominations.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlan {
    pub operator_id: OperatorId,
    /// In the operator's sender currency, within its range (or one of its fixed amounts).
    #[schema(value_type = String, example = "3.5")]
    pub amount: Decimal,
    #[serde(default)]
    pub title_zh: Option<String>,
    #[serde(default)]
    pub title_en: Option<String>,
    #[serde(default)]
    pub description_zh: Option<String>,
    #[serde(default)]
    pub description_en: Option<String>,
    #[serde(default)]
    pub validity_days: Option<u32>,
    #[serde(default)]
    pub sort: i32,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub pinned_price: Option<Money>,
}

/// The whole rule set, replacing the stored one if `version` still matches.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PricingRulesUpdate {
    #[schema(value_type = String, example = "0.08")]
    pub markup: Decimal,
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, String>)]
    pub country_markups: BTreeMap<CountryCode, Decimal>,
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, String>)]
    pub operator_markups: BTreeMap<OperatorId, Decimal>,
    pub step_fen: i64,
    /// The version read; a newer stored one is a conflict.
    pub version: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BulkTarget {
    Countries,
    Operators,
    Plans,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct CountryFilter {
    pub enabled: Option<bool>,
    /// Code or name contains.
    pub q: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct OperatorFilter {
    pub country: Option<CountryCode>,
    pub provider: Option<String>,
    pub enabled: Option<bool>,
    pub available: Option<bool>,
    pub q: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PlanFilter {
    pub country: Option<CountryCode>,
    pub operator_id: Option<OperatorId>,
    pub plan_type: Option<PlanType>,
    pub enabled: Option<bool>,
    pub available: Option<bool>,
    pub tag: Option<String>,
}

fn apply<T: Clone>(target: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *target = value;
    }
}

impl Catalog {
    // ---------- countries ----------

    pub async fn list_countries(
        &self,
        filter: &CountryFilter,
        page: PageRequest,
    ) -> Result<Page<CountryDoc>, CatalogError> {
        let mut f = Filter::All;
        if let Some(enabled) = filter.enabled {
            f = f.and(Filter::eq("staff.enabled", enabled));
        }
        if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            f = f.and(
                Filter::contains("code", q)
                    .or(Filter::contains("upstream.name", q))
                    .or(Filter::contains("staff.name_zh", q)),
            );
        }
        page_of(
            &self.db().countries,
            f,
            &[("staff.sort", SortOrder::Asc), ("code", SortOrder::Asc)],
            page,
        )
        .await
    }

    pub async fn country(&self, id: &str) -> Result<CountryDoc, CatalogError> {
        fetch_by_id::<crate::model::CountryKind, _>(&self.db().countries, "country", id).await
    }

    /// The country with this ISO code, on sale or not.
    pub async fn country_by_code(&self, code: &str) -> Result<Option<CountryDoc>, CatalogError> {
        let Ok(code) = code.parse::<CountryCode>() else {
            return Ok(None);
        };
        Ok(self
            .db()
            .countries
            .find_one(Filter::eq("code", code))
            .await?)
    }

    pub async fn update_country(
        &self,
        id: &str,
        patch: CountryPatch,
        actor: &str,
    ) -> Result<CountryDoc, CatalogError> {
        let id = self.country(id).await?.id.to_string();
        let name_zh = patch.name_zh.map(|v| text("name_zh", v)).transpose()?;
        let name_en = patch.name_en.map(|v| text("name_en", v)).transpose()?;
        let now = self.now();
        let changed = modify(&self.db().countries, "country", &id, |d| {
            let before = d.staff.clone();
            apply(&mut d.staff.name_zh, name_zh.clone());
            apply(&mut d.staff.name_en, name_en.clone());
            apply(&mut d.staff.enabled, patch.enabled);
            apply(&mut d.staff.sort, patch.sort);
            d.updated_at = now;
            Ok(d.staff != before)
        })
        .await?;
        self.finish_edit("country", &id, changed, actor).await
    }

    // ---------- operators ----------

    pub async fn list_operators(
        &self,
        filter: &OperatorFilter,
        page: PageRequest,
    ) -> Result<Page<OperatorDoc>, CatalogError> {
        let mut f = Filter::All;
        if let Some(country) = filter.country {
            f = f.and(Filter::eq("country", country));
        }
        if let Some(provider) = &filter.provider {
            f = f.and(Filter::eq("provider", provider.as_str()));
        }
        if let Some(enabled) = filter.enabled {
            f = f.and(Filter::eq("staff.enabled", enabled));
        }
        if let Some(available) = filter.available {
            f = f.and(Filter::eq("upstream.available", available));
        }
        if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            f = f.and(Filter::contains("upstream.name", q).or(Filter::contains("staff.name", q)));
        }
        page_of(
            &self.db().operators,
            f,
            &[
                ("country", SortOrder::Asc),
                ("staff.sort", SortOrder::Asc),
                ("upstream.name", SortOrder::Asc),
            ],
            page,
        )
        .await
    }

    pub async fn operator(&self, id: &str) -> Result<OperatorDoc, CatalogError> {
        fetch_by_id::<crate::model::OperatorKind, _>(&self.db().operators, "operator", id).await
    }

    pub async fn update_operator(
        &self,
        id: &str,
        patch: OperatorPatch,
        actor: &str,
    ) -> Result<OperatorDoc, CatalogError> {
        let id = self.operator(id).await?.id.to_string();
        let name = patch.name.map(|v| text("name", v)).transpose()?;
        let logo_url = patch.logo_url.map(|v| text("logo_url", v)).transpose()?;
        let brand = patch.brand.map(|v| text("brand", v)).transpose()?;
        let now = self.now();
        let changed = modify(&self.db().operators, "operator", &id, |d| {
            let before = d.staff.clone();
            apply(&mut d.staff.name, name.clone());
            apply(&mut d.staff.logo_url, logo_url.clone());
            apply(&mut d.staff.brand, brand.clone());
            apply(&mut d.staff.enabled, patch.enabled);
            apply(&mut d.staff.sort, patch.sort);
            d.updated_at = now;
            Ok(d.staff != before)
        })
        .await?;
        self.finish_edit("operator", &id, changed, actor).await
    }

    // ---------- plans ----------

    pub async fn list_plans(
        &self,
        filter: &PlanFilter,
        page: PageRequest,
    ) -> Result<Page<PlanDoc>, CatalogError> {
        let mut f = Filter::All;
        if let Some(country) = filter.country {
            f = f.and(Filter::eq("country", country));
        }
        if let Some(operator) = filter.operator_id {
            f = f.and(Filter::eq("operator_id", operator));
        }
        if let Some(plan_type) = filter.plan_type {
            f = f.and(Filter::eq("plan_type", plan_type.as_str()));
        }
        if let Some(enabled) = filter.enabled {
            f = f.and(Filter::eq("staff.enabled", enabled));
        }
        if let Some(available) = filter.available {
            f = f.and(Filter::eq("upstream.available", available));
        }
        if let Some(tag) = &filter.tag {
            f = f.and(Filter::has("staff.tags", tag.as_str()));
        }
        page_of(
            &self.db().plans,
            f,
            &[
                ("country", SortOrder::Asc),
                ("operator_id", SortOrder::Asc),
                ("staff.sort", SortOrder::Asc),
            ],
            page,
        )
        .await
    }

    pub async fn plan(&self, id: &str) -> Result<PlanDoc, CatalogError> {
        fetch_by_id::<crate::model::PlanKind, _>(&self.db().plans, "plan", id).await
    }

    pub async fn update_plan(
        &self,
        id: &str,
        patch: PlanPatch,
        actor: &str,
    ) -> Result<PlanDoc, CatalogError> {
        let id = self.plan(id).await?.id.to_string();
        let title_zh = patch.title_zh.map(|v| text("title_zh", v)).transpose()?;
        let title_en = patch.title_en.map(|v| text("title_en", v)).transpose()?;
        let description_zh = patch
            .description_zh
            .map(|v| text("description_zh", v))
            .transpose()?;
        let description_en = patch
            .description_en
            .map(|v| text("description_en", v))
            .transpose()?;
        let new_tags = patch.tags.map(tags).transpose()?;
        let pin = patch.pinned_price.map(pinned).transpose()?;
        let rules = self.pricing_rules().await?;
        let fx = &self.inner.settings.fx;
        let now = self.now();
        let changed = modify(&self.db().plans, "plan", &id, |d| {
            let before = d.staff.clone();
            apply(&mut d.staff.title_zh, title_zh.clone());
            apply(&mut d.staff.title_en, title_en.clone());
            apply(&mut d.staff.description_zh, description_zh.clone());
            apply(&mut d.staff.description_en, description_en.clone());
            apply(&mut d.staff.validity_days, patch.validity_days);
            apply(&mut d.staff.enabled, patch.enabled);
            apply(&mut d.staff.sort, patch.sort);
            apply(&mut d.staff.tags, new_tags.clone());
            apply(&mut d.staff.pinned_price, pin);
            d.price = price_plan(
                d.upstream.cost,
                d.staff.pinned_price,
                d.country,
                &d.operator_id,
                &rules,
                fx,
            );
            d.updated_at = now;
            Ok(d.staff != before)
        })
        .await?;
        if let Some((before, after)) = &changed {
            let reason = match (before.staff.pinned_price, after.staff.pinned_price) {
                (_, Some(_)) => "pin",
                (Some(_), None) => "unpin",
                _ => "edit",
            };
            self.log_price_change(before, after, actor, reason).await?;
        }
        self.finish_edit("plan", &id, changed, actor).await
    }

    /// A custom-amount plan on an operator (kept by syncs; hidden while its operator is).
    pub async fn create_plan(&self, new: NewPlan, actor: &str) -> Result<PlanDoc, CatalogError> {
        let operator = self.operator(&new.operator_id.to_string()).await?;
        let amount = new.amount;
        let allowed = match &operator.upstream.denomination {
            Denomination::Range { min, max, .. } => amount >= min.value && amount <= max.value,
            Denomination::Fixed { amounts, .. } => amounts.iter().any(|a| a.amount.value == amount),
        };
        if amount <= Decimal::ZERO || !allowed {
            return Err(CatalogError::Invalid(format!(
                "amount: {amount} {} is not offered by operator {}",
                operator.upstream.sender_currency,
                operator.name()
            )));
        }
        let fx = operator.upstream.fx.ok_or_else(|| {
            CatalogError::Invalid("operator has no FX rate to value the amount".into())
        })?;
        let provider_op = topup_recharge::ProviderOperator {
            operator_id: operator.provider_operator_id.clone(),
            name: operator.upstream.name.clone(),
            country: operator.country,
            kind: operator.upstream.product_kind,
            denomination: operator.upstream.denomination.clone(),
            sender_currency: operator.upstream.sender_currency,
            destination_currency: operator.upstream.destination_currency,
            fx: Some(fx),
            supports_local_amounts: false,
            logo_urls: Vec::new(),
        };
        let face_value = face_value_of(&provider_op, amount)
            .ok_or_else(|| CatalogError::Invalid("amount: too large".into()))?;
        let mut staff = PlanStaff::new();
        staff.title_zh = text("title_zh", new.title_zh)?;
        staff.title_en = text("title_en", new.title_en)?;
        staff.description_zh = text("description_zh", new.description_zh)?;
        staff.description_en = text("description_en", new.description_en)?;
        staff.validity_days = new.validity_days;
        staff.sort = new.sort;
        staff.tags = tags(new.tags)?;
        staff.pinned_price = pinned(new.pinned_price)?;
        let rules = self.pricing_rules().await?;
        let cost = ProviderAmount::new(amount, operator.upstream.sender_currency);
        let now = self.now();
        let doc = PlanDoc {
            id: Id::new(),
            version: 0,
            provider: operator.provider.clone(),
            provider_operator_id: operator.provider_operator_id.clone(),
            sku: format!("manual-{}", sku_of(amount)),
            operator_id: operator.id,
            country: operator.country,
            plan_type: operator.upstream.plan_type,
            origin: PlanOrigin::Manual,
            upstream: PlanUpstream {
                cost,
                face_value,
                description: None,
                available: true,
                synced_at: None,
            },
            price: price_plan(
                cost,
                staff.pinned_price,
                operator.country,
                &operator.id,
                &rules,
                &self.inner.settings.fx,
            ),
            staff,
            created_at: now,
            updated_at: now,
        };
        self.db().plans.insert(&doc).await.map_err(|e| {
            if e.is_duplicate() {
                CatalogError::Conflict(format!(
                    "operator {} already has a custom plan of {amount}",
                    operator.name()
                ))
            } else {
                e.into()
            }
        })?;
        tracing::info!(actor, plan = %doc.id, "catalog plan created");
        self.changed().await?;
        Ok(doc)
    }

    /// Deletes a staff-made plan; synced plans are disabled instead (a sync would bring
    /// them back).
    pub async fn delete_plan(&self, id: &str, actor: &str) -> Result<(), CatalogError> {
        let plan = self.plan(id).await?;
        if plan.origin != PlanOrigin::Manual {
            return Err(CatalogError::Conflict(
                "synced plans cannot be deleted; disable them instead".into(),
            ));
        }
        self.db().plans.delete(&plan.id.to_string()).await?;
        tracing::info!(actor, plan = %plan.id, "catalog plan deleted");
        self.changed().await
    }

    /// Enables or disables many items at once; answers how many changed. Unknown ids are
    /// refused before anything changes.
    pub async fn set_enabled(
        &self,
        target: BulkTarget,
        ids: &[String],
        enabled: bool,
        actor: &str,
    ) -> Result<u32, CatalogError> {
        if ids.is_empty() || ids.len() > 500 {
            return Err(CatalogError::Invalid("ids: 1 to 500 ids".into()));
        }
        // Check all first so that a typo changes nothing.
        for id in ids {
            match target {
                BulkTarget::Countries => self.country(id).await.map(|_| ())?,
                BulkTarget::Operators => self.operator(id).await.map(|_| ())?,
                BulkTarget::Plans => self.plan(id).await.map(|_| ())?,
            }
        }
        let now = self.now();
        let mut count = 0u32;
        for id in ids {
            let changed = match target {
                BulkTarget::Countries => modify(&self.db().countries, "country", id, |d| {
                    let differs = d.staff.enabled != enabled;
                    d.staff.enabled = enabled;
                    d.updated_at = now;
                    Ok(differs)
                })
                .await?
                .is_some(),
                BulkTarget::Operators => modify(&self.db().operators, "operator", id, |d| {
                    let differs = d.staff.enabled != enabled;
                    d.staff.enabled = enabled;
                    d.updated_at = now;
                    Ok(differs)
                })
                .await?
                .is_some(),
                BulkTarget::Plans => modify(&self.db().plans, "plan", id, |d| {
                    let differs = d.staff.enabled != enabled;
                    d.staff.enabled = enabled;
                    d.updated_at = now;
                    Ok(differs)
                })
                .await?
                .is_some(),
            };
            if changed {
                count += 1;
            }
        }
        tracing::info!(
            actor,
            ?target,
            enabled,
            count,
            "catalog bulk enable/disable"
        );
        if count > 0 {
            self.changed().await?;
        }
        Ok(count)
    }

    async fn finish_edit<T>(
        &self,
        what: &'static str,
        id: &str,
        changed: Option<(T, T)>,
        actor: &str,
    ) -> Result<T, CatalogError>
    where
        T: Document,
    {
        match changed {
            Some((_, after)) => {
                tracing::info!(actor, what, id, "catalog item edited");
                self.changed().await?;
                Ok(after)
            }
            // Nothing changed: answer the stored document.
            None => {
                let collection: Collection<T> = self.inner.store.collection();
                collection
                    .get(id)
                    .await?
                    .ok_or_else(|| CatalogError::not_found(what, id))
            }
        }
    }

    // ---------- pricing ----------

    /// The stored rules; created from `[catalog]` on first use.
    pub async fn pricing_rules(&self) -> Result<PricingRules, CatalogError> {
        let pricing = &self.db().pricing;
        if let Some(rules) = pricing.get(PricingRules::ID).await? {
            return Ok(rules);
        }
        let settings = &self.inner.settings;
        let rules = PricingRules {
            id: PricingRules::ID.to_owned(),
            version: 0,
            markup: settings.markup,
            country_markups: BTreeMap::new(),
            operator_markups: BTreeMap::new(),
            step_fen: settings.step_fen,
            updated_at: self.now(),
            updated_by: "config".to_owned(),
        };
        match pricing.insert(&rules).await {
            Ok(()) => Ok(rules),
            Err(e) if e.is_duplicate() => pricing
                .get(PricingRules::ID)
                .await?
                .ok_or_else(|| CatalogError::not_found("pricing rules", PricingRules::ID)),
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces the rules and reprices every plan (logging each price that moves). Answers
    /// the stored rules and how many plans changed price.
    pub async fn update_pricing_rules(
        &self,
        update: PricingRulesUpdate,
        actor: &str,
    ) -> Result<(PricingRules, u32), CatalogError> {
        validate_markup("markup", update.markup).map_err(CatalogError::Invalid)?;
        validate_step("step_fen", update.step_fen).map_err(CatalogError::Invalid)?;
        for (country, markup) in &update.country_markups {
            validate_markup(&format!("country_markups.{country}"), *markup)
                .map_err(CatalogError::Invalid)?;
        }
        for (operator, markup) in &update.operator_markups {
            validate_markup(&format!("operator_markups.{operator}"), *markup)
                .map_err(CatalogError::Invalid)?;
            self.operator(&operator.to_string()).await?;
        }
        let mut rules = self.pricing_rules().await?;
        if rules.version != update.version {
            return Err(CatalogError::Conflict(
                "the pricing rules changed meanwhile; reload and retry".into(),
            ));
        }
        rules.markup = update.markup;
        rules.country_markups = update.country_markups;
        rules.operator_markups = update.operator_markups;
        rules.step_fen = update.step_fen;
        rules.updated_at = self.now();
        rules.updated_by = actor.to_owned();
        let stored = self.db().pricing.replace(&rules).await.map_err(|e| {
            if e.is_conflict() {
                CatalogError::Conflict(
                    "the pricing rules changed meanwhile; reload and retry".into(),
                )
            } else {
                e.into()
            }
        })?;
        tracing::info!(actor, "catalog pricing rules changed");
        let repriced = self.reprice_all(&stored, actor, "rules").await?;
        self.changed().await?;
        Ok((stored, repriced))
    }

    async fn reprice_all(
        &self,
        rules: &PricingRules,
        actor: &str,
        reason: &str,
    ) -> Result<u32, CatalogError> {
        let fx = &self.inner.settings.fx;
        let plans = self
            .db()
            .plans
            .find(&topup_store::FindQuery::new(Filter::All))
            .await?;
        let mut count = 0;
        for plan in plans {
            let price = price_plan(
                plan.upstream.cost,
                plan.staff.pinned_price,
                plan.country,
                &plan.operator_id,
                rules,
                fx,
            );
            if price == plan.price {
                continue;
            }
            let changed = modify(&self.db().plans, "plan", &plan.id.to_string(), |d| {
                let next = price_plan(
                    d.upstream.cost,
                    d.staff.pinned_price,
                    d.country,
                    &d.operator_id,
                    rules,
                    fx,
                );
                let differs = next != d.price;
                d.price = next;
                Ok(differs)
            })
            .await?;
            if let Some((before, after)) = changed {
                if before.price.retail != after.price.retail {
                    count += 1;
                }
                self.log_price_change(&before, &after, actor, reason)
                    .await?;
            }
        }
        Ok(count)
    }

    /// The price log, newest first, of one plan or all.
    pub async fn price_changes(
        &self,
        plan: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<PriceChange>, CatalogError> {
        let filter = match plan {
            Some(id) => Filter::eq("plan_id", parse_id::<crate::model::PlanKind>("plan", id)?),
            None => Filter::All,
        };
        page_of(
            &self.db().price_changes,
            filter,
            &[("at", SortOrder::Desc)],
            page,
        )
        .await
    }

    // ---------- sync reports ----------

    pub async fn sync_reports(&self, page: PageRequest) -> Result<Page<SyncReport>, CatalogError> {
        page_of(
            &self.db().reports,
            Filter::All,
            &[("started_at", SortOrder::Desc)],
            page,
        )
        .await
    }

    pub async fn sync_report(&self, id: &str) -> Result<SyncReport, CatalogError> {
        fetch_by_id::<crate::model::SyncReportKind, _>(&self.db().reports, "sync report", id).await
    }

    pub fn plan_id(text: &str) -> Result<PlanId, CatalogError> {
        parse_id::<crate::model::PlanKind>("plan", text)
    }
}
