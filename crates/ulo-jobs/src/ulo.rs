//! ulo's store as a job queue: its jobs table, leases and transactions (the methods of
//! [`Store`] and [`StoreTx`], unchanged), and its backoff as a retry schedule.

use std::time::Duration as StdDuration;

use async_trait::async_trait;
use rand::Rng;
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use ulo_core::job::{Backoff, Job, JobResult, Lease};
use ulo_core::store::{Store, StoreError, StoreTx};

use crate::queue::{JobQueue, QueuedJob, RetrySchedule};

impl QueuedJob for Job {
    fn id(&self) -> String {
        self.id.to_string()
    }

    fn kind(&self) -> &str {
        &self.kind
    }

    fn payload(&self) -> &Value {
        &self.payload
    }

    fn attempts(&self) -> i64 {
        self.attempts
    }

    fn deadline(&self) -> OffsetDateTime {
        self.deadline
    }

    fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }
}

#[async_trait]
impl<'a> JobQueue for dyn Store + 'a {
    type Job = Job;
    type Lease = Lease;
    type Tx = dyn StoreTx;
    type Error = StoreError;

    async fn claim(
        &self,
        owner: &str,
        limit: u32,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<Vec<Job>, StoreError> {
        self.claim_jobs(owner, limit, now, lease_until).await
    }

    fn lease(&self, job: &Job, owner: &str) -> Lease {
        Lease {
            job: job.id,
            owner: owner.to_string(),
            attempt: job.attempts,
        }
    }

    async fn extend(
        &self,
        lease: &Lease,
        until: OffsetDateTime,
    ) -> Option<Result<bool, StoreError>> {
        Some(self.extend_lease(lease, until).await)
    }

    async fn transaction(&self) -> Result<Box<dyn StoreTx>, StoreError> {
        let mut tx = self.begin().await?;
        // A result lost to a database crash only means the attempt runs again (at least once).
        tx.relax_durability().await?;
        Ok(tx)
    }

    async fn finish(
        &self,
        tx: &mut (dyn StoreTx + 'static),
        results: &[(&Lease, &JobResult)],
        now: OffsetDateTime,
    ) -> Result<Vec<bool>, StoreError> {
        tx.finish_jobs(results, now).await
    }

    async fn commit(&self, tx: Box<dyn StoreTx>) -> Result<(), StoreError> {
        tx.commit().await
    }

    async fn wait(&self, timeout: StdDuration) {
        self.wait_for_jobs(timeout).await
    }

    fn writers(&self) -> usize {
        // SQLite has one writer anyway; PostgreSQL takes a few at once.
        if self.backend() == "sqlite" { 1 } else { 4 }
    }
}

impl RetrySchedule for Backoff {
    fn after_failure(
        &self,
        attempts: i64,
        deadline: OffsetDateTime,
        now: OffsetDateTime,
        error: String,
        retry_after: Option<Duration>,
    ) -> JobResult {
        let jitter: f64 = rand::rng().random();
        self.after(attempts, deadline, now, error, retry_after, jitter)
    }
}
