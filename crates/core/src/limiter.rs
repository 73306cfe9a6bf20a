//! Rate limits on the injected clock, with governor's GCRA: per client address (logins,
//! operator detection) and per credential with its own rate (API keys).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;

use crate::SharedClock;
use governor::clock::{Clock as GovernorClockTrait, Reference};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::HashMapStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

/// Lets governor read our clock, so tests drive the limit with a `ManualClock`.
#[derive(Clone)]
struct ClockAdapter(SharedClock);

impl GovernorClockTrait for ClockAdapter {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        let millis = u64::try_from(self.0.now().unix_millis()).unwrap_or(0);
        Nanos::from(millis.saturating_mul(1_000_000))
    }
}

impl ClockAdapter {
    /// Whole seconds (at least one) until a refused request would be allowed.
    fn seconds_until(&self, not_until: &governor::NotUntil<Nanos>) -> u64 {
        let wait = not_until.earliest_possible().duration_since(self.now());
        u64::from(wait).div_ceil(1_000_000_000).max(1)
    }
}

type Keyed = RateLimiter<String, HashMapStateStore<String>, ClockAdapter, NoOpMiddleware<Nanos>>;

pub struct AddressLimiter {
    limiter: Option<Keyed>,
    clock: ClockAdapter,
}

impl AddressLimiter {
    /// `rate_per_minute` 0 turns the limit off.
    pub fn new(rate_per_minute: u32, burst: u32, clock: SharedClock) -> Self {
        let clock = ClockAdapter(clock);
        let limiter = NonZeroU32::new(rate_per_minute).map(|rate| {
            let burst = NonZeroU32::new(burst).unwrap_or(rate);
            RateLimiter::hashmap_with_clock(
                Quota::per_minute(rate).allow_burst(burst),
                clock.clone(),
            )
        });
        AddressLimiter { limiter, clock }
    }

    /// `Err(seconds to wait)` when this address has used up its attempts.
    pub fn check(&self, ip: &str) -> Result<(), u64> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter
            .check_key(&bucket(ip))
            .map_err(|not_until| self.clock.seconds_until(&not_until))
    }

    /// Forgets addresses whose allowance is full again (called by the purge job).
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

type Direct = RateLimiter<NotKeyed, InMemoryState, ClockAdapter, NoOpMiddleware<Nanos>>;

/// One limit per key, each at its own rate (an API key's `rate_per_minute`, which may change
/// between calls: a new rate starts a fresh allowance).
pub struct PerKeyLimiter {
    limiters: Mutex<HashMap<String, (u32, Direct)>>,
    clock: ClockAdapter,
}

impl PerKeyLimiter {
    pub fn new(clock: SharedClock) -> Self {
        PerKeyLimiter {
            limiters: Mutex::new(HashMap::new()),
            clock: ClockAdapter(clock),
        }
    }

    /// `Err(seconds to wait)` when `key` has used up `rate_per_minute` (0: no limit).
    pub fn check(&self, key: &str, rate_per_minute: u32) -> Result<(), u64> {
        let Some(rate) = NonZeroU32::new(rate_per_minute) else {
            return Ok(());
        };
        let mut limiters = self
            .limiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = limiters.entry(key.to_owned()).or_insert_with(|| {
            (
                rate_per_minute,
                RateLimiter::direct_with_clock(Quota::per_minute(rate), self.clock.clone()),
            )
        });
        if entry.0 != rate_per_minute {
            *entry = (
                rate_per_minute,
                RateLimiter::direct_with_clock(Quota::per_minute(rate), self.clock.clone()),
            );
        }
        entry
            .1
            .check()
            .map_err(|not_until| self.clock.seconds_until(&not_until))
    }

    /// Drops a key's allowance (a revoked key is never checked again).
    pub fn forget(&self, key: &str) {
        self.limiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(key);
    }
}

/// The rate-limit bucket of an address: IPv4 addresses alone, IPv6 addresses by their /64
/// (one subscriber usually holds a whole /64; `docs/security.md#client-addresses`).
fn bucket(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let segments = v6.segments();
            format!(
                "{:x}:{:x}:{:x}:{:x}::/64",
                segments[0], segments[1], segments[2], segments[3]
            )
        }
        _ => ip.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use crate::{ManualClock, Timestamp};
    use chrono::TimeDelta;

    #[test]
    fn refuses_after_the_burst_and_recovers_with_the_clock() {
        let clock = ManualClock::new(Timestamp::parse("2026-01-01T00:00:00Z").unwrap());
        let limiter = AddressLimiter::new(6, 2, Arc::new(clock.clone()));
        assert!(limiter.check("10.0.0.1").is_ok());
        assert!(limiter.check("10.0.0.1").is_ok());
        let wait = limiter.check("10.0.0.1").unwrap_err();
        assert!((1..=10).contains(&wait), "{wait}");
        assert!(
            limiter.check("10.0.0.2").is_ok(),
            "other addresses are not affected"
        );
        clock.advance(TimeDelta::seconds(10));
        assert!(limiter.check("10.0.0.1").is_ok());
    }

    #[test]
    fn each_key_has_its_own_rate() {
        let clock = ManualClock::new(Timestamp::parse("2026-01-01T00:00:00Z").unwrap());
        let limiter = PerKeyLimiter::new(Arc::new(clock.clone()));
        for _ in 0..3 {
            assert!(limiter.check("a", 3).is_ok());
        }
        let wait = limiter.check("a", 3).unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert!(limiter.check("b", 3).is_ok(), "other keys are not affected");
        assert!(limiter.check("c", 0).is_ok(), "0 is unlimited");
        clock.advance(TimeDelta::seconds(20));
        assert!(limiter.check("a", 3).is_ok());
    }

    #[test]
    fn ipv6_addresses_share_their_64() {
        assert_eq!(bucket("2001:db8:1:2::1"), bucket("2001:db8:1:2:ffff::9"));
        assert_ne!(bucket("2001:db8:1:2::1"), bucket("2001:db8:1:3::1"));
        assert_eq!(bucket("10.0.0.1"), "10.0.0.1");
    }
}
