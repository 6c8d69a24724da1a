//! The vault's store as a job queue for the worker of `ulo-jobs`: its jobs table, fenced by
//! the worker and the attempt it claimed (a job taken over after its lease expired counts another), and
//! its retry policy as the schedule.

use std::time::Duration as StdDuration;

use async_trait::async_trait;
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use ulo_core::job::JobResult;
use ulo_jobs::{JobQueue, QueuedJob, RetrySchedule};

use crate::model::Job;
use crate::store::{Store, StoreError, Tx};
use crate::vault::RetryPolicy;

impl QueuedJob for Job {
    fn id(&self) -> String {
        self.id.clone()
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

/// A claimed job and the worker that claimed it: what fences the attempt's end.
#[derive(Debug, Clone, PartialEq)]
pub struct Lease {
    /// The job as claimed (its attempt count is the claim's).
    pub job: Job,
    /// The worker that claimed it.
    pub owner: String,
}

/// Leases last longer than any attempt (connector calls time out sooner), so the vault's
/// worker sends no heartbeat; the claimed job itself is the lease.
#[async_trait]
impl<'a> JobQueue for dyn Store + 'a {
    type Job = Job;
    type Lease = Lease;
    type Tx = dyn Tx;
    type Error = StoreError;

    async fn claim(
        &self,
        owner: &str,
        limit: u32,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<Vec<Job>, StoreError> {
        self.claim_jobs(owner, i64::from(limit), now, lease_until)
            .await
    }

    fn lease(&self, job: &Job, owner: &str) -> Lease {
        Lease {
            job: job.clone(),
            owner: owner.to_string(),
        }
    }

    async fn transaction(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.begin().await
    }

    async fn finish(
        &self,
        tx: &mut (dyn Tx + 'static),
        results: &[(&Lease, &JobResult)],
        now: OffsetDateTime,
    ) -> Result<Vec<bool>, StoreError> {
        let finished: Vec<(&Job, &str, &JobResult)> = results
            .iter()
            .map(|(lease, result)| (&lease.job, lease.owner.as_str(), *result))
            .collect();
        tx.finish_jobs(&finished, now).await
    }

    async fn commit(&self, tx: Box<dyn Tx>) -> Result<(), StoreError> {
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

/// Exponential backoff from `base` up to `cap` with ±25% jitter, so jobs that failed together
/// do not retry together; given up when the next attempt would fall after the deadline.
impl RetrySchedule for RetryPolicy {
    fn after_failure(
        &self,
        attempts: i64,
        deadline: OffsetDateTime,
        now: OffsetDateTime,
        error: String,
        _retry_after: Option<Duration>,
    ) -> JobResult {
        let exp = u32::try_from(attempts.clamp(1, 30) - 1).unwrap_or(0);
        let delay = self
            .base
            .saturating_mul(2u32.saturating_pow(exp))
            .min(self.cap);
        let mut b = [0u8; 2];
        let unit = match aws_lc_rs::rand::fill(&mut b) {
            Ok(()) => f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX),
            Err(_) => 0.5,
        };
        let at = now + delay.mul_f64(0.75 + unit * 0.5);
        if at <= deadline {
            JobResult::Retry { at, error }
        } else {
            JobResult::Dead { error }
        }
    }
}
