//! `account.end_sessions`: tell the app, through its connector, to end every session of the
//! account, so whoever signed in with it is out now (not only once the password changes).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;
use ulo_core::job::JobResult;
use ulo_jobs::{Attempt, Finished, JobKind, Ran};

use super::{AccountJob, END_SESSIONS, internal};
use crate::audit::{self, account_target};
use crate::connector::Action;
use crate::error::VaultError;
use crate::model::{Account, Actor, Job, ManagedApp};
use crate::store::{Store, StoreError, Tx};
use crate::vault::Vault;

/// Runs `account.end_sessions` jobs.
pub struct EndSessions(pub Arc<Vault>);

/// What an attempt to end an account's sessions learned.
#[derive(Debug, Default)]
pub enum Ended {
    /// It never reached the app (its deadline passed first, or the vault failed).
    #[default]
    NotRun,
    /// The account (or its app) no longer exists.
    Gone,
    /// The app was asked.
    Called {
        /// The account, as the attempt found it.
        account: Box<Account>,
        /// Its app.
        app: Box<ManagedApp>,
        /// The app's HTTP status, when it answered.
        http_status: Option<u16>,
    },
}

impl EndSessions {
    async fn attempt(&self, p: &AccountJob) -> Result<Ran<Ended>, VaultError> {
        let vault = &self.0;
        let (account, app) = {
            let mut tx = vault.read().await?;
            let account = tx.account(&p.account_id).await?;
            let app = match &account {
                Some(a) => tx.app(&a.app_id).await?,
                None => None,
            };
            (account, app)
        };
        let (Some(account), Some(app)) = (account, app) else {
            let gone = Attempt::Fail {
                error: "the account no longer exists".into(),
            };
            return Ok(Ran::new(gone, Ended::Gone));
        };
        let action = Action::EndSessions {
            username: account.username.clone(),
        };
        let (attempt, http_status) = super::call_connector(vault, &app, &action).await?;
        let called = Ended::Called {
            account: Box::new(account),
            app: Box::new(app),
            http_status,
        };
        Ok(Ran::new(attempt, called))
    }

    /// Audits one attempt.
    async fn record_one(
        &self,
        tx: &mut dyn Tx,
        f: &Finished<'_, Self>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (account, app, http_status) = match f.outcome {
            Ended::Gone => return Ok(()),
            Ended::Called {
                account,
                app,
                http_status,
            } => (
                account.as_ref().clone(),
                Some(app.as_ref().clone()),
                *http_status,
            ),
            Ended::NotRun => {
                let Some(account) = tx.account(&f.payload.account_id).await? else {
                    return Ok(());
                };
                let app = tx.app(&account.app_id).await?;
                (account, app, None)
            }
        };
        let ev = audit::event("account.sessions.end", &Actor::system(), now)
            .target(account_target(&account, app.as_ref()))
            .jti(f.payload.jti.as_deref())
            .detail("jobId", f.job.id.clone())
            .detail("attempt", f.job.attempts)
            .detail("httpStatus", http_status.map_or(Value::Null, Value::from));
        let ev = match f.attempt.error() {
            None => ev,
            Some(error) => ev
                .failure(error)
                .detail("willRetry", matches!(f.result, JobResult::Retry { .. })),
        };
        tx.append_event(&ev).await
    }
}

#[async_trait]
impl JobKind for EndSessions {
    const KIND: &'static str = END_SESSIONS;
    type Queue = dyn Store;
    type Payload = AccountJob;
    type Outcome = Ended;

    async fn run(&self, _job: &Job, p: &AccountJob) -> Ran<Ended> {
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
