//! Time as an input: every expiry decision reads a [`Clock`], so tests move time instead of sleeping.

use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

/// A source of the current time (UTC).
pub trait Clock: Send + Sync + 'static {
    /// The current instant, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        truncate_to_micros(OffsetDateTime::now_utc())
    }
}

/// A clock that stands still until moved; for tests and simulations.
///
/// ```
/// use authfort_core::clock::{Clock, ManualClock};
/// use time::Duration;
///
/// let clock = ManualClock::new(time::macros::datetime!(2026-01-01 0:00 UTC));
/// let before = clock.now();
/// clock.advance(Duration::minutes(10));
/// assert_eq!(clock.now() - before, Duration::minutes(10));
/// ```
#[derive(Debug)]
pub struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    /// A clock reading `start`.
    pub fn new(start: OffsetDateTime) -> ManualClock {
        ManualClock(Mutex::new(truncate_to_micros(start)))
    }

    /// A clock starting at the current wall-clock time.
    pub fn starting_now() -> ManualClock {
        ManualClock::new(OffsetDateTime::now_utc())
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }

    /// Sets the clock.
    pub fn set(&self, to: OffsetDateTime) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = truncate_to_micros(to);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Databases keep microseconds; keeping the same precision in memory makes round trips exact.
pub(crate) fn truncate_to_micros(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000).unwrap_or(t)
}
