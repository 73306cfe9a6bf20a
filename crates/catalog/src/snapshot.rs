//! The in-memory catalog the app routes read: built from the store in one pass, with every
//! list response serialized ahead of time so that serving one is a map lookup and a
//! reference-count increment.

use std::collections::HashMap;

use bytes::Bytes;
use serde::Serialize;
use topup_core::{CountryCode, Currency, Money};
use topup_recharge::{ProviderAmount, ProviderId};
use ulid::Ulid;
use utoipa::ToSchema;

use crate::CatalogError;
use crate::model::{CountryDoc, OperatorDoc, OperatorId, PlanDoc, PlanId, PlanType};
use crate::text;

/// A country as the mini-program shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AppCountry {
    pub code: CountryCode,
    #[schema(example = "菲律宾")]
    pub name_zh: String,
    #[schema(example = "Philippines")]
    pub name_en: String,
    #[schema(example = "🇵🇭")]
    pub flag: String,
    #[schema(example = "+63")]
    pub calling_code: Option<String>,
    pub currency: Option<Currency>,
    pub sort: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AppOperator {
    pub id: OperatorId,
    #[schema(example = "Globe Philippines")]
    pub name: String,
    pub logo_url: Option<String>,
    #[serde(rename = "type")]
    pub plan_type: PlanType,
}

/// A plan as the mini-program shows it. `price` is what the user pays.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AppPlan {
    pub id: PlanId,
    #[serde(rename = "type")]
    pub plan_type: PlanType,
    pub country: CountryCode,
    pub operator: AppOperator,
    #[schema(example = "2GB · 7天")]
    pub title_zh: String,
    #[schema(example = "2GB · 7 days")]
    pub title_en: String,
    pub description_zh: Option<String>,
    pub description_en: Option<String>,
    /// What the recipient gets, in the destination currency.
    pub face_value: Money,
    /// Retail price in CNY fen.
    pub price: Money,
    pub validity_days: Option<u32>,
    #[schema(example = json!(["hot"]))]
    pub tags: Vec<String>,
}

/// `GET /api/v1/app/catalog/countries`: every country on sale (not paged).
#[derive(Debug, Serialize, ToSchema)]
pub struct CountryList {
    pub items: Vec<AppCountry>,
    pub total: usize,
}

/// `GET /api/v1/app/catalog/plans`: every matching plan (not paged).
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanList {
    pub country: CountryCode,
    pub items: Vec<AppPlan>,
    pub total: usize,
}

#[derive(Serialize)]
struct PlanListRef<'a> {
    country: CountryCode,
    items: Vec<&'a AppPlan>,
    total: usize,
}

/// What a checkout needs to sell a plan and ask the provider for it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanOffer {
    pub plan: AppPlan,
    pub provider: ProviderId,
    pub provider_operator_id: String,
    /// Sent to the provider as the top-up amount (sender currency).
    pub cost: ProviderAmount,
}

#[derive(Debug, Clone)]
pub(crate) struct OperatorEntry {
    pub app: AppOperator,
    pub provider: ProviderId,
    pub country: CountryCode,
    pub brand: String,
}

type ListKey = (Option<PlanType>, Option<Ulid>);

#[derive(Debug)]
pub(crate) struct CountryEntry {
    pub country: AppCountry,
    /// Sorted as shown.
    pub plans: Vec<AppPlan>,
    lists: HashMap<ListKey, Bytes>,
}

/// One consistent view of everything on sale.
#[derive(Debug)]
pub struct Snapshot {
    stamp: i64,
    countries_json: Bytes,
    countries: HashMap<[u8; 2], CountryEntry>,
    pub(crate) operators: HashMap<OperatorId, OperatorEntry>,
    pub(crate) by_provider_ref: HashMap<(ProviderId, String), OperatorId>,
    offers: HashMap<PlanId, PlanOffer>,
}

/// `ph` → `PH` without allocating; `None` unless two ASCII letters.
fn country_key(text: &str) -> Option<[u8; 2]> {
    let bytes: [u8; 2] = text.as_bytes().try_into().ok()?;
    bytes
        .iter()
        .all(u8::is_ascii_alphabetic)
        .then(|| bytes.map(|b| b.to_ascii_uppercase()))
}

fn key_of(code: CountryCode) -> [u8; 2] {
    let b = code.as_str().as_bytes();
    [
        b.first().copied().unwrap_or(b'Z'),
        b.get(1).copied().unwrap_or(b'Z'),
    ]
}

fn to_json<T: Serialize>(value: &T) -> Bytes {
    // Serializing plain structs of strings and integers cannot fail.
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

impl Snapshot {
    pub fn empty() -> Snapshot {
        Snapshot::build(-1, &[], &[], &[])
    }

    /// Builds the view from stored documents; only active items (enabled, still listed
    /// upstream, priced, with an active country and operator) are included.
    pub(crate) fn build(
        stamp: i64,
        countries: &[CountryDoc],
        operators: &[OperatorDoc],
        plans: &[PlanDoc],
    ) -> Snapshot {
        let mut country_entries: HashMap<[u8; 2], CountryEntry> = HashMap::new();
        for c in countries.iter().filter(|c| c.active()) {
            country_entries.insert(
                key_of(c.code),
                CountryEntry {
                    country: AppCountry {
                        code: c.code,
                        name_zh: c.name_zh(),
                        name_en: c.name_en(),
                        flag: text::flag_emoji(c.code),
                        calling_code: c
                            .upstream
                            .calling_code
                            .clone()
                            .or_else(|| c.code.calling_code().map(|code| format!("+{code}"))),
                        currency: c.upstream.currency,
                        sort: c.staff.sort,
                    },
                    plans: Vec::new(),
                    lists: HashMap::new(),
                },
            );
        }

        let mut operator_entries: HashMap<OperatorId, OperatorEntry> = HashMap::new();
        let mut operator_order: HashMap<OperatorId, (i32, String)> = HashMap::new();
        let mut by_provider_ref = HashMap::new();
        for o in operators.iter().filter(|o| o.active()) {
            if !country_entries.contains_key(&key_of(o.country)) {
                continue;
            }
            let name = o.name();
            operator_order.insert(o.id, (o.staff.sort, name.to_lowercase()));
            by_provider_ref.insert((o.provider.clone(), o.provider_operator_id.clone()), o.id);
            operator_entries.insert(
                o.id,
                OperatorEntry {
                    app: AppOperator {
                        id: o.id,
                        name,
                        logo_url: o.logo_url(),
                        plan_type: o.upstream.plan_type,
                    },
                    provider: o.provider.clone(),
                    country: o.country,
                    brand: o.brand(),
                },
            );
        }

        let mut offers = HashMap::new();
        let mut sort_keys: HashMap<PlanId, (i32, String, PlanType, i32, i64, i64)> = HashMap::new();
        for p in plans.iter().filter(|p| p.active()) {
            let (Some(operator), Some(price)) =
                (operator_entries.get(&p.operator_id), p.price.retail)
            else {
                continue;
            };
            let Some(entry) = country_entries.get_mut(&key_of(p.country)) else {
                continue;
            };
            let is_data = p.plan_type == PlanType::Data;
            let (title_zh, title_en) = text::default_titles(
                is_data,
                p.upstream.face_value,
                p.upstream.description.as_deref(),
                p.staff.validity_days,
            );
            let facts = p
                .upstream
                .description
                .as_deref()
                .map(text::plan_facts)
                .unwrap_or_default();
            let plan = AppPlan {
                id: p.id,
                plan_type: p.plan_type,
                country: p.country,
                operator: operator.app.clone(),
                title_zh: p.staff.title_zh.clone().unwrap_or(title_zh),
                title_en: p.staff.title_en.clone().unwrap_or(title_en),
                description_zh: p
                    .staff
                    .description_zh
                    .clone()
                    .or_else(|| p.upstream.description.clone()),
                description_en: p
                    .staff
                    .description_en
                    .clone()
                    .or_else(|| p.upstream.description.clone()),
                face_value: p.upstream.face_value,
                price,
                validity_days: p.staff.validity_days.or(facts.validity_days),
                tags: p.staff.tags.clone(),
            };
            let (op_sort, op_name) = operator_order
                .get(&p.operator_id)
                .cloned()
                .unwrap_or_default();
            sort_keys.insert(
                p.id,
                (
                    op_sort,
                    op_name,
                    p.plan_type,
                    p.staff.sort,
                    price.amount,
                    p.upstream.face_value.amount,
                ),
            );
            offers.insert(
                p.id,
                PlanOffer {
                    plan: plan.clone(),
                    provider: p.provider.clone(),
                    provider_operator_id: p.provider_operator_id.clone(),
                    cost: p.upstream.cost,
                },
            );
            entry.plans.push(plan);
        }

        for entry in country_entries.values_mut() {
            entry
                .plans
                .sort_by(|a, b| sort_keys.get(&a.id).cmp(&sort_keys.get(&b.id)));
            let mut keys: Vec<ListKey> = vec![
                (None, None),
                (Some(PlanType::Airtime), None),
                (Some(PlanType::Data), None),
            ];
            for o in operator_entries
                .values()
                .filter(|o| o.country == entry.country.code)
            {
                let op = Some(o.app.id.ulid());
                keys.extend([
                    (None, op),
                    (Some(PlanType::Airtime), op),
                    (Some(PlanType::Data), op),
                ]);
            }
            for key in keys {
                let items: Vec<&AppPlan> = entry
                    .plans
                    .iter()
                    .filter(|p| key.0.is_none_or(|t| p.plan_type == t))
                    .filter(|p| key.1.is_none_or(|op| p.operator.id.ulid() == op))
                    .collect();
                let body = to_json(&PlanListRef {
                    country: entry.country.code,
                    total: items.len(),
                    items,
                });
                entry.lists.insert(key, body);
            }
        }

        let mut listed: Vec<&AppCountry> = country_entries
            .values()
            .filter(|c| !c.plans.is_empty())
            .map(|c| &c.country)
            .collect();
        listed.sort_by(|a, b| (a.sort, &a.name_en).cmp(&(b.sort, &b.name_en)));
        #[derive(Serialize)]
        struct CountryListRef<'a> {
            items: Vec<&'a AppCountry>,
            total: usize,
        }
        let countries_json = to_json(&CountryListRef {
            total: listed.len(),
            items: listed,
        });

        Snapshot {
            stamp,
            countries_json,
            countries: country_entries,
            operators: operator_entries,
            by_provider_ref,
            offers,
        }
    }

    /// The version stamp this view was built at.
    pub fn stamp(&self) -> i64 {
        self.stamp
    }

    /// The serialized [`CountryList`].
    pub fn countries_json(&self) -> &Bytes {
        &self.countries_json
    }

    /// The serialized [`PlanList`] for a query, straight from the query-string values.
    /// Allocates nothing unless the query is refused.
    pub fn plans_json(
        &self,
        country: &str,
        plan_type: Option<&str>,
        operator: Option<&str>,
    ) -> Result<&Bytes, CatalogError> {
        let entry = country_key(country)
            .and_then(|key| self.countries.get(&key))
            .ok_or_else(|| unknown_country(country))?;
        let plan_type = match plan_type {
            None | Some("") => None,
            Some(text) => {
                Some(
                    PlanType::parse(text).ok_or_else(|| CatalogError::InvalidQuery {
                        field: "type",
                        reason: format!(
                            "must be airtime or data, not {:?}",
                            text.chars().take(16).collect::<String>()
                        ),
                    })?,
                )
            }
        };
        let operator = match operator {
            None | Some("") => None,
            Some(text) => {
                Some(
                    Ulid::from_string(text).map_err(|_| CatalogError::InvalidQuery {
                        field: "operator",
                        reason: format!(
                            "must be an operator id, not {:?}",
                            text.chars().take(32).collect::<String>()
                        ),
                    })?,
                )
            }
        };
        entry
            .lists
            .get(&(plan_type, operator))
            .ok_or_else(|| CatalogError::InvalidQuery {
                field: "operator",
                reason: format!(
                    "no operator {} is sold in {}",
                    operator.map(|o| o.to_string()).unwrap_or_default(),
                    entry.country.code
                ),
            })
    }

    /// A country on sale.
    pub fn country(&self, code: CountryCode) -> Option<&AppCountry> {
        self.countries.get(&key_of(code)).map(|e| &e.country)
    }

    /// Every plan on sale in a country, sorted as shown.
    pub fn country_plans(&self, code: CountryCode) -> &[AppPlan] {
        self.countries
            .get(&key_of(code))
            .map(|e| e.plans.as_slice())
            .unwrap_or_default()
    }

    /// A plan on sale, with what the provider needs.
    pub fn offer(&self, id: &PlanId) -> Option<&PlanOffer> {
        self.offers.get(id)
    }

    /// Plans on sale whose title (either language) or operator contains `needle` (lower
    /// case), by country and title, at most `limit`.
    pub fn find_plans(&self, needle: &str, limit: usize) -> Vec<&AppPlan> {
        let mut found: Vec<&AppPlan> = self
            .offers
            .values()
            .map(|offer| &offer.plan)
            .filter(|plan| {
                plan.title_en.to_lowercase().contains(needle)
                    || plan.title_zh.to_lowercase().contains(needle)
                    || plan.operator.name.to_lowercase().contains(needle)
            })
            .collect();
        found.sort_by(|a, b| {
            (a.country.to_string(), &a.title_en).cmp(&(b.country.to_string(), &b.title_en))
        });
        found.truncate(limit);
        found
    }

    /// Number of plans on sale.
    pub fn plan_count(&self) -> usize {
        self.offers.len()
    }

    /// Providers with an operator on sale in the country.
    pub(crate) fn providers_in(&self, code: CountryCode) -> Vec<ProviderId> {
        let mut providers: Vec<ProviderId> = self
            .operators
            .values()
            .filter(|o| o.country == code)
            .map(|o| o.provider.clone())
            .collect();
        providers.sort();
        providers.dedup();
        providers
    }
}

pub(crate) fn unknown_country(text: &str) -> CatalogError {
    CatalogError::UnknownCountry(text.chars().take(8).collect())
}
