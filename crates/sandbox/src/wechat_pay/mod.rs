//! A WeChat Pay APIv3 stand-in that speaks the protocol as WeChat does
//! (`docs/protocols.md#wechat-pay`): it checks our request signatures with the merchant public key,
//! signs its answers with its own platform key, tracks orders and refunds, and delivers encrypted,
//! signed notifications on WeChat's retry schedule, duplicates included.
//!
//! Mount [`WechatPaySandbox::scope`] in the actix `App` (it lives under [`MOUNT_PATH`]) and
//! point the merchant client's `base_url` at `http://<host>:<port>/sandbox/wechat/pay`.
//! `POST {MOUNT_PATH}/confirm {"prepay_id": "…"}` plays the user paying;
//! `GET {MOUNT_PATH}/cashier?prepay_id=…` is a page with a "Pay" button that does the same;
//! `GET {MOUNT_PATH}/notifications/{out_trade_no}/replay` hands out a paid order's
//! notification freshly signed, for load tests that replay WeChat's duplicates.
//!
//! Wiring (embedded default): `SandboxKeySet::load_or_generate(data_dir)` once, then
//! - sandbox: `WechatPaySandbox::new(keys.sandbox_config(mchid, appid), clock)`;
//! - client (`topup_payment::WechatPayConfig`): same `mchid`, `appid`, `apiv3_key`;
//!   `merchant_private_key` = `keys.merchant_private_key_pem`, `merchant_serial_no` =
//!   `keys.merchant_serial_no`, `wechatpay_public_key` = `keys.platform_public_key_pem`,
//!   `wechatpay_public_key_id` = `keys.platform_public_key_id`, `base_url` =
//!   `http://127.0.0.1:<port>/sandbox/wechat/pay`; notify URLs may be `http://127.0.0.1…`.
//!
//! Time comes from the injected clock: notifications are due on that clock and
//! [`WechatPaySandbox::deliver_due`] sends what is due (tests call it after moving a
//! `ManualClock`; [`WechatPaySandbox::spawn_delivery_loop`] calls it on real time).

mod api;
mod config;
mod crypto;
mod delivery;
mod error;
mod keys;
mod service;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::TimeDelta;
use serde::Deserialize;
use topup_core::{SharedClock, Timestamp};

pub use config::{PlatformMode, WechatPaySandboxConfig};
pub use delivery::DeliveryReport;
pub use error::WechatPaySandboxError;
pub use keys::SandboxKeySet;

use api::{Answer, ApiError};
use crypto::{Sealer, Signer, Verifier, parse_private_key};
use keys::PlatformCertificate;
use service::State;

/// Where the server mounts the sandbox; the client's base URL is this path on the server.
pub const MOUNT_PATH: &str = "/sandbox/wechat/pay";

/// The in-memory WeChat Pay sandbox. Cheap to clone (shared state).
#[derive(Clone)]
pub struct WechatPaySandbox {
    inner: Arc<Inner>,
}

struct CertificateKey {
    /// Kept to issue a new certificate on rotation.
    key: rsa::RsaPrivateKey,
    signer: Arc<Signer>,
    /// Oldest first; the newest signs. All are listed, as WeChat does during a rotation.
    issued: RwLock<Vec<Arc<PlatformCertificate>>>,
}

impl CertificateKey {
    fn newest(&self) -> Option<Arc<PlatformCertificate>> {
        self.issued
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .last()
            .cloned()
    }

    fn all(&self) -> Vec<Arc<PlatformCertificate>> {
        self.issued
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

pub(crate) struct Inner {
    mchid: String,
    appid: String,
    merchant_serial_no: String,
    merchant_verifier: Verifier,
    sealer: Sealer,
    public_key_signer: Arc<Signer>,
    public_key_id: String,
    public_key_pem: String,
    certificate: Option<CertificateKey>,
    sign_with: Mutex<PlatformMode>,
    refund_delay: TimeDelta,
    duplicate_percent: AtomicU8,
    always_duplicate: AtomicBool,
    allow_loopback_http_notify: bool,
    failures_to_inject: AtomicU32,
    request_counter: AtomicU64,
    clock: SharedClock,
    notifier: reqwest::Client,
    /// Wakes the delivery loop when a payment is confirmed: WeChat notifies within moments of
    /// the payment, not at the loop's next tick.
    pub(crate) delivery_due: tokio::sync::Notify,
    state: Mutex<State>,
}

/// One API request as the sandbox received it (for tests that check retries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub path_and_query: String,
    pub body: String,
    pub user_agent: Option<String>,
    /// The `Wechatpay-Serial` request header (sent by clients in public-key mode).
    pub wechatpay_serial: Option<String>,
}

impl WechatPaySandbox {
    pub fn new(
        config: WechatPaySandboxConfig,
        clock: SharedClock,
    ) -> Result<Self, WechatPaySandboxError> {
        let platform_key = parse_private_key(config.platform_private_key_pem.expose())?;
        let public_key_pem = {
            use rsa::pkcs8::{EncodePublicKey, LineEnding};
            rsa::RsaPublicKey::from(&platform_key)
                .to_public_key_pem(LineEnding::LF)
                .map_err(|e| WechatPaySandboxError::Key(e.to_string()))?
        };
        if !config.platform_public_key_id.starts_with("PUB_KEY_ID_") {
            return Err(WechatPaySandboxError::Config(
                "platform_public_key_id must start with PUB_KEY_ID_".into(),
            ));
        }
        let certificate = match &config.certificate_private_key_pem {
            Some(pem) => {
                let key = parse_private_key(pem.expose())?;
                let certificate = keys::self_signed_certificate(&key, clock.now())?;
                Some(CertificateKey {
                    signer: Arc::new(Signer::new(&key)?),
                    issued: RwLock::new(vec![Arc::new(certificate)]),
                    key,
                })
            }
            None => None,
        };
        if config.sign_with == PlatformMode::Certificate && certificate.is_none() {
            return Err(WechatPaySandboxError::Config(
                "sign_with = certificate needs certificate_private_key_pem".into(),
            ));
        }
        let notifier = reqwest::Client::builder()
            // WeChat gives a notify URL five seconds to answer.
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("Mozilla/4.0 (WechatPay sandbox notifier)")
            .build()
            .map_err(|e| WechatPaySandboxError::Config(format!("notifier: {e}")))?;
        Ok(WechatPaySandbox {
            inner: Arc::new(Inner {
                mchid: config.mchid,
                appid: config.appid,
                merchant_serial_no: config.merchant_serial_no,
                merchant_verifier: Verifier::from_public_pem(&config.merchant_public_key_pem)?,
                sealer: Sealer::new(config.apiv3_key.expose())?,
                public_key_signer: Arc::new(Signer::new(&platform_key)?),
                public_key_id: config.platform_public_key_id,
                public_key_pem,
                certificate,
                sign_with: Mutex::new(config.sign_with),
                refund_delay: TimeDelta::seconds(
                    i64::try_from(config.refund_delay_secs).unwrap_or(i64::MAX),
                ),
                duplicate_percent: AtomicU8::new(config.duplicate_percent.min(100)),
                always_duplicate: AtomicBool::new(false),
                allow_loopback_http_notify: config.allow_loopback_http_notify,
                failures_to_inject: AtomicU32::new(0),
                request_counter: AtomicU64::new(0),
                clock,
                notifier,
                delivery_due: tokio::sync::Notify::new(),
                state: Mutex::new(State::default()),
            }),
        })
    }

    /// The routes, under [`MOUNT_PATH`]: `App::new().service(sandbox.scope())`.
    pub fn scope(&self) -> actix_web::Scope {
        web::scope(MOUNT_PATH)
            .app_data(web::Data::new(self.clone()))
            .route("/v3/pay/transactions/jsapi", web::post().to(jsapi))
            .route(
                "/v3/pay/transactions/out-trade-no/{out_trade_no}",
                web::get().to(query_transaction),
            )
            .route(
                "/v3/pay/transactions/out-trade-no/{out_trade_no}/close",
                web::post().to(close_transaction),
            )
            .route("/v3/refund/domestic/refunds", web::post().to(create_refund))
            .route(
                "/v3/refund/domestic/refunds/{out_refund_no}",
                web::get().to(query_refund),
            )
            .route("/v3/certificates", web::get().to(certificates))
            .route("/confirm", web::post().to(confirm))
            .route(
                "/notifications/{out_trade_no}/replay",
                web::get().to(replay_notification),
            )
            .route("/cashier", web::get().to(cashier))
    }

    /// The WeChat Pay public key (SPKI PEM) for the client's `wechatpay_public_key`.
    pub fn platform_public_key_pem(&self) -> &str {
        &self.inner.public_key_pem
    }

    pub fn platform_public_key_id(&self) -> &str {
        &self.inner.public_key_id
    }

    /// The serial of the newest platform certificate (the one that signs in certificate mode).
    pub fn certificate_serial(&self) -> Option<String> {
        self.inner
            .certificate
            .as_ref()
            .and_then(CertificateKey::newest)
            .map(|c| c.serial.clone())
    }

    /// Issues a new platform certificate (new serial, same key), as WeChat does before an
    /// old one expires. Both stay listed; the new one signs from now on. Returns its serial.
    pub fn rotate_certificate(&self) -> Result<String, WechatPaySandboxError> {
        let key =
            self.inner.certificate.as_ref().ok_or_else(|| {
                WechatPaySandboxError::Config("no certificate key configured".into())
            })?;
        let certificate = keys::self_signed_certificate(&key.key, self.inner.clock.now())?;
        let serial = certificate.serial.clone();
        key.issued
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::new(certificate));
        Ok(serial)
    }

    /// Switches the key answers and notifications are signed with (a key migration).
    pub fn set_sign_with(&self, mode: PlatformMode) -> Result<(), WechatPaySandboxError> {
        if mode == PlatformMode::Certificate && self.inner.certificate.is_none() {
            return Err(WechatPaySandboxError::Config(
                "no certificate key configured".into(),
            ));
        }
        *lock(&self.inner.sign_with) = mode;
        Ok(())
    }

    /// Deliver every successfully delivered notification once more (deterministic duplicates).
    pub fn set_always_duplicate(&self, on: bool) {
        self.inner.always_duplicate.store(on, Ordering::SeqCst);
    }

    pub fn set_duplicate_percent(&self, percent: u8) {
        self.inner
            .duplicate_percent
            .store(percent.min(100), Ordering::SeqCst);
    }

    /// The next `count` authenticated API requests answer 500 SYSTEM_ERROR.
    pub fn fail_next_requests(&self, count: u32) {
        self.inner.failures_to_inject.store(count, Ordering::SeqCst);
    }

    /// Every authenticated API request received so far, oldest first (the last 1,000).
    pub fn recorded_requests(&self) -> Vec<RecordedRequest> {
        lock(&self.inner.state)
            .request_log
            .iter()
            .cloned()
            .collect()
    }

    /// The user pays: what `POST {MOUNT_PATH}/confirm` does. Returns the transaction as a
    /// query would show it.
    pub fn confirm_payment(
        &self,
        prepay_id: &str,
    ) -> Result<serde_json::Value, WechatPaySandboxError> {
        let now = self.inner.clock.now();
        self.inner
            .confirm(prepay_id, now)
            .map_err(|e| WechatPaySandboxError::Refused {
                code: e.code,
                message: e.message,
            })
    }

    /// The payment notification of a paid order as WeChat would send it again now (same
    /// envelope, fresh signature): what `GET {MOUNT_PATH}/notifications/{out_trade_no}/replay`
    /// answers. Load tests replay it as WeChat's duplicates.
    pub fn replay_payment_notification(
        &self,
        out_trade_no: &str,
    ) -> Result<SignedNotification, WechatPaySandboxError> {
        self.inner
            .replay_payment_notification(out_trade_no)
            .map_err(|e| WechatPaySandboxError::Refused {
                code: e.code,
                message: e.message,
            })
    }

    /// Takes up the orders, payments and refunds remembered in the journal at `path` and
    /// keeps writing them there, so that they outlive this process. Answers how many orders
    /// it took up, or `None` when another process holds the journal (and remembers).
    pub fn remember_in(&self, path: &Path) -> Result<Option<usize>, WechatPaySandboxError> {
        Ok(lock(&self.inner.state).remember_in(path)?)
    }

    /// Notifications not yet answered with success (nor given up on).
    pub fn pending_notifications(&self) -> usize {
        lock(&self.inner.state).pending_deliveries()
    }

    /// When the next notification attempt is due, if any is pending.
    pub fn next_delivery_at(&self) -> Option<Timestamp> {
        lock(&self.inner.state).next_delivery_at()
    }

    /// Settles refunds whose delay has passed and sends every notification due now.
    pub async fn deliver_due(&self) -> DeliveryReport {
        self.inner.deliver_due().await
    }

    /// Calls [`Self::deliver_due`] every `period` on real time, and at once after a payment is
    /// confirmed, until the task is aborted.
    pub fn spawn_delivery_loop(&self, period: Duration) -> tokio::task::JoinHandle<()> {
        let sandbox = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    () = sandbox.inner.delivery_due.notified() => {}
                }
                let report = sandbox.deliver_due().await;
                if report.attempted > 0 {
                    tracing::debug!(?report, "sandbox WeChat Pay notifications sent");
                }
            }
        })
    }
}

impl Inner {
    /// The key answers and notifications are signed with now, and its serial.
    fn current_signer(&self) -> (Arc<Signer>, String) {
        let mode = *lock(&self.sign_with);
        if let (PlatformMode::Certificate, Some(key)) = (mode, &self.certificate)
            && let Some(newest) = key.newest()
        {
            return (Arc::clone(&key.signer), newest.serial.clone());
        }
        (
            Arc::clone(&self.public_key_signer),
            self.public_key_id.clone(),
        )
    }

    fn is_platform_serial(&self, serial: &str) -> bool {
        serial == self.public_key_id
            || self.certificate.as_ref().is_some_and(|key| {
                key.all()
                    .iter()
                    .any(|c| c.serial.eq_ignore_ascii_case(serial))
            })
    }

    fn next_request_id(&self) -> String {
        let n = self.request_counter.fetch_add(1, Ordering::Relaxed);
        format!("08{:014X}", n)
    }

    /// Authenticates, records, maybe injects a failure, runs `operation`, signs the answer.
    fn api(
        &self,
        req: &HttpRequest,
        body: &[u8],
        operation: impl FnOnce(&Inner, Timestamp) -> Result<Answer, ApiError>,
    ) -> HttpResponse {
        let now = self.clock.now();
        if let Err(error) = self.authenticate(req, body, now) {
            return self.error_response(&error);
        }
        lock(&self.state).record_request(RecordedRequest {
            method: req.method().to_string(),
            path_and_query: req
                .uri()
                .path_and_query()
                .map(|pq| pq.to_string())
                .unwrap_or_default(),
            body: String::from_utf8_lossy(body).into_owned(),
            user_agent: header_text(req, "User-Agent"),
            wechatpay_serial: header_text(req, "Wechatpay-Serial"),
        });
        let inject = self
            .failures_to_inject
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if inject {
            return self.error_response(&ApiError::system_error());
        }
        match operation(self, now) {
            Ok(answer) => self.signed_response(answer.status, answer.body.as_ref()),
            Err(error) => self.error_response(&error),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn header_text(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

type Sandbox = web::Data<WechatPaySandbox>;

fn path_param(req: &HttpRequest, name: &str) -> String {
    req.match_info().get(name).unwrap_or_default().to_string()
}

async fn jsapi(sandbox: Sandbox, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    sandbox
        .inner
        .api(&req, &body, |inner, now| inner.prepay(&body, now))
}

async fn query_transaction(sandbox: Sandbox, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let out_trade_no = path_param(&req, "out_trade_no");
    let query = req.query_string().to_string();
    sandbox.inner.api(&req, &body, |inner, _| {
        inner.query_transaction(&out_trade_no, &query)
    })
}

async fn close_transaction(sandbox: Sandbox, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let out_trade_no = path_param(&req, "out_trade_no");
    sandbox
        .inner
        .api(&req, &body, |inner, _| inner.close(&out_trade_no, &body))
}

async fn create_refund(sandbox: Sandbox, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    sandbox
        .inner
        .api(&req, &body, |inner, now| inner.create_refund(&body, now))
}

async fn query_refund(sandbox: Sandbox, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let out_refund_no = path_param(&req, "out_refund_no");
    sandbox.inner.api(&req, &body, |inner, now| {
        inner.query_refund(&out_refund_no, now)
    })
}

async fn certificates(sandbox: Sandbox, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    sandbox
        .inner
        .api(&req, &body, |inner, _| inner.certificate_list())
}

#[derive(Deserialize)]
struct CashierQuery {
    prepay_id: String,
}

/// A page with the order and a "pay" button, for trying the purchase loop in a browser.
async fn cashier(sandbox: Sandbox, query: web::Query<CashierQuery>) -> HttpResponse {
    let (out_trade_no, description, fen, trade_state) =
        match sandbox.inner.cashier_view(&query.prepay_id) {
            Ok(view) => view,
            Err(error) => return HttpResponse::NotFound().json(error.body()),
        };
    let page = format!(
        r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>WeChat Pay sandbox cashier</title></head>
<body style="font-family:sans-serif;max-width:28rem;margin:3rem auto">
<h1>WeChat Pay sandbox</h1>
<p>{description}</p>
<p>Order <code>{out_trade_no}</code>: <strong>¥{yuan}.{cents:02}</strong> ({trade_state})</p>
<button id="pay">Pay</button> <span id="result"></span>
<script>
document.getElementById("pay").onclick = async () => {{
  const response = await fetch("confirm", {{method: "POST", headers: {{"Content-Type": "application/json"}},
    body: JSON.stringify({{prepay_id: {prepay_id_json}}})}});
  const body = await response.json();
  document.getElementById("result").textContent = response.ok ? body.trade_state : body.code;
}};
</script></body></html>"#,
        description = html_escape(&description),
        out_trade_no = html_escape(&out_trade_no),
        yuan = fen / 100,
        cents = fen % 100,
        // JSON string literal, with '<' escaped so it cannot close the script element.
        prepay_id_json = serde_json::Value::from(query.prepay_id.as_str())
            .to_string()
            .replace('<', "\\u003c"),
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page)
}

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// One notification ready to POST: where, with which headers, and the exact body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNotification {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Test support, like the cashier: unauthenticated, unsigned.
async fn replay_notification(sandbox: Sandbox, req: HttpRequest) -> HttpResponse {
    let out_trade_no = path_param(&req, "out_trade_no");
    match sandbox.inner.replay_payment_notification(&out_trade_no) {
        Ok(notification) => {
            let headers: serde_json::Map<String, serde_json::Value> = notification
                .headers
                .into_iter()
                .map(|(name, value)| (name, serde_json::Value::String(value)))
                .collect();
            HttpResponse::Ok().json(serde_json::json!({
                "url": notification.url,
                "headers": headers,
                "body": notification.body,
            }))
        }
        Err(error) => HttpResponse::build(
            actix_web::http::StatusCode::from_u16(error.status)
                .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST),
        )
        .json(error.body()),
    }
}

#[derive(Deserialize)]
struct ConfirmRequest {
    prepay_id: String,
}

/// The cashier: not a WeChat API, so it is neither authenticated nor signed.
async fn confirm(sandbox: Sandbox, request: web::Json<ConfirmRequest>) -> HttpResponse {
    let now = sandbox.inner.clock.now();
    match sandbox.inner.confirm(&request.prepay_id, now) {
        Ok(transaction) => HttpResponse::Ok().json(transaction),
        Err(error) => HttpResponse::build(
            actix_web::http::StatusCode::from_u16(error.status)
                .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST),
        )
        .json(error.body()),
    }
}
