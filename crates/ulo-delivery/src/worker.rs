//! The job worker: claims due jobs under a lease, runs them concurrently, records each result
//! fenced by the lease (so a job reclaimed by another node is never recorded twice), and retries
//! with backoff until the job's deadline.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use rand::Rng;
use time::{Duration, OffsetDateTime};
use tokio::sync::{Notify, Semaphore, watch};
use ulo_core::clock::Clock;
use ulo_core::job::{Backoff, Job, JobResult, Lease};
use ulo_core::store::{Store, StoreError, StoreTx};

/// What one attempt of a job came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// Finished.
    Done,
    /// Failed in a way worth retrying; `retry_after` when the far side asked for a delay.
    Retry {
        /// Why.
        error: String,
        /// Requested delay (`Retry-After`).
        retry_after: Option<Duration>,
    },
    /// Failed for good.
    Fail {
        /// Why.
        error: String,
    },
}

/// Runs jobs of one kind.
#[async_trait]
pub trait JobHandler: Send + Sync {
    /// Performs one attempt.
    async fn run(&self, job: &Job) -> Attempt;

    /// Writes what the attempt changed (statuses, System Log events) in the same transaction that
    /// records the job's result.
    async fn record(
        &self,
        _tx: &mut dyn StoreTx,
        _job: &Job,
        _attempt: &Attempt,
        _result: &JobResult,
        _now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// [`JobHandler::record`] for several finished attempts in one transaction (in the order
    /// of [`JobHandler::lock_key`]); a handler may write them together.
    async fn record_many(
        &self,
        tx: &mut dyn StoreTx,
        finished: &[(&Job, &Attempt, &JobResult)],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        for (job, attempt, result) in finished {
            self.record(tx, job, attempt, result, now).await?;
        }
        Ok(())
    }

    /// Called after the transaction that [`JobHandler::record`] wrote to has committed.
    fn committed(&self, _job: &Job) {}

    /// What [`JobHandler::record`] locks (e.g. a logout receipt), so that results recorded
    /// together are written in one order.
    fn lock_key(&self, _job: &Job) -> Option<String> {
        None
    }
}

/// What a handler's [`JobHandler::run`] learned about an attempt (e.g. the HTTP status), kept
/// for its [`JobHandler::record`] of the same attempt.
pub struct AttemptNotes<T>(std::sync::Mutex<HashMap<(ulo_core::ids::JobId, i64), T>>);

impl<T> Default for AttemptNotes<T> {
    fn default() -> Self {
        AttemptNotes(std::sync::Mutex::new(HashMap::new()))
    }
}

impl<T> AttemptNotes<T> {
    /// Keeps `note` for `job`'s current attempt.
    pub fn put(&self, job: &Job, note: T) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.insert((job.id, job.attempts), note);
    }

    /// Takes what was kept for `job`'s current attempt.
    pub fn take(&self, job: &Job) -> Option<T> {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.remove(&(job.id, job.attempts))
    }
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
    pub backoff: Backoff,
}

impl WorkerConfig {
    /// Defaults for a server: 64 concurrent jobs, 30 s leases, 1 s poll.
    pub fn new(owner: String) -> Self {
        WorkerConfig {
            owner,
            concurrency: 64,
            lease: Duration::seconds(30),
            poll: StdDuration::from_secs(1),
            backoff: Backoff::default(),
        }
    }
}

/// Claims and runs jobs.
pub struct Worker {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    handlers: HashMap<String, Arc<dyn JobHandler>>,
    config: WorkerConfig,
    wake: Notify,
    /// Finished attempts waiting to be recorded (see [`Worker::record`]).
    finished: std::sync::Mutex<Vec<Finished>>,
    /// Held by whoever is writing a batch of finished attempts: one at a time on SQLite (one
    /// writer anyway), a few at once on PostgreSQL.
    recording: tokio::sync::Semaphore,
}

/// One finished attempt, waiting to be recorded.
struct Finished {
    job: Job,
    lease: Lease,
    attempt: Attempt,
    result: JobResult,
}

/// The most attempts recorded in one transaction.
const MAX_BATCH: usize = 512;

impl Worker {
    /// A worker with no handlers yet.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: WorkerConfig) -> Self {
        let recorders = if store.backend() == "sqlite" { 1 } else { 4 };
        Worker {
            store,
            clock,
            handlers: HashMap::new(),
            config,
            wake: Notify::new(),
            finished: std::sync::Mutex::new(Vec::new()),
            recording: tokio::sync::Semaphore::new(recorders),
        }
    }

    /// Registers the handler for `kind`.
    pub fn handle(mut self, kind: &str, handler: Arc<dyn JobHandler>) -> Self {
        self.handlers.insert(kind.to_string(), handler);
        self
    }

    /// Wakes the worker now (a job was enqueued in this process).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Runs until `shutdown` turns true, then lets running jobs finish.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
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
                self.claim(free as u32).await
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
                _ = self.store.wait_for_jobs(self.config.poll) => {}
                _ = shutdown.changed() => {}
                _ = wait_for_permit(&permits, free == 0 || n > 0) => {}
            }
        }
        // Let in-flight attempts record their results before returning.
        let _ = permits.acquire_many(self.config.concurrency as u32).await;
    }

    async fn claim(&self, limit: u32) -> Result<Vec<Job>, StoreError> {
        let now = self.clock.now();
        self.store
            .claim_jobs(&self.config.owner, limit, now, now + self.config.lease)
            .await
    }

    /// Runs every due job until none is left; returns how many attempts ran (tests and tools).
    pub async fn drain(&self) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let jobs = self.claim(self.config.concurrency.max(1) as u32).await?;
            if jobs.is_empty() {
                return Ok(total);
            }
            total += jobs.len();
            futures::future::join_all(jobs.into_iter().map(|j| self.execute(j))).await;
        }
    }

    /// One attempt: run, then record the result fenced by the lease.
    async fn execute(&self, job: Job) {
        let lease = Lease {
            job: job.id,
            owner: self.config.owner.clone(),
            attempt: job.attempts,
        };
        let attempt = if self.clock.now() > job.deadline {
            Attempt::Fail {
                error: format!(
                    "deadline passed before attempt {}; last error: {}",
                    job.attempts,
                    job.last_error.clone().unwrap_or_default()
                ),
            }
        } else {
            match self.handlers.get(&job.kind) {
                Some(h) => self.run_with_heartbeat(h.as_ref(), &job, &lease).await,
                None => Attempt::Retry {
                    error: format!("no handler for job kind {:?} on this node", job.kind),
                    retry_after: Some(Duration::minutes(1)),
                },
            }
        };
        let now = self.clock.now();
        let result = match &attempt {
            Attempt::Done => JobResult::Done,
            Attempt::Retry { error, retry_after } => {
                let jitter: f64 = rand::rng().random();
                self.config
                    .backoff
                    .next(&job, now, error.clone(), *retry_after, jitter)
            }
            Attempt::Fail { error } => JobResult::Dead {
                error: error.clone(),
            },
        };
        self.record(Finished {
            job,
            lease,
            attempt,
            result,
        })
        .await;
    }

    async fn run_with_heartbeat(
        &self,
        handler: &dyn JobHandler,
        job: &Job,
        lease: &Lease,
    ) -> Attempt {
        let every: StdDuration = (self.config.lease / 3_i32).unsigned_abs();
        let heartbeat = async {
            loop {
                tokio::time::sleep(every).await;
                let until = self.clock.now() + self.config.lease;
                match self.store.extend_lease(lease, until).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(job = %job.id, "lease lost; another worker may run this job");
                        std::future::pending::<()>().await;
                    }
                    Err(e) => tracing::warn!(job = %job.id, error = %e, "extending a lease failed"),
                }
            }
        };
        tokio::select! {
            a = handler.run(job) => a,
            _ = heartbeat => unreachable_attempt(),
        }
    }

    /// Records a finished attempt. Attempts that finish while another batch is being written
    /// queue up and are written together, in one transaction, by the next caller to get the
    /// recording lock (group commit): with many deliveries finishing at once the store sees a
    /// few transactions instead of one per attempt. Returns once this attempt is recorded (or
    /// recording failed, in which case the lease expires and the job runs again: at least once,
    /// never lost).
    async fn record(&self, done: Finished) {
        let mine = done.lease.clone();
        self.lock_finished().push(done);
        let Ok(_writing) = self.recording.acquire().await else {
            return;
        };
        loop {
            let mut batch: Vec<Finished> = {
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
            batch.sort_by_cached_key(|f| {
                let key = self
                    .handlers
                    .get(&f.job.kind)
                    .and_then(|h| h.lock_key(&f.job));
                (key, f.job.id)
            });
            if let Err(e) = self.record_batch(&batch).await {
                if batch.len() == 1 {
                    let f = &batch[0];
                    tracing::warn!(job = %f.job.id, kind = f.job.kind, error = %e, "recording a job result failed");
                    continue;
                }
                // One bad apple must not spoil the rest: record each on its own.
                tracing::debug!(error = %e, n = batch.len(), "recording a batch failed; recording one by one");
                for f in batch {
                    if let Err(e) = self.record_batch(std::slice::from_ref(&f)).await {
                        tracing::warn!(job = %f.job.id, kind = f.job.kind, error = %e, "recording a job result failed");
                    }
                }
            }
        }
    }

    fn lock_finished(&self) -> std::sync::MutexGuard<'_, Vec<Finished>> {
        self.finished.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes finished attempts in one transaction: each job's result, fenced by its lease (a
    /// job another worker took over is skipped), with what its handler records.
    async fn record_batch(&self, batch: &[Finished]) -> Result<(), StoreError> {
        let mut tx = self.store.begin().await?;
        // A result lost to a database crash only means the attempt runs again (at least once).
        tx.relax_durability().await?;
        // Stamped when written, not when the attempt ended: a receipt's completion time is when
        // the answer became visible, after any wait for the store.
        let now = self.clock.now();
        // Fence first: a job another worker took over is left alone.
        let results: Vec<(&Lease, &JobResult)> =
            batch.iter().map(|f| (&f.lease, &f.result)).collect();
        let current = tx.finish_jobs(&results, now).await?;
        let mut fenced = Vec::new();
        for (f, current) in batch.iter().zip(current) {
            if current {
                fenced.push(f);
            } else {
                tracing::warn!(job = %f.job.id, "result not recorded: the lease moved to another worker");
            }
        }
        // Then each handler writes its share, kept in lock order.
        let mut kinds: Vec<&str> = fenced.iter().map(|f| f.job.kind.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        for kind in kinds {
            let Some(h) = self.handlers.get(kind) else {
                continue;
            };
            let share: Vec<(&Job, &Attempt, &JobResult)> = fenced
                .iter()
                .filter(|f| f.job.kind == kind)
                .map(|f| (&f.job, &f.attempt, &f.result))
                .collect();
            h.record_many(tx.as_mut(), &share, now).await?;
        }
        tx.commit().await?;
        for f in fenced {
            if let Some(h) = self.handlers.get(&f.job.kind) {
                h.committed(&f.job);
            }
        }
        Ok(())
    }
}

fn unreachable_attempt() -> Attempt {
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
