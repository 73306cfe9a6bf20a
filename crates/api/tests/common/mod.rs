//! A real API on loopback for each test: its own temp dir, port 0, a `ManualClock`, and the
//! WeChat mini-program sandbox mounted beside it with the login client pointed at it.
//! [`start_with_orders`] assembles the whole product: catalog over the Reloadly sandbox,
//! WeChat Pay over its sandbox, and orders wired with the server's own adapters.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{HttpServer, web};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use topup_api::order_ports::{BIZ_TYPE, OrderPaymentEvents, UserBlocklist, WechatPayments};
use topup_api::{AppState, Mount};
use topup_auth::{AppUserConfig, AppUserService, AuthConfig, AuthService};
use topup_core::{ManualClock, Secret, SharedClock, Timestamp};
use topup_orders::{OrderEngine, OrdersConfig, OrdersService, PaymentPort};
use topup_payment::{
    HttpSettings, PaymentService, PaymentSettings, PemSource, WechatPayClient, WechatPayConfig,
};
use topup_sandbox::reloadly::{ReloadlySandbox, ReloadlySandboxConfig};
use topup_sandbox::wechat_mp::{MiniProgramSandbox, MiniProgramSandboxConfig};
use topup_sandbox::wechat_pay::{
    MOUNT_PATH, PlatformMode, WechatPaySandbox, WechatPaySandboxConfig,
};
use topup_store::{SqliteBackend, SqliteOptions, Store};
use topup_wechat::{MiniProgramClient, MiniProgramConfig};

pub const ADMIN_PASSWORD: &str = "Admin-pass-2026";
pub const STAFF_PASSWORD: &str = "Staff-pass-2026";
pub const WX_APP_ID: &str = "wxtestapp0000001";
const WX_APP_SECRET: &str = "test-app-secret";

/// The purchase loop of [`start_with_orders`]: the services behind the routes and the two
/// sandboxes standing in for WeChat Pay and Reloadly. Nothing runs in the background: tests
/// move the clock and call `deliver_due`, `run_until_idle` and `run_sync` themselves.
pub struct OrdersKit {
    pub service: Arc<OrdersService>,
    /// The order worker, driven explicitly by the tests.
    pub engine: Arc<OrderEngine>,
    pub payments: Arc<PaymentService>,
    pub pay_sandbox: WechatPaySandbox,
    pub provider: ReloadlySandbox,
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
    /// Set by [`start_with_catalog`]: the catalog over a Reloadly sandbox mounted beside.
    pub catalog: Option<topup_catalog::Catalog>,
    /// Set by [`start_with_orders`].
    pub orders: Option<OrdersKit>,
    _dir: tempfile::TempDir,
    handle: actix_web::dev::ServerHandle,
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

pub async fn start() -> TestApp {
    start_with(test_config()).await
}

/// App defaults, but without the per-address login limit.
pub fn test_app_config() -> AppUserConfig {
    AppUserConfig {
        login_rate_per_minute: 0,
        ..AppUserConfig::default()
    }
}

pub async fn start_with(config: AuthConfig) -> TestApp {
    start_full(config, test_app_config(), None).await
}

/// Like [`start`], with the Reloadly sandbox mounted at `/sandbox/reloadly` and a catalog
/// syncing from it (not yet synced).
pub async fn start_with_catalog() -> TestApp {
    start_custom(test_config(), test_app_config(), None, Extras::Catalog).await
}

/// The whole product in one server: staff auth, app users and the mini-program sandbox, the
/// Reloadly sandbox (answers withheld for [`PROVIDER_HANG`], read timeout
/// [`PROVIDER_READ_TIMEOUT_MS`]) with a catalog synced from it, the WeChat Pay sandbox and
/// the payment service (callbacks pointed at this server), and orders wired exactly as the
/// server wires them (`topup_api::order_ports`). One `ManualClock` drives everything.
pub async fn start_with_orders() -> TestApp {
    // Staff tokens outlive the hours these tests move the clock by (the console would
    // refresh them; that is not what these tests are about).
    let config = AuthConfig {
        access_token_ttl_minutes: 24 * 60,
        ..test_config()
    };
    start_custom(config, test_app_config(), None, Extras::Orders).await
}

/// `wechat_base`: where the login client sends code2session (default: the mounted sandbox).
pub async fn start_full(
    config: AuthConfig,
    app_config: AppUserConfig,
    wechat_base: Option<String>,
) -> TestApp {
    start_custom(config, app_config, wechat_base, Extras::None).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Extras {
    None,
    Catalog,
    /// The catalog, WeChat Pay and orders.
    Orders,
}

/// How long the Reloadly sandbox withholds its answer to a digit-5 top-up (real time).
pub const PROVIDER_HANG: Duration = Duration::from_secs(3);
/// The Reloadly adapter's read timeout in the orders app: well below [`PROVIDER_HANG`].
pub const PROVIDER_READ_TIMEOUT_MS: u64 = 1_000;
/// How long after a refund is accepted the WeChat Pay sandbox settles it (on the clock).
pub const REFUND_DELAY_SECS: u64 = 60;
/// The WeChat Pay merchant of the test apps, and its keys (fixtures of `topup-payment`).
pub const MCHID: &str = "1900007291";
pub const MERCHANT_KEY: &str =
    include_str!("../../../payment/tests/fixtures/wechatpay_doc_test_key.pem");
pub const MERCHANT_PUBLIC_KEY: &str =
    include_str!("../../../payment/tests/fixtures/wechatpay_doc_test_key.pub.pem");
pub const PLATFORM_KEY: &str = include_str!("../../../payment/tests/fixtures/platform_key.pem");
pub const PLATFORM_PUBLIC_KEY: &str =
    include_str!("../../../payment/tests/fixtures/platform_key.pub.pem");
pub const MERCHANT_SERIAL: &str = "3775B6A45ACD588826D15E583A95F5DD2C5F1B0E";
pub const PUBLIC_KEY_ID: &str = "PUB_KEY_ID_0119007291202611290000000001";
pub const APIV3_KEY: &str = "Topup0sandbox0apiv3key0for0tests";

async fn start_custom(
    config: AuthConfig,
    app_config: AppUserConfig,
    wechat_base: Option<String>,
    extras: Extras,
) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let backend = SqliteBackend::open(&SqliteOptions::new(dir.path().join("t.db"))).unwrap();
    let store = Store::new(Arc::new(backend));
    let clock = ManualClock::new(Timestamp::parse("2026-03-01T08:00:00Z").unwrap());
    let auth = Arc::new(
        AuthService::new(
            store.clone(),
            Arc::new(clock.clone()),
            config,
            &Secret::new(vec![42u8; 64]),
        )
        .unwrap(),
    );
    let initial = auth
        .prepare()
        .await
        .unwrap()
        .expect("first start creates admin");
    assert!(auth.prepare().await.unwrap().is_none(), "only once");
    tokio::spawn(auth.take_access_log_writer().unwrap().run());

    // Bound first: the login client needs the port to reach the mounted sandbox.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let sandbox = MiniProgramSandbox::new(
        MiniProgramSandboxConfig::new(WX_APP_ID, WX_APP_SECRET),
        Arc::new(clock.clone()),
    );
    let mini_program = MiniProgramClient::new(
        MiniProgramConfig::new(
            WX_APP_ID,
            Secret::new(WX_APP_SECRET.to_owned()),
            wechat_base.unwrap_or_else(|| format!("http://{addr}/sandbox/wechat")),
        ),
        Arc::new(clock.clone()),
    )
    .unwrap();
    let app_users = Arc::new(
        AppUserService::new(
            store.clone(),
            Arc::new(clock.clone()),
            app_config,
            &Secret::new(vec![42u8; 64]),
            &topup_auth::generate_at_rest_key().unwrap(),
            Arc::new(mini_program),
        )
        .unwrap(),
    );
    app_users.prepare().await.unwrap();
    let mut state = AppState::new(
        store.clone(),
        Arc::new(clock.clone()),
        auth.clone(),
        app_users.clone(),
    );
    let shared: SharedClock = Arc::new(clock.clone());
    let mut mounts: Vec<Mount> = Vec::new();
    let mut pay_sandbox = None;
    if extras == Extras::Orders {
        // Before the mini-program scope: `/sandbox/wechat` would swallow `/sandbox/wechat/pay`.
        let pay = WechatPaySandbox::new(pay_sandbox_config(), shared.clone()).unwrap();
        let served = pay.clone();
        mounts.push(Arc::new(move |cfg: &mut web::ServiceConfig| {
            cfg.service(served.scope());
        }));
        pay_sandbox = Some(pay);
    }
    let served = sandbox.clone();
    mounts.push(Arc::new(move |cfg: &mut web::ServiceConfig| {
        let sandbox = served.clone();
        cfg.service(web::scope("/sandbox/wechat").configure(move |cfg| sandbox.configure(cfg)));
    }));
    let mut catalog = None;
    let mut provider_sandbox = None;
    let mut router = None;
    if extras != Extras::None {
        let provider = ReloadlySandbox::new(ReloadlySandboxConfig {
            rate_limit_per_second: 100_000,
            hang: PROVIDER_HANG,
            clock: shared.clone(),
            ..Default::default()
        });
        let served = provider.clone();
        mounts.push(Arc::new(move |cfg: &mut web::ServiceConfig| {
            cfg.service(
                web::scope("/sandbox/reloadly")
                    .configure(topup_sandbox::reloadly::configure(served.clone())),
            );
        }));
        let mut providers: topup_recharge::ProvidersConfig =
            serde_json::from_value(json!({"providers": [{
                "id": "sandbox", "kind": "reloadly",
                "client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret",
                "auth_url": format!("http://{addr}/sandbox/reloadly/auth"),
                "api_url": format!("http://{addr}/sandbox/reloadly/topups"),
                "audience": "https://topups-sandbox.reloadly.com",
            }]}))
            .unwrap();
        if extras == Extras::Orders {
            providers.providers[0].read_timeout_ms = PROVIDER_READ_TIMEOUT_MS;
        }
        let built_router = Arc::new(providers.build_router(shared.clone()).unwrap());
        let built = topup_catalog::Catalog::new(
            store.clone(),
            built_router.clone(),
            shared.clone(),
            &topup_catalog::CatalogConfig::default(),
        )
        .unwrap();
        built.start().await.unwrap();
        state = state.with_catalog(built.clone());
        catalog = Some(built);
        provider_sandbox = Some(provider);
        router = Some(built_router);
    }
    let mut orders = None;
    if let (Some(pay_sandbox), Some(provider), Some(router), Some(catalog)) =
        (pay_sandbox, provider_sandbox, router, &catalog)
    {
        let payments = payment_service(&store, shared.clone(), &format!("http://{addr}")).await;
        let payment_port: Arc<dyn PaymentPort> = Arc::new(WechatPayments(Arc::clone(&payments)));
        let config = OrdersConfig::default();
        let service = Arc::new(
            OrdersService::new(
                &store,
                shared.clone(),
                Arc::new(topup_api::CatalogPlans(catalog.clone())),
                Arc::new(UserBlocklist(app_users.clone())),
                Arc::clone(&payment_port),
                config.clone(),
            )
            .with_providers(router.clone()),
        );
        service.prepare().await.unwrap();
        payments.register_events(BIZ_TYPE, Arc::new(OrderPaymentEvents(service.clone())));
        let engine = Arc::new(OrderEngine::new(
            &store,
            shared.clone(),
            router,
            payment_port,
            config,
            "test-worker",
        ));
        state = state.with_payments(payments.clone());
        state.orders = Some(service.clone());
        orders = Some(OrdersKit {
            service,
            engine,
            payments,
            pay_sandbox,
            provider,
        });
    }
    let server = HttpServer::new(move || topup_api::app(state.clone(), mounts.clone()))
        .workers(1)
        .listen(listener)
        .unwrap();
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    if let (Some(catalog), Some(_)) = (&catalog, &orders) {
        // After the server runs: the sync calls the mounted provider sandbox over HTTP.
        let report = catalog.sync("test").await.unwrap();
        assert!(report.ok, "{report:?}");
    }
    TestApp {
        base: format!("http://{addr}"),
        clock,
        auth,
        app_users,
        sandbox,
        store,
        client: reqwest::Client::new(),
        initial_password: initial.password.expose().clone(),
        catalog,
        orders,
        _dir: dir,
        handle,
    }
}

fn pay_sandbox_config() -> WechatPaySandboxConfig {
    WechatPaySandboxConfig {
        mchid: MCHID.into(),
        // One app for login and payment, as in production.
        appid: WX_APP_ID.into(),
        merchant_serial_no: MERCHANT_SERIAL.into(),
        merchant_public_key_pem: MERCHANT_PUBLIC_KEY.into(),
        apiv3_key: Secret::new(APIV3_KEY.into()),
        platform_private_key_pem: Secret::new(PLATFORM_KEY.into()),
        platform_public_key_id: PUBLIC_KEY_ID.into(),
        certificate_private_key_pem: None,
        sign_with: PlatformMode::PublicKey,
        refund_delay_secs: REFUND_DELAY_SECS,
        // Duplicates only where a test asks for them: counts stay exact.
        duplicate_percent: 0,
        allow_loopback_http_notify: true,
    }
}

/// The payment service over a WeChat Pay client pointed at the sandbox mounted on `base`,
/// its callbacks at this server's notify routes.
async fn payment_service(store: &Store, clock: SharedClock, base: &str) -> Arc<PaymentService> {
    let client = WechatPayClient::new(
        &WechatPayConfig {
            mchid: MCHID.into(),
            appid: WX_APP_ID.into(),
            merchant_serial_no: MERCHANT_SERIAL.into(),
            merchant_private_key: PemSource::pem(MERCHANT_KEY),
            apiv3_key: Secret::new(APIV3_KEY.into()),
            wechatpay_public_key: Some(PemSource::pem(PLATFORM_PUBLIC_KEY)),
            wechatpay_public_key_id: Some(PUBLIC_KEY_ID.into()),
            platform_certificates: false,
            notify_url: format!("{base}/api/v1/pay/wechat/notify"),
            refund_notify_url: format!("{base}/api/v1/pay/wechat/refund-notify"),
            base_url: format!("{base}{MOUNT_PATH}"),
            http: HttpSettings {
                max_retries: 0,
                retry_backoff_ms: 1,
                request_timeout_ms: 5_000,
                ..HttpSettings::default()
            },
        },
        clock.clone(),
    )
    .unwrap();
    let service =
        PaymentService::new(store, Arc::new(client), clock, PaymentSettings::default()).unwrap();
    service.prepare().await.unwrap();
    Arc::new(service)
}

impl TestApp {
    /// The purchase loop of an app from [`start_with_orders`].
    pub fn kit(&self) -> &OrdersKit {
        self.orders.as_ref().expect("started with orders")
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
