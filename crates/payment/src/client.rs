//! The APIv3 HTTP client: every request signed (`docs/protocols.md#signing-requests`), every
//! response verified (`docs/protocols.md#verifying-responses-and-callbacks`).

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use chrono::{FixedOffset, TimeDelta};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use tokio::sync::Mutex as AsyncMutex;
use topup_core::{Currency, SharedClock, Timestamp};

use crate::PaymentError;
use crate::config::{HttpSettings, WechatPayConfig};
use crate::crypto::{
    ApiV3Key, MerchantSigner, SignatureVerifier, authorization_header, pay_sign_message,
    random_nonce, request_message,
};
use crate::model::{
    CloseBody, ErrorAnswer, JsapiOrder, JsapiPrepayBody, PrepayAnswer, Refund, RefundBody,
    RefundRequest, RequestPaymentParams, Transaction, WireAmount, WirePayer, WireRefundAmount,
};
use crate::notification::{VerifiedNotification, decrypt_notification};
use crate::platform::{
    CertificateList, PUBLIC_KEY_ID_PREFIX, PlatformKeys, WechatPayHeaders, decrypt_certificates,
};

/// Certificate downloads are never attempted more often than this, so forged callbacks with
/// made-up serials cannot turn us into a download loop.
const MIN_CERTIFICATE_REFRESH_GAP: TimeDelta = TimeDelta::seconds(60);

/// A WeChat Pay APIv3 client for one merchant at a time: staff may replace the merchant's
/// settings while it serves (`docs/settings.md`). Cheap to clone; clones share the merchant.
#[derive(Clone)]
pub struct WechatPayClient {
    merchant: Arc<RwLock<Option<Arc<Inner>>>>,
    clock: SharedClock,
}

impl std::fmt::Debug for WechatPayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let merchant = self.current();
        f.debug_struct("WechatPayClient")
            .field("mchid", &merchant.as_ref().map(|m| m.mchid.clone()))
            .field("base_url", &merchant.as_ref().map(|m| m.base_url.clone()))
            .finish_non_exhaustive()
    }
}

/// One merchant's settings and keys; every call runs on one of these throughout.
struct Inner {
    mchid: String,
    appid: String,
    merchant_serial_no: String,
    notify_url: String,
    refund_notify_url: String,
    base_url: String,
    public_key_id: Option<String>,
    certificate_mode: bool,
    settings: HttpSettings,
    signer: MerchantSigner,
    api_key: ApiV3Key,
    keys: PlatformKeys,
    http: reqwest::Client,
    clock: SharedClock,
    refresh: AsyncMutex<RefreshState>,
}

#[derive(Default)]
struct RefreshState {
    last_attempt: Option<Timestamp>,
    last_success: Option<Timestamp>,
}

/// A response as received, before its signature is checked.
struct RawResponse {
    status: u16,
    headers: Result<WechatPayHeaders, PaymentError>,
    body: Vec<u8>,
}

impl WechatPayClient {
    /// Loads and checks every key (APIv3 key length, PEM forms) so that a misconfiguration
    /// fails at start, not at the first payment.
    pub fn new(config: &WechatPayConfig, clock: SharedClock) -> Result<Self, PaymentError> {
        let merchant = Inner::build(config, clock.clone())?;
        Ok(WechatPayClient {
            merchant: Arc::new(RwLock::new(Some(Arc::new(merchant)))),
            clock,
        })
    }

    /// A client with no merchant yet: every call is refused with [`PaymentError::Config`]
    /// until [`WechatPayClient::reconfigure`] gives it one (staff set it in the settings).
    pub fn unconfigured(clock: SharedClock) -> Self {
        WechatPayClient {
            merchant: Arc::new(RwLock::new(None)),
            clock,
        }
    }

    /// Whether these settings would make a working client (keys parse, fields present),
    /// without changing anything.
    pub fn check(config: &WechatPayConfig, clock: SharedClock) -> Result<(), PaymentError> {
        Inner::build(config, clock).map(drop)
    }

    /// Puts another merchant's settings in force for every clone of this client. A call
    /// already under way finishes with the settings it started with.
    pub fn reconfigure(&self, config: &WechatPayConfig) -> Result<(), PaymentError> {
        let merchant = Arc::new(Inner::build(config, self.clock.clone())?);
        *self
            .merchant
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(merchant);
        Ok(())
    }

    fn current(&self) -> Option<Arc<Inner>> {
        self.merchant
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn merchant(&self) -> Result<Arc<Inner>, PaymentError> {
        self.current().ok_or_else(|| {
            PaymentError::Config(
                "no WeChat Pay merchant is configured (Settings → Payment, or [wechat_pay])".into(),
            )
        })
    }

    pub fn is_configured(&self) -> bool {
        self.current().is_some()
    }

    /// The merchant number in force (empty while none is configured).
    pub fn mchid(&self) -> String {
        self.current().map(|m| m.mchid.clone()).unwrap_or_default()
    }

    /// The app id payments are made in (empty while no merchant is configured).
    pub fn appid(&self) -> String {
        self.current().map(|m| m.appid.clone()).unwrap_or_default()
    }

    /// The serials (public-key id, certificate serials) responses are currently checked with.
    pub fn known_platform_serials(&self) -> Vec<String> {
        self.current().map(|m| m.keys.serials()).unwrap_or_default()
    }

    /// `POST /v3/pay/transactions/jsapi`: places the order and returns its `prepay_id`.
    pub async fn prepay_jsapi(&self, order: &JsapiOrder) -> Result<String, PaymentError> {
        self.merchant()?.prepay_jsapi(order).await
    }

    /// The parameters for `wx.requestPayment` (`docs/protocols.md#jsapi-and-paysign`), signed
    /// with the merchant key.
    pub fn request_payment_params(
        &self,
        prepay_id: &str,
    ) -> Result<RequestPaymentParams, PaymentError> {
        self.merchant()?.request_payment_params(prepay_id)
    }

    /// `GET /v3/pay/transactions/out-trade-no/{no}?mchid=…`.
    pub async fn query_by_out_trade_no(
        &self,
        out_trade_no: &str,
    ) -> Result<Transaction, PaymentError> {
        self.merchant()?.query_by_out_trade_no(out_trade_no).await
    }

    /// `POST /v3/pay/transactions/out-trade-no/{no}/close` (204 on success).
    pub async fn close(&self, out_trade_no: &str) -> Result<(), PaymentError> {
        self.merchant()?.close(out_trade_no).await
    }

    /// `POST /v3/refund/domestic/refunds`. A 200 only means accepted: watch `status`.
    pub async fn refund(&self, request: &RefundRequest) -> Result<Refund, PaymentError> {
        self.merchant()?.refund(request).await
    }

    /// `GET /v3/refund/domestic/refunds/{out_refund_no}`.
    pub async fn query_refund(&self, out_refund_no: &str) -> Result<Refund, PaymentError> {
        self.merchant()?.query_refund(out_refund_no).await
    }

    /// Verifies a callback and decrypts it (`docs/protocols.md#callbacks`). `raw_body` must be the
    /// bytes as received. On an unknown certificate serial, certificates are downloaded once.
    pub async fn verify_notification(
        &self,
        headers: &WechatPayHeaders,
        raw_body: &[u8],
        now: Timestamp,
    ) -> Result<VerifiedNotification, PaymentError> {
        self.merchant()?
            .verify_notification(headers, raw_body, now)
            .await
    }

    /// Downloads the platform certificates (`GET /v3/certificates`) and adds the valid ones
    /// to the key map. Returns how many were installed.
    pub async fn refresh_certificates(&self) -> Result<usize, PaymentError> {
        self.merchant()?.refresh_certificates().await
    }
}

impl Inner {
    /// Loads and checks every key (APIv3 key length, PEM forms) so that a misconfiguration
    /// fails at start, not at the first payment.
    fn build(config: &WechatPayConfig, clock: SharedClock) -> Result<Self, PaymentError> {
        let api_key = ApiV3Key::new(&config.apiv3_key)?;
        let signer = MerchantSigner::from_pem(&config.merchant_private_key.load()?)?;
        let keys = PlatformKeys::new();
        let public_key_id = match (
            &config.wechatpay_public_key,
            &config.wechatpay_public_key_id,
        ) {
            (Some(pem), Some(id)) => {
                if !id.starts_with(PUBLIC_KEY_ID_PREFIX) {
                    return Err(PaymentError::Config(format!(
                        "wechatpay_public_key_id must start with {PUBLIC_KEY_ID_PREFIX}"
                    )));
                }
                keys.insert(id, SignatureVerifier::from_spki_pem(pem.load()?.expose())?);
                Some(id.clone())
            }
            (None, None) => None,
            _ => {
                return Err(PaymentError::Config(
                    "wechatpay_public_key and wechatpay_public_key_id go together".into(),
                ));
            }
        };
        if public_key_id.is_none() && !config.platform_certificates {
            return Err(PaymentError::Config(
                "configure the WeChat Pay public key or enable platform_certificates".into(),
            ));
        }
        for (name, value) in [
            ("mchid", &config.mchid),
            ("appid", &config.appid),
            ("merchant_serial_no", &config.merchant_serial_no),
            ("notify_url", &config.notify_url),
            ("refund_notify_url", &config.refund_notify_url),
        ] {
            if value.trim().is_empty() {
                return Err(PaymentError::Config(format!("{name} is empty")));
            }
        }
        let base_url = config.base_url.trim_end_matches('/').to_string();
        Url::parse(&base_url)
            .map_err(|e| PaymentError::Config(format!("base_url {base_url:?}: {e}")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(config.http.connect_timeout_ms))
            .timeout(Duration::from_millis(config.http.request_timeout_ms))
            .user_agent(config.http.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| PaymentError::Config(format!("HTTP client: {e}")))?;
        Ok(Inner {
            mchid: config.mchid.clone(),
            appid: config.appid.clone(),
            merchant_serial_no: config.merchant_serial_no.clone(),
            notify_url: config.notify_url.clone(),
            refund_notify_url: config.refund_notify_url.clone(),
            base_url,
            public_key_id,
            certificate_mode: config.platform_certificates,
            settings: config.http.clone(),
            signer,
            api_key,
            keys,
            http,
            clock,
            refresh: AsyncMutex::new(RefreshState::default()),
        })
    }

    /// `POST /v3/pay/transactions/jsapi`: places the order and returns its `prepay_id`.
    #[tracing::instrument(skip_all, fields(out_trade_no = %order.out_trade_no))]
    pub async fn prepay_jsapi(&self, order: &JsapiOrder) -> Result<String, PaymentError> {
        let now = self.clock.now();
        validate_order(order, now)?;
        let body = JsapiPrepayBody {
            appid: &self.appid,
            mchid: &self.mchid,
            description: &order.description,
            out_trade_no: &order.out_trade_no,
            time_expire: order.time_expire.map(china_time),
            attach: order.attach.as_deref(),
            notify_url: &self.notify_url,
            amount: WireAmount {
                total: order.amount.amount,
                currency: "CNY",
            },
            payer: WirePayer {
                openid: &order.payer_openid,
            },
        };
        let answer: PrepayAnswer = self
            .call_json(Method::POST, "/v3/pay/transactions/jsapi", Some(&body))
            .await?;
        Ok(answer.prepay_id)
    }

    /// The parameters for `wx.requestPayment` (`docs/protocols.md#jsapi-and-paysign`), signed
    /// with the merchant key.
    pub fn request_payment_params(
        &self,
        prepay_id: &str,
    ) -> Result<RequestPaymentParams, PaymentError> {
        let time_stamp = self.clock.now().unix_seconds().to_string();
        let nonce_str = random_nonce()?;
        let package = format!("prepay_id={prepay_id}");
        let message = pay_sign_message(&self.appid, &time_stamp, &nonce_str, &package);
        let pay_sign = self.signer.sign(message.as_bytes())?;
        Ok(RequestPaymentParams {
            time_stamp,
            nonce_str,
            package,
            sign_type: "RSA".to_string(),
            pay_sign,
        })
    }

    /// `GET /v3/pay/transactions/out-trade-no/{no}?mchid=…`.
    #[tracing::instrument(skip_all, fields(out_trade_no = %out_trade_no))]
    pub async fn query_by_out_trade_no(
        &self,
        out_trade_no: &str,
    ) -> Result<Transaction, PaymentError> {
        validate_out_trade_no(out_trade_no)?;
        let path = format!(
            "/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={}",
            encode_component(&self.mchid)
        );
        self.call_json(Method::GET, &path, None::<&()>).await
    }

    /// `POST /v3/pay/transactions/out-trade-no/{no}/close` (204 on success).
    #[tracing::instrument(skip_all, fields(out_trade_no = %out_trade_no))]
    pub async fn close(&self, out_trade_no: &str) -> Result<(), PaymentError> {
        validate_out_trade_no(out_trade_no)?;
        let path = format!("/v3/pay/transactions/out-trade-no/{out_trade_no}/close");
        let body = CloseBody { mchid: &self.mchid };
        self.call(Method::POST, &path, Some(to_body(&body)?))
            .await
            .map(drop)
    }

    /// `POST /v3/refund/domestic/refunds`. A 200 only means accepted: watch `status`.
    #[tracing::instrument(skip_all, fields(out_trade_no = %request.out_trade_no, out_refund_no = %request.out_refund_no))]
    pub async fn refund(&self, request: &RefundRequest) -> Result<Refund, PaymentError> {
        validate_refund(request)?;
        let body = RefundBody {
            out_trade_no: &request.out_trade_no,
            out_refund_no: &request.out_refund_no,
            reason: request.reason.as_deref(),
            notify_url: &self.refund_notify_url,
            amount: WireRefundAmount {
                refund: request.refund.amount,
                total: request.total.amount,
                currency: "CNY",
            },
        };
        self.call_json(Method::POST, "/v3/refund/domestic/refunds", Some(&body))
            .await
    }

    /// `GET /v3/refund/domestic/refunds/{out_refund_no}`.
    #[tracing::instrument(skip_all, fields(out_refund_no = %out_refund_no))]
    pub async fn query_refund(&self, out_refund_no: &str) -> Result<Refund, PaymentError> {
        validate_out_refund_no(out_refund_no)?;
        let path = format!(
            "/v3/refund/domestic/refunds/{}",
            encode_component(out_refund_no)
        );
        self.call_json(Method::GET, &path, None::<&()>).await
    }

    /// Verifies a callback and decrypts it (`docs/protocols.md#callbacks`). `raw_body` must be the
    /// bytes as received. On an unknown certificate serial, certificates are downloaded once.
    pub async fn verify_notification(
        &self,
        headers: &WechatPayHeaders,
        raw_body: &[u8],
        now: Timestamp,
    ) -> Result<VerifiedNotification, PaymentError> {
        self.verify_signed(headers, raw_body, now).await?;
        decrypt_notification(&self.api_key, raw_body)
    }

    /// Downloads the platform certificates (`GET /v3/certificates`) and adds the valid ones
    /// to the key map. Returns how many were installed.
    #[tracing::instrument(skip_all)]
    pub async fn refresh_certificates(&self) -> Result<usize, PaymentError> {
        let mut state = self.refresh.lock().await;
        self.download_certificates(&mut state).await
    }

    async fn download_certificates(&self, state: &mut RefreshState) -> Result<usize, PaymentError> {
        let now = self.clock.now();
        state.last_attempt = Some(now);
        let raw = self
            .send_with_retries(Method::GET, "/v3/certificates", None)
            .await?;
        let headers = raw
            .headers
            .as_ref()
            .map_err(|e| unverified(raw.status, e))?;
        if !(200..300).contains(&raw.status) {
            self.keys
                .verify(headers, &raw.body, now)
                .map_err(|e| unverified(raw.status, &e))?;
            return Err(api_error(raw.status, &raw.body));
        }
        let list: CertificateList = serde_json::from_slice(&raw.body)
            .map_err(|e| PaymentError::Decode(format!("certificate list: {e}")))?;
        let certificates = decrypt_certificates(&self.api_key, &list)?;
        // The answer may be signed by a certificate we are only now learning about; the
        // certificates themselves are authentic because they decrypt under the APIv3 key.
        let candidates = PlatformKeys::new();
        for certificate in &certificates {
            candidates.insert(&certificate.serial, certificate.verifier.clone());
        }
        match candidates.verify(headers, &raw.body, now) {
            Err(PaymentError::UnknownSerial(_)) => self.keys.verify(headers, &raw.body, now),
            other => other,
        }
        .map_err(|e| unverified(raw.status, &e))?;
        let mut installed = 0;
        for certificate in certificates {
            if certificate.not_after.is_some_and(|end| end < now) {
                continue;
            }
            self.keys.insert(&certificate.serial, certificate.verifier);
            installed += 1;
        }
        state.last_success = Some(now);
        tracing::info!(installed, "WeChat Pay platform certificates refreshed");
        Ok(installed)
    }

    /// Periodic refresh in certificate mode; failures are logged, the old keys stay.
    async fn refresh_certificates_if_due(&self) {
        if !self.certificate_mode {
            return;
        }
        let now = self.clock.now();
        let interval = TimeDelta::seconds(
            i64::try_from(self.settings.certificate_refresh_secs).unwrap_or(i64::MAX),
        );
        let mut state = self.refresh.lock().await;
        let fresh = state
            .last_success
            .is_some_and(|at| now.since(at) < interval);
        let tried_recently = state
            .last_attempt
            .is_some_and(|at| now.since(at) < MIN_CERTIFICATE_REFRESH_GAP);
        if fresh || tried_recently {
            return;
        }
        if let Err(error) = self.download_certificates(&mut state).await {
            tracing::warn!(%error, "WeChat Pay platform certificate refresh failed");
        }
    }

    /// Verification (`docs/protocols.md#verifying-responses-and-callbacks`) with one
    /// certificate download on an unknown certificate serial.
    async fn verify_signed(
        &self,
        headers: &WechatPayHeaders,
        body: &[u8],
        now: Timestamp,
    ) -> Result<(), PaymentError> {
        self.refresh_certificates_if_due().await;
        match self.keys.verify(headers, body, now) {
            Err(PaymentError::UnknownSerial(serial))
                if self.certificate_mode && !serial.starts_with(PUBLIC_KEY_ID_PREFIX) =>
            {
                let mut state = self.refresh.lock().await;
                let known_now = self.keys.get(&serial).is_some();
                let tried_recently = state
                    .last_attempt
                    .is_some_and(|at| now.since(at) < MIN_CERTIFICATE_REFRESH_GAP);
                if !known_now
                    && !tried_recently
                    && let Err(error) = self.download_certificates(&mut state).await
                {
                    tracing::warn!(%error, "certificate download for an unknown serial failed");
                }
                drop(state);
                self.keys.verify(headers, body, now)
            }
            other => other,
        }
    }

    async fn call_json<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&B>,
    ) -> Result<T, PaymentError> {
        let body = body.map(to_body).transpose()?;
        let answer = self.call(method, path_and_query, body).await?;
        serde_json::from_slice(&answer).map_err(|e| PaymentError::Decode(e.to_string()))
    }

    /// Sends (with retries), verifies the answer whatever its status, and turns non-2xx
    /// answers into [`PaymentError::Api`].
    async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, PaymentError> {
        let raw = self.send_with_retries(method, path_and_query, body).await?;
        let headers = raw
            .headers
            .as_ref()
            .map_err(|e| unverified(raw.status, e))?;
        let now = self.clock.now();
        self.verify_signed(headers, &raw.body, now)
            .await
            .map_err(|e| unverified(raw.status, &e))?;
        if (200..300).contains(&raw.status) {
            Ok(raw.body)
        } else {
            Err(api_error(raw.status, &raw.body))
        }
    }

    async fn send_with_retries(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
    ) -> Result<RawResponse, PaymentError> {
        let url = Url::parse(&format!("{}{}", self.base_url, path_and_query))
            .map_err(|e| PaymentError::InvalidRequest(format!("URL: {e}")))?;
        // Sign what goes on the wire: the URL as the HTTP stack will send it.
        let signed_path = match url.query() {
            Some(query) => format!("{}?{}", url.path(), query),
            None => url.path().to_string(),
        };
        let mut attempt: u32 = 0;
        loop {
            let result = self
                .send_once(method.clone(), &url, &signed_path, body.as_deref())
                .await;
            let retryable = match &result {
                Ok(raw) => raw.status >= 500 || raw.status == 429,
                Err(error) => error.is_retryable(),
            };
            if !retryable || attempt >= self.settings.max_retries {
                return result;
            }
            let backoff = self
                .settings
                .retry_backoff_ms
                .saturating_mul(1 << attempt.min(10));
            tracing::warn!(
                attempt,
                "WeChat Pay call failed; retrying with the same body"
            );
            tokio::time::sleep(Duration::from_millis(backoff)).await;
            attempt += 1;
        }
    }

    async fn send_once(
        &self,
        method: Method,
        url: &Url,
        signed_path: &str,
        body: Option<&[u8]>,
    ) -> Result<RawResponse, PaymentError> {
        let timestamp = self.clock.now().unix_seconds();
        let nonce = random_nonce()?;
        let message = request_message(
            method.as_str(),
            signed_path,
            timestamp,
            &nonce,
            body.unwrap_or_default(),
        );
        let signature = self.signer.sign(&message)?;
        let mut request = self
            .http
            .request(method, url.clone())
            .header(
                AUTHORIZATION,
                authorization_header(
                    &self.mchid,
                    &nonce,
                    timestamp,
                    &self.merchant_serial_no,
                    &signature,
                ),
            )
            .header(ACCEPT, "application/json");
        if let Some(id) = &self.public_key_id {
            request = request.header("Wechatpay-Serial", id);
        }
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let response = request
            .send()
            .await
            .map_err(|e| PaymentError::Transport(e.without_url().to_string()))?;
        let status = response.status().as_u16();
        let headers = WechatPayHeaders::from_lookup(|name| {
            response.headers().get(name).and_then(|v| v.to_str().ok())
        });
        let body = response
            .bytes()
            .await
            .map_err(|e| PaymentError::Transport(e.without_url().to_string()))?
            .to_vec();
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }
}

fn to_body<B: serde::Serialize>(body: &B) -> Result<Vec<u8>, PaymentError> {
    serde_json::to_vec(body).map_err(|e| PaymentError::InvalidRequest(e.to_string()))
}

fn unverified(status: u16, reason: &PaymentError) -> PaymentError {
    PaymentError::UnverifiedResponse {
        status,
        reason: reason.to_string(),
    }
}

fn api_error(status: u16, body: &[u8]) -> PaymentError {
    match serde_json::from_slice::<ErrorAnswer>(body) {
        Ok(answer) => PaymentError::Api {
            status,
            code: answer.code,
            message: answer.message,
            detail: answer.detail.map(Box::new),
        },
        Err(_) => PaymentError::Api {
            status,
            code: String::new(),
            message: "no error body".to_string(),
            detail: None,
        },
    }
}

/// WeChat's time format: RFC 3339 in China time, whole seconds.
fn china_time(at: Timestamp) -> String {
    at.as_datetime()
        .with_timezone(&CHINA_STANDARD_TIME)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

const CHINA_STANDARD_TIME: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

pub(crate) fn validate_out_trade_no(no: &str) -> Result<(), PaymentError> {
    let ok = (6..=32).contains(&no.len())
        && no
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(PaymentError::InvalidRequest(
            "out_trade_no must be 6-32 of [0-9A-Za-z_-]".into(),
        ))
    }
}

pub(crate) fn validate_out_refund_no(no: &str) -> Result<(), PaymentError> {
    let ok = (1..=64).contains(&no.len())
        && no
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-|*@".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(PaymentError::InvalidRequest(
            "out_refund_no must be 1-64 of [0-9A-Za-z_-|*@]".into(),
        ))
    }
}

fn validate_order(order: &JsapiOrder, now: Timestamp) -> Result<(), PaymentError> {
    validate_out_trade_no(&order.out_trade_no)?;
    let description_chars = order.description.chars().count();
    if description_chars == 0 || description_chars > 127 {
        return Err(PaymentError::InvalidRequest(
            "description must be 1-127 characters".into(),
        ));
    }
    if order.amount.currency != Currency::CNY || !order.amount.is_positive() {
        return Err(PaymentError::InvalidRequest(
            "amount must be a positive CNY amount".into(),
        ));
    }
    if order.payer_openid.trim().is_empty() {
        return Err(PaymentError::InvalidRequest("payer openid is empty".into()));
    }
    if order
        .attach
        .as_deref()
        .is_some_and(|a| a.chars().count() > 128)
    {
        return Err(PaymentError::InvalidRequest(
            "attach must be at most 128 characters".into(),
        ));
    }
    if order
        .time_expire
        .is_some_and(|at| at < now.plus(TimeDelta::minutes(1)))
    {
        return Err(PaymentError::InvalidRequest(
            "time_expire must be at least one minute ahead".into(),
        ));
    }
    Ok(())
}

fn validate_refund(request: &RefundRequest) -> Result<(), PaymentError> {
    validate_out_trade_no(&request.out_trade_no)?;
    validate_out_refund_no(&request.out_refund_no)?;
    let cny = request.refund.currency == Currency::CNY && request.total.currency == Currency::CNY;
    if !cny || !request.refund.is_positive() || request.refund.amount > request.total.amount {
        return Err(PaymentError::InvalidRequest(
            "refund must be a positive CNY amount not above the total".into(),
        ));
    }
    if request
        .reason
        .as_deref()
        .is_some_and(|r| r.chars().count() > 80)
    {
        return Err(PaymentError::InvalidRequest(
            "reason must be at most 80 characters".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn china_time_has_offset_and_whole_seconds() {
        let at = Timestamp::parse("2026-11-29T13:17:28.123Z").unwrap();
        assert_eq!(china_time(at), "2026-11-29T21:17:28+08:00");
    }

    #[test]
    fn path_components_are_percent_encoded() {
        assert_eq!(encode_component("R1|a*b@c"), "R1%7Ca%2Ab%40c");
        assert_eq!(encode_component("1900007291"), "1900007291");
    }

    #[test]
    fn refund_over_total_is_refused_before_sending() {
        let request = RefundRequest {
            out_trade_no: "ORDER123".into(),
            out_refund_no: "R1".into(),
            reason: None,
            refund: topup_core::Money::cny(101),
            total: topup_core::Money::cny(100),
        };
        assert!(matches!(
            validate_refund(&request),
            Err(PaymentError::InvalidRequest(_))
        ));
    }
}
