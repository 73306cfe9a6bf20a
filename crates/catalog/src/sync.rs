//! Importing each enabled provider's catalog: upsert by provider ids into the provider-owned
//! parts of the documents, disable (never delete) what is gone upstream, reprice, report.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::TimeDelta;
use futures_util::future::join_all;
use topup_core::{CountryCode, Decimal, Id, Money, Rounding, Timestamp};
use topup_recharge::{
    Denomination, ProviderAmount, ProviderCountry, ProviderId, ProviderOperator, RechargeError,
    RouteEntry,
};
use topup_store::{Filter, FindQuery, SortOrder};

use crate::model::{
    CountryDoc, CountryStaff, CountryUpstream, OperatorDoc, OperatorId, OperatorStaff,
    OperatorUpstream, PlanDoc, PlanOrigin, PlanStaff, PlanType, PlanUpstream, PriceChange,
    PricingRules, ProviderSyncReport, SyncCounts, SyncReport,
};
use crate::pricing::price_plan;
use crate::service::modify;
use crate::{Catalog, CatalogError};

/// How soon a sync that reported provider errors is tried again.
const FAILED_SYNC_RETRY: TimeDelta = TimeDelta::minutes(10);

/// How many countries' operator lists are fetched at once from one provider.
const CONCURRENT_FETCHES: usize = 4;

/// One plan as a provider's operator entry implies it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DerivedPlan {
    pub sku: String,
    pub cost: ProviderAmount,
    pub face_value: Money,
    pub description: Option<String>,
}

pub(crate) fn sku_of(amount: Decimal) -> String {
    amount.normalize().to_string()
}

/// The destination-currency value of a sender-currency amount at the operator's rate.
pub(crate) fn face_value_of(operator: &ProviderOperator, cost: Decimal) -> Option<Money> {
    let fx = operator.fx?;
    let value = cost.checked_mul(fx.rate)?;
    ProviderAmount::new(value, fx.currency)
        .to_money(Rounding::HalfUp)
        .ok()
}

/// Fixed amounts become one plan each (with the provider's local amount as face value when
/// it lists one); range operators offer the configured amounts that fall within range.
pub(crate) fn derive_plans(
    operator: &ProviderOperator,
    range_amounts: &[Decimal],
) -> Vec<DerivedPlan> {
    match &operator.denomination {
        Denomination::Fixed {
            amounts,
            local_amounts,
        } => {
            let locals_match = local_amounts.len() == amounts.len()
                && local_amounts
                    .iter()
                    .all(|l| l.amount.currency == operator.destination_currency);
            amounts
                .iter()
                .enumerate()
                .filter(|(_, a)| a.amount.value > Decimal::ZERO)
                .filter_map(|(i, a)| {
                    let local = locals_match
                        .then(|| local_amounts.get(i))
                        .flatten()
                        .and_then(|l| l.amount.to_money(Rounding::HalfUp).ok());
                    let face_value = local.or_else(|| face_value_of(operator, a.amount.value))?;
                    Some(DerivedPlan {
                        sku: sku_of(a.amount.value),
                        cost: a.amount,
                        face_value,
                        description: a.description.clone().filter(|d| !d.trim().is_empty()),
                    })
                })
                .collect()
        }
        Denomination::Range { min, max, .. } => range_amounts
            .iter()
            .filter(|a| **a >= min.value && **a <= max.value)
            .filter_map(|a| {
                Some(DerivedPlan {
                    sku: sku_of(*a),
                    cost: ProviderAmount::new(*a, operator.sender_currency),
                    face_value: face_value_of(operator, *a)?,
                    description: None,
                })
            })
            .collect(),
    }
}

fn operator_upstream(op: &ProviderOperator, now: Timestamp) -> OperatorUpstream {
    OperatorUpstream {
        name: op.name.clone(),
        product_kind: op.kind,
        plan_type: PlanType::of(op.kind),
        logo_url: op.logo_urls.first().cloned(),
        sender_currency: op.sender_currency,
        destination_currency: op.destination_currency,
        fx: op.fx,
        denomination: op.denomination.clone(),
        available: true,
        synced_at: Some(now),
    }
}

fn same_operator(a: &OperatorUpstream, b: &OperatorUpstream) -> bool {
    let mut a = a.clone();
    a.synced_at = b.synced_at;
    a == *b
}

fn same_plan(a: &PlanUpstream, b: &PlanUpstream) -> bool {
    let mut a = a.clone();
    a.synced_at = b.synced_at;
    a == *b
}

fn merged_country(
    existing: &CountryUpstream,
    listed: &ProviderCountry,
    provider: &ProviderId,
) -> CountryUpstream {
    let mut next = existing.clone();
    next.name = listed.name.clone();
    if listed.currency.is_some() {
        next.currency = listed.currency;
    }
    if let Some(code) = listed.calling_codes.first() {
        next.calling_code = Some(code.clone());
    }
    if listed.flag_url.is_some() {
        next.flag_url = listed.flag_url.clone();
    }
    if !next.providers.contains(provider) {
        next.providers.push(provider.clone());
        next.providers.sort();
    }
    next
}

fn same_country(a: &CountryUpstream, b: &CountryUpstream) -> bool {
    let mut a = a.clone();
    a.synced_at = b.synced_at;
    a == *b
}

impl Catalog {
    /// Imports every enabled provider's catalog now and stores the report. Fails only when
    /// another sync is running or the store fails; provider failures are in the report.
    #[tracing::instrument(skip_all, fields(trigger = %trigger))]
    pub async fn sync(&self, trigger: &str) -> Result<SyncReport, CatalogError> {
        if !self.lock_sync().await? {
            return Err(CatalogError::SyncInProgress);
        }
        let result = self.sync_locked(trigger).await;
        self.unlock_sync().await;
        result
    }

    /// Syncs if no sync ever ran, or the last one started `sync_interval_minutes` ago.
    /// `None` when not due (or another process is syncing).
    pub async fn sync_if_due(&self, trigger: &str) -> Result<Option<SyncReport>, CatalogError> {
        let last = self
            .db()
            .reports
            .find(
                &FindQuery::new(Filter::All)
                    .sort("started_at", SortOrder::Desc)
                    .limit(1),
            )
            .await?
            .pop();
        let now = self.now();
        let due = match (&last, self.inner.settings.sync_interval) {
            (None, _) => true,
            // A sync with provider errors is retried sooner than the schedule.
            (Some(last), _) if !last.ok && last.started_at.plus(FAILED_SYNC_RETRY) <= now => true,
            (Some(last), Some(interval)) => last.started_at.plus(interval) <= now,
            (Some(_), None) => false,
        };
        if !due {
            return Ok(None);
        }
        match self.sync(trigger).await {
            Ok(report) => Ok(Some(report)),
            Err(CatalogError::SyncInProgress) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn sync_locked(&self, trigger: &str) -> Result<SyncReport, CatalogError> {
        let started_at = self.now();
        let started = Instant::now();
        let rules = self.pricing_rules().await?;
        let mut providers = Vec::new();
        for entry in self.inner.router.entries().iter().filter(|e| e.enabled) {
            let began = Instant::now();
            let mut report = ProviderSyncReport {
                provider: entry.provider.id().clone(),
                countries: SyncCounts::default(),
                operators: SyncCounts::default(),
                plans: SyncCounts::default(),
                errors: Vec::new(),
                duration_ms: 0,
            };
            if let Err(error) = self.sync_provider(entry, &rules, &mut report).await {
                // A store failure midway: what was written stays (every write is whole);
                // the next sync completes it.
                report.errors.push(format!("stopped: {error}"));
            }
            report.duration_ms = i64::try_from(began.elapsed().as_millis()).unwrap_or(i64::MAX);
            tracing::info!(
                provider = %report.provider,
                countries = ?report.countries,
                operators = ?report.operators,
                plans = ?report.plans,
                errors = report.errors.len(),
                duration_ms = report.duration_ms,
                "provider catalog synced"
            );
            providers.push(report);
        }
        self.changed().await?;
        let report = SyncReport {
            id: Id::new(),
            trigger: trigger.to_owned(),
            started_at,
            finished_at: self.now(),
            duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            ok: providers.iter().all(|p| p.errors.is_empty()),
            providers,
        };
        self.db().reports.insert(&report).await?;
        Ok(report)
    }

    async fn sync_provider(
        &self,
        entry: &RouteEntry,
        rules: &PricingRules,
        report: &mut ProviderSyncReport,
    ) -> Result<(), CatalogError> {
        let provider = entry.provider.clone();
        let provider_id = provider.id().clone();
        let serves =
            |code: CountryCode| entry.countries.is_empty() || entry.countries.contains(&code);
        let listed: Vec<ProviderCountry> = match provider.countries().await {
            Ok(countries) => countries.into_iter().filter(|c| serves(c.code)).collect(),
            Err(error) => {
                report.errors.push(format!("countries: {error}"));
                return Ok(());
            }
        };
        self.sync_countries(&provider_id, &listed, report).await?;

        let codes: Vec<CountryCode> = listed.iter().map(|c| c.code).collect();
        let mut fetched: Vec<(CountryCode, Result<Vec<ProviderOperator>, _>)> = Vec::new();
        for chunk in codes.chunks(CONCURRENT_FETCHES) {
            let calls = chunk.iter().map(|code| {
                let provider = provider.clone();
                let code = *code;
                tokio::spawn(async move { (code, provider.operators(code).await) })
            });
            for (code, joined) in chunk.iter().zip(join_all(calls).await) {
                fetched.push(joined.unwrap_or_else(|error| {
                    let failure = RechargeError::Malformed {
                        provider: provider_id.clone(),
                        reason: format!("operator fetch failed: {error}"),
                    };
                    (*code, Err(failure))
                }));
            }
        }

        let db = self.db();
        let by_provider = Filter::eq("provider", provider_id.as_str());
        let mut operators: HashMap<String, OperatorDoc> = db
            .operators
            .find(&FindQuery::new(by_provider.clone()))
            .await?
            .into_iter()
            .map(|o| (o.provider_operator_id.clone(), o))
            .collect();
        let plans: HashMap<(String, String), PlanDoc> = db
            .plans
            .find(&FindQuery::new(
                by_provider.and(Filter::eq("origin", "sync")),
            ))
            .await?
            .into_iter()
            .map(|p| ((p.provider_operator_id.clone(), p.sku.clone()), p))
            .collect();

        let mut failed: HashSet<CountryCode> = HashSet::new();
        let mut seen_operators: HashSet<String> = HashSet::new();
        let mut seen_plans: HashSet<(String, String)> = HashSet::new();
        for (country, result) in fetched {
            let ops = match result {
                Ok(ops) => ops,
                Err(error) => {
                    report
                        .errors
                        .push(format!("operators of {country}: {error}"));
                    failed.insert(country);
                    continue;
                }
            };
            for op in ops.iter().filter(|op| op.country == country) {
                if !seen_operators.insert(op.operator_id.clone()) {
                    continue;
                }
                let operator_id = self
                    .upsert_operator(&provider_id, op, &mut operators, report)
                    .await?;
                let derived = derive_plans(op, &self.inner.settings.range_amounts);
                if derived.is_empty() {
                    if op.fx.is_none() {
                        report.errors.push(format!(
                            "operator {} ({}) has no FX rate; its plans were skipped",
                            op.operator_id, op.name
                        ));
                    }
                    continue;
                }
                for plan in derived {
                    let key = (op.operator_id.clone(), plan.sku.clone());
                    seen_plans.insert(key.clone());
                    self.upsert_plan(
                        &provider_id,
                        op,
                        operator_id,
                        plan,
                        plans.get(&key),
                        rules,
                        report,
                    )
                    .await?;
                }
            }
        }

        let now = self.now();
        for (op_id, doc) in &operators {
            if seen_operators.contains(op_id)
                || failed.contains(&doc.country)
                || !doc.upstream.available
            {
                continue;
            }
            let changed = modify(&db.operators, "operator", &doc.id.to_string(), |d| {
                d.upstream.available = false;
                d.upstream.synced_at = Some(now);
                d.updated_at = now;
                Ok(true)
            })
            .await?;
            if changed.is_some() {
                report.operators.disabled += 1;
            }
        }
        for (key, doc) in &plans {
            if seen_plans.contains(key) || failed.contains(&doc.country) || !doc.upstream.available
            {
                continue;
            }
            let changed = modify(&db.plans, "plan", &doc.id.to_string(), |d| {
                d.upstream.available = false;
                d.upstream.synced_at = Some(now);
                d.updated_at = now;
                Ok(true)
            })
            .await?;
            if changed.is_some() {
                report.plans.disabled += 1;
            }
        }
        Ok(())
    }

    async fn sync_countries(
        &self,
        provider: &ProviderId,
        listed: &[ProviderCountry],
        report: &mut ProviderSyncReport,
    ) -> Result<(), CatalogError> {
        let db = self.db();
        let now = self.now();
        let existing: HashMap<CountryCode, CountryDoc> = db
            .countries
            .find(&FindQuery::new(Filter::All))
            .await?
            .into_iter()
            .map(|c| (c.code, c))
            .collect();
        let listed_codes: HashSet<CountryCode> = listed.iter().map(|c| c.code).collect();
        for country in listed {
            match existing.get(&country.code) {
                Some(doc) => {
                    let next = merged_country(&doc.upstream, country, provider);
                    if same_country(&doc.upstream, &next) {
                        report.countries.unchanged += 1;
                        continue;
                    }
                    modify(&db.countries, "country", &doc.id.to_string(), |d| {
                        d.upstream = merged_country(&d.upstream, country, provider);
                        d.upstream.synced_at = Some(now);
                        d.updated_at = now;
                        Ok(true)
                    })
                    .await?;
                    report.countries.updated += 1;
                }
                None => {
                    let empty = CountryUpstream {
                        name: country.name.clone(),
                        currency: None,
                        calling_code: None,
                        flag_url: None,
                        providers: Vec::new(),
                        synced_at: Some(now),
                    };
                    let doc = CountryDoc {
                        id: Id::new(),
                        version: 0,
                        code: country.code,
                        upstream: merged_country(&empty, country, provider),
                        staff: CountryStaff::default(),
                        created_at: now,
                        updated_at: now,
                    };
                    match db.countries.insert(&doc).await {
                        Ok(()) => report.countries.added += 1,
                        // Another provider's sync (or process) created it meanwhile.
                        Err(e) if e.is_duplicate() => {
                            if let Some(current) = db
                                .countries
                                .find_one(Filter::eq("code", country.code))
                                .await?
                            {
                                modify(&db.countries, "country", &current.id.to_string(), |d| {
                                    d.upstream = merged_country(&d.upstream, country, provider);
                                    Ok(true)
                                })
                                .await?;
                            }
                            report.countries.updated += 1;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        for doc in existing.values() {
            if listed_codes.contains(&doc.code) || !doc.upstream.providers.contains(provider) {
                continue;
            }
            let changed = modify(&db.countries, "country", &doc.id.to_string(), |d| {
                d.upstream.providers.retain(|p| p != provider);
                d.upstream.synced_at = Some(now);
                d.updated_at = now;
                Ok(true)
            })
            .await?;
            match changed {
                Some((_, after)) if after.upstream.providers.is_empty() => {
                    report.countries.disabled += 1
                }
                Some(_) => report.countries.updated += 1,
                None => {}
            }
        }
        Ok(())
    }

    async fn upsert_operator(
        &self,
        provider: &ProviderId,
        op: &ProviderOperator,
        known: &mut HashMap<String, OperatorDoc>,
        report: &mut ProviderSyncReport,
    ) -> Result<OperatorId, CatalogError> {
        let db = self.db();
        let now = self.now();
        let upstream = operator_upstream(op, now);
        if let Some(doc) = known.get(&op.operator_id) {
            if same_operator(&doc.upstream, &upstream) && doc.country == op.country {
                report.operators.unchanged += 1;
                return Ok(doc.id);
            }
            let id = doc.id;
            modify(&db.operators, "operator", &id.to_string(), |d| {
                d.upstream = upstream.clone();
                d.country = op.country;
                d.updated_at = now;
                Ok(true)
            })
            .await?;
            report.operators.updated += 1;
            return Ok(id);
        }
        let doc = OperatorDoc {
            id: Id::new(),
            version: 0,
            provider: provider.clone(),
            provider_operator_id: op.operator_id.clone(),
            country: op.country,
            upstream,
            staff: OperatorStaff::default(),
            created_at: now,
            updated_at: now,
        };
        db.operators.insert(&doc).await?;
        report.operators.added += 1;
        let id = doc.id;
        known.insert(op.operator_id.clone(), doc);
        Ok(id)
    }

    #[allow(clippy::too_many_arguments)]
    async fn upsert_plan(
        &self,
        provider: &ProviderId,
        op: &ProviderOperator,
        operator_id: OperatorId,
        plan: DerivedPlan,
        existing: Option<&PlanDoc>,
        rules: &PricingRules,
        report: &mut ProviderSyncReport,
    ) -> Result<(), CatalogError> {
        let db = self.db();
        let now = self.now();
        let fx = &self.inner.settings.fx;
        let plan_type = PlanType::of(op.kind);
        let upstream = PlanUpstream {
            cost: plan.cost,
            face_value: plan.face_value,
            description: plan.description,
            available: true,
            synced_at: Some(now),
        };
        let Some(doc) = existing else {
            let staff = PlanStaff::new();
            let price = price_plan(
                upstream.cost,
                staff.pinned_price,
                op.country,
                &operator_id,
                rules,
                fx,
            );
            let doc = PlanDoc {
                id: Id::new(),
                version: 0,
                provider: provider.clone(),
                provider_operator_id: op.operator_id.clone(),
                sku: plan.sku,
                operator_id,
                country: op.country,
                plan_type,
                origin: PlanOrigin::Sync,
                upstream,
                staff,
                price,
                created_at: now,
                updated_at: now,
            };
            db.plans.insert(&doc).await?;
            report.plans.added += 1;
            return Ok(());
        };
        let price = price_plan(
            upstream.cost,
            doc.staff.pinned_price,
            op.country,
            &operator_id,
            rules,
            fx,
        );
        if same_plan(&doc.upstream, &upstream)
            && doc.price == price
            && doc.plan_type == plan_type
            && doc.operator_id == operator_id
            && doc.country == op.country
        {
            report.plans.unchanged += 1;
            return Ok(());
        }
        let changed = modify(&db.plans, "plan", &doc.id.to_string(), |d| {
            d.upstream = upstream.clone();
            d.plan_type = plan_type;
            d.operator_id = operator_id;
            d.country = op.country;
            d.price = price_plan(
                d.upstream.cost,
                d.staff.pinned_price,
                d.country,
                &d.operator_id,
                rules,
                fx,
            );
            d.updated_at = now;
            Ok(true)
        })
        .await?;
        if let Some((before, after)) = changed {
            self.log_price_change(&before, &after, "sync", "sync")
                .await?;
        }
        report.plans.updated += 1;
        Ok(())
    }

    /// Logs a retail-price change between two versions of a plan (nothing if equal).
    pub(crate) async fn log_price_change(
        &self,
        before: &PlanDoc,
        after: &PlanDoc,
        actor: &str,
        reason: &str,
    ) -> Result<(), CatalogError> {
        if before.price.retail == after.price.retail {
            return Ok(());
        }
        let change = PriceChange {
            id: Id::new(),
            plan_id: after.id,
            old: before.price.retail,
            new: after.price.retail,
            actor: actor.to_owned(),
            reason: reason.to_owned(),
            at: self.now(),
        };
        self.db().price_changes.insert(&change).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use topup_core::Currency;
    use topup_recharge::{FixedAmount, FxRate, ProductKind};

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn operator(denomination: Denomination) -> ProviderOperator {
        let php = Currency::parse("PHP").unwrap();
        ProviderOperator {
            operator_id: "173".into(),
            name: "Globe Philippines".into(),
            country: CountryCode::parse("PH").unwrap(),
            kind: ProductKind::Airtime,
            denomination,
            sender_currency: Currency::USD,
            destination_currency: php,
            fx: Some(FxRate {
                rate: dec("58.12"),
                currency: php,
            }),
            supports_local_amounts: true,
            logo_urls: vec![],
        }
    }

    #[test]
    fn range_operators_offer_the_configured_amounts_within_range() {
        let op = operator(Denomination::Range {
            min: ProviderAmount::new(dec("0.5"), Currency::USD),
            max: ProviderAmount::new(dec("10"), Currency::USD),
            local_min: None,
            local_max: None,
        });
        let plans = derive_plans(&op, &[dec("0.1"), dec("1"), dec("5.00"), dec("20")]);
        assert_eq!(plans.len(), 2);
        assert_eq!(plans[0].sku, "1");
        assert_eq!(plans[1].sku, "5");
        // 5 × 58.12 = 290.60 PHP
        assert_eq!(plans[1].face_value.amount, 29_060);
    }

    #[test]
    fn fixed_amounts_prefer_the_listed_local_amounts() {
        let php = Currency::parse("PHP").unwrap();
        let usd = |t: &str| ProviderAmount::new(dec(t), Currency::USD);
        let op = operator(Denomination::Fixed {
            amounts: vec![
                FixedAmount {
                    amount: usd("0.87"),
                    description: Some("GoSURF50: 2GB 3 days".into()),
                },
                FixedAmount {
                    amount: usd("1.72"),
                    description: None,
                },
            ],
            local_amounts: vec![
                FixedAmount {
                    amount: ProviderAmount::new(dec("50"), php),
                    description: None,
                },
                FixedAmount {
                    amount: ProviderAmount::new(dec("100"), php),
                    description: None,
                },
            ],
        });
        let plans = derive_plans(&op, &[]);
        assert_eq!(plans.len(), 2);
        assert_eq!(plans[0].sku, "0.87");
        assert_eq!(plans[0].face_value, Money::new(5_000, php));
        assert_eq!(
            plans[0].description.as_deref(),
            Some("GoSURF50: 2GB 3 days")
        );
        assert_eq!(plans[1].face_value, Money::new(10_000, php));
    }
}
