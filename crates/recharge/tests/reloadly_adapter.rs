//! The Reloadly adapter against the Reloadly sandbox over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use common::*;
use topup_core::{CountryCode, Currency, Msisdn, Secret, SystemClock};
use topup_recharge::{
    Denomination, ProductKind, RechargeError, RechargeProvider, TopupOutcome, TopupRequest,
    TopupResult, TransactionLookup,
};
use topup_sandbox::reloadly::{ReloadlySandbox, ReloadlySandboxConfig, StatusShape};

const PREFIX: &str = "/sandbox/reloadly";

struct Setup {
    clock: topup_core::ManualClock,
    sandbox: ReloadlySandbox,
    base: String,
}

async fn setup_with(adjust: impl FnOnce(&mut ReloadlySandboxConfig)) -> Setup {
    let clock = manual_clock();
    let mut config = sandbox_config(&clock);
    adjust(&mut config);
    let sandbox = ReloadlySandbox::new(config);
    let base = serve(vec![(PREFIX, sandbox.clone())]).await;
    Setup {
        clock,
        sandbox,
        base,
    }
}

async fn setup() -> Setup {
    setup_with(|_| {}).await
}

impl Setup {
    fn provider(&self) -> std::sync::Arc<dyn RechargeProvider> {
        provider(
            &provider_config("reloadly", &self.base, PREFIX),
            &self.clock,
        )
    }

    fn committed_for(&self, international_digits: &str) -> usize {
        self.sandbox
            .transactions()
            .iter()
            .filter(|t| t.recipient_phone == international_digits)
            .count()
    }
}

fn code(result: &TopupResult) -> Option<&str> {
    result.summary.error_code.as_deref()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_detection_and_balance() {
    let s = setup().await;
    let p = s.provider();

    let countries = p.countries().await.unwrap();
    assert!(countries.len() >= 12);
    let ph = countries.iter().find(|c| c.code.as_str() == "PH").unwrap();
    assert_eq!(ph.currency, Some(Currency::parse("PHP").unwrap()));
    assert_eq!(ph.calling_codes, vec!["+63".to_owned()]);

    let operators = p
        .operators(CountryCode::parse("PH").unwrap())
        .await
        .unwrap();
    let globe = operators.iter().find(|o| o.operator_id == "173").unwrap();
    assert_eq!(globe.name, "Globe Philippines");
    assert_eq!(globe.kind, ProductKind::Airtime);
    assert_eq!(globe.fx.unwrap().rate, dec("58.12"));
    assert_eq!(globe.logo_urls.len(), 3);
    match &globe.denomination {
        Denomination::Range {
            min,
            max,
            local_min,
            ..
        } => {
            assert_eq!((*min, *max), (usd("0.50"), usd("50.00")));
            assert_eq!(*local_min, Some(php("29.06")));
        }
        other => panic!("Globe is RANGE, got {other:?}"),
    }
    let smart = operators.iter().find(|o| o.operator_id == "174").unwrap();
    match &smart.denomination {
        Denomination::Fixed {
            amounts,
            local_amounts,
        } => {
            assert_eq!(amounts[0].amount, usd("1.00"));
            assert!(amounts.iter().all(|a| a.description.is_none()));
            assert_eq!(local_amounts[0].amount, php("58.12"));
        }
        other => panic!("Smart is FIXED, got {other:?}"),
    }
    let data = operators.iter().find(|o| o.operator_id == "1180").unwrap();
    assert_eq!(data.kind, ProductKind::Data);
    match &data.denomination {
        Denomination::Fixed { amounts, .. } => {
            assert_eq!(amounts[0].amount, usd("0.87"));
            assert_eq!(
                amounts[0].description.as_deref(),
                Some("GoSURF50: 2GB 3 days")
            );
        }
        other => panic!("data plans are FIXED, got {other:?}"),
    }
    assert!(operators.iter().any(|o| o.kind == ProductKind::Bundle));
    // A country the provider does not serve has no operators.
    assert!(
        p.operators(CountryCode::parse("JP").unwrap())
            .await
            .unwrap()
            .is_empty()
    );

    for digit in 0..10 {
        let number = Msisdn::parse(&format!("+63917123456{digit}"), None).unwrap();
        let detected = p.detect_operator(&number).await.unwrap().unwrap();
        assert_eq!(detected.operator_id, "173", "{number}");
    }
    let smart_number = Msisdn::parse("+639191234567", None).unwrap();
    assert_eq!(
        p.detect_operator(&smart_number)
            .await
            .unwrap()
            .unwrap()
            .name,
        "Smart Philippines"
    );
    let unknown = Msisdn::parse("+447123456789", None).unwrap();
    assert_eq!(p.detect_operator(&unknown).await.unwrap(), None);

    assert_eq!(p.balance().await.unwrap(), usd("1000.00"));
    // One token served every call.
    assert_eq!(s.sandbox.stats().tokens_issued, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn immediate_outcome_table() {
    let s = setup().await;
    let p = s.provider();
    for digit in [0, 1, 8, 9] {
        let key = format!("ok-{digit}");
        let result = p
            .send_topup(&globe_topup(&key, &format!("+63917123450{digit}")))
            .await;
        assert_eq!(
            result.outcome,
            TopupOutcome::Succeeded,
            "{digit}: {result:?}"
        );
        let summary = &result.summary;
        assert_eq!(summary.provider_status.as_deref(), Some("SUCCESSFUL"));
        assert_eq!(summary.delivered_amount, Some(php("290.60")));
        assert_eq!(summary.requested_amount, Some(usd("5")));
        assert_eq!(summary.custom_identifier.as_deref(), Some(key.as_str()));
        assert_eq!(summary.provider.as_ref().unwrap().as_str(), "reloadly");
        assert!(summary.operator_transaction_id.is_some());
        assert!(summary.balance_after.is_some());
        let id = summary.provider_transaction_id.clone().unwrap();
        let status = p.topup_status(&id).await.unwrap();
        assert_eq!(status.outcome, TopupOutcome::Succeeded);
        let TransactionLookup::Found(found) = p.find_by_custom_identifier(&key).await.unwrap()
        else {
            panic!("{key} not found");
        };
        assert_eq!(found.outcome, TopupOutcome::Succeeded);
        assert_eq!(found.summary.provider_transaction_id, Some(id));
    }

    let expectations = [
        (2, TopupOutcome::FailedFinal, "INVALID_RECIPIENT_PHONE"),
        (
            4,
            TopupOutcome::FailedRetryable,
            "OPERATOR_UNAVAILABLE_OR_CURRENTLY_INACTIVE",
        ),
        (6, TopupOutcome::Precondition, "INSUFFICIENT_BALANCE"),
    ];
    for (digit, outcome, error_code) in expectations {
        let key = format!("declined-{digit}");
        let result = p
            .send_topup(&globe_topup(&key, &format!("+63917123450{digit}")))
            .await;
        assert_eq!(result.outcome, outcome, "{digit}: {result:?}");
        assert_eq!(code(&result), Some(error_code));
        assert_eq!(result.summary.http_status, Some(400));
        assert!(result.summary.error_message.is_some());
        // Declined means never committed.
        assert_eq!(
            p.find_by_custom_identifier(&key).await.unwrap(),
            TransactionLookup::NotFound
        );
    }

    // Digit 3 without delay: committed, refunded at once; the balance is whole again.
    let before = p.balance().await.unwrap();
    let refunded = p
        .send_topup(&globe_topup("refund-3", "+639171234503"))
        .await;
    assert_eq!(refunded.outcome, TopupOutcome::FailedFinal, "{refunded:?}");
    assert_eq!(
        refunded.summary.provider_status.as_deref(),
        Some("REFUNDED")
    );
    assert_eq!(p.balance().await.unwrap(), before);
    assert_eq!(s.sandbox.stats().committed_transactions, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delayed_outcomes_follow_the_clock() {
    let s = setup().await;
    let p = s.provider();
    let start_balance = p.balance().await.unwrap();

    // Delay digit 1: about 2 s of PROCESSING, then SUCCESSFUL.
    let pending = p.send_topup(&globe_topup("slow-ok", "+639171234510")).await;
    let TopupOutcome::Pending { provider_ref } = pending.outcome.clone() else {
        panic!("expected pending: {pending:?}");
    };
    assert_eq!(
        pending.summary.provider_status.as_deref(),
        Some("PROCESSING")
    );
    // The recipient has a transaction in flight.
    let busy = p
        .send_topup(&globe_topup("slow-ok-again", "+639171234510"))
        .await;
    assert_eq!(busy.outcome, TopupOutcome::FailedRetryable);
    assert_eq!(code(&busy), Some("RECIPIENT_HAS_PENDING_TRANSACTION"));
    s.clock.advance(TimeDelta::seconds(1));
    assert_eq!(
        p.topup_status(&provider_ref).await.unwrap().outcome,
        TopupOutcome::Pending {
            provider_ref: provider_ref.clone()
        }
    );
    s.clock.advance(TimeDelta::seconds(1));
    let done = p.topup_status(&provider_ref).await.unwrap();
    assert_eq!(done.outcome, TopupOutcome::Succeeded);
    assert_eq!(done.summary.delivered_amount, Some(php("290.60")));

    // Digit 3 with delay 1: PROCESSING, then REFUNDED and the money comes back.
    let refunding = p
        .send_topup(&globe_topup("slow-refund", "+639171234513"))
        .await;
    let TopupOutcome::Pending { provider_ref } = refunding.outcome.clone() else {
        panic!("expected pending: {refunding:?}");
    };
    let charged = p.balance().await.unwrap();
    assert!(charged.value < start_balance.value);
    s.clock.advance(TimeDelta::seconds(2));
    let refunded = p.topup_status(&provider_ref).await.unwrap();
    assert_eq!(refunded.outcome, TopupOutcome::FailedFinal);
    assert_eq!(
        refunded.summary.provider_status.as_deref(),
        Some("REFUNDED")
    );
    assert_eq!(
        p.balance().await.unwrap().value,
        charged.value + (dec("5") - dec("0.18"))
    );

    // Delay digit 2: about 20 s.
    let slower = p.send_topup(&globe_topup("slower", "+639171234520")).await;
    let TopupOutcome::Pending { provider_ref } = slower.outcome.clone() else {
        panic!("expected pending: {slower:?}");
    };
    s.clock.advance(TimeDelta::seconds(19));
    assert!(matches!(
        p.topup_status(&provider_ref).await.unwrap().outcome,
        TopupOutcome::Pending { .. }
    ));
    s.clock.advance(TimeDelta::seconds(1));
    let TransactionLookup::Found(found) = p.find_by_custom_identifier("slower").await.unwrap()
    else {
        panic!("not found");
    };
    assert_eq!(found.outcome, TopupOutcome::Succeeded);

    let unknown = p.topup_status("999999999").await.unwrap_err();
    assert!(matches!(unknown, RechargeError::TransactionNotFound { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digit_seven_fails_twice_then_succeeds() {
    let s = setup().await;
    let p = s.provider();
    let request = globe_topup("flaky", "+639171234507");
    for attempt in 0..2 {
        let result = p.send_topup(&request).await;
        assert_eq!(
            result.outcome,
            TopupOutcome::FailedRetryable,
            "{attempt}: {result:?}"
        );
        assert_eq!(result.summary.http_status, Some(500));
        assert_eq!(code(&result), Some("INTERNAL_SERVER_ERROR"));
    }
    let third = p.send_topup(&request).await;
    assert_eq!(third.outcome, TopupOutcome::Succeeded, "{third:?}");
    assert_eq!(s.sandbox.topup_requests_for("flaky"), 3);
    assert_eq!(s.sandbox.stats().server_errors, 2);
    assert_eq!(s.committed_for("639171234507"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_after_commit_is_ambiguous_and_resolved_by_lookup() {
    let s = setup().await;
    let p = s.provider();
    let request = globe_topup("hung", "+639171234505");
    let started = Instant::now();
    let result = p.send_topup(&request).await;
    assert_eq!(result.outcome, TopupOutcome::Ambiguous, "{result:?}");
    assert_eq!(code(&result), Some("TIMEOUT"));
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "the read timeout, not the hang, ended the call"
    );

    // The worker's next step: look it up by our key, never resend blindly.
    let TransactionLookup::Found(found) = p.find_by_custom_identifier("hung").await.unwrap() else {
        panic!("the committed top-up must be found");
    };
    assert_eq!(found.outcome, TopupOutcome::Succeeded);
    assert_eq!(found.summary.delivered_amount, Some(php("290.60")));
    assert_eq!(s.sandbox.topup_requests_for("hung"), 1, "sent exactly once");
    assert_eq!(s.committed_for("639171234505"), 1);

    // Sending again with the same key is answered CUSTOM_IDENTIFIER_ALREADY_USED, which the
    // adapter resolves to the original transaction.
    let again = p.send_topup(&request).await;
    assert_eq!(again.outcome, TopupOutcome::Succeeded, "{again:?}");
    assert_eq!(code(&again), Some("CUSTOM_IDENTIFIER_ALREADY_USED"));
    assert_eq!(
        again.summary.provider_transaction_id,
        found.summary.provider_transaction_id
    );
    // A blind resend under a new key is refused as a recent recharge.
    let blind = p
        .send_topup(&globe_topup("hung-new-key", "+639171234505"))
        .await;
    assert_eq!(blind.outcome, TopupOutcome::FailedRetryable);
    assert_eq!(code(&blind), Some("PHONE_RECENTLY_RECHARGED"));
    assert_eq!(s.committed_for("639171234505"), 1, "never delivered twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_number_within_two_minutes_is_refused() {
    let s = setup().await;
    let p = s.provider();
    let first = p.send_topup(&globe_topup("r1", "+639171234500")).await;
    assert_eq!(first.outcome, TopupOutcome::Succeeded);
    s.clock.advance(TimeDelta::seconds(119));
    let second = p.send_topup(&globe_topup("r2", "+639171234500")).await;
    assert_eq!(second.outcome, TopupOutcome::FailedRetryable);
    assert_eq!(code(&second), Some("PHONE_RECENTLY_RECHARGED"));
    s.clock.advance(TimeDelta::seconds(2));
    let third = p.send_topup(&globe_topup("r3", "+639171234500")).await;
    assert_eq!(third.outcome, TopupOutcome::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amounts_operators_and_local_amounts_are_validated() {
    let s = setup().await;
    let p = s.provider();
    let mut smart = globe_topup("smart-bad", "+639191234560");
    smart.operator_id = "174".to_owned();
    smart.amount = usd("3.00");
    let bad = p.send_topup(&smart).await;
    assert_eq!(bad.outcome, TopupOutcome::FailedFinal);
    assert_eq!(code(&bad), Some("INVALID_AMOUNT_FOR_OPERATOR"));

    smart.custom_identifier = "smart-local".to_owned();
    smart.use_local_amount = true;
    smart.amount = php("116.24");
    let local = p.send_topup(&smart).await;
    assert_eq!(local.outcome, TopupOutcome::Succeeded, "{local:?}");
    assert_eq!(local.summary.delivered_amount, Some(php("116.24")));

    let mut unknown = globe_topup("no-operator", "+639171234501");
    unknown.operator_id = "999999".to_owned();
    let result = p.send_topup(&unknown).await;
    assert_eq!(result.outcome, TopupOutcome::FailedFinal);
    assert_eq!(code(&result), Some("OPERATOR_NOT_FOUND"));

    // A Philippine operator cannot top up a Nigerian number.
    let wrong_country = p
        .send_topup(&globe_topup("wrong-country", "+2348031234567"))
        .await;
    assert_eq!(wrong_country.outcome, TopupOutcome::FailedFinal);
    assert_eq!(code(&wrong_country), Some("INVALID_RECIPIENT_PHONE"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_is_cached_until_expiry_then_refreshed() {
    let s = setup().await;
    let p = s.provider();
    p.balance().await.unwrap();
    p.balance().await.unwrap();
    assert_eq!(s.sandbox.stats().tokens_issued, 1);
    // Both clocks move: the adapter renews before using an expired token.
    s.clock.advance(TimeDelta::hours(24));
    p.balance().await.unwrap();
    let stats = s.sandbox.stats();
    assert_eq!(stats.tokens_issued, 2);
    assert_eq!(stats.token_expired_rejections, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_expired_answer_refreshes_and_retries_once() {
    let s = setup().await;
    // The adapter's clock stands still, so it believes its token is fresh.
    let adapter_clock = manual_clock();
    let p = provider(
        &provider_config("reloadly", &s.base, PREFIX),
        &adapter_clock,
    );
    p.balance().await.unwrap();
    s.clock
        .advance(TimeDelta::hours(24) + TimeDelta::seconds(1));
    let result = p
        .send_topup(&globe_topup("after-expiry", "+639171234508"))
        .await;
    assert_eq!(result.outcome, TopupOutcome::Succeeded, "{result:?}");
    let stats = s.sandbox.stats();
    assert_eq!(stats.token_expired_rejections, 1);
    assert_eq!(stats.tokens_issued, 2);
    assert_eq!(s.sandbox.topup_requests_for("after-expiry"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_gives_up_when_the_wait_is_too_long() {
    let s = setup_with(|c| c.rate_limit_per_second = 2).await;
    let p = s.provider();
    p.balance().await.unwrap();
    p.balance().await.unwrap();
    let limited = p.balance().await.unwrap_err();
    assert!(
        matches!(
            limited,
            RechargeError::RateLimited {
                retry_after_secs: Some(1),
                ..
            }
        ),
        "{limited:?}"
    );
    let topup = p.send_topup(&globe_topup("limited", "+639171234500")).await;
    assert_eq!(topup.outcome, TopupOutcome::FailedRetryable);
    assert_eq!(topup.summary.http_status, Some(429));
    assert_eq!(s.committed_for("639171234500"), 0);
    // The next second has room again.
    s.clock.advance(TimeDelta::seconds(1));
    let later = p.send_topup(&globe_topup("limited", "+639171234500")).await;
    assert_eq!(later.outcome, TopupOutcome::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_is_waited_out_when_the_reset_is_near() {
    let s = setup_with(|c| c.rate_limit_per_second = 2).await;
    let mut config = provider_config("reloadly", &s.base, PREFIX);
    config.max_rate_limit_wait_ms = 2_000;
    let p = provider(&config, &s.clock);
    p.balance().await.unwrap();
    p.balance().await.unwrap();
    let waiting = tokio::spawn({
        let p = p.clone();
        async move { p.balance().await }
    });
    let sandbox = s.sandbox.clone();
    eventually(|| sandbox.stats().rate_limited == 1).await;
    // The window resets while the adapter waits out X-RateLimit-Reset.
    s.clock.advance(TimeDelta::seconds(1));
    assert_eq!(waiting.await.unwrap().unwrap(), usd("1000.00"));
    assert_eq!(s.sandbox.stats().rate_limited, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_are_a_precondition_and_never_leak() {
    let s = setup().await;
    let mut config = provider_config("reloadly", &s.base, PREFIX);
    config.client_secret = Secret::new("wrong-secret-value".to_owned());
    let p = provider(&config, &s.clock);
    let result = p.send_topup(&globe_topup("no-auth", "+639171234500")).await;
    assert_eq!(result.outcome, TopupOutcome::Precondition);
    assert_eq!(code(&result), Some("INVALID_CREDENTIALS"));
    let error = p.balance().await.unwrap_err();
    assert!(matches!(error, RechargeError::Unauthorized { .. }));
    for text in [
        format!("{error}"),
        format!("{error:?}"),
        format!("{result:?}"),
        format!("{config:?}"),
        format!("{p:?}"),
        serde_json::to_string(&result).unwrap(),
    ] {
        assert!(!text.contains("wrong-secret-value"), "{text}");
        assert!(!text.contains("sandbox-client-id"), "{text}");
    }
    assert_eq!(s.sandbox.stats().topup_requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_replaced_while_serving_are_used_from_the_next_call() {
    let s = setup().await;
    let good = provider_config("reloadly", &s.base, PREFIX);
    let mut wrong = good.clone();
    wrong.client_secret = Secret::new("wrong-secret-value".to_owned());
    let p = provider(&wrong, &s.clock);
    assert!(matches!(
        p.balance().await.unwrap_err(),
        RechargeError::Unauthorized { .. }
    ));
    assert!(p.set_credentials(good.client_id.clone(), good.client_secret.clone()));
    assert!(p.balance().await.is_ok());
    // Replaced again by wrong ones: the token the good ones earned is not used any more.
    assert!(p.set_credentials(good.client_id.clone(), wrong.client_secret.clone()));
    assert!(matches!(
        p.balance().await.unwrap_err(),
        RechargeError::Unauthorized { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flat_status_shape_is_understood() {
    let s = setup_with(|c| c.status_shape = StatusShape::Flat).await;
    let p = s.provider();
    let pending = p.send_topup(&globe_topup("flat", "+639171234510")).await;
    let TopupOutcome::Pending { provider_ref } = pending.outcome else {
        panic!("{pending:?}");
    };
    s.clock.advance(TimeDelta::seconds(2));
    let status = p.topup_status(&provider_ref).await.unwrap();
    assert_eq!(status.outcome, TopupOutcome::Succeeded);
    assert_eq!(status.summary.provider_transaction_id, Some(provider_ref));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_provider_is_retryable_not_ambiguous() {
    // A port that was free a moment ago: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let clock = manual_clock();
    let p = provider(&provider_config("down", &base, PREFIX), &clock);
    let result = p.send_topup(&globe_topup("down", "+639171234500")).await;
    assert_eq!(result.outcome, TopupOutcome::FailedRetryable, "{result:?}");
    assert_eq!(code(&result), Some("NOT_SENT"));
    assert!(matches!(
        p.balance().await.unwrap_err(),
        RechargeError::Unreachable { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_api_path_is_a_precondition() {
    let s = setup().await;
    let mut config = provider_config("misconfigured", &s.base, PREFIX);
    config.api_url = format!("{}{PREFIX}/topups/v9", s.base);
    let p = provider(&config, &s.clock);
    let result = p.send_topup(&globe_topup("lost", "+639171234500")).await;
    assert_eq!(result.outcome, TopupOutcome::Precondition, "{result:?}");
    assert_eq!(result.summary.http_status, Some(404));
    // A bare 404 is not "this country has no operators".
    let error = p
        .operators(CountryCode::parse("PH").unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(error, RechargeError::Provider { status: 404, .. }),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_the_system_clock_too() {
    // The defaults (system clock, generous limits) work end to end.
    let sandbox = ReloadlySandbox::new(ReloadlySandboxConfig::default());
    let base = serve(vec![(PREFIX, sandbox.clone())]).await;
    let p = provider_config("reloadly", &base, PREFIX)
        .build(std::sync::Arc::new(SystemClock))
        .unwrap();
    let request = TopupRequest {
        amount: usd("10"),
        ..globe_topup("system", "+639171234509")
    };
    let result = p.send_topup(&request).await;
    assert_eq!(result.outcome, TopupOutcome::Succeeded, "{result:?}");
    assert_eq!(result.summary.delivered_amount, Some(php("581.20")));
}

/// Reads one HTTP/1.1 request (head and `Content-Length` body) from `stream`; `false` when the
/// peer closed the connection instead.
async fn read_request(stream: &mut tokio::net::TcpStream) -> bool {
    use tokio::io::AsyncReadExt;
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if seen.len() >= end + 4 + length {
                return true;
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => seen.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn answer(stream: &mut tokio::net::TcpStream, body: &str) {
    use tokio::io::AsyncWriteExt;
    let reply = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(reply.as_bytes()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_on_a_connection_the_provider_dropped_is_sent_again() {
    // Servers close idle keep-alive connections (actix after 5 s); a read that went out on such
    // a pooled connection meets a reset. A read is idempotent, so it is sent once more on a
    // fresh connection instead of failing (a detection would answer "not detected").
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = Arc::clone(&connections);
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let nth = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                if nth == 0 {
                    // The token, kept alive; the next request on it is read and dropped.
                    read_request(&mut stream).await;
                    answer(
                        &mut stream,
                        r#"{"access_token":"t","expires_in":3600,"token_type":"Bearer"}"#,
                    )
                    .await;
                    read_request(&mut stream).await;
                    return;
                }
                while read_request(&mut stream).await {
                    answer(&mut stream, "[]").await;
                }
            });
        }
    });
    let clock = manual_clock();
    let p = provider(&provider_config("flaky", &base, PREFIX), &clock);
    assert_eq!(p.countries().await.unwrap(), Vec::new());
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 2);
}
