//! A job kind: its name, its typed payload, what an attempt learns, and how that is recorded;
//! and the type-erased form the worker keeps kinds in.

use std::any::Any;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use time::{Duration, OffsetDateTime};
use ulo_core::job::JobResult;

use crate::queue::{JobQueue, QueuedJob};

/// How one attempt of a job went.
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

impl Attempt {
    /// Why it failed (`None` when done).
    pub fn error(&self) -> Option<&str> {
        match self {
            Attempt::Done => None,
            Attempt::Retry { error, .. } | Attempt::Fail { error } => Some(error),
        }
    }
}

/// What one attempt came to: how it went, and what it learned on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Ran<O> {
    /// How it went.
    pub attempt: Attempt,
    /// What it learned, for [`JobKind::record`].
    pub outcome: O,
}

impl<O> Ran<O> {
    /// An attempt that went as `attempt` and learned `outcome`.
    pub fn new(attempt: Attempt, outcome: O) -> Self {
        Ran { attempt, outcome }
    }
}

impl<O: Default> From<Attempt> for Ran<O> {
    fn from(attempt: Attempt) -> Self {
        Ran::new(attempt, O::default())
    }
}

/// One finished attempt whose result is being recorded, as [`JobKind::record`] sees it.
pub struct Finished<'a, K: JobKind + ?Sized> {
    /// The job.
    pub job: &'a <K::Queue as JobQueue>::Job,
    /// Its payload.
    pub payload: &'a K::Payload,
    /// How the attempt went.
    pub attempt: &'a Attempt,
    /// What it learned ([`Default`] when it never ran: its deadline passed first).
    pub outcome: &'a K::Outcome,
    /// The job's result, as recorded in the same transaction.
    pub result: &'a JobResult,
}

/// A kind of job. The value registered with the worker is the kind's context (its HTTP
/// client, keys, store handles), shared by every job of the kind.
#[async_trait]
pub trait JobKind: Send + Sync + 'static {
    /// The name its jobs are stored under.
    const KIND: &'static str;
    /// The queue its jobs are stored in.
    type Queue: JobQueue + ?Sized;
    /// What a job carries, decoded once when the job is picked up; a stored payload that does
    /// not decode fails the job for good.
    type Payload: DeserializeOwned + Send + Sync + 'static;
    /// What an attempt learned, for [`JobKind::record`]. The default is what an attempt that
    /// never ran (its deadline passed first) learned: nothing.
    type Outcome: Default + Send + Sync + 'static;

    /// Performs one attempt.
    async fn run(
        &self,
        job: &<Self::Queue as JobQueue>::Job,
        payload: &Self::Payload,
    ) -> Ran<Self::Outcome>;

    /// Writes what finished attempts changed (statuses, System Log events), from what they
    /// learned, in the transaction that records their results (and only for attempts whose
    /// lease was still current). Several come at once, in the order of
    /// [`JobKind::lock_key`], so a kind may write them together.
    async fn record(
        &self,
        _tx: &mut <Self::Queue as JobQueue>::Tx,
        _finished: &[Finished<'_, Self>],
        _now: OffsetDateTime,
    ) -> Result<(), <Self::Queue as JobQueue>::Error> {
        Ok(())
    }

    /// What [`JobKind::record`] locks (e.g. a logout receipt), so that results recorded
    /// together are written in one order and concurrent batches cannot deadlock.
    fn lock_key(&self, _payload: &Self::Payload) -> Option<String> {
        None
    }

    /// Called once the transaction [`JobKind::record`] wrote to has committed.
    fn committed(&self, _payload: &Self::Payload, _outcome: &Self::Outcome) {}
}

/// A decoded payload and what its attempt learned, type-erased (a [`Typed`] of the job's kind).
pub(crate) type Data = Box<dyn Any + Send + Sync>;

/// What the worker keeps of one attempt of a kind `K`.
struct Typed<K: JobKind> {
    payload: K::Payload,
    outcome: K::Outcome,
}

/// One finished attempt, as the worker hands it to its kind to record.
pub(crate) struct Done<'a, Q: JobQueue + ?Sized> {
    pub job: &'a Q::Job,
    pub attempt: &'a Attempt,
    pub result: &'a JobResult,
    pub data: &'a Data,
}

/// A kind with its types erased, as the worker keeps it.
#[async_trait]
pub(crate) trait Erased<Q: JobQueue + ?Sized>: Send + Sync {
    /// Decodes the job's payload and runs an attempt, unless `expired` says why it must not
    /// (then the attempt fails with that error, having learned nothing). No data when the
    /// payload does not decode.
    async fn attempt(&self, job: &Q::Job, expired: Option<String>) -> (Attempt, Option<Data>);
    /// [`JobKind::lock_key`].
    fn lock_key(&self, data: &Data) -> Option<String>;
    /// [`JobKind::record`].
    async fn record(
        &self,
        tx: &mut Q::Tx,
        done: &[Done<'_, Q>],
        now: OffsetDateTime,
    ) -> Result<(), Q::Error>;
    /// [`JobKind::committed`].
    fn committed(&self, data: &Data);
}

/// A registered kind.
pub(crate) struct Registered<K>(pub Arc<K>);

#[async_trait]
impl<K: JobKind> Erased<K::Queue> for Registered<K> {
    async fn attempt(
        &self,
        job: &<K::Queue as JobQueue>::Job,
        expired: Option<String>,
    ) -> (Attempt, Option<Data>) {
        let payload = match K::Payload::deserialize(job.payload()) {
            Ok(p) => p,
            Err(e) => {
                let error = format!("bad {} payload: {e}", K::KIND);
                return (Attempt::Fail { error }, None);
            }
        };
        let ran = match expired {
            Some(error) => Ran::from(Attempt::Fail { error }),
            None => self.0.run(job, &payload).await,
        };
        let data: Data = Box::new(Typed::<K> {
            payload,
            outcome: ran.outcome,
        });
        (ran.attempt, Some(data))
    }

    fn lock_key(&self, data: &Data) -> Option<String> {
        let typed = data.downcast_ref::<Typed<K>>()?;
        self.0.lock_key(&typed.payload)
    }

    async fn record(
        &self,
        tx: &mut <K::Queue as JobQueue>::Tx,
        done: &[Done<'_, K::Queue>],
        now: OffsetDateTime,
    ) -> Result<(), <K::Queue as JobQueue>::Error> {
        let finished: Vec<Finished<'_, K>> = done
            .iter()
            .filter_map(|d| {
                let typed = d.data.downcast_ref::<Typed<K>>()?;
                Some(Finished {
                    job: d.job,
                    payload: &typed.payload,
                    attempt: d.attempt,
                    outcome: &typed.outcome,
                    result: d.result,
                })
            })
            .collect();
        if finished.is_empty() {
            return Ok(());
        }
        self.0.record(tx, &finished, now).await
    }

    fn committed(&self, data: &Data) {
        if let Some(typed) = data.downcast_ref::<Typed<K>>() {
            self.0.committed(&typed.payload, &typed.outcome);
        }
    }
}
