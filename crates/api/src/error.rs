//! The one error envelope: `{"code", "message", "details"?, "request_id"}` with the status from
//! the error-code table, for handler errors and extractor failures alike.

use std::fmt;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Serialize;
use serde_json::Value;
use topup_auth::AuthError;
use topup_catalog::CatalogError;
use topup_core::{CoreError, ErrorCode};
use topup_payment::PaymentError;
use topup_store::StoreError;
use utoipa::ToSchema;

use crate::current_request_id;

/// What every failed request answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"code": "ROUTE_NOT_FOUND", "message": "no route for GET /nope", "request_id": "01JDZ8Q7Y7E3K9V6S2M4T1R0PA"}))]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `ORDER_NOT_FOUND`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// Structured context, e.g. per-field validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    /// The request's `X-Request-Id`, to find it in the logs.
    pub request_id: String,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    /// A failure on our side: logged with its cause, answered without it.
    pub fn internal(cause: impl fmt::Display) -> Self {
        tracing::error!(cause = %cause, "internal error");
        ApiError::new(
            ErrorCode::Internal,
            "internal error; quote the request id when reporting it",
        )
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code.as_str().to_owned(),
            message: self.message.clone(),
            details: self.details.clone(),
            request_id: current_request_id().unwrap_or_default(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code()).json(self.body())
    }
}

impl From<CoreError> for ApiError {
    fn from(error: CoreError) -> Self {
        let code = match &error {
            CoreError::InvalidPhone(_) | CoreError::NotMobile(_) => ErrorCode::InvalidPhone,
            CoreError::InvalidCountry(_) => ErrorCode::InvalidCountry,
            CoreError::InvalidPage { .. } => ErrorCode::InvalidQuery,
            CoreError::Overflow | CoreError::DivisionByZero => {
                return ApiError::internal(error);
            }
            _ => ErrorCode::BadRequest,
        };
        ApiError::new(code, error.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Duplicate { index, .. } => ApiError::new(
                ErrorCode::Conflict,
                format!("already exists (unique {index})"),
            )
            .with_details(serde_json::json!({ "index": index })),
            StoreError::Conflict { .. } => ApiError::new(
                ErrorCode::Conflict,
                "changed by someone else meanwhile; reload and retry",
            ),
            StoreError::NotFound { collection, .. } => ApiError::not_found(&collection),
            StoreError::Unavailable(cause) => {
                tracing::error!(%cause, "store unavailable");
                ApiError::new(
                    ErrorCode::Unavailable,
                    "storage is unavailable; retry later",
                )
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<CatalogError> for ApiError {
    fn from(error: CatalogError) -> Self {
        let code = match &error {
            CatalogError::UnknownCountry(_) => ErrorCode::InvalidCountry,
            CatalogError::InvalidPhone(_) => ErrorCode::InvalidPhone,
            CatalogError::InvalidQuery { field, reason } => {
                return crate::extract::field_error(field, reason.clone());
            }
            CatalogError::Invalid(_) => ErrorCode::ValidationFailed,
            CatalogError::NotFound { .. } => ErrorCode::NotFound,
            CatalogError::Conflict(_) | CatalogError::SyncInProgress => ErrorCode::Conflict,
            CatalogError::RateLimited {
                retry_after_seconds,
            } => {
                return ApiError::new(ErrorCode::RateLimited, error.to_string()).with_details(
                    serde_json::json!({ "retry_after_seconds": retry_after_seconds }),
                );
            }
            CatalogError::Provider(cause) => {
                // Provider errors never carry credentials (topup-recharge's contract).
                tracing::warn!(%cause, "provider call failed");
                ErrorCode::UpstreamFailed
            }
            CatalogError::Config(_) => return ApiError::internal(error),
            CatalogError::Store(_) | CatalogError::Core(_) => {
                return match error {
                    CatalogError::Store(e) => e.into(),
                    CatalogError::Core(e) => e.into(),
                    other => ApiError::internal(other),
                };
            }
        };
        ApiError::new(code, error.to_string())
    }
}

impl From<PaymentError> for ApiError {
    fn from(error: PaymentError) -> Self {
        if error.is_authentication_failure() {
            return ApiError::new(
                ErrorCode::Unauthorized,
                format!("WeChat Pay signature check failed: {error}"),
            );
        }
        let error = match error {
            PaymentError::Store(store) => return ApiError::from(store),
            other => other,
        };
        let code = match &error {
            PaymentError::PaymentNotFound(_) | PaymentError::RefundNotFound(_) => {
                ErrorCode::NotFound
            }
            PaymentError::Mismatch { field } => {
                return ApiError::new(ErrorCode::Conflict, error.to_string())
                    .with_details(serde_json::json!({ "field": field }));
            }
            PaymentError::InvalidRequest(_) => ErrorCode::ValidationFailed,
            PaymentError::UnsupportedEvent(_) | PaymentError::UnknownBizType(_) => {
                ErrorCode::BadRequest
            }
            PaymentError::InvalidState { .. }
            | PaymentError::DuplicateOutTradeNo(_)
            | PaymentError::DuplicateOutRefundNo(_)
            | PaymentError::RefundExceedsRefundable { .. }
            | PaymentError::Contention(_) => ErrorCode::Conflict,
            PaymentError::Transport(_)
            | PaymentError::Api { .. }
            | PaymentError::UnverifiedResponse { .. }
            | PaymentError::Decode(_)
            | PaymentError::PrepayFailed { .. }
            | PaymentError::RefundRefused { .. } => ErrorCode::UpstreamFailed,
            _ => return ApiError::internal(error),
        };
        ApiError::new(code, error.to_string())
    }
}

/// `VALIDATION_FAILED` naming every bad field, each with its messages.
pub(crate) fn fields_error(fields: &topup_core::FieldErrors) -> ApiError {
    let names: Vec<&str> = fields.fields().keys().map(String::as_str).collect();
    ApiError::new(
        ErrorCode::ValidationFailed,
        format!("invalid input: {}", names.join(", ")),
    )
    .with_details(serde_json::json!({ "fields": fields }))
}

/// The one place staff-identity errors become HTTP answers.
impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        let message = error.to_string();
        match error {
            AuthError::Validation(fields) => fields_error(&fields),
            AuthError::InvalidCredentials => ApiError::new(ErrorCode::InvalidCredentials, message),
            AuthError::AccountLocked { until } => ApiError::new(ErrorCode::AccountLocked, message)
                .with_details(serde_json::json!({ "locked_until": until })),
            AuthError::RateLimited {
                retry_after_seconds,
            }
            | AuthError::KeyRateLimited {
                retry_after_seconds,
            } => ApiError::new(ErrorCode::RateLimited, message)
                .with_details(serde_json::json!({ "retry_after_seconds": retry_after_seconds })),
            AuthError::AccountDisabled => ApiError::new(ErrorCode::AccountDisabled, message),
            AuthError::Unauthenticated(_) => ApiError::new(ErrorCode::Unauthorized, message),
            AuthError::TokenExpired | AuthError::AppTokenExpired => {
                ApiError::new(ErrorCode::TokenExpired, message)
            }
            AuthError::PasswordChangeRequired => {
                ApiError::new(ErrorCode::PasswordChangeRequired, message)
            }
            AuthError::Forbidden(permission) => ApiError::new(ErrorCode::Forbidden, message)
                .with_details(serde_json::json!({ "permission": permission })),
            AuthError::NotFound(what) => ApiError::not_found(what),
            AuthError::Conflict(_) => ApiError::new(ErrorCode::Conflict, message),
            AuthError::RoleInUse { users, .. } => ApiError::new(ErrorCode::RoleInUse, message)
                .with_details(serde_json::json!({ "users": users })),
            AuthError::LastSuperAdmin(_) => ApiError::new(ErrorCode::LastSuperAdmin, message),
            AuthError::SelfModification(_) => ApiError::new(ErrorCode::SelfModification, message),
            AuthError::BeyondGrant(_) => ApiError::new(ErrorCode::GrantExceeded, message),
            AuthError::BuiltinProtected(_) => ApiError::new(ErrorCode::BuiltinProtected, message),
            AuthError::MenuHasChildren(_) => ApiError::new(ErrorCode::MenuHasChildren, message),
            AuthError::UserBlocked => ApiError::new(ErrorCode::UserBlocked, message),
            AuthError::IpBlocked => ApiError::new(ErrorCode::IpBlocked, message),
            AuthError::SavedNumberLimit(max) => ApiError::new(ErrorCode::SavedNumberLimit, message)
                .with_details(serde_json::json!({ "max": max })),
            AuthError::Core(error) => error.into(),
            AuthError::WechatCodeInvalid => ApiError::new(ErrorCode::WechatCodeInvalid, message),
            AuthError::WechatCodeUsed => ApiError::new(ErrorCode::WechatCodeUsed, message),
            AuthError::WechatRateLimited => ApiError::new(ErrorCode::WechatRateLimited, message),
            AuthError::WechatUserRisky => ApiError::new(ErrorCode::WechatUserRisky, message),
            AuthError::WechatUnavailable => {
                tracing::warn!("WeChat busy or unreachable");
                ApiError::new(ErrorCode::WechatUnavailable, message)
            }
            AuthError::WechatFailed(cause) => {
                // Usually our app id or secret: an operator's problem, not the user's.
                tracing::error!(%cause, "WeChat login failed");
                ApiError::new(
                    ErrorCode::UpstreamFailed,
                    "WeChat login failed; retry later",
                )
            }
            AuthError::Store(error) => error.into(),
            AuthError::Internal(cause) => ApiError::internal(cause),
        }
    }
}

fn json_error(error: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    let api = match &error {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("body larger than {limit} bytes"),
        ),
        JsonPayloadError::ContentType => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "expected Content-Type: application/json",
        ),
        JsonPayloadError::Deserialize(cause) => ApiError::new(
            ErrorCode::MalformedJson,
            format!("invalid JSON body: {cause}"),
        ),
        other => ApiError::new(
            ErrorCode::MalformedJson,
            format!("invalid JSON body: {other}"),
        ),
    };
    api.into()
}

/// JSON bodies: size limit and errors in the envelope.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(json_error)
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error: QueryPayloadError, _| {
        ApiError::new(
            ErrorCode::InvalidQuery,
            format!("invalid query string: {error}"),
        )
        .into()
    })
}

/// A path parameter that does not parse names itself (the route's parameter, or `path` when
/// the route has several).
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|error: PathError, req: &HttpRequest| {
        let names: Vec<&str> = req.match_info().iter().map(|(name, _)| name).collect();
        let field = match names.as_slice() {
            [one] => (*one).to_owned(),
            _ => "path".to_owned(),
        };
        let reason = match &error {
            PathError::Deserialize(cause) => cause.to_string(),
            other => other.to_string(),
        };
        crate::extract::field_error(&field, reason).into()
    })
}

/// WeChat Pay refused or could not be reached: the caller hears that, and that nothing was
/// charged; what WeChat said (its codes, our merchant's state) goes to the log only.
fn payment_unavailable(cause: &str) -> ApiError {
    tracing::warn!(%cause, "WeChat Pay did not take a payment request");
    ApiError::new(
        ErrorCode::PaymentUnavailable,
        "WeChat Pay is not available just now; nothing was charged. Please try again shortly.",
    )
}

impl From<topup_orders::OrdersError> for ApiError {
    fn from(error: topup_orders::OrdersError) -> Self {
        use topup_orders::OrdersError as E;
        let message = error.to_string();
        match error {
            E::NotFound(_) => ApiError::new(ErrorCode::OrderNotFound, message),
            E::PlanUnavailable(_) => ApiError::new(ErrorCode::PlanUnavailable, message),
            E::InvalidPhone(_) => ApiError::new(ErrorCode::InvalidPhone, message),
            E::CountryMismatch { .. } | E::OperatorMismatch { .. } => {
                ApiError::new(ErrorCode::NumberPlanMismatch, message)
            }
            E::Blocked(_) => ApiError::new(ErrorCode::NumberBlocked, message),
            E::UserBlocked(_) => ApiError::new(ErrorCode::UserBlocked, message),
            E::LimitReached(_) => ApiError::new(ErrorCode::OrderLimitReached, message),
            E::RateLimited {
                retry_after_seconds,
            } => ApiError::new(ErrorCode::RateLimited, message)
                .with_details(serde_json::json!({ "retry_after_seconds": retry_after_seconds })),
            E::IdempotencyMismatch => ApiError::new(ErrorCode::IdempotencyKeyReused, message),
            E::InvalidState { .. } => ApiError::new(ErrorCode::OrderStateConflict, message),
            E::RefundTooLarge { .. } => ApiError::new(ErrorCode::RefundTooLarge, message),
            E::DeliveryNotRuledOut(_) => ApiError::new(ErrorCode::OrderStateConflict, message),
            E::ProviderUnavailable(_) => ApiError::new(ErrorCode::Unavailable, message),
            E::CouponNotUsable { code, .. } => ApiError::new(ErrorCode::CouponNotUsable, message)
                .with_details(serde_json::json!({ "reason": code })),
            E::PaymentFailed(cause) => payment_unavailable(&cause),
            E::Payment(cause) => ApiError::internal(cause),
            E::TermsNotAccepted { version, .. } => {
                ApiError::new(ErrorCode::AgreementRequired, message).with_details(
                    serde_json::json!({ "kind": "recharge_terms", "version": version }),
                )
            }
            E::Dependency { port, cause } => ApiError::internal(format!("{port}: {cause}")),
            E::Money(cause) => ApiError::internal(cause),
            E::Store(cause) => cause.into(),
        }
    }
}

impl From<topup_marketing::MarketingError> for ApiError {
    fn from(error: topup_marketing::MarketingError) -> Self {
        use topup_marketing::MarketingError as E;
        let message = error.to_string();
        match error {
            E::NotFound(_) => ApiError::new(ErrorCode::NotFound, message),
            E::Invalid { field, reason } => crate::extract::field_error(&field, reason),
            E::SoldOut(_) => ApiError::new(ErrorCode::CouponSoldOut, message),
            E::LimitReached { limit } => ApiError::new(ErrorCode::CouponLimitReached, message)
                .with_details(serde_json::json!({ "limit": limit })),
            E::NotUsable { code, .. } => ApiError::new(ErrorCode::CouponNotUsable, message)
                .with_details(serde_json::json!({ "reason": code })),
            E::Money(cause) => ApiError::internal(cause),
            E::Holder(cause) => ApiError::internal(cause),
            E::Payment(cause) => payment_unavailable(&cause),
            E::InvalidState(_) => ApiError::new(ErrorCode::OrderStateConflict, message),
            E::Store(cause) => cause.into(),
        }
    }
}

impl From<topup_settings::SettingsError> for ApiError {
    fn from(error: topup_settings::SettingsError) -> Self {
        use topup_settings::SettingsError as E;
        let message = error.to_string();
        match error {
            E::NotFound(_) => ApiError::new(ErrorCode::NotFound, message),
            E::Invalid(fields) => fields_error(&fields),
            E::Conflict(_) => ApiError::new(ErrorCode::Conflict, message),
            E::Sealing(_) => ApiError::internal(message),
            E::Store(cause) => cause.into(),
        }
    }
}

impl From<topup_content::ContentError> for ApiError {
    fn from(error: topup_content::ContentError) -> Self {
        use topup_content::ContentError as E;
        let message = error.to_string();
        match error {
            E::NotFound(_) => ApiError::new(ErrorCode::NotFound, message),
            E::Invalid(fields) => fields_error(&fields),
            E::Conflict(_) => ApiError::new(ErrorCode::Conflict, message),
            E::NotCurrent { current, .. } => ApiError::new(ErrorCode::Conflict, message)
                .with_details(serde_json::json!({ "version": current })),
            E::Store(cause) => cause.into(),
        }
    }
}

impl From<topup_notify::NotifyError> for ApiError {
    fn from(error: topup_notify::NotifyError) -> Self {
        use topup_notify::NotifyError as E;
        let message = error.to_string();
        match error {
            E::NotFound(_) => ApiError::new(ErrorCode::NotFound, message),
            E::Invalid { field, reason } => crate::extract::field_error(&field, reason),
            E::InvalidState(_) => ApiError::new(ErrorCode::Conflict, message),
            E::Source(_) => ApiError::new(ErrorCode::Internal, message),
            E::Store(cause) => cause.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_user_errors_have_their_codes() {
        let cases = [
            (AuthError::UserBlocked, 403, "USER_BLOCKED"),
            (AuthError::IpBlocked, 403, "IP_BLOCKED"),
            (AuthError::SavedNumberLimit(20), 409, "SAVED_NUMBER_LIMIT"),
            (AuthError::WechatCodeInvalid, 401, "WECHAT_CODE_INVALID"),
            (AuthError::WechatCodeUsed, 401, "WECHAT_CODE_USED"),
            (AuthError::WechatRateLimited, 429, "WECHAT_RATE_LIMITED"),
            (AuthError::WechatUserRisky, 403, "WECHAT_USER_RISKY"),
            (AuthError::WechatUnavailable, 503, "WECHAT_UNAVAILABLE"),
            (AuthError::AppTokenExpired, 401, "TOKEN_EXPIRED"),
            (
                AuthError::Core(CoreError::InvalidPhone("1".into())),
                400,
                "INVALID_PHONE",
            ),
        ];
        for (error, status, code) in cases {
            let api = ApiError::from(error);
            assert_eq!((api.code.http_status(), api.code.as_str()), (status, code));
        }
        // Our credentials problem is the operator's: a generic 502 that names nothing.
        let api = ApiError::from(AuthError::WechatFailed(
            "WeChat refused our app credentials (errcode 40125)".into(),
        ));
        assert_eq!(api.code, ErrorCode::UpstreamFailed);
        assert!(!api.message.contains("40125"));
    }
}
