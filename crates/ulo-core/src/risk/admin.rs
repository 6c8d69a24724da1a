//! An admin's view of a user's risk: read it, elevate it, reset it.

use super::{DetectionInput, DetectionType, EntityRisk, RiskLevel, RiskSettings};
use super::{detect_in, reset_in};
use crate::clock::Clock;
use crate::context::{Context, require_read, require_write};
use crate::directory::load_user;
use crate::error::DomainError;
use crate::store::Store;

/// Users' entity risk, as admins read and set it.
pub struct Risks<'a> {
    /// Where everything is kept.
    pub store: &'a dyn Store,
    /// What time it is.
    pub clock: &'a dyn Clock,
    /// Detection lifetime and logout deadlines.
    pub settings: RiskSettings,
}

impl Risks<'_> {
    /// The user's level, reason and active detections. Needs an admin role.
    pub async fn get(&self, ctx: &Context, key: &str) -> Result<EntityRisk, DomainError> {
        require_read(ctx)?;
        let mut tx = self.store.read().await?;
        let user = load_user(tx.as_mut(), key).await?;
        let now = self.clock.now();
        let active = tx.active_detections(user.id, now).await?;
        Ok(EntityRisk::of(&active, now))
    }

    /// Reports the user's risk (MEDIUM, HIGH: an ADMIN_REPORTED_USER_RISK detection that the
    /// Entity Risk Policy evaluates) or resets it (LOW ends the active detections). Needs
    /// SUPER_ADMIN.
    pub async fn set(
        &self,
        ctx: &Context,
        key: &str,
        level: RiskLevel,
        reason: Option<String>,
    ) -> Result<EntityRisk, DomainError> {
        require_write(ctx)?;
        if let Some(r) = &reason
            && !crate::logout::reason_is_valid(r)
        {
            return Err(DomainError::invalid(
                "The risk report is not valid",
                "reason: must be 1 to 256 characters",
            ));
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let user = load_user(tx.as_mut(), key).await?;
        if level == RiskLevel::Low {
            let why = reason.unwrap_or_else(|| "an admin set the risk level to LOW".into());
            reset_in(tx.as_mut(), ctx, &user, &why, now).await?;
        } else {
            let input = DetectionInput {
                detection_type: DetectionType::AdminReportedUserRisk,
                level,
                reasons: vec![reason.unwrap_or_else(|| "reported by an admin".into())],
                issuer: Some(ctx.actor.alternate_id.clone()),
            };
            detect_in(tx.as_mut(), ctx, &user, input, &self.settings, now).await?;
        }
        let active = tx.active_detections(user.id, now).await?;
        tx.commit().await?;
        Ok(EntityRisk::of(&active, now))
    }
}
