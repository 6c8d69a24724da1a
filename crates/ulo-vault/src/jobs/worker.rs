//! The worker: claims due jobs with a lease, runs them, and records each outcome.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::{END_SESSIONS, ROTATE, end_sessions, rotate};
use crate::error::VaultError;
use crate::model::Job;
use crate::vault::Vault;

/// How long a claimed job is leased: longer than any attempt (connector calls time out sooner).
const LEASE: Duration = Duration::from_secs(60);
/// Jobs claimed at once.
const BATCH: i64 = 16;

/// Runs jobs until told to stop.
pub struct Worker {
    vault: Arc<Vault>,
    owner: String,
    poll: Duration,
}

impl Worker {
    /// A worker polling at least every `poll` (new jobs of this process wake it at once).
    pub fn new(vault: Arc<Vault>, poll: Duration) -> Self {
        Worker {
            vault,
            owner: format!("vault-worker-{}", uuid::Uuid::now_v7().simple()),
            poll,
        }
    }

    /// Runs until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            match run_batch(&self.vault, &self.owner).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "job worker: store failure; retrying"),
            }
            tokio::select! {
                _ = self.vault.store.wait_for_jobs(self.poll) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// Runs every job due now, until none is left; answers how many attempts ran. Tests call it
/// to drain the queue deterministically.
pub async fn run_due(vault: &Vault) -> Result<usize, VaultError> {
    let owner = format!("vault-drain-{}", uuid::Uuid::now_v7().simple());
    let mut total = 0;
    loop {
        let n = run_batch(vault, &owner).await?;
        if n == 0 {
            return Ok(total);
        }
        total += n;
    }
}

async fn run_batch(vault: &Vault, owner: &str) -> Result<usize, VaultError> {
    let now = vault.clock.now();
    let jobs = vault
        .store
        .claim_jobs(owner, BATCH, now, now + LEASE)
        .await?;
    let n = jobs.len();
    let runs = jobs.into_iter().map(|job| async move {
        if let Err(e) = run_one(vault, &job).await {
            // The lease expires and the job runs again.
            tracing::warn!(job = %job.id, kind = %job.kind, error = %e, "job attempt not recorded");
        }
    });
    futures::future::join_all(runs).await;
    Ok(n)
}

async fn run_one(vault: &Vault, job: &Job) -> Result<(), VaultError> {
    match job.kind.as_str() {
        ROTATE => rotate::run(vault, job).await,
        END_SESSIONS => end_sessions::run(vault, job).await,
        other => {
            let now = vault.clock.now();
            let mut tx = vault.begin().await?;
            tx.finish_job(
                job,
                crate::model::JobState::Dead,
                now,
                Some(&format!("unknown job kind {other:?}")),
                now,
            )
            .await?;
            tx.commit().await?;
            Ok(())
        }
    }
}
