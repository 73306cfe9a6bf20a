//! WeChat mini-program server APIs (`docs/protocols.md#mini-program`): exchanging a `wx.login()`
//! code for the user's openid, the app's access token (cached and refreshed early), and
//! subscribe messages (`docs/protocols.md#subscribe-messages`).
//!
//! An official account (公众号) lives on the same host and gets its access token the same way,
//! so the same client, given the official account's AppID and AppSecret, sends its template
//! messages ([`OfficialAccountClient`], `docs/protocols.md#template-messages`).

use std::time::Duration;

use chrono::TimeDelta;
use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use thiserror::Error;
use tokio::sync::Mutex;
use topup_core::{Secret, SharedClock, Timestamp};

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum WechatError {
    /// 40029: the code is unknown or expired.
    #[error("invalid or expired login code")]
    InvalidCode,
    /// 40163: the code was already exchanged.
    #[error("login code already used")]
    CodeUsed,
    /// 45011: WeChat's per-user rate limit.
    #[error("rate limited by WeChat")]
    RateLimited,
    /// 40226: WeChat flags the user as high-risk.
    #[error("WeChat refused a high-risk user")]
    HighRiskUser,
    /// -1: WeChat is busy; retry later.
    #[error("WeChat is busy")]
    Busy,
    /// 40013/40125/40164…: our app id, secret or server IP is not accepted.
    #[error("WeChat refused our app credentials (errcode {0})")]
    Credentials(i64),
    /// 40001/42001: the access token is invalid or expired.
    #[error("access token rejected (errcode {0})")]
    TokenRejected(i64),
    /// 43101: the user has not accepted (or has spent) a subscription to this template.
    #[error("the user has no subscription to this template")]
    NotSubscribed,
    /// 43004: the recipient does not follow the official account (template messages).
    #[error("the recipient does not follow the official account")]
    NotFollowing,
    #[error("WeChat error {errcode}: {errmsg}")]
    Api { errcode: i64, errmsg: String },
    #[error("WeChat did not answer in time")]
    Timeout,
    /// The connection was never made: the request did not reach WeChat.
    #[error("could not connect to WeChat: {0}")]
    Unreachable(String),
    /// The request may have reached WeChat; what became of it is unknown.
    #[error("could not reach WeChat: {0}")]
    Transport(String),
    #[error("unexpected answer from WeChat: {0}")]
    Decode(String),
}

impl WechatError {
    fn from_errcode(errcode: i64, errmsg: String) -> Self {
        match errcode {
            40029 => WechatError::InvalidCode,
            40163 => WechatError::CodeUsed,
            45011 => WechatError::RateLimited,
            40226 => WechatError::HighRiskUser,
            -1 => WechatError::Busy,
            40013 | 40125 | 40164 | 41002 | 41004 => WechatError::Credentials(errcode),
            40001 | 42001 => WechatError::TokenRejected(errcode),
            43101 => WechatError::NotSubscribed,
            43004 => WechatError::NotFollowing,
            _ => WechatError::Api { errcode, errmsg },
        }
    }

    fn from_transport(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            WechatError::Timeout
        } else if error.is_connect() {
            WechatError::Unreachable(error.without_url().to_string())
        } else {
            // Without the URL: the login URL carries the app secret in its query.
            WechatError::Transport(error.without_url().to_string())
        }
    }
}

#[derive(Debug, Clone)]
pub struct MiniProgramConfig {
    pub app_id: String,
    pub app_secret: Secret<String>,
    /// `https://api.weixin.qq.com`, or the sandbox's `/sandbox/wechat`.
    pub base_url: String,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Refresh the access token this long before it expires.
    pub token_refresh_margin: TimeDelta,
}

impl MiniProgramConfig {
    pub fn new(
        app_id: impl Into<String>,
        app_secret: Secret<String>,
        base_url: impl Into<String>,
    ) -> Self {
        MiniProgramConfig {
            app_id: app_id.into(),
            app_secret,
            base_url: base_url.into(),
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(10),
            token_refresh_margin: TimeDelta::minutes(5),
        }
    }
}

/// What code2session answers. The session key decrypts user data the client sends; it never
/// leaves the server.
#[derive(Debug, Clone)]
pub struct WxSession {
    pub openid: String,
    pub unionid: Option<String>,
    pub session_key: Secret<String>,
}

#[derive(Deserialize)]
struct RawSession {
    openid: Option<String>,
    unionid: Option<String>,
    session_key: Option<String>,
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

#[derive(Deserialize)]
struct RawToken {
    access_token: Option<String>,
    expires_in: Option<i64>,
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

/// A subscribe message (`POST /cgi-bin/message/subscribe/send`): `data` maps each template
/// key (`thing1`, `amount2`…) to its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscribeMessage {
    pub touser: String,
    pub template_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    pub data: BTreeMap<String, String>,
    /// `developer`, `trial` or `formal`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub miniprogram_state: Option<String>,
    /// `zh_CN`, `en_US`, `zh_HK` or `zh_TW`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

impl SubscribeMessage {
    /// The body WeChat takes: each value wrapped as `{"value": …}`.
    fn body(&self) -> serde_json::Value {
        let mut body = json!({
            "touser": self.touser,
            "template_id": self.template_id,
            "data": wrap_values(&self.data),
        });
        for (field, value) in [
            ("page", &self.page),
            ("miniprogram_state", &self.miniprogram_state),
            ("lang", &self.lang),
        ] {
            if let Some(value) = value {
                body[field] = json!(value);
            }
        }
        body
    }
}

/// An official account's template message (`POST /cgi-bin/message/template/send`): `data`
/// maps each template key (`thing1`, `character_string2`…) to its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateMessage {
    pub touser: String,
    pub template_id: String,
    /// Where tapping the message leads (none: it leads nowhere).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// WeChat's duplicate guard: one message per openid and id (within about ten minutes),
    /// however often it is sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<String>,
    pub data: BTreeMap<String, String>,
}

impl TemplateMessage {
    /// The body WeChat takes: each value wrapped as `{"value": …}`.
    fn body(&self) -> serde_json::Value {
        let mut body = json!({
            "touser": self.touser,
            "template_id": self.template_id,
            "data": wrap_values(&self.data),
        });
        for (field, value) in [("url", &self.url), ("client_msg_id", &self.client_msg_id)] {
            if let Some(value) = value {
                body[field] = json!(value);
            }
        }
        body
    }
}

/// `{key: value}` as WeChat's `{key: {"value": value}}`.
fn wrap_values(data: &BTreeMap<String, String>) -> serde_json::Value {
    serde_json::Value::Object(
        data.iter()
            .map(|(key, value)| (key.clone(), json!({ "value": value })))
            .collect(),
    )
}

#[derive(Deserialize)]
struct RawSendAnswer {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    msgid: Option<u64>,
}

struct CachedToken {
    /// The AppID it was issued to: a token of the previous credentials is not reused.
    app_id: String,
    value: Secret<String>,
    refresh_at: Timestamp,
}

/// A client of WeChat's server APIs for one app: the mini-program's, or an official account's.
pub struct MiniProgramClient {
    http: reqwest::Client,
    config: MiniProgramConfig,
    /// The AppID and AppSecret in use: the configuration's, until staff set others while
    /// serving ([`Self::set_credentials`]).
    credentials: std::sync::RwLock<(String, Secret<String>)>,
    clock: SharedClock,
    token: Mutex<Option<CachedToken>>,
}

/// The official account's client: the same token handling, another AppID and AppSecret. An
/// empty AppID means no official account is set up ([`MiniProgramClient::is_configured`]).
pub type OfficialAccountClient = MiniProgramClient;

impl MiniProgramClient {
    pub fn new(config: MiniProgramConfig, clock: SharedClock) -> Result<Self, WechatError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(concat!("topup/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(WechatError::from_transport)?;
        Ok(MiniProgramClient {
            http,
            credentials: std::sync::RwLock::new((config.app_id.clone(), config.app_secret.clone())),
            config,
            clock,
            token: Mutex::new(None),
        })
    }

    pub fn app_id(&self) -> String {
        self.credentials().0
    }

    /// Whether an AppID is set (an official account may be left unset: alerts are off).
    pub fn is_configured(&self) -> bool {
        !self.credentials().0.trim().is_empty()
    }

    fn credentials(&self) -> (String, Secret<String>) {
        self.credentials
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Uses another AppID and AppSecret from the next call on (a cached access token of
    /// another AppID is not reused).
    pub fn set_credentials(&self, app_id: String, app_secret: Secret<String>) {
        let mut credentials = self
            .credentials
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if credentials.0 == app_id && credentials.1.expose() == app_secret.expose() {
            return;
        }
        *credentials = (app_id, app_secret);
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    async fn decode<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, WechatError> {
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(WechatError::from_transport)?;
        if !status.is_success() {
            return Err(WechatError::Decode(format!("HTTP {status}")));
        }
        serde_json::from_slice(&bytes).map_err(|e| WechatError::Decode(e.to_string()))
    }

    /// Exchanges a `wx.login()` code for the user's identity (`jscode2session`).
    #[tracing::instrument(skip_all)]
    pub async fn code_to_session(&self, code: &str) -> Result<WxSession, WechatError> {
        let (app_id, app_secret) = self.credentials();
        let response = self
            .http
            .get(self.url("/sns/jscode2session"))
            .query(&[
                ("appid", app_id.as_str()),
                ("secret", app_secret.expose().as_str()),
                ("js_code", code),
                ("grant_type", "authorization_code"),
            ])
            .send()
            .await
            .map_err(WechatError::from_transport)?;
        let raw: RawSession = Self::decode(response).await?;
        if raw.errcode != 0 {
            return Err(WechatError::from_errcode(raw.errcode, raw.errmsg));
        }
        match (raw.openid, raw.session_key) {
            (Some(openid), Some(session_key)) if !openid.is_empty() => Ok(WxSession {
                openid,
                unionid: raw.unionid.filter(|u| !u.is_empty()),
                session_key: Secret::new(session_key),
            }),
            _ => Err(WechatError::Decode(
                "no openid in code2session answer".into(),
            )),
        }
    }

    /// The app's access token: cached, refreshed `token_refresh_margin` before expiry.
    pub async fn access_token(&self) -> Result<Secret<String>, WechatError> {
        let mut cached = self.token.lock().await;
        let now = self.clock.now();
        let app_id = self.app_id();
        if let Some(token) = cached
            .as_ref()
            .filter(|t| now < t.refresh_at && t.app_id == app_id)
        {
            return Ok(token.value.clone());
        }
        let fresh = self.fetch_token(false).await?;
        let value = fresh.value.clone();
        *cached = Some(fresh);
        Ok(value)
    }

    /// A new token after WeChat rejected `rejected` (40001/42001). When another caller has
    /// already replaced it, that one is answered; otherwise WeChat is asked for its current
    /// token (another process may have refreshed it), and forced only if that is the same.
    pub async fn refresh_access_token(
        &self,
        rejected: &Secret<String>,
    ) -> Result<Secret<String>, WechatError> {
        let mut cached = self.token.lock().await;
        let app_id = self.app_id();
        if let Some(token) = cached
            .as_ref()
            .filter(|t| t.value.expose() != rejected.expose() && t.app_id == app_id)
        {
            return Ok(token.value.clone());
        }
        let mut fresh = self.fetch_token(false).await?;
        if fresh.value.expose() == rejected.expose() {
            fresh = self.fetch_token(true).await?;
        }
        let value = fresh.value.clone();
        *cached = Some(fresh);
        Ok(value)
    }

    /// Sends a subscribe message; answers WeChat's `msgid`. A rejected access token is
    /// refreshed once and the message sent again with the new one.
    #[tracing::instrument(skip_all, fields(template_id = %message.template_id))]
    pub async fn send_subscribe_message(
        &self,
        message: &SubscribeMessage,
    ) -> Result<u64, WechatError> {
        self.post_message("/cgi-bin/message/subscribe/send", &message.body())
            .await
    }

    /// Sends an official account's template message; answers WeChat's `msgid`. A rejected
    /// access token is refreshed once and the message sent again with the new one (the
    /// same `client_msg_id`, so WeChat delivers it once).
    #[tracing::instrument(skip_all, fields(template_id = %message.template_id))]
    pub async fn send_template_message(
        &self,
        message: &TemplateMessage,
    ) -> Result<u64, WechatError> {
        if !self.is_configured() {
            return Err(WechatError::Credentials(41002));
        }
        self.post_message("/cgi-bin/message/template/send", &message.body())
            .await
    }

    /// Posts a message body to `path` with the access token; WeChat's `msgid` or its error.
    async fn post_message(&self, path: &str, body: &serde_json::Value) -> Result<u64, WechatError> {
        let mut token = self.access_token().await?;
        for attempt in 0..2 {
            let response = self
                .http
                .post(self.url(path))
                .query(&[("access_token", token.expose().as_str())])
                .json(body)
                .send()
                .await
                .map_err(WechatError::from_transport)?;
            let raw: RawSendAnswer = Self::decode(response).await?;
            match WechatError::from_errcode(raw.errcode, raw.errmsg) {
                _ if raw.errcode == 0 => return Ok(raw.msgid.unwrap_or_default()),
                WechatError::TokenRejected(_) if attempt == 0 => {
                    token = self.refresh_access_token(&token).await?;
                }
                other => return Err(other),
            }
        }
        Err(WechatError::TokenRejected(40001))
    }

    async fn fetch_token(&self, force_refresh: bool) -> Result<CachedToken, WechatError> {
        let (app_id, app_secret) = self.credentials();
        let response = self
            .http
            .post(self.url("/cgi-bin/stable_token"))
            .json(&json!({
                "grant_type": "client_credential",
                "appid": app_id,
                "secret": app_secret.expose(),
                "force_refresh": force_refresh,
            }))
            .send()
            .await
            .map_err(WechatError::from_transport)?;
        let raw: RawToken = Self::decode(response).await?;
        if raw.errcode != 0 {
            return Err(WechatError::from_errcode(raw.errcode, raw.errmsg));
        }
        let (Some(value), Some(expires_in)) = (raw.access_token, raw.expires_in) else {
            return Err(WechatError::Decode("no access_token in answer".into()));
        };
        let lifetime = TimeDelta::seconds(expires_in.clamp(0, 7200));
        // Never cache past half the lifetime, so a short-lived token is not used stale.
        let early = self.config.token_refresh_margin.min(lifetime / 2);
        Ok(CachedToken {
            app_id,
            value: Secret::new(value),
            refresh_at: self.clock.now().plus(lifetime - early),
        })
    }
}
