//! Recording a detection (the entry every source calls), resetting a user's level, and reading
//! a user's detections.

use time::OffsetDateTime;

use super::model::level_name;
use super::{Detected, Detection, DetectionInput, RiskLevel, RiskSettings, level_of};
use crate::context::Context;
use crate::error::DomainError;
use crate::ids::{DetectionId, UserId};
use crate::log::catalogue as events;
use crate::log::{LogEvent, Target};
use crate::store::{StoreRead, StoreTx};
use crate::user::User;

/// At most this many ended or expired detections are kept per user, besides the active ones
/// (older ones are pruned as new ones arrive; the server also purges long-stopped ones).
pub const KEEP_INACTIVE: u32 = 50;

/// Stores a detection about `user`, logs `user.risk.detect` (debugData: previousLevel, level,
/// detection, reasons, issuer) and evaluates the Entity Risk Policy, applying the matching
/// rule's action — all in the caller's transaction, under `ctx`'s transaction id. Checks no
/// permission: the caller did. A type that cannot carry `input.level` is refused.
pub async fn detect_in(
    tx: &mut dyn StoreTx,
    ctx: &Context,
    user: &User,
    input: DetectionInput,
    settings: &RiskSettings,
    now: OffsetDateTime,
) -> Result<Detected, DomainError> {
    if !input.detection_type.can_produce(input.level) {
        return Err(DomainError::invalid(
            "The detection is not valid",
            format!(
                "level: a {} detection cannot be {}",
                input.detection_type, input.level
            ),
        ));
    }
    // One writer per user at a time: the level before and after are each other's truth.
    tx.lock_user(user.id).await?;
    let mut active = tx.active_detections(user.id, now).await?;
    let previous_level = level_of(&active, now);
    let detection = Detection {
        id: DetectionId::new(),
        user_id: user.id,
        detection_type: input.detection_type,
        level: input.level,
        source: input.detection_type.source().to_string(),
        reasons: input.reasons,
        issuer: input.issuer,
        created: now,
        expires: now + settings.ttl,
        ended: None,
    };
    active.push(detection.clone());
    let level = level_of(&active, now);
    // The level is written whenever it differs from the stored one, which may be stale (an
    // expiry unobserved) whatever the previous level computed here was.
    tx.record_detection(
        &detection,
        level.unwrap_or(RiskLevel::Low),
        now,
        KEEP_INACTIVE,
    )
    .await?;
    let ev = LogEvent::build(
        ctx,
        events::risk::DETECT,
        now,
        format!(
            "{} detection for {}: risk {} → {}",
            detection.detection_type,
            user.profile.login,
            level_name(previous_level),
            level_name(level)
        ),
    )
    .target(Target::user(user))
    .debug("previousLevel", level_name(previous_level))
    .debug("level", level_name(level))
    .debug(
        "detection",
        serde_json::to_value(&detection).unwrap_or_default(),
    )
    .debug("reasons", detection.reasons.clone())
    .debug("issuer", detection.issuer.clone())
    .finish();
    tx.append_event(&ev).await?;
    let evaluation = crate::policy::evaluate_in(
        tx,
        ctx,
        user,
        &detection,
        level.unwrap_or(detection.level),
        settings,
        now,
    )
    .await?;
    Ok(Detected {
        detection,
        previous_level,
        level,
        evaluation,
    })
}

/// Ends every active detection of `user` (their level becomes NONE) and logs `user.risk.reset`
/// saying `why`, in the caller's transaction. Answers the level before.
pub async fn reset_in(
    tx: &mut dyn StoreTx,
    ctx: &Context,
    user: &User,
    why: &str,
    now: OffsetDateTime,
) -> Result<Option<RiskLevel>, DomainError> {
    tx.lock_user(user.id).await?;
    let previous = level_of(&tx.active_detections(user.id, now).await?, now);
    let ended: Vec<String> = tx
        .end_detections(user.id, now)
        .await?
        .iter()
        .map(ToString::to_string)
        .collect();
    tx.set_user_risk_level(user.id, RiskLevel::Low).await?;
    let ev = LogEvent::build(
        ctx,
        events::risk::RESET,
        now,
        format!(
            "Entity risk of {} reset ({why}): {} → NONE",
            user.profile.login,
            level_name(previous)
        ),
    )
    .target(Target::user(user))
    .debug("previousLevel", level_name(previous))
    .debug("level", "NONE")
    .debug("reason", why)
    .debug("endedDetections", ended)
    .finish();
    tx.append_event(&ev).await?;
    Ok(previous)
}

/// [`reset_in`] only when `user` has an active detection (clearing sessions resets the level;
/// a user without risk gets no reset event).
pub async fn reset_if_risky_in(
    tx: &mut dyn StoreTx,
    ctx: &Context,
    user: &User,
    why: &str,
    now: OffsetDateTime,
) -> Result<Option<RiskLevel>, DomainError> {
    if level_in(tx, user.id, now).await?.is_none() {
        if user.risk_level != RiskLevel::Low {
            // Its detections expired without a write: the stored level catches up, silently.
            tx.set_user_risk_level(user.id, RiskLevel::Low).await?;
        }
        return Ok(None);
    }
    reset_in(tx, ctx, user, why, now).await
}

/// The entity risk level of `user` at `now`: the highest of their active detections'; `None`
/// (NONE) when none is active.
pub async fn level_in(
    tx: &mut dyn StoreRead,
    user: UserId,
    now: OffsetDateTime,
) -> Result<Option<RiskLevel>, DomainError> {
    Ok(level_of(&tx.active_detections(user, now).await?, now))
}

/// The `limit` newest detections of `user`, active, expired or ended, newest first (the
/// person's page; a source checking whether it already reported something recently). At most
/// [`KEEP_INACTIVE`] inactive ones are kept per user.
pub async fn recent_detections_in(
    tx: &mut dyn StoreRead,
    user: UserId,
    limit: u32,
) -> Result<Vec<Detection>, DomainError> {
    Ok(tx.recent_detections(user, limit).await?)
}
