//! Access tokens (HS256 JWTs naming a session) and opaque refresh tokens.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use topup_core::{Secret, Timestamp};

use crate::AuthError;
use crate::model::{SessionId, StaffUserId};
use crate::password::random_bytes;

pub(crate) const ISSUER: &str = "topup";
/// Keeps staff tokens apart from the mini-program's end-user tokens.
const AUDIENCE: &str = "topup-admin";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    sid: String,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
}

/// HS256 signing and checking under the server's key for one audience. Expiry is left to the
/// caller, who checks it against the injected clock rather than the system time.
pub(crate) struct Jwt {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl Jwt {
    pub(crate) fn new(key: &Secret<Vec<u8>>, audience: &str) -> Result<Self, AuthError> {
        if key.expose().len() < 32 {
            return Err(AuthError::Internal(
                "the JWT signing key must be at least 32 bytes".into(),
            ));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.leeway = 0;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        let unusable = |e: jsonwebtoken::errors::Error| {
            AuthError::Internal(format!("unusable JWT signing key: {e}"))
        };
        Ok(Jwt {
            encoding: EncodingKey::from_secret(key.expose()).map_err(unusable)?,
            decoding: DecodingKey::from_secret(key.expose()).map_err(unusable)?,
            validation,
        })
    }

    pub(crate) fn encode(&self, claims: &impl Serialize) -> Result<String, AuthError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| AuthError::Internal(format!("token signing failed: {e}")))
    }

    /// The claims of a token signed with our key for this audience; `None` otherwise.
    pub(crate) fn decode<C: serde::de::DeserializeOwned>(&self, token: &str) -> Option<C> {
        jsonwebtoken::decode::<C>(token, &self.decoding, &self.validation)
            .ok()
            .map(|data| data.claims)
    }
}

/// Signs and checks access tokens with the server's key.
pub(crate) struct TokenKeys {
    jwt: Jwt,
}

impl TokenKeys {
    pub(crate) fn new(key: &Secret<Vec<u8>>) -> Result<Self, AuthError> {
        Ok(TokenKeys {
            jwt: Jwt::new(key, AUDIENCE)?,
        })
    }

    pub(crate) fn issue(
        &self,
        user: StaffUserId,
        session: SessionId,
        now: Timestamp,
        expires: Timestamp,
    ) -> Result<String, AuthError> {
        let claims = Claims {
            sub: user.to_string(),
            sid: session.to_string(),
            iat: now.unix_seconds(),
            exp: expires.unix_seconds(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
        };
        self.jwt.encode(&claims)
    }

    /// The user and session a valid, unexpired token names.
    pub(crate) fn verify(
        &self,
        token: &str,
        now: Timestamp,
    ) -> Result<(StaffUserId, SessionId), AuthError> {
        let invalid = AuthError::Unauthenticated("invalid access token");
        let claims: Claims = self
            .jwt
            .decode(token)
            .ok_or(AuthError::Unauthenticated("invalid access token"))?;
        if claims.exp <= now.unix_seconds() {
            return Err(AuthError::TokenExpired);
        }
        let user = claims.sub.parse().map_err(|_| invalid)?;
        let session = claims
            .sid
            .parse()
            .map_err(|_| AuthError::Unauthenticated("invalid access token"))?;
        Ok((user, session))
    }
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// What a refresh token is stored as.
pub(crate) fn refresh_token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// A new refresh token (256 random bits) and its hash.
pub(crate) fn new_refresh_token() -> Result<(String, String), AuthError> {
    let token = format!("rt_{}", hex(&random_bytes::<32>()?));
    let hash = refresh_token_hash(&token);
    Ok((token, hash))
}

/// 64 random bytes for a new HS256 signing key.
pub fn generate_signing_key() -> Result<Secret<Vec<u8>>, AuthError> {
    Ok(Secret::new(random_bytes::<64>()?.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn keys() -> TokenKeys {
        TokenKeys::new(&Secret::new(vec![7u8; 32])).unwrap()
    }

    #[test]
    fn tokens_verify_until_they_expire_by_the_given_clock() {
        let keys = keys();
        let now = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        let user = StaffUserId::new();
        let session = SessionId::new();
        let token = keys
            .issue(user, session, now, now.plus(TimeDelta::minutes(30)))
            .unwrap();
        assert_eq!(keys.verify(&token, now).unwrap(), (user, session));
        assert!(matches!(
            keys.verify(&token, now.plus(TimeDelta::minutes(30))),
            Err(AuthError::TokenExpired)
        ));
    }

    #[test]
    fn foreign_or_tampered_tokens_are_refused() {
        let now = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        let token = keys()
            .issue(
                StaffUserId::new(),
                SessionId::new(),
                now,
                now.plus(TimeDelta::minutes(5)),
            )
            .unwrap();
        let other = TokenKeys::new(&Secret::new(vec![8u8; 32])).unwrap();
        assert!(matches!(
            other.verify(&token, now),
            Err(AuthError::Unauthenticated(_))
        ));
        let mut tampered = token.clone();
        tampered.pop();
        assert!(keys().verify(&tampered, now).is_err());
        assert!(TokenKeys::new(&Secret::new(vec![1u8; 8])).is_err());
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_hashed() {
        let (a, hash_a) = new_refresh_token().unwrap();
        let (b, _) = new_refresh_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(hash_a, refresh_token_hash(&a));
        assert_eq!(hash_a.len(), 64);
        assert!(!hash_a.contains(&a[3..]));
    }
}
