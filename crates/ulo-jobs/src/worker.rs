//! The worker: claims due jobs under a lease, runs them concurrently, records each result
//! fenced by the lease (so a job reclaimed by another node is never recorded twice), many in
//! one transaction, and retries with backoff until the job's deadline.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use time::Duration;
use tokio::sync::{Notify, Semaphore, watch};
use ulo_core::clock::Clock;
use ulo_core::job::{Backoff, JobResult};

use crate::kind::{Attempt, Data, Done, Erased, JobKind, Registered};
use crate::queue::{JobQueue, QueuedJob, RetrySchedule};

/// What becomes of a job of a kind this worker has not registered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unregistered {
    /// Tried again after this delay (another node, or a newer version, may run it).
    RetryAfter(Duration),
    /// Failed for good.
    Fail,
}

/// Worker settings.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Identifies this worker in leases (unique per process).
    pub owner: String,
    /// Jobs run at once.
    pub concurrency: usize,
    /// How long a claim lasts before another worker may take the job over.
    pub lease: Duration,
    /// Fallback poll when nothing wakes the worker.
    pub poll: StdDuration,
    /// Retry schedule.
    pub backoff: Arc<dyn RetrySchedule>,
    /// What becomes of jobs of kinds not registered here.
    pub unregistered: Unregistered,
}

impl WorkerConfig {
    /// Defaults for a server: 64 concurrent jobs, 30 s leases, 1 s poll, the default backoff,
    /// unknown kinds retried after a minute.
    pub fn new(owner: String) -> Self {
        WorkerConfig {
            owner,
            concurrency: 64,
            lease: Duration::seconds(30),
            poll: StdDuration::from_secs(1),
            backoff: Arc::new(Backoff::default()),
            unregistered: Unregistered::RetryAfter(Duration::minutes(1)),
        }
    }
}

/// Claims and runs jobs from a queue `Q`.
pub struct Worker<Q: JobQueue + ?Sized> {
    queue: Arc<Q>,
    clock: Arc<dyn Clock>,
    kinds: HashMap<&'static str, Arc<dyn Erased<Q>>>,
    config: WorkerConfig,
    wake: Notify,
    /// Finished attempts waiting to be recorded (see [`Worker::record`]).
    finished: std::sync::Mutex<Vec<Finished<Q>>>,
    /// Held by whoever is writing a batch of finished attempts: as many at once as the queue
    /// takes writers.
    recording: Semaphore,
}

/// One finished attempt, waiting to be recorded: its result and what it learned travel
/// together, so an attempt recorded on its own after a batch failed is recorded as the batch
/// would have.
struct Finished<Q: JobQueue + ?Sized> {
    job: Q::Job,
    lease: Q::Lease,
    attempt: Attempt,
    result: JobResult,
    /// The decoded payload and outcome (none when the payload did not decode or the kind is
    /// not registered: nothing for a kind to record).
    data: Option<Data>,
}

/// The most attempts recorded in one transaction.
const MAX_BATCH: usize = 512;

impl<Q: JobQueue + ?Sized> Worker<Q> {
    /// A worker with no kinds yet.
    pub fn new(queue: Arc<Q>, clock: Arc<dyn Clock>, config: WorkerConfig) -> Self {
        let writers = queue.writers().max(1);
        Worker {
            queue,
            clock,
            kinds: HashMap::new(),
            config,
            wake: Notify::new(),
            finished: std::sync::Mutex::new(Vec::new()),
            recording: Semaphore::new(writers),
        }
    }

    /// Registers a kind: jobs named [`JobKind::KIND`] run on `kind`.
    pub fn register<K: JobKind<Queue = Q>>(mut self, kind: Arc<K>) -> Self {
        self.kinds.insert(K::KIND, Arc::new(Registered(kind)));
        self
    }

    /// Wakes the worker now (a job was enqueued in this process).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Runs until `shutdown` turns true, then lets running jobs finish.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>)
    where
        Q: 'static,
    {
        let permits = Arc::new(Semaphore::new(self.config.concurrency));
        let mut failures = 0u32;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let free = permits.available_permits();
            let claimed = if free == 0 {
                Ok(Vec::new())
            } else {
                self.claim(u32::try_from(free).unwrap_or(u32::MAX)).await
            };
            let n = match claimed {
                Ok(jobs) => {
                    failures = 0;
                    let n = jobs.len();
                    for job in jobs {
                        let Ok(permit) = permits.clone().acquire_owned().await else {
                            return;
                        };
                        let me = self.clone();
                        tokio::spawn(async move {
                            me.execute(job).await;
                            drop(permit);
                        });
                    }
                    n
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(error = %e, "claiming jobs failed; backing off");
                    let wait =
                        StdDuration::from_millis(200u64.saturating_mul(1 << failures.min(6)));
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = shutdown.changed() => {}
                    }
                    continue;
                }
            };
            // A full claim may have left more due jobs behind; a short one took all there were,
            // and the next commit that enqueues wakes us.
            if n > 0 && n == free && permits.available_permits() > 0 {
                continue;
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = self.queue.wait(self.config.poll) => {}
                _ = shutdown.changed() => {}
                _ = wait_for_permit(&permits, free == 0 || n > 0) => {}
            }
        }
        // Let in-flight attempts record their results before returning.
        let all = u32::try_from(self.config.concurrency).unwrap_or(u32::MAX);
        let _ = permits.acquire_many(all).await;
    }

    async fn claim(&self, limit: u32) -> Result<Vec<Q::Job>, Q::Error> {
        let now = self.clock.now();
        self.queue
            .claim(&self.config.owner, limit, now, now + self.config.lease)
            .await
    }

    /// Runs every due job until none is left; returns how many attempts ran (tests and tools).
    pub async fn drain(&self) -> Result<usize, Q::Error> {
        let mut total = 0;
        let limit = u32::try_from(self.config.concurrency.max(1)).unwrap_or(u32::MAX);
        loop {
            let jobs = self.claim(limit).await?;
            if jobs.is_empty() {
                return Ok(total);
            }
            total += jobs.len();
            futures::future::join_all(jobs.into_iter().map(|j| self.execute(j))).await;
        }
    }

    /// One attempt: run, then record the result fenced by the lease.
    async fn execute(&self, job: Q::Job) {
        let lease = self.queue.lease(&job, &self.config.owner);
        let (attempt, data) = match self.kinds.get(job.kind()) {
            Some(kind) => {
                let expired = (self.clock.now() > job.deadline()).then(|| {
                    format!(
                        "deadline passed before attempt {}; last error: {}",
                        job.attempts(),
                        job.last_error().unwrap_or_default()
                    )
                });
                self.attempt_with_heartbeat(kind.as_ref(), &job, &lease, expired)
                    .await
            }
            None => (self.unregistered(&job), None),
        };
        let now = self.clock.now();
        let result = match &attempt {
            Attempt::Done => JobResult::Done,
            Attempt::Retry { error, retry_after } => self.config.backoff.after_failure(
                job.attempts(),
                job.deadline(),
                now,
                error.clone(),
                *retry_after,
            ),
            Attempt::Fail { error } => JobResult::Dead {
                error: error.clone(),
            },
        };
        self.record(Finished {
            job,
            lease,
            attempt,
            result,
            data,
        })
        .await;
    }

    fn unregistered(&self, job: &Q::Job) -> Attempt {
        let error = format!("no handler for job kind {:?} on this node", job.kind());
        match self.config.unregistered {
            Unregistered::RetryAfter(after) => Attempt::Retry {
                error,
                retry_after: Some(after),
            },
            Unregistered::Fail => Attempt::Fail { error },
        }
    }

    async fn attempt_with_heartbeat(
        &self,
        kind: &dyn Erased<Q>,
        job: &Q::Job,
        lease: &Q::Lease,
        expired: Option<String>,
    ) -> (Attempt, Option<Data>) {
        let every: StdDuration = (self.config.lease / 3_i32).unsigned_abs();
        let heartbeat = async {
            loop {
                tokio::time::sleep(every).await;
                let until = self.clock.now() + self.config.lease;
                match self.queue.extend(lease, until).await {
                    Some(Ok(true)) => {}
                    Some(Ok(false)) => {
                        tracing::warn!(job = %job.id(), "lease lost; another worker may run this job");
                        std::future::pending::<()>().await;
                    }
                    Some(Err(e)) => {
                        tracing::warn!(job = %job.id(), error = %e, "extending a lease failed")
                    }
                    // This queue's leases outlast any attempt.
                    None => std::future::pending::<()>().await,
                }
            }
        };
        tokio::select! {
            a = kind.attempt(job, expired) => a,
            _ = heartbeat => (heartbeat_ended(), None),
        }
    }

    /// Records a finished attempt. Attempts that finish while another batch is being written
    /// queue up and are written together, in one transaction, by the next caller to get the
    /// recording lock (group commit): with many deliveries finishing at once the store sees a
    /// few transactions instead of one per attempt. Returns once this attempt is recorded (or
    /// recording failed, in which case the lease expires and the job runs again: at least once,
    /// never lost).
    async fn record(&self, done: Finished<Q>) {
        let mine = done.lease.clone();
        self.lock_finished().push(done);
        let Ok(_writing) = self.recording.acquire().await else {
            return;
        };
        loop {
            let mut batch: Vec<Finished<Q>> = {
                let mut q = self.lock_finished();
                if !q.iter().any(|f| f.lease == mine) {
                    // Ours is written (or being written) by another holder of the lock.
                    return;
                }
                let n = q.len().min(MAX_BATCH);
                q.drain(..n).collect()
            };
            // Batches written at once lock what they touch in one order, so they cannot
            // deadlock each other.
            batch.sort_by_cached_key(|f| (self.lock_key(f), f.job.id()));
            if let Err(e) = self.record_batch(&batch).await {
                if batch.len() == 1 {
                    let f = &batch[0];
                    tracing::warn!(job = %f.job.id(), kind = f.job.kind(), error = %e, "recording a job result failed");
                    continue;
                }
                // One bad apple must not spoil the rest: record each on its own (each carries
                // what its attempt learned, so it is recorded as the batch would have).
                tracing::debug!(error = %e, n = batch.len(), "recording a batch failed; recording one by one");
                for f in batch {
                    if let Err(e) = self.record_batch(std::slice::from_ref(&f)).await {
                        tracing::warn!(job = %f.job.id(), kind = f.job.kind(), error = %e, "recording a job result failed");
                    }
                }
            }
        }
    }

    fn lock_key(&self, f: &Finished<Q>) -> Option<String> {
        let kind = self.kinds.get(f.job.kind())?;
        kind.lock_key(f.data.as_ref()?)
    }

    fn lock_finished(&self) -> std::sync::MutexGuard<'_, Vec<Finished<Q>>> {
        self.finished.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes finished attempts in one transaction: each job's result, fenced by its lease (a
    /// job another worker took over is skipped), with what its kind records.
    async fn record_batch(&self, batch: &[Finished<Q>]) -> Result<(), Q::Error> {
        let mut tx = self.queue.transaction().await?;
        // Stamped when written, not when the attempt ended: a receipt's completion time is when
        // the answer became visible, after any wait for the store.
        let now = self.clock.now();
        // Fence first: a job another worker took over is left alone.
        let results: Vec<(&Q::Lease, &JobResult)> =
            batch.iter().map(|f| (&f.lease, &f.result)).collect();
        let current = self.queue.finish(tx.as_mut(), &results, now).await?;
        let mut fenced = Vec::new();
        for (f, current) in batch.iter().zip(current) {
            if current {
                fenced.push(f);
            } else {
                tracing::warn!(job = %f.job.id(), "result not recorded: the lease moved to another worker");
            }
        }
        // Then each kind writes its share, kept in lock order.
        let mut kinds: Vec<&str> = fenced.iter().map(|f| f.job.kind()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        for name in kinds {
            let Some(kind) = self.kinds.get(name) else {
                continue;
            };
            let share: Vec<Done<'_, Q>> = fenced
                .iter()
                .filter(|f| f.job.kind() == name)
                .filter_map(|f| {
                    Some(Done {
                        job: &f.job,
                        attempt: &f.attempt,
                        result: &f.result,
                        data: f.data.as_ref()?,
                    })
                })
                .collect();
            kind.record(tx.as_mut(), &share, now).await?;
        }
        self.queue.commit(tx).await?;
        for f in fenced {
            if let (Some(kind), Some(data)) = (self.kinds.get(f.job.kind()), &f.data) {
                kind.committed(data);
            }
        }
        Ok(())
    }
}

fn heartbeat_ended() -> Attempt {
    Attempt::Retry {
        error: "heartbeat ended unexpectedly".into(),
        retry_after: None,
    }
}

/// When the worker was busy, resolves once a permit frees up; otherwise never.
async fn wait_for_permit(permits: &Arc<Semaphore>, busy: bool) {
    if !busy {
        return std::future::pending().await;
    }
    if let Ok(p) = permits.acquire().await {
        drop(p);
    }
}
