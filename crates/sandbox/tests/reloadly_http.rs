//! The Reloadly sandbox over real HTTP, checked with a plain HTTP client against Reloadly's
//! documented paths, headers and shapes (no code shared with our adapter).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{App, HttpServer, web};
use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{Value, json};
use topup_core::{Decimal, ManualClock, Timestamp};
use topup_sandbox::reloadly::{self, ACCEPT, ReloadlySandbox, ReloadlySandboxConfig};

const AUDIENCE: &str = "https://topups-sandbox.reloadly.com";

struct Running {
    base: String,
    clock: ManualClock,
    sandbox: ReloadlySandbox,
    http: reqwest::Client,
}

async fn start_with(adjust: impl FnOnce(&mut ReloadlySandboxConfig)) -> Running {
    let clock = ManualClock::new(Timestamp::parse("2026-03-01T10:00:00Z").unwrap());
    let mut config = ReloadlySandboxConfig {
        clock: Arc::new(clock.clone()),
        ..ReloadlySandboxConfig::default()
    };
    adjust(&mut config);
    let sandbox = ReloadlySandbox::new(config);
    let base = serve(vec![("/sandbox/reloadly", sandbox.clone())]).await;
    Running {
        base: format!("{base}/sandbox/reloadly"),
        clock,
        sandbox,
        http: reqwest::Client::new(),
    }
}

async fn start() -> Running {
    start_with(|_| {}).await
}

async fn serve(mounts: Vec<(&'static str, ReloadlySandbox)>) -> String {
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
    format!("http://{addr}")
}

fn assert_error_shape(body: &Value, code: Option<&str>, path: &str) {
    let object = body.as_object().unwrap();
    for key in [
        "timeStamp",
        "message",
        "path",
        "errorCode",
        "infoLink",
        "details",
    ] {
        assert!(object.contains_key(key), "{key} missing in {body}");
    }
    assert_eq!(body["errorCode"].as_str(), code, "{body}");
    assert_eq!(body["path"], path);
    assert!(body["details"].is_array());
    // "yyyy-MM-dd HH:mm:ss" without a zone.
    assert_eq!(body["timeStamp"].as_str().unwrap().len(), 19, "{body}");
}

impl Running {
    async fn token_request(&self, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}/auth/oauth/token", self.base))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn token(&self) -> String {
        let response = self
            .token_request(json!({
                "client_id": "sandbox-client-id",
                "client_secret": "sandbox-client-secret",
                "grant_type": "client_credentials",
                "audience": AUDIENCE
            }))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 86400);
        assert!(body["scope"].is_string());
        body["access_token"].as_str().unwrap().to_owned()
    }

    fn get(&self, token: &str, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}/topups{path}", self.base))
            .header("Accept", ACCEPT)
            .bearer_auth(token)
    }

    async fn get_json(&self, token: &str, path: &str) -> (StatusCode, String) {
        let response = self.get(token, path).send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }

    async fn topup(&self, token: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/topups/topups", self.base))
            .header("Accept", ACCEPT)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }
}

fn globe(key: &str, number: &str) -> Value {
    json!({
        "operatorId": 173,
        "amount": 5,
        "useLocalAmount": false,
        "customIdentifier": key,
        "recipientPhone": {"countryCode": "PH", "number": number},
        "senderPhone": {"countryCode": "US", "number": "12015550123"}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_endpoint_checks_credentials_grant_and_audience() {
    let r = start().await;
    let wrong = r
        .token_request(json!({
            "client_id": "sandbox-client-id", "client_secret": "nope",
            "grant_type": "client_credentials", "audience": AUDIENCE
        }))
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let body: Value = wrong.json().await.unwrap();
    assert_error_shape(&body, Some("INVALID_CREDENTIALS"), "/oauth/token");
    assert_eq!(body["message"], "Access Denied");

    let grant = r
        .token_request(json!({
            "client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret",
            "grant_type": "password", "audience": AUDIENCE
        }))
        .await;
    assert_eq!(grant.status(), StatusCode::BAD_REQUEST);

    let audience = r
        .token_request(json!({
            "client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret",
            "grant_type": "client_credentials", "audience": "https://topups.reloadly.com"
        }))
        .await;
    assert_eq!(audience.status(), StatusCode::BAD_REQUEST);

    let form = r
        .http
        .post(format!("{}/auth/oauth/token", r.base))
        .body("client_id=sandbox-client-id")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    r.token().await;
    assert_eq!(r.sandbox.stats().tokens_issued, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_accept_and_expiry_are_enforced() {
    let r = start().await;
    let missing = r
        .http
        .get(format!("{}/topups/accounts/balance", r.base))
        .header("Accept", ACCEPT)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    let body: Value = missing.json().await.unwrap();
    assert_error_shape(&body, Some("INVALID_TOKEN"), "/accounts/balance");

    let (status, text) = r.get_json("made-up", "/accounts/balance").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(text.contains("INVALID_TOKEN"));

    let token = r.token().await;
    let plain_json = r
        .http
        .get(format!("{}/topups/accounts/balance", r.base))
        .header("Accept", "application/json")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(plain_json.status(), StatusCode::NOT_ACCEPTABLE);

    let (status, text) = r.get_json(&token, "/accounts/balance").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["currencyCode"],
        "USD"
    );
    assert!(text.contains(r#""balance":1000.00"#), "{text}");

    r.clock.advance(TimeDelta::hours(24));
    let expired = r.get(&token, "/accounts/balance").send().await.unwrap();
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    let body: Value = expired.json().await.unwrap();
    assert_error_shape(&body, Some("TOKEN_EXPIRED"), "/accounts/balance");
    assert_eq!(r.sandbox.stats().token_expired_rejections, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_speaks_reloadly_json() {
    let r = start().await;
    let token = r.token().await;

    let (_, text) = r.get_json(&token, "/countries").await;
    let countries: Value = serde_json::from_str(&text).unwrap();
    let isos: Vec<&str> = countries
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["isoName"].as_str().unwrap())
        .collect();
    for iso in [
        "PH", "ID", "TH", "VN", "MY", "IN", "NG", "MX", "US", "GB", "BR", "EG",
    ] {
        assert!(isos.contains(&iso), "{iso}");
    }
    let (status, text) = r.get_json(&token, "/countries/PH").await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains(r#""callingCodes":["+63"]"#), "{text}");

    let (status, text) = r
        .get_json(
            &token,
            "/operators/countries/PH?includeBundles=true&includeData=true",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Exact decimals as JSON numbers.
    assert!(
        text.contains(r#""fx":{"rate":58.12,"currencyCode":"PHP"}"#),
        "{text}"
    );
    let operators: Value = serde_json::from_str(&text).unwrap();
    let by_id = |id: u64| {
        operators
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["operatorId"] == id)
            .unwrap()
            .clone()
    };
    let globe = by_id(173);
    assert_eq!(globe["denominationType"], "RANGE");
    assert_eq!(globe["fixedAmountsDescriptions"], json!([]));
    assert_eq!(globe["country"]["isoName"], "PH");
    assert_eq!(globe["logoUrls"].as_array().unwrap().len(), 3);
    let smart = by_id(174);
    assert_eq!(smart["denominationType"], "FIXED");
    assert_eq!(smart["fixedAmountsDescriptions"], json!({}));
    assert_eq!(smart["localFixedAmounts"][0], json!(58.12));
    let data = by_id(1180);
    assert_eq!(data["data"], true);
    assert_eq!(
        data["fixedAmountsDescriptions"]["0.87"],
        "GoSURF50: 2GB 3 days"
    );

    let (_, text) = r
        .get_json(
            &token,
            "/operators/countries/PH?includeBundles=false&includeData=false",
        )
        .await;
    let airtime_only: Value = serde_json::from_str(&text).unwrap();
    assert!(
        airtime_only
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["data"] == false && o["bundle"] == false)
    );

    let (status, text) = r.get_json(&token, "/operators/174").await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("Smart Philippines"));
    let (status, _) = r.get_json(&token, "/operators/4242").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, text) = r.get_json(&token, "/operators?page=1&size=5").await;
    let page: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(page["content"].as_array().unwrap().len(), 5);
    assert!(page["totalElements"].as_u64().unwrap() > 40);

    for number in ["639171234560", "9171234569", "+639171234567"] {
        let (status, text) = r
            .get_json(
                &token,
                &format!(
                    "/operators/auto-detect/phone/{}/countries/PH",
                    number.replace('+', "%2B")
                ),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{number}: {text}");
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap()["name"],
            "Globe Philippines"
        );
    }
    let (status, text) = r
        .get_json(
            &token,
            "/operators/auto-detect/phone/447123456789/countries/GB",
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(text.contains("COULD_NOT_AUTO_DETECT_OPERATOR"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topup_status_report_and_reused_key() {
    let r = start_with(|c| c.starting_balance = Decimal::new(1_000, 2)).await;
    let token = r.token().await;

    // Ids and amounts also arrive as strings; numbers may carry the calling code.
    let mut body = globe("k-1", "639171234510");
    body["operatorId"] = json!("173");
    body["amount"] = json!("5.00");
    let (status, tx) = r.topup(&token, body).await;
    assert_eq!(status, StatusCode::OK, "{tx}");
    assert_eq!(tx["status"], "PROCESSING");
    assert_eq!(tx["customIdentifier"], "k-1");
    assert_eq!(tx["recipientPhone"], "639171234510");
    assert_eq!(tx["countryCode"], "PH");
    assert_eq!(tx["deliveredAmountCurrencyCode"], "PHP");
    assert_eq!(tx["balanceInfo"]["currencyCode"], "USD");
    assert_eq!(tx["transactionDate"], "2026-03-01 10:00:00");
    let id = tx["transactionId"].as_u64().unwrap();

    let (status, reused) = r.topup(&token, globe("k-1", "9171234509")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error_shape(&reused, Some("CUSTOM_IDENTIFIER_ALREADY_USED"), "/topups");

    let (_, text) = r.get_json(&token, &format!("/topups/{id}/status")).await;
    let wrapped: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(wrapped["status"], "PROCESSING");
    assert_eq!(wrapped["transaction"]["transactionId"], id);
    assert!(wrapped.get("code").is_some() && wrapped.get("message").is_some());
    r.clock.advance(TimeDelta::seconds(2));
    let (_, text) = r.get_json(&token, &format!("/topups/{id}/status")).await;
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["status"],
        "SUCCESSFUL"
    );

    let (_, text) = r
        .get_json(&token, "/topups/reports/transactions?customIdentifier=k-1")
        .await;
    let page: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(page["totalElements"], 1);
    assert_eq!(page["content"][0]["transactionId"], id);
    assert_eq!(page["content"][0]["status"], "SUCCESSFUL");
    let (_, text) = r
        .get_json(
            &token,
            "/topups/reports/transactions?customIdentifier=other",
        )
        .await;
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["content"],
        json!([])
    );

    // 10.00 − 4.82 left: a second 5.00 top-up fits, a third does not.
    let (status, _) = r.topup(&token, globe("k-2", "9171234501")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, broke) = r.topup(&token, globe("k-3", "9171234508")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error_shape(&broke, Some("INSUFFICIENT_BALANCE"), "/topups");
    assert_eq!(r.sandbox.balance(), Decimal::new(36, 2));

    let async_answer = r
        .http
        .post(format!("{}/topups/topups-async", r.base))
        .header("Accept", ACCEPT)
        .bearer_auth(&token)
        .json(&json!({
            "operatorId": 174, "amount": 0.36, "useLocalAmount": false,
            "customIdentifier": "k-4",
            "recipientPhone": {"countryCode": "PH", "number": "09191234500"}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        async_answer.status(),
        StatusCode::BAD_REQUEST,
        "0.36 is no Smart denomination"
    );
    r.sandbox.set_balance(Decimal::new(10_000, 2));
    let accepted: Value = r
        .http
        .post(format!("{}/topups/topups-async", r.base))
        .header("Accept", ACCEPT)
        .bearer_auth(&token)
        .json(&json!({
            "operatorId": 174, "amount": 1, "useLocalAmount": false,
            "customIdentifier": "k-5",
            "recipientPhone": {"countryCode": "PH", "number": "09191234500"}
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let async_id = accepted["transactionId"].as_u64().unwrap();
    assert_eq!(accepted.as_object().unwrap().len(), 1, "{accepted}");
    let (_, text) = r
        .get_json(&token, &format!("/topups/reports/transactions/{async_id}"))
        .await;
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["customIdentifier"], "k-5");
    assert_eq!(report["deliveredAmount"], json!(58.12));
    let (status, invalid) = r
        .topup(
            &token,
            json!({"operatorId": 173, "recipientPhone": {"countryCode": "PH", "number": "9171234500"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(invalid["details"][0]["field"], "amount");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digit_five_commits_then_withholds_the_answer() {
    let r = start_with(|c| c.hang = Duration::from_millis(600)).await;
    let token = r.token().await;
    let started = Instant::now();
    let request = {
        let r_http = r.http.clone();
        let url = format!("{}/topups/topups", r.base);
        let token = token.clone();
        tokio::spawn(async move {
            r_http
                .post(url)
                .header("Accept", ACCEPT)
                .bearer_auth(token)
                .json(&globe("hang", "9171234505"))
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    // Committed while the answer is still withheld.
    let deadline = Instant::now() + Duration::from_secs(5);
    while r.sandbox.transactions().is_empty() {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(r.sandbox.transactions()[0].status, "SUCCESSFUL");
    assert_eq!(request.await.unwrap(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(600));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_headers_and_429() {
    let r = start_with(|c| c.rate_limit_per_second = 2).await;
    let token = r.token().await;
    let first = r.get(&token, "/accounts/balance").send().await.unwrap();
    assert_eq!(first.headers()["X-RateLimit-Limit"], "2");
    assert_eq!(first.headers()["X-RateLimit-Remaining"], "1");
    assert!(first.headers().contains_key("X-RateLimit-Reset"));
    r.get(&token, "/accounts/balance").send().await.unwrap();
    let third = r.get(&token, "/accounts/balance").send().await.unwrap();
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(third.headers()["X-RateLimit-Remaining"], "0");
    assert_eq!(third.headers()["X-RateLimit-Reset"], "1");
    assert!(third.headers().contains_key("Retry-After"));
    let body: Value = third.json().await.unwrap();
    assert_error_shape(&body, Some("TOO_MANY_REQUESTS"), "/accounts/balance");
    r.clock.advance(TimeDelta::seconds(1));
    let later = r.get(&token, "/accounts/balance").send().await.unwrap();
    assert_eq!(later.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_at_different_prefixes_are_independent() {
    let clock = ManualClock::new(Timestamp::parse("2026-03-01T10:00:00Z").unwrap());
    let config = ReloadlySandboxConfig {
        clock: Arc::new(clock.clone()),
        ..ReloadlySandboxConfig::default()
    };
    let one = ReloadlySandbox::new(config.clone());
    let two = ReloadlySandbox::new(config);
    let base = serve(vec![("/p1", one.clone()), ("/p2", two.clone())]).await;
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{base}/p1/auth/oauth/token"))
        .json(&json!({
            "client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret",
            "grant_type": "client_credentials", "audience": AUDIENCE
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap();
    let on = |prefix: &str| {
        http.get(format!("{base}{prefix}/topups/accounts/balance"))
            .header("Accept", ACCEPT)
            .bearer_auth(token)
    };
    assert_eq!(on("/p1").send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        on("/p2").send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(one.stats().tokens_issued, 1);
    assert_eq!(two.stats().tokens_issued, 0);

    let unknown = http
        .get(format!("{base}/p1/topups/no/such/path"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["error"], "Not Found");
    assert_eq!(body["status"], 404);
}

/// A sandbox started on the journal a killed one left knows its top-ups, settles them on the
/// clock as the first would have, keeps the balance and hands out the next id; while the first
/// runs, no second one takes its journal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_on_a_killed_ones_journal_knows_its_top_ups_and_balance() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("sandbox").join("reloadly.jsonl");
    let balance = Decimal::new(10_000, 2);
    let first = start_with(|c| c.starting_balance = balance).await;
    assert_eq!(first.sandbox.remember_in(&journal).unwrap(), Some(0));
    let token = first.token().await;
    // Succeeds at once; succeeds in 2 s; is refunded in 20 s.
    for (key, number) in [
        ("now", "9171234500"),
        ("in-2s", "9171234510"),
        ("refund-in-20s", "9171234523"),
    ] {
        let (status, tx) = first.topup(&token, globe(key, number)).await;
        assert_eq!(status, StatusCode::OK, "{tx}");
    }
    let restart = || {
        ReloadlySandbox::new(ReloadlySandboxConfig {
            clock: Arc::new(first.clock.clone()),
            starting_balance: balance,
            ..ReloadlySandboxConfig::default()
        })
    };
    assert_eq!(restart().remember_in(&journal).unwrap(), None);

    let left = dir.path().join("left.jsonl");
    std::fs::copy(&journal, &left).unwrap();
    let second = restart();
    assert_eq!(second.remember_in(&left).unwrap(), Some(3));
    assert_eq!(second.transactions(), first.sandbox.transactions());
    assert_eq!(second.balance(), first.sandbox.balance());
    first.clock.advance(TimeDelta::seconds(20));
    let statuses: Vec<String> = second
        .transactions()
        .into_iter()
        .map(|t| t.status)
        .collect();
    assert_eq!(statuses, ["SUCCESSFUL", "SUCCESSFUL", "REFUNDED"]);
    assert_eq!(second.transactions(), first.sandbox.transactions());
    assert_eq!(second.balance(), first.sandbox.balance());
    assert!(second.balance() < balance);

    let base = serve(vec![("/sandbox/reloadly", second.clone())]).await;
    let second = Running {
        base: format!("{base}/sandbox/reloadly"),
        clock: first.clock.clone(),
        sandbox: second,
        http: reqwest::Client::new(),
    };
    let token = second.token().await;
    let (status, reused) = second.topup(&token, globe("now", "9171234540")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error_shape(&reused, Some("CUSTOM_IDENTIFIER_ALREADY_USED"), "/topups");
    let (status, next) = second.topup(&token, globe("after", "9171234540")).await;
    assert_eq!(status, StatusCode::OK, "{next}");
    let ids: Vec<u64> = second
        .sandbox
        .transactions()
        .iter()
        .map(|t| t.transaction_id)
        .collect();
    assert_eq!(next["transactionId"], ids[2] + 1);
}
