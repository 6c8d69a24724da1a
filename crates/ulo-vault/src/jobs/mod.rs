//! The durable job queue's work: ending sessions at managed apps and rotating passwords.
//! Jobs are queued in the transaction that decided them, claimed with a lease (a crashed
//! worker's jobs are taken over when it expires), retried with exponential backoff and jitter
//! until their deadline, and every attempt is an audit event.

mod end_sessions;
mod rotate;
mod worker;

use serde_json::json;
use time::OffsetDateTime;

pub use worker::{Worker, run_due};

use crate::audit::{self, account_target};
use crate::error::VaultError;
use crate::model::{Account, AccountStatus, Actor, Job, JobState, new_id};
use crate::store::Tx;
use crate::vault::Vault;

/// Sets a new password at the app, then stores it.
pub const ROTATE: &str = "account.rotate";
/// Ends the account's sessions at the app.
pub const END_SESSIONS: &str = "account.end_sessions";

fn new_job(
    vault: &Vault,
    kind: &str,
    account: &Account,
    jti: Option<&str>,
    now: OffsetDateTime,
) -> Job {
    Job {
        id: new_id(),
        kind: kind.into(),
        subject: account.id.clone(),
        payload: json!({"accountId": account.id, "jti": jti}),
        state: JobState::Queued,
        attempts: 0,
        run_at: now,
        deadline: now + vault.settings.retry.deadline,
        last_error: None,
        created: now,
    }
}

/// Queues a rotation of `account` (unless one is queued or running: its new password is one
/// nobody has seen) and marks the account `ROTATION_PENDING`.
pub async fn queue_rotation(
    tx: &mut dyn Tx,
    vault: &Vault,
    account: &mut Account,
    jti: Option<&str>,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<(), VaultError> {
    let app = tx.app(&account.app_id).await?;
    let open = tx.open_job(ROTATE, &account.id).await?;
    account.status = AccountStatus::RotationPending;
    account.updated = now;
    tx.update_account(account).await?;
    let mut ev = audit::event("account.rotation.queue", actor, now)
        .target(account_target(account, app.as_ref()))
        .jti(jti);
    match open {
        Some(job) => ev = ev.detail("jobId", job.id).detail("alreadyQueued", true),
        None => {
            let job = new_job(vault, ROTATE, account, jti, now);
            tx.enqueue(&job).await?;
            ev = ev.detail("jobId", job.id);
        }
    }
    tx.append_event(&ev).await?;
    Ok(())
}

/// Queues ending `account`'s sessions at its app (unless such a job is waiting to run).
pub async fn queue_end_sessions(
    tx: &mut dyn Tx,
    vault: &Vault,
    account: &Account,
    jti: Option<&str>,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<(), VaultError> {
    let app = tx.app(&account.app_id).await?;
    let waiting = tx
        .open_job(END_SESSIONS, &account.id)
        .await?
        .filter(|j| j.state == JobState::Queued);
    let mut ev = audit::event("account.sessions.end.queue", actor, now)
        .target(account_target(account, app.as_ref()))
        .jti(jti);
    match waiting {
        Some(job) => ev = ev.detail("jobId", job.id).detail("alreadyQueued", true),
        None => {
            let job = new_job(vault, END_SESSIONS, account, jti, now);
            tx.enqueue(&job).await?;
            ev = ev.detail("jobId", job.id);
        }
    }
    tx.append_event(&ev).await?;
    Ok(())
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Attempt {
    /// Finished.
    Done,
    /// Failed; `retry` says whether trying again may help.
    Failed {
        /// Why (for the audit log and admins; never a secret).
        error: String,
        /// Worth another attempt.
        retry: bool,
    },
}

/// Sends `action` to `app`'s connector (signed with its sealed secret): what the attempt came
/// to, and the app's HTTP status when it answered.
pub(crate) async fn call_connector(
    vault: &Vault,
    app: &crate::model::ManagedApp,
    action: &crate::connector::Action,
) -> Result<(Attempt, Option<u16>), VaultError> {
    let secret = vault.sealer.open(
        &app.connector_secret_sealed,
        crate::seal::Purpose::ConnectorSecret(&app.id),
    )?;
    let call = vault
        .connector
        .call(
            &app.connector_url,
            &secret,
            action,
            vault.clock.now().unix_timestamp(),
        )
        .await;
    Ok(match call {
        Ok(status) => (Attempt::Done, Some(status)),
        Err(f) => (
            Attempt::Failed {
                error: f.message,
                retry: f.retryable,
            },
            f.status,
        ),
    })
}

/// When the next attempt runs, or `None` when the job is given up.
pub(crate) fn next_attempt(
    vault: &Vault,
    job: &Job,
    retry: bool,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    if !retry {
        return None;
    }
    let policy = vault.settings.retry;
    let exp = u32::try_from(job.attempts.clamp(1, 30) - 1).unwrap_or(0);
    let delay = policy
        .base
        .saturating_mul(2u32.saturating_pow(exp))
        .min(policy.cap);
    // ±25% jitter, so jobs that failed together do not retry together.
    let mut b = [0u8; 2];
    let unit = match aws_lc_rs::rand::fill(&mut b) {
        Ok(()) => f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX),
        Err(_) => 0.5,
    };
    let delay = delay.mul_f64(0.75 + unit * 0.5);
    let at = now + delay;
    (at <= job.deadline).then_some(at)
}
