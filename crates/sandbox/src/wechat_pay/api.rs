//! The HTTP face of the sandbox: request authentication (`docs/protocols.md#signing-requests`
//! from the receiving side), signed answers (`#verifying-responses-and-callbacks` from the
//! sending side), WeChat's error shape.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Value, json};
use topup_core::Timestamp;

use super::Inner;
use super::crypto::random_alphanumeric;

/// Signed requests older or newer than this are refused, as WeChat does.
const MAX_SKEW_SECONDS: i64 = 300;

/// An error answer in WeChat's shape: `{"code", "message", "detail"?}`.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub detail: Option<Value>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            detail: None,
        }
    }

    pub fn sign_error(issue: impl Into<String>) -> Self {
        let issue = issue.into();
        ApiError {
            status: 401,
            code: "SIGN_ERROR",
            message: format!("signature verification failed: {issue}"),
            detail: Some(json!({ "issue": issue })),
        }
    }

    /// 400 PARAM_ERROR naming the field by its JSON pointer, as WeChat's `detail` does.
    pub fn param(field: &str, issue: impl Into<String>) -> Self {
        let issue = issue.into();
        ApiError {
            status: 400,
            code: "PARAM_ERROR",
            message: format!("invalid parameter {field}: {issue}"),
            detail: Some(json!({ "location": "body", "field": field, "issue": issue })),
        }
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        ApiError::new(400, "INVALID_REQUEST", message)
    }

    pub fn system_error() -> Self {
        ApiError::new(
            500,
            "SYSTEM_ERROR",
            "system busy, retry with the same parameters",
        )
    }

    pub fn body(&self) -> Value {
        let mut body = json!({ "code": self.code, "message": self.message });
        if let Some(detail) = &self.detail {
            body["detail"] = detail.clone();
        }
        body
    }
}

/// A successful answer: a status and an optional JSON body.
pub(crate) struct Answer {
    pub status: u16,
    pub body: Option<Value>,
}

impl Answer {
    pub fn ok(body: Value) -> Self {
        Answer {
            status: 200,
            body: Some(body),
        }
    }

    pub fn no_content() -> Self {
        Answer {
            status: 204,
            body: None,
        }
    }
}

/// The parameters of an `Authorization: WECHATPAY2-SHA256-RSA2048 k="v",…` header.
#[derive(Debug, Default)]
struct Authorization {
    mchid: String,
    nonce_str: String,
    timestamp: String,
    serial_no: String,
    signature: String,
}

fn parse_authorization(value: &str) -> Result<Authorization, ApiError> {
    let params = value
        .strip_prefix("WECHATPAY2-SHA256-RSA2048 ")
        .ok_or_else(|| {
            ApiError::sign_error("authorization type must be WECHATPAY2-SHA256-RSA2048")
        })?;
    let mut auth = Authorization::default();
    for pair in params.split(',') {
        let (name, quoted) = pair
            .trim()
            .split_once('=')
            .ok_or_else(|| ApiError::sign_error("malformed authorization parameter"))?;
        let value = quoted
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or_else(|| ApiError::sign_error(format!("{name} must be quoted")))?
            .to_string();
        match name {
            "mchid" => auth.mchid = value,
            "nonce_str" => auth.nonce_str = value,
            "timestamp" => auth.timestamp = value,
            "serial_no" => auth.serial_no = value,
            "signature" => auth.signature = value,
            _ => return Err(ApiError::sign_error(format!("unknown parameter {name}"))),
        }
    }
    for (name, value) in [
        ("mchid", &auth.mchid),
        ("nonce_str", &auth.nonce_str),
        ("timestamp", &auth.timestamp),
        ("serial_no", &auth.serial_no),
        ("signature", &auth.signature),
    ] {
        if value.is_empty() {
            return Err(ApiError::sign_error(format!("{name} is missing")));
        }
    }
    Ok(auth)
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

impl Inner {
    /// Checks a merchant request the way WeChat's gateway does.
    pub(crate) fn authenticate(
        &self,
        req: &HttpRequest,
        body: &[u8],
        now: Timestamp,
    ) -> Result<(), ApiError> {
        let value = header(req, "Authorization")
            .ok_or_else(|| ApiError::sign_error("Authorization header is missing"))?;
        let auth = parse_authorization(value)?;
        if auth.mchid != self.mchid {
            return Err(ApiError::sign_error("mchid does not match the merchant"));
        }
        if !auth
            .serial_no
            .eq_ignore_ascii_case(&self.merchant_serial_no)
        {
            return Err(ApiError::sign_error(
                "serial_no is not the merchant certificate serial",
            ));
        }
        let timestamp: i64 = auth
            .timestamp
            .parse()
            .map_err(|_| ApiError::sign_error("timestamp is not unix seconds"))?;
        if (now.unix_seconds() - timestamp).abs() > MAX_SKEW_SECONDS {
            return Err(ApiError::sign_error("timestamp is more than 5 minutes off"));
        }
        let path_and_query = req
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str())
            .unwrap_or_else(|| req.uri().path());
        let mut message = Vec::with_capacity(body.len() + 128);
        for line in [
            req.method().as_str().as_bytes(),
            path_and_query.as_bytes(),
            auth.timestamp.as_bytes(),
            auth.nonce_str.as_bytes(),
            body,
        ] {
            message.extend_from_slice(line);
            message.push(b'\n');
        }
        if !self
            .merchant_verifier
            .verify_base64(&message, &auth.signature)
        {
            return Err(ApiError::sign_error(
                "signature does not match method, path, timestamp, nonce and body",
            ));
        }
        // Past the signature: the headers WeChat insists on.
        if header(req, "User-Agent").is_none_or(|ua| ua.trim().is_empty()) {
            return Err(ApiError::invalid_request("User-Agent header is required"));
        }
        if !header(req, "Accept")
            .is_some_and(|a| a.contains("application/json") || a.contains("*/*"))
        {
            return Err(ApiError::invalid_request("Accept must be application/json"));
        }
        if !body.is_empty()
            && !header(req, "Content-Type").is_some_and(|c| c.starts_with("application/json"))
        {
            return Err(ApiError::invalid_request(
                "Content-Type must be application/json",
            ));
        }
        if header(req, "Wechatpay-Serial").is_some_and(|serial| !self.is_platform_serial(serial)) {
            return Err(ApiError::invalid_request(
                "Wechatpay-Serial names no WeChat Pay key of this merchant",
            ));
        }
        Ok(())
    }

    /// Any answer, signed with the current platform key over its exact body bytes.
    pub(crate) fn signed_response(&self, status: u16, body: Option<&Value>) -> HttpResponse {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let timestamp = self.clock.now().unix_seconds().to_string();
        let (signer, serial) = self.current_signer();
        let signed = random_alphanumeric(32).and_then(|nonce| {
            let mut message = Vec::with_capacity(bytes.len() + 64);
            for line in [timestamp.as_bytes(), nonce.as_bytes(), &bytes] {
                message.extend_from_slice(line);
                message.push(b'\n');
            }
            signer.sign_base64(&message).map(|sig| (nonce, sig))
        });
        let Ok((nonce, signature)) = signed else {
            return HttpResponse::InternalServerError().finish();
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = HttpResponse::build(status);
        response
            .insert_header(("Wechatpay-Timestamp", timestamp))
            .insert_header(("Wechatpay-Nonce", nonce))
            .insert_header(("Wechatpay-Signature", signature))
            .insert_header(("Wechatpay-Serial", serial.to_string()))
            .insert_header(("Request-ID", self.next_request_id()));
        if body.is_some() {
            response.content_type("application/json").body(bytes)
        } else {
            response.finish()
        }
    }

    pub(crate) fn error_response(&self, error: &ApiError) -> HttpResponse {
        self.signed_response(error.status, Some(&error.body()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const GOOD: &str = concat!(
        "WECHATPAY2-SHA256-RSA2048 mchid=\"1900007291\",nonce_str=\"N1\",",
        "timestamp=\"1554208460\",serial_no=\"ABC\",signature=\"xy/z+==\""
    );

    #[test]
    fn authorization_parameters_are_parsed_with_base64_padding_intact() {
        let auth = parse_authorization(GOOD).unwrap();
        assert_eq!(auth.signature, "xy/z+==");
        assert_eq!(auth.mchid, "1900007291");
        assert_eq!(auth.timestamp, "1554208460");
        let trailing_comma = format!("{GOOD},");
        assert!(parse_authorization(&trailing_comma).is_err());
    }

    #[test]
    fn other_schemes_and_missing_parameters_are_sign_errors() {
        for value in [
            "Bearer abc",
            r#"WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n",timestamp="1",serial_no="s""#,
            r#"WECHATPAY2-SHA256-RSA2048 mchid=1,nonce_str="n",timestamp="1",serial_no="s",signature="x""#,
        ] {
            let error = parse_authorization(value).unwrap_err();
            assert_eq!((error.status, error.code), (401, "SIGN_ERROR"), "{value}");
        }
    }
}
