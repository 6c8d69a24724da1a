//! The wall clock, corrected by the server's: agents run on laptops whose clocks drift.

use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;

/// The machine's time plus the offset last observed to the server's (`Date` header), so signed
/// requests carry the server's notion of now even when the laptop's clock is off.
pub struct ServerClock {
    offset_secs: AtomicI64,
    local: Box<dyn Fn() -> OffsetDateTime + Send + Sync>,
}

impl Default for ServerClock {
    fn default() -> Self {
        Self::with_local(Self::local_now)
    }
}

impl std::fmt::Debug for ServerClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerClock")
            .field("offset_secs", &self.offset())
            .finish_non_exhaustive()
    }
}

impl ServerClock {
    /// A clock correcting `local`, the machine's clock (one set wrong, in tests).
    pub fn with_local(local: impl Fn() -> OffsetDateTime + Send + Sync + 'static) -> Self {
        ServerClock {
            offset_secs: AtomicI64::new(0),
            local: Box::new(local),
        }
    }

    /// The machine's clock, uncorrected.
    #[allow(clippy::disallowed_methods)]
    pub fn local_now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    /// The server's time as best known.
    pub fn now(&self) -> OffsetDateTime {
        (self.local)() + time::Duration::seconds(self.offset_secs.load(Ordering::Relaxed))
    }

    /// Learns the offset from a response's `Date` (second resolution; small offsets ignored);
    /// answers how many seconds the correction moved.
    pub fn observe(&self, server_date: OffsetDateTime) -> i64 {
        let offset = (server_date - (self.local)()).whole_seconds();
        let offset = if offset.abs() <= 2 { 0 } else { offset };
        let before = self.offset_secs.swap(offset, Ordering::Relaxed);
        offset - before
    }

    /// The current correction, in seconds.
    pub fn offset(&self) -> i64 {
        self.offset_secs.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicI64;

    use time::Duration;

    use super::*;

    /// A laptop clock the test sets, in Unix seconds.
    fn laptop(at: &Arc<AtomicI64>) -> ServerClock {
        let at = at.clone();
        ServerClock::with_local(move || {
            OffsetDateTime::from_unix_timestamp(at.load(Ordering::Relaxed)).unwrap()
        })
    }

    fn unix(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(secs).unwrap()
    }

    #[test]
    fn a_laptop_ten_minutes_off_either_way_signs_with_the_servers_time() {
        let server = 1_800_000_000;
        for skew in [-600, 600] {
            let at = Arc::new(AtomicI64::new(server + skew));
            let clock = laptop(&at);
            // Before any answer: the laptop's own (wrong) time.
            assert_eq!(clock.now(), unix(server + skew));
            assert_eq!(clock.observe(unix(server)), -skew, "the correction moved");
            assert_eq!(clock.offset(), -skew);
            assert_eq!(clock.now(), unix(server));
            // Both clocks run on: the correction holds without a new answer.
            at.fetch_add(45, Ordering::Relaxed);
            assert_eq!(clock.now(), unix(server + 45));
            // The same skew seen again moves nothing.
            assert_eq!(clock.observe(unix(server + 45)), 0);
        }
    }

    #[test]
    fn a_few_seconds_off_is_not_corrected_and_a_fixed_clock_drops_the_correction() {
        let server = 1_800_000_000;
        let at = Arc::new(AtomicI64::new(server + 2));
        let clock = laptop(&at);
        assert_eq!(clock.observe(unix(server)), 0);
        assert_eq!(clock.now(), unix(server + 2), "within `Date`'s resolution");
        at.store(server + 300, Ordering::Relaxed);
        assert_eq!(clock.observe(unix(server)), -300);
        // Someone sets the laptop's clock right: the next answer undoes the correction.
        at.store(server, Ordering::Relaxed);
        assert_eq!(clock.observe(unix(server)), 300);
        assert_eq!(clock.offset(), 0);
        assert_eq!(clock.now() - unix(server), Duration::ZERO);
    }
}
