//! `account.end_sessions`: tell the app, through its connector, to end every session of the
//! account, so whoever signed in with it is out now (not only once the password changes).

use serde_json::Value;

use super::{Attempt, next_attempt};
use crate::audit::{self, account_target};
use crate::connector::Action;
use crate::error::VaultError;
use crate::model::{Actor, Job, JobState};
use crate::vault::Vault;

/// Runs one attempt and records it.
pub(super) async fn run(vault: &Vault, job: &Job) -> Result<(), VaultError> {
    let account_id = job.payload["accountId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let jti = job.payload["jti"].as_str().map(str::to_string);
    let (account, app) = {
        let mut tx = vault.read().await?;
        let account = tx.account(&account_id).await?;
        let app = match &account {
            Some(a) => tx.app(&a.app_id).await?,
            None => None,
        };
        (account, app)
    };
    let (Some(account), Some(app)) = (account, app) else {
        let now = vault.clock.now();
        let mut tx = vault.begin().await?;
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
    let action = Action::EndSessions {
        username: account.username.clone(),
    };
    let (attempt, http_status) = super::call_connector(vault, &app, &action).await?;
    let now = vault.clock.now();
    let ev = audit::event("account.sessions.end", &Actor::system(), now)
        .target(account_target(&account, Some(&app)))
        .jti(jti.as_deref())
        .detail("jobId", job.id.clone())
        .detail("attempt", job.attempts)
        .detail("httpStatus", http_status.map_or(Value::Null, Value::from));
    let (state, run_at, error, ev) = match attempt {
        Attempt::Done => (JobState::Done, now, None, ev),
        Attempt::Failed { error, retry } => {
            let next = next_attempt(vault, job, retry, now);
            let ev = ev
                .failure(error.clone())
                .detail("willRetry", next.is_some());
            match next {
                Some(at) => (JobState::Queued, at, Some(error), ev),
                None => (JobState::Dead, now, Some(error), ev),
            }
        }
    };
    let mut tx = vault.begin().await?;
    if !tx
        .finish_job(job, state, run_at, error.as_deref(), now)
        .await?
    {
        return Ok(());
    }
    tx.append_event(&ev).await?;
    tx.commit().await?;
    Ok(())
}
