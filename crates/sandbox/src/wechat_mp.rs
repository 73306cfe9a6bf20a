//! WeChat mini-program server APIs (login and access token), mounted under
//! `/sandbox/wechat`: the same paths below that prefix as `https://api.weixin.qq.com`.
//!
//! - `GET  /sns/jscode2session` — codes are single-use (40163) and expire after 5 minutes
//!   (40029); unknown codes are 40029; wrong appid/secret 40013/40125.
//! - `POST /cgi-bin/stable_token` — one token per app until it expires or `force_refresh`.
//! - `POST /codes {openid?, nickname?}` — plays `wx.login()` for a new or given test user.
//! - `POST /cgi-bin/message/subscribe/send?access_token=…` — checks the token (40001/42001),
//!   the openid (40003), the template (40037), the data against the template's keys and
//!   WeChat's value rules (47003), then spends one of the user's acceptances (43101 without
//!   one) and keeps the message.
//! - `POST /subscriptions {openid, template_ids, decision?}` — plays the user tapping
//!   "allow" (or "reject") on `wx.requestSubscribeMessage`, at most three templates at a time.
//! - `GET /messages?touser=OPENID` — what was delivered, oldest first; `GET /templates` — the
//!   templates the sandbox app owns.
//!
//! With an official account ([`MiniProgramSandboxConfig::with_official_account`]), whose
//! tokens come from the same `stable_token`:
//!
//! - `POST /cgi-bin/message/template/send?access_token=…` — checks the token is the official
//!   account's (40001/42001; a mini-program token is 48001), the openid (40003), the template
//!   (40037) and its data (47003), and that the recipient follows the account (43004 for an
//!   openid containing `unfollowed`); a `client_msg_id` sent again for the same openid within
//!   ten minutes answers the first message's `msgid` and delivers nothing more.
//! - `GET /oa/messages?touser=OPENID` — the template messages delivered, oldest first.
//!
//! Given a journal ([`MiniProgramSandbox::remember_in`]), its users and their acceptances not
//! yet spent outlive a restart, as WeChat's do (`crate::journal`); codes, tokens and the
//! messages received do not.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use actix_web::{HttpResponse, web};
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use topup_core::{SharedClock, Timestamp};

use crate::journal::Journal;
use crate::subscribe_rules::{key_type, value_is_valid};

/// A subscribe-message template the sandbox app owns: its id and the keys of its data.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxTemplate {
    pub id: String,
    pub title: String,
    pub keys: Vec<String>,
}

impl SandboxTemplate {
    fn new(id: &str, title: &str, keys: &[&str]) -> Self {
        SandboxTemplate {
            id: id.to_owned(),
            title: title.to_owned(),
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
        }
    }
}

/// The templates of the sandbox app: one for each of the product's notices.
pub fn default_templates() -> Vec<SandboxTemplate> {
    vec![
        SandboxTemplate::new(
            "sbx-payment-succeeded",
            "支付成功通知",
            &[
                "character_string1",
                "thing2",
                "amount3",
                "time4",
                "phone_number5",
            ],
        ),
        SandboxTemplate::new(
            "sbx-recharge-succeeded",
            "充值成功通知",
            &[
                "character_string1",
                "thing2",
                "phone_number3",
                "time4",
                "phrase5",
            ],
        ),
        SandboxTemplate::new(
            "sbx-recharge-failed",
            "充值失败通知",
            &[
                "character_string1",
                "thing2",
                "thing3",
                "amount4",
                "phrase5",
            ],
        ),
        SandboxTemplate::new(
            "sbx-refund-succeeded",
            "退款成功通知",
            &["character_string1", "amount2", "time3", "thing4"],
        ),
        SandboxTemplate::new(
            "sbx-membership-activated",
            "会员开通通知",
            &["thing1", "date2", "amount3"],
        ),
    ]
}

/// The template the sandbox official account owns for staff alerts: what happened, the
/// order (or report) number, when.
pub const STAFF_ALERT_TEMPLATE: &str = "sbx-staff-alert";

/// An openid containing this does not follow the sandbox official account (43004).
pub const UNFOLLOWED_MARKER: &str = "unfollowed";

/// How long WeChat honours a `client_msg_id` (a repeat within it is not delivered again).
pub const CLIENT_MSG_ID_WINDOW: TimeDelta = TimeDelta::minutes(10);

/// An official account (公众号) the sandbox also plays: its credentials and templates.
#[derive(Clone)]
pub struct OfficialAccountSandboxConfig {
    pub app_id: String,
    pub app_secret: String,
    pub templates: Vec<SandboxTemplate>,
}

/// The app the sandbox recognises, and how long its codes and tokens live.
#[derive(Clone)]
pub struct MiniProgramSandboxConfig {
    pub app_id: String,
    pub app_secret: String,
    pub code_ttl: TimeDelta,
    pub token_ttl: TimeDelta,
    pub templates: Vec<SandboxTemplate>,
    /// An official account on the same host, if any.
    pub official_account: Option<OfficialAccountSandboxConfig>,
}

impl MiniProgramSandboxConfig {
    pub fn new(app_id: impl Into<String>, app_secret: impl Into<String>) -> Self {
        MiniProgramSandboxConfig {
            app_id: app_id.into(),
            app_secret: app_secret.into(),
            code_ttl: TimeDelta::minutes(5),
            token_ttl: TimeDelta::seconds(7200),
            templates: default_templates(),
            official_account: None,
        }
    }

    /// Also plays an official account with these credentials and the staff-alert template.
    pub fn with_official_account(
        mut self,
        app_id: impl Into<String>,
        app_secret: impl Into<String>,
    ) -> Self {
        self.official_account = Some(OfficialAccountSandboxConfig {
            app_id: app_id.into(),
            app_secret: app_secret.into(),
            templates: vec![SandboxTemplate::new(
                STAFF_ALERT_TEMPLATE,
                "系统告警通知",
                &["thing1", "character_string2", "time3"],
            )],
        });
        self
    }
}

struct IssuedCode {
    openid: String,
    issued_at: Timestamp,
    used: bool,
}

#[derive(Clone, Serialize, Deserialize)]
struct TestUser {
    unionid: String,
    session_key: String,
}

/// One line of the journal (the last line for a user, or a user's template, wins).
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Remembered {
    User {
        openid: String,
        #[serde(flatten)]
        user: TestUser,
    },
    Acceptances {
        openid: String,
        template_id: String,
        left: u32,
    },
}

struct Token {
    value: String,
    expires_at: Timestamp,
}

/// A subscribe message the sandbox accepted.
#[derive(Debug, Clone, Serialize)]
pub struct ReceivedMessage {
    pub msgid: u64,
    pub touser: String,
    pub template_id: String,
    pub page: Option<String>,
    pub data: Value,
    pub miniprogram_state: Option<String>,
    pub lang: Option<String>,
    pub received_at: Timestamp,
}

/// An official account's template message the sandbox delivered.
#[derive(Debug, Clone, Serialize)]
pub struct ReceivedTemplateMessage {
    pub msgid: u64,
    pub touser: String,
    pub template_id: String,
    pub url: Option<String>,
    pub client_msg_id: Option<String>,
    pub data: Value,
    pub received_at: Timestamp,
}

#[derive(Default)]
struct State {
    codes: HashMap<String, IssuedCode>,
    users: HashMap<String, TestUser>,
    /// The live token of each app (the mini-program's, the official account's).
    tokens: HashMap<String, Token>,
    tokens_issued: u64,
    /// Acceptances not yet spent, by (openid, template id).
    acceptances: HashMap<(String, String), u32>,
    messages: Vec<ReceivedMessage>,
    template_messages: Vec<ReceivedTemplateMessage>,
    /// Template sends received, delivered or not.
    template_sends: u64,
    /// The first message of each (openid, client_msg_id): its msgid and when.
    client_msg_ids: HashMap<(String, String), (u64, Timestamp)>,
    /// Errcodes the next template sends answer, in order (tests play WeChat's bad moments).
    template_faults: Vec<i64>,
    journal: Option<Journal>,
}

impl State {
    /// Appends an entry, if there is a journal. A failed write is logged and the sandbox
    /// carries on: what it forgets then is a test user's login or acceptance.
    fn remember(&mut self, entry: &Remembered) {
        if let Some(journal) = self.journal.as_mut()
            && let Err(error) = journal.append(entry)
        {
            tracing::error!(%error, "the WeChat sandbox could not write its journal");
        }
    }

    fn remember_acceptances(&mut self, subscription: &(String, String)) {
        let left = self.acceptances.get(subscription).copied().unwrap_or(0);
        self.remember(&Remembered::Acceptances {
            openid: subscription.0.clone(),
            template_id: subscription.1.clone(),
            left,
        });
    }
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

/// WeChat's errcode and errmsg for a request it refuses.
type WxRefusal = (i64, String);

/// The template `body` names among `templates` and its `data`, each value checked against its
/// key's rule, or WeChat's refusal (errcode 40037, 47001 or 47003, and errmsg). Subscribe
/// and template messages share these rules.
fn template_and_data<'a>(
    templates: &'a [SandboxTemplate],
    body: &'a Value,
) -> Result<(&'a SandboxTemplate, &'a serde_json::Map<String, Value>), WxRefusal> {
    let Some(template) = body
        .get("template_id")
        .and_then(Value::as_str)
        .and_then(|id| templates.iter().find(|t| t.id == id))
    else {
        return Err((40037, "invalid template_id".into()));
    };
    let Some(data) = body.get("data").and_then(Value::as_object) else {
        return Err((47001, "data format error".into()));
    };
    for (key, entry) in data {
        let value = entry.get("value").and_then(Value::as_str);
        let valid =
            template.keys.contains(key) && value.is_some_and(|v| value_is_valid(key_type(key), v));
        if !valid {
            return Err((47003, format!("argument invalid! data.{key}.value invalid")));
        }
    }
    Ok((template, data))
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

    /// Takes up the users and acceptances remembered in the journal at `path` and keeps
    /// writing them there, so that they outlive this process. Answers how many users it took
    /// up, or `None` when another process holds the journal (and remembers).
    pub fn remember_in(&self, path: &std::path::Path) -> std::io::Result<Option<usize>> {
        let Some((mut journal, entries)) = Journal::open::<Remembered>(path)? else {
            return Ok(None);
        };
        let mut state = self.state();
        for entry in entries {
            match entry {
                Remembered::User { openid, user } => {
                    state.users.insert(openid, user);
                }
                Remembered::Acceptances {
                    openid,
                    template_id,
                    left,
                } => {
                    state.acceptances.insert((openid, template_id), left);
                }
            }
        }
        state.acceptances.retain(|_, left| *left > 0);
        let users = state.users.iter().map(|(openid, user)| Remembered::User {
            openid: openid.clone(),
            user: user.clone(),
        });
        let acceptances = state
            .acceptances
            .iter()
            .map(|((openid, template_id), left)| Remembered::Acceptances {
                openid: openid.clone(),
                template_id: template_id.clone(),
                left: *left,
            });
        journal.rewrite(users.chain(acceptances))?;
        state.journal = Some(journal);
        Ok(Some(state.users.len()))
    }

    /// Plays `wx.login()`: a fresh code for `openid` (a new test user when `None`).
    pub fn issue_code(&self, openid: Option<&str>) -> (String, String) {
        let openid = openid
            .map(str::to_owned)
            .unwrap_or_else(|| format!("o{}", random_token(27)));
        let code = random_token(32);
        let mut state = self.state();
        if !state.users.contains_key(&openid) {
            let user = TestUser {
                unionid: format!("u{}", random_token(27)),
                session_key: random_token(24),
            };
            state.remember(&Remembered::User {
                openid: openid.clone(),
                user: user.clone(),
            });
            state.users.insert(openid.clone(), user);
        }
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

    /// The mini-program's or the official account's credentials, checked.
    fn check_any_app(&self, appid: &str, secret: &str) -> Option<HttpResponse> {
        match &self.config.official_account {
            Some(account) if account.app_id == appid => {
                (secret != account.app_secret).then(|| wx_error(40125, "invalid appsecret"))
            }
            _ => self.check_app(appid, secret),
        }
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
        if let Some(refused) = self.check_any_app(&body.appid, &body.secret) {
            return refused;
        }
        let now = self.clock.now();
        let mut state = self.state();
        let live = state
            .tokens
            .get(&body.appid)
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
        state.tokens.insert(body.appid.clone(), token);
        state.tokens_issued += 1;
        HttpResponse::Ok().json(answer)
    }

    /// Whether `token` is the live access token (for sandbox APIs that take one).
    pub fn token_is_valid(&self, token: &str) -> bool {
        let now = self.clock.now();
        self.state()
            .tokens
            .get(&self.config.app_id)
            .is_some_and(|t| t.value == token && t.expires_at > now)
    }

    /// Plays the user answering `wx.requestSubscribeMessage` for up to three templates:
    /// each "accept" allows one message. Answers as the mini-program API does, one result per
    /// template id (`accept`, `reject`, or `filter` for a template the app does not own).
    pub fn subscribe(
        &self,
        openid: &str,
        template_ids: &[String],
        accept: bool,
    ) -> Result<BTreeMap<String, &'static str>, &'static str> {
        if template_ids.is_empty() || template_ids.len() > 3 {
            return Err("requestSubscribeMessage:fail take one to three template ids");
        }
        let mut state = self.state();
        if !state.users.contains_key(openid) {
            return Err("requestSubscribeMessage:fail unknown user");
        }
        let mut results = BTreeMap::new();
        for id in template_ids {
            let owned = self.config.templates.iter().any(|t| &t.id == id);
            let result = match (owned, accept) {
                (false, _) => "filter",
                (true, false) => "reject",
                (true, true) => {
                    let subscription = (openid.to_owned(), id.clone());
                    *state.acceptances.entry(subscription.clone()).or_default() += 1;
                    state.remember_acceptances(&subscription);
                    "accept"
                }
            };
            results.insert(id.clone(), result);
        }
        Ok(results)
    }

    /// The messages delivered to `touser` (everyone's when `None`), oldest first.
    pub fn messages(&self, touser: Option<&str>) -> Vec<ReceivedMessage> {
        self.state()
            .messages
            .iter()
            .filter(|m| touser.is_none_or(|t| t == m.touser))
            .cloned()
            .collect()
    }

    fn send_subscribe_message(&self, access_token: &str, body: &Value) -> HttpResponse {
        let now = self.clock.now();
        let mut state = self.state();
        match state.tokens.get(&self.config.app_id) {
            Some(token) if token.value == access_token && token.expires_at > now => {}
            Some(token) if token.value == access_token => {
                return wx_error(42001, "access_token expired");
            }
            _ => return wx_error(40001, "invalid credential, access_token is invalid"),
        }
        let text = |field: &str| body.get(field).and_then(Value::as_str);
        let Some(touser) = text("touser").filter(|o| state.users.contains_key(*o)) else {
            return wx_error(40003, "invalid openid");
        };
        let (template, data) = match template_and_data(&self.config.templates, body) {
            Ok(checked) => checked,
            Err((errcode, errmsg)) => return wx_error(errcode, &errmsg),
        };
        if let Some(missing) = template.keys.iter().find(|k| !data.contains_key(*k)) {
            return wx_error(47003, &format!("argument invalid! data.{missing} missing"));
        }
        let state_value = text("miniprogram_state");
        if state_value.is_some_and(|s| !matches!(s, "developer" | "trial" | "formal")) {
            return wx_error(47003, "argument invalid! miniprogram_state invalid");
        }
        let subscription = (touser.to_owned(), template.id.clone());
        match state.acceptances.get_mut(&subscription) {
            Some(left) if *left > 0 => *left -= 1,
            _ => return wx_error(43101, "user refuse to accept the msg"),
        }
        state.remember_acceptances(&subscription);
        let msgid = state.messages.len() as u64 + 1_000_000;
        state.messages.push(ReceivedMessage {
            msgid,
            touser: touser.to_owned(),
            template_id: template.id.clone(),
            page: text("page").map(str::to_owned),
            data: Value::Object(data.clone()),
            miniprogram_state: state_value.map(str::to_owned),
            lang: text("lang").map(str::to_owned),
            received_at: now,
        });
        HttpResponse::Ok().json(json!({ "errcode": 0, "errmsg": "ok", "msgid": msgid }))
    }

    /// The official account's template messages delivered to `touser` (everyone's when
    /// `None`), oldest first.
    pub fn template_messages(&self, touser: Option<&str>) -> Vec<ReceivedTemplateMessage> {
        self.state()
            .template_messages
            .iter()
            .filter(|m| touser.is_none_or(|t| t == m.touser))
            .cloned()
            .collect()
    }

    /// How many template sends arrived, delivered or not (a repeated `client_msg_id` counts
    /// here but not in [`Self::template_messages`]).
    pub fn template_sends(&self) -> u64 {
        self.state().template_sends
    }

    /// The next template sends answer these errcodes, one each, before anything is checked
    /// (`-1`: WeChat busy).
    pub fn fail_next_template_sends(&self, errcodes: &[i64]) {
        self.state().template_faults.extend_from_slice(errcodes);
    }

    fn send_template_message(&self, access_token: &str, body: &Value) -> HttpResponse {
        let Some(account) = self.config.official_account.as_ref() else {
            return wx_error(48001, "api unauthorized");
        };
        let now = self.clock.now();
        let mut state = self.state();
        state.template_sends += 1;
        match state.tokens.get(&account.app_id) {
            Some(token) if token.value == access_token && token.expires_at > now => {}
            Some(token) if token.value == access_token => {
                return wx_error(42001, "access_token expired");
            }
            _ if state
                .tokens
                .get(&self.config.app_id)
                .is_some_and(|t| t.value == access_token) =>
            {
                return wx_error(48001, "api unauthorized");
            }
            _ => return wx_error(40001, "invalid credential, access_token is invalid"),
        }
        if !state.template_faults.is_empty() {
            let errcode = state.template_faults.remove(0);
            return wx_error(errcode, "system error");
        }
        let text = |field: &str| body.get(field).and_then(Value::as_str);
        let Some(touser) = text("touser").filter(|o| openid_shaped(o)) else {
            return wx_error(40003, "invalid openid");
        };
        let (template, data) = match template_and_data(&account.templates, body) {
            Ok(checked) => checked,
            Err((errcode, errmsg)) => return wx_error(errcode, &errmsg),
        };
        if touser.contains(UNFOLLOWED_MARKER) {
            return wx_error(43004, "require subscribe");
        }
        let client_msg_id = text("client_msg_id").map(str::to_owned);
        if let Some(id) = &client_msg_id {
            let key = (touser.to_owned(), id.clone());
            if let Some((msgid, first)) = state.client_msg_ids.get(&key)
                && now.since(*first) <= CLIENT_MSG_ID_WINDOW
            {
                let msgid = *msgid;
                return HttpResponse::Ok()
                    .json(json!({ "errcode": 0, "errmsg": "ok", "msgid": msgid }));
            }
        }
        let msgid = state.template_messages.len() as u64 + 2_000_000;
        if let Some(id) = &client_msg_id {
            state
                .client_msg_ids
                .insert((touser.to_owned(), id.clone()), (msgid, now));
        }
        state.template_messages.push(ReceivedTemplateMessage {
            msgid,
            touser: touser.to_owned(),
            template_id: template.id.clone(),
            url: text("url").map(str::to_owned),
            client_msg_id,
            data: Value::Object(data.clone()),
            received_at: now,
        });
        HttpResponse::Ok().json(json!({ "errcode": 0, "errmsg": "ok", "msgid": msgid }))
    }

    /// Registers the routes on a scope mounted at `/sandbox/wechat`.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(web::Data::new(self.clone()))
            .route("/sns/jscode2session", web::get().to(code_to_session))
            .route("/cgi-bin/stable_token", web::post().to(stable_token))
            .route("/codes", web::post().to(issue_code))
            .route(
                "/cgi-bin/message/subscribe/send",
                web::post().to(send_subscribe_message),
            )
            .route(
                "/cgi-bin/message/template/send",
                web::post().to(send_template_message),
            )
            .route("/oa/messages", web::get().to(list_template_messages))
            .route("/subscriptions", web::post().to(subscribe))
            .route("/messages", web::get().to(list_messages))
            .route("/templates", web::get().to(list_templates));
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
    let openid = request.openid.filter(|o| openid_shaped(o));
    let (code, openid) = sandbox.issue_code(openid.as_deref());
    HttpResponse::Ok().json(json!({ "code": code, "openid": openid }))
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    access_token: String,
}

/// A message body as WeChat takes it: a JSON object (anything else is refused with 47001).
fn message_body(body: &[u8]) -> Option<Value> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
}

async fn send_subscribe_message(
    sandbox: web::Data<MiniProgramSandbox>,
    query: web::Query<TokenQuery>,
    body: web::Bytes,
) -> HttpResponse {
    match message_body(&body) {
        Some(body) => sandbox.send_subscribe_message(&query.access_token, &body),
        None => wx_error(47001, "data format error"),
    }
}

async fn send_template_message(
    sandbox: web::Data<MiniProgramSandbox>,
    query: web::Query<TokenQuery>,
    body: web::Bytes,
) -> HttpResponse {
    match message_body(&body) {
        Some(body) => sandbox.send_template_message(&query.access_token, &body),
        None => wx_error(47001, "data format error"),
    }
}

/// 1–64 letters, digits, `_` or `-`, as openids are.
fn openid_shaped(openid: &str) -> bool {
    !openid.is_empty()
        && openid.len() <= 64
        && openid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Decision {
    Accept,
    Reject,
}

#[derive(Deserialize)]
struct SubscribeRequest {
    openid: String,
    template_ids: Vec<String>,
    decision: Option<Decision>,
}

async fn subscribe(
    sandbox: web::Data<MiniProgramSandbox>,
    body: web::Json<SubscribeRequest>,
) -> HttpResponse {
    let accept = !matches!(body.decision, Some(Decision::Reject));
    match sandbox.subscribe(&body.openid, &body.template_ids, accept) {
        Ok(results) => {
            let mut answer = json!({ "errMsg": "requestSubscribeMessage:ok" });
            for (id, result) in results {
                answer[id] = json!(result);
            }
            HttpResponse::Ok().json(answer)
        }
        Err(message) => HttpResponse::BadRequest().json(json!({ "errMsg": message })),
    }
}

#[derive(Deserialize)]
struct MessagesQuery {
    touser: Option<String>,
}

async fn list_messages(
    sandbox: web::Data<MiniProgramSandbox>,
    query: web::Query<MessagesQuery>,
) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "items": sandbox.messages(query.touser.as_deref()) }))
}

async fn list_template_messages(
    sandbox: web::Data<MiniProgramSandbox>,
    query: web::Query<MessagesQuery>,
) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "items": sandbox.template_messages(query.touser.as_deref()) }))
}

async fn list_templates(sandbox: web::Data<MiniProgramSandbox>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "items": sandbox.config.templates }))
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

    #[actix_web::test]
    async fn subscribe_messages_need_a_live_token_an_acceptance_and_valid_data() {
        let (sandbox, _) = sandbox();
        let (_, openid) = sandbox.issue_code(Some("o_bob"));
        let base = serve(sandbox.clone()).await;
        let client = reqwest::Client::new();
        let token = mini_program_token(&base).await;
        let send = |token: String, data: Value| {
            let (base, openid) = (base.clone(), openid.clone());
            async move { send_refund_message(&base, &token, &openid, data).await }
        };
        let data = refund_message_data();
        assert_eq!(send("stale".into(), data.clone()).await["errcode"], 40001);
        assert_eq!(send(token.clone(), data.clone()).await["errcode"], 43101);

        let accepted: Value = client
            .post(format!("{base}/subscriptions"))
            .json(&json!({"openid": "o_bob", "template_ids": ["sbx-refund-succeeded", "nope"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(accepted["sbx-refund-succeeded"], "accept");
        assert_eq!(accepted["nope"], "filter");

        let mut bad = data.clone();
        bad["thing4"]["value"] = json!("一二三四五六七八九十一二三四五六七八九十一");
        assert_eq!(send(token.clone(), bad).await["errcode"], 47003);
        let sent = send(token.clone(), data.clone()).await;
        assert_eq!(sent["errcode"], 0);
        assert!(sent["msgid"].is_u64());
        // One acceptance, one message.
        assert_eq!(send(token, data).await["errcode"], 43101);
        let inbox: Value = reqwest::get(format!("{base}/messages?touser=o_bob"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(inbox["items"].as_array().unwrap().len(), 1);
        assert_eq!(inbox["items"][0]["data"]["amount2"]["value"], "¥3.00");
    }

    #[actix_web::test]
    async fn template_messages_need_the_accounts_token_a_follower_and_are_sent_once_per_id() {
        let clock = ManualClock::new(Timestamp::parse("2026-01-01T00:00:00Z").unwrap());
        let sandbox = MiniProgramSandbox::new(
            MiniProgramSandboxConfig::new("wxsandboxapp", "sandbox-secret")
                .with_official_account("wxsandboxoa", "oa-secret"),
            Arc::new(clock.clone()),
        );
        let base = serve(sandbox.clone()).await;
        let client = reqwest::Client::new();
        let token_of = |appid: &'static str, secret: &'static str| {
            let client = client.clone();
            let base = base.clone();
            async move {
                let answer: Value = client
                    .post(format!("{base}/cgi-bin/stable_token"))
                    .json(&json!({"grant_type": "client_credential", "appid": appid, "secret": secret}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                answer["access_token"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            }
        };
        let oa_token = token_of("wxsandboxoa", "oa-secret").await;
        let mp_token = token_of("wxsandboxapp", "sandbox-secret").await;
        assert!(!oa_token.is_empty() && oa_token != mp_token);
        assert_eq!(token_of("wxsandboxoa", "wrong").await, "");
        let send = |token: String, body: Value| {
            let client = client.clone();
            let base = base.clone();
            async move {
                client
                    .post(format!(
                        "{base}/cgi-bin/message/template/send?access_token={token}"
                    ))
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .json::<Value>()
                    .await
                    .unwrap()
            }
        };
        let data = json!({"thing1": {"value": "订单挂起超时"},
            "character_string2": {"value": "T2026030100001"}, "time3": {"value": "2026-03-01 16:00"}});
        let message = |touser: &str, id: &str| {
            json!({"touser": touser, "template_id": STAFF_ALERT_TEMPLATE, "client_msg_id": id,
                "data": data})
        };
        assert_eq!(
            send(mp_token, message("o_staff", "a1")).await["errcode"],
            48001
        );
        assert_eq!(
            send("stale".into(), message("o_staff", "a1")).await["errcode"],
            40001
        );
        assert_eq!(
            send(oa_token.clone(), message("bad openid", "a1")).await["errcode"],
            40003
        );
        let mut wrong_template = message("o_staff", "a1");
        wrong_template["template_id"] = json!("nope");
        assert_eq!(
            send(oa_token.clone(), wrong_template).await["errcode"],
            40037
        );
        assert_eq!(
            send(oa_token.clone(), message("o_unfollowed_1", "a1")).await["errcode"],
            43004
        );
        sandbox.fail_next_template_sends(&[-1]);
        assert_eq!(
            send(oa_token.clone(), message("o_staff", "a1")).await["errcode"],
            -1
        );
        let first = send(oa_token.clone(), message("o_staff", "a1")).await;
        assert_eq!(first["errcode"], 0);
        // The same id again: the same msgid, nothing delivered twice.
        let again = send(oa_token.clone(), message("o_staff", "a1")).await;
        assert_eq!(again["msgid"], first["msgid"]);
        assert_eq!(sandbox.template_messages(Some("o_staff")).len(), 1);
        send(oa_token.clone(), message("o_staff", "a2")).await;
        assert_eq!(sandbox.template_messages(Some("o_staff")).len(), 2);
        let inbox: Value = reqwest::get(format!("{base}/oa/messages?touser=o_staff"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            inbox["items"][0]["data"]["character_string2"]["value"],
            "T2026030100001"
        );
        assert_eq!(sandbox.template_sends(), 9);
    }

    /// A fresh access token of the mini-program.
    async fn mini_program_token(base: &str) -> String {
        let token: Value = reqwest::Client::new()
            .post(format!("{base}/cgi-bin/stable_token"))
            .json(
                &json!({"grant_type": "client_credential", "appid": "wxsandboxapp",
                "secret": "sandbox-secret"}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        token["access_token"].as_str().unwrap().to_owned()
    }

    fn refund_message_data() -> Value {
        json!({"character_string1": {"value": "01HX"}, "amount2": {"value": "¥3.00"},
            "time3": {"value": "2026-01-01 08:00"}, "thing4": {"value": "充值失败"}})
    }

    /// Sends the refund template to `openid`: WeChat's answer.
    async fn send_refund_message(base: &str, token: &str, openid: &str, data: Value) -> Value {
        reqwest::Client::new()
            .post(format!(
                "{base}/cgi-bin/message/subscribe/send?access_token={token}"
            ))
            .json(
                &json!({"touser": openid, "template_id": "sbx-refund-succeeded",
                "page": "pages/orders/detail?id=1", "data": data}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A sandbox started on the journal a killed one left knows its users (their session
    /// keys unchanged) and the acceptances they have not spent.
    #[actix_web::test]
    async fn users_and_unspent_acceptances_outlive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("wechat.jsonl");
        let (first, clock) = sandbox();
        assert_eq!(first.remember_in(&journal).unwrap(), Some(0));
        let (code, _) = first.issue_code(Some("o_bob"));
        let (_, stranger) = first.issue_code(None);
        let template = ["sbx-refund-succeeded".to_owned()];
        first.subscribe("o_bob", &template, true).unwrap();
        first.subscribe("o_bob", &template, true).unwrap();
        let base = serve(first.clone()).await;
        let session = exchange(&base, &code).await;
        let send = |base: String| async move {
            let token = mini_program_token(&base).await;
            send_refund_message(&base, &token, "o_bob", refund_message_data()).await["errcode"]
                .clone()
        };
        assert_eq!(send(base.clone()).await, 0);

        let left = dir.path().join("left.jsonl");
        std::fs::copy(&journal, &left).unwrap();
        let second = MiniProgramSandbox::new(
            MiniProgramSandboxConfig::new("wxsandboxapp", "sandbox-secret"),
            Arc::new(clock),
        );
        assert_eq!(second.remember_in(&left).unwrap(), Some(2));
        let base = serve(second.clone()).await;
        let (code, _) = second.issue_code(Some("o_bob"));
        let again = exchange(&base, &code).await;
        assert_eq!(again["session_key"], session["session_key"]);
        assert_eq!(again["unionid"], session["unionid"]);
        assert!(second.subscribe(&stranger, &template, false).is_ok());
        assert_eq!(send(base.clone()).await, 0);
        assert_eq!(send(base).await, 43101);
    }
}
