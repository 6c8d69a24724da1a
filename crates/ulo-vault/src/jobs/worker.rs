//! The vault's worker: the worker of `ulo-jobs` on the vault's store, running its two kinds.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use ulo_jobs::{Unregistered, WorkerConfig};

use super::{EndSessions, Rotate};
use crate::error::VaultError;
use crate::store::Store;
use crate::vault::Vault;

/// How long a claimed job is leased: longer than any attempt (connector calls time out sooner).
const LEASE: time::Duration = time::Duration::seconds(60);
/// Jobs run at once.
const CONCURRENCY: usize = 16;

/// Runs jobs until told to stop.
pub struct Worker(Arc<ulo_jobs::Worker<dyn Store>>);

impl Worker {
    /// A worker polling at least every `poll` (new jobs of this process wake it at once).
    pub fn new(vault: Arc<Vault>, poll: Duration) -> Self {
        let owner = format!("vault-worker-{}", uuid::Uuid::now_v7().simple());
        Worker(Arc::new(worker(vault, owner, poll)))
    }

    /// Runs until `stop` turns true.
    pub async fn run(self, stop: watch::Receiver<bool>) {
        self.0.run(stop).await
    }
}

/// Runs every job due now, until none is left; answers how many attempts ran. Tests call it
/// to drain the queue deterministically.
pub async fn run_due(vault: &Arc<Vault>) -> Result<usize, VaultError> {
    let owner = format!("vault-drain-{}", uuid::Uuid::now_v7().simple());
    let w = worker(vault.clone(), owner, Duration::from_secs(1));
    Ok(w.drain().await?)
}

fn worker(vault: Arc<Vault>, owner: String, poll: Duration) -> ulo_jobs::Worker<dyn Store> {
    let config = WorkerConfig {
        owner,
        concurrency: CONCURRENCY,
        lease: LEASE,
        poll,
        backoff: Arc::new(vault.settings.retry),
        // Only this process's vault queues jobs: a kind it does not know is a mistake.
        unregistered: Unregistered::Fail,
    };
    ulo_jobs::Worker::new(vault.store.clone(), vault.clock.clone(), config)
        .register(Arc::new(Rotate(vault.clone())))
        .register(Arc::new(EndSessions(vault)))
}
