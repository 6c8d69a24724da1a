//! Risk detections about users, and the entity risk level kept on the user's row.
//!
//! A detection counts while it is *active*: not ended by a reset and not yet expired. Expiry
//! happens without a write, so `users.risk_level` is the level as of the last change
//! (detection, reset, or an expiry observed by [`RiskTx::refresh_risk_levels`]); the admin
//! reads that answer `riskLevel` compute it from the active detections instead (see
//! [`UserQuery::risk_at`](super::UserQuery::risk_at)).

use super::StoreError;
use crate::ids::{DetectionId, UserId};
use crate::risk::Detection;
use crate::user::RiskLevel;
use async_trait::async_trait;
use time::OffsetDateTime;

/// What a read handle or a transaction can read of this area.
#[async_trait]
pub trait RiskRead: Send {
    /// The detections of `user` active at `now` (not ended, not expired), newest first.
    async fn active_detections(
        &mut self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<Detection>, StoreError>;
    /// The `limit` newest detections of `user`, active or not, newest first.
    async fn recent_detections(
        &mut self,
        user: UserId,
        limit: u32,
    ) -> Result<Vec<Detection>, StoreError>;
}

/// What a transaction can change in this area (a part of [`StoreTx`](super::StoreTx)).
#[async_trait]
pub trait RiskTx: RiskRead {
    /// Stores a new detection; [`StoreError::Unique`] when its id is taken.
    async fn insert_detection(&mut self, detection: &Detection) -> Result<(), StoreError>;
    /// Ends every detection of `user` active at `now` (a reset); answers their ids.
    async fn end_detections(
        &mut self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<DetectionId>, StoreError>;
    /// Deletes the inactive detections of `user` at `now` beyond the `keep` newest inactive
    /// ones (active ones are never pruned); answers how many went.
    async fn prune_detections(
        &mut self,
        user: UserId,
        now: OffsetDateTime,
        keep: u32,
    ) -> Result<u64, StoreError>;
    /// What a new detection writes, at once: stores `detection` ([`RiskTx::insert_detection`]),
    /// writes `level` on its user's row unless it is there already
    /// ([`RiskTx::set_user_risk_level`]; the caller holds the user's row), and prunes the user's
    /// inactive detections at `now` beyond `keep` ([`RiskTx::prune_detections`]).
    async fn record_detection(
        &mut self,
        detection: &Detection,
        level: RiskLevel,
        now: OffsetDateTime,
        keep: u32,
    ) -> Result<(), StoreError> {
        self.insert_detection(detection).await?;
        self.set_user_risk_level(detection.user_id, level).await?;
        self.prune_detections(detection.user_id, now, keep).await?;
        Ok(())
    }
    /// Deletes every detection (of any user) that stopped counting before `before`; answers
    /// how many went.
    async fn purge_detections(&mut self, before: OffsetDateTime) -> Result<u64, StoreError>;
    /// Writes the entity risk level on the user's row; false when there is no such user.
    async fn set_user_risk_level(
        &mut self,
        user: UserId,
        level: RiskLevel,
    ) -> Result<bool, StoreError>;
    /// Rewrites the stored level of every user whose active detections at `now` no longer
    /// add up to it (their detections expired without a write); answers those users.
    async fn refresh_risk_levels(&mut self, now: OffsetDateTime)
    -> Result<Vec<UserId>, StoreError>;
}
