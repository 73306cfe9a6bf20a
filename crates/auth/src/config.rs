use serde::{Deserialize, Serialize};

/// The `[auth]` section of the server configuration. Every key has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Lifetime of an access token (JWT).
    pub access_token_ttl_minutes: u32,
    /// Lifetime of a refresh token; each refresh issues a new one and slides the session.
    pub refresh_token_ttl_days: u32,
    /// Failed logins for one username within the window that lock it.
    pub lockout_threshold: u32,
    pub lockout_window_minutes: u32,
    /// How long a locked username stays locked.
    pub lockout_minutes: u32,
    pub password_min_length: usize,
    pub password_require_letter: bool,
    pub password_require_digit: bool,
    /// Login attempts per client IP per minute (0 disables the limit).
    pub login_rate_per_minute: u32,
    /// Attempts an IP may make at once before the per-minute rate applies.
    pub login_rate_burst: u32,
    /// Share of admin requests written to the access log, 0.0 to 1.0.
    pub access_log_sample_rate: f64,
    /// Login, operation and access log entries older than this are purged.
    pub log_retention_days: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            access_token_ttl_minutes: 30,
            refresh_token_ttl_days: 14,
            lockout_threshold: 5,
            lockout_window_minutes: 15,
            lockout_minutes: 15,
            password_min_length: 8,
            password_require_letter: true,
            password_require_digit: true,
            login_rate_per_minute: 20,
            login_rate_burst: 10,
            access_log_sample_rate: 1.0,
            log_retention_days: 90,
        }
    }
}

impl AuthConfig {
    /// Checks ranges; the message names the key as written in the config file.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("access_token_ttl_minutes", self.access_token_ttl_minutes),
            ("refresh_token_ttl_days", self.refresh_token_ttl_days),
            ("lockout_threshold", self.lockout_threshold),
            ("lockout_window_minutes", self.lockout_window_minutes),
            ("lockout_minutes", self.lockout_minutes),
            ("log_retention_days", self.log_retention_days),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(format!("auth.{key}: must be at least 1"));
            }
        }
        if !(4..=128).contains(&self.password_min_length) {
            return Err("auth.password_min_length: must be between 4 and 128".into());
        }
        if !(0.0..=1.0).contains(&self.access_log_sample_rate) {
            return Err("auth.access_log_sample_rate: must be between 0.0 and 1.0".into());
        }
        if self.login_rate_per_minute > 0 && self.login_rate_burst == 0 {
            return Err("auth.login_rate_burst: must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_ranges_checked() {
        assert!(AuthConfig::default().validate().is_ok());
        let bad = AuthConfig {
            access_log_sample_rate: 1.5,
            ..AuthConfig::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .contains("access_log_sample_rate")
        );
        let bad = AuthConfig {
            lockout_threshold: 0,
            ..AuthConfig::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .contains("auth.lockout_threshold")
        );
    }
}
