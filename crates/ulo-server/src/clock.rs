//! The wall clock: the one place ulo reads the time of day.

use time::OffsetDateTime;
use ulo_core::clock::Clock;

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}
