//! `account.rotate`: generate a password by the account's policy, set it at the app through
//! the connector, and store it only once the app confirmed. The candidate is kept sealed
//! beforehand so a retry (or a crash after the app changed it) sets the same one again; until
//! the app confirms, the account stays `ROTATION_PENDING` with the failure for admins to see.

use serde_json::Value;

use super::{Attempt, next_attempt};
use crate::audit::{self, account_target};
use crate::connector::Action;
use crate::error::VaultError;
use crate::model::{AccountStatus, Actor, Job, JobState};
use crate::seal::Purpose;
use crate::vault::Vault;

/// Runs one attempt and records it.
pub(super) async fn run(vault: &Vault, job: &Job) -> Result<(), VaultError> {
    let account_id = job.payload["accountId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let jti = job.payload["jti"].as_str().map(str::to_string);

    // 1. The candidate: the one a previous attempt may already have set, or a new one.
    let now = vault.clock.now();
    let mut tx = vault.begin().await?;
    let Some(mut account) = tx.account(&account_id).await? else {
        tx.finish_job(
            job,
            JobState::Dead,
            now,
            Some("the account no longer exists"),
            now,
        )
        .await?;
        tx.commit().await?;
        return Ok(());
    };
    let app = tx
        .app(&account.app_id)
        .await?
        .ok_or_else(|| VaultError::Internal(format!("account {} has no app", account.id)))?;
    let candidate = match &account.candidate_sealed {
        Some(sealed) => vault.sealer.open(sealed, Purpose::Candidate(&account.id))?,
        None => {
            let fresh = account.policy.generate()?;
            account.candidate_sealed =
                Some(vault.sealer.seal(&fresh, Purpose::Candidate(&account.id))?);
            account.updated = now;
            tx.update_account(&account).await?;
            fresh
        }
    };
    tx.commit().await?;

    // 2. The app.
    let action = Action::SetPassword {
        username: account.username.clone(),
        password: candidate.clone(),
    };
    let (attempt, http_status) = super::call_connector(vault, &app, &action).await?;

    // 3. Record: the new password (only now), or the failure and the next try.
    let now = vault.clock.now();
    let mut tx = vault.begin().await?;
    let Some(mut account) = tx.account(&account_id).await? else {
        return Ok(());
    };
    let ev = audit::event("account.password.rotate", &Actor::system(), now)
        .target(account_target(&account, Some(&app)))
        .jti(jti.as_deref())
        .detail("jobId", job.id.clone())
        .detail("attempt", job.attempts)
        .detail("httpStatus", http_status.map_or(Value::Null, Value::from));
    let (state, run_at, error, ev) = match attempt {
        Attempt::Done => {
            account.password_sealed = vault
                .sealer
                .seal(&candidate, Purpose::Password(&account.id))?;
            account.candidate_sealed = None;
            account.status = AccountStatus::Ok;
            account.rotated_at = Some(now);
            account.rotation_error = None;
            (JobState::Done, now, None, ev)
        }
        Attempt::Failed { error, retry } => {
            let next = next_attempt(vault, job, retry, now);
            account.status = AccountStatus::RotationPending;
            account.rotation_error = Some(match next {
                Some(_) => error.clone(),
                None => format!(
                    "{error} (gave up; fix the app or its connector, then POST /api/accounts/{}/rotate)",
                    account.id
                ),
            });
            let ev = ev
                .failure(error.clone())
                .detail("willRetry", next.is_some())
                .detail(
                    "nextAttemptAt",
                    next.map(ulo_core::clock::rfc3339)
                        .map_or(Value::Null, Value::from),
                );
            match next {
                Some(at) => (JobState::Queued, at, Some(error), ev),
                None => (JobState::Dead, now, Some(error), ev),
            }
        }
    };
    account.updated = now;
    if !tx
        .finish_job(job, state, run_at, error.as_deref(), now)
        .await?
    {
        // Another worker took the job over (our lease expired): it records its own attempt.
        return Ok(());
    }
    tx.update_account(&account).await?;
    tx.append_event(&ev).await?;
    tx.commit().await?;
    Ok(())
}
