//! HTTP layer: authentication, `Accept` negotiation, rate limiting and JSON translation in
//! front of [`super::state`].

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use serde::{Deserialize, Serialize};
use topup_core::{CountryCode, Decimal, Msisdn};

use super::state::{
    ACCOUNT_CURRENCY, ACCOUNT_CURRENCY_NAME, ApiError, RateInfo, TopupInput, TxStatus,
};
use super::wire::{
    AsyncAccepted, BalanceBody, CountryBody, ErrorBody, Num, OperatorBody, PageBody, TokenBody,
    TokenRequest, TopupRequestBody, TransactionBody, WrappedStatus, parse_decimal, raw_scalar,
    reloadly_time,
};
use super::{ACCEPT, ReloadlySandbox, StatusShape};

type Sandbox = web::Data<ReloadlySandbox>;

const API_CONTENT_TYPE: &str = "application/com.reloadly.topups-v1+json;charset=UTF-8";

pub(super) fn configure(sandbox: ReloadlySandbox) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(sandbox));
        cfg.service(web::scope("/auth").route("/oauth/token", web::post().to(token)));
        cfg.service(
            web::scope("/topups")
                .route("/countries", web::get().to(countries))
                .route("/countries/{iso}", web::get().to(country))
                .route("/operators", web::get().to(all_operators))
                .route(
                    "/operators/auto-detect/phone/{phone}/countries/{iso}",
                    web::get().to(auto_detect),
                )
                .route(
                    "/operators/countries/{iso}",
                    web::get().to(country_operators),
                )
                .route("/operators/{id}", web::get().to(operator))
                .route("/topups", web::post().to(topup))
                .route("/topups-async", web::post().to(topup_async))
                .route("/topups/reports/transactions", web::get().to(report))
                .route(
                    "/topups/reports/transactions/{id}",
                    web::get().to(report_one),
                )
                .route("/topups/{id}/status", web::get().to(status))
                .route("/accounts/balance", web::get().to(balance))
                .default_service(web::to(not_found)),
        );
    }
}

fn json_body(
    mut builder: HttpResponseBuilder,
    content_type: &str,
    body: &impl Serialize,
) -> HttpResponse {
    match serde_json::to_vec(body) {
        Ok(bytes) => builder.content_type(content_type).body(bytes),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

fn status_of(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn error(sandbox: &ReloadlySandbox, error: &ApiError, path: &str) -> HttpResponse {
    error_with(sandbox, error, path, None)
}

fn error_with(
    sandbox: &ReloadlySandbox,
    error: &ApiError,
    path: &str,
    rate: Option<RateInfo>,
) -> HttpResponse {
    let mut builder = HttpResponse::build(status_of(error.status));
    if let Some(rate) = rate {
        rate_headers(&mut builder, rate);
    }
    json_body(
        builder,
        API_CONTENT_TYPE,
        &ErrorBody::new(error, path, sandbox.now()),
    )
}

fn ok(rate: RateInfo, body: &impl Serialize) -> HttpResponse {
    let mut builder = HttpResponse::Ok();
    rate_headers(&mut builder, rate);
    json_body(builder, API_CONTENT_TYPE, body)
}

fn rate_headers(builder: &mut HttpResponseBuilder, rate: RateInfo) {
    builder.insert_header(("X-RateLimit-Limit", rate.limit.to_string()));
    builder.insert_header(("X-RateLimit-Remaining", rate.remaining.to_string()));
    builder.insert_header(("X-RateLimit-Reset", rate.reset_seconds.to_string()));
}

fn accepts_reloadly(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| part.split(';').next().map(str::trim) == Some(ACCEPT))
}

/// Authentication, then `Accept`, then the rate limit, in the order Reloadly's filters run.
fn guard(
    req: &HttpRequest,
    sandbox: &ReloadlySandbox,
    path: &str,
) -> Result<RateInfo, Box<HttpResponse>> {
    let now = sandbox.now();
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let mut state = sandbox.state();
    let client = state
        .authenticate(authorization, now)
        .map_err(|e| Box::new(error(sandbox, &e, path)))?;
    if !accepts_reloadly(req) {
        let refusal = ApiError::without_code(406, "Could not find acceptable representation");
        return Err(Box::new(error(sandbox, &refusal, path)));
    }
    let rate = state.rate(&client, sandbox.config().rate_limit_per_second, now);
    if rate.limited {
        let mut builder = HttpResponse::TooManyRequests();
        rate_headers(&mut builder, rate);
        builder.insert_header(("Retry-After", rate.reset_seconds.to_string()));
        let refusal = ApiError::new(429, "TOO_MANY_REQUESTS", "Too many requests");
        return Err(Box::new(json_body(
            builder,
            API_CONTENT_TYPE,
            &ErrorBody::new(&refusal, path, now),
        )));
    }
    state.settle(now);
    Ok(rate)
}

async fn token(req: HttpRequest, body: web::Bytes, sandbox: Sandbox) -> HttpResponse {
    let path = "/oauth/token";
    let auth_error = |e: &ApiError| {
        json_body(
            HttpResponse::build(status_of(e.status)),
            "application/json",
            &ErrorBody::new(e, path, sandbox.now()),
        )
    };
    if !is_json(&req) {
        return auth_error(&ApiError::without_code(415, "Content type not supported"));
    }
    let Ok(request) = serde_json::from_slice::<TokenRequest>(&body) else {
        return auth_error(&ApiError::new(
            400,
            "INVALID_REQUEST",
            "Malformed JSON request",
        ));
    };
    let (Some(client_id), Some(client_secret), Some(grant_type)) =
        (request.client_id, request.client_secret, request.grant_type)
    else {
        return auth_error(&ApiError::new(
            400,
            "INVALID_REQUEST",
            "client_id, client_secret and grant_type are required",
        ));
    };
    let audience = request.audience.unwrap_or_default();
    let now = sandbox.now();
    let issued = sandbox.state().issue_token(
        sandbox.config(),
        &client_id,
        &client_secret,
        &grant_type,
        &audience,
        now,
    );
    match issued {
        Ok((access_token, expires_in)) => json_body(
            HttpResponse::Ok(),
            "application/json",
            &TokenBody {
                access_token,
                scope: "developer",
                expires_in,
                token_type: "Bearer",
            },
        ),
        Err(e) => auth_error(&e),
    }
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().eq_ignore_ascii_case("application/json"))
        .unwrap_or(false)
}

async fn countries(req: HttpRequest, sandbox: Sandbox) -> HttpResponse {
    let rate = match guard(&req, &sandbox, "/countries") {
        Ok(rate) => rate,
        Err(response) => return *response,
    };
    let body: Vec<CountryBody> = sandbox
        .listed_catalog()
        .countries
        .iter()
        .map(CountryBody::new)
        .collect();
    ok(rate, &body)
}

async fn country(req: HttpRequest, iso: web::Path<String>, sandbox: Sandbox) -> HttpResponse {
    let path = format!("/countries/{iso}");
    let rate = match guard(&req, &sandbox, &path) {
        Ok(rate) => rate,
        Err(response) => return *response,
    };
    match sandbox.listed_catalog().country(&iso) {
        Some(c) => ok(rate, &CountryBody::new(c)),
        None => error_with(&sandbox, &country_not_supported(), &path, Some(rate)),
    }
}

fn country_not_supported() -> ApiError {
    ApiError::new(
        404,
        "COUNTRY_NOT_SUPPORTED",
        "Country not found or not supported",
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OperatorQuery {
    page: Option<usize>,
    size: Option<usize>,
    include_bundles: Option<bool>,
    include_data: Option<bool>,
}

fn operator_query(req: &HttpRequest) -> Result<OperatorQuery, ApiError> {
    web::Query::<OperatorQuery>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|_| ApiError::new(400, "INVALID_REQUEST", "Invalid query parameters"))
}

fn wanted(query: &OperatorQuery, o: &super::catalog::Operator) -> bool {
    (query.include_bundles.unwrap_or(true) || !o.bundle)
        && (query.include_data.unwrap_or(true) || !o.data)
}

async fn all_operators(req: HttpRequest, sandbox: Sandbox) -> HttpResponse {
    let path = "/operators";
    let rate = match guard(&req, &sandbox, path) {
        Ok(rate) => rate,
        Err(response) => return *response,
    };
    let query = match operator_query(&req) {
        Ok(q) => q,
        Err(e) => return error_with(&sandbox, &e, path, Some(rate)),
    };
    let catalog = &sandbox.listed_catalog();
    let logos = &sandbox.config().logo_base_url;
    let all: Vec<OperatorBody> = catalog
        .operators
        .iter()
        .filter(|o| wanted(&query, o))
        .map(|o| OperatorBody::new(catalog, o, logos))
        .collect();
    ok(
        rate,
        &PageBody::new(all, query.page.unwrap_or(1), query.size.unwrap_or(200)),
    )
}

async fn country_operators(
    req: HttpRequest,
    iso: web::Path<String>,
    sandbox: Sandbox,
) -> HttpResponse {
    let path = format!("/operators/countries/{iso}");
    let rate = match guard(&req, &sandbox, &path) {
        Ok(rate) => rate,
        Err(response) => return *response,
    };
    let query = match operator_query(&req) {
        Ok(q) => q,
        Err(e) => return error_with(&sandbox, &e, &path, Some(rate)),
    };
    let catalog = &sandbox.listed_catalog();
    if catalog.country(&iso).is_none() {
        return error_with(&sandbox, &country_not_supported(), &path, Some(rate));
    }
    let logos = &sandbox.config().logo_base_url;
    let body: Vec<OperatorBody> = catalog
        .operators_of(&iso)
        .filter(|o| wanted(&query, o))
        .map(|o| OperatorBody::new(catalog, o, logos))
        .collect();
    ok(rate, &body)
}

fn operator_not_found() -> ApiError {
    ApiError::new(
        404,
        "OPERATOR_NOT_FOUND",
        "Operator not found or not supported",
    )
}

async fn operator(req: HttpRequest, id: web::Path<String>, sandbox: Sandbox) -> HttpResponse {
    let path = format!("/operators/{id}");
    let rate = match guard(&req, &sandbox, &path) {
        Ok(rate) => rate,
        Err(response) => return *response,
    };
    let catalog = &sandbox.listed_catalog();
    match id.parse::<u64>().ok().and_then(|id| catalog.operator(id)) {
        Some(o) => ok(
            rate,
            &OperatorBody::new(catalog, o, &sandbox.config().logo_base_url),
        ),
        None => error_with(&sandbox, &operator_not_found(), &path, Some(rate)),
    }
}

async fn auto_detect(
    req: HttpRequest,
    params: web::Path<(String, String)>,
    sandbox: Sandbox,
) -> HttpResponse {
    let (phone, iso) = params.into_inner();
    let path = format!("/operators/auto-detect/phone/{phone}/countries/{iso}");
    let rate = match guard(&req, &sandbox, &path) {
        Ok(rate) => rate,
        Err(response) => return *response,
    };
    sandbox.state().count_detect_request();
    let Ok(country) = CountryCode::parse(&iso) else {
        let e = ApiError::new(
            400,
            "INVALID_COUNTRY_CODE",
            "Country code must be 2 characters ISO-Alpha-2 country code",
        );
        return error_with(&sandbox, &e, &path, Some(rate));
    };
    let undetected = ApiError::new(
        404,
        "COULD_NOT_AUTO_DETECT_OPERATOR",
        "Could not auto detect operator for the given phone number",
    );
    let digits: String = phone.chars().filter(|c| c.is_ascii_digit()).collect();
    let parsed = Msisdn::parse(&digits, Some(country))
        .or_else(|_| Msisdn::parse(&format!("+{digits}"), None))
        .ok()
        .filter(|m| m.country() == country);
    let catalog = &sandbox.listed_catalog();
    match parsed.and_then(|m| catalog.detect(country.as_str(), &m.national_digits())) {
        Some(o) => ok(
            rate,
            &OperatorBody::new(catalog, o, &sandbox.config().logo_base_url),
        ),
        None => error_with(&sandbox, &undetected, &path, Some(rate)),
    }
}

async fn topup(req: HttpRequest, body: web::Bytes, sandbox: Sandbox) -> HttpResponse {
    submit(req, body, sandbox, false).await
}

async fn topup_async(req: HttpRequest, body: web::Bytes, sandbox: Sandbox) -> HttpResponse {
    submit(req, body, sandbox, true).await
}

fn parse_topup(body: &[u8]) -> Result<TopupInput, ApiError> {
    let request: TopupRequestBody = serde_json::from_slice(body)
        .map_err(|_| ApiError::new(400, "INVALID_REQUEST", "Malformed JSON request"))?;
    let operator_id = request
        .operator_id
        .as_deref()
        .and_then(raw_scalar)
        .and_then(|t| t.trim().parse::<u64>().ok())
        .ok_or_else(|| ApiError::invalid_field("operatorId", "must be a valid operator id"))?;
    let amount: Decimal = request
        .amount
        .as_deref()
        .and_then(raw_scalar)
        .and_then(|t| parse_decimal(&t))
        .ok_or_else(|| ApiError::invalid_field("amount", "must be a number"))?;
    let recipient = request
        .recipient_phone
        .ok_or_else(|| ApiError::invalid_field("recipientPhone", "must not be null"))?;
    let (Some(recipient_country), Some(recipient_number)) =
        (recipient.country_code, recipient.number)
    else {
        return Err(ApiError::invalid_field(
            "recipientPhone",
            "countryCode and number are required",
        ));
    };
    let sender_phone = request
        .sender_phone
        .and_then(|p| p.number)
        .map(|n| n.chars().filter(char::is_ascii_digit).collect());
    Ok(TopupInput {
        operator_id,
        amount,
        use_local_amount: request.use_local_amount.unwrap_or(false),
        custom_identifier: request.custom_identifier.filter(|k| !k.is_empty()),
        recipient_country,
        recipient_number,
        sender_phone,
    })
}

async fn submit(
    req: HttpRequest,
    body: web::Bytes,
    sandbox: Sandbox,
    asynchronous: bool,
) -> HttpResponse {
    let path = if asynchronous {
        "/topups-async"
    } else {
        "/topups"
    };
    let rate = match guard(&req, &sandbox, path) {
        Ok(rate) => rate,
        Err(response) => return *response,
    };
    if !is_json(&req) {
        let e = ApiError::without_code(415, "Content type not supported");
        return error_with(&sandbox, &e, path, Some(rate));
    }
    let parsed = parse_topup(&body);
    let latency = sandbox.config().topup_latency;
    if !latency.is_zero() {
        // The provider's processing time: the request is committed at its end.
        tokio::time::sleep(latency).await;
    }
    let now = sandbox.now();
    let outcome = {
        let mut state = sandbox.state();
        state.count_topup_request(
            parsed
                .as_ref()
                .ok()
                .and_then(|i| i.custom_identifier.as_deref()),
        );
        parsed.and_then(|input| state.submit(sandbox.config(), &sandbox.inner.catalog, input, now))
    };
    match outcome {
        Err(e) => error_with(&sandbox, &e, path, Some(rate)),
        Ok(committed) if asynchronous => ok(
            rate,
            &AsyncAccepted {
                transaction_id: committed.transaction.id,
            },
        ),
        Ok(committed) => {
            let response = ok(rate, &TransactionBody::new(&committed.transaction, true));
            if committed.withhold_answer {
                // Committed, but the caller hears nothing before its timeout.
                tokio::time::sleep(sandbox.config().hang).await;
            }
            response
        }
    }
}

fn transaction_not_found() -> ApiError {
    ApiError::new(404, "TRANSACTION_NOT_FOUND", "Transaction not found")
}

async fn status(req: HttpRequest, id: web::Path<String>, sandbox: Sandbox) -> HttpResponse {
    let path = format!("/topups/{id}/status");
    let rate = match guard(&req, &sandbox, &path) {
        Ok(rate) => rate,
        Err(response) => return *response,
    };
    let found = id
        .parse::<u64>()
        .ok()
        .and_then(|id| sandbox.state().transaction(id).cloned());
    let Some(tx) = found else {
        return error_with(&sandbox, &transaction_not_found(), &path, Some(rate));
    };
    match sandbox.config().status_shape {
        StatusShape::Flat => ok(rate, &TransactionBody::new(&tx, true)),
        StatusShape::Wrapped => {
            let (code, message) = match tx.status {
                TxStatus::Refunded => (
                    Some("REFUNDED"),
                    Some("The operator could not complete the top-up; the amount was refunded"),
                ),
                _ => (None, None),
            };
            ok(
                rate,
                &WrappedStatus {
                    code,
                    message,
                    status: tx.status.as_str(),
                    transaction: TransactionBody::new(&tx, true),
                },
            )
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReportQuery {
    page: Option<usize>,
    size: Option<usize>,
    custom_identifier: Option<String>,
    country_code: Option<String>,
    operator_id: Option<u64>,
    /// `yyyy-MM-dd HH:mm:ss` or `yyyy-MM-dd`, UTC; both ends inclusive.
    start_date: Option<String>,
    end_date: Option<String>,
}

/// A report bound: a whole day starts at midnight (`start`) or ends at its last second.
fn report_bound(text: &str, end: bool) -> Option<topup_core::Timestamp> {
    let at = match chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S") {
        Ok(at) => at,
        Err(_) => {
            let day = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
            if end {
                day.and_hms_opt(23, 59, 59)?
            } else {
                day.and_hms_opt(0, 0, 0)?
            }
        }
    };
    Some(topup_core::Timestamp::from(at.and_utc()))
}

async fn report(req: HttpRequest, sandbox: Sandbox) -> HttpResponse {
    let path = "/topups/reports/transactions";
    let rate = match guard(&req, &sandbox, path) {
        Ok(rate) => rate,
        Err(response) => return *response,
    };
    let Ok(query) = web::Query::<ReportQuery>::from_query(req.query_string()) else {
        let e = ApiError::new(400, "INVALID_REQUEST", "Invalid query parameters");
        return error_with(&sandbox, &e, path, Some(rate));
    };
    let bound = |text: &Option<String>, end: bool| match text {
        None => Ok(None),
        Some(text) => report_bound(text, end).map(Some).ok_or(()),
    };
    let (Ok(start), Ok(end)) = (
        bound(&query.start_date, false),
        bound(&query.end_date, true),
    ) else {
        let e = ApiError::new(400, "INVALID_REQUEST", "Invalid date range");
        return error_with(&sandbox, &e, path, Some(rate));
    };
    // Whole seconds, as the report's dates are written.
    let second = |at: topup_core::Timestamp| at.as_datetime().timestamp();
    // Only the page asked for is turned into bodies: a client reading a long report page by
    // page pays for each page, not for the whole report every time.
    let state = sandbox.state();
    // One key names at most one transaction: found by the index, not a scan.
    let candidates: Vec<_> = match query.custom_identifier.as_deref() {
        Some(key) => state.transaction_by_key(key).into_iter().collect(),
        None => state.transactions().iter().rev().collect(),
    };
    let matching: Vec<_> = candidates
        .into_iter()
        .filter(|t| {
            query
                .country_code
                .as_deref()
                .is_none_or(|c| t.country.eq_ignore_ascii_case(c))
        })
        .filter(|t| query.operator_id.is_none_or(|o| t.operator_id == o))
        .filter(|t| start.is_none_or(|s| second(t.created_at) >= second(s)))
        .filter(|t| end.is_none_or(|e| second(t.created_at) <= second(e)))
        .collect();
    let page = PageBody::new(matching, query.page.unwrap_or(1), query.size.unwrap_or(200))
        .map(|t| TransactionBody::new(t, false));
    drop(state);
    ok(rate, &page)
}

async fn report_one(req: HttpRequest, id: web::Path<String>, sandbox: Sandbox) -> HttpResponse {
    let path = format!("/topups/reports/transactions/{id}");
    let rate = match guard(&req, &sandbox, &path) {
        Ok(rate) => rate,
        Err(response) => return *response,
    };
    let found = id
        .parse::<u64>()
        .ok()
        .and_then(|id| sandbox.state().transaction(id).cloned());
    match found {
        Some(tx) => ok(rate, &TransactionBody::new(&tx, false)),
        None => error_with(&sandbox, &transaction_not_found(), &path, Some(rate)),
    }
}

async fn balance(req: HttpRequest, sandbox: Sandbox) -> HttpResponse {
    let rate = match guard(&req, &sandbox, "/accounts/balance") {
        Ok(rate) => rate,
        Err(response) => return *response,
    };
    let (balance, updated_at) = sandbox.state().balance();
    ok(
        rate,
        &BalanceBody {
            balance: Num(balance),
            currency_code: ACCOUNT_CURRENCY,
            currency_name: ACCOUNT_CURRENCY_NAME,
            updated_at: reloadly_time(updated_at),
        },
    )
}

/// Spring's own 404 shape, which Reloadly answers for unknown paths.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpringNotFound {
    time_stamp: String,
    status: u16,
    error: &'static str,
    message: &'static str,
    path: String,
}

async fn not_found(req: HttpRequest, sandbox: Sandbox) -> HttpResponse {
    json_body(
        HttpResponse::NotFound(),
        "application/json",
        &SpringNotFound {
            time_stamp: reloadly_time(sandbox.now()),
            status: 404,
            error: "Not Found",
            message: "No message available",
            path: req.path().to_owned(),
        },
    )
}
