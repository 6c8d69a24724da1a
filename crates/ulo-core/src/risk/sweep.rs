//! Housekeeping the server runs now and then: stored levels catch up with expiries, and
//! detections that stopped counting long ago are deleted.

use time::{Duration, OffsetDateTime};

use crate::error::DomainError;
use crate::store::Store;

/// How long a detection is kept after it stopped counting (the person's page shows recent
/// history; beyond this, the System Log keeps the record).
pub const KEEP_STOPPED: Duration = Duration::days(90);

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Users whose stored level was lowered (their detections expired).
    pub levels_lowered: usize,
    /// Detections deleted.
    pub purged: u64,
}

/// Rewrites the stored level of users whose detections expired and deletes detections that
/// stopped counting more than [`KEEP_STOPPED`] before `now`, in one transaction. Idempotent:
/// every node may run it.
pub async fn sweep(store: &dyn Store, now: OffsetDateTime) -> Result<Swept, DomainError> {
    let mut tx = store.begin().await?;
    let lowered = tx.refresh_risk_levels(now).await?;
    let purged = tx.purge_detections(now - KEEP_STOPPED).await?;
    tx.commit().await?;
    Ok(Swept {
        levels_lowered: lowered.len(),
        purged,
    })
}
