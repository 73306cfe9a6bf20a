//! One harness for every end-to-end suite: [`spawn_app`] builds the real application
//! (`topup_app::Application`, exactly as `topup serve` does in the embedded mode) on a fresh
//! store, a temporary data dir, port 0 and a `ManualClock`, with no background work: tests move
//! the clock and drive the workers themselves (`kit().engine.run_until_idle()`,
//! `payments.run_sync()`, `pay_sandbox.deliver_due()`).
//!
//! The store is SQLite by default and MongoDB when `TOPUP_TEST_MONGODB_URI` is set
//! (`topup_store::testing`), so every suite runs on both backends (`docs/testing.md`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, Response};
use serde_json::{Value, json};
use topup_api::Mount;
use topup_app::{AppOptions, Application, Config, SandboxTuning};
use topup_auth::{AppUserConfig, AppUserService, AuthConfig, AuthService};
use topup_core::{ManualClock, Secret, Timestamp};
use topup_orders::{OrderEngine, OrdersConfig, OrdersService};
use topup_payment::{HttpSettings, PaymentService, PaymentSettings};
use topup_sandbox::reloadly::ReloadlySandbox;
use topup_sandbox::wechat_mp::MiniProgramSandbox;
use topup_sandbox::wechat_pay::{SandboxKeySet, WechatPaySandbox};
use topup_store::Store;
use topup_store::testing::{TestBackend, TestStore};

pub const ADMIN_PASSWORD: &str = "Admin-pass-2026";
pub const STAFF_PASSWORD: &str = "Staff-pass-2026";
/// The mini-program (and WeChat Pay) app id of the embedded sandboxes.
pub const WX_APP_ID: &str = topup_app::SANDBOX_APP_ID;
/// The WeChat Pay merchant of the embedded sandbox.
pub const MCHID: &str = topup_app::SANDBOX_MCHID;

/// How long the Reloadly sandbox withholds its answer to a digit-5 top-up (real time).
pub const PROVIDER_HANG: Duration = Duration::from_secs(5);
/// The Reloadly adapter's read timeout: well below [`PROVIDER_HANG`], and well above a
/// loaded CI machine's answer time (a detection that times out answers `detected: false`).
pub const PROVIDER_READ_TIMEOUT_MS: u64 = 2_000;
/// How long after a refund is accepted the WeChat Pay sandbox settles it (on the clock).
pub const REFUND_DELAY_SECS: u64 = 60;
/// The merchant's keys (the published documentation's test key) and the platform's, fixtures
/// of `topup-payment`: fixed, so tests can sign and seal callbacks by hand.
pub const MERCHANT_KEY: &str =
    include_str!("../../crates/payment/tests/fixtures/wechatpay_doc_test_key.pem");
pub const MERCHANT_PUBLIC_KEY: &str =
    include_str!("../../crates/payment/tests/fixtures/wechatpay_doc_test_key.pub.pem");
pub const PLATFORM_KEY: &str = include_str!("../../crates/payment/tests/fixtures/platform_key.pem");
pub const PLATFORM_PUBLIC_KEY: &str =
    include_str!("../../crates/payment/tests/fixtures/platform_key.pub.pem");
pub const MERCHANT_SERIAL: &str = "3775B6A45ACD588826D15E583A95F5DD2C5F1B0E";
pub const PUBLIC_KEY_ID: &str = "PUB_KEY_ID_0119007291202611290000000001";
pub const APIV3_KEY: &str = "Topup0sandbox0apiv3key0for0tests";

/// When every test's clock starts.
pub const START: &str = "2026-03-01T08:00:00Z";

/// What a test wants of its application; `Default` is the embedded product with the limits
/// tests trip by accident turned off.
pub struct TestOptions {
    pub auth: AuthConfig,
    pub app: AppUserConfig,
    pub orders: OrdersConfig,
    pub payment: PaymentSettings,
    /// Where the mini-program client sends code2session (default: the mounted sandbox).
    pub mini_program_base: Option<String>,
    /// Sync the catalog from the provider sandbox before answering (most suites sell).
    pub sync_catalog: bool,
    /// Extra routes beside the API.
    pub mounts: Vec<Mount>,
    /// The clock's first reading.
    pub start: Timestamp,
    /// `server.max_json_bytes`.
    pub max_json_bytes: usize,
    /// `server.trusted_proxies`.
    pub trusted_proxies: Vec<String>,
    /// Run on this store and data dir (a restored backup) instead of fresh ones.
    pub existing: Option<Existing>,
}

/// A store and data dir that outlive the application (the test owns them).
pub struct Existing {
    pub store: Store,
    pub data_dir: std::path::PathBuf,
}

impl Default for TestOptions {
    fn default() -> Self {
        TestOptions {
            auth: test_config(),
            app: test_app_config(),
            orders: OrdersConfig::default(),
            payment: PaymentSettings::default(),
            mini_program_base: None,
            sync_catalog: false,
            mounts: Vec::new(),
            start: Timestamp::parse(START).unwrap(),
            max_json_bytes: 64 * 1024,
            trusted_proxies: Vec::new(),
            existing: None,
        }
    }
}

/// The purchase loop's services and the sandboxes standing in for WeChat Pay and Reloadly.
/// Nothing runs in the background: tests move the clock and call `deliver_due`,
/// `run_until_idle` and `run_sync` themselves.
pub struct OrdersKit {
    pub service: Arc<OrdersService>,
    /// The order worker, driven explicitly by the tests.
    pub engine: Arc<OrderEngine>,
    pub payments: Arc<PaymentService>,
    pub pay_sandbox: WechatPaySandbox,
    pub provider: ReloadlySandbox,
    /// The providers as the order worker reaches them.
    pub router: Arc<topup_recharge::ProviderRouter>,
}

pub struct TestApp {
    pub base: String,
    pub clock: ManualClock,
    pub auth: Arc<AuthService>,
    pub app_users: Arc<AppUserService>,
    /// The WeChat mini-program sandbox the login client talks to.
    pub sandbox: MiniProgramSandbox,
    pub store: Store,
    pub client: reqwest::Client,
    /// The generated first-start password of `admin`.
    pub initial_password: String,
    pub catalog: Option<topup_catalog::Catalog>,
    pub orders: OrdersKit,
    /// Coupons (the sweeper is driven explicitly: `sweep`).
    pub marketing: Arc<topup_marketing::MarketingService>,
    /// WeChat messages (the worker is driven explicitly: `run_until_idle`).
    pub notify: Arc<topup_notify::NotifyService>,
    /// Staff alerts through the official account (the worker is driven explicitly:
    /// `run_once`, `run_until_idle`).
    pub alerts: Arc<topup_notify::alerts::StaffAlerts>,
    /// Reconciliation (the daily run is driven explicitly: `daily`).
    pub reconciler: Arc<topup_orders::reconcile::Reconciler>,
    /// The dashboard's order figures (the refresh loop is driven explicitly: `refresh`).
    pub stats: Arc<topup_orders::stats::OrderStats>,
    /// The settings (the periodic check is driven explicitly: `refresh_if_stale`).
    pub settings: Arc<topup_settings::SettingsService>,
    /// The application's data dir (secrets, the initial password file).
    pub data_dir: std::path::PathBuf,
    /// The SQLite database file (none on MongoDB or an existing store).
    pub database: Option<std::path::PathBuf>,
    handle: actix_web::dev::ServerHandle,
    _store: Option<TestStore>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        tokio::spawn(async move { handle.stop(false).await });
    }
}

/// Defaults, but without the per-address login limit (tests log in a lot from 127.0.0.1).
pub fn test_config() -> AuthConfig {
    AuthConfig {
        login_rate_per_minute: 0,
        ..AuthConfig::default()
    }
}

/// App defaults, but without the per-address login limit.
pub fn test_app_config() -> AppUserConfig {
    AppUserConfig {
        login_rate_per_minute: 0,
        ..AppUserConfig::default()
    }
}

fn fixture_keys() -> SandboxKeySet {
    SandboxKeySet {
        merchant_private_key_pem: Secret::new(MERCHANT_KEY.to_owned()),
        merchant_public_key_pem: MERCHANT_PUBLIC_KEY.to_owned(),
        merchant_serial_no: MERCHANT_SERIAL.to_owned(),
        platform_private_key_pem: Secret::new(PLATFORM_KEY.to_owned()),
        platform_public_key_pem: PLATFORM_PUBLIC_KEY.to_owned(),
        platform_public_key_id: PUBLIC_KEY_ID.to_owned(),
        apiv3_key: Secret::new(APIV3_KEY.to_owned()),
    }
}

/// The application for one test: its own store, data dir, port and clock.
pub async fn spawn_app(options: TestOptions) -> TestApp {
    let (test_store, store, data_dir) = match options.existing {
        Some(existing) => (None, existing.store, existing.data_dir),
        None => {
            let test_store = TestStore::open().await.unwrap();
            let store = test_store.store.clone();
            let data_dir = test_store.dir.path().join("data");
            (Some(test_store), store, data_dir)
        }
    };
    let database = test_store
        .as_ref()
        .filter(|t| t.backend == TestBackend::Sqlite)
        .map(|t| t.dir.path().join(topup_store::testing::SQLITE_FILE));
    let clock = ManualClock::new(options.start);
    let mut config = Config {
        data_dir: data_dir.clone(),
        auth: options.auth,
        app: options.app,
        orders: options.orders,
        payment: options.payment,
        ..Config::default()
    };
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.server.max_json_bytes = options.max_json_bytes;
    config.server.trusted_proxies = options.trusted_proxies;
    let app_options = AppOptions {
        clock: Arc::new(clock.clone()),
        store: Some(store),
        background: false,
        // Two workers: the sandboxes answer on the same server as the API calling them.
        http_workers: Some(2),
        mounts: options.mounts,
        sandbox: SandboxTuning {
            keys: Some(fixture_keys()),
            provider_hang: Some(PROVIDER_HANG),
            provider_read_timeout_ms: Some(PROVIDER_READ_TIMEOUT_MS),
            refund_delay_secs: Some(REFUND_DELAY_SECS),
            // Duplicates only where a test asks for them: counts stay exact.
            duplicate_percent: Some(0),
            wechat_pay_http: Some(HttpSettings {
                max_retries: 0,
                retry_backoff_ms: 1,
                request_timeout_ms: 5_000,
                ..HttpSettings::default()
            }),
            mini_program_base_url: options.mini_program_base,
        },
    };
    let application = Application::build(config, app_options).await.unwrap();
    // A fresh store creates admin; an existing one has them already.
    let initial = application
        .initial_admin
        .as_ref()
        .map(|admin| admin.password.expose().clone())
        .unwrap_or_default();
    let state = application.state.clone();
    let engine = Arc::clone(&application.engine);
    let router = Arc::clone(&application.providers);
    let sandboxes = application.sandboxes.clone().expect("embedded sandboxes");
    let running = application.start().unwrap();
    let base = format!("http://{}", running.addr);
    let (handle, _task) = running.spawn();
    if options.sync_catalog {
        // After the server runs: the sync calls the mounted provider sandbox over HTTP.
        let report = state.catalog.sync("test").await.unwrap();
        assert!(report.ok, "{report:?}");
    }
    TestApp {
        base,
        clock,
        auth: state.auth.clone(),
        app_users: state.app_users.clone(),
        sandbox: sandboxes.mini_program.clone(),
        store: state.store.clone(),
        // Idle connections go before the server drops them at 5 s (actix-web's keep-alive): a
        // request written on a connection being closed fails, and tests wait for workers.
        client: reqwest::Client::builder()
            .pool_idle_timeout(std::time::Duration::from_secs(4))
            .build()
            .unwrap(),
        initial_password: initial,
        catalog: Some(state.catalog.clone()),
        orders: OrdersKit {
            service: state.orders.clone(),
            engine,
            payments: state.payments.clone(),
            pay_sandbox: sandboxes.wechat_pay.clone(),
            provider: sandboxes.reloadly.clone(),
            router,
        },
        marketing: state.marketing.clone(),
        notify: state.notify.clone(),
        alerts: state.alerts.clone(),
        reconciler: state.reconciler.clone(),
        stats: state.stats.clone(),
        settings: state.settings.clone(),
        data_dir,
        database,
        handle,
        _store: test_store,
    }
}

pub async fn start() -> TestApp {
    spawn_app(TestOptions::default()).await
}

pub async fn start_with(config: AuthConfig) -> TestApp {
    spawn_app(TestOptions {
        auth: config,
        ..TestOptions::default()
    })
    .await
}

/// The catalog over the Reloadly sandbox, not yet synced.
pub async fn start_with_catalog() -> TestApp {
    start().await
}

/// The whole product with its catalog synced, ready to sell.
pub async fn start_with_orders() -> TestApp {
    spawn_app(TestOptions {
        // Staff tokens outlive the hours these tests move the clock by (the console would
        // refresh them; that is not what these tests are about).
        auth: AuthConfig {
            access_token_ttl_minutes: 24 * 60,
            ..test_config()
        },
        sync_catalog: true,
        ..TestOptions::default()
    })
    .await
}

/// `wechat_base`: where the login client sends code2session (default: the mounted sandbox).
pub async fn start_full(
    config: AuthConfig,
    app_config: AppUserConfig,
    wechat_base: Option<String>,
) -> TestApp {
    spawn_app(TestOptions {
        auth: config,
        app: app_config,
        mini_program_base: wechat_base,
        ..TestOptions::default()
    })
    .await
}

impl TestApp {
    /// The purchase loop: services, the order worker and the sandboxes.
    pub fn kit(&self) -> &OrdersKit {
        &self.orders
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1/admin{path}", self.base)
    }

    /// A request to `/api/v1/app{path}`, with an app token when given.
    pub async fn app_send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut request = self
            .client
            .request(method, format!("{}/api/v1/app{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    /// Plays `wx.login()` over HTTP against the mounted sandbox: `(code, openid)`.
    pub async fn wx_code(&self, openid: Option<&str>) -> (String, String) {
        let body = match openid {
            Some(openid) => json!({"openid": openid}),
            None => json!({}),
        };
        let issued: Value = self
            .client
            .post(format!("{}/sandbox/wechat/codes", self.base))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (
            issued["code"].as_str().unwrap().to_owned(),
            issued["openid"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn app_login(&self, code: &str) -> Response {
        self.app_send(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({ "code": code })),
        )
        .await
    }

    /// A fresh code for `openid` (a new user when `None`), logged in: the login answer.
    pub async fn app_login_ok(&self, openid: Option<&str>) -> Value {
        let (code, _) = self.wx_code(openid).await;
        let response = self.app_login(&code).await;
        assert_eq!(response.status(), 200, "app login");
        response.json().await.unwrap()
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut request = self
            .client
            .request(method, self.url(path))
            .header("user-agent", "topup-tests/1.0");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.send(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Response {
        self.send(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Response {
        self.send(Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.send(Method::DELETE, path, Some(token), None).await
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.send(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": username, "password": password})),
        )
        .await
    }

    /// Logs in and answers the token pair, failing the test otherwise.
    pub async fn login_ok(&self, username: &str, password: &str) -> Value {
        let response = self.login(username, password).await;
        assert_eq!(response.status(), 200, "login of {username}");
        response.json().await.unwrap()
    }

    /// Signs `admin` in with the generated password, sets [`ADMIN_PASSWORD`], answers the
    /// new access token.
    pub async fn admin_token(&self) -> String {
        let first = self.login_ok("admin", &self.initial_password).await;
        assert_eq!(first["must_change_password"], true);
        let token = first["access_token"].as_str().unwrap();
        let changed = self
            .put(
                "/auth/password",
                token,
                json!({"old": self.initial_password, "new": ADMIN_PASSWORD}),
            )
            .await;
        assert_eq!(changed.status(), 200);
        let pair: Value = changed.json().await.unwrap();
        assert_eq!(pair["must_change_password"], false);
        pair["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn create_role(&self, admin: &str, code: &str, permissions: &[&str]) -> String {
        let response = self
            .post(
                "/roles",
                admin,
                json!({"code": code, "name": code, "permissions": permissions}),
            )
            .await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        let role: Value = response.json().await.unwrap();
        role["id"].as_str().unwrap().to_owned()
    }

    pub async fn create_user(&self, admin: &str, username: &str, role_ids: &[&str]) -> String {
        let response = self
            .post(
                "/users",
                admin,
                json!({
                    "username": username,
                    "display_name": username,
                    "password": STAFF_PASSWORD,
                    "role_ids": role_ids,
                    "must_change_password": false,
                }),
            )
            .await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        let user: Value = response.json().await.unwrap();
        user["id"].as_str().unwrap().to_owned()
    }

    /// A user holding exactly `permissions` (through one new role), signed in.
    /// Answers (user id, role id, access token).
    pub async fn staff_with(
        &self,
        admin: &str,
        name: &str,
        permissions: &[&str],
    ) -> (String, String, String) {
        let role = self
            .create_role(admin, &format!("r_{name}"), permissions)
            .await;
        let user = self.create_user(admin, name, &[&role]).await;
        let pair = self.login_ok(name, STAFF_PASSWORD).await;
        (
            user,
            role,
            pair["access_token"].as_str().unwrap().to_owned(),
        )
    }
}

pub async fn status_and_body(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A WeChat Pay callback built by hand as WeChat builds it: `resource` sealed with
/// AEAD_AES_256_GCM under [`APIV3_KEY`], the body signed with `key_pem` (the sandbox's
/// [`PLATFORM_KEY`] unless a test forges it) at `timestamp`. Answers the body and headers.
pub fn wechat_notification(
    event_type: &str,
    original_type: &str,
    resource: &Value,
    key_pem: &str,
    timestamp: i64,
) -> (Vec<u8>, Vec<(&'static str, String)>) {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    use base64::Engine;
    use std::sync::atomic::{AtomicU32, Ordering};

    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nonce = format!("{n:012}");
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, APIV3_KEY.as_bytes()).unwrap());
    let mut sealed = resource.to_string().into_bytes();
    key.seal_in_place_append_tag(
        Nonce::try_assume_unique_for_key(nonce.as_bytes()).unwrap(),
        Aad::from(original_type.as_bytes()),
        &mut sealed,
    )
    .unwrap();
    let body = json!({
        "id": format!("EV-HAND-{n}"),
        "create_time": "2026-11-29T12:00:00+08:00",
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": "hand-built",
        "resource": {
            "original_type": original_type,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64::engine::general_purpose::STANDARD.encode(&sealed),
            "associated_data": original_type,
            "nonce": nonce,
        },
    })
    .to_string()
    .into_bytes();
    let header_nonce = format!("HDRNONCE{n:08}");
    let mut message = Vec::new();
    for line in [
        timestamp.to_string().as_bytes(),
        header_nonce.as_bytes(),
        body.as_slice(),
    ] {
        message.extend_from_slice(line);
        message.push(b'\n');
    }
    let signer = topup_payment::MerchantSigner::from_pem(&Secret::new(key_pem.into())).unwrap();
    let signature = signer.sign(&message).unwrap();
    let headers = vec![
        ("Wechatpay-Timestamp", timestamp.to_string()),
        ("Wechatpay-Nonce", header_nonce),
        ("Wechatpay-Signature", signature),
        ("Wechatpay-Serial", PUBLIC_KEY_ID.to_owned()),
        (
            "Wechatpay-Signature-Type",
            "WECHATPAY2-SHA256-RSA2048".to_owned(),
        ),
    ];
    (body, headers)
}

/// Waits (polling, bounded) until `check` holds.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// App-route helpers of the mini-program suites.
impl TestApp {
    pub async fn app_get(&self, path: &str, token: &str) -> Response {
        self.app_send(Method::GET, path, Some(token), None).await
    }

    pub async fn app_post(&self, path: &str, token: &str, body: Value) -> Response {
        self.app_send(Method::POST, path, Some(token), Some(body))
            .await
    }

    pub async fn app_put(&self, path: &str, token: &str, body: Value) -> Response {
        self.app_send(Method::PUT, path, Some(token), Some(body))
            .await
    }

    /// The stored document, as the store holds it.
    pub async fn raw_user(&self, id: &str) -> Value {
        self.store
            .backend()
            .get("app_users", id)
            .await
            .unwrap()
            .unwrap()
    }

    pub async fn count(&self, collection: &str) -> u64 {
        self.store
            .backend()
            .count(collection, &topup_store::Filter::All)
            .await
            .unwrap()
    }

    /// What the sandbox hands out as this test user's session key (via its own API).
    pub async fn sandbox_session_key(&self, openid: &str) -> String {
        let (code, _) = self.wx_code(Some(openid)).await;
        let session: Value = self
            .client
            .get(format!("{}/sandbox/wechat/sns/jscode2session", self.base))
            .query(&[
                ("appid", WX_APP_ID),
                ("secret", topup_app::SANDBOX_APP_SECRET),
                ("js_code", code.as_str()),
                ("grant_type", "authorization_code"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        session["session_key"].as_str().unwrap().to_owned()
    }
}
