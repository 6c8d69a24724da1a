//! Per-process counters that slow down guessing and flooding, kept in memory (each `ulo serve`
//! or vault process counts on its own). Time comes in as a parameter.
//!
//! - [`FixedWindow`]: failures per key in a fixed window, the building block;
//! - [`SignInThrottle`]: failed sign-ins by (address, account) and, looser, by address — only
//!   the sign-in endpoints use it, so someone else's failed passwords never refuse a SCIM,
//!   SSF or admin credential;
//! - [`Refusals`]: refused requests per source address at unauthenticated intakes, with the
//!   tally recorded as one event per address and window instead of one row per request.

mod record;
mod refusals;
mod signin;

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

pub use record::{record_refusal, record_summaries};
pub use refusals::{RefusalSummary, Refusals, Verdict, short_reason};
pub use signin::SignInThrottle;

/// Keys remembered at most; beyond it expired windows are forgotten first (a spray of
/// addresses must not grow memory without bound).
const MAX_KEYS: usize = 100_000;

/// Counts failures per key in fixed windows: after `limit` failures in `window`, the key
/// waits until its window ends.
#[derive(Debug)]
pub struct FixedWindow<K> {
    limit: u32,
    window: Duration,
    hits: Mutex<HashMap<K, (OffsetDateTime, u32)>>,
}

impl<K: Hash + Eq> FixedWindow<K> {
    /// At most `limit` failures per `window`.
    pub fn new(limit: u32, window: Duration) -> Self {
        FixedWindow {
            limit,
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// The failures allowed per window.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// When `key` is over the limit at `now`, how long until it may try again.
    pub fn blocked(&self, key: &K, now: OffsetDateTime) -> Option<Duration> {
        let hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        let (start, n) = hits.get(key)?;
        let left = self.left(*start, now)?;
        (*n >= self.limit).then_some(left)
    }

    /// Records a failure of `key` at `now`; answers the failures in its window so far.
    pub fn fail(&self, key: K, now: OffsetDateTime) -> u32 {
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        if hits.len() >= MAX_KEYS {
            hits.retain(|_, (start, _)| in_window(*start, now, self.window));
        }
        let e = hits.entry(key).or_insert((now, 0));
        if !in_window(e.0, now, self.window) {
            *e = (now, 0);
        }
        e.1 = e.1.saturating_add(1);
        e.1
    }

    /// Time left in a window that began at `start`, if it is still open.
    fn left(&self, start: OffsetDateTime, now: OffsetDateTime) -> Option<Duration> {
        in_window(start, now, self.window).then(|| self.window - (now - start))
    }
}

/// Whether a window of `window` that began at `start` is open at `now` (a clock that went
/// back keeps it open).
fn in_window(start: OffsetDateTime, now: OffsetDateTime, window: Duration) -> bool {
    now - start < window
}

/// Whole seconds to announce in `Retry-After` (at least 1).
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.whole_seconds() + i64::from(wait.subsec_nanoseconds() > 0);
    u64::try_from(secs.max(1)).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_key_waits_after_its_limit_until_the_window_ends() {
        let t0 = datetime!(2026-12-01 10:00:00 UTC);
        let w = FixedWindow::new(3, Duration::seconds(60));
        for n in 1..=3 {
            assert_eq!(w.blocked(&"a", t0), None);
            assert_eq!(w.fail("a", t0), n);
        }
        let later = t0 + Duration::seconds(20);
        assert_eq!(w.blocked(&"a", later), Some(Duration::seconds(40)));
        assert_eq!(w.blocked(&"b", later), None, "other keys are not affected");
        assert_eq!(w.blocked(&"a", t0 + Duration::seconds(60)), None);
        assert_eq!(w.fail("a", t0 + Duration::seconds(60)), 1, "a new window");
        assert_eq!(retry_after_secs(Duration::milliseconds(1500)), 2);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
