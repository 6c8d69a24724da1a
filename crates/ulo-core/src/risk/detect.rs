//! Recording a detection (the entry every source calls) and resetting a user's level.

use time::OffsetDateTime;

use super::model::level_name;
use super::{Detected, Detection, DetectionInput, RiskLevel, RiskSettings, level_of, stored};
use crate::context::Context;
use crate::error::DomainError;
use crate::ids::{DetectionId, UserId};
use crate::log::catalogue as events;
use crate::log::{LogEvent, Target};
use crate::store::StoreTx;
use crate::user::User;

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
    // Detections of one user are read, changed and written whole: one writer at a time.
    tx.lock_user(user.id).await?;
    let mut all = stored::load(tx, user.id).await?;
    let previous_level = level_of(&all, now);
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
    all.push(detection.clone());
    let level = level_of(&all, now);
    stored::save(tx, user.id, &all, now).await?;
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
    let mut all = stored::load(tx, user.id).await?;
    let previous = level_of(&all, now);
    let mut ended = Vec::new();
    for d in all.iter_mut().filter(|d| d.is_active(now)) {
        d.ended = Some(now);
        ended.push(d.id.to_string());
    }
    if !ended.is_empty() {
        stored::save(tx, user.id, &all, now).await?;
    }
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
    let all = stored::load(tx, user.id).await?;
    if level_of(&all, now).is_none() {
        return Ok(None);
    }
    reset_in(tx, ctx, user, why, now).await
}

/// The `limit` most recent detections of `user` (active, expired and ended alike), newest first.
pub async fn recent_detections_in(
    tx: &mut dyn StoreTx,
    user: UserId,
    limit: usize,
) -> Result<Vec<Detection>, DomainError> {
    let mut all = stored::load(tx, user).await?;
    all.sort_by_key(|d| std::cmp::Reverse(d.created));
    all.truncate(limit);
    Ok(all)
}
