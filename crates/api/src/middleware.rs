//! Per-request context: the request id (accepted or generated, echoed, in every log line),
//! Prometheus metrics by route template and status, the access line in the log, and the
//! error envelope for responses that actix produced without one (404, 405, …).

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use topup_core::ErrorCode;
use tracing::Instrument;

use crate::{ApiError, AppState};

/// The method as a metrics label: the standard ones by name, anything invented as `other`,
/// so a client cannot grow the label set (`docs/security.md#metrics-labels`).
fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    const STANDARD: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    STANDARD
        .iter()
        .find(|(standard, _)| standard == method)
        .map_or("other", |(_, label)| label)
}

/// Marks a 404 answered by a catch-all route (the front ends), so the metrics label it
/// `unmatched` like any other unknown path.
#[derive(Debug, Clone, Copy)]
pub struct UnmatchedRoute;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served on this task, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Accepts a caller's id only if it is short and plain, so it cannot forge log lines.
fn accepted_request_id(value: Option<&HeaderValue>) -> Option<String> {
    let text = value?.to_str().ok()?;
    let plain = !text.is_empty()
        && text.len() <= 128
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    plain.then(|| text.to_owned())
}

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let labels = ["method", "route", "status"];
        // Construction only fails on invalid names, which are constants here.
        let requests = IntCounterVec::new(
            Opts::new("topup_http_requests_total", "HTTP requests served"),
            &labels,
        )
        .unwrap_or_else(|_| unreachable!("metric names are valid"));
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "topup_http_request_duration_seconds",
                "HTTP request latency in seconds",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ]),
            &labels,
        )
        .unwrap_or_else(|_| unreachable!("metric names are valid"));
        let _ = registry.register(Box::new(requests.clone()));
        let _ = registry.register(Box::new(latency.clone()));
        Metrics {
            registry,
            requests,
            latency,
        }
    }

    /// Lets other parts of the system add their own collectors (workers, providers).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }

    /// Prometheus text exposition format.
    pub fn render(&self) -> String {
        prometheus::TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = accepted_request_id(req.headers().get(&REQUEST_ID_HEADER))
        .unwrap_or_else(|| ulid::Ulid::new().to_string());
    let method = req.method().clone();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        path = %req.path(),
    );
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.metrics.clone());
    // Handlers and extractors turn their errors into responses inside this scope, so those
    // carry the id; only a failing middleware returns `Err` past it.
    let served = REQUEST_ID.scope(request_id.clone(), next.call(req));
    let mut response = served.instrument(span.clone()).await?.map_into_boxed_body();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let unmatched = response
        .response()
        .extensions()
        .get::<UnmatchedRoute>()
        .is_some();
    let route = response
        .request()
        .match_pattern()
        .filter(|_| !unmatched)
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    if let Some(metrics) = metrics {
        metrics.observe(method_label(&method), &route, status, elapsed.as_secs_f64());
    }
    span.in_scope(|| {
        tracing::info!(
            status,
            route = %route,
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            "served"
        );
    });
    Ok(response)
}

fn code_for_status(status: u16) -> ErrorCode {
    match status {
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::RouteNotFound,
        405 => ErrorCode::MethodNotAllowed,
        413 => ErrorCode::PayloadTooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        429 => ErrorCode::RateLimited,
        503 => ErrorCode::Unavailable,
        500..=599 => ErrorCode::Internal,
        _ => ErrorCode::BadRequest,
    }
}

/// Wraps bare error responses (no JSON body) in the envelope.
pub async fn envelope_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // The sandboxes answer as the services they stand in for, error bodies included.
    let is_sandbox = req.path().starts_with("/sandbox/");
    let response = next.call(req).await?.map_into_boxed_body();
    let status = response.status();
    if is_sandbox {
        return Ok(response);
    }
    if !(status.is_client_error() || status.is_server_error()) {
        return Ok(response);
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return Ok(response);
    }
    let code = code_for_status(status.as_u16());
    let (request, _) = response.into_parts();
    let message = match code {
        ErrorCode::RouteNotFound => format!("no route for {} {}", request.method(), request.path()),
        ErrorCode::MethodNotAllowed => {
            format!(
                "method {} not allowed on {}",
                request.method(),
                request.path()
            )
        }
        _ => status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_owned(),
    };
    let body = ApiError::new(code, message).body();
    let rebuilt = HttpResponse::build(status).json(body);
    Ok(ServiceResponse::new(request, rebuilt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_request_ids_are_accepted() {
        let ok = HeaderValue::from_static("abc-123_x.y");
        assert_eq!(
            accepted_request_id(Some(&ok)).as_deref(),
            Some("abc-123_x.y")
        );
        let bad = HeaderValue::from_static("a b\"}");
        assert_eq!(accepted_request_id(Some(&bad)), None);
        let long = HeaderValue::from_str(&"x".repeat(129)).unwrap();
        assert_eq!(accepted_request_id(Some(&long)), None);
    }
}
