use std::sync::{Arc, Mutex};

use chrono::{TimeDelta, Utc};

use crate::Timestamp;

/// Where "now" comes from. Workers and expiry rules take a clock so tests can move time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

pub type SharedClock = Arc<dyn Clock>;

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_datetime(Utc::now())
    }
}

/// Another clock, `offset` ahead (or behind, when negative): a party whose clock is not
/// quite ours, as WeChat's never is exactly.
#[derive(Clone)]
pub struct OffsetClock {
    inner: SharedClock,
    offset: TimeDelta,
}

impl OffsetClock {
    pub fn new(inner: SharedClock, offset: TimeDelta) -> Self {
        OffsetClock { inner, offset }
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> Timestamp {
        self.inner.now().plus(self.offset)
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<Timestamp>>);

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        ManualClock(Arc::new(Mutex::new(start)))
    }

    pub fn set(&self, at: Timestamp) {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = at;
    }

    pub fn advance(&self, by: TimeDelta) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now = now.plus(by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_clock_follows_its_clock_at_its_distance() {
        let base = ManualClock::new(Timestamp::parse("2026-03-01T08:00:00Z").unwrap());
        let ahead = OffsetClock::new(Arc::new(base.clone()), TimeDelta::seconds(240));
        assert_eq!(
            ahead.now(),
            Timestamp::parse("2026-03-01T08:04:00Z").unwrap()
        );
        base.advance(TimeDelta::seconds(60));
        assert_eq!(
            ahead.now(),
            Timestamp::parse("2026-03-01T08:05:00Z").unwrap()
        );
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(TimeDelta::minutes(15));
        assert_eq!(clock.now().to_rfc3339(), "2026-01-01T00:15:00.000Z");
    }
}
