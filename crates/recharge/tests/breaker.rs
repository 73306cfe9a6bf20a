//! The circuit breaker's timing: once rested, a provider gets a full threshold again, and a
//! refusal about one request (one operator) never rests the provider for everyone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::TimeDelta;
use common::{manual_clock, shared};
use topup_core::CountryCode;
use topup_recharge::{
    AttemptSummary, ProviderId, ProviderRouter, ProvidersConfig, TopupOutcome, TopupResult,
};

fn router(clock: &topup_core::ManualClock) -> ProviderRouter {
    // Never called: these tests feed the breaker directly.
    let config: ProvidersConfig = serde_json::from_value(serde_json::json!({
        "providers": [{
            "id": "a", "kind": "reloadly", "priority": 10,
            "client_id": "id", "client_secret": "secret",
            "auth_url": "http://127.0.0.1:9/auth", "api_url": "http://127.0.0.1:9/topups",
            "audience": "https://topups-sandbox.reloadly.com"
        }],
        "circuit_breaker": {"failure_threshold": 3, "cool_down_secs": 60}
    }))
    .unwrap();
    config.build_router(shared(clock)).unwrap()
}

/// One call, started and answered before the next starts.
fn feed(router: &ProviderRouter, id: &ProviderId, result: &TopupResult) {
    let started = router.call_started(id);
    router.record_result(id, started, result);
}

fn ph() -> CountryCode {
    CountryCode::parse("PH").unwrap()
}

fn open(router: &ProviderRouter) -> bool {
    router.candidates(ph()).is_empty()
}

fn failed(http_status: Option<u16>, code: Option<&str>) -> TopupResult {
    TopupResult::new(
        TopupOutcome::FailedRetryable,
        AttemptSummary {
            http_status,
            error_code: code.map(str::to_owned),
            ..AttemptSummary::default()
        },
    )
}

fn server_error() -> TopupResult {
    failed(Some(500), Some("INTERNAL_SERVER_ERROR"))
}

fn succeeded() -> TopupResult {
    TopupResult::new(TopupOutcome::Succeeded, AttemptSummary::default())
}

/// A router over the one provider `a`, on a manual clock.
fn provider_a() -> (topup_core::ManualClock, ProviderRouter, ProviderId) {
    let clock = manual_clock();
    let router = router(&clock);
    (clock, router, ProviderId::new("a"))
}

fn timed_out() -> TopupResult {
    TopupResult::new(TopupOutcome::Ambiguous, AttemptSummary::default())
}

#[test]
fn after_its_rest_a_provider_gets_a_full_threshold_again() {
    let (clock, router, a) = provider_a();
    let server_error = server_error();
    for _ in 0..2 {
        feed(&router, &a, &server_error);
    }
    assert!(!open(&router), "two failures of three");
    feed(&router, &a, &server_error);
    assert!(open(&router), "the third opens it");
    clock.advance(TimeDelta::seconds(61));
    assert!(!open(&router), "closed after the cool-down");
    feed(&router, &a, &server_error);
    assert!(
        !open(&router),
        "one failure after the rest does not re-open it"
    );
    feed(&router, &a, &server_error);
    feed(&router, &a, &server_error);
    assert!(open(&router), "a full threshold again does");
}

#[test]
fn one_operators_refusals_do_not_rest_the_provider() {
    let (_clock, router, a) = provider_a();
    for _ in 0..10 {
        feed(
            &router,
            &a,
            &failed(
                Some(400),
                Some("OPERATOR_UNAVAILABLE_OR_CURRENTLY_INACTIVE"),
            ),
        );
    }
    assert!(!open(&router), "answered refusals are about the request");
    // Rate limiting and transport failures are about the provider.
    for _ in 0..3 {
        feed(&router, &a, &failed(Some(429), Some("TOO_MANY_REQUESTS")));
    }
    assert!(open(&router));
}

#[test]
fn a_minority_of_failing_orders_never_rests_the_provider_but_an_outage_does() {
    let (_clock, router, a) = provider_a();
    let server_error = server_error();
    let succeeded = succeeded();
    // Results as many orders in flight interleave them: four in ten fail (as in a run mixing
    // every sandbox digit), some in runs of six.
    for _ in 0..10 {
        feed(&router, &a, &succeeded);
    }
    for round in 0..20 {
        let pattern: &[bool] = if round % 4 == 0 {
            &[
                true, true, true, true, true, true, false, false, false, false, false, false,
                false, false, false,
            ]
        } else {
            &[true, true, false, false, false]
        };
        for failed_now in pattern {
            feed(
                &router,
                &a,
                if *failed_now {
                    &server_error
                } else {
                    &succeeded
                },
            );
            assert!(
                !open(&router),
                "round {round}: healthy orders keep their provider"
            );
        }
    }
    // The provider goes down: every call fails, and it rests before long.
    let mut calls = 0;
    while !open(&router) {
        feed(&router, &a, &server_error);
        calls += 1;
        assert!(calls <= 20, "an outage opens the circuit within the window");
    }
}

#[test]
fn calls_that_time_out_together_while_others_succeed_never_rest_the_provider() {
    let (_clock, router, a) = provider_a();
    let succeeded = succeeded();
    // Twenty-five orders of one hanging operator are sent in the same second; the provider
    // answers forty other orders while they wait, then all twenty-five time out together.
    let hanging: Vec<_> = (0..25).map(|_| router.call_started(&a)).collect();
    for _ in 0..40 {
        feed(&router, &a, &succeeded);
    }
    for started in hanging {
        router.record_result(&a, started, &timed_out());
        assert!(!open(&router), "the provider served others meanwhile");
    }
    // When the provider itself hangs, no call succeeds while they wait: it rests once the
    // timeouts are 80% of its recent results.
    let hanging: Vec<_> = (0..20).map(|_| router.call_started(&a)).collect();
    let mut timeouts = 0;
    for started in hanging {
        router.record_result(&a, started, &timed_out());
        timeouts += 1;
        if open(&router) {
            break;
        }
    }
    assert!(open(&router), "an outage still rests the provider");
    assert_eq!(timeouts, 16, "sixteen of the last twenty");
}
