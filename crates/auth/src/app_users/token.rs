//! App tokens: HS256 JWTs for mini-program users. They carry their own audience and a
//! `typ` claim, so a staff token is never accepted on app routes nor an app token on admin
//! routes, even though both are signed with the server's one JWT key.

use serde::{Deserialize, Serialize};
use topup_core::{Secret, Timestamp};

use super::model::AppUserId;
use crate::AuthError;
use crate::token::{ISSUER, Jwt};

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
    /// The user's `token_version` when issued.
    #[serde(default)]
    ver: i64,
}

pub(crate) struct AppTokenKeys {
    jwt: Jwt,
}

impl AppTokenKeys {
    pub(crate) fn new(key: &Secret<Vec<u8>>) -> Result<Self, AuthError> {
        Ok(AppTokenKeys {
            jwt: Jwt::new(key, AUDIENCE)?,
        })
    }

    pub(crate) fn issue(
        &self,
        user: AppUserId,
        token_version: i64,
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
            ver: token_version,
        };
        self.jwt.encode(&claims)
    }

    /// The user and the token version the token was issued under.
    pub(crate) fn verify(
        &self,
        token: &str,
        now: Timestamp,
    ) -> Result<(AppUserId, i64), AuthError> {
        let invalid = || AuthError::Unauthenticated("invalid app token; log in again");
        let claims: Claims = self.jwt.decode(token).ok_or_else(invalid)?;
        if claims.typ != TYPE {
            return Err(invalid());
        }
        if claims.exp <= now.unix_seconds() {
            return Err(AuthError::AppTokenExpired);
        }
        let user = claims.sub.parse().map_err(|_| invalid())?;
        Ok((user, claims.ver))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};

    #[test]
    fn app_tokens_verify_until_expiry_and_only_as_app_tokens() {
        let key = Secret::new(vec![9u8; 32]);
        let keys = AppTokenKeys::new(&key).unwrap();
        let now = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        let user = AppUserId::new();
        let token = keys
            .issue(user, 3, now, now.plus(TimeDelta::days(7)))
            .unwrap();
        assert_eq!(keys.verify(&token, now).unwrap(), (user, 3));
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
