//! Where a user's detections are kept. INTERIM: the `risk` storage area (trait pair, both
//! backends, migration 0017) is not built yet; detections live as one JSON document per user
//! in the settings table, read and written in the caller's transaction under the user's lock.
//! Replacing this file with calls to a `RiskTx` changes nothing else.

use time::OffsetDateTime;

use super::Detection;
use crate::error::DomainError;
use crate::ids::UserId;
use crate::store::{StoreError, StoreRead, StoreTx};

/// At most this many ended or expired detections are kept per user, besides the active ones.
const KEEP_INACTIVE: usize = 50;

fn key(user: UserId) -> String {
    format!("risk.detections.{user}")
}

/// Every kept detection of `user`, oldest first.
pub(super) async fn load(
    tx: &mut dyn StoreRead,
    user: UserId,
) -> Result<Vec<Detection>, DomainError> {
    match tx.get_setting(&key(user)).await? {
        None => Ok(Vec::new()),
        Some(v) => Ok(serde_json::from_value(v)
            .map_err(|e| StoreError::Corrupt(format!("detections: {e}")))?),
    }
}

/// Replaces the detections of `user`, dropping the oldest inactive ones beyond a bound.
pub(super) async fn save(
    tx: &mut dyn StoreTx,
    user: UserId,
    all: &[Detection],
    now: OffsetDateTime,
) -> Result<(), DomainError> {
    let inactive = all.iter().filter(|d| !d.is_active(now)).count();
    let mut excess = inactive.saturating_sub(KEEP_INACTIVE);
    let kept: Vec<&Detection> = all
        .iter()
        .filter(|d| {
            if excess > 0 && !d.is_active(now) {
                excess -= 1;
                false
            } else {
                true
            }
        })
        .collect();
    let value =
        serde_json::to_value(kept).map_err(|e| StoreError::Invalid(format!("detections: {e}")))?;
    tx.put_setting(&key(user), &value, now).await?;
    Ok(())
}
