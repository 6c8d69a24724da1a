//! The `jti`s of accepted Universal Logout requests, kept in the vault's store: a request
//! captured and replayed after a restart, or sent to another vault process on the same
//! database, is refused like any replay.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::{Date, OffsetDateTime, Time};
use ulo_receiver::{ReplayStore, ReplayStoreError};

use crate::store::Store;

/// Expired `jti`s are purged at most this often (seconds), off the request's transaction.
const PURGE_INTERVAL_SECS: i64 = 60;

/// The store-backed [`ReplayStore`] the vault's receiver uses.
pub struct SeenJtis {
    store: Arc<dyn Store>,
    last_purge: AtomicI64,
}

impl SeenJtis {
    /// Remembers `jti`s in `store`'s `seen_jtis` table.
    pub fn new(store: Arc<dyn Store>) -> Self {
        SeenJtis {
            store,
            last_purge: AtomicI64::new(i64::MIN),
        }
    }

    /// Deletes expired rows if no purge ran in the last interval; a failure only delays it.
    async fn purge(&self, now: OffsetDateTime) {
        let unix = now.unix_timestamp();
        let last = self.last_purge.load(Ordering::Relaxed);
        if unix.saturating_sub(last) < PURGE_INTERVAL_SECS
            || self
                .last_purge
                .compare_exchange(last, unix, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let purged = async {
            let mut tx = self.store.begin().await?;
            let n = tx.purge_jtis(now).await?;
            tx.commit().await?;
            Ok::<_, crate::StoreError>(n)
        }
        .await;
        match purged {
            Ok(n) => tracing::debug!(purged = n, "forgot expired logout request jtis"),
            Err(e) => tracing::warn!(error = %e, "could not purge expired logout request jtis"),
        }
    }
}

/// Unix seconds as a time the store can keep (clamped to the representable range).
fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap_or_else(|_| {
        if unix < 0 {
            OffsetDateTime::UNIX_EPOCH
        } else {
            Date::MAX.with_time(Time::MIDNIGHT).assume_utc()
        }
    })
}

#[async_trait::async_trait]
impl ReplayStore for SeenJtis {
    async fn remember(&self, jti: &str, expires: i64, now: i64) -> Result<bool, ReplayStoreError> {
        let now = at(now);
        let remembered = async {
            let mut tx = self.store.begin().await?;
            let first = tx.remember_jti(jti, at(expires), now).await?;
            tx.commit().await?;
            Ok::<_, crate::StoreError>(first)
        }
        .await;
        match remembered {
            Ok(first) => {
                self.purge(now).await;
                Ok(first)
            }
            Err(e) => {
                // The detail stays in the vault's log; ulo is told to retry.
                tracing::error!(error = %e, "could not record a logout request's jti");
                Err(ReplayStoreError(
                    "the vault cannot check for replays right now; retry later".into(),
                ))
            }
        }
    }
}
