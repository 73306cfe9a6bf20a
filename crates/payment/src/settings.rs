use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

/// Timing of payments, refunds and the sync job (`[payment]` in the server's config).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentSettings {
    /// An unpaid payment expires (WeChat's `time_expire`) this long after it was created.
    pub payment_ttl_secs: u64,
    /// An unpaid payment is first asked about this long after prepay (its notification may
    /// be lost), then every `requery_every_secs`.
    pub query_unpaid_after_secs: u64,
    pub requery_every_secs: u64,
    /// A refund whose request failed on the way is sent again after this.
    pub refund_retry_secs: u64,
    /// A processing refund is first asked about this long after it was accepted, then every
    /// `requery_every_secs`.
    pub refund_query_after_secs: u64,
    /// An owner's handler that failed (or a process that crashed before delivering) gets the
    /// event again after this.
    pub event_retry_secs: u64,
    /// How long the sync job holds a payment or refund it works on.
    pub lease_secs: u64,
    /// Payments (and refunds) one sync run takes at most, per kind of work.
    pub batch_size: usize,
    /// How often the server runs the sync job.
    pub sync_period_secs: u64,
}

impl Default for PaymentSettings {
    fn default() -> Self {
        PaymentSettings {
            payment_ttl_secs: 15 * 60,
            query_unpaid_after_secs: 2 * 60,
            requery_every_secs: 60,
            refund_retry_secs: 60,
            refund_query_after_secs: 2 * 60,
            event_retry_secs: 30,
            lease_secs: 60,
            batch_size: 50,
            sync_period_secs: 30,
        }
    }
}

impl PaymentSettings {
    /// Refuses values that would make payments unpayable or the job spin; the message
    /// names the key.
    pub fn validate(&self) -> Result<(), String> {
        // WeChat wants time_expire at least a minute ahead when the order is placed.
        if self.payment_ttl_secs < 120 {
            return Err("payment.payment_ttl_secs: must be at least 120".into());
        }
        for (key, value) in [
            (
                "payment.query_unpaid_after_secs",
                self.query_unpaid_after_secs,
            ),
            ("payment.requery_every_secs", self.requery_every_secs),
            ("payment.refund_retry_secs", self.refund_retry_secs),
            (
                "payment.refund_query_after_secs",
                self.refund_query_after_secs,
            ),
            ("payment.event_retry_secs", self.event_retry_secs),
            ("payment.lease_secs", self.lease_secs),
            ("payment.sync_period_secs", self.sync_period_secs),
        ] {
            if value == 0 {
                return Err(format!("{key}: must be at least 1"));
            }
        }
        if self.batch_size == 0 {
            return Err("payment.batch_size: must be at least 1".into());
        }
        Ok(())
    }

    pub(crate) fn secs(value: u64) -> TimeDelta {
        TimeDelta::seconds(i64::try_from(value).unwrap_or(i64::MAX / 1000))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key() {
        assert!(PaymentSettings::default().validate().is_ok());
        let short_ttl = PaymentSettings {
            payment_ttl_secs: 60,
            ..PaymentSettings::default()
        };
        assert!(
            short_ttl
                .validate()
                .unwrap_err()
                .contains("payment_ttl_secs")
        );
        let no_period = PaymentSettings {
            sync_period_secs: 0,
            ..PaymentSettings::default()
        };
        assert!(
            no_period
                .validate()
                .unwrap_err()
                .contains("sync_period_secs")
        );
        let no_batch = PaymentSettings {
            batch_size: 0,
            ..PaymentSettings::default()
        };
        assert!(no_batch.validate().unwrap_err().contains("batch_size"));
    }
}
