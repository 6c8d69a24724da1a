//! Remembering accepted `jti`s so that each token is accepted once.

use std::collections::HashMap;
use std::sync::Mutex;

/// A [`ReplayStore`] could not record a `jti` (answered 503: accepting the request then could
/// let a replay through).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ReplayStoreError(pub String);

/// Where a receiver remembers the `jti`s it accepted, so that each token is accepted once.
///
/// The default, [`MemoryReplayStore`], forgets everything when the process ends: an app that
/// restarts, or runs several processes behind one endpoint, should use a store they share
/// (a database table whose primary key is the `jti`), or a request captured within its
/// lifetime could be accepted again.
#[async_trait::async_trait]
pub trait ReplayStore: Send + Sync {
    /// Records `jti` until `expires` (Unix seconds); `now` is the receiver's clock. Answers
    /// `true` the first time, `false` when `jti` is already remembered and not yet expired.
    /// Of two concurrent calls with the same `jti`, at most one may answer `true`.
    async fn remember(&self, jti: &str, expires: i64, now: i64) -> Result<bool, ReplayStoreError>;
}

/// The in-memory [`ReplayStore`]: at most `capacity` unexpired `jti`s, in this process only.
#[derive(Debug)]
pub struct MemoryReplayStore {
    seen: Mutex<HashMap<String, i64>>,
    capacity: usize,
}

impl MemoryReplayStore {
    /// A store remembering at most `capacity` (at least 1) unexpired `jti`s.
    pub fn new(capacity: usize) -> Self {
        Self {
            seen: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }
}

#[async_trait::async_trait]
impl ReplayStore for MemoryReplayStore {
    async fn remember(&self, jti: &str, expires: i64, now: i64) -> Result<bool, ReplayStoreError> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.get(jti).is_some_and(|&e| e > now) {
            return Ok(false);
        }
        if seen.len() >= self.capacity {
            seen.retain(|_, e| *e > now);
        }
        if seen.len() >= self.capacity {
            // Evicting a live entry would allow a replay, so refuse instead.
            return Err(ReplayStoreError("replay cache is full".into()));
        }
        seen.insert(jti.to_owned(), expires);
        Ok(true)
    }
}
