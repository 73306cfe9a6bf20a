//! WeChat Pay's verification keys, by serial, and the check of a signed message
//! (`docs/protocols.md#verifying-responses-and-callbacks`).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::Deserialize;
use topup_core::Timestamp;
use x509_cert::Certificate;
use x509_cert::der::{Decode, Encode};

use crate::PaymentError;
use crate::crypto::{ApiV3Key, SignatureVerifier, response_message};

/// How far a signed message's timestamp may be from now, either way.
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 300;

/// WeChat sends these to see whether we really verify; they must fail like forgeries.
const PROBE_SIGNATURE_PREFIX: &str = "WECHATPAY/SIGNTEST/";

/// Prefix of public-key ids, to tell them from certificate serials.
pub const PUBLIC_KEY_ID_PREFIX: &str = "PUB_KEY_ID_";

/// The `Wechatpay-*` headers of a response or callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WechatPayHeaders {
    pub timestamp: String,
    pub nonce: String,
    pub signature: String,
    pub serial: String,
}

impl WechatPayHeaders {
    /// Reads the four headers through `get(name)` (header names are case-insensitive, pass
    /// a lookup that honours that, as every HTTP header map does).
    pub fn from_lookup<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<Self, PaymentError> {
        let read = |name: &'static str| -> Result<String, PaymentError> {
            match get(name).map(str::trim) {
                Some(value) if !value.is_empty() => Ok(value.to_string()),
                _ => Err(PaymentError::MissingHeader(name)),
            }
        };
        Ok(WechatPayHeaders {
            timestamp: read("Wechatpay-Timestamp")?,
            nonce: read("Wechatpay-Nonce")?,
            signature: read("Wechatpay-Signature")?,
            serial: read("Wechatpay-Serial")?,
        })
    }
}

/// The keys WeChat Pay signs with, by serial: the public key under its `PUB_KEY_ID_…` and
/// platform certificates under their hex serial (upper case).
#[derive(Debug, Default)]
pub struct PlatformKeys {
    keys: RwLock<HashMap<String, Arc<SignatureVerifier>>>,
}

impl PlatformKeys {
    pub fn new() -> Self {
        PlatformKeys::default()
    }

    pub fn insert(&self, serial: &str, verifier: SignatureVerifier) {
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        keys.insert(normalize_serial(serial), Arc::new(verifier));
    }

    pub fn get(&self, serial: &str) -> Option<Arc<SignatureVerifier>> {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        keys.get(&normalize_serial(serial)).cloned()
    }

    pub fn serials(&self) -> Vec<String> {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        let mut serials: Vec<String> = keys.keys().cloned().collect();
        serials.sort();
        serials
    }

    /// Timestamp window first, then the signature with the key named by the serial.
    pub fn verify(
        &self,
        headers: &WechatPayHeaders,
        body: &[u8],
        now: Timestamp,
    ) -> Result<(), PaymentError> {
        let sent_at: i64 = headers
            .timestamp
            .parse()
            .map_err(|_| PaymentError::MalformedTimestamp)?;
        let skew_seconds = now.unix_seconds().saturating_sub(sent_at);
        if skew_seconds.saturating_abs() > MAX_CLOCK_SKEW_SECONDS {
            return Err(PaymentError::StaleTimestamp { skew_seconds });
        }
        if headers.signature.starts_with(PROBE_SIGNATURE_PREFIX) {
            return Err(PaymentError::SignatureProbe);
        }
        let verifier = self
            .get(&headers.serial)
            .ok_or_else(|| PaymentError::UnknownSerial(headers.serial.clone()))?;
        let message = response_message(&headers.timestamp, &headers.nonce, body);
        if verifier.verify(&message, &headers.signature) {
            Ok(())
        } else {
            Err(PaymentError::BadSignature)
        }
    }
}

fn normalize_serial(serial: &str) -> String {
    if serial.starts_with(PUBLIC_KEY_ID_PREFIX) {
        serial.to_string()
    } else {
        serial.to_ascii_uppercase()
    }
}

/// One entry of `GET /v3/certificates`.
#[derive(Debug, Deserialize)]
pub(crate) struct CertificateEntry {
    pub serial_no: String,
    pub encrypt_certificate: EncryptedCertificate,
}

#[derive(Debug, Deserialize)]
pub(crate) struct EncryptedCertificate {
    #[serde(default)]
    pub algorithm: String,
    pub nonce: String,
    #[serde(default)]
    pub associated_data: String,
    pub ciphertext: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CertificateList {
    pub data: Vec<CertificateEntry>,
}

/// A platform certificate, decrypted and parsed.
#[derive(Debug)]
pub(crate) struct PlatformCertificate {
    pub serial: String,
    pub verifier: SignatureVerifier,
    pub not_after: Option<Timestamp>,
}

/// Decrypts and parses the certificates of a `GET /v3/certificates` answer. An entry whose
/// certificate does not carry the serial it is listed under is refused.
pub(crate) fn decrypt_certificates(
    api_key: &ApiV3Key,
    list: &CertificateList,
) -> Result<Vec<PlatformCertificate>, PaymentError> {
    let mut certificates = Vec::with_capacity(list.data.len());
    for entry in &list.data {
        let encrypted = &entry.encrypt_certificate;
        if !encrypted.algorithm.is_empty() && encrypted.algorithm != "AEAD_AES_256_GCM" {
            return Err(PaymentError::Decode(format!(
                "certificate encrypted with unsupported {}",
                encrypted.algorithm
            )));
        }
        let pem = api_key.decrypt(
            &encrypted.nonce,
            &encrypted.associated_data,
            &encrypted.ciphertext,
        )?;
        let certificate = parse_certificate_pem(&pem)?;
        if !certificate.serial.eq_ignore_ascii_case(&entry.serial_no) {
            return Err(PaymentError::Decode(format!(
                "certificate listed as {} has serial {}",
                entry.serial_no, certificate.serial
            )));
        }
        certificates.push(certificate);
    }
    Ok(certificates)
}

fn parse_certificate_pem(pem: &[u8]) -> Result<PlatformCertificate, PaymentError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    let der = CertificateDer::from_pem_slice(pem)
        .map_err(|_| PaymentError::Decode("platform certificate is not PEM".into()))?;
    let certificate = Certificate::from_der(der.as_ref())
        .map_err(|e| PaymentError::Decode(format!("platform certificate: {e}")))?;
    let tbs = &certificate.tbs_certificate;
    let spki_der = tbs
        .subject_public_key_info
        .to_der()
        .map_err(|e| PaymentError::Decode(format!("platform certificate key: {e}")))?;
    let not_after = Timestamp::from_unix_seconds(
        i64::try_from(tbs.validity.not_after.to_unix_duration().as_secs()).unwrap_or(i64::MAX),
    );
    Ok(PlatformCertificate {
        serial: serial_hex(tbs.serial_number.as_bytes()),
        verifier: SignatureVerifier::from_spki_der(&spki_der)?,
        not_after,
    })
}

/// The serial as WeChat writes it: the integer in upper-case hex, no DER sign padding.
fn serial_hex(der_integer: &[u8]) -> String {
    let significant = match der_integer.iter().position(|&b| b != 0) {
        Some(first) => &der_integer[first..],
        None => &der_integer[der_integer.len().saturating_sub(1)..],
    };
    significant.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn serial_hex_drops_sign_padding() {
        assert_eq!(serial_hex(&[0x00, 0x9A, 0x01]), "9A01");
        assert_eq!(serial_hex(&[0x12]), "12");
        assert_eq!(serial_hex(&[0x00]), "00");
    }

    #[test]
    fn serials_match_case_insensitively_except_public_key_ids() {
        assert_eq!(normalize_serial("5157f09e"), "5157F09E");
        assert_eq!(normalize_serial("PUB_KEY_ID_0114abc"), "PUB_KEY_ID_0114abc");
    }
}
