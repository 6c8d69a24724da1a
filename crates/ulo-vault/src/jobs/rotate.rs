//! `account.rotate`: generate a password by the account's policy, set it at the app through
//! the connector, and store it only once the app confirmed. The candidate is kept sealed
//! beforehand so a retry (or a crash after the app changed it) sets the same one again; until
//! the app confirms, the account stays `ROTATION_PENDING` with the failure for admins to see.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;
use ulo_core::job::JobResult;
use ulo_jobs::{Attempt, Finished, JobKind, Ran};

use super::{AccountJob, ROTATE, internal};
use crate::audit::{self, account_target};
use crate::connector::Action;
use crate::error::VaultError;
use crate::model::{AccountStatus, Actor, Job, ManagedApp};
use crate::seal::Purpose;
use crate::store::{Store, StoreError, Tx};
use crate::vault::Vault;

/// Runs `account.rotate` jobs.
pub struct Rotate(pub Arc<Vault>);

/// What a rotation attempt learned.
#[derive(Debug, Default)]
pub enum Rotation {
    /// It never reached the app (its deadline passed first, or the vault failed).
    #[default]
    NotRun,
    /// The account no longer exists: nothing to rotate.
    Gone,
    /// The app was asked to take the candidate.
    Called {
        /// The account's app.
        app: Box<ManagedApp>,
        /// The app's HTTP status, when it answered.
        http_status: Option<u16>,
        /// The candidate sealed as the account's password, once the app confirmed it.
        password_sealed: Option<String>,
    },
}

impl Rotate {
    /// Sets the candidate at the app: the one a previous attempt may already have set, or a
    /// new one (sealed and stored first).
    async fn attempt(&self, p: &AccountJob) -> Result<Ran<Rotation>, VaultError> {
        let vault = &self.0;
        let now = vault.clock.now();
        let mut tx = vault.begin().await?;
        let Some(mut account) = tx.account(&p.account_id).await? else {
            let gone = Attempt::Fail {
                error: "the account no longer exists".into(),
            };
            return Ok(Ran::new(gone, Rotation::Gone));
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

        let action = Action::SetPassword {
            username: account.username.clone(),
            password: candidate.clone(),
        };
        let (attempt, http_status) = super::call_connector(vault, &app, &action).await?;
        let password_sealed = match attempt {
            Attempt::Done => Some(
                vault
                    .sealer
                    .seal(&candidate, Purpose::Password(&account.id))?,
            ),
            _ => None,
        };
        let called = Rotation::Called {
            app: Box::new(app),
            http_status,
            password_sealed,
        };
        Ok(Ran::new(attempt, called))
    }

    /// Records one attempt: the new password (only now), or the failure and the next try.
    async fn record_one(
        &self,
        tx: &mut dyn Tx,
        f: &Finished<'_, Self>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let Some(mut account) = tx.account(&f.payload.account_id).await? else {
            return Ok(());
        };
        let (app, http_status, password_sealed) = match f.outcome {
            Rotation::Gone => return Ok(()),
            Rotation::NotRun => (tx.app(&account.app_id).await?, None, None),
            Rotation::Called {
                app,
                http_status,
                password_sealed,
            } => (
                Some(app.as_ref().clone()),
                *http_status,
                password_sealed.clone(),
            ),
        };
        let ev = audit::event("account.password.rotate", &Actor::system(), now)
            .target(account_target(&account, app.as_ref()))
            .jti(f.payload.jti.as_deref())
            .detail("jobId", f.job.id.clone())
            .detail("attempt", f.job.attempts)
            .detail("httpStatus", http_status.map_or(Value::Null, Value::from));
        let ev = match (password_sealed, f.attempt.error()) {
            (Some(sealed), None) => {
                account.password_sealed = sealed;
                account.candidate_sealed = None;
                account.status = AccountStatus::Ok;
                account.rotated_at = Some(now);
                account.rotation_error = None;
                ev
            }
            (_, error) => {
                let error = error.unwrap_or("the app did not confirm the new password");
                let next = match f.result {
                    JobResult::Retry { at, .. } => Some(*at),
                    JobResult::Done | JobResult::Dead { .. } => None,
                };
                account.status = AccountStatus::RotationPending;
                account.rotation_error = Some(match next {
                    Some(_) => error.to_string(),
                    None => format!(
                        "{error} (gave up; fix the app or its connector, then POST /api/accounts/{}/rotate)",
                        account.id
                    ),
                });
                ev.failure(error)
                    .detail("willRetry", next.is_some())
                    .detail(
                        "nextAttemptAt",
                        next.map(ulo_core::clock::rfc3339)
                            .map_or(Value::Null, Value::from),
                    )
            }
        };
        account.updated = now;
        tx.update_account(&account).await?;
        tx.append_event(&ev).await
    }
}

#[async_trait]
impl JobKind for Rotate {
    const KIND: &'static str = ROTATE;
    type Queue = dyn Store;
    type Payload = AccountJob;
    type Outcome = Rotation;

    async fn run(&self, _job: &Job, p: &AccountJob) -> Ran<Rotation> {
        self.attempt(p)
            .await
            .unwrap_or_else(|e| Ran::from(internal(e)))
    }

    async fn record(
        &self,
        tx: &mut (dyn Tx + 'static),
        finished: &[Finished<'_, Self>],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        for f in finished {
            self.record_one(tx, f, now).await?;
        }
        Ok(())
    }
}
