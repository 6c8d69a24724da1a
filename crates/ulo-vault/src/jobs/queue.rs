//! The vault's store as a job queue for the worker of `ulo-jobs`: its jobs table, fenced by
//! the attempt a worker claimed (a job taken over after its lease expired counts another), and
//! its retry policy as the schedule.

use std::time::Duration as StdDuration;

use async_trait::async_trait;
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use ulo_core::job::JobResult;
use ulo_jobs::{JobQueue, QueuedJob, RetrySchedule};

use crate::model::{Job, JobState};
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

/// Leases last longer than any attempt (connector calls time out sooner), so the vault's
/// worker sends no heartbeat; the claimed job itself is the lease.
#[async_trait]
impl<'a> JobQueue for dyn Store + 'a {
    type Job = Job;
    type Lease = Job;
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

    fn lease(&self, job: &Job, _owner: &str) -> Job {
        job.clone()
    }

    async fn transaction(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.begin().await
    }

    async fn finish(
        &self,
        tx: &mut (dyn Tx + 'static),
        results: &[(&Job, &JobResult)],
        now: OffsetDateTime,
    ) -> Result<Vec<bool>, StoreError> {
        let mut current = Vec::with_capacity(results.len());
        for (job, result) in results {
            let (state, run_at, error) = match result {
                JobResult::Done => (JobState::Done, now, None),
                JobResult::Retry { at, error } => (JobState::Queued, *at, Some(error.as_str())),
                JobResult::Dead { error } => (JobState::Dead, now, Some(error.as_str())),
            };
            current.push(tx.finish_job(job, state, run_at, error, now).await?);
        }
        Ok(current)
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
