//! Routing over two sandbox "providers" mounted side by side: priority, failover, the circuit
//! breaker, and configuration.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::TimeDelta;
use common::*;
use topup_core::{CountryCode, Decimal, ManualClock, Secret};
use topup_recharge::{
    ProviderConfig, ProviderId, ProviderRouter, ProvidersConfig, RechargeError, TopupOutcome,
};
use topup_sandbox::reloadly::{ReloadlySandbox, ReloadlySandboxConfig};

struct Pair {
    clock: ManualClock,
    a: ReloadlySandbox,
    b: ReloadlySandbox,
    base: String,
}

async fn pair(adjust_a: impl FnOnce(&mut ReloadlySandboxConfig)) -> Pair {
    let clock = manual_clock();
    let mut config_a = sandbox_config(&clock);
    adjust_a(&mut config_a);
    let a = ReloadlySandbox::new(config_a);
    let b = ReloadlySandbox::new(sandbox_config(&clock));
    let base = serve(vec![
        ("/sandbox/reloadly-a", a.clone()),
        ("/sandbox/reloadly-b", b.clone()),
    ])
    .await;
    Pair { clock, a, b, base }
}

impl Pair {
    /// `a` first, `b` second, configured the way the server reads it.
    fn config(&self, breaker_threshold: u32) -> ProvidersConfig {
        let json = serde_json::json!({
            "providers": [
                {
                    "id": "b", "kind": "reloadly", "priority": 20,
                    "client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret",
                    "auth_url": format!("{}/sandbox/reloadly-b/auth", self.base),
                    "api_url": format!("{}/sandbox/reloadly-b/topups", self.base),
                    "audience": AUDIENCE, "read_timeout_ms": 2000, "max_rate_limit_wait_ms": 0
                },
                {
                    "id": "a", "kind": "reloadly", "priority": 10,
                    "client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret",
                    "auth_url": format!("{}/sandbox/reloadly-a/auth", self.base),
                    "api_url": format!("{}/sandbox/reloadly-a/topups", self.base),
                    "audience": AUDIENCE, "read_timeout_ms": 2000, "max_rate_limit_wait_ms": 0
                }
            ],
            "circuit_breaker": {"failure_threshold": breaker_threshold, "cool_down_secs": 60}
        });
        serde_json::from_value(json).unwrap()
    }

    fn router(&self, breaker_threshold: u32) -> ProviderRouter {
        self.config(breaker_threshold)
            .build_router(shared(&self.clock))
            .unwrap()
    }
}

fn ph() -> CountryCode {
    CountryCode::parse("PH").unwrap()
}

fn id(text: &str) -> ProviderId {
    ProviderId::new(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_over_on_an_empty_wallet_and_rests_the_provider() {
    let p = pair(|c| c.starting_balance = Decimal::ZERO).await;
    let router = p.router(2);

    for (n, number) in ["+639171234500", "+639171234501"].iter().enumerate() {
        let routed = router
            .send_topup(ph(), |provider| {
                Some(globe_topup(&format!("order-{n}-{provider}"), number))
            })
            .await
            .unwrap();
        assert_eq!(routed.provider, id("b"));
        assert_eq!(routed.result.outcome, TopupOutcome::Succeeded);
        assert_eq!(routed.failed_over.len(), 1);
        let first = &routed.failed_over[0];
        assert_eq!(first.outcome, TopupOutcome::Precondition);
        assert_eq!(first.summary.provider, Some(id("a")));
        assert_eq!(
            first.summary.error_code.as_deref(),
            Some("INSUFFICIENT_BALANCE")
        );
    }
    assert_eq!(p.a.stats().topup_requests, 2);

    // Two failures in a row: a's circuit is open and a is skipped.
    let health = router.health();
    let a_health = health.iter().find(|h| h.provider == id("a")).unwrap();
    assert!(a_health.circuit_open_until.is_some());
    // The count starts again once the circuit opens: after its rest, a gets a full
    // threshold of strikes, not one.
    assert_eq!(a_health.consecutive_failures, 0);
    let routed = router
        .send_topup(ph(), |provider| {
            Some(globe_topup(&format!("order-2-{provider}"), "+639171234508"))
        })
        .await
        .unwrap();
    assert_eq!(routed.provider, id("b"));
    assert!(routed.failed_over.is_empty());
    assert_eq!(p.a.stats().topup_requests, 2, "a was not asked");

    // After the cool-down a is tried again; with money it succeeds and the circuit closes.
    p.clock.advance(TimeDelta::seconds(61));
    p.a.set_balance(Decimal::new(5_000, 2));
    let routed = router
        .send_topup(ph(), |provider| {
            Some(globe_topup(&format!("order-3-{provider}"), "+639171234509"))
        })
        .await
        .unwrap();
    assert_eq!(routed.provider, id("a"));
    assert_eq!(routed.result.outcome, TopupOutcome::Succeeded);
    let a_health = router
        .health()
        .into_iter()
        .find(|h| h.provider == id("a"))
        .unwrap();
    assert_eq!(a_health.consecutive_failures, 0);
    assert_eq!(a_health.circuit_open_until, None);

    let balances = router.balances().await;
    assert_eq!(balances.len(), 2);
    let a_balance = balances.iter().find(|b| b.provider == id("a")).unwrap();
    assert_eq!(a_balance.balance, Some(usd("45.18")));
    let b_balance = balances.iter().find(|b| b.provider == id("b")).unwrap();
    assert!(b_balance.balance.unwrap().value < Decimal::new(100_000, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_over_when_rate_limited() {
    let p = pair(|c| c.rate_limit_per_second = 1).await;
    let router = p.router(3);
    // Use up a's one request of this second.
    router.provider(&id("a")).unwrap().balance().await.unwrap();
    let routed = router
        .send_topup(ph(), |provider| {
            Some(globe_topup(&format!("limited-{provider}"), "+639171234500"))
        })
        .await
        .unwrap();
    assert_eq!(routed.provider, id("b"));
    assert_eq!(routed.result.outcome, TopupOutcome::Succeeded);
    assert_eq!(routed.failed_over[0].outcome, TopupOutcome::FailedRetryable);
    assert_eq!(routed.failed_over[0].summary.http_status, Some(429));
    assert_eq!(p.a.stats().rate_limited, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_and_final_results_never_fail_over() {
    let p = pair(|_| {}).await;
    let router = p.router(3);

    let routed = router
        .send_topup(ph(), |provider| {
            Some(globe_topup(&format!("hung-{provider}"), "+639171234505"))
        })
        .await
        .unwrap();
    assert_eq!(routed.provider, id("a"));
    assert_eq!(routed.result.outcome, TopupOutcome::Ambiguous);
    assert!(routed.failed_over.is_empty());
    assert_eq!(p.b.stats().topup_requests, 0, "b must not be asked");
    // Resolution goes to the provider that holds the attempt.
    let a = router.provider(&routed.provider).unwrap();
    let found = a.find_by_custom_identifier("hung-a").await.unwrap();
    assert!(
        matches!(found, topup_recharge::TransactionLookup::Found(r) if r.outcome == TopupOutcome::Succeeded)
    );

    let routed = router
        .send_topup(ph(), |provider| {
            Some(globe_topup(&format!("bad-{provider}"), "+639171234502"))
        })
        .await
        .unwrap();
    assert_eq!(routed.provider, id("a"));
    assert_eq!(routed.result.outcome, TopupOutcome::FailedFinal);
    assert_eq!(p.b.stats().topup_requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn countries_disabled_providers_and_unoffered_products_are_skipped() {
    let p = pair(|_| {}).await;
    let mut config = p.config(3);
    config.providers[1].countries = vec![CountryCode::parse("ID").unwrap()];
    let router = config.build_router(shared(&p.clock)).unwrap();
    assert_eq!(
        router
            .candidates(ph())
            .iter()
            .map(|c| c.id().clone())
            .collect::<Vec<_>>(),
        vec![id("b")]
    );
    let routed = router
        .send_topup(ph(), |provider| {
            Some(globe_topup(&format!("only-b-{provider}"), "+639171234500"))
        })
        .await
        .unwrap();
    assert_eq!(routed.provider, id("b"));
    assert_eq!(p.a.stats().topup_requests, 0);

    let mut config = p.config(3);
    config.providers[0].enabled = false;
    let router = config.build_router(shared(&p.clock)).unwrap();
    // Disabled providers still answer lookups but take no new top-ups.
    assert!(router.provider(&id("b")).is_some());
    let routed = router
        .send_topup(ph(), |provider| {
            Some(globe_topup(&format!("only-a-{provider}"), "+639171234501"))
        })
        .await
        .unwrap();
    assert_eq!(routed.provider, id("a"));
    assert_eq!(router.balances().await.len(), 1);

    // Nobody offers the product.
    let error = router.send_topup(ph(), |_| None).await.unwrap_err();
    assert!(matches!(error, RechargeError::NoProviderAvailable { .. }));
}

#[test]
fn configuration_is_validated() {
    let clock = manual_clock();
    let good = ProviderConfig::reloadly(
        "one",
        Secret::new("id".to_owned()),
        Secret::new("secret".to_owned()),
    );
    let twice = ProvidersConfig {
        providers: vec![good.clone(), good.clone()],
        ..ProvidersConfig::default()
    };
    assert!(matches!(
        twice.build_router(shared(&clock)),
        Err(RechargeError::Config(_))
    ));

    // Credentials may come later, from the settings: such a provider builds.
    let mut no_secret = good.clone();
    no_secret.client_secret = Secret::new(String::new());
    assert!(no_secret.build(shared(&clock)).is_ok());

    let mut bad_url = good.clone();
    bad_url.api_url = "not a url".to_owned();
    assert!(bad_url.build(shared(&clock)).is_err());

    let unknown_kind = serde_json::json!({
        "providers": [{"id": "x", "kind": "dingdong", "client_id": "a", "client_secret": "b"}]
    });
    assert!(serde_json::from_value::<ProvidersConfig>(unknown_kind).is_err());

    // Defaults: production hosts, audience from the API URL, 3 s / 15 s timeouts.
    let minimal: ProvidersConfig = serde_json::from_value(serde_json::json!({
        "providers": [{"id": "x", "kind": "reloadly", "client_id": "a", "client_secret": "b"}]
    }))
    .unwrap();
    let x = &minimal.providers[0];
    assert_eq!(x.api_url, "https://topups.reloadly.com");
    assert_eq!(x.auth_url, "https://auth.reloadly.com");
    assert_eq!((x.connect_timeout_ms, x.read_timeout_ms), (3_000, 15_000));
    assert!(x.enabled);
    assert_eq!(minimal.circuit_breaker.failure_threshold, 3);
    assert!(!format!("{minimal:?}").contains("\"b\""));
    let router = minimal.build_router(shared(&clock)).unwrap();
    assert_eq!(router.entries().len(), 1);
}
