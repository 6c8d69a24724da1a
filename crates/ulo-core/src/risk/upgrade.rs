//! Bringing over the detections an interim version kept as settings documents
//! (`risk.detections.<user id>`, a JSON array of detections each).

use time::OffsetDateTime;

use super::{Detection, RiskLevel, level_of};
use crate::error::DomainError;
use crate::ids::UserId;
use crate::store::{StoreError, StoreTx};

/// The settings keys' prefix.
const PREFIX: &str = "risk.detections.";

/// Moves every user's detections document into the `risk` area, writes their level on the
/// user's row and deletes the document, in `tx`. A document is imported by the transaction
/// whose delete found it (of nodes starting at once, one); a deleted user's is dropped.
pub(crate) async fn import_legacy(
    tx: &mut dyn StoreTx,
    now: OffsetDateTime,
) -> Result<(), DomainError> {
    for (key, doc) in tx.settings_with_prefix(PREFIX).await? {
        if !tx.delete_setting(&key).await? {
            continue;
        }
        let Some(user) = key
            .strip_prefix(PREFIX)
            .and_then(|u| u.parse::<UserId>().ok())
        else {
            continue;
        };
        if tx.get_user(user).await?.is_none() {
            continue;
        }
        let detections: Vec<Detection> =
            serde_json::from_value(doc).map_err(|e| StoreError::Corrupt(format!("{key}: {e}")))?;
        for d in detections.iter().filter(|d| d.user_id == user) {
            tx.insert_detection(d).await?;
        }
        let level = level_of(&detections, now).unwrap_or(RiskLevel::Low);
        tx.set_user_risk_level(user, level).await?;
    }
    Ok(())
}
