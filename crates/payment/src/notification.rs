//! Payment and refund notifications (`docs/protocols.md#callbacks`): verified over the raw
//! body, then decrypted.

use serde::Deserialize;
use topup_core::Timestamp;

use crate::PaymentError;
use crate::crypto::ApiV3Key;
use crate::model::{RefundNotification, TransactionNotification};
use crate::platform::{PlatformKeys, WechatPayHeaders};

#[derive(Debug, Deserialize)]
struct Envelope {
    id: String,
    #[serde(default)]
    create_time: Option<String>,
    event_type: String,
    #[serde(default)]
    summary: Option<String>,
    resource: EncryptedResource,
}

#[derive(Debug, Deserialize)]
struct EncryptedResource {
    algorithm: String,
    ciphertext: String,
    #[serde(default)]
    associated_data: String,
    nonce: String,
}

/// A notification whose signature checked out and whose resource decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedNotification {
    /// WeChat's notification id (the same on every retry and duplicate).
    pub id: String,
    /// `TRANSACTION.SUCCESS`, `REFUND.SUCCESS`, `REFUND.ABNORMAL`, `REFUND.CLOSED`.
    pub event_type: String,
    pub create_time: Option<String>,
    pub summary: Option<String>,
    pub payload: NotificationPayload,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationPayload {
    Transaction(TransactionNotification),
    Refund(RefundNotification),
}

/// Verifies a callback (timestamp window, then signature over the raw body) and only then
/// parses and decrypts it. Every failure is an error for which
/// [`PaymentError::is_authentication_failure`] holds, except an unknown event type.
pub fn verify_and_decrypt_notification(
    keys: &PlatformKeys,
    api_key: &ApiV3Key,
    headers: &WechatPayHeaders,
    raw_body: &[u8],
    now: Timestamp,
) -> Result<VerifiedNotification, PaymentError> {
    keys.verify(headers, raw_body, now)?;
    decrypt_notification(api_key, raw_body)
}

/// Decrypts an already verified notification body.
pub(crate) fn decrypt_notification(
    api_key: &ApiV3Key,
    raw_body: &[u8],
) -> Result<VerifiedNotification, PaymentError> {
    let envelope: Envelope = serde_json::from_slice(raw_body)
        .map_err(|e| PaymentError::MalformedNotification(format!("envelope: {e}")))?;
    let resource = &envelope.resource;
    if resource.algorithm != "AEAD_AES_256_GCM" {
        return Err(PaymentError::MalformedNotification(format!(
            "unsupported algorithm {}",
            resource.algorithm
        )));
    }
    let plaintext = api_key.decrypt(
        &resource.nonce,
        &resource.associated_data,
        &resource.ciphertext,
    )?;
    let payload = if envelope.event_type.starts_with("TRANSACTION.") {
        NotificationPayload::Transaction(
            serde_json::from_slice(&plaintext)
                .map_err(|e| PaymentError::MalformedNotification(format!("transaction: {e}")))?,
        )
    } else if envelope.event_type.starts_with("REFUND.") {
        NotificationPayload::Refund(
            serde_json::from_slice(&plaintext)
                .map_err(|e| PaymentError::MalformedNotification(format!("refund: {e}")))?,
        )
    } else {
        return Err(PaymentError::UnsupportedEvent(envelope.event_type));
    };
    Ok(VerifiedNotification {
        id: envelope.id,
        event_type: envelope.event_type,
        create_time: envelope.create_time,
        summary: envelope.summary,
        payload,
    })
}
