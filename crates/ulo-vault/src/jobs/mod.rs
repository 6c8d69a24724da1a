//! The durable job queue's work: ending sessions at managed apps and rotating passwords.
//! Jobs are queued in the transaction that decided them and run by the worker of `ulo-jobs`
//! (the one ulo runs): claimed with a lease (a crashed worker's jobs are taken over when it
//! expires), retried with exponential backoff and jitter until their deadline, and every
//! attempt is an audit event, written in the transaction that records its result.

mod end_sessions;
mod queue;
mod rotate;
mod worker;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use ulo_jobs::Attempt;

pub use end_sessions::{EndSessions, Ended};
pub use rotate::{Rotate, Rotation};
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

/// What an account job carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountJob {
    /// The account.
    pub account_id: String,
    /// The logout that queued it, if any (audited with each attempt).
    pub jti: Option<String>,
}

/// A job of `kind` on `account`, its payload the serialized [`AccountJob`] the worker reads.
fn new_job(
    vault: &Vault,
    kind: &str,
    account: &Account,
    jti: Option<&str>,
    now: OffsetDateTime,
) -> Result<Job, VaultError> {
    let payload = AccountJob {
        account_id: account.id.clone(),
        jti: jti.map(str::to_string),
    };
    let payload = serde_json::to_value(&payload)
        .map_err(|e| VaultError::Internal(format!("job payload: {e}")))?;
    Ok(Job {
        id: new_id(),
        kind: kind.into(),
        subject: account.id.clone(),
        payload,
        state: JobState::Queued,
        attempts: 0,
        run_at: now,
        deadline: now + vault.settings.retry.deadline,
        last_error: None,
        created: now,
    })
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
            let job = new_job(vault, ROTATE, account, jti, now)?;
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
            let job = new_job(vault, END_SESSIONS, account, jti, now)?;
            tx.enqueue(&job).await?;
            ev = ev.detail("jobId", job.id);
        }
    }
    tx.append_event(&ev).await?;
    Ok(())
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
        Err(f) if f.retryable => (
            Attempt::Retry {
                error: f.message,
                retry_after: None,
            },
            f.status,
        ),
        Err(f) => (Attempt::Fail { error: f.message }, f.status),
    })
}

/// An attempt that failed inside the vault (its store or sealer): tried again later.
pub(crate) fn internal(e: VaultError) -> Attempt {
    Attempt::Retry {
        error: e.to_string(),
        retry_after: None,
    }
}
