//! WeChat Pay callbacks (`docs/protocols.md#verifying-responses-and-callbacks`, `#callbacks`). The
//! body is taken as raw bytes: the signature covers exactly what was sent, so nothing is parsed
//! before it is verified.

use actix_web::{HttpRequest, HttpResponse, web};
use topup_core::ErrorCode;
use topup_payment::{PaymentError, WechatPayHeaders};
use utoipa::{IntoParams, ToSchema};

use crate::{ApiError, AppState, ErrorBody};

/// The signature headers of every WeChat Pay callback (documentation only: the handlers read
/// them from the request before anything else).
#[allow(dead_code)]
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
struct CallbackHeaders {
    /// Unix seconds the notification was signed at
    #[param(rename = "Wechatpay-Timestamp")]
    timestamp: String,
    /// Random string in the signed message
    #[param(rename = "Wechatpay-Nonce")]
    nonce: String,
    /// Base64 RSASSA-PKCS1-v1_5 SHA-256 over `timestamp\nnonce\nbody\n`
    #[param(rename = "Wechatpay-Signature")]
    signature: String,
    /// `PUB_KEY_ID_…` or the platform certificate serial
    #[param(rename = "Wechatpay-Serial")]
    serial: String,
    /// `WECHATPAY2-SHA256-RSA2048`
    #[param(rename = "Wechatpay-Signature-Type")]
    signature_type: Option<String>,
}

/// Largest callback body accepted; WeChat's are about a kilobyte.
pub const MAX_NOTIFICATION_BYTES: usize = 64 * 1024;

/// A WeChat Pay callback as sent (documentation only: the handler verifies the raw bytes
/// and never deserialises this shape before that).
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(example = json!({
    "id": "EV-2018022511223320873",
    "create_time": "2026-11-29T12:00:00+08:00",
    "resource_type": "encrypt-resource",
    "event_type": "TRANSACTION.SUCCESS",
    "summary": "支付成功",
    "resource": {
        "original_type": "transaction",
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": "…",
        "associated_data": "transaction",
        "nonce": "fdasflkja484w"
    }
}))]
pub struct WechatPayNotification {
    /// Notification id, the same on every retry of one notification.
    id: String,
    create_time: String,
    /// `encrypt-resource`.
    resource_type: String,
    /// `TRANSACTION.SUCCESS`, `REFUND.SUCCESS`, `REFUND.ABNORMAL` or `REFUND.CLOSED`.
    event_type: String,
    summary: String,
    resource: WechatPayEncryptedResource,
}

/// The encrypted business payload of a callback (AEAD_AES_256_GCM under the APIv3 key).
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct WechatPayEncryptedResource {
    /// `transaction` or `refund`.
    original_type: String,
    /// `AEAD_AES_256_GCM`.
    algorithm: String,
    /// Base64 of ciphertext and 16-byte tag.
    ciphertext: String,
    associated_data: String,
    /// 12 ASCII characters.
    nonce: String,
}

fn headers(req: &HttpRequest) -> Result<WechatPayHeaders, PaymentError> {
    WechatPayHeaders::from_lookup(|name| req.headers().get(name).and_then(|v| v.to_str().ok()))
}

/// What WeChat is answered. Success (also for a duplicate) is 204. Everything refused
/// changes nothing: an unverifiable callback (forged, stale, a `WECHATPAY/SIGNTEST/`
/// probe) is 401; a verified one that disagrees with our record (amount, mchid, appid) is
/// 409 and an alert.
///
/// A verified payment for an out_trade_no we have no record of is an alert too and
/// answered 404, not 204: WeChat then retries for about a day, so if our record was merely
/// late (or restored from a backup) a later retry applies it, and staff see the alert
/// either way. Store trouble is a 5xx, which WeChat also retries.
fn answer(
    result: Result<topup_payment::NotificationOutcome, PaymentError>,
) -> Result<HttpResponse, ApiError> {
    match result {
        Ok(outcome) => {
            tracing::info!(
                notification_id = %outcome.notification_id,
                event_type = %outcome.event_type,
                out_trade_no = %outcome.out_trade_no,
                applied = ?outcome.applied,
                "WeChat Pay notification processed"
            );
            Ok(HttpResponse::NoContent().finish())
        }
        Err(error) => {
            if error.is_authentication_failure() {
                // The details (unknown serial, parser positions) help a prober; log them only.
                tracing::warn!(%error, "WeChat Pay notification refused");
                return Err(ApiError::new(
                    ErrorCode::Unauthorized,
                    "the notification could not be verified",
                ));
            }
            Err(ApiError::from(error))
        }
    }
}

/// WeChat Pay payment notification (`TRANSACTION.SUCCESS`).
///
/// Verified (timestamp within 5 minutes, RSA signature over the raw body with the WeChat
/// Pay key named by `Wechatpay-Serial`), decrypted, checked against our record (mchid,
/// appid, out_trade_no, amount) and applied once; duplicates answer 204 and change
/// nothing. Called by WeChat Pay only; no user credentials.
#[utoipa::path(post, path = "/api/v1/pay/wechat/notify", tag = "payment",
    params(CallbackHeaders),
    request_body(content = WechatPayNotification, content_type = "application/json"),
    responses(
        (status = 204, description = "Processed (or already processed: a duplicate)"),
        (status = 400, description = "Verified, but not a payment notification", body = ErrorBody),
        (status = 401, description = "Forged, stale, a signature probe, or unreadable; nothing changed", body = ErrorBody),
        (status = 404, description = "Verified, but for an unknown out_trade_no: alert raised, WeChat retries", body = ErrorBody),
        (status = 409, description = "Verified, but disagrees with our record: alert raised, not applied", body = ErrorBody),
        (status = 503, description = "WeChat Pay not configured, or the store is unavailable", body = ErrorBody),
    ))]
pub async fn notify(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let payments = &state.payments;
    let result = match headers(&req) {
        Ok(headers) => payments.handle_payment_notification(&headers, &body).await,
        Err(error) => Err(error),
    };
    answer(result)
}

/// WeChat Pay refund notification (`REFUND.SUCCESS`, `REFUND.CLOSED`, `REFUND.ABNORMAL`).
///
/// Verified and decrypted like payment notifications, checked against our refund record
/// (mchid, out_trade_no, refund and total amounts) and applied once; the payment becomes
/// `partially_refunded` or `refunded` as refunds succeed. Called by WeChat Pay only.
#[utoipa::path(post, path = "/api/v1/pay/wechat/refund-notify", tag = "payment",
    params(CallbackHeaders),
    request_body(content = WechatPayNotification, content_type = "application/json"),
    responses(
        (status = 204, description = "Processed (or already processed: a duplicate)"),
        (status = 400, description = "Verified, but not a refund notification", body = ErrorBody),
        (status = 401, description = "Forged, stale, a signature probe, or unreadable; nothing changed", body = ErrorBody),
        (status = 404, description = "Verified, but for an unknown out_refund_no: alert raised, WeChat retries", body = ErrorBody),
        (status = 409, description = "Verified, but disagrees with our record: alert raised, not applied", body = ErrorBody),
        (status = 503, description = "WeChat Pay not configured, or the store is unavailable", body = ErrorBody),
    ))]
pub async fn refund_notify(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let payments = &state.payments;
    let result = match headers(&req) {
        Ok(headers) => payments.handle_refund_notification(&headers, &body).await,
        Err(error) => Err(error),
    };
    answer(result)
}

/// Where WeChat Pay's callbacks arrive.
pub const PREFIX: &str = "/api/v1/pay/wechat";

routes! {
    post "/notify" => notify,
    post "/refund-notify" => refund_notify,
}
