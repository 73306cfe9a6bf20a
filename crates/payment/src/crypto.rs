//! The cryptographic primitives of APIv3: RSA-SHA256 (PKCS#1 v1.5) signatures and
//! AEAD_AES_256_GCM. `ring` does the work; PEM/DER parsing stays in small helpers here.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{PrivateKeyDer, SubjectPublicKeyInfoDer};
use topup_core::Secret;
use x509_cert::der::Decode;
use x509_cert::spki::SubjectPublicKeyInfoRef;

use crate::PaymentError;

const RSA_ENCRYPTION_OID: &str = "1.2.840.113549.1.1.1";

/// The merchant API private key (`apiclient_key.pem`), ready to sign.
pub struct MerchantSigner {
    key: RsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for MerchantSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MerchantSigner(***)")
    }
}

impl MerchantSigner {
    /// Accepts PKCS#8 (`BEGIN PRIVATE KEY`) and PKCS#1 (`BEGIN RSA PRIVATE KEY`) PEM.
    pub fn from_pem(pem: &Secret<String>) -> Result<Self, PaymentError> {
        let der = PrivateKeyDer::from_pem_slice(pem.expose().as_bytes())
            .map_err(|_| PaymentError::InvalidKey("merchant private key is not PEM".into()))?;
        let key = match &der {
            PrivateKeyDer::Pkcs8(pkcs8) => RsaKeyPair::from_pkcs8(pkcs8.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(pkcs1) => RsaKeyPair::from_der(pkcs1.secret_pkcs1_der()),
            _ => {
                return Err(PaymentError::InvalidKey(
                    "merchant private key must be an RSA key".into(),
                ));
            }
        }
        .map_err(|rejected| {
            PaymentError::InvalidKey(format!("merchant private key rejected: {rejected}"))
        })?;
        Ok(MerchantSigner {
            key,
            rng: SystemRandom::new(),
        })
    }

    /// base64(RSASSA-PKCS1-v1_5 SHA-256 over `message`). Deterministic.
    pub fn sign(&self, message: &[u8]) -> Result<String, PaymentError> {
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut signature)
            .map_err(|_| PaymentError::InvalidKey("RSA signing failed".into()))?;
        Ok(BASE64.encode(signature))
    }
}

/// An RSA public key that checks WeChat Pay signatures.
#[derive(Debug, Clone)]
pub struct SignatureVerifier {
    rsa_public_key_der: Vec<u8>,
}

impl SignatureVerifier {
    /// From a `BEGIN PUBLIC KEY` (SubjectPublicKeyInfo) PEM, the form WeChat hands out.
    pub fn from_spki_pem(pem: &str) -> Result<Self, PaymentError> {
        let der = SubjectPublicKeyInfoDer::from_pem_slice(pem.as_bytes()).map_err(|_| {
            PaymentError::InvalidKey("WeChat Pay public key is not a PUBLIC KEY PEM".into())
        })?;
        Self::from_spki_der(der.as_ref())
    }

    pub fn from_spki_der(der: &[u8]) -> Result<Self, PaymentError> {
        let spki = SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| PaymentError::InvalidKey(format!("bad SubjectPublicKeyInfo: {e}")))?;
        if spki.algorithm.oid.to_string() != RSA_ENCRYPTION_OID {
            return Err(PaymentError::InvalidKey("public key is not RSA".into()));
        }
        let rsa_public_key_der = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| PaymentError::InvalidKey("malformed RSA public key".into()))?
            .to_vec();
        Ok(SignatureVerifier { rsa_public_key_der })
    }

    /// Whether `signature_base64` is a valid signature of `message`. Decode errors are `false`.
    pub fn verify(&self, message: &[u8], signature_base64: &str) -> bool {
        let Ok(signature) = BASE64.decode(signature_base64.trim()) else {
            return false;
        };
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.rsa_public_key_der)
            .verify(message, &signature)
            .is_ok()
    }
}

/// The APIv3 key: 32 ASCII bytes, used as the AES-256-GCM key for callbacks and certificates.
pub struct ApiV3Key(LessSafeKey);

impl std::fmt::Debug for ApiV3Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiV3Key(***)")
    }
}

impl ApiV3Key {
    pub fn new(key: &Secret<String>) -> Result<Self, PaymentError> {
        let bytes = key.expose().as_bytes();
        if bytes.len() != 32 {
            return Err(PaymentError::ApiV3KeyLength);
        }
        let unbound =
            UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| PaymentError::ApiV3KeyLength)?;
        Ok(ApiV3Key(LessSafeKey::new(unbound)))
    }

    /// AEAD_AES_256_GCM open: `nonce` is 12 ASCII bytes, `ciphertext_base64` carries the
    /// 16-byte tag at its end.
    pub fn decrypt(
        &self,
        nonce: &str,
        associated_data: &str,
        ciphertext_base64: &str,
    ) -> Result<Vec<u8>, PaymentError> {
        let nonce: [u8; NONCE_LEN] = nonce
            .as_bytes()
            .try_into()
            .map_err(|_| PaymentError::Decrypt)?;
        let mut in_out = BASE64
            .decode(ciphertext_base64)
            .map_err(|_| PaymentError::Decrypt)?;
        let plaintext = self
            .0
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated_data.as_bytes()),
                &mut in_out,
            )
            .map_err(|_| PaymentError::Decrypt)?;
        Ok(plaintext.to_vec())
    }
}

/// The signed request message (`docs/protocols.md#signing-requests`):
/// `METHOD\nPATH_WITH_QUERY\nTIMESTAMP\nNONCE\nBODY\n`.
pub fn request_message(
    method: &str,
    path_and_query: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut message = Vec::with_capacity(body.len() + path_and_query.len() + 64);
    for part in [method.as_bytes(), path_and_query.as_bytes()] {
        message.extend_from_slice(part);
        message.push(b'\n');
    }
    message.extend_from_slice(timestamp.to_string().as_bytes());
    message.push(b'\n');
    message.extend_from_slice(nonce.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(body);
    message.push(b'\n');
    message
}

/// The signed message of a response or callback
/// (`docs/protocols.md#verifying-responses-and-callbacks`):
/// `TIMESTAMP\nNONCE\nRAW_BODY\n`.
pub fn response_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(body.len() + timestamp.len() + nonce.len() + 3);
    message.extend_from_slice(timestamp.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(nonce.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(body);
    message.push(b'\n');
    message
}

/// The message `paySign` covers: `appId\ntimeStamp\nnonceStr\npackage\n`.
pub fn pay_sign_message(app_id: &str, time_stamp: &str, nonce_str: &str, package: &str) -> String {
    format!("{app_id}\n{time_stamp}\n{nonce_str}\n{package}\n")
}

/// The `Authorization` header value for a signed request.
pub fn authorization_header(
    mchid: &str,
    nonce: &str,
    timestamp: i64,
    serial_no: &str,
    signature: &str,
) -> String {
    format!(
        "WECHATPAY2-SHA256-RSA2048 mchid=\"{mchid}\",nonce_str=\"{nonce}\",timestamp=\"{timestamp}\",serial_no=\"{serial_no}\",signature=\"{signature}\""
    )
}

/// 32 upper-case hex characters from the system CSPRNG.
pub fn random_nonce() -> Result<String, PaymentError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| PaymentError::Random)?;
    let mut nonce = String::with_capacity(32);
    for byte in bytes {
        nonce.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
        nonce.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
    }
    Ok(nonce)
}

const HEX_DIGITS: &[u8; 16] = b"0123456789ABCDEF";
