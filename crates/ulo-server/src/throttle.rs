//! A fixed-window counter per key (client IP): after `limit` failures in `window`, callers wait.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts failures per IP.
pub struct Throttle {
    limit: u32,
    window: Duration,
    hits: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Throttle {
    /// At most `limit` failures per `window`.
    pub fn new(limit: u32, window: Duration) -> Self {
        Throttle {
            limit,
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// When `ip` is over the limit, how long until it may try again.
    pub fn blocked(&self, ip: IpAddr) -> Option<Duration> {
        let hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        let (start, n) = hits.get(&ip)?;
        let elapsed = start.elapsed();
        (elapsed < self.window && *n >= self.limit).then(|| self.window - elapsed)
    }

    /// Records a failure.
    pub fn fail(&self, ip: IpAddr) {
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        if hits.len() > 100_000 {
            // Bound memory under a spray of addresses: forget expired windows.
            let window = self.window;
            hits.retain(|_, (start, _)| start.elapsed() < window);
        }
        let e = hits.entry(ip).or_insert((Instant::now(), 0));
        if e.0.elapsed() >= self.window {
            *e = (Instant::now(), 0);
        }
        e.1 += 1;
    }
}
