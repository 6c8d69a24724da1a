//! The job queue, inside a transaction (claiming and leases are on [`Store`](super::Store)).

use super::JobCounts;
use super::StoreError;
use crate::ids::JobId;
use crate::job::Job;
use crate::job::JobResult;
use crate::job::Lease;
use crate::job::NewJob;
use async_trait::async_trait;
use time::OffsetDateTime;

/// What a read handle or a transaction can read of this area.
#[async_trait]
pub trait JobsRead: Send {
    /// A job by id.
    async fn get_job(&mut self, id: JobId) -> Result<Option<Job>, StoreError>;
    /// Counts jobs by state, optionally of one kind.
    async fn count_jobs(&mut self, kind: Option<&str>) -> Result<JobCounts, StoreError>;
}

/// What a transaction can change in this area (a part of [`StoreTx`](super::StoreTx)).
#[async_trait]
pub trait JobsTx: JobsRead {
    /// Enqueues a job; it becomes visible to workers when the transaction commits.
    async fn enqueue_job(&mut self, job: &NewJob) -> Result<(), StoreError>;
    /// Enqueues several jobs at once (fewer round trips than one by one).
    async fn enqueue_jobs(&mut self, jobs: &[NewJob]) -> Result<(), StoreError>;
    /// Records the result of an attempt; false when `lease` is no longer the job's current lease
    /// (another worker reclaimed it), in which case nothing changes.
    async fn finish_job(
        &mut self,
        lease: &Lease,
        result: &JobResult,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// [`JobsTx::finish_job`] for several attempts: whether each lease was still current, in
    /// order.
    async fn finish_jobs(
        &mut self,
        finished: &[(&Lease, &JobResult)],
        now: OffsetDateTime,
    ) -> Result<Vec<bool>, StoreError>;
}
