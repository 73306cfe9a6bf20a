//! The Reloadly Airtime adapter: OAuth client-credentials token cached on the clock and
//! refreshed on `TOKEN_EXPIRED`, the versioned `Accept` header, timeouts, 429 handling, and
//! every answer classified.

mod classify;
#[cfg(test)]
mod fixture_tests;
pub(crate) mod wire;

use std::time::Duration;

use async_trait::async_trait;
use chrono::TimeDelta;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};
use reqwest::{Method, Url};
use rust_decimal::prelude::ToPrimitive;
use topup_core::{CountryCode, Decimal, Msisdn, Secret, SharedClock, Timestamp};

use crate::model::{AttemptSummary, ProviderAmount, ProviderCountry, ProviderOperator};
use crate::{
    ProviderId, RechargeError, RechargeProvider, TopupOutcome, TopupRequest, TopupResult,
    TransactionLookup, TransactionPage,
};
use classify::{ErrorClass, classify_error, classify_status};
use wire::{
    BalanceDto, CountryDto, ErrorBody, JsonNumber, OperatorDto, OperatorIdJson, PhoneJson,
    TokenRequest, TokenResponse, TopupBody, TransactionDto, parse_decimal, parse_report,
    parse_status,
};

/// The versioned media type every topups-host call must accept.
pub const RELOADLY_ACCEPT: &str = "application/com.reloadly.topups-v1+json";

/// Connection settings of one Reloadly account.
#[derive(Debug, Clone)]
pub struct ReloadlyConfig {
    pub id: ProviderId,
    pub client_id: Secret<String>,
    pub client_secret: Secret<String>,
    /// Base of the auth host; the token is at `{auth_url}/oauth/token`.
    pub auth_url: String,
    /// Base of the topups host (`https://topups.reloadly.com`).
    pub api_url: String,
    /// The `audience` of the token request (`https://topups(-sandbox).reloadly.com`).
    pub audience: String,
    pub connect_timeout: Duration,
    /// Longest wait for an answer once the request is sent.
    pub read_timeout: Duration,
    /// A 429 whose reset is at most this far away is waited out and retried once.
    pub max_rate_limit_wait: Duration,
}

impl ReloadlyConfig {
    /// Production hosts and default timeouts (3 s connect, 15 s read).
    pub fn new(id: ProviderId, client_id: Secret<String>, client_secret: Secret<String>) -> Self {
        ReloadlyConfig {
            id,
            client_id,
            client_secret,
            auth_url: "https://auth.reloadly.com".to_owned(),
            api_url: "https://topups.reloadly.com".to_owned(),
            audience: "https://topups.reloadly.com".to_owned(),
            connect_timeout: Duration::from_secs(3),
            read_timeout: Duration::from_secs(15),
            max_rate_limit_wait: Duration::from_secs(2),
        }
    }
}

#[derive(Clone)]
struct CachedToken {
    value: Secret<String>,
    refresh_at: Timestamp,
    /// The credentials it was issued for ([`ReloadlyProvider::set_credentials`] counts them).
    credentials: u64,
}

/// The account's client id and secret, replaceable while serving.
struct Credentials {
    client_id: Secret<String>,
    client_secret: Secret<String>,
    /// Bumped on every replacement, so a token issued to the old ones is not used again.
    generation: u64,
}

/// How a call ended when no usable HTTP answer came back.
#[derive(Debug)]
enum CallFailure {
    /// The request never reached the provider (connect failure, no token).
    NotSent { reason: String },
    /// Sent, but no complete answer: the provider may have acted on it.
    NoAnswer { timeout: bool, reason: String },
    /// The auth server refused our credentials.
    AuthRefused { code: String, message: String },
    /// Still rate limited after waiting, or asked to wait too long.
    RateLimited { retry_after_secs: Option<u64> },
}

struct Reply {
    status: u16,
    body: Vec<u8>,
}

impl Reply {
    fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A Reloadly account behind the [`RechargeProvider`] port.
pub struct ReloadlyProvider {
    config: ReloadlyConfig,
    credentials: std::sync::RwLock<Credentials>,
    api_base: Url,
    token_url: Url,
    http: reqwest::Client,
    clock: SharedClock,
    token: tokio::sync::Mutex<Option<CachedToken>>,
}

impl std::fmt::Debug for ReloadlyProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadlyProvider")
            .field("id", &self.config.id)
            .field("api_url", &self.config.api_url)
            .finish_non_exhaustive()
    }
}

fn parse_base(text: &str, what: &str) -> Result<Url, RechargeError> {
    let url = Url::parse(text.trim())
        .map_err(|e| RechargeError::Config(format!("{what} {text:?} is not a URL: {e}")))?;
    if url.cannot_be_a_base() || !matches!(url.scheme(), "http" | "https") {
        return Err(RechargeError::Config(format!(
            "{what} {text:?} must be an http(s) URL"
        )));
    }
    Ok(url)
}

fn with_segments(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

impl ReloadlyProvider {
    pub fn new(config: ReloadlyConfig, clock: SharedClock) -> Result<Self, RechargeError> {
        let api_base = parse_base(&config.api_url, "api_url")?;
        let auth_base = parse_base(&config.auth_url, "auth_url")?;
        let token_url = with_segments(&auth_base, &["oauth", "token"]);
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .timeout(config.connect_timeout + config.read_timeout)
            .user_agent(concat!("topup/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RechargeError::Config(format!("HTTP client: {e}")))?;
        let credentials = std::sync::RwLock::new(Credentials {
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            generation: 0,
        });
        Ok(ReloadlyProvider {
            config,
            credentials,
            api_base,
            token_url,
            http,
            clock,
            token: tokio::sync::Mutex::new(None),
        })
    }

    fn summary(&self) -> AttemptSummary {
        AttemptSummary {
            provider: Some(self.config.id.clone()),
            ..AttemptSummary::default()
        }
    }

    /// A cached token, or a fresh one. The lock is held while fetching so concurrent calls
    /// share one token request.
    async fn token(&self) -> Result<Secret<String>, CallFailure> {
        let mut cached = self.token.lock().await;
        let generation = self.credentials_now().2;
        if let Some(token) = cached.as_ref()
            && self.clock.now() < token.refresh_at
            && token.credentials == generation
        {
            return Ok(token.value.clone());
        }
        let fresh = self.fetch_token().await?;
        let value = fresh.value.clone();
        *cached = Some(fresh);
        Ok(value)
    }

    /// Forgets `used` unless another call has already replaced it.
    async fn forget_token(&self, used: &Secret<String>) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|t| t.value == *used) {
            *cached = None;
        }
    }

    /// The client id, secret and their generation in force.
    fn credentials_now(&self) -> (Secret<String>, Secret<String>, u64) {
        let credentials = self
            .credentials
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (
            credentials.client_id.clone(),
            credentials.client_secret.clone(),
            credentials.generation,
        )
    }

    async fn fetch_token(&self) -> Result<CachedToken, CallFailure> {
        let (client_id, client_secret, generation) = self.credentials_now();
        let body = TokenRequest {
            client_id: client_id.expose(),
            client_secret: client_secret.expose(),
            grant_type: "client_credentials",
            audience: &self.config.audience,
        };
        let requested_at = self.clock.now();
        let response = self
            .http
            .post(self.token_url.clone())
            .header(ACCEPT, "application/json")
            .json(&body)
            .send()
            .await
            .map_err(|e| CallFailure::NotSent {
                reason: format!("token request failed: {}", describe(&e)),
            })?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| CallFailure::NotSent {
            reason: format!("token response unreadable: {}", describe(&e)),
        })?;
        if (400..500).contains(&status) && status != 429 {
            let error = ErrorBody::parse(&bytes);
            tracing::warn!(provider = %self.config.id, status, code = ?error.code(), "reloadly refused our credentials");
            return Err(CallFailure::AuthRefused {
                code: error
                    .code()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("HTTP_{status}")),
                message: error
                    .message()
                    .unwrap_or_else(|| "token request refused".to_owned()),
            });
        }
        if !(200..300).contains(&status) {
            return Err(CallFailure::NotSent {
                reason: format!("token endpoint answered HTTP {status}"),
            });
        }
        let token: TokenResponse =
            serde_json::from_slice(&bytes).map_err(|_| CallFailure::NotSent {
                reason: "token response is not the expected JSON".to_owned(),
            })?;
        let lifetime = token
            .expires_in
            .0
            .and_then(|s| s.to_i64())
            .filter(|s| *s > 0)
            .unwrap_or(3600);
        // Refresh a little early so a token never expires in flight.
        let margin = (lifetime / 10).min(60);
        Ok(CachedToken {
            value: Secret::new(token.access_token),
            refresh_at: requested_at.plus(TimeDelta::seconds(lifetime - margin)),
            credentials: generation,
        })
    }

    /// One API call with the bearer token, refreshed once on `TOKEN_EXPIRED`, and a 429
    /// waited out once when the reset is near.
    async fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Reply, CallFailure> {
        let url = with_segments(&self.api_base, segments);
        let mut refreshed = false;
        let mut waited = false;
        loop {
            let token = self.token().await?;
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .header(ACCEPT, RELOADLY_ACCEPT)
                .bearer_auth(token.expose());
            if !query.is_empty() {
                request = request.query(query);
            }
            if let Some(body) = &body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let response = request.send().await.map_err(|e| transport_failure(&e))?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let bytes = response.bytes().await.map_err(|e| CallFailure::NoAnswer {
                timeout: e.is_timeout(),
                reason: format!("answer cut off: {}", describe(&e)),
            })?;
            tracing::debug!(provider = %self.config.id, path = url.path(), status, "reloadly answered");
            if status == 401 && !refreshed {
                let error = ErrorBody::parse(&bytes);
                if matches!(error.code(), Some("TOKEN_EXPIRED") | Some("INVALID_TOKEN")) {
                    tracing::info!(provider = %self.config.id, code = ?error.code(), "reloadly token refused; fetching a new one");
                    self.forget_token(&token).await;
                    refreshed = true;
                    continue;
                }
            }
            if status == 429 {
                let wait = rate_limit_wait(&headers, self.clock.now());
                if !waited && wait.is_some_and(|w| w <= self.config.max_rate_limit_wait) {
                    let wait = wait.unwrap_or_default();
                    tracing::info!(provider = %self.config.id, wait_ms = wait.as_millis() as u64, "reloadly rate limit; waiting");
                    tokio::time::sleep(wait).await;
                    waited = true;
                    continue;
                }
                tracing::warn!(provider = %self.config.id, "reloadly rate limit; giving up");
                return Err(CallFailure::RateLimited {
                    retry_after_secs: wait.map(|w| w.as_secs().max(1)),
                });
            }
            return Ok(Reply {
                status,
                body: bytes.to_vec(),
            });
        }
    }

    fn read_failure(&self, failure: CallFailure) -> RechargeError {
        let provider = self.config.id.clone();
        match failure {
            CallFailure::NotSent { reason } => RechargeError::Unreachable { provider, reason },
            CallFailure::NoAnswer { timeout: true, .. } => RechargeError::Timeout { provider },
            CallFailure::NoAnswer { reason, .. } => RechargeError::Unreachable { provider, reason },
            CallFailure::AuthRefused { code, .. } => RechargeError::Unauthorized { provider, code },
            CallFailure::RateLimited { retry_after_secs } => RechargeError::RateLimited {
                provider,
                retry_after_secs,
            },
        }
    }

    fn http_error(&self, reply: &Reply) -> RechargeError {
        let error = ErrorBody::parse(&reply.body);
        let provider = self.config.id.clone();
        let code = error
            .code()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("HTTP_{}", reply.status));
        if matches!(reply.status, 401 | 403) {
            return RechargeError::Unauthorized { provider, code };
        }
        RechargeError::Provider {
            provider,
            status: reply.status,
            code,
            message: error.message().unwrap_or_default(),
        }
    }

    fn malformed(&self, what: &str) -> RechargeError {
        RechargeError::Malformed {
            provider: self.config.id.clone(),
            reason: format!("{what} is not the expected JSON"),
        }
    }

    /// A read, sent once more when the connection failed under it without a timeout: a
    /// pooled connection the provider closed while idle fails that way on reuse. Reads are
    /// idempotent; a top-up is never sent twice (it goes through [`Self::call`] directly).
    async fn get(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Reply, RechargeError> {
        let reply = match self.call(Method::GET, segments, query, None).await {
            Err(CallFailure::NoAnswer {
                timeout: false,
                reason,
            }) => {
                tracing::info!(provider = %self.config.id, %reason, "reloadly connection dropped; reading again");
                self.call(Method::GET, segments, query, None).await
            }
            other => other,
        };
        reply.map_err(|f| self.read_failure(f))
    }

    /// The classified result of a transaction the provider reported.
    fn transaction_result(&self, tx: &TransactionDto, mut summary: AttemptSummary) -> TopupResult {
        tx.summarize(&mut summary);
        let status = tx.status().unwrap_or_default();
        let outcome = classify_status(&status, tx.transaction_id.0.as_deref())
            .unwrap_or(TopupOutcome::Ambiguous);
        TopupResult::new(outcome, summary)
    }

    async fn lookup_result(
        &self,
        custom_identifier: &str,
    ) -> Result<TransactionLookup, RechargeError> {
        let reply = self
            .get(
                &["topups", "reports", "transactions"],
                &[
                    ("customIdentifier", custom_identifier),
                    ("page", "1"),
                    ("size", "20"),
                ],
            )
            .await?;
        if !reply.is_success() {
            return Err(self.http_error(&reply));
        }
        let transactions =
            parse_report(&reply.body).map_err(|_| self.malformed("transaction report"))?;
        let found = transactions
            .iter()
            .find(|t| t.custom_identifier.0.as_deref() == Some(custom_identifier));
        Ok(match found {
            Some(tx) => {
                let mut summary = self.summary();
                summary.custom_identifier = Some(custom_identifier.to_owned());
                TransactionLookup::Found(Box::new(self.transaction_result(tx, summary)))
            }
            None => TransactionLookup::NotFound,
        })
    }

    /// After an answer that does not say what happened, the provider's record decides.
    async fn resolve_by_lookup(
        &self,
        custom_identifier: &str,
        summary: AttemptSummary,
        if_not_found: TopupOutcome,
    ) -> TopupResult {
        match self.lookup_result(custom_identifier).await {
            Ok(TransactionLookup::Found(found)) => {
                let mut found = *found;
                // Keep what the first answer said for the log.
                found.summary.http_status = summary.http_status;
                found.summary.error_code = summary.error_code;
                found.summary.error_message = summary.error_message;
                found
            }
            Ok(TransactionLookup::NotFound) => TopupResult::new(if_not_found, summary),
            Err(e) => {
                tracing::warn!(provider = %self.config.id, error = %e, "lookup by customIdentifier failed");
                TopupResult::new(TopupOutcome::Ambiguous, summary)
            }
        }
    }

    async fn classify_reply(
        &self,
        request: &TopupRequest,
        reply: Reply,
        mut summary: AttemptSummary,
    ) -> TopupResult {
        summary.http_status = Some(reply.status);
        let key = request.custom_identifier.as_str();
        if reply.is_success() {
            return match serde_json::from_slice::<TransactionDto>(&reply.body) {
                Ok(tx) => {
                    let result = self.transaction_result(&tx, summary.clone());
                    if result.outcome == TopupOutcome::Ambiguous {
                        self.resolve_by_lookup(key, result.summary, TopupOutcome::Ambiguous)
                            .await
                    } else {
                        result
                    }
                }
                Err(_) => {
                    summary.error_code = Some("MALFORMED_RESPONSE".to_owned());
                    self.resolve_by_lookup(key, summary, TopupOutcome::Ambiguous)
                        .await
                }
            };
        }
        let error = ErrorBody::parse(&reply.body);
        summary.error_code = Some(
            error
                .code()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("HTTP_{}", reply.status)),
        );
        summary.error_message = error.message();
        if reply.status >= 500 {
            // The provider finished with the request but says nothing useful about it.
            return self
                .resolve_by_lookup(key, summary, TopupOutcome::FailedRetryable)
                .await;
        }
        match classify_error(error.code(), reply.status) {
            ErrorClass::LookUpOriginal => {
                self.resolve_by_lookup(key, summary, TopupOutcome::Ambiguous)
                    .await
            }
            ErrorClass::Outcome(outcome) => TopupResult::new(outcome, summary),
        }
    }
}

fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "broken response body"
    } else {
        "transport error"
    };
    let mut text = kind.to_owned();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(300).collect()
}

fn transport_failure(error: &reqwest::Error) -> CallFailure {
    if error.is_connect() {
        // Not connected means not sent, even when the connect attempt timed out.
        CallFailure::NotSent {
            reason: describe(error),
        }
    } else {
        CallFailure::NoAnswer {
            timeout: error.is_timeout(),
            reason: describe(error),
        }
    }
}

/// How long a 429 asks us to wait. `X-RateLimit-Reset` (or `Retry-After`) may be seconds to
/// wait or an epoch time in seconds or milliseconds; both are accepted.
fn rate_limit_wait(headers: &HeaderMap, now: Timestamp) -> Option<Duration> {
    let value = ["x-ratelimit-reset", "retry-after"]
        .iter()
        .find_map(|name| {
            headers
                .get(*name)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_decimal)
        })?;
    let seconds = if value > Decimal::from(1_000_000_000_000i64) {
        value / Decimal::from(1000) - Decimal::from(now.unix_seconds())
    } else if value > Decimal::from(1_000_000_000i64) {
        value - Decimal::from(now.unix_seconds())
    } else {
        value
    };
    let millis = (seconds.max(Decimal::ZERO) * Decimal::from(1000))
        .ceil()
        .to_u64()?;
    Some(Duration::from_millis(millis))
}

/// Transactions asked for per page of the report.
const REPORT_PAGE_SIZE: usize = 200;

/// The report's date form, `2026-03-01 10:00:00` (UTC).
fn report_time(at: Timestamp) -> String {
    at.as_datetime().format("%Y-%m-%d %H:%M:%S").to_string()
}

fn phone_json(phone: &Msisdn) -> PhoneJson {
    PhoneJson {
        country_code: phone.country().as_str().to_owned(),
        number: phone.national_digits(),
    }
}

#[async_trait]
impl RechargeProvider for ReloadlyProvider {
    fn id(&self) -> &ProviderId {
        &self.config.id
    }

    fn set_credentials(&self, client_id: Secret<String>, client_secret: Secret<String>) -> bool {
        let mut credentials = self
            .credentials
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if credentials.client_id != client_id || credentials.client_secret != client_secret {
            *credentials = Credentials {
                client_id,
                client_secret,
                generation: credentials.generation + 1,
            };
        }
        true
    }

    async fn countries(&self) -> Result<Vec<ProviderCountry>, RechargeError> {
        let reply = self.get(&["countries"], &[]).await?;
        if !reply.is_success() {
            return Err(self.http_error(&reply));
        }
        let countries: Vec<CountryDto> =
            serde_json::from_slice(&reply.body).map_err(|_| self.malformed("country list"))?;
        Ok(countries
            .into_iter()
            .filter_map(CountryDto::into_model)
            .collect())
    }

    async fn operators(
        &self,
        country: CountryCode,
    ) -> Result<Vec<ProviderOperator>, RechargeError> {
        let reply = self
            .get(
                &["operators", "countries", country.as_str()],
                &[
                    ("includeBundles", "true"),
                    ("includeData", "true"),
                    ("includePin", "false"),
                    ("suggestedAmountsMap", "false"),
                ],
            )
            .await?;
        if reply.status == 404 && ErrorBody::parse(&reply.body).code().is_some() {
            // Reloadly's own "country not supported": no operators. A bare 404 is a wrong
            // base URL and stays an error.
            return Ok(Vec::new());
        }
        if !reply.is_success() {
            return Err(self.http_error(&reply));
        }
        let operators: Vec<OperatorDto> =
            serde_json::from_slice(&reply.body).map_err(|_| self.malformed("operator list"))?;
        let total = operators.len();
        let parsed: Vec<ProviderOperator> = operators
            .into_iter()
            .filter_map(OperatorDto::into_model)
            .collect();
        if parsed.len() < total {
            tracing::warn!(provider = %self.config.id, %country, skipped = total - parsed.len(), "operators without id, country, currencies or amounts skipped");
        }
        Ok(parsed)
    }

    async fn detect_operator(
        &self,
        phone: &Msisdn,
    ) -> Result<Option<ProviderOperator>, RechargeError> {
        let national = phone.national_digits();
        let reply = self
            .get(
                &[
                    "operators",
                    "auto-detect",
                    "phone",
                    &national,
                    "countries",
                    phone.country().as_str(),
                ],
                &[("suggestedAmountsMap", "false")],
            )
            .await?;
        if !reply.is_success() {
            let error = ErrorBody::parse(&reply.body);
            if error.code() == Some("COULD_NOT_AUTO_DETECT_OPERATOR") {
                return Ok(None);
            }
            return Err(self.http_error(&reply));
        }
        let operator: OperatorDto =
            serde_json::from_slice(&reply.body).map_err(|_| self.malformed("operator"))?;
        Ok(operator.into_model())
    }

    async fn send_topup(&self, request: &TopupRequest) -> TopupResult {
        let mut summary = self.summary();
        summary.custom_identifier = Some(request.custom_identifier.clone());
        summary.requested_amount = Some(request.amount);
        if request.custom_identifier.trim().is_empty() {
            summary.error_code = Some("MISSING_CUSTOM_IDENTIFIER".to_owned());
            return TopupResult::new(TopupOutcome::Precondition, summary);
        }
        if request.amount.value <= Decimal::ZERO {
            summary.error_code = Some("INVALID_AMOUNT".to_owned());
            return TopupResult::new(TopupOutcome::FailedFinal, summary);
        }
        let body = TopupBody {
            operator_id: OperatorIdJson(&request.operator_id),
            amount: JsonNumber(request.amount.value),
            use_local_amount: request.use_local_amount,
            custom_identifier: &request.custom_identifier,
            recipient_phone: phone_json(&request.recipient),
            sender_phone: request.sender_phone.as_ref().map(phone_json),
        };
        let body = match serde_json::to_vec(&body) {
            Ok(body) => body,
            Err(_) => {
                summary.error_code = Some("UNSERIALIZABLE_REQUEST".to_owned());
                return TopupResult::new(TopupOutcome::Precondition, summary);
            }
        };
        let result = match self.call(Method::POST, &["topups"], &[], Some(body)).await {
            Ok(reply) => self.classify_reply(request, reply, summary).await,
            Err(CallFailure::NotSent { reason }) => {
                summary.error_code = Some("NOT_SENT".to_owned());
                summary.error_message = Some(reason);
                TopupResult::new(TopupOutcome::FailedRetryable, summary)
            }
            Err(CallFailure::NoAnswer { timeout, reason }) => {
                summary.error_code = Some(if timeout { "TIMEOUT" } else { "NO_ANSWER" }.to_owned());
                summary.error_message = Some(reason);
                TopupResult::new(TopupOutcome::Ambiguous, summary)
            }
            Err(CallFailure::AuthRefused { code, message }) => {
                summary.error_code = Some(code);
                summary.error_message = Some(message);
                TopupResult::new(TopupOutcome::Precondition, summary)
            }
            Err(CallFailure::RateLimited { .. }) => {
                summary.http_status = Some(429);
                summary.error_code = Some("TOO_MANY_REQUESTS".to_owned());
                TopupResult::new(TopupOutcome::FailedRetryable, summary)
            }
        };
        tracing::info!(
            provider = %self.config.id,
            custom_identifier = %request.custom_identifier,
            outcome = ?result.outcome,
            error_code = ?result.summary.error_code,
            "reloadly top-up"
        );
        result
    }

    async fn topup_status(
        &self,
        provider_transaction_id: &str,
    ) -> Result<TopupResult, RechargeError> {
        let reply = self
            .get(&["topups", provider_transaction_id, "status"], &[])
            .await?;
        if reply.status == 404 {
            return Err(RechargeError::TransactionNotFound {
                provider: self.config.id.clone(),
                transaction_id: provider_transaction_id.to_owned(),
            });
        }
        if !reply.is_success() {
            return Err(self.http_error(&reply));
        }
        let status = parse_status(&reply.body).map_err(|_| self.malformed("status"))?;
        let mut summary = self.summary();
        summary.http_status = Some(reply.status);
        summary.error_code = status.code;
        summary.error_message = status.message;
        let mut tx = status.transaction;
        if tx.transaction_id.0.is_none() {
            tx.transaction_id.0 = Some(provider_transaction_id.to_owned());
        }
        Ok(self.transaction_result(&tx, summary))
    }

    async fn find_by_custom_identifier(
        &self,
        custom_identifier: &str,
    ) -> Result<TransactionLookup, RechargeError> {
        self.lookup_result(custom_identifier).await
    }

    async fn transactions_page(
        &self,
        from: Timestamp,
        to: Timestamp,
        page: u32,
    ) -> Result<TransactionPage, RechargeError> {
        // The report's dates are seconds, its end inclusive: the exact bounds are applied
        // here. A transaction whose date does not parse is kept, since the report placed it
        // in the range.
        let (start, end) = (
            report_time(from),
            report_time(to.plus(TimeDelta::seconds(1))),
        );
        let (page, size) = (page.max(1).to_string(), REPORT_PAGE_SIZE.to_string());
        let reply = self
            .get(
                &["topups", "reports", "transactions"],
                &[
                    ("startDate", &start),
                    ("endDate", &end),
                    ("page", &page),
                    ("size", &size),
                ],
            )
            .await?;
        if !reply.is_success() {
            return Err(self.http_error(&reply));
        }
        let listed = parse_report(&reply.body).map_err(|_| self.malformed("transaction report"))?;
        let last = listed.len() < REPORT_PAGE_SIZE;
        let transactions = listed
            .iter()
            .filter(|tx| tx.transaction_date.0.is_none_or(|at| at >= from && at < to))
            .map(|tx| self.transaction_result(tx, self.summary()))
            .collect();
        Ok(TransactionPage { transactions, last })
    }

    async fn balance(&self) -> Result<ProviderAmount, RechargeError> {
        let reply = self.get(&["accounts", "balance"], &[]).await?;
        if !reply.is_success() {
            return Err(self.http_error(&reply));
        }
        let balance: BalanceDto =
            serde_json::from_slice(&reply.body).map_err(|_| self.malformed("balance"))?;
        balance
            .into_model()
            .ok_or_else(|| self.malformed("balance"))
    }
}
