//! A per-client-address rate limit (logins, operator detection): governor's GCRA keyed by
//! address, on the injected clock.

use std::num::NonZeroU32;

use crate::SharedClock;
use governor::clock::{Clock as GovernorClockTrait, Reference};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::HashMapStateStore;
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
        limiter.check_key(&bucket(ip)).map_err(|not_until| {
            let wait = not_until
                .earliest_possible()
                .duration_since(self.clock.now());
            u64::from(wait).div_ceil(1_000_000_000).max(1)
        })
    }

    /// Forgets addresses whose allowance is full again (called by the purge job).
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
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
    fn ipv6_addresses_share_their_64() {
        assert_eq!(bucket("2001:db8:1:2::1"), bucket("2001:db8:1:2:ffff::9"));
        assert_ne!(bucket("2001:db8:1:2::1"), bucket("2001:db8:1:3::1"));
        assert_eq!(bucket("10.0.0.1"), "10.0.0.1");
    }
}
