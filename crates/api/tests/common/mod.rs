//! A real API on loopback for each test: its own temp dir, port 0, a `ManualClock`, and the
//! WeChat mini-program sandbox mounted beside it with the login client pointed at it.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{HttpServer, web};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use topup_api::{AppState, Mount};
use topup_auth::{AppUserConfig, AppUserService, AuthConfig, AuthService};
use topup_core::{ManualClock, Secret, Timestamp};
use topup_sandbox::wechat_mp::{MiniProgramSandbox, MiniProgramSandboxConfig};
use topup_store::{SqliteBackend, SqliteOptions, Store};
use topup_wechat::{MiniProgramClient, MiniProgramConfig};

pub const ADMIN_PASSWORD: &str = "Admin-pass-2026";
pub const STAFF_PASSWORD: &str = "Staff-pass-2026";
pub const WX_APP_ID: &str = "wxtestapp0000001";
const WX_APP_SECRET: &str = "test-app-secret";

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
    start_custom(test_config(), test_app_config(), None, true).await
}

/// `wechat_base`: where the login client sends code2session (default: the mounted sandbox).
pub async fn start_full(
    config: AuthConfig,
    app_config: AppUserConfig,
    wechat_base: Option<String>,
) -> TestApp {
    start_custom(config, app_config, wechat_base, false).await
}

async fn start_custom(
    config: AuthConfig,
    app_config: AppUserConfig,
    wechat_base: Option<String>,
    with_catalog: bool,
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
    let served = sandbox.clone();
    let mut mounts: Vec<Mount> = vec![Arc::new(move |cfg: &mut web::ServiceConfig| {
        let sandbox = served.clone();
        cfg.service(web::scope("/sandbox/wechat").configure(move |cfg| sandbox.configure(cfg)));
    })];
    let mut catalog = None;
    if with_catalog {
        let shared: topup_core::SharedClock = Arc::new(clock.clone());
        let provider = topup_sandbox::reloadly::ReloadlySandbox::new(
            topup_sandbox::reloadly::ReloadlySandboxConfig {
                rate_limit_per_second: 100_000,
                clock: shared.clone(),
                ..Default::default()
            },
        );
        mounts.push(Arc::new(move |cfg: &mut web::ServiceConfig| {
            cfg.service(
                web::scope("/sandbox/reloadly")
                    .configure(topup_sandbox::reloadly::configure(provider.clone())),
            );
        }));
        let providers: topup_recharge::ProvidersConfig =
            serde_json::from_value(json!({"providers": [{
                "id": "sandbox", "kind": "reloadly",
                "client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret",
                "auth_url": format!("http://{addr}/sandbox/reloadly/auth"),
                "api_url": format!("http://{addr}/sandbox/reloadly/topups"),
                "audience": "https://topups-sandbox.reloadly.com",
            }]}))
            .unwrap();
        let router = Arc::new(providers.build_router(shared.clone()).unwrap());
        let built = topup_catalog::Catalog::new(
            store.clone(),
            router,
            shared,
            &topup_catalog::CatalogConfig::default(),
        )
        .unwrap();
        built.start().await.unwrap();
        state = state.with_catalog(built.clone());
        catalog = Some(built);
    }
    let server = HttpServer::new(move || topup_api::app(state.clone(), mounts.clone()))
        .workers(1)
        .listen(listener)
        .unwrap();
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
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
        _dir: dir,
        handle,
    }
}

impl TestApp {
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
