//! WeChat mini-program server APIs (login and access token), mounted under
//! `/sandbox/wechat`: the same paths below that prefix as `https://api.weixin.qq.com`.
//!
//! - `GET  /sns/jscode2session` — codes are single-use (40163) and expire after 5 minutes
//!   (40029); unknown codes are 40029; wrong appid/secret 40013/40125.
//! - `POST /cgi-bin/stable_token` — one token per app until it expires or `force_refresh`.
//! - `POST /codes {openid?, nickname?}` — plays `wx.login()` for a new or given test user.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{HttpResponse, web};
use chrono::TimeDelta;
use serde::Deserialize;
use serde_json::json;
use topup_core::{SharedClock, Timestamp};

/// The app the sandbox recognises, and how long its codes and tokens live.
#[derive(Clone)]
pub struct MiniProgramSandboxConfig {
    pub app_id: String,
    pub app_secret: String,
    pub code_ttl: TimeDelta,
    pub token_ttl: TimeDelta,
}

impl MiniProgramSandboxConfig {
    pub fn new(app_id: impl Into<String>, app_secret: impl Into<String>) -> Self {
        MiniProgramSandboxConfig {
            app_id: app_id.into(),
            app_secret: app_secret.into(),
            code_ttl: TimeDelta::minutes(5),
            token_ttl: TimeDelta::seconds(7200),
        }
    }
}

struct IssuedCode {
    openid: String,
    issued_at: Timestamp,
    used: bool,
}

struct TestUser {
    unionid: String,
    session_key: String,
}

struct Token {
    value: String,
    expires_at: Timestamp,
}

#[derive(Default)]
struct State {
    codes: HashMap<String, IssuedCode>,
    users: HashMap<String, TestUser>,
    token: Option<Token>,
    tokens_issued: u64,
}

/// In-memory WeChat mini-program platform. Clone it freely; clones share state.
#[derive(Clone)]
pub struct MiniProgramSandbox {
    config: MiniProgramSandboxConfig,
    clock: SharedClock,
    state: Arc<Mutex<State>>,
}

fn random_token(len: usize) -> String {
    // ULIDs carry 80 random bits each; concatenate enough of them.
    let mut out = String::new();
    while out.len() < len {
        out.push_str(&ulid::Ulid::new().to_string().to_ascii_lowercase()[10..]);
    }
    out.truncate(len);
    out
}

fn wx_error(errcode: i64, errmsg: &str) -> HttpResponse {
    // WeChat answers errors with HTTP 200 and an errcode body.
    HttpResponse::Ok().json(json!({ "errcode": errcode, "errmsg": errmsg }))
}

impl MiniProgramSandbox {
    pub fn new(config: MiniProgramSandboxConfig, clock: SharedClock) -> Self {
        MiniProgramSandbox {
            config,
            clock,
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Plays `wx.login()`: a fresh code for `openid` (a new test user when `None`).
    pub fn issue_code(&self, openid: Option<&str>) -> (String, String) {
        let openid = openid
            .map(str::to_owned)
            .unwrap_or_else(|| format!("o{}", random_token(27)));
        let code = random_token(32);
        let mut state = self.state();
        state
            .users
            .entry(openid.clone())
            .or_insert_with(|| TestUser {
                unionid: format!("u{}", random_token(27)),
                session_key: random_token(24),
            });
        state.codes.insert(
            code.clone(),
            IssuedCode {
                openid: openid.clone(),
                issued_at: self.clock.now(),
                used: false,
            },
        );
        (code, openid)
    }

    /// How many access tokens have been minted (tests check caching with it).
    pub fn tokens_issued(&self) -> u64 {
        self.state().tokens_issued
    }

    fn check_app(&self, appid: &str, secret: &str) -> Option<HttpResponse> {
        if appid != self.config.app_id {
            return Some(wx_error(40013, "invalid appid"));
        }
        if secret != self.config.app_secret {
            return Some(wx_error(40125, "invalid appsecret"));
        }
        None
    }

    fn code_to_session(&self, query: &SessionQuery) -> HttpResponse {
        if let Some(refused) = self.check_app(&query.appid, &query.secret) {
            return refused;
        }
        if query.grant_type != "authorization_code" {
            return wx_error(40002, "invalid grant_type");
        }
        let now = self.clock.now();
        let mut state = self.state();
        let openid = match state.codes.get_mut(&query.js_code) {
            None => return wx_error(40029, "invalid code"),
            Some(code) if now.since(code.issued_at) > self.config.code_ttl => {
                return wx_error(40029, "invalid code");
            }
            Some(code) if code.used => return wx_error(40163, "code been used"),
            Some(code) => {
                code.used = true;
                code.openid.clone()
            }
        };
        match state.users.get(&openid) {
            Some(user) => HttpResponse::Ok().json(json!({
                "openid": openid,
                "session_key": user.session_key,
                "unionid": user.unionid,
            })),
            None => wx_error(-1, "system error"),
        }
    }

    fn stable_token(&self, body: &StableTokenRequest) -> HttpResponse {
        if body.grant_type != "client_credential" {
            return wx_error(40002, "invalid grant_type");
        }
        if let Some(refused) = self.check_app(&body.appid, &body.secret) {
            return refused;
        }
        let now = self.clock.now();
        let mut state = self.state();
        let live = state
            .token
            .as_ref()
            .filter(|t| t.expires_at > now && !body.force_refresh);
        if let Some(token) = live {
            return HttpResponse::Ok().json(json!({
                "access_token": token.value,
                "expires_in": token.expires_at.since(now).num_seconds(),
            }));
        }
        let token = Token {
            value: random_token(64),
            expires_at: now.plus(self.config.token_ttl),
        };
        let answer = json!({
            "access_token": token.value,
            "expires_in": self.config.token_ttl.num_seconds(),
        });
        state.token = Some(token);
        state.tokens_issued += 1;
        HttpResponse::Ok().json(answer)
    }

    /// Whether `token` is the live access token (for sandbox APIs that take one).
    pub fn token_is_valid(&self, token: &str) -> bool {
        let now = self.clock.now();
        self.state()
            .token
            .as_ref()
            .is_some_and(|t| t.value == token && t.expires_at > now)
    }

    /// Registers the routes on a scope mounted at `/sandbox/wechat`.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(web::Data::new(self.clone()))
            .route("/sns/jscode2session", web::get().to(code_to_session))
            .route("/cgi-bin/stable_token", web::post().to(stable_token))
            .route("/codes", web::post().to(issue_code));
    }
}

#[derive(Deserialize)]
struct SessionQuery {
    #[serde(default)]
    appid: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    js_code: String,
    #[serde(default)]
    grant_type: String,
}

#[derive(Deserialize)]
struct StableTokenRequest {
    #[serde(default)]
    grant_type: String,
    #[serde(default)]
    appid: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    force_refresh: bool,
}

#[derive(Deserialize, Default)]
struct CodeRequest {
    openid: Option<String>,
    #[allow(dead_code)]
    nickname: Option<String>,
}

async fn code_to_session(
    sandbox: web::Data<MiniProgramSandbox>,
    query: web::Query<SessionQuery>,
) -> HttpResponse {
    sandbox.code_to_session(&query)
}

async fn stable_token(
    sandbox: web::Data<MiniProgramSandbox>,
    body: web::Json<StableTokenRequest>,
) -> HttpResponse {
    sandbox.stable_token(&body)
}

async fn issue_code(
    sandbox: web::Data<MiniProgramSandbox>,
    body: Option<web::Json<CodeRequest>>,
) -> HttpResponse {
    let request = body.map(web::Json::into_inner).unwrap_or_default();
    let openid = request.openid.filter(|o| {
        !o.is_empty()
            && o.len() <= 64
            && o.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    });
    let (code, openid) = sandbox.issue_code(openid.as_deref());
    HttpResponse::Ok().json(json!({ "code": code, "openid": openid }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{App, HttpServer};
    use serde_json::Value;
    use topup_core::ManualClock;

    async fn serve(sandbox: MiniProgramSandbox) -> String {
        let server = HttpServer::new(move || {
            let sandbox = sandbox.clone();
            App::new()
                .service(web::scope("/sandbox/wechat").configure(move |cfg| sandbox.configure(cfg)))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let addr = server.addrs()[0];
        tokio::spawn(server.run());
        format!("http://{addr}/sandbox/wechat")
    }

    fn sandbox() -> (MiniProgramSandbox, ManualClock) {
        let clock = ManualClock::new(Timestamp::parse("2026-01-01T00:00:00Z").unwrap());
        let sandbox = MiniProgramSandbox::new(
            MiniProgramSandboxConfig::new("wxsandboxapp", "sandbox-secret"),
            Arc::new(clock.clone()),
        );
        (sandbox, clock)
    }

    async fn exchange(base: &str, code: &str) -> Value {
        reqwest::get(format!(
            "{base}/sns/jscode2session?appid=wxsandboxapp&secret=sandbox-secret&js_code={code}&grant_type=authorization_code"
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
    }

    #[actix_web::test]
    async fn codes_are_single_use_and_expire() {
        let (sandbox, clock) = sandbox();
        let base = serve(sandbox).await;
        let client = reqwest::Client::new();
        let issued: Value = client
            .post(format!("{base}/codes"))
            .json(&json!({"openid": "o_alice"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let code = issued["code"].as_str().unwrap();
        let session = exchange(&base, code).await;
        assert_eq!(session["openid"], "o_alice");
        assert!(session["session_key"].as_str().unwrap().len() >= 16);
        assert_eq!(exchange(&base, code).await["errcode"], 40163);
        assert_eq!(exchange(&base, "never-issued").await["errcode"], 40029);

        let late: Value = client
            .post(format!("{base}/codes"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        clock.advance(TimeDelta::minutes(5) + TimeDelta::seconds(1));
        assert_eq!(
            exchange(&base, late["code"].as_str().unwrap()).await["errcode"],
            40029
        );
        // The same test user keeps the same openid across codes.
        let again: Value = client
            .post(format!("{base}/codes"))
            .json(&json!({"openid": "o_alice"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            exchange(&base, again["code"].as_str().unwrap()).await["openid"],
            "o_alice"
        );
    }

    #[actix_web::test]
    async fn wrong_app_credentials_are_refused() {
        let (sandbox, _) = sandbox();
        let (code, _) = sandbox.issue_code(None);
        let base = serve(sandbox).await;
        let bad_secret: Value = reqwest::get(format!(
            "{base}/sns/jscode2session?appid=wxsandboxapp&secret=nope&js_code={code}&grant_type=authorization_code"
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(bad_secret["errcode"], 40125);
        // The refused attempt did not burn the code.
        assert!(exchange(&base, &code).await["openid"].is_string());
    }

    #[actix_web::test]
    async fn stable_token_is_reused_until_expiry_or_forced() {
        let (sandbox, clock) = sandbox();
        let base = serve(sandbox.clone()).await;
        let client = reqwest::Client::new();
        let fetch = |force: bool| {
            let client = client.clone();
            let base = base.clone();
            async move {
                client
                    .post(format!("{base}/cgi-bin/stable_token"))
                    .json(
                        &json!({"grant_type": "client_credential", "appid": "wxsandboxapp",
                        "secret": "sandbox-secret", "force_refresh": force}),
                    )
                    .send()
                    .await
                    .unwrap()
                    .json::<Value>()
                    .await
                    .unwrap()
            }
        };
        let first = fetch(false).await;
        assert_eq!(first["expires_in"], 7200);
        clock.advance(TimeDelta::seconds(100));
        let second = fetch(false).await;
        assert_eq!(second["access_token"], first["access_token"]);
        assert_eq!(second["expires_in"], 7100);
        assert!(sandbox.token_is_valid(first["access_token"].as_str().unwrap()));
        clock.advance(TimeDelta::seconds(7100));
        let third = fetch(false).await;
        assert_ne!(third["access_token"], first["access_token"]);
        assert!(!sandbox.token_is_valid(first["access_token"].as_str().unwrap()));
        let forced = fetch(true).await;
        assert_ne!(forced["access_token"], third["access_token"]);
        assert_eq!(sandbox.tokens_issued(), 3);
    }
}
