//! Crash safety end to end: the real `topup` binary is killed with SIGKILL at the worst
//! moments of a purchase, or dies at each of its crash points (`topup_core::crash`), and is
//! restarted on the same data dir and store; the order still finishes, the provider holds
//! exactly one transaction for it, and the reconciliation finds nothing wrong. The store is
//! SQLite, or MongoDB when `TOPUP_TEST_MONGODB_URI` is set.
//!
//! Two processes of the binary. `outside` is a plain embedded `topup serve` whose sandboxes
//! (mini-program login, WeChat Pay with its notification loop, Reloadly) play the outside
//! world and live through the whole test. `shop`, the system under test, is an embedded
//! `topup serve` on its own data dir pointed at them with `sandbox.external_url`; it is killed
//! and restarted. The in-process sandboxes keep their state in memory, so only a provider
//! that outlives the shop remembers what the shop's earlier lives sent — which is what makes
//! "exactly one transaction" mean something.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use topup_core::crash;
use topup_orders::Order;
use topup_recharge::TopupOutcome;
use topup_store::testing::TestStore;

/// A running `topup serve`, its log in a file (read for the address and on failure).
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

impl Server {
    fn start(log: PathBuf, data_dir: &Path, listen: &str, env: &[(&str, String)]) -> Server {
        let stdout = std::fs::File::create(&log).unwrap();
        let stderr = stdout.try_clone().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_topup"));
        command
            .args(["serve", "--log-format", "json", "--listen", listen])
            .arg("--data-dir")
            .arg(data_dir)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().unwrap();
        let mut server = Server {
            child,
            base: String::new(),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&server.log).unwrap_or_default();
            if let Some(rest) = text.split("listening on http://").nth(1) {
                let addr: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
                server.base = format!("http://{addr}");
                return server;
            }
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("topup exited with {status}:\n{}", tail(&server.log));
            }
            assert!(
                Instant::now() < deadline,
                "no address in time:\n{}",
                tail(&server.log)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no shutdown path runs, in-flight requests die mid-way.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Waits for the process to end by itself (an armed crash point); answers how it ended.
    fn died(mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the shop did not reach its crash point:\n{}",
                tail(&self.log)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then wait for the exit (so the database is closed).
    fn stop(mut self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The outside world and one shop that uses it; each test has its own.
/// Whether a shop's life runs the order worker (`orders.run_worker`).
enum Worker {
    On,
    Off,
}

struct World {
    // Dropped first (fields drop in order): the outside process stops before its dir goes.
    outside: Server,
    shop_port: u16,
    lives: u32,
    http: reqwest::Client,
    /// The shop's store: a SQLite file, or a MongoDB database of its own when
    /// `TOPUP_TEST_MONGODB_URI` is set.
    store: TestStore,
    dir: tempfile::TempDir,
}

impl World {
    async fn new() -> World {
        let store = TestStore::open().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let outside = Server::start(
            dir.path().join("outside.log"),
            &dir.path().join("outside"),
            "127.0.0.1:0",
            &[],
        );
        World {
            outside,
            // The same address in every life, as a real deployment has: WeChat Pay keeps
            // the notify URL it was given.
            shop_port: free_port(),
            lives: 0,
            http: support::http_client(),
            store,
            dir,
        }
    }

    /// Starts (or restarts) the shop on its data dir. Short leases and delays make recovery
    /// quick; a life started with `Worker::Off` takes payments but drives no order.
    fn start_shop(&mut self, worker: Worker) -> Server {
        self.start_shop_armed(worker, None)
    }

    /// [`Self::start_shop`], the life to end at `crash_point` when given.
    fn start_shop_armed(&mut self, worker: Worker, crash_point: Option<&str>) -> Server {
        self.lives += 1;
        let mut env = self.shop_env();
        env.push((
            "TOPUP_ORDERS__RUN_WORKER",
            matches!(worker, Worker::On).to_string(),
        ));
        if let Some(point) = crash_point {
            env.push(("TOPUP_CRASH_POINTS", point.to_owned()));
        }
        Server::start(
            self.dir.path().join(format!("shop-{}.log", self.lives)),
            &self.shop_dir(),
            &format!("127.0.0.1:{}", self.shop_port),
            &env,
        )
    }

    /// What every life of the shop (and a command run on its data) is started with.
    fn shop_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("TOPUP_SANDBOX__EXTERNAL_URL", self.outside.base.clone()),
            (
                "TOPUP_SANDBOX__KEYS_DIR",
                self.dir
                    .path()
                    .join("outside")
                    .join("secrets")
                    .display()
                    .to_string(),
            ),
            ("TOPUP_ORDERS__LEASE_SECONDS", "3".to_owned()),
            ("TOPUP_ORDERS__LOOKUP_DELAY_SECONDS", "1".to_owned()),
            ("TOPUP_ORDERS__POLL_INTERVAL_SECONDS", "1".to_owned()),
            ("TOPUP_ORDERS__WORKER_PERIOD_SECONDS", "1".to_owned()),
            ("TOPUP_STORE__URL", self.store.url()),
        ]
    }

    fn shop_dir(&self) -> PathBuf {
        self.dir.path().join("shop")
    }

    async fn post(&self, url: String, body: Value, token: Option<&str>) -> Value {
        let mut request = self.http.post(&url).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "POST {url}: {status} {body}");
        body
    }

    /// A mini-program user checks out `phone` at the shop and pays at the outside WeChat Pay;
    /// answers the order number and the user's token.
    async fn buy_and_pay(&self, shop: &Server, phone: &str) -> (String, String) {
        let token = self.login(shop).await;
        let checkout = self
            .checkout(shop, &token, phone, "buy")
            .await
            .expect("the checkout is answered");
        let order_no = checkout["order"]["order_no"].as_str().unwrap().to_owned();
        self.pay(&checkout).await;
        (order_no, token)
    }

    /// A new mini-program user signed in at the shop: their token.
    async fn login(&self, shop: &Server) -> String {
        let issued = self
            .post(
                format!("{}/sandbox/wechat/codes", self.outside.base),
                json!({}),
                None,
            )
            .await;
        let login = self
            .post(
                format!("{}/api/v1/app/auth/login", shop.base),
                json!({"code": issued["code"]}),
                None,
            )
            .await;
        login["token"].as_str().unwrap().to_owned()
    }

    /// Checks out the first plan for `phone` under an idempotency key; `Err` when the shop
    /// gave no answer (it died on the way).
    async fn checkout(
        &self,
        shop: &Server,
        token: &str,
        phone: &str,
        key: &str,
    ) -> Result<Value, reqwest::Error> {
        let detect = format!(
            "{}/api/v1/app/catalog/detect?phone={}",
            shop.base,
            phone.replace('+', "%2B")
        );
        // The shop's first start syncs its catalog from the outside provider.
        let (http, detect) = (&self.http, detect.as_str());
        let plan_id = poll(
            Duration::from_secs(60),
            "the shop's catalog",
            || async move {
                let response = http.get(detect).send().await.ok()?;
                let body: Value = response.json().await.ok()?;
                body["plans"][0]["id"].as_str().map(str::to_owned)
            },
        )
        .await;
        let response = self
            .http
            .post(format!("{}/api/v1/app/orders", shop.base))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&json!({"plan_id": plan_id, "phone": phone}))
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        assert!(status.is_success(), "checkout: {status} {body}");
        assert_eq!(body["order"]["state"], "awaiting_payment", "{body}");
        Ok(body)
    }

    /// The buyer pays a checkout's prepay at the outside WeChat Pay.
    async fn pay(&self, checkout: &Value) {
        let prepay_id = checkout["pay_params"]["package"]
            .as_str()
            .unwrap_or_else(|| panic!("pay params in {checkout}"))
            .strip_prefix("prepay_id=")
            .unwrap()
            .to_owned();
        self.post(
            format!("{}/sandbox/wechat/pay/confirm", self.outside.base),
            json!({"prepay_id": prepay_id}),
            None,
        )
        .await;
    }

    async fn order_state(&self, shop: &Server, order_no: &str, token: &str) -> Option<String> {
        let response = self
            .http
            .get(format!("{}/api/v1/app/orders/{order_no}", shop.base))
            .bearer_auth(token)
            .send()
            .await
            .ok()?;
        let body: Value = response.json().await.ok()?;
        body["state"].as_str().map(str::to_owned)
    }

    async fn wait_for_state(
        &self,
        shop: &Server,
        order_no: &str,
        token: &str,
        wanted: &str,
        within: Duration,
    ) {
        let what = format!("order {order_no} {wanted}");
        let deadline = Instant::now() + within;
        loop {
            let state = self.order_state(shop, order_no, token).await;
            if state.as_deref() == Some(wanted) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: still {state:?}\n{}",
                tail(&shop.log)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every transaction the outside provider committed for this order's keys
    /// (`<order_no>-<n>`), read from its report endpoint as any Reloadly client would.
    async fn provider_transactions(&self, order_no: &str) -> Vec<Value> {
        let reloadly = format!("{}/sandbox/reloadly", self.outside.base);
        let token = self
            .post(
                format!("{reloadly}/auth/oauth/token"),
                json!({
                    "client_id": "sandbox-client-id",
                    "client_secret": "sandbox-client-secret",
                    "grant_type": "client_credentials",
                    "audience": "https://topups-sandbox.reloadly.com",
                }),
                None,
            )
            .await;
        let report: Value = self
            .http
            .get(format!(
                "{reloadly}/topups/topups/reports/transactions?size=1000"
            ))
            .bearer_auth(token["access_token"].as_str().unwrap())
            .header("Accept", "application/com.reloadly.topups-v1+json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let prefix = format!("{order_no}-");
        report["content"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| {
                t["customIdentifier"]
                    .as_str()
                    .is_some_and(|k| k.starts_with(&prefix))
            })
            .cloned()
            .collect()
    }

    /// The order as the shop stored it (read after the shop has stopped).
    async fn stored_order(&self, order_no: &str) -> Order {
        self.store
            .store
            .collection::<Order>()
            .fetch(order_no)
            .await
            .unwrap()
    }
}

/// Polls `probe` until it answers something, failing after `within`.
async fn poll<T, F, Fut>(within: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(Instant::now() < deadline, "{what}: not in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the outside provider has committed something for the order.
async fn provider_commit(world: &World, order_no: &str) -> Vec<Value> {
    poll(
        Duration::from_secs(30),
        "the provider commit",
        || async move {
            let found = world.provider_transactions(order_no).await;
            (!found.is_empty()).then_some(found)
        },
    )
    .await
}

fn actions(order: &Order) -> Vec<(String, String)> {
    order
        .recharge
        .attempts
        .iter()
        .map(|a| (a.action.clone(), a.key.clone()))
        .collect()
}

/// Killed once right after WeChat Pay's notification was accepted (paid, not yet sent to the
/// provider), and again while the provider call is in flight — committed at the provider,
/// the answer not yet back. Recovery looks the key up; nothing is sent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_payment_and_again_mid_call_the_order_is_recharged_once() {
    let mut world = World::new().await;
    // Last digit 5: the provider commits, then withholds its answer (30 s, beyond the
    // client's 15 s timeout) — a window in which the shop has sent and heard nothing.
    let phone = "+639171234505";

    // Life 1: the shop runs no order worker, so the kill lands exactly between the
    // accepted notification and the dispatch.
    let shop = world.start_shop(Worker::Off);
    let (order_no, token) = world.buy_and_pay(&shop, phone).await;
    world
        .wait_for_state(&shop, &order_no, &token, "paid", Duration::from_secs(20))
        .await;
    shop.kill();
    assert!(world.provider_transactions(&order_no).await.is_empty());

    // Life 2: the worker dispatches; once the provider has committed, kill mid-call.
    let shop = world.start_shop(Worker::On);
    let committed = provider_commit(&world, &order_no).await;
    assert_eq!(
        world.order_state(&shop, &order_no, &token).await.as_deref(),
        Some("recharging"),
        "the shop is still waiting for the provider's answer"
    );
    shop.kill();
    assert_eq!(committed.len(), 1, "{committed:?}");
    assert_eq!(committed[0]["customIdentifier"], format!("{order_no}-1"));

    // Life 3: once the dead worker's lease runs out, the key is looked up and the order done.
    let shop = world.start_shop(Worker::On);
    world
        .wait_for_state(
            &shop,
            &order_no,
            &token,
            "succeeded",
            Duration::from_secs(30),
        )
        .await;
    shop.stop();

    let transactions = world.provider_transactions(&order_no).await;
    assert_eq!(transactions.len(), 1, "{transactions:?}");
    assert_eq!(transactions[0]["status"], "SUCCESSFUL");
    assert_eq!(transactions[0]["recipientPhone"], "639171234505");
    let order = world.stored_order(&order_no).await;
    let key = format!("{order_no}-1");
    let steps = actions(&order);
    assert_eq!(
        steps
            .iter()
            .filter(|(action, _)| action == "send")
            .collect::<Vec<_>>(),
        vec![&("send".to_owned(), key.clone())],
        "one send, never repeated: {steps:?}"
    );
    assert!(
        order.recharge.attempts.iter().any(|a| a.action == "lookup"
            && a.key == key
            && a.outcome == Some(TopupOutcome::Succeeded)),
        "resolved by looking the key up: {steps:?}"
    );
    assert_eq!(
        order.recharge.provider_transaction_id,
        Some(transactions[0]["transactionId"].to_string())
    );
    assert!(order.recharge.in_flight.is_none() && order.recharge.pending.is_none());
}

/// Killed while the provider is still processing an accepted top-up (about 20 s of
/// PROCESSING): the next life polls the same transaction to its end instead of sending again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_the_provider_is_processing_the_order_is_recharged_once() {
    let mut world = World::new().await;
    // Last digit 1 succeeds; the digit before it, 2, keeps it PROCESSING for about 20 s.
    let phone = "+639171234621";

    let shop = world.start_shop(Worker::On);
    let (order_no, token) = world.buy_and_pay(&shop, phone).await;
    let committed = provider_commit(&world, &order_no).await;
    assert_eq!(committed[0]["status"], "PROCESSING");
    assert_eq!(
        world.order_state(&shop, &order_no, &token).await.as_deref(),
        Some("recharging")
    );
    shop.kill();

    let shop = world.start_shop(Worker::On);
    world
        .wait_for_state(
            &shop,
            &order_no,
            &token,
            "succeeded",
            Duration::from_secs(45),
        )
        .await;
    shop.stop();

    let transactions = world.provider_transactions(&order_no).await;
    assert_eq!(transactions.len(), 1, "{transactions:?}");
    assert_eq!(transactions[0]["status"], "SUCCESSFUL");
    let order = world.stored_order(&order_no).await;
    let steps = actions(&order);
    let key = format!("{order_no}-1");
    assert_eq!(
        steps.iter().filter(|(action, _)| action == "send").count(),
        1,
        "{steps:?}"
    );
    assert!(
        steps.iter().all(|(_, k)| *k == key),
        "every step is about the one key: {steps:?}"
    );
    assert!(
        order
            .recharge
            .attempts
            .iter()
            .any(|a| a.outcome == Some(TopupOutcome::Succeeded)),
        "{steps:?}"
    );
    assert_eq!(
        order.recharge.provider_transaction_id,
        Some(transactions[0]["transactionId"].to_string())
    );
}

/// Every crash point (`topup_core::crash`), one order each: the shop dies right there (no
/// shutdown path runs), the next life finishes the order, the provider holds at most one
/// delivered top-up for it, and afterwards `topup reconcile` finds WeChat Pay, the provider
/// and the orders in agreement: nothing lost, nothing doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_each_crash_point_every_order_ends_once() {
    use std::os::unix::process::ExitStatusExt;

    let mut world = World::new().await;
    // Last digit 0 or 1 is delivered, 2 declined by the operator (so refunded); a 1 before
    // the last digit keeps the top-up PROCESSING for 2 s, so it is polled.
    let cases = [
        (
            crash::CHECKOUT_PAYMENT_STARTED,
            "+639171236700",
            "succeeded",
        ),
        (
            crash::PAYMENT_NOTIFICATION_APPLIED,
            "+639171236800",
            "succeeded",
        ),
        (crash::RECHARGE_SENT, "+639171236900", "succeeded"),
        (crash::RECHARGE_POLLED, "+639171237011", "succeeded"),
        (crash::REFUND_REQUESTED, "+639171237102", "refunded"),
        (
            crash::REFUND_NOTIFICATION_APPLIED,
            "+639171237202",
            "refunded",
        ),
    ];
    let exercised: Vec<&str> = cases.iter().map(|(point, _, _)| *point).collect();
    assert_eq!(
        exercised,
        crash::CRASH_POINTS,
        "every crash point, in order"
    );

    for (point, phone, wanted) in cases {
        let shop = world.start_shop_armed(Worker::On, Some(point));
        let token = world.login(&shop).await;
        let order_no = if point == crash::CHECKOUT_PAYMENT_STARTED {
            // The prepay is placed and the buyer never hears back.
            assert!(world.checkout(&shop, &token, phone, "k1").await.is_err());
            None
        } else {
            let checkout = world.checkout(&shop, &token, phone, "k1").await.unwrap();
            world.pay(&checkout).await;
            Some(checkout["order"]["order_no"].as_str().unwrap().to_owned())
        };
        let ended = shop.died(Duration::from_secs(60));
        assert_eq!(ended.signal(), Some(6), "{point}: aborted there, {ended}");

        let shop = world.start_shop(Worker::On);
        let order_no = match order_no {
            Some(order_no) => order_no,
            None => {
                // The app sends the checkout again with its key: the same order, payable.
                let again = world.checkout(&shop, &token, phone, "k1").await.unwrap();
                world.pay(&again).await;
                again["order"]["order_no"].as_str().unwrap().to_owned()
            }
        };
        world
            .wait_for_state(&shop, &order_no, &token, wanted, Duration::from_secs(60))
            .await;
        shop.stop();
        let delivered: Vec<Value> = world
            .provider_transactions(&order_no)
            .await
            .into_iter()
            .filter(|t| t["status"] == "SUCCESSFUL")
            .collect();
        let expected = usize::from(wanted == "succeeded");
        assert_eq!(delivered.len(), expected, "{point}: {delivered:?}");
        let order = world.stored_order(&order_no).await;
        // A send the provider never saw (the process died first) goes again under the same
        // key, which the provider commits at most once; a second key would be a second top-up.
        let steps = actions(&order);
        let mut keys: Vec<&str> = steps
            .iter()
            .filter(|(action, _)| action == "send")
            .map(|(_, key)| key.as_str())
            .collect();
        keys.dedup();
        assert_eq!(
            keys,
            [format!("{order_no}-1")],
            "{point}: one key: {steps:?}"
        );
        if wanted == "refunded" {
            assert_eq!(order.refunds.len(), 1, "{point}: {:?}", order.refunds);
            assert_eq!(order.refunds[0].amount, order.total, "{point}");
        }
    }

    // Today's orders, held against the outside WeChat Pay and provider by the command an
    // operator would run.
    let today = chrono::Utc::now().date_naive();
    let (from, to) = (today.pred_opt().unwrap().to_string(), today.to_string());
    let output = Command::new(env!("CARGO_BIN_EXE_topup"))
        .args(["reconcile", "--from", &from, "--to", &to, "--data-dir"])
        .arg(world.shop_dir())
        .envs(world.shop_env())
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{printed}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(printed.contains("no discrepancies"), "{printed}");
    assert!(printed.contains("  6 orders"), "{printed}");
    assert!(
        printed.contains("4 provider transactions"),
        "the four delivered top-ups (declined ones are never committed): {printed}"
    );
}
