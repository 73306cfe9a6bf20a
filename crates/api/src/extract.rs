//! Extractors whose failures say which field is wrong: a missing, unknown or mistyped field of
//! a JSON body, or a bad query parameter, answers 400 `VALIDATION_FAILED` with
//! `details.fields.<name>: [reason]`. A body that is not JSON at all stays `MALFORMED_JSON`.
//!
//! Every handler takes these instead of actix's `web::Json` / `web::Query`, and every list
//! takes [`Paging`] for `page` / `page_size` (which [`Query`] leaves to it).

use std::future::{Ready, ready};
use std::ops::{Deref, DerefMut};

use actix_web::dev::Payload;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::{FromRequest, HttpRequest, HttpResponse, Responder, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use topup_core::{ErrorCode, PageRequest};

use crate::{ApiError, AppState};

/// The query parameters [`Paging`] reads; [`Query`] hands the rest to its type.
const PAGING_KEYS: [&str; 2] = ["page", "page_size"];

/// `VALIDATION_FAILED` naming one field.
pub fn field_error(field: &str, reason: impl Into<String>) -> ApiError {
    let reason = reason.into();
    ApiError::new(
        ErrorCode::ValidationFailed,
        format!("invalid input: {field}: {reason}"),
    )
    .with_details(json!({ "fields": { field: [reason] } }))
}

/// serde's message without serde_json's " at line 1 column 9".
fn without_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(at) => &message[..at],
        None => message,
    }
}

/// The field a deserialization error is about, and why, from the path serde walked and the
/// message (missing and unknown fields are named only in the message).
fn describe(path: &str, message: &str) -> (String, String) {
    let message = without_position(message);
    let named = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    let parent = match path {
        "" | "." | "?" => None,
        other => Some(other.to_owned()),
    };
    let join = |name: String| match &parent {
        Some(parent) if parent == &name || parent.ends_with(&format!(".{name}")) => parent.clone(),
        Some(parent) => format!("{parent}.{name}"),
        None => name,
    };
    if let Some(name) = named("missing field `") {
        return (join(name), "required".to_owned());
    }
    if let Some(name) = named("unknown field `") {
        return (join(name), "unknown field".to_owned());
    }
    (
        parent.unwrap_or_else(|| "body".to_owned()),
        message.to_owned(),
    )
}

/// Parses a JSON body into `T`, naming the field on failure.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let parsed = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| (error.path().to_string(), error.into_inner()))
        .and_then(|value: T| {
            deserializer
                .end()
                .map(|()| value)
                .map_err(|error| (String::new(), error))
        });
    parsed.map_err(|(path, inner)| match inner.classify() {
        serde_json::error::Category::Data => {
            let (field, reason) = describe(&path, &inner.to_string());
            field_error(&field, reason)
        }
        _ => ApiError::new(
            ErrorCode::MalformedJson,
            format!("the body is not valid JSON: {inner}"),
        ),
    })
}

/// A JSON body (extractor) or answer (responder).
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: Serialize> Responder for Json<T> {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, req: &HttpRequest) -> HttpResponse {
        web::Json(self.0).respond_to(req).map_into_boxed_body()
    }
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("body larger than {limit} bytes"),
    )
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map_or(64 * 1024, |state| state.max_json_bytes);
        let json = is_json(req);
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !json {
                return Err(ApiError::new(
                    ErrorCode::UnsupportedMediaType,
                    "expected Content-Type: application/json",
                ));
            }
            if declared.is_some_and(|length| length > limit) {
                return Err(too_large(limit));
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|error| {
                    ApiError::new(
                        ErrorCode::MalformedJson,
                        format!("the body could not be read: {error}"),
                    )
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large(limit));
                }
                body.extend_from_slice(&chunk);
            }
            parse_json(&body).map(Json)
        })
    }
}

/// Query parameters deserialized into `T` (which may deny unknown ones); `page` and
/// `page_size` are [`Paging`]'s and never reach `T`.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Parses a query string into `T`, leaving out the paging keys.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(key, _)| !PAGING_KEYS.contains(&key.as_ref()))
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    let rest = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pairs)
        .finish();
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(rest.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let (field, reason) = describe(&path, &error.into_inner().to_string());
        field_error(&field, reason)
    })
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_query(req.query_string()).map(Query))
    }
}

/// `?page=1&page_size=20`, validated: `page` ≥ 1, `page_size` 1 to 100.
#[derive(Debug, Clone, Copy)]
pub struct Paging(pub PageRequest);

impl Deref for Paging {
    type Target = PageRequest;
    fn deref(&self) -> &PageRequest {
        &self.0
    }
}

/// Reads the paging keys of a query string.
pub fn parse_paging(query: &str) -> Result<PageRequest, ApiError> {
    let mut page = 1u32;
    let mut page_size = 20u32;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let (slot, name) = match key.as_ref() {
            "page" => (&mut page, "page"),
            "page_size" => (&mut page_size, "page_size"),
            _ => continue,
        };
        *slot = value
            .parse::<u32>()
            .map_err(|_| field_error(name, "must be a whole number"))?;
    }
    if page == 0 {
        return Err(field_error("page", "must be at least 1"));
    }
    if page_size == 0 || page_size > PageRequest::MAX_PAGE_SIZE {
        return Err(field_error(
            "page_size",
            format!("must be 1 to {}", PageRequest::MAX_PAGE_SIZE),
        ));
    }
    PageRequest::new(page, page_size).map_err(ApiError::from)
}

impl FromRequest for Paging {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_paging(req.query_string()).map(Paging))
    }
}

/// The `details.fields` of a validation error, for tests and callers.
pub fn fields_of(error: &ApiError) -> Option<&Value> {
    error
        .details
        .as_ref()
        .and_then(|details| details.get("fields"))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        plan_id: String,
        phone: String,
        amount: Option<Amount>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Amount {
        amount: i64,
        currency: String,
    }

    fn fields(error: ApiError) -> Value {
        assert_eq!(error.code, ErrorCode::ValidationFailed, "{error}");
        fields_of(&error).unwrap().clone()
    }

    #[test]
    fn a_missing_field_is_named() {
        let error = parse_json::<Body>(br#"{"plan_id":"p"}"#).unwrap_err();
        assert_eq!(fields(error), json!({"phone": ["required"]}));
    }

    #[test]
    fn an_unknown_field_is_named() {
        let error = parse_json::<Body>(br#"{"plan_id":"p","phone":"1","coupon":1}"#).unwrap_err();
        assert_eq!(fields(error), json!({"coupon": ["unknown field"]}));
    }

    #[test]
    fn a_mistyped_nested_field_is_named_by_its_path() {
        let error = parse_json::<Body>(
            br#"{"plan_id":"p","phone":"1","amount":{"amount":"5","currency":"CNY"}}"#,
        )
        .unwrap_err();
        let fields = fields(error);
        let reasons = fields["amount.amount"].as_array().unwrap();
        assert!(
            reasons[0].as_str().unwrap().contains("expected i64"),
            "{fields}"
        );
        let missing = parse_json::<Body>(br#"{"plan_id":"p","phone":"1","amount":{"amount":5}}"#)
            .unwrap_err();
        assert_eq!(
            fields_of(&missing).unwrap(),
            &json!({"amount.currency": ["required"]})
        );
    }

    #[test]
    fn a_body_that_is_not_json_stays_malformed() {
        for body in [
            &b"{"[..],
            b"plan_id=1",
            b"{\"plan_id\":\"p\",\"phone\":\"1\"} x",
        ] {
            let error = parse_json::<Body>(body).unwrap_err();
            assert_eq!(error.code, ErrorCode::MalformedJson, "{error}");
        }
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Filter {
        state: Option<String>,
        min: Option<i64>,
    }

    #[test]
    fn query_parameters_are_named_and_paging_is_left_to_paging() {
        assert!(parse_query::<Filter>("state=paid&page=2&page_size=5").is_ok());
        let error = parse_query::<Filter>("min=ten").unwrap_err();
        assert!(fields(error).get("min").is_some());
        let error = parse_query::<Filter>("colour=red").unwrap_err();
        assert_eq!(fields(error), json!({"colour": ["unknown field"]}));
    }

    #[test]
    fn paging_is_validated_with_the_field_named() {
        assert_eq!(parse_paging("").unwrap(), PageRequest::new(1, 20).unwrap());
        assert_eq!(
            parse_paging("page=3&page_size=50&state=x").unwrap(),
            PageRequest::new(3, 50).unwrap()
        );
        for (query, field) in [
            ("page=-1", "page"),
            ("page=0", "page"),
            ("page_size=101", "page_size"),
            ("page_size=abc", "page_size"),
        ] {
            let error = parse_paging(query).unwrap_err();
            assert!(fields(error).get(field).is_some(), "{query}");
        }
    }
}
