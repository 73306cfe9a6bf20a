//! The catalog against two Reloadly sandboxes served over loopback: sync, staff edits that
//! survive re-syncs, products withdrawn upstream, pricing, detection, and cache invalidation
//! across two catalog instances on one store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use chrono::TimeDelta;
use futures_util::future::join_all;
use serde_json::{Value, json};
use topup_catalog::{
    BulkTarget, Catalog, CatalogConfig, CatalogError, NewPlan, OperatorFilter, PlanDoc, PlanFilter,
    PlanPatch, PlanType, PriceSource, PricingRulesUpdate,
};
use topup_core::{CountryCode, Decimal, ManualClock, Money, PageRequest, SharedClock, Timestamp};
use topup_recharge::{ProviderRouter, ProvidersConfig};
use topup_sandbox::reloadly::{self, ReloadlySandbox, ReloadlySandboxConfig};
use topup_store::Store;
use topup_store::testing::TestStore;

const AUDIENCE: &str = "https://topups-sandbox.reloadly.com";

struct World {
    clock: ManualClock,
    a: ReloadlySandbox,
    b: ReloadlySandbox,
    base: String,
    store: Store,
    /// Keeps the store (SQLite, or MongoDB with TOPUP_TEST_MONGODB_URI) alive.
    _store: TestStore,
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn cc(text: &str) -> CountryCode {
    CountryCode::parse(text).unwrap()
}

fn page() -> PageRequest {
    PageRequest::new(1, 100).unwrap()
}

fn sandbox(clock: &ManualClock) -> ReloadlySandbox {
    ReloadlySandbox::new(ReloadlySandboxConfig {
        clock: Arc::new(clock.clone()),
        rate_limit_per_second: 100_000,
        hang: Duration::from_secs(2),
        ..ReloadlySandboxConfig::default()
    })
}

async fn world() -> World {
    let clock = ManualClock::new(Timestamp::parse("2026-01-01T00:00:00Z").unwrap());
    let a = sandbox(&clock);
    let b = sandbox(&clock);
    let mounts = vec![
        ("/sandbox/reloadly-a", a.clone()),
        ("/sandbox/reloadly-b", b.clone()),
    ];
    let server = HttpServer::new(move || {
        let mut app = App::new();
        for (prefix, sandbox) in &mounts {
            app = app.service(web::scope(prefix).configure(reloadly::configure(sandbox.clone())));
        }
        app
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let addr = server.addrs()[0];
    tokio::spawn(server.run());
    let test_store = TestStore::open().await.unwrap();
    World {
        clock,
        a,
        b,
        base: format!("http://{addr}"),
        store: test_store.store.clone(),
        _store: test_store,
    }
}

impl World {
    fn shared_clock(&self) -> SharedClock {
        Arc::new(self.clock.clone())
    }

    /// Provider `a` serves PH and VN, `b` serves PH and ID.
    fn router(&self) -> Arc<ProviderRouter> {
        let provider = |id: &str, countries: &[&str], priority: u32| {
            json!({
                "id": id, "kind": "reloadly", "priority": priority,
                "client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret",
                "auth_url": format!("{}/sandbox/reloadly-{id}/auth", self.base),
                "api_url": format!("{}/sandbox/reloadly-{id}/topups", self.base),
                "audience": AUDIENCE, "read_timeout_ms": 5000, "max_rate_limit_wait_ms": 0,
                "countries": countries,
            })
        };
        let config: ProvidersConfig = serde_json::from_value(json!({
            "providers": [provider("a", &["PH", "VN"], 10), provider("b", &["PH", "ID"], 20)]
        }))
        .unwrap();
        Arc::new(config.build_router(self.shared_clock()).unwrap())
    }

    async fn catalog(&self, router: Arc<ProviderRouter>) -> Catalog {
        self.catalog_with(router, json!({})).await
    }

    /// [`Self::catalog`] with some `[catalog]` keys changed.
    async fn catalog_with(&self, router: Arc<ProviderRouter>, changed: Value) -> Catalog {
        let mut config = json!({
            "fx_to_cny": {"USD": "7.10"},
            "markup": "0.08",
            "price_step_fen": 10,
            "range_amounts": ["1", "5", "10"],
            "detect_cache_ttl_seconds": 3600,
        });
        for (key, value) in changed.as_object().unwrap() {
            config[key] = value.clone();
        }
        let config: CatalogConfig = serde_json::from_value(config).unwrap();
        let catalog =
            Catalog::new(self.store.clone(), router, self.shared_clock(), &config).unwrap();
        catalog.start().await.unwrap();
        catalog
    }
}

async fn plan_of(catalog: &Catalog, provider: &str, operator: &str, sku: &str) -> PlanDoc {
    let all = catalog
        .list_plans(&PlanFilter::default(), PageRequest::new(1, 100).unwrap())
        .await
        .unwrap();
    let mut found = all.items.into_iter().chain(
        catalog
            .list_plans(&PlanFilter::default(), PageRequest::new(2, 100).unwrap())
            .await
            .unwrap()
            .items,
    );
    found
        .find(|p| {
            p.provider.as_str() == provider && p.provider_operator_id == operator && p.sku == sku
        })
        .unwrap_or_else(|| panic!("no plan {provider}/{operator}/{sku}"))
}

fn plans_json(catalog: &Catalog, country: &str, plan_type: Option<&str>) -> Value {
    let snapshot = catalog.snapshot();
    let bytes = snapshot.plans_json(country, plan_type, None).unwrap();
    serde_json::from_slice(bytes).unwrap()
}

fn listed_plan<'a>(list: &'a Value, id: &str) -> Option<&'a Value> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_from_two_providers_keeps_staff_edits_and_disables_what_is_gone() {
    let w = world().await;
    let catalog = w.catalog(w.router()).await;
    assert_eq!(catalog.snapshot().plan_count(), 0);

    let report = catalog.sync("staff:alice").await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.trigger, "staff:alice");
    assert_eq!(report.providers.len(), 2);
    let (ra, rb) = (&report.providers[0], &report.providers[1]);
    assert_eq!(ra.provider.as_str(), "a");
    assert_eq!(ra.countries.added, 2, "{ra:?}");
    // PH already existed (from a): b only joins it; ID is new.
    assert_eq!(rb.countries.added, 1, "{rb:?}");
    assert_eq!(rb.countries.updated, 1, "{rb:?}");
    // PH has 5 operators, VN 4 and ID 4 in the sandbox's demo catalog.
    assert_eq!(ra.operators.added, 9, "{ra:?}");
    assert_eq!(rb.operators.added, 9, "{rb:?}");
    assert!(ra.plans.added > 20, "{ra:?}");

    let ph = catalog
        .list_countries(&Default::default(), page())
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|c| c.code == cc("PH"))
        .unwrap();
    let providers: Vec<&str> = ph.upstream.providers.iter().map(|p| p.as_str()).collect();
    assert_eq!(providers, ["a", "b"]);
    let countries: Value = serde_json::from_slice(catalog.snapshot().countries_json()).unwrap();
    let codes: Vec<&str> = countries["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 3);
    let ph_json = countries["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "PH")
        .unwrap();
    assert_eq!(ph_json["name_zh"], "菲律宾");
    assert_eq!(ph_json["flag"], "🇵🇭");
    assert_eq!(ph_json["calling_code"], "+63");

    // Globe data "GoSURF50: 2GB 3 days" at 0.87 USD: 0.87 × 7.10 × 1.08 = 6.67116 → ¥6.70.
    let gosurf = plan_of(&catalog, "a", "1180", "0.87").await;
    assert_eq!(gosurf.plan_type, PlanType::Data);
    assert_eq!(gosurf.price.retail, Some(Money::cny(670)));
    let data = plans_json(&catalog, "PH", Some("data"));
    let listed = listed_plan(&data, &gosurf.id.to_string()).unwrap();
    assert_eq!(listed["title_en"], "2GB · 3 days");
    assert_eq!(listed["title_zh"], "2GB · 3天");
    assert_eq!(listed["price"], json!({"amount": 670, "currency": "CNY"}));
    assert_eq!(listed["validity_days"], 3);
    assert!(
        data["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["type"] == "data")
    );

    // Staff rename, pin and tag it.
    let patch: PlanPatch = serde_json::from_value(json!({
        "title_en": "Globe 2GB weekend", "title_zh": "环球 2GB 周末包",
        "pinned_price": {"amount": 990, "currency": "CNY"}, "tags": ["hot"], "sort": -1
    }))
    .unwrap();
    let edited = catalog
        .update_plan(&gosurf.id.to_string(), patch, "staff:alice")
        .await
        .unwrap();
    assert_eq!(edited.price.retail, Some(Money::cny(990)));
    assert_eq!(edited.price.source, PriceSource::Pinned);
    let log = catalog
        .price_changes(Some(&gosurf.id.to_string()), page())
        .await
        .unwrap();
    assert_eq!(log.total, 1);
    let change = &log.items[0];
    assert_eq!(
        (
            change.old,
            change.new,
            change.actor.as_str(),
            change.reason.as_str()
        ),
        (
            Some(Money::cny(670)),
            Some(Money::cny(990)),
            "staff:alice",
            "pin"
        )
    );
    let data = plans_json(&catalog, "PH", Some("data"));
    let listed = listed_plan(&data, &gosurf.id.to_string()).unwrap();
    assert_eq!(listed["title_en"], "Globe 2GB weekend");
    assert_eq!(listed["tags"], json!(["hot"]));
    assert_eq!(listed["price"]["amount"], 990);

    // Re-sync: nothing changed upstream, and the edit survives.
    let report = catalog.sync("schedule").await.unwrap();
    assert_eq!(report.providers[0].plans.added, 0);
    assert_eq!(
        report.providers[0].plans.updated, 0,
        "{:?}",
        report.providers[0]
    );
    assert_eq!(report.providers[0].plans.disabled, 0);
    let after = catalog.plan(&gosurf.id.to_string()).await.unwrap();
    assert_eq!(after.staff, edited.staff);
    assert_eq!(after.price.retail, Some(Money::cny(990)));

    // Upstream drops the plan and Smart's whole data line (3 plans).
    w.a.withdraw_amount(1180, dec("0.87"));
    w.a.withdraw_operator(1181);
    let report = catalog.sync("schedule").await.unwrap();
    let ra = &report.providers[0];
    assert_eq!(ra.plans.disabled, 4, "{ra:?}");
    assert_eq!(ra.operators.disabled, 1, "{ra:?}");
    assert_eq!(report.providers[1].plans.disabled, 0);
    let gone = catalog.plan(&gosurf.id.to_string()).await.unwrap();
    assert!(!gone.upstream.available, "disabled, not deleted");
    assert_eq!(gone.staff, edited.staff);
    assert!(listed_plan(&plans_json(&catalog, "PH", None), &gosurf.id.to_string()).is_none());
    let smart_data = catalog
        .list_operators(
            &OperatorFilter {
                provider: Some("a".into()),
                available: Some(false),
                ..Default::default()
            },
            page(),
        )
        .await
        .unwrap();
    assert_eq!(smart_data.total, 1);
    assert_eq!(smart_data.items[0].provider_operator_id, "1181");

    // Back upstream: listed again, still pinned.
    w.a.restore_catalog();
    let report = catalog.sync("schedule").await.unwrap();
    assert_eq!(report.providers[0].plans.disabled, 0);
    let back = catalog.plan(&gosurf.id.to_string()).await.unwrap();
    assert!(back.upstream.available);
    let data = plans_json(&catalog, "PH", Some("data"));
    assert_eq!(
        listed_plan(&data, &gosurf.id.to_string()).unwrap()["price"]["amount"],
        990
    );
    // The sandbox b was never touched by this.
    assert_eq!(w.b.stats().topup_requests, 0);

    let reports = catalog.sync_reports(page()).await.unwrap();
    assert_eq!(reports.total, 4);
    assert_eq!(reports.items[0].id, report.id, "newest first");
    assert_eq!(
        catalog.sync_report(&report.id.to_string()).await.unwrap(),
        report
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pricing_rules_give_exact_fen_and_are_logged() {
    let w = world().await;
    let catalog = w.catalog(w.router()).await;
    catalog.sync("test").await.unwrap();
    let gosurf = plan_of(&catalog, "a", "1180", "0.87").await;
    // Globe airtime is a range operator: the configured 5 USD is a plan.
    let globe_5 = plan_of(&catalog, "a", "173", "5").await;
    // 5 × 7.10 × 1.08 = 38.34 → ¥38.40
    assert_eq!(globe_5.price.retail, Some(Money::cny(3840)));
    assert_eq!(globe_5.upstream.face_value.amount, 29_060, "5 × 58.12 PHP");
    let telkomsel = plan_of(&catalog, "b", "318", "1").await;
    // 1 × 7.10 × 1.08 = 7.668 → ¥7.70
    assert_eq!(telkomsel.price.retail, Some(Money::cny(770)));

    let rules = catalog.pricing_rules().await.unwrap();
    assert_eq!(rules.markup, dec("0.08"));
    let update: PricingRulesUpdate = serde_json::from_value(json!({
        "markup": "0.05",
        "country_markups": {"PH": "0.12"},
        "operator_markups": {gosurf.operator_id.to_string(): "0.20"},
        "step_fen": 1,
        "version": rules.version,
    }))
    .unwrap();
    let (stored, repriced) = catalog
        .update_pricing_rules(update.clone(), "staff:bob")
        .await
        .unwrap();
    assert_eq!(stored.updated_by, "staff:bob");
    assert!(repriced > 10);
    // Operator markup: 0.87 × 7.10 × 1.20 = 7.4124 → 742 fen (step 1).
    assert_eq!(
        catalog
            .plan(&gosurf.id.to_string())
            .await
            .unwrap()
            .price
            .retail,
        Some(Money::cny(742))
    );
    // Country markup: 5 × 7.10 × 1.12 = 39.76 → 3976.
    assert_eq!(
        catalog
            .plan(&globe_5.id.to_string())
            .await
            .unwrap()
            .price
            .retail,
        Some(Money::cny(3976))
    );
    // Global markup: 1 × 7.10 × 1.05 = 7.455 → 746.
    assert_eq!(
        catalog
            .plan(&telkomsel.id.to_string())
            .await
            .unwrap()
            .price
            .retail,
        Some(Money::cny(746))
    );
    let log = catalog
        .price_changes(Some(&globe_5.id.to_string()), page())
        .await
        .unwrap();
    assert_eq!(log.total, 1);
    assert_eq!(log.items[0].old, Some(Money::cny(3840)));
    assert_eq!(log.items[0].new, Some(Money::cny(3976)));
    assert_eq!(log.items[0].actor, "staff:bob");
    assert_eq!(log.items[0].reason, "rules");
    // The snapshot serves the new prices.
    let airtime = plans_json(&catalog, "PH", Some("airtime"));
    assert_eq!(
        listed_plan(&airtime, &globe_5.id.to_string()).unwrap()["price"]["amount"],
        3976
    );

    // A stale version is refused and changes nothing.
    let stale = catalog.update_pricing_rules(update, "staff:bob").await;
    assert!(matches!(stale, Err(CatalogError::Conflict(_))), "{stale:?}");
    let bad: PricingRulesUpdate = serde_json::from_value(json!({
        "markup": "-0.5", "step_fen": 10, "version": stored.version
    }))
    .unwrap();
    assert!(matches!(
        catalog.update_pricing_rules(bad, "staff:bob").await,
        Err(CatalogError::Invalid(_))
    ));

    // A custom amount on the range operator, priced by the rules (country markup).
    let new: NewPlan = serde_json::from_value(json!({
        "operator_id": globe_5.operator_id.to_string(), "amount": "3.5", "tags": ["promo"]
    }))
    .unwrap();
    let custom = catalog.create_plan(new.clone(), "staff:bob").await.unwrap();
    // 3.5 × 7.10 × 1.12 = 27.832 → 2784 fen; face 3.5 × 58.12 = 203.42 PHP.
    assert_eq!(custom.price.retail, Some(Money::cny(2784)));
    assert_eq!(custom.upstream.face_value.amount, 20_342);
    assert!(
        catalog.create_plan(new, "staff:bob").await.is_err(),
        "duplicate"
    );
    let outside: NewPlan = serde_json::from_value(json!({
        "operator_id": globe_5.operator_id.to_string(), "amount": "500"
    }))
    .unwrap();
    assert!(matches!(
        catalog.create_plan(outside, "staff:bob").await,
        Err(CatalogError::Invalid(_))
    ));
    // Custom plans survive syncs; synced plans cannot be deleted.
    catalog.sync("test").await.unwrap();
    assert!(
        catalog
            .plan(&custom.id.to_string())
            .await
            .unwrap()
            .upstream
            .available
    );
    assert!(matches!(
        catalog
            .delete_plan(&globe_5.id.to_string(), "staff:bob")
            .await,
        Err(CatalogError::Conflict(_))
    ));
    catalog
        .delete_plan(&custom.id.to_string(), "staff:bob")
        .await
        .unwrap();

    // Bulk disable hides plans; unknown ids change nothing.
    let ids = vec![gosurf.id.to_string(), globe_5.id.to_string()];
    let mut with_typo = ids.clone();
    with_typo.push("01JDZ8Q7Y7E3K9V6S2M4T1R0PA".into());
    assert!(
        catalog
            .set_enabled(BulkTarget::Plans, &with_typo, false, "staff:bob")
            .await
            .is_err()
    );
    assert!(
        catalog
            .plan(&gosurf.id.to_string())
            .await
            .unwrap()
            .staff
            .enabled
    );
    assert_eq!(
        catalog
            .set_enabled(BulkTarget::Plans, &ids, false, "staff:bob")
            .await
            .unwrap(),
        2
    );
    let all = plans_json(&catalog, "PH", None);
    assert!(listed_plan(&all, &gosurf.id.to_string()).is_none());
    assert!(listed_plan(&all, &globe_5.id.to_string()).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detection_shares_lookups_forgets_the_least_recently_used_and_limits_each_address() {
    let w = world().await;
    let catalog = w
        .catalog_with(
            w.router(),
            json!({"detect_cache_capacity": 2, "detect_lookups_per_minute": 4}),
        )
        .await;
    catalog.sync("test").await.unwrap();
    let lookups = || w.a.stats().detect_requests + w.b.stats().detect_requests;
    let detect = |address: &'static str, phone: &'static str| {
        let catalog = catalog.clone();
        async move { catalog.detect_from(address, phone, None).await }
    };
    let (globe, smart, third) = ("+639171234567", "+639191234567", "+639171234500");
    assert_eq!(lookups(), 0);

    // Ten callers asking about one new number at once: one provider call among them.
    let same = join_all((0..10).map(|_| detect("10.0.0.1", globe))).await;
    assert!(
        same.iter().all(|d| d.as_ref().unwrap().detected),
        "{same:?}"
    );
    assert_eq!(lookups(), 1);
    // Remembered: asking again costs no provider call and no allowance.
    for _ in 0..5 {
        detect("10.0.0.1", globe).await.unwrap();
    }
    assert_eq!(lookups(), 1);

    // Room for two numbers: the least recently used one is forgotten first.
    detect("10.0.0.1", smart).await.unwrap();
    detect("10.0.0.1", globe).await.unwrap(); // globe is now the more recently used
    detect("10.0.0.1", third).await.unwrap(); // forgets smart
    assert_eq!(lookups(), 3);
    detect("10.0.0.1", globe).await.unwrap();
    assert_eq!(lookups(), 3, "globe was kept");
    detect("10.0.0.1", smart).await.unwrap();
    assert_eq!(lookups(), 4, "smart was forgotten and asked again");

    // Four lookups started from 10.0.0.1 this minute: a fifth new number is refused...
    let refused = detect("10.0.0.1", "+639171234511").await.unwrap_err();
    assert!(
        matches!(refused, CatalogError::RateLimited { retry_after_seconds } if (1..=60).contains(&retry_after_seconds)),
        "{refused:?}"
    );
    assert_eq!(lookups(), 4);
    // ...while remembered numbers still answer, another address is not affected, trusted
    // callers (checkout) are not limited, and the allowance comes back with time.
    assert!(detect("10.0.0.1", smart).await.unwrap().detected);
    assert!(detect("10.0.0.2", "+639171234511").await.unwrap().detected);
    assert!(
        catalog
            .detect("+639171234522", None)
            .await
            .unwrap()
            .detected
    );
    w.clock.advance(TimeDelta::seconds(60));
    assert!(detect("10.0.0.1", "+639171234533").await.unwrap().detected);
    assert_eq!(lookups(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detects_operators_with_their_plans_and_refuses_bad_input() {
    let w = world().await;
    let catalog = w.catalog(w.router()).await;
    catalog.sync("test").await.unwrap();

    let detection = catalog.detect("+639171234567", None).await.unwrap();
    assert!(detection.detected);
    assert_eq!(detection.phone, "+639171234567");
    assert_eq!(detection.country.code, cc("PH"));
    let operator = detection.operator.clone().unwrap();
    assert_eq!(operator.name, "Globe Philippines");
    // Provider a (priority 10) answered: the operator is a's Globe.
    let globe = catalog.operator(&operator.id.to_string()).await.unwrap();
    assert_eq!(globe.provider.as_str(), "a");
    // Globe's airtime and its data line, nothing of Smart's.
    assert!(
        detection
            .plans
            .iter()
            .any(|p| p.plan_type == PlanType::Airtime)
    );
    assert!(
        detection
            .plans
            .iter()
            .any(|p| p.plan_type == PlanType::Data)
    );
    assert!(
        detection
            .plans
            .iter()
            .all(|p| p.operator.name.starts_with("Globe Philippines")),
        "{:?}",
        detection
            .plans
            .iter()
            .map(|p| &p.operator.name)
            .collect::<Vec<_>>()
    );

    // National form with a country.
    let national = catalog.detect("09171234567", Some("ph")).await.unwrap();
    assert_eq!(national.operator, detection.operator);
    let smart = catalog.detect("+639191234567", None).await.unwrap();
    assert_eq!(smart.operator.unwrap().name, "Smart Philippines");

    // Remembered for the TTL: with Globe gone upstream the cached answer still holds...
    w.a.withdraw_operator(173);
    w.b.withdraw_operator(173);
    let cached = catalog.detect("+639171234567", None).await.unwrap();
    assert_eq!(cached.operator, detection.operator);
    // ...until it expires; then the provider is asked again and cannot tell.
    w.clock.advance(TimeDelta::seconds(3601));
    let fresh = catalog.detect("+639171234567", None).await.unwrap();
    assert!(!fresh.detected);
    assert!(fresh.operator.is_none());
    assert_eq!(
        fresh.plans.len(),
        catalog.snapshot().country_plans(cc("PH")).len()
    );

    // Bad input.
    for bad in ["12345", "+6391712", "not a number", ""] {
        let error = catalog.detect(bad, None).await.unwrap_err();
        assert!(
            matches!(error, CatalogError::InvalidPhone(_)),
            "{bad}: {error:?}"
        );
    }
    let error = catalog.detect("09171234567", Some("XX")).await.unwrap_err();
    assert!(
        matches!(error, CatalogError::UnknownCountry(_)),
        "{error:?}"
    );
    // A valid French mobile, but France is not sold.
    let error = catalog.detect("+33612345678", None).await.unwrap_err();
    assert!(
        matches!(error, CatalogError::UnknownCountry(_)),
        "{error:?}"
    );
    // A landline is not rechargeable.
    let error = catalog.detect("+6328123456", None).await.unwrap_err();
    assert!(matches!(error, CatalogError::InvalidPhone(_)), "{error:?}");

    // The app query refusals.
    let snapshot = catalog.snapshot();
    assert!(matches!(
        snapshot.plans_json("FR", None, None),
        Err(CatalogError::UnknownCountry(_))
    ));
    assert!(matches!(
        snapshot.plans_json("PHL", None, None),
        Err(CatalogError::UnknownCountry(_))
    ));
    assert!(matches!(
        snapshot.plans_json("PH", Some("voice"), None),
        Err(CatalogError::InvalidQuery { .. })
    ));
    assert!(matches!(
        snapshot.plans_json("PH", None, Some("nope")),
        Err(CatalogError::InvalidQuery { .. })
    ));
    let vn_operator = catalog
        .list_operators(
            &OperatorFilter {
                country: Some(cc("VN")),
                ..Default::default()
            },
            page(),
        )
        .await
        .unwrap()
        .items[0]
        .id
        .to_string();
    assert!(matches!(
        snapshot.plans_json("PH", None, Some(&vn_operator)),
        Err(CatalogError::InvalidQuery { .. })
    ));
    let by_operator: Value = serde_json::from_slice(
        snapshot
            .plans_json("ph", None, Some(&operator.id.to_string()))
            .unwrap(),
    )
    .unwrap();
    assert!(by_operator["total"].as_u64().unwrap() > 0);
    assert!(
        by_operator["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["operator"]["id"] == operator.id.to_string())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_store_see_each_others_changes_through_the_stamp() {
    let w = world().await;
    let router = w.router();
    let first = w.catalog(router.clone()).await;
    let second = w.catalog(router).await;
    first.sync("test").await.unwrap();
    // The second instance serves from memory: it has not seen the sync yet.
    assert_eq!(second.snapshot().plan_count(), 0);
    assert!(second.refresh_if_stale().await.unwrap());
    assert_eq!(
        second.snapshot().plan_count(),
        first.snapshot().plan_count()
    );
    assert!(!second.refresh_if_stale().await.unwrap(), "nothing new");

    let gosurf = plan_of(&first, "a", "1180", "0.87").await;
    let patch: PlanPatch = serde_json::from_value(json!({"enabled": false})).unwrap();
    first
        .update_plan(&gosurf.id.to_string(), patch, "staff:alice")
        .await
        .unwrap();
    assert!(first.snapshot().offer(&gosurf.id).is_none());
    assert!(
        second.snapshot().offer(&gosurf.id).is_some(),
        "still cached"
    );
    assert!(second.refresh_if_stale().await.unwrap());
    assert!(second.snapshot().offer(&gosurf.id).is_none());

    // The schedule: not due right after a sync, due once the interval (360 min) has passed.
    assert!(second.sync_if_due("schedule").await.unwrap().is_none());
    w.clock.advance(TimeDelta::minutes(361));
    let report = second.sync_if_due("schedule").await.unwrap().unwrap();
    assert_eq!(report.trigger, "schedule");
    assert!(first.refresh_if_stale().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_provider_is_reported_without_touching_the_others_and_retried_sooner() {
    let w = world().await;
    let good = json!({
        "id": "a", "kind": "reloadly", "priority": 10,
        "client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret",
        "auth_url": format!("{}/sandbox/reloadly-a/auth", w.base),
        "api_url": format!("{}/sandbox/reloadly-a/topups", w.base),
        "audience": AUDIENCE, "countries": ["PH"],
    });
    let mut bad = good.clone();
    bad["id"] = json!("b");
    bad["client_secret"] = json!("wrong-secret");
    bad["auth_url"] = json!(format!("{}/sandbox/reloadly-b/auth", w.base));
    bad["api_url"] = json!(format!("{}/sandbox/reloadly-b/topups", w.base));
    let config: ProvidersConfig =
        serde_json::from_value(json!({"providers": [good, bad]})).unwrap();
    let router = Arc::new(config.build_router(w.shared_clock()).unwrap());
    let catalog = w.catalog(router).await;

    let report = catalog.sync_if_due("startup").await.unwrap().unwrap();
    assert!(!report.ok);
    assert!(report.providers[0].errors.is_empty());
    assert!(report.providers[0].plans.added > 0);
    let errors = &report.providers[1].errors;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("countries:"), "{errors:?}");
    assert!(!errors[0].contains("wrong-secret"), "no secrets in reports");
    assert!(catalog.snapshot().plan_count() > 0);

    w.clock.advance(TimeDelta::minutes(5));
    assert!(catalog.sync_if_due("schedule").await.unwrap().is_none());
    w.clock.advance(TimeDelta::minutes(6));
    let retried = catalog.sync_if_due("schedule").await.unwrap().unwrap();
    assert_eq!(retried.providers[0].plans.disabled, 0);
}

/// Polls `done` until it holds, for at most ten seconds.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// One thread: both callers have made their first poll, and so joined the lookup, by the
// time the test runs again.
#[tokio::test]
async fn a_lookup_whose_callers_all_hang_up_is_not_left_in_flight() {
    let w = world().await;
    w.catalog(w.router()).await.sync("test").await.unwrap();
    // Provider `a` answers its token but its lookups reach a port that accepts and never
    // answers: a slow provider.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let config: ProvidersConfig = serde_json::from_value(json!({"providers": [{
        "id": "a", "kind": "reloadly", "priority": 10,
        "client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret",
        "auth_url": format!("{}/sandbox/reloadly-a/auth", w.base),
        "api_url": format!("http://{silent_addr}"),
        "audience": AUDIENCE, "read_timeout_ms": 60000, "max_rate_limit_wait_ms": 0,
        "countries": ["PH"],
    }]}))
    .unwrap();
    let router = Arc::new(config.build_router(w.shared_clock()).unwrap());
    let catalog = w.catalog(router).await;
    let ask = || {
        let catalog = catalog.clone();
        tokio::spawn(async move { catalog.detect("+639171234567", None).await })
    };

    // Two callers wait for one lookup; the first hangs up and the lookup stays for the
    // second; when the second hangs up too, nothing is left.
    let first = ask();
    let second = ask();
    eventually("the lookup starts", || catalog.lookups_in_flight() == 1).await;
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    assert_eq!(
        catalog.lookups_in_flight(),
        1,
        "the second caller still waits"
    );
    second.abort();
    assert!(second.await.unwrap_err().is_cancelled());
    assert_eq!(catalog.lookups_in_flight(), 0);

    // A lookup that finishes leaves nothing either (provider `a` of the shared router).
    let answering = w.catalog(w.router()).await;
    assert!(
        answering
            .detect("+639171234567", None)
            .await
            .unwrap()
            .detected
    );
    assert_eq!(answering.lookups_in_flight(), 0);
}
