//! The order service and engine against provider sandboxes over real HTTP, on the store the
//! environment chooses (`topup_store::testing::TestStore`). The payment side is a recording
//! stand-in; the API tests drive the real WeChat Pay sandbox.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use async_trait::async_trait;
use serde_json::{Value, json};
use topup_core::{
    CountryCode, Currency, Decimal, ManualClock, Money, Msisdn, Secret, SharedClock, SystemClock,
    Timestamp,
};
use topup_orders::{
    BlockKind, Blocklist, CheckoutPlan, CheckoutRequest, CloseOutcome, OrderEngine, OrderState,
    OrdersConfig, OrdersError, OrdersService, PaymentPort, PaymentStart, PlanCatalog, PlanKind,
    PlanSnapshot,
};
use topup_recharge::{ProviderAmount, ProviderConfig, ProviderRouter, ProvidersConfig};
use topup_sandbox::reloadly::{self, ReloadlySandbox, ReloadlySandboxConfig};
use topup_store::testing::TestStore;

pub struct Catalog;

#[async_trait]
impl PlanCatalog for Catalog {
    async fn checkout_plan(&self, plan_id: &str) -> Result<Option<CheckoutPlan>, OrdersError> {
        if plan_id != "globe-5usd" {
            return Ok(None);
        }
        Ok(Some(CheckoutPlan {
            snapshot: PlanSnapshot {
                plan_id: plan_id.into(),
                kind: PlanKind::Airtime,
                country: CountryCode::parse("PH").unwrap(),
                operator_id: "op-globe".into(),
                operator_name: "Globe".into(),
                title: "Globe 5 USD".into(),
                provider_id: "a".into(),
                provider_operator_id: "173".into(),
                provider_amount: ProviderAmount::new(
                    Decimal::from_str("5").unwrap(),
                    Currency::USD,
                ),
                use_local_amount: false,
            },
            retail: Some(Money::cny(3800)),
            enabled: true,
        }))
    }

    async fn detect_operators(&self, _phone: &Msisdn) -> Option<Vec<String>> {
        None
    }
}

pub struct NoBlocks;

#[async_trait]
impl Blocklist for NoBlocks {
    async fn blocked(
        &self,
        _number: &Msisdn,
        _openid: &str,
        _ip: Option<&str>,
    ) -> Result<Vec<BlockKind>, OrdersError> {
        Ok(Vec::new())
    }
}

/// Records refund requests (once per `out_refund_no`, as WeChat does) and closes.
#[derive(Default)]
pub struct Payments {
    pub refunds: Mutex<Vec<(String, String, Money)>>,
    pub closed: Mutex<Vec<String>>,
    /// Prepays placed and payments closed at "WeChat", in the order they happened.
    pub payment_log: Mutex<Vec<(String, &'static str)>>,
    /// How long placing a prepay takes (ms), to race cancels against checkouts.
    pub start_delay_ms: std::sync::atomic::AtomicU64,
}

#[async_trait]
impl PaymentPort for Payments {
    async fn start(&self, start: PaymentStart) -> Result<Value, OrdersError> {
        let delay = self
            .start_delay_ms
            .load(std::sync::atomic::Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        self.payment_log
            .lock()
            .unwrap()
            .push((start.out_trade_no.clone(), "placed"));
        Ok(json!({"package": format!("prepay_id=wx{}", start.out_trade_no)}))
    }

    async fn resume(&self, out_trade_no: &str) -> Result<Value, OrdersError> {
        Ok(json!({"package": format!("prepay_id=wx{out_trade_no}")}))
    }

    async fn close_unpaid(&self, out_trade_no: &str) -> Result<CloseOutcome, OrdersError> {
        self.closed.lock().unwrap().push(out_trade_no.to_owned());
        self.payment_log
            .lock()
            .unwrap()
            .push((out_trade_no.to_owned(), "closed"));
        Ok(CloseOutcome::Closed)
    }

    async fn request_refund(
        &self,
        out_trade_no: &str,
        out_refund_no: &str,
        amount: Money,
        _reason: &str,
        _initiator: &str,
    ) -> Result<(), OrdersError> {
        let mut refunds = self.refunds.lock().unwrap();
        if !refunds.iter().any(|(_, no, _)| no == out_refund_no) {
            refunds.push((out_trade_no.to_owned(), out_refund_no.to_owned(), amount));
        }
        Ok(())
    }
}

/// What a test varies.
pub struct Options {
    pub providers: usize,
    /// `None`: the real clock (for tests about elapsed time); else a manual one from here.
    pub manual_clock: bool,
    pub sandbox: ReloadlySandboxConfig,
    pub orders: OrdersConfig,
    pub read_timeout_ms: u64,
    pub http_workers: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            providers: 1,
            manual_clock: true,
            sandbox: ReloadlySandboxConfig {
                hang: Duration::from_secs(4),
                ..ReloadlySandboxConfig::default()
            },
            orders: OrdersConfig::default(),
            read_timeout_ms: 1_000,
            http_workers: 2,
        }
    }
}

pub struct Setup {
    pub clock: ManualClock,
    pub shared: SharedClock,
    pub service: Arc<OrdersService>,
    pub engine: Arc<OrderEngine>,
    pub router: Arc<ProviderRouter>,
    pub payments: Arc<Payments>,
    pub sandboxes: Vec<ReloadlySandbox>,
    pub store: TestStore,
}

pub async fn setup(options: Options) -> Setup {
    let clock = ManualClock::new(Timestamp::parse("2026-01-01T00:00:00Z").unwrap());
    let shared: SharedClock = if options.manual_clock {
        Arc::new(clock.clone())
    } else {
        Arc::new(SystemClock)
    };
    let sandboxes: Vec<ReloadlySandbox> = (0..options.providers)
        .map(|_| {
            ReloadlySandbox::new(ReloadlySandboxConfig {
                clock: shared.clone(),
                ..options.sandbox.clone()
            })
        })
        .collect();
    let served = sandboxes.clone();
    let server = HttpServer::new(move || {
        let mut app = App::new();
        for (i, sandbox) in served.iter().enumerate() {
            app = app.service(
                web::scope(&format!("/p{i}")).configure(reloadly::configure(sandbox.clone())),
            );
        }
        app
    })
    .workers(options.http_workers)
    .backlog(4096)
    .max_connections(100_000)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let base = format!("http://{}", server.addrs()[0]);
    tokio::spawn(server.run());
    let configs = (0..options.providers)
        .map(|i| {
            let mut c = ProviderConfig::reloadly(
                ["a", "b", "c"][i],
                Secret::new("sandbox-client-id".into()),
                Secret::new("sandbox-client-secret".into()),
            );
            c.auth_url = format!("{base}/p{i}/auth");
            c.api_url = format!("{base}/p{i}/topups");
            c.audience = Some("https://topups-sandbox.reloadly.com".into());
            c.read_timeout_ms = options.read_timeout_ms;
            c.priority = u32::try_from(i).unwrap() + 1;
            c.max_rate_limit_wait_ms = 0;
            c
        })
        .collect();
    let router = Arc::new(
        ProvidersConfig {
            providers: configs,
            ..ProvidersConfig::default()
        }
        .build_router(shared.clone())
        .unwrap(),
    );
    let store = TestStore::open().await.unwrap();
    let payments = Arc::new(Payments::default());
    let service = OrdersService::new(
        &store.store,
        shared.clone(),
        Arc::new(Catalog),
        Arc::new(NoBlocks),
        payments.clone(),
        options.orders.clone(),
    )
    .with_providers(router.clone());
    service.prepare().await.unwrap();
    let engine = OrderEngine::new(
        &store.store,
        shared.clone(),
        router.clone(),
        payments.clone(),
        options.orders,
        "worker-1",
    )
    .woken_by(service.due_signal());
    Setup {
        clock,
        shared,
        service: Arc::new(service),
        engine: Arc::new(engine),
        router,
        payments,
        sandboxes,
        store,
    }
}

/// A Globe number whose sandbox outcome is success at once; distinct per `n`.
pub fn success_number(n: u32) -> String {
    format!("+63917{n:05}00")
}

impl Setup {
    pub fn now(&self) -> Timestamp {
        self.shared.now()
    }

    pub async fn place(&self, user: &str, phone: &str) -> String {
        self.service
            .checkout(CheckoutRequest {
                user_id: user.into(),
                openid: format!("openid-{user}"),
                plan_id: "globe-5usd".into(),
                phone: phone.into(),
                country: None,
                client_ip: Some("127.0.0.1".into()),
                idempotency: None,
                coupon_id: None,
            })
            .await
            .unwrap()
            .order
            .id
    }

    pub async fn pay(&self, order_no: &str) {
        self.service
            .payment_succeeded(
                order_no,
                &format!("42{order_no}"),
                Money::cny(3800),
                self.now(),
            )
            .await
            .unwrap();
    }

    pub async fn paid_order(&self, phone: &str) -> String {
        let order_no = self.place("u1", phone).await;
        self.pay(&order_no).await;
        order_no
    }

    pub async fn state(&self, order_no: &str) -> OrderState {
        self.service.get(order_no).await.unwrap().state
    }

    /// Committed sandbox transactions under this order's keys.
    pub fn sent_for(&self, sandbox: usize, order_no: &str) -> usize {
        self.sandboxes[sandbox]
            .transactions()
            .iter()
            .filter(|t| {
                t.custom_identifier
                    .as_deref()
                    .is_some_and(|k| k.starts_with(order_no))
            })
            .count()
    }
}
