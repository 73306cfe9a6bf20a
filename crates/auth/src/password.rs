//! Password hashing (argon2id, RustCrypto defaults), policy and generation.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash as Phc;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use topup_core::Secret;

use crate::config::AuthConfig;
use crate::model::PasswordHash;
use crate::{AuthError, FieldErrors};

/// Hashes on the blocking pool: argon2 takes tens of milliseconds by design.
pub(crate) async fn hash(plain: Secret<String>) -> Result<PasswordHash, AuthError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(plain.expose().as_bytes())
            .map(|hash| PasswordHash(hash.to_string()))
            .map_err(|e| AuthError::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| AuthError::Internal(format!("password hashing task failed: {e}")))?
}

/// True when `plain` matches. A malformed stored hash never matches.
pub(crate) async fn verify(plain: Secret<String>, hash: PasswordHash) -> Result<bool, AuthError> {
    tokio::task::spawn_blocking(move || {
        Phc::new(&hash.0).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(plain.expose().as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .map_err(|e| AuthError::Internal(format!("password check task failed: {e}")))
}

/// The configured rules; `field` names the request field in the error.
pub(crate) fn check_policy(config: &AuthConfig, field: &str, plain: &str) -> Result<(), AuthError> {
    let mut errors = FieldErrors::new();
    let length = plain.chars().count();
    if length < config.password_min_length {
        errors.add(
            field,
            format!(
                "must be at least {} characters long",
                config.password_min_length
            ),
        );
    }
    if length > 128 {
        errors.add(field, "must be at most 128 characters long");
    }
    if config.password_require_letter && !plain.chars().any(char::is_alphabetic) {
        errors.add(field, "must contain a letter");
    }
    if config.password_require_digit && !plain.chars().any(|c| c.is_ascii_digit()) {
        errors.add(field, "must contain a digit");
    }
    Ok(errors.into_result()?)
}

/// Random bytes from the operating system.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::Internal(format!("no randomness: {e}")))?;
    Ok(bytes)
}

/// A 20-character password of unambiguous letters and digits, with at least one of each,
/// for the first administrator.
pub fn generate_password() -> Result<Secret<String>, AuthError> {
    const LETTERS: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"23456789";
    loop {
        let bytes = random_bytes::<20>()?;
        let password: String = bytes
            .iter()
            .map(|b| {
                let all = LETTERS.len() + DIGITS.len();
                // 55 symbols: the modulo bias over 256 is negligible for a one-time password.
                let i = usize::from(*b) % all;
                char::from(if i < LETTERS.len() {
                    LETTERS[i]
                } else {
                    DIGITS[i - LETTERS.len()]
                })
            })
            .collect();
        if password.chars().any(|c| c.is_ascii_digit())
            && password.chars().any(|c| c.is_ascii_alphabetic())
        {
            return Ok(Secret::new(password));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_are_argon2id() {
        let hashed = hash(Secret::new("correct horse 1".into())).await.unwrap();
        assert!(hashed.0.starts_with("$argon2id$"));
        assert!(
            verify(Secret::new("correct horse 1".into()), hashed.clone())
                .await
                .unwrap()
        );
        assert!(!verify(Secret::new("wrong".into()), hashed).await.unwrap());
        assert!(
            !verify(Secret::new("x".into()), PasswordHash("garbage".into()))
                .await
                .unwrap()
        );
    }

    #[test]
    fn policy_names_every_problem() {
        let config = AuthConfig::default();
        assert!(check_policy(&config, "new", "abcdefg1").is_ok());
        let Err(AuthError::Validation(errors)) = check_policy(&config, "new", "short") else {
            panic!("expected a validation error");
        };
        let messages = &errors.fields()["new"];
        assert!(messages.iter().any(|m| m.contains("at least 8")));
        assert!(messages.iter().any(|m| m.contains("digit")));
        assert!(check_policy(&config, "new", "1234567890").is_err());
    }

    #[test]
    fn generated_passwords_satisfy_the_default_policy() {
        for _ in 0..50 {
            let password = generate_password().unwrap();
            assert_eq!(password.expose().len(), 20);
            assert!(check_policy(&AuthConfig::default(), "p", password.expose()).is_ok());
        }
    }
}
