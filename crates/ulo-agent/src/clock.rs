//! The wall clock, corrected by the server's: agents run on laptops whose clocks drift.

use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;

/// The machine's time plus the offset last observed to the server's (`Date` header), so signed
/// requests carry the server's notion of now even when the laptop's clock is off.
#[derive(Debug, Default)]
pub struct ServerClock {
    offset_secs: AtomicI64,
}

impl ServerClock {
    /// The machine's clock, uncorrected.
    #[allow(clippy::disallowed_methods)]
    pub fn local_now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    /// The server's time as best known.
    pub fn now(&self) -> OffsetDateTime {
        Self::local_now() + time::Duration::seconds(self.offset_secs.load(Ordering::Relaxed))
    }

    /// Learns the offset from a response's `Date` (second resolution; small offsets ignored).
    pub fn observe(&self, server_date: OffsetDateTime) {
        let offset = (server_date - Self::local_now()).whole_seconds();
        let offset = if offset.abs() <= 2 { 0 } else { offset };
        self.offset_secs.store(offset, Ordering::Relaxed);
    }

    /// The current correction, in seconds.
    pub fn offset(&self) -> i64 {
        self.offset_secs.load(Ordering::Relaxed)
    }
}
