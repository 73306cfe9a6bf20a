//! App tokens: HS256 JWTs for mini-program users. They carry their own audience and a
//! `typ` claim, so a staff token is never accepted on app routes nor an app token on admin
//! routes, even though both are signed with the server's one JWT key.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use topup_core::{Secret, Timestamp};

use super::model::AppUserId;
use crate::AuthError;

const ISSUER: &str = "topup";
const AUDIENCE: &str = "topup-app";
const TYPE: &str = "app";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    typ: String,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
}

pub(crate) struct AppTokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl AppTokenKeys {
    pub(crate) fn new(key: &Secret<Vec<u8>>) -> Result<Self, AuthError> {
        if key.expose().len() < 32 {
            return Err(AuthError::Internal(
                "the JWT signing key must be at least 32 bytes".into(),
            ));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked against the injected clock, not the system time.
        validation.validate_exp = false;
        validation.leeway = 0;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        let unusable = |e: jsonwebtoken::errors::Error| {
            AuthError::Internal(format!("unusable JWT signing key: {e}"))
        };
        Ok(AppTokenKeys {
            encoding: EncodingKey::from_secret(key.expose()).map_err(unusable)?,
            decoding: DecodingKey::from_secret(key.expose()).map_err(unusable)?,
            validation,
        })
    }

    pub(crate) fn issue(
        &self,
        user: AppUserId,
        now: Timestamp,
        expires: Timestamp,
    ) -> Result<String, AuthError> {
        let claims = Claims {
            sub: user.to_string(),
            typ: TYPE.into(),
            iat: now.unix_seconds(),
            exp: expires.unix_seconds(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AuthError::Internal(format!("token signing failed: {e}")))
    }

    pub(crate) fn verify(&self, token: &str, now: Timestamp) -> Result<AppUserId, AuthError> {
        let invalid = || AuthError::Unauthenticated("invalid app token; log in again");
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| invalid())?;
        if data.claims.typ != TYPE {
            return Err(invalid());
        }
        if data.claims.exp <= now.unix_seconds() {
            return Err(AuthError::AppTokenExpired);
        }
        data.claims.sub.parse().map_err(|_| invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn app_tokens_verify_until_expiry_and_only_as_app_tokens() {
        let key = Secret::new(vec![9u8; 32]);
        let keys = AppTokenKeys::new(&key).unwrap();
        let now = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        let user = AppUserId::new();
        let token = keys.issue(user, now, now.plus(TimeDelta::days(7))).unwrap();
        assert_eq!(keys.verify(&token, now).unwrap(), user);
        assert!(matches!(
            keys.verify(&token, now.plus(TimeDelta::days(7))),
            Err(AuthError::AppTokenExpired)
        ));
        // Same key, staff audience: refused.
        let staff = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({"sub": user.to_string(), "sid": "x", "iat": 0,
                "exp": now.unix_seconds() + 60, "iss": ISSUER, "aud": "topup-admin"}),
            &EncodingKey::from_secret(key.expose()).unwrap(),
        )
        .unwrap();
        assert!(matches!(
            keys.verify(&staff, now),
            Err(AuthError::Unauthenticated(_))
        ));
    }
}
