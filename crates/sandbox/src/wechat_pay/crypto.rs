//! The sandbox's own cryptography, written from the spec side (it shares nothing with the
//! client it checks): RSA-SHA256 PKCS#1 v1.5 with ring, keys parsed with the `rsa` crate.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{self, RsaKeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::{RsaPrivateKey, RsaPublicKey};

use super::WechatPaySandboxError;

pub(crate) fn parse_private_key(pem: &str) -> Result<RsaPrivateKey, WechatPaySandboxError> {
    RsaPrivateKey::from_pkcs8_pem(pem)
        .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
        .map_err(|e| WechatPaySandboxError::Key(format!("private key: {e}")))
}

/// Signs with a platform key, the way WeChat Pay signs answers and callbacks.
pub(crate) struct Signer {
    key: RsaKeyPair,
    rng: SystemRandom,
}

impl Signer {
    pub fn new(key: &RsaPrivateKey) -> Result<Self, WechatPaySandboxError> {
        let der = key
            .to_pkcs1_der()
            .map_err(|e| WechatPaySandboxError::Key(e.to_string()))?;
        let key = RsaKeyPair::from_der(der.as_bytes())
            .map_err(|e| WechatPaySandboxError::Key(e.to_string()))?;
        Ok(Signer {
            key,
            rng: SystemRandom::new(),
        })
    }

    pub fn sign_base64(&self, message: &[u8]) -> Result<String, WechatPaySandboxError> {
        let mut out = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(&signature::RSA_PKCS1_SHA256, &self.rng, message, &mut out)
            .map_err(|_| WechatPaySandboxError::Key("signing failed".into()))?;
        Ok(BASE64.encode(out))
    }
}

/// Checks request signatures with the merchant's public key.
pub(crate) struct Verifier {
    pkcs1_der: Vec<u8>,
}

impl Verifier {
    pub fn from_public_pem(pem: &str) -> Result<Self, WechatPaySandboxError> {
        let key = RsaPublicKey::from_public_key_pem(pem)
            .map_err(|e| WechatPaySandboxError::Key(format!("merchant public key: {e}")))?;
        Self::from_public_key(&key)
    }

    pub fn from_public_key(key: &RsaPublicKey) -> Result<Self, WechatPaySandboxError> {
        let der = key
            .to_pkcs1_der()
            .map_err(|e| WechatPaySandboxError::Key(e.to_string()))?;
        Ok(Verifier {
            pkcs1_der: der.as_bytes().to_vec(),
        })
    }

    pub fn verify_base64(&self, message: &[u8], signature_base64: &str) -> bool {
        match BASE64.decode(signature_base64) {
            Ok(sig) => {
                UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &self.pkcs1_der)
                    .verify(message, &sig)
                    .is_ok()
            }
            Err(_) => false,
        }
    }
}

/// AEAD_AES_256_GCM under the APIv3 key, for callbacks and certificates.
pub(crate) struct Sealer(LessSafeKey);

/// An encrypted resource: what goes into `resource` / `encrypt_certificate`.
pub(crate) struct Sealed {
    pub nonce: String,
    pub ciphertext: String,
}

impl Sealer {
    pub fn new(apiv3_key: &str) -> Result<Self, WechatPaySandboxError> {
        if apiv3_key.len() != 32 {
            return Err(WechatPaySandboxError::Config(
                "the APIv3 key must be exactly 32 bytes".into(),
            ));
        }
        let key = UnboundKey::new(&AES_256_GCM, apiv3_key.as_bytes())
            .map_err(|_| WechatPaySandboxError::Config("bad APIv3 key".into()))?;
        Ok(Sealer(LessSafeKey::new(key)))
    }

    pub fn seal(
        &self,
        associated_data: &str,
        plaintext: &[u8],
    ) -> Result<Sealed, WechatPaySandboxError> {
        // WeChat's nonces are 12 printable characters, used as their ASCII bytes.
        let nonce = random_alphanumeric(12)?;
        let nonce_bytes: [u8; 12] = nonce
            .as_bytes()
            .try_into()
            .map_err(|_| WechatPaySandboxError::Random)?;
        let mut in_out = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(associated_data.as_bytes()),
                &mut in_out,
            )
            .map_err(|_| WechatPaySandboxError::Random)?;
        Ok(Sealed {
            nonce,
            ciphertext: BASE64.encode(in_out),
        })
    }
}

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], WechatPaySandboxError> {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| WechatPaySandboxError::Random)?;
    Ok(bytes)
}

pub(crate) fn random_alphanumeric(len: usize) -> Result<String, WechatPaySandboxError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for byte in random_bytes::<32>()? {
            // 62 * 4 = 248: rejecting the top values keeps the choice uniform.
            if byte < 248 && out.len() < len {
                out.push(char::from(ALPHABET[usize::from(byte) % ALPHABET.len()]));
            }
        }
    }
    Ok(out)
}

pub(crate) fn random_digits(len: usize) -> Result<String, WechatPaySandboxError> {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for byte in random_bytes::<32>()? {
            if byte < 250 && out.len() < len {
                out.push(char::from(b'0' + byte % 10));
            }
        }
    }
    Ok(out)
}

pub(crate) fn random_hex(bytes: usize) -> Result<String, WechatPaySandboxError> {
    let mut out = String::with_capacity(bytes * 2);
    while out.len() < bytes * 2 {
        for byte in random_bytes::<16>()? {
            if out.len() < bytes * 2 {
                out.push_str(&format!("{byte:02x}"));
            }
        }
    }
    Ok(out)
}
