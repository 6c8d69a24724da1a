//! The wall clock, read in this one place; everything else takes a [`Clock`] parameter.

use time::OffsetDateTime;
pub use ulo_core::clock::{Clock, ManualClock};

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // The one place the vault reads the wall clock.
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}
