//! Two `topup serve` processes on one store (`docs/operations.md#several-instances`): the
//! SQLite file of one data dir, or the MongoDB database `TOPUP_TEST_MONGODB_URI` names. A
//! third process plays WeChat and the provider for both. Checkouts alternate between the two;
//! one of them is killed with SIGKILL while orders are being paid and recharged, and started
//! again. Every order must end exactly once, and the reconciliation must find nothing. The
//! fault loop does that round after round with every provider outcome mixed at random and
//! WeChat sending notifications twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Running, free_port, get, launch, launch_on, plan_on_sale, post};

const ORDERS: usize = 24;
const USERS: usize = 6;

/// The environment both instances share: the sandboxes in the third process, limits off,
/// and the workers looking often, so a dead process's work is taken over within seconds.
fn shared_env(
    world: &Running,
    world_dir: &std::path::Path,
    store: &str,
) -> Vec<(&'static str, String)> {
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
        // Retries, polls and lookups soon: the provider's slow outcomes end within seconds.
        ("TOPUP_ORDERS__RETRY_BACKOFF_SECONDS", "1".into()),
        ("TOPUP_ORDERS__POLL_INTERVAL_SECONDS", "1".into()),
        ("TOPUP_ORDERS__LOOKUP_DELAY_SECONDS", "1".into()),
    ];
    if let Ok(uri) = std::env::var("TOPUP_TEST_MONGODB_URI")
        && !uri.trim().is_empty()
    {
        // A database of its own on that server: the name goes before the options.
        let name = format!("topup_{store}_{}", std::process::id());
        let (server, options) = uri.split_once('?').unwrap_or((uri.as_str(), ""));
        let server = server.trim_end_matches('/');
        env.push(("TOPUP_STORE__URL", format!("{server}/{name}?{options}")));
    }
    env
}

/// The outside world, two instances on one store, the admin's token and some app users.
struct Cluster {
    world: Running,
    a: Running,
    b: Running,
    port_a: u16,
    port_b: u16,
    env: Vec<(&'static str, String)>,
    data_dir: std::path::PathBuf,
    client: reqwest::Client,
    plan: String,
    admin: String,
    users: Vec<String>,
    _dir: tempfile::TempDir,
}

/// An order placed: its number, the sandbox outcome its number asks for, its prepay.
struct Placed {
    order_no: String,
    outcome: &'static str,
    prepay: String,
}

impl Placed {
    /// The final state its outcome leads to.
    fn expected(&self) -> &'static str {
        match &self.outcome[1..] {
            "2" | "3" | "4" => "refunded",
            _ => "succeeded",
        }
    }
}

impl Cluster {
    async fn start(store: &str, world_env: &[(&str, String)]) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let world_dir = dir.path().join("world");
        let world = launch(&world_dir, world_env);
        let env = shared_env(&world, &world_dir, store);
        let data_dir = dir.path().join("shop");
        let (port_a, port_b) = (free_port(), free_port());
        let a = launch_on(&data_dir, &format!("127.0.0.1:{port_a}"), &env);
        let client = support::http_client();
        let plan = plan_on_sale(&client, &a.base).await;
        // The second instance finds the store, the keys and the admin made by the first.
        let b = launch_on(&data_dir, &format!("127.0.0.1:{port_b}"), &env);
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
        let mut cluster = Cluster {
            world,
            a,
            b,
            port_a,
            port_b,
            env,
            data_dir,
            client,
            plan,
            admin,
            users: Vec::new(),
            _dir: dir,
        };
        for n in 0..USERS {
            let code = post(
                &cluster.client,
                format!("{}/sandbox/wechat/codes", cluster.world.base),
                None,
                json!({}),
            )
            .await;
            let login = post(
                &cluster.client,
                format!("{}/api/v1/app/auth/login", cluster.instance(n).base),
                None,
                json!({"code": code["code"]}),
            )
            .await;
            cluster
                .users
                .push(login["token"].as_str().unwrap().to_owned());
        }
        cluster
    }

    /// Instance `n % 2`.
    fn instance(&self, n: usize) -> &Running {
        if n.is_multiple_of(2) {
            &self.a
        } else {
            &self.b
        }
    }

    /// A checkout of the `n`-th number, ending in `outcome`, on instance `n % 2`.
    async fn place(&self, n: usize, outcome: &'static str) -> Placed {
        let phone = format!("+63917{n:05}{outcome}");
        let checkout = post(
            &self.client,
            format!("{}/api/v1/app/orders", self.instance(n).base),
            Some(&self.users[n % USERS]),
            json!({"plan_id": self.plan, "phone": phone}),
        )
        .await;
        let package = checkout["pay_params"]["package"].as_str().unwrap();
        Placed {
            order_no: checkout["order"]["order_no"].as_str().unwrap().to_owned(),
            outcome,
            prepay: package.trim_start_matches("prepay_id=").to_owned(),
        }
    }

    async fn pay(&self, placed: &Placed) {
        post(
            &self.client,
            format!("{}/sandbox/wechat/pay/confirm", self.world.base),
            None,
            json!({"prepay_id": placed.prepay}),
        )
        .await;
    }

    /// SIGKILL to instance `n % 2`, then the same instance started again on its address
    /// (WeChat keeps notifying it there).
    fn kill_and_restart(&mut self, n: usize) {
        let (running, port) = if n.is_multiple_of(2) {
            (&mut self.a, self.port_a)
        } else {
            (&mut self.b, self.port_b)
        };
        Command::new("kill")
            .args(["-KILL", &running.child.id().to_string()])
            .status()
            .unwrap();
        let _ = running.child.wait();
        *running = launch_on(&self.data_dir, &format!("127.0.0.1:{port}"), &self.env);
        // Kept-alive connections to the dead process would fail the next request.
        self.client = support::http_client();
    }

    /// Waits until every order is final, then checks each ended exactly once as its number
    /// says.
    async fn all_end_once(&self, placed: &[Placed]) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let states: BTreeMap<String, Value> = loop {
            let mut states = BTreeMap::new();
            for order in placed {
                let path = format!("{}/api/v1/admin/orders/{}", self.b.base, order.order_no);
                states.insert(
                    order.order_no.clone(),
                    get(&self.client, path, &self.admin).await,
                );
            }
            let open: Vec<_> = states
                .values()
                .filter(|o| !matches!(o["state"].as_str(), Some("succeeded" | "refunded")))
                .map(|o| (o["order_no"].clone(), o["state"].clone()))
                .collect();
            if open.is_empty() {
                break states;
            }
            assert!(Instant::now() < deadline, "orders never ended: {open:?}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        for order in placed {
            let seen = &states[&order.order_no];
            assert_eq!(seen["state"], order.expected(), "{} {seen}", order.outcome);
            let paid = seen["timeline"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["what"] == "paid")
                .count();
            assert_eq!(paid, 1, "paid once: {seen}");
            let delivered = seen["recharge"]["attempts"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| a["outcome"]["class"] == "SUCCEEDED")
                .count();
            let refunds = seen["refunds"].as_array().unwrap().len();
            if order.expected() == "succeeded" {
                assert_eq!((delivered, refunds), (1, 0), "delivered once: {seen}");
            } else {
                assert_eq!((delivered, refunds), (0, 1), "refunded once: {seen}");
            }
        }
    }

    /// Reconciles the hour around now: everything agrees, nothing is unaccounted.
    async fn reconciles_clean(&self, orders: usize) {
        let now = chrono::Utc::now();
        let started = post(
            &self.client,
            format!("{}/api/v1/admin/reconciliations", self.a.base),
            Some(&self.admin),
            json!({
                "from": (now - chrono::TimeDelta::hours(1)).to_rfc3339(),
                "to": (now + chrono::TimeDelta::hours(1)).to_rfc3339(),
            }),
        )
        .await;
        let path = format!(
            "{}/api/v1/admin/reconciliations/{}",
            self.a.base,
            started["id"].as_str().unwrap()
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        let report = loop {
            let report = get(&self.client, path.clone(), &self.admin).await;
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
        assert_eq!(report["totals"]["orders"], orders, "{report}");
        assert_eq!(report["discrepancy_count"], 0, "{report}");
        assert_eq!(report["totals"]["unaccounted"], 0);
        assert_eq!(report["totals"]["in_flight"], 0);
    }
}

#[tokio::test]
async fn two_instances_one_store_one_killed_every_order_ends_once() {
    let mut cluster = Cluster::start("instances", &[]).await;
    // Checkouts alternate between the instances; a quarter of the numbers are declined by
    // the operator (their money goes back), the rest are delivered.
    let mut placed = Vec::new();
    for n in 0..ORDERS {
        let outcome = if n % 4 == 1 { "02" } else { "00" };
        placed.push(cluster.place(n, outcome).await);
    }
    // The users pay; halfway, the first instance dies without warning, with orders of its
    // own being notified, dispatched and recharged.
    for (n, order) in placed.iter().enumerate() {
        cluster.pay(order).await;
        if n == ORDERS / 2 {
            cluster.kill_and_restart(0);
        }
    }
    cluster.all_end_once(&placed).await;
    cluster.reconciles_clean(ORDERS).await;
}

/// A small xorshift: the fault loop's choices, replayable from the seed it prints.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % sides as u64) as usize
    }
}

#[tokio::test]
async fn faults_in_a_loop_lose_and_double_nothing() {
    // WeChat sends half its notifications twice, and its clock runs four minutes ahead of
    // ours (its signed timestamps are good for five).
    let mut cluster = Cluster::start(
        "faults",
        &[
            ("TOPUP_SANDBOX__DUPLICATE_PERCENT", "50".into()),
            ("TOPUP_SANDBOX__CLOCK_SKEW_SECS", "240".into()),
        ],
    )
    .await;
    let seed = std::env::var("TOPUP_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| u64::from(std::process::id()) | 1);
    let rounds: usize = std::env::var("TOPUP_FAULT_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    println!("fault loop: TOPUP_FAULT_SEED={seed} TOPUP_FAULT_ROUNDS={rounds}");
    let mut dice = Dice(seed);
    // Every outcome that ends on its own (6 waits for staff; 5 waits out a 15 s read timeout),
    // with the slow ones (`1x`: two seconds of PROCESSING) among them.
    const OUTCOMES: [&str; 9] = ["00", "01", "02", "03", "04", "07", "08", "10", "13"];
    let mut placed = Vec::new();
    for round in 0..rounds {
        let per_round = 8;
        let first = placed.len();
        for k in 0..per_round {
            let n = round * per_round + k;
            let outcome = OUTCOMES[dice.roll(OUTCOMES.len())];
            placed.push(cluster.place(n, outcome).await);
        }
        // Paid in a shuffled order; one instance is killed after a random number of them.
        let mut order: Vec<usize> = (first..placed.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, dice.roll(i + 1));
        }
        let kill_after = dice.roll(per_round);
        let victim = dice.roll(2);
        for (k, index) in order.into_iter().enumerate() {
            cluster.pay(&placed[index]).await;
            if k == kill_after {
                cluster.kill_and_restart(victim);
            }
        }
    }
    cluster.all_end_once(&placed).await;
    cluster.reconciles_clean(placed.len()).await;
}
