//! The durable job worker that ulo and the vault share.
//!
//! A job is outbound work queued in the transaction that decided it. A [`JobKind`] says what
//! one kind of job carries (a typed payload, decoded once when the job is picked up), what an
//! attempt learned (a typed outcome: the HTTP status, the id an app gave a user, "still
//! pending"), and what the attempt changed, written from that outcome in the transaction that
//! records the job's result. The [`Worker`] claims due jobs from a [`JobQueue`] under a lease
//! (kept alive by a heartbeat while the attempt runs), runs them concurrently, records each
//! result fenced by its lease (a job another worker took over is never recorded twice) and
//! many results in one transaction, and retries with backoff until the job's deadline.
//!
//! Modelled on the Rust registry's `crates_io_worker` (`BackgroundJob` with a name, a serde
//! payload and a context; a registry that erases the types): here the registered value of a
//! kind is its context (its HTTP client, keys, store handles), shared by all its jobs.

mod kind;
mod queue;
mod ulo;
mod worker;

pub use kind::{Attempt, Finished, JobKind, Ran};
pub use queue::{JobQueue, QueuedJob, RetrySchedule};
pub use worker::{Unregistered, Worker, WorkerConfig};

#[cfg(test)]
mod tests;
