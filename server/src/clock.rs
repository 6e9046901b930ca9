//! The server's notion of now, injectable so tests can move time (expiry,
//! extension, token lifetimes) without sleeping.

use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

use crate::domain::Timestamp;

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, at millisecond precision (what the store keeps).
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        crate::domain::truncate_to_millis(Utc::now())
    }
}

/// A clock that only moves when told to (and, if set to, by a fixed step
/// at every reading).
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
    step: Mutex<TimeDelta>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> ManualClock {
        ManualClock {
            now: Mutex::new(crate::domain::truncate_to_millis(start)),
            step: Mutex::new(TimeDelta::zero()),
        }
    }

    /// Makes every reading move the clock forward by `step` after it (zero,
    /// the default, stops it): time passes between any two readings, as
    /// with a real clock, yet stays predictable.
    pub fn set_step(&self, step: TimeDelta) {
        *self
            .step
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = step;
    }

    /// Moves the clock forward (or back, with a negative delta).
    pub fn advance(&self, delta: TimeDelta) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now += delta;
    }

    /// Sets the clock.
    pub fn set(&self, to: DateTime<Utc>) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now = crate::domain::truncate_to_millis(to);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        let step = *self
            .step
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let reading = *now;
        *now += step;
        reading
    }
}

/// The wall clock plus an offset the test stand-in moves (`serve
/// --testing-api`): `POST /testing/v1/clock/advance` adds to the offset,
/// and time keeps passing at wall speed from there. Everything that reads
/// the server's clock follows it (expiry, token lifetimes, rate limits,
/// the janitor, `last_seen`).
#[derive(Debug, Default)]
pub struct OffsetClock {
    offset: Mutex<TimeDelta>,
}

impl OffsetClock {
    /// A clock reading wall time until moved.
    pub fn new() -> OffsetClock {
        OffsetClock::default()
    }

    /// Moves the clock forward (or back, with a negative delta).
    pub fn advance(&self, delta: TimeDelta) {
        *self
            .offset
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) += delta;
    }

    /// Makes the clock read `to` now, and move on from there at wall speed.
    pub fn set(&self, to: DateTime<Utc>) {
        *self
            .offset
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = to - Utc::now();
    }

    /// Back to wall time.
    pub fn reset(&self) {
        *self
            .offset
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = TimeDelta::zero();
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> Timestamp {
        let offset = *self
            .offset
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        crate::domain::truncate_to_millis(Utc::now() + offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_clock_is_wall_time_moved() {
        let clock = OffsetClock::new();
        let wall = SystemClock.now();
        assert!((clock.now() - wall).abs() < TimeDelta::seconds(5));
        clock.advance(TimeDelta::hours(2));
        let moved = clock.now() - SystemClock.now();
        assert!(
            (moved - TimeDelta::hours(2)).abs() < TimeDelta::seconds(5),
            "{moved}"
        );
        let start = DateTime::from_timestamp(1_900_000_000, 0).unwrap_or_default();
        clock.set(start);
        assert!((clock.now() - start).abs() < TimeDelta::seconds(5));
        clock.reset();
        assert!((clock.now() - SystemClock.now()).abs() < TimeDelta::seconds(5));
    }

    #[test]
    fn a_stepping_clock_moves_at_every_reading() {
        let start = DateTime::from_timestamp_millis(1_700_000_000_000).unwrap_or_default();
        let clock = ManualClock::new(start);
        assert_eq!((clock.now(), clock.now()), (start, start));
        clock.set_step(TimeDelta::milliseconds(1));
        let first = clock.now();
        assert_eq!(first, start);
        assert_eq!(clock.now(), start + TimeDelta::milliseconds(1));
        clock.set_step(TimeDelta::zero());
        assert_eq!(clock.now(), start + TimeDelta::milliseconds(2));
        assert_eq!(clock.now(), start + TimeDelta::milliseconds(2));
    }
}
