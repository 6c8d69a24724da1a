//! What the worker needs of a store that holds jobs: claim them under a lease, keep the lease,
//! record results fenced by it in a transaction the job kinds write to as well, and wait for
//! new jobs.

use std::time::Duration as StdDuration;

use async_trait::async_trait;
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use ulo_core::job::JobResult;

/// A claimed job, as the worker sees it.
pub trait QueuedJob: Send + Sync + 'static {
    /// Its id (for logs, and the order of results written together).
    fn id(&self) -> String;
    /// Its kind ([`crate::JobKind::KIND`]).
    fn kind(&self) -> &str;
    /// Its stored payload, decoded by its kind.
    fn payload(&self) -> &Value;
    /// Attempts started so far, counting this one.
    fn attempts(&self) -> i64;
    /// When it is given up.
    fn deadline(&self) -> OffsetDateTime;
    /// Why the previous attempt failed.
    fn last_error(&self) -> Option<&str>;
}

/// A store holding jobs.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// A claimed job.
    type Job: QueuedJob;
    /// What a worker presents to record a result: only the job's current lease may.
    type Lease: Clone + PartialEq + Send + Sync + 'static;
    /// A transaction: the results of attempts and what they changed commit together.
    type Tx: ?Sized + Send;
    /// What the store fails with.
    type Error: std::fmt::Display + Send + Sync + 'static;

    /// Claims up to `limit` due jobs (queued and due, or running with an expired lease) for
    /// `owner` until `lease_until`, counting an attempt on each.
    async fn claim(
        &self,
        owner: &str,
        limit: u32,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<Vec<Self::Job>, Self::Error>;

    /// The lease `owner` holds on `job` it claimed.
    fn lease(&self, job: &Self::Job, owner: &str) -> Self::Lease;

    /// Extends a lease still held until `until`: `Some(Ok(false))` when it was lost. A queue
    /// whose leases outlast any attempt answers `None`, and its workers send no heartbeat.
    async fn extend(
        &self,
        _lease: &Self::Lease,
        _until: OffsetDateTime,
    ) -> Option<Result<bool, Self::Error>> {
        None
    }

    /// Starts a transaction to record results in.
    async fn transaction(&self) -> Result<Box<Self::Tx>, Self::Error>;

    /// Records each attempt's result, fenced by its lease: whether each lease was still the
    /// job's current one (a result whose lease moved on is not written).
    async fn finish(
        &self,
        tx: &mut Self::Tx,
        results: &[(&Self::Lease, &JobResult)],
        now: OffsetDateTime,
    ) -> Result<Vec<bool>, Self::Error>;

    /// Commits a transaction from [`JobQueue::transaction`].
    async fn commit(&self, tx: Box<Self::Tx>) -> Result<(), Self::Error>;

    /// Waits until jobs may have been queued (a commit in this process, a notification from
    /// another), or `timeout` passed.
    async fn wait(&self, timeout: StdDuration);

    /// How many transactions recording results may run at once (one where the store has a
    /// single writer anyway).
    fn writers(&self) -> usize;
}

/// When a failed attempt runs again.
pub trait RetrySchedule: std::fmt::Debug + Send + Sync {
    /// What attempt number `attempts` of a job given up after `deadline`, failed at `now` with
    /// `error`, comes to: another attempt, or given up. `retry_after` is the delay the far side
    /// asked for, if any.
    fn after_failure(
        &self,
        attempts: i64,
        deadline: OffsetDateTime,
        now: OffsetDateTime,
        error: String,
        retry_after: Option<Duration>,
    ) -> JobResult;
}
