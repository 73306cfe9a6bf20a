use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

/// How orders behave; every value has a default that suits the embedded mode.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrdersConfig {
    /// An unpaid order is closed (after asking WeChat) this many minutes after checkout.
    pub pay_timeout_minutes: i64,
    /// At most this many paid orders per number in the last 24 hours; 0 = unlimited. Unpaid
    /// orders never count, so nobody can use up a number's allowance without paying.
    pub max_orders_per_number_per_day: u32,
    /// At most this many unpaid orders per user at a time; 0 = unlimited.
    pub max_unpaid_orders_per_user: u32,
    /// Checkouts a user may start per minute; 0 = unlimited.
    pub checkout_rate_per_minute: u32,
    /// Send attempts (over all providers) before a retryable failure becomes final.
    pub max_recharge_attempts: u32,
    /// First retry delay after a retryable failure; doubles per attempt.
    pub retry_backoff_seconds: i64,
    /// How often a provider's PROCESSING top-up is polled.
    pub poll_interval_seconds: i64,
    /// How soon an ambiguous (timed-out) top-up is looked up by its key.
    pub lookup_delay_seconds: i64,
    /// A worker's hold on an order; must outlast one provider call.
    pub lease_seconds: i64,
    /// How many due orders one worker pass claims.
    pub batch_size: usize,
    /// Whether this process drives orders at all. Off for a process that only serves the API
    /// while others on the same store run the worker.
    pub run_worker: bool,
    /// How often the worker looks for due orders (seconds, real time); a payment accepted by
    /// this process wakes it at once.
    pub worker_period_seconds: u64,
    /// An order held for staff longer than this raises an alert (error log, and the staff
    /// order list's `hold_alerted` filter).
    pub hold_alert_minutes: i64,
    /// How many orders one worker drives at once (each may wait seconds on a provider).
    pub dispatch_concurrency: usize,
}

impl Default for OrdersConfig {
    fn default() -> Self {
        OrdersConfig {
            pay_timeout_minutes: 15,
            max_orders_per_number_per_day: 10,
            max_unpaid_orders_per_user: 3,
            checkout_rate_per_minute: 10,
            max_recharge_attempts: 5,
            retry_backoff_seconds: 30,
            poll_interval_seconds: 5,
            lookup_delay_seconds: 5,
            lease_seconds: 60,
            batch_size: 20,
            run_worker: true,
            worker_period_seconds: 1,
            hold_alert_minutes: 30,
            dispatch_concurrency: 64,
        }
    }
}

impl OrdersConfig {
    pub fn hold_alert(&self) -> TimeDelta {
        TimeDelta::minutes(self.hold_alert_minutes.max(0))
    }

    /// `retry_backoff × 2^(attempt-1)`, capped at ten minutes.
    pub fn retry_backoff(&self, attempt: u32) -> TimeDelta {
        let factor = 2i64.saturating_pow(attempt.saturating_sub(1).min(16));
        TimeDelta::seconds(self.retry_backoff_seconds.saturating_mul(factor).min(600))
    }

    pub fn poll_interval(&self, polls: u32) -> TimeDelta {
        // Poll steadily at first, then back off to at most five minutes.
        let factor = if polls < 10 {
            1
        } else {
            i64::from(polls / 10) + 1
        };
        TimeDelta::seconds(self.poll_interval_seconds.saturating_mul(factor).min(300))
    }
}

/// The part of the configuration that staff may change while serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckoutRules {
    /// See [`OrdersConfig::pay_timeout_minutes`].
    pub pay_timeout_minutes: i64,
    /// See [`OrdersConfig::max_orders_per_number_per_day`].
    pub max_orders_per_number_per_day: u32,
    /// See [`OrdersConfig::max_unpaid_orders_per_user`].
    pub max_unpaid_orders_per_user: u32,
}

impl From<&OrdersConfig> for CheckoutRules {
    fn from(config: &OrdersConfig) -> Self {
        CheckoutRules {
            pay_timeout_minutes: config.pay_timeout_minutes,
            max_orders_per_number_per_day: config.max_orders_per_number_per_day,
            max_unpaid_orders_per_user: config.max_unpaid_orders_per_user,
        }
    }
}
