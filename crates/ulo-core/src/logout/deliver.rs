//! One app delivery of a logout: what to send (a job payload fixed when the logout starts, so it
//! still works after the user is deleted) and recording each attempt into the receipt.

use crate::log::catalogue as events;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Logout, LogoutStatus, TargetStatus};
use crate::app::LogoutProtocol;
use crate::context::Context;
use crate::error::DomainError;
use crate::ids::{AppId, JobId, LogoutId};
use crate::log::{Actor, Client, LogEvent, Outcome, Severity, Target, Transaction};
use crate::store::StoreTx;

/// How the app knows the user, fixed when the logout started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "format", content = "value", rename_all = "snake_case")]
pub enum DeliverySubject {
    /// RFC 9493 `email`.
    Email(String),
    /// RFC 9493 `iss_sub` with the app-side id from SCIM provisioning (`iss` is ulo).
    IssSub(String),
    /// ulo's user id: the `sub` of the app's ID tokens (back-channel logout).
    UserId(String),
}

/// The payload of a `logout.deliver` job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// The logout.
    pub logout_id: LogoutId,
    /// Index of the target in the receipt.
    pub target: usize,
    /// The app.
    pub app_id: AppId,
    /// The app's label when the logout started.
    pub app_label: String,
    /// The app's OIDC client id (`sub` of a GTR JWT, `aud` of a logout token).
    pub client_id: Option<String>,
    /// How to reach it.
    pub protocol: LogoutProtocol,
    /// Where (GTR and back-channel logout).
    pub endpoint: Option<String>,
    /// Who.
    pub subject: DeliverySubject,
    /// Session ids to name (back-channel logout apps that require `sid`).
    #[serde(default)]
    pub sids: Vec<String>,
    /// The logout's transaction id.
    pub transaction_id: String,
    /// The job that carries this delivery.
    pub job_id: JobId,
}

/// The `jti` of the Global Token Revocation request of attempt `attempt` of job `job_id`. The
/// delivery's System Log event records it, so an app's own log can be matched to ulo's.
pub fn gtr_jti(job_id: JobId, attempt: i64) -> String {
    format!("{job_id}-{attempt}-0")
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryOutcome {
    /// The attempt number (1-based).
    pub attempt: i64,
    /// Where the target is now: SUCCEEDED, RETRYING or FAILED.
    pub status: TargetStatus,
    /// HTTP status the app answered, if it answered.
    pub http_status: Option<u16>,
    /// Why the attempt failed.
    pub error: Option<String>,
}

/// The context of events written for a logout after it started: ulo acting, in the logout's
/// transaction.
pub(crate) fn job_context(transaction_id: &str) -> Context {
    Context {
        authority: crate::context::Authority::Full,
        actor: Actor::system(),
        actor_user: None,
        roles: Vec::new(),
        client: Client::default(),
        transaction: Transaction {
            id: transaction_id.to_string(),
            transaction_type: "JOB".into(),
        },
    }
}

pub(crate) fn user_target(logout: &Logout) -> Target {
    Target::new(
        "User",
        logout.user_id,
        logout.user_login.clone(),
        logout.user_login.clone(),
    )
}

/// Records one delivery attempt into the receipt and the System Log
/// (`app.universal_logout.delivery`), and when it was the last target to answer, the logout's
/// completion (`user.session.universal_logout`). Answers the updated receipt; `None` when the
/// logout is gone.
pub async fn record_delivery(
    tx: &mut dyn StoreTx,
    delivery: &Delivery,
    outcome: &DeliveryOutcome,
    now: OffsetDateTime,
) -> Result<Option<Logout>, DomainError> {
    record_deliveries(
        tx,
        delivery.logout_id,
        &[(delivery.clone(), outcome.clone())],
        now,
    )
    .await
}

/// [`record_delivery`] for several attempts of one logout, reading and locking its receipt
/// once.
pub async fn record_deliveries(
    tx: &mut dyn StoreTx,
    logout_id: LogoutId,
    attempts: &[(Delivery, DeliveryOutcome)],
    now: OffsetDateTime,
) -> Result<Option<Logout>, DomainError> {
    // Locked: two targets answering at once must both see each other's result.
    let Some(mut logout) = tx.get_logout_for_update(logout_id).await? else {
        return Ok(None);
    };
    let mut changed = Vec::with_capacity(attempts.len());
    for (delivery, outcome) in attempts {
        if apply(tx, &mut logout, delivery, outcome, now).await? {
            changed.push(delivery.target);
        }
    }
    let before = (logout.status, logout.completed);
    logout.settle(now);
    let header = (logout.status, logout.completed) != before;
    // The changed targets and the header in one write.
    if header || !changed.is_empty() {
        tx.update_logout_parts(&logout, &changed, header).await?;
    }
    if logout.is_final() && before.0 == LogoutStatus::InProgress {
        log_completed(tx, &logout, now).await?;
    }
    Ok(Some(logout))
}

/// Applies one attempt's outcome to its target in `logout` and logs its delivery event; true
/// when the target changed (the caller writes it).
async fn apply(
    tx: &mut dyn StoreTx,
    logout: &mut Logout,
    delivery: &Delivery,
    outcome: &DeliveryOutcome,
    now: OffsetDateTime,
) -> Result<bool, DomainError> {
    let Some(target) = logout.targets.get_mut(delivery.target) else {
        return Ok(false);
    };
    if target.status.is_final() {
        // Already recorded (a redelivered attempt): the receipt keeps the first final answer.
        return Ok(false);
    }
    target.attempts = target.attempts.max(outcome.attempt);
    target.status = outcome.status;
    target.last_http_status = outcome.http_status;
    if outcome.status == TargetStatus::Skipped {
        // Not attempted after all (e.g. the app's receiver does not want the event): say why.
        target.reason = outcome.error.clone().unwrap_or_default();
        target.last_error = None;
    } else {
        target.last_error = outcome.error.clone();
    }
    if outcome.status.is_final() {
        target.completed_at = Some(now);
    }
    let success = matches!(
        outcome.status,
        TargetStatus::Succeeded | TargetStatus::Pending | TargetStatus::Skipped
    );
    let ctx = job_context(&logout.transaction_id);
    let mut ev = LogEvent::build(
        &ctx,
        events::logout::DELIVERY,
        now,
        format!(
            "{} delivery to {} ({})",
            kind(logout),
            delivery.app_label,
            delivery.protocol.as_str()
        ),
    )
    .target(user_target(logout))
    .target(Target::new(
        "AppInstance",
        delivery.app_id,
        delivery.app_label.clone(),
        delivery.app_label.clone(),
    ))
    .outcome(if success {
        Outcome::success()
    } else {
        Outcome::failure(outcome.error.clone().unwrap_or_default())
    })
    .debug("logoutId", logout.id.to_string())
    .debug("protocol", delivery.protocol.as_str())
    .debug("attempt", outcome.attempt)
    .debug(
        "targetStatus",
        format!("{:?}", outcome.status).to_uppercase(),
    );
    if let Some(s) = outcome.http_status {
        ev = ev.debug("httpStatus", i64::from(s));
    }
    if delivery.protocol == LogoutProtocol::GlobalTokenRevocation {
        ev = ev.debug("jti", gtr_jti(delivery.job_id, outcome.attempt));
    }
    if !success {
        ev = ev.severity(if outcome.status == TargetStatus::Failed {
            Severity::Error
        } else {
            Severity::Warn
        });
    }
    tx.append_event(&ev.finish()).await?;
    Ok(true)
}

/// What the System Log calls a logout: a session's end reaching apps is a single logout.
fn kind(logout: &Logout) -> &'static str {
    if logout.scope == super::LogoutScope::SessionEnd {
        "Single logout"
    } else {
        "Universal Logout"
    }
}

/// `user.session.universal_logout`: every target of the logout has answered.
pub(crate) async fn log_completed(
    tx: &mut dyn StoreTx,
    logout: &Logout,
    now: OffsetDateTime,
) -> Result<(), DomainError> {
    let ctx = job_context(&logout.transaction_id);
    let failed = logout
        .targets
        .iter()
        .filter(|t| t.status == TargetStatus::Failed)
        .count() as i64;
    let ok = logout.status == LogoutStatus::Completed;
    let ev = LogEvent::build(
        &ctx,
        events::logout::SESSION_UNIVERSAL_LOGOUT,
        now,
        format!("{} of {} completed", kind(logout), logout.user_login),
    )
    .target(user_target(logout))
    .outcome(if ok {
        Outcome::success()
    } else {
        Outcome::failure(format!("{failed} target(s) failed"))
    })
    .debug("logoutId", logout.id.to_string())
    .debug("status", logout.status.as_str())
    .debug("targets", logout.targets.len() as i64)
    .debug("failedTargets", failed)
    .finish();
    tx.append_event(&ev).await?;
    Ok(())
}
