//! Two `topup serve` processes on one store (`docs/operations.md#several-instances`): the
//! SQLite file of one data dir, or the MongoDB database `TOPUP_TEST_MONGODB_URI` names. A
//! third process plays WeChat and the provider for both. Checkouts alternate between the two;
//! one of them is killed with SIGKILL while orders are being paid and recharged, and started
//! again. Every order must end exactly once, and the reconciliation must find nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Running, launch, launch_on};

const ORDERS: usize = 24;
const USERS: usize = 6;

/// The environment both instances share: the sandboxes in the third process, limits off,
/// and the workers looking often, so a dead process's work is taken over within seconds.
fn shared_env(world: &Running, world_dir: &std::path::Path) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("TOPUP_SANDBOX__EXTERNAL_URL", world.base.clone()),
        (
            "TOPUP_SANDBOX__KEYS_DIR",
            world_dir.join("secrets").display().to_string(),
        ),
        ("TOPUP_APP__LOGIN_RATE_PER_MINUTE", "0".into()),
        ("TOPUP_ORDERS__CHECKOUT_RATE_PER_MINUTE", "0".into()),
        ("TOPUP_ORDERS__MAX_UNPAID_ORDERS_PER_USER", "0".into()),
        ("TOPUP_CATALOG__DETECT_LOOKUPS_PER_MINUTE", "0".into()),
        ("TOPUP_ORDERS__WORKER_PERIOD_SECONDS", "1".into()),
        ("TOPUP_ORDERS__LEASE_SECONDS", "3".into()),
        ("TOPUP_PAYMENT__QUERY_UNPAID_AFTER_SECS", "1".into()),
        ("TOPUP_PAYMENT__SYNC_PERIOD_SECS", "1".into()),
        ("TOPUP_PAYMENT__LEASE_SECS", "3".into()),
    ];
    if let Ok(uri) = std::env::var("TOPUP_TEST_MONGODB_URI")
        && !uri.trim().is_empty()
    {
        // A database of its own on that server: the name goes before the options.
        let name = format!("topup_instances_{}", std::process::id());
        let (server, options) = uri.split_once('?').unwrap_or((uri.as_str(), ""));
        let server = server.trim_end_matches('/');
        env.push(("TOPUP_STORE__URL", format!("{server}/{name}?{options}")));
    }
    env
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn post(client: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> Value {
    let mut request = client.post(&url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{url}: {status} {body}");
    body
}

async fn get(client: &reqwest::Client, url: String, token: &str) -> Value {
    let response = client.get(&url).bearer_auth(token).send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(status.is_success(), "{url}: {status} {body}");
    body
}

/// Waits until the instance sells the plans of the test numbers' operator.
async fn plan_on_sale(client: &reqwest::Client, base: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let detected: Value = client
            .get(format!("{base}/api/v1/app/catalog/detect"))
            .query(&[("phone", "+639171234500")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap_or(Value::Null);
        if let Some(plan) = detected["plans"][0]["id"].as_str() {
            return plan.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "the catalog never synced: {detected}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn two_instances_one_store_one_killed_every_order_ends_once() {
    let dir = tempfile::tempdir().unwrap();
    let world_dir = dir.path().join("world");
    let world = launch(&world_dir, &[]);
    let env = shared_env(&world, &world_dir);
    let data_dir = dir.path().join("shop");
    let port_a = free_port();
    let mut a = launch_on(&data_dir, &format!("127.0.0.1:{port_a}"), &env);
    let client = reqwest::Client::new();
    let plan = plan_on_sale(&client, &a.base).await;
    // The second instance finds the store, the keys and the admin made by the first.
    let b = launch(&data_dir, &env);
    plan_on_sale(&client, &b.base).await;

    let password = std::fs::read_to_string(data_dir.join("initial-admin-password")).unwrap();
    let first = post(
        &client,
        format!("{}/api/v1/admin/auth/login", b.base),
        None,
        json!({"username": "admin", "password": password.trim()}),
    )
    .await;
    let changed = client
        .put(format!("{}/api/v1/admin/auth/password", a.base))
        .bearer_auth(first["access_token"].as_str().unwrap())
        .json(&json!({"old": password.trim(), "new": "Two-instances-2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let admin: Value = changed.json().await.unwrap();
    let admin = admin["access_token"].as_str().unwrap().to_owned();

    let mut users = Vec::new();
    for n in 0..USERS {
        let code = post(
            &client,
            format!("{}/sandbox/wechat/codes", world.base),
            None,
            json!({}),
        )
        .await;
        let base = if n % 2 == 0 { &a.base } else { &b.base };
        let login = post(
            &client,
            format!("{base}/api/v1/app/auth/login"),
            None,
            json!({"code": code["code"]}),
        )
        .await;
        users.push(login["token"].as_str().unwrap().to_owned());
    }

    // Checkouts alternate between the instances; a quarter of the numbers are declined by
    // the operator (their money goes back), the rest are delivered.
    let mut placed = Vec::new();
    for n in 0..ORDERS {
        let outcome = if n % 4 == 1 { "02" } else { "00" };
        let phone = format!("+63917{n:05}{outcome}");
        let base = if n % 2 == 0 { &a.base } else { &b.base };
        let checkout = post(
            &client,
            format!("{base}/api/v1/app/orders"),
            Some(&users[n % USERS]),
            json!({"plan_id": plan, "phone": phone}),
        )
        .await;
        let order_no = checkout["order"]["order_no"].as_str().unwrap().to_owned();
        let package = checkout["pay_params"]["package"].as_str().unwrap();
        let prepay = package.trim_start_matches("prepay_id=").to_owned();
        placed.push((order_no, outcome, prepay));
    }

    // The users pay; halfway, the first instance dies without warning, with orders of its
    // own being notified, dispatched and recharged.
    for (n, (_, _, prepay)) in placed.iter().enumerate() {
        post(
            &client,
            format!("{}/sandbox/wechat/pay/confirm", world.base),
            None,
            json!({"prepay_id": prepay}),
        )
        .await;
        if n == ORDERS / 2 {
            Command::new("kill")
                .args(["-KILL", &a.child.id().to_string()])
                .status()
                .unwrap();
            let _ = a.child.wait();
        }
    }
    // It comes back on its address (WeChat keeps notifying it there).
    a = launch_on(&data_dir, &format!("127.0.0.1:{port_a}"), &env);

    // Every order reaches its end.
    let deadline = Instant::now() + Duration::from_secs(120);
    let states: BTreeMap<String, Value> = loop {
        let mut states = BTreeMap::new();
        for (order_no, _, _) in &placed {
            let order = get(
                &client,
                format!("{}/api/v1/admin/orders/{order_no}", b.base),
                &admin,
            )
            .await;
            states.insert(order_no.clone(), order);
        }
        let open = states
            .values()
            .filter(|o| !matches!(o["state"].as_str(), Some("succeeded" | "refunded")))
            .count();
        if open == 0 {
            break states;
        }
        assert!(
            Instant::now() < deadline,
            "{open} orders never ended: {:?}",
            states
                .values()
                .map(|o| (&o["order_no"], &o["state"]))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    for (order_no, outcome, _) in &placed {
        let order = &states[order_no];
        let expected = if *outcome == "02" {
            "refunded"
        } else {
            "succeeded"
        };
        assert_eq!(order["state"], expected, "{order}");
        let paid = order["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["what"] == "paid")
            .count();
        assert_eq!(paid, 1, "paid once: {order}");
        let delivered = order["recharge"]["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["outcome"]["class"] == "SUCCEEDED")
            .count();
        assert_eq!(
            delivered,
            usize::from(*outcome != "02"),
            "delivered once: {order}"
        );
        let refunds = order["refunds"].as_array().unwrap().len();
        assert_eq!(refunds, usize::from(*outcome == "02"), "{order}");
    }

    // WeChat's and the provider's records agree, to the fen.
    let now = chrono::Utc::now();
    let started = post(
        &client,
        format!("{}/api/v1/admin/reconciliations", a.base),
        Some(&admin),
        json!({
            "from": (now - chrono::TimeDelta::hours(1)).to_rfc3339(),
            "to": (now + chrono::TimeDelta::hours(1)).to_rfc3339(),
        }),
    )
    .await;
    let id = started["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let report = loop {
        let report = get(
            &client,
            format!("{}/api/v1/admin/reconciliations/{id}", a.base),
            &admin,
        )
        .await;
        if report["state"] != "running" {
            break report;
        }
        assert!(
            Instant::now() < deadline,
            "the reconciliation never finished"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(report["state"], "finished", "{report}");
    assert_eq!(report["totals"]["orders"], ORDERS, "{report}");
    assert_eq!(report["discrepancy_count"], 0, "{report}");
    assert_eq!(report["totals"]["unaccounted"], 0);
    assert_eq!(report["totals"]["in_flight"], 0);
    drop(b);
}
