use serde::{Deserialize, Serialize};

/// The `[app]` section of the server configuration: mini-program users. Every key has a
/// default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppUserConfig {
    /// Lifetime of an app token. The mini-program logs in again silently when it expires.
    pub token_ttl_minutes: u32,
    /// App logins per client IP per minute (0 disables the limit).
    pub login_rate_per_minute: u32,
    /// Logins an IP may make at once before the per-minute rate applies.
    pub login_rate_burst: u32,
    /// The visitor statistics count calendar days as seen from this UTC offset (480 is
    /// China Standard Time).
    pub visitor_day_utc_offset_minutes: i32,
}

impl Default for AppUserConfig {
    fn default() -> Self {
        AppUserConfig {
            token_ttl_minutes: 7 * 24 * 60,
            login_rate_per_minute: 30,
            login_rate_burst: 10,
            visitor_day_utc_offset_minutes: 480,
        }
    }
}

impl AppUserConfig {
    /// Checks ranges; the message names the key as written in the config file.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=90 * 24 * 60).contains(&self.token_ttl_minutes) {
            return Err("app.token_ttl_minutes: must be between 1 and 129600 (90 days)".into());
        }
        if self.login_rate_per_minute > 0 && self.login_rate_burst == 0 {
            return Err("app.login_rate_burst: must be at least 1".into());
        }
        if !(-720..=840).contains(&self.visitor_day_utc_offset_minutes) {
            return Err("app.visitor_day_utc_offset_minutes: must be between -720 and 840".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_ranges_checked() {
        assert!(AppUserConfig::default().validate().is_ok());
        let bad = AppUserConfig {
            token_ttl_minutes: 0,
            ..AppUserConfig::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .contains("app.token_ttl_minutes")
        );
        let bad = AppUserConfig {
            visitor_day_utc_offset_minutes: 900,
            ..AppUserConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("utc_offset"));
    }
}
