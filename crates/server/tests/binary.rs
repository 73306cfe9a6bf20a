//! End-to-end: the real `topup` binary over loopback.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::zombie_processes)]

use std::process::Command;
use std::time::{Duration, Instant};

mod support;

use support::{Running, wait_for_line};

fn start(data_dir: &std::path::Path) -> Running {
    support::launch(data_dir, &[])
}

#[tokio::test]
async fn serves_health_docs_and_errors_then_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut server = start(&data_dir);
    assert!(
        data_dir.join("topup.db").exists(),
        "the SQLite file is created"
    );
    // Transparent huge pages are off for the server (`docs/operations.md#memory`).
    #[cfg(target_os = "linux")]
    {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
        let thp = status.lines().find(|l| l.starts_with("THP_enabled:"));
        assert_eq!(
            thp.map(|l| l.split_whitespace().nth(1)),
            Some(Some("0")),
            "{status}"
        );
    }
    let client = support::http_client();

    let health = client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let docs = client
        .get(format!("{}/docs/", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    let ready = client
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    // WeChat Pay callbacks are served by the payment service (503 without it): an unsigned
    // one is refused as unauthentic.
    let unsigned = client
        .post(format!("{}/api/v1/pay/wechat/notify", server.base))
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    let body: serde_json::Value = unsigned.json().await.unwrap();
    assert_eq!(body["code"], "UNAUTHORIZED");

    // An unknown API path keeps its JSON 404 (other paths are the console's client-side routes).
    let missing = client
        .get(format!("{}/api/v1/nope", server.base))
        .header("X-Request-Id", "e2e-req-1")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["code"], "ROUTE_NOT_FOUND");
    assert_eq!(body["request_id"], "e2e-req-1");
    // The request's log line carries its id.
    let line = wait_for_line(&server.lines, "e2e-req-1");
    let logged: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(logged["span"]["request_id"], "e2e-req-1");

    Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn stop(server: &mut Running) {
    Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn first_start_creates_an_admin_whose_password_is_in_a_private_file() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut server = start(&data_dir);
    let password_file = data_dir.join("initial-admin-password");
    let key_file = data_dir.join("secrets").join("jwt.key");
    #[cfg(unix)]
    {
        assert_eq!(mode(&password_file), 0o600);
        assert_eq!(mode(&key_file), 0o600);
    }
    let password = std::fs::read_to_string(&password_file)
        .unwrap()
        .trim()
        .to_owned();
    assert!(password.len() >= 16);
    let client = support::http_client();
    let login = client
        .post(format!("{}/api/v1/admin/auth/login", server.base))
        .json(&serde_json::json!({"username": "admin", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let pair: serde_json::Value = login.json().await.unwrap();
    assert_eq!(pair["must_change_password"], true);
    let token = pair["access_token"].as_str().unwrap().to_owned();
    let me = |base: String, token: String| {
        let client = client.clone();
        async move {
            client
                .get(format!("{base}/api/v1/admin/auth/me"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(me(server.base.clone(), token.clone()).await, 200);
    let users = client
        .get(format!("{}/api/v1/admin/users", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), 403, "password change comes first");
    // The password is shown once on the console (stderr), never in the log (stdout).
    stop(&mut server);
    let mut logged: Vec<String> = server.startup.clone();
    logged.extend(server.lines.try_iter());
    assert!(logged.iter().all(|line| !line.contains(&password)));
    assert!(
        logged
            .iter()
            .any(|line| line.contains("first administrator"))
    );
    let mut console = String::new();
    std::io::Read::read_to_string(&mut server.child.stderr.take().unwrap(), &mut console).unwrap();
    assert!(console.contains(&password), "{console}");

    // A restart keeps the signing key (tokens stay valid) and creates no second admin.
    let key = std::fs::read(&key_file).unwrap();
    let server = start(&data_dir);
    assert_eq!(std::fs::read(&key_file).unwrap(), key);
    assert_eq!(
        std::fs::read_to_string(&password_file).unwrap().trim(),
        password
    );
    assert_eq!(me(server.base.clone(), token).await, 200);
}

/// The README's two calls: a `wx.login()` code from the embedded sandbox, then the app login.
#[tokio::test]
async fn a_mini_program_user_logs_in_with_a_sandbox_code() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let server = start(&data_dir);
    let client = support::http_client();
    let issued: serde_json::Value = client
        .post(format!("{}/sandbox/wechat/codes", server.base))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = issued["code"].as_str().unwrap();
    let login = client
        .post(format!("{}/api/v1/app/auth/login", server.base))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "code": code }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let login: serde_json::Value = login.json().await.unwrap();
    assert_eq!(login["new_user"], true);
    assert!(login["expires_in"].as_u64().unwrap() > 0);
    let token = login["token"].as_str().unwrap();
    let me = client
        .get(format!("{}/api/v1/app/me", server.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["id"], login["user"]["id"]);
    // The at-rest key that encrypts session keys was generated privately.
    let key = data_dir.join("secrets").join("at-rest.key");
    assert_eq!(std::fs::read(&key).unwrap().len(), 32);
    #[cfg(unix)]
    assert_eq!(mode(&key), 0o600);
}

#[test]
fn openapi_command_prints_the_committed_document() {
    let output = Command::new(env!("CARGO_BIN_EXE_topup"))
        .arg("openapi")
        .output()
        .unwrap();
    assert!(output.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../openapi/openapi.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(printed, committed);
}

#[test]
fn version_flag_prints_the_version() {
    let output = Command::new(env!("CARGO_BIN_EXE_topup"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn invalid_configuration_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("topup.toml");
    std::fs::write(&config, "[store]\nurl = \"postgres://nope\"\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_topup"))
        .args(["serve", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("store.url"), "{stderr}");
}

#[test]
fn an_unreachable_mongodb_stops_the_start_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_topup"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .env(
            "TOPUP_STORE__URL",
            "mongodb://topup:hunter2@127.0.0.1:9/topup?serverSelectionTimeoutMS=300",
        )
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("store"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[tokio::test]
async fn first_start_syncs_the_sandbox_catalog_so_there_is_something_to_sell() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("data"));
    let client = support::http_client();
    let plans_url = format!("{}/api/v1/app/catalog/plans?country=PH", server.base);
    let deadline = Instant::now() + Duration::from_secs(60);
    let plans: serde_json::Value = loop {
        let response = client.get(&plans_url).send().await.unwrap();
        if response.status() == 200 {
            break response.json().await.unwrap();
        }
        // INVALID_COUNTRY until the first sync has filled the catalog.
        assert_eq!(response.status(), 400);
        assert!(
            Instant::now() < deadline,
            "the catalog was not synced in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(plans["total"].as_u64().unwrap() > 10, "{plans}");
    let detected: serde_json::Value = client
        .get(format!(
            "{}/api/v1/app/catalog/detect?phone=%2B639171234567",
            server.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        detected["operator"]["name"], "Globe Philippines",
        "{detected}"
    );
    let countries: serde_json::Value = client
        .get(format!("{}/api/v1/app/catalog/countries", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(countries["total"], 12);
}

fn topup(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_topup"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// `topup backup` beside a running server, `topup restore` into a fresh data dir, and a
/// server started there accepts what the first one issued.
#[tokio::test]
async fn backup_while_serving_then_restore_and_serve_the_copy() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let server = start(&data_dir);
    let password = std::fs::read_to_string(data_dir.join("initial-admin-password")).unwrap();
    let client = support::http_client();
    let pair: serde_json::Value = client
        .post(format!("{}/api/v1/admin/auth/login", server.base))
        .json(&serde_json::json!({"username": "admin", "password": password.trim()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = pair["access_token"].as_str().unwrap().to_owned();

    let file = dir.path().join("shop.topup-backup");
    let backup = topup(&[
        "backup".as_ref(),
        "--data-dir".as_ref(),
        data_dir.as_os_str(),
        "--to".as_ref(),
        file.as_os_str(),
    ]);
    let said = String::from_utf8_lossy(&backup.stdout);
    assert!(backup.status.success(), "{said} {backup:?}");
    assert!(said.contains("backup written"), "{said}");
    assert!(said.contains("secrets: at-rest.key, jwt.key"), "{said}");
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600);
    drop(server);

    let copy_dir = dir.path().join("copy");
    let restore = |from: &std::path::Path| {
        topup(&[
            "restore".as_ref(),
            "--data-dir".as_ref(),
            copy_dir.as_os_str(),
            "--from".as_ref(),
            from.as_os_str(),
        ])
    };
    let restored = restore(&file);
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    let refused = restore(&file);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("exists"),
        "{refused:?}"
    );

    let copy = start(&copy_dir);
    let me = client
        .get(format!("{}/api/v1/admin/auth/me", copy.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "a token of the first server");
}

/// WeChat's clock more than five minutes off ours: its answers fail verification, so a
/// checkout cannot start a payment, and the buyer hears that (502 `PAYMENT_UNAVAILABLE`),
/// not that they cancelled. The order is closed, nothing to pay.
#[tokio::test]
async fn a_payment_that_cannot_start_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let world_dir = dir.path().join("world");
    let world = support::launch(
        &world_dir,
        &[("TOPUP_SANDBOX__CLOCK_SKEW_SECS", "400".into())],
    );
    let shop = support::launch(
        &dir.path().join("shop"),
        &[
            ("TOPUP_SANDBOX__EXTERNAL_URL", world.base.clone()),
            (
                "TOPUP_SANDBOX__KEYS_DIR",
                world_dir.join("secrets").display().to_string(),
            ),
        ],
    );
    let client = support::http_client();
    let code = support::post(
        &client,
        format!("{}/sandbox/wechat/codes", world.base),
        None,
        serde_json::json!({}),
    )
    .await;
    let login = support::post(
        &client,
        format!("{}/api/v1/app/auth/login", shop.base),
        None,
        serde_json::json!({"code": code["code"]}),
    )
    .await;
    let token = login["token"].as_str().unwrap();
    let plan = support::plan_on_sale(&client, &shop.base).await;
    let checkout = client
        .post(format!("{}/api/v1/app/orders", shop.base))
        .bearer_auth(token)
        .json(&serde_json::json!({"plan_id": plan, "phone": "+639171234500"}))
        .send()
        .await
        .unwrap();
    assert_eq!(checkout.status(), 502);
    let body: serde_json::Value = checkout.json().await.unwrap();
    assert_eq!(body["code"], "PAYMENT_UNAVAILABLE", "{body}");
    // What WeChat answered stays in the log; the buyer hears that nothing was charged.
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("nothing was charged"), "{body}");
    assert!(!message.to_lowercase().contains("wechat pay:"), "{body}");
    assert!(
        !message.contains("401") && !message.contains("SIGN"),
        "{body}"
    );
    let mine = support::get(&client, format!("{}/api/v1/app/orders", shop.base), token).await;
    assert_eq!(mine["items"][0]["state"], "closed", "{mine}");
}

/// `topup demo-data` fills an embedded data dir (and nothing else); `topup rebuild-figures`
/// recomputes the dashboard's figures of a period from its orders.
#[test]
fn demo_data_fills_an_embedded_store_whose_figures_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let filled = topup(&[
        "demo-data".as_ref(),
        "--orders".as_ref(),
        "300".as_ref(),
        "--days".as_ref(),
        "5".as_ref(),
        "--data-dir".as_ref(),
        data.as_os_str(),
    ]);
    let said = String::from_utf8_lossy(&filled.stdout);
    assert!(filled.status.success(), "{said} {filled:?}");
    assert!(said.contains("wrote 300 orders (300 payments"), "{said}");

    let today = chrono::Utc::now().date_naive();
    let from = (today - chrono::TimeDelta::days(7)).to_string();
    let rebuilt = topup(&[
        "rebuild-figures".as_ref(),
        "--from".as_ref(),
        from.as_ref(),
        "--to".as_ref(),
        today.to_string().as_ref(),
        "--data-dir".as_ref(),
        data.as_os_str(),
    ]);
    let said = String::from_utf8_lossy(&rebuilt.stdout);
    assert!(rebuilt.status.success(), "{said} {rebuilt:?}");
    assert!(said.contains("ten-minute spans held orders"), "{said}");
    let backwards = topup(&[
        "rebuild-figures".as_ref(),
        "--from".as_ref(),
        today.to_string().as_ref(),
        "--to".as_ref(),
        from.as_ref(),
        "--data-dir".as_ref(),
        data.as_os_str(),
    ]);
    assert!(!backwards.status.success());

    let production = Command::new(env!("CARGO_BIN_EXE_topup"))
        .args(["demo-data", "--orders", "10", "--data-dir"])
        .arg(dir.path().join("other"))
        .env("TOPUP_MODE", "production")
        .output()
        .unwrap();
    assert!(!production.status.success());
    let stderr = String::from_utf8_lossy(&production.stderr);
    assert!(stderr.contains("embedded"), "{stderr}");
    assert!(!dir.path().join("other").join("topup.db").exists());
}

/// The embedded shop's sandboxes remember what they were told across a restart, a kill
/// included: an order paid before the shop was killed is refunded after it starts again (WeChat
/// Pay still knows the payment), the buyer hears of it (WeChat still knows them and the message
/// they allowed), and reconciling the period finds nothing amiss (the provider still knows the
/// top-up).
#[tokio::test]
async fn an_order_paid_before_a_kill_is_refunded_notified_and_reconciled_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let client = support::http_client();
    let mut server = start(&data_dir);
    let base = server.base.clone();

    let code = support::post(
        &client,
        format!("{base}/sandbox/wechat/codes"),
        None,
        serde_json::json!({}),
    )
    .await;
    let login = support::post(
        &client,
        format!("{base}/api/v1/app/auth/login"),
        None,
        serde_json::json!({ "code": code["code"] }),
    )
    .await;
    let buyer = login["token"].as_str().unwrap().to_owned();
    let openid = code["openid"].as_str().unwrap().to_owned();
    // The buyer allows one "refund succeeded" message, in WeChat and at the shop.
    let refund_template = serde_json::json!(["sbx-refund-succeeded"]);
    let allowed = support::post(
        &client,
        format!("{base}/sandbox/wechat/subscriptions"),
        None,
        serde_json::json!({ "openid": openid, "template_ids": refund_template }),
    )
    .await;
    assert_eq!(allowed["sbx-refund-succeeded"], "accept", "{allowed}");
    support::post(
        &client,
        format!("{base}/api/v1/app/subscriptions"),
        Some(&buyer),
        serde_json::json!({ "accepted": refund_template }),
    )
    .await;
    let plan_id = support::plan_on_sale(&client, &base).await;
    let placed = client
        .post(format!("{base}/api/v1/app/orders"))
        .bearer_auth(&buyer)
        .header("Idempotency-Key", "before-the-kill")
        .json(&serde_json::json!({ "plan_id": plan_id, "phone": "+639171234500" }))
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status(), 201);
    let placed: serde_json::Value = placed.json().await.unwrap();
    let order_no = placed["order"]["order_no"].as_str().unwrap().to_owned();
    let prepay_id = placed["pay_params"]["package"]
        .as_str()
        .unwrap()
        .trim_start_matches("prepay_id=");
    support::post(
        &client,
        format!("{base}/sandbox/wechat/pay/confirm"),
        None,
        serde_json::json!({ "prepay_id": prepay_id }),
    )
    .await;
    let order_url = |base: &str| format!("{base}/api/v1/app/orders/{order_no}");
    poll_until(&client, &order_url(&base), &buyer, "/state", "succeeded").await;

    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let server = start(&data_dir);
    let base = server.base.clone();
    let password = std::fs::read_to_string(data_dir.join("initial-admin-password")).unwrap();
    let pair = support::post(
        &client,
        format!("{base}/api/v1/admin/auth/login"),
        None,
        serde_json::json!({ "username": "admin", "password": password.trim() }),
    )
    .await;
    let changed = client
        .put(format!("{base}/api/v1/admin/auth/password"))
        .bearer_auth(pair["access_token"].as_str().unwrap())
        .json(&serde_json::json!({ "old": password.trim(), "new": "After-the-kill-2026" }))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let changed: serde_json::Value = changed.json().await.unwrap();
    let staff = changed["access_token"].as_str().unwrap().to_owned();

    let refunding = support::post(
        &client,
        format!("{base}/api/v1/admin/orders/{order_no}/refund"),
        Some(&staff),
        serde_json::json!({ "reason": "客户申请" }),
    )
    .await;
    assert_eq!(refunding["state"], "refunding", "{refunding}");
    let admin_order = format!("{base}/api/v1/admin/orders/{order_no}");
    let refunded = poll_until(&client, &admin_order, &staff, "/state", "refunded").await;
    assert_eq!(refunded["refunds"][0]["state"], "succeeded", "{refunded}");
    // WeChat still knows the buyer and their allowance: the refund's message reaches them.
    let inbox = format!("{base}/sandbox/wechat/messages?touser={openid}");
    poll_until(
        &client,
        &inbox,
        "",
        "/items/0/template_id",
        "sbx-refund-succeeded",
    )
    .await;

    let now = chrono::Utc::now();
    let run = client
        .post(format!("{base}/api/v1/admin/reconciliations"))
        .bearer_auth(&staff)
        .json(&serde_json::json!({
            "from": (now - chrono::TimeDelta::hours(1)).to_rfc3339(),
            "to": (now + chrono::TimeDelta::hours(1)).to_rfc3339(),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(run.status(), 202);
    let run: serde_json::Value = run.json().await.unwrap();
    let report_url = format!(
        "{base}/api/v1/admin/reconciliations/{}",
        run["id"].as_str().unwrap()
    );
    let report = poll_until(&client, &report_url, &staff, "/state", "finished").await;
    assert_eq!(report["discrepancy_count"], 0, "{report}");
    assert_eq!(report["totals"]["orders"], 1, "{report}");
    assert_eq!(
        report["totals"]["refunded"], report["totals"]["paid"],
        "{report}"
    );
}

/// GETs `url` until the value at the JSON pointer `field` reads `want` (30 s at most);
/// answers the last body.
async fn poll_until(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    field: &str,
    want: &str,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body = support::get(client, url.to_owned(), token).await;
        if body.pointer(field).is_some_and(|value| value == want) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{url}: {field} never became {want}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
