//! Encryption at rest for small secrets kept in documents (WeChat session keys, later
//! provider credentials): AES-256-GCM under a key the server generates on first start.
//!
//! A sealed value is `v1.<base64(nonce ‖ ciphertext ‖ tag)>`. The caller's `context` (for
//! example the owning document's id) is authenticated as associated data, so a sealed value
//! copied into another document does not open there.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use serde::{Deserialize, Serialize};
use topup_core::Secret;

use crate::AuthError;
use crate::password::random_bytes;

/// Length of an at-rest key in bytes (AES-256).
pub const AT_REST_KEY_LEN: usize = 32;
const PREFIX: &str = "v1.";

/// Ciphertext as stored. `Debug` does not print it: it is useless without the key, but logs
/// have no business holding it either.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sealed(String);

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealed(***)")
    }
}

/// Seals and opens values with the at-rest key.
pub struct AtRestCipher {
    key: LessSafeKey,
}

impl AtRestCipher {
    pub fn new(key: &Secret<Vec<u8>>) -> Result<Self, AuthError> {
        if key.expose().len() != AT_REST_KEY_LEN {
            return Err(AuthError::Internal(format!(
                "the at-rest key must be exactly {AT_REST_KEY_LEN} bytes"
            )));
        }
        let unbound = UnboundKey::new(&AES_256_GCM, key.expose())
            .map_err(|_| AuthError::Internal("unusable at-rest key".into()))?;
        Ok(AtRestCipher {
            key: LessSafeKey::new(unbound),
        })
    }

    pub fn seal(&self, plaintext: &Secret<String>, context: &str) -> Result<Sealed, AuthError> {
        let nonce_bytes = random_bytes::<NONCE_LEN>()?;
        let mut buffer = plaintext.expose().as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(context.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| AuthError::Internal("at-rest encryption failed".into()))?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buffer);
        Ok(Sealed(format!("{PREFIX}{}", STANDARD_NO_PAD.encode(out))))
    }

    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<Secret<String>, AuthError> {
        let unreadable = || AuthError::Internal("sealed value cannot be opened".into());
        let encoded = sealed.0.strip_prefix(PREFIX).ok_or_else(unreadable)?;
        let bytes = STANDARD_NO_PAD.decode(encoded).map_err(|_| unreadable())?;
        if bytes.len() < NONCE_LEN {
            return Err(unreadable());
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| unreadable())?;
        let mut buffer = rest.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buffer)
            .map_err(|_| unreadable())?;
        String::from_utf8(plain.to_vec())
            .map(Secret::new)
            .map_err(|_| unreadable())
    }
}

/// 32 random bytes for a new at-rest key.
pub fn generate_at_rest_key() -> Result<Secret<Vec<u8>>, AuthError> {
    Ok(Secret::new(random_bytes::<AT_REST_KEY_LEN>()?.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_with_fresh_nonces_and_opens_only_in_its_context() {
        let cipher = AtRestCipher::new(&generate_at_rest_key().unwrap()).unwrap();
        let plain = Secret::new("tiihtNczf5v6AKRyjwEUhQ==".to_owned());
        let a = cipher.seal(&plain, "user-1").unwrap();
        let b = cipher.seal(&plain, "user-1").unwrap();
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(!a.0.contains("tiihtNczf5v6AKRyjwEUhQ"));
        assert_eq!(format!("{a:?}"), "Sealed(***)");
        assert_eq!(cipher.open(&a, "user-1").unwrap().expose(), plain.expose());
        assert!(cipher.open(&a, "user-2").is_err(), "bound to its context");
        let other = AtRestCipher::new(&generate_at_rest_key().unwrap()).unwrap();
        assert!(other.open(&a, "user-1").is_err(), "bound to its key");
        let mut tampered = a.0.clone();
        tampered.pop();
        assert!(cipher.open(&Sealed(tampered), "user-1").is_err());
        assert!(AtRestCipher::new(&Secret::new(vec![0u8; 16])).is_err());
    }
}
