//! Refused requests at unauthenticated intakes (Universal Logout receivers, signal intakes),
//! counted per source address in fixed windows. The first refusal of a window is recorded on
//! its own; the rest are tallied in memory and recorded as one summary per address and window,
//! so a flood of garbage writes a handful of rows. Past the limit an address's refusals are
//! answered 429; a request that verifies is served whatever the tally says.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

use super::{MAX_KEYS, in_window};

/// How to answer and record one refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The first refusal from the address in its window: answer as usual, record it now.
    RecordFirst,
    /// Answer as usual; the window's summary counts it.
    Counted,
    /// The address is over its limit: answer 429 with this wait; the summary counts it.
    Throttled(Duration),
}

/// What one address's refusals in one window came to, beyond the first (recorded on its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalSummary {
    /// The source address (`::` stands for "many addresses" when too many were seen at once).
    pub address: IpAddr,
    /// When the window began.
    pub window_start: OffsetDateTime,
    /// When it ended.
    pub window_end: OffsetDateTime,
    /// Refusals not recorded on their own.
    pub refused: u32,
    /// How many of them were answered 429.
    pub throttled: u32,
    /// The reason of the last one.
    pub last_reason: String,
}

#[derive(Debug)]
struct Tally {
    start: OffsetDateTime,
    total: u32,
    throttled: u32,
    last_reason: String,
}

/// Refusals per source address.
#[derive(Debug)]
pub struct Refusals {
    limit: u32,
    window: Duration,
    tallies: Mutex<HashMap<IpAddr, Tally>>,
}

impl Default for Refusals {
    /// 10 refusals per address and minute, then 429 until the minute ends.
    fn default() -> Self {
        Self::new(10, Duration::minutes(1))
    }
}

/// The bucket of addresses beyond [`MAX_KEYS`] (and of requests without one).
const OVERFLOW: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);

impl Refusals {
    /// At most `limit` refusals per address and `window` before 429.
    pub fn new(limit: u32, window: Duration) -> Self {
        Refusals {
            limit,
            window,
            tallies: Mutex::new(HashMap::new()),
        }
    }

    /// The length of a window.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Records a refusal from `ip` at `now` for `reason`. Answers how to answer and record it,
    /// and the summary of the address's previous window when that one closed untold.
    pub fn refuse(
        &self,
        ip: Option<IpAddr>,
        reason: &str,
        now: OffsetDateTime,
    ) -> (Verdict, Option<RefusalSummary>) {
        let mut tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        let mut key = ip.unwrap_or(OVERFLOW);
        if tallies.len() >= MAX_KEYS && !tallies.contains_key(&key) {
            key = OVERFLOW;
        }
        let mut closed = None;
        if let Some(t) = tallies.get(&key)
            && !in_window(t.start, now, self.window)
        {
            closed = tallies.remove(&key).and_then(|t| self.summary(key, t));
        }
        let t = tallies.entry(key).or_insert_with(|| Tally {
            start: now,
            total: 0,
            throttled: 0,
            last_reason: String::new(),
        });
        t.total = t.total.saturating_add(1);
        t.last_reason = short_reason(reason);
        let verdict = if t.total == 1 {
            Verdict::RecordFirst
        } else if t.total > self.limit {
            t.throttled = t.throttled.saturating_add(1);
            Verdict::Throttled(self.window - (now - t.start))
        } else {
            Verdict::Counted
        };
        (verdict, closed)
    }

    /// Summaries of the windows that ended by `now` (they are forgotten).
    pub fn closed(&self, now: OffsetDateTime) -> Vec<RefusalSummary> {
        let mut tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        let ended: Vec<IpAddr> = tallies
            .iter()
            .filter(|(_, t)| !in_window(t.start, now, self.window))
            .map(|(k, _)| *k)
            .collect();
        ended
            .into_iter()
            .filter_map(|k| tallies.remove(&k).and_then(|t| self.summary(k, t)))
            .collect()
    }

    /// Summaries of every window, ended or not (at shutdown); all are forgotten.
    pub fn drain(&self) -> Vec<RefusalSummary> {
        let mut tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        tallies
            .drain()
            .filter_map(|(k, t)| self.summary(k, t))
            .collect()
    }

    fn summary(&self, address: IpAddr, t: Tally) -> Option<RefusalSummary> {
        (t.total > 1).then(|| RefusalSummary {
            address,
            window_start: t.start,
            window_end: t.start + self.window,
            refused: t.total - 1,
            throttled: t.throttled,
            last_reason: t.last_reason,
        })
    }
}

/// A refusal reason as recorded: at most 200 characters (a reason may quote what the caller
/// sent, and one row per window must stay small).
pub fn short_reason(reason: &str) -> String {
    reason.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_first_refusal_is_recorded_the_rest_summarised_and_throttled_past_the_limit() {
        let t0 = datetime!(2026-12-01 10:00:00 UTC);
        let r = Refusals::new(3, Duration::seconds(60));
        let ip: IpAddr = "198.51.100.4".parse().unwrap();
        assert_eq!(
            r.refuse(Some(ip), "bad token", t0),
            (Verdict::RecordFirst, None)
        );
        assert_eq!(r.refuse(Some(ip), "bad token", t0).0, Verdict::Counted);
        assert_eq!(r.refuse(Some(ip), "bad token", t0).0, Verdict::Counted);
        let t1 = t0 + Duration::seconds(15);
        assert_eq!(
            r.refuse(Some(ip), "replayed", t1).0,
            Verdict::Throttled(Duration::seconds(45))
        );
        assert!(r.closed(t1).is_empty(), "the window is open");
        let other: IpAddr = "198.51.100.5".parse().unwrap();
        assert_eq!(r.refuse(Some(other), "x", t1).0, Verdict::RecordFirst);

        // The next refusal after the window tells the last window's tally.
        let t2 = t0 + Duration::seconds(61);
        let (v, closed) = r.refuse(Some(ip), "bad token", t2);
        assert_eq!(v, Verdict::RecordFirst);
        assert_eq!(
            closed,
            Some(RefusalSummary {
                address: ip,
                window_start: t0,
                window_end: t0 + Duration::seconds(60),
                refused: 3,
                throttled: 1,
                last_reason: "replayed".into(),
            })
        );
        // `other` had one refusal, already recorded: nothing to summarise.
        assert!(r.closed(t1 + Duration::seconds(60)).is_empty());
        r.refuse(Some(ip), "again", t2);
        let drained = r.drain();
        assert_eq!(drained.len(), 1);
        assert_eq!(drained[0].refused, 1);
        assert!(r.drain().is_empty());
    }
}
