//! Durable jobs: outbound work enqueued in the same transaction as the change that causes it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::ids::JobId;
use crate::user::str_enum;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobState {
    /// Waiting for `run_at`.
    Queued,
    /// Claimed by a worker under a lease.
    Running,
    /// Finished successfully.
    Done,
    /// Failed permanently or past its deadline.
    Dead,
}
str_enum!(JobState { Queued => "QUEUED", Running => "RUNNING", Done => "DONE", Dead => "DEAD" });

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Id (also the idempotency key sent to the far side).
    pub id: JobId,
    /// Which handler runs it.
    pub kind: String,
    /// Handler input.
    pub payload: Value,
    /// When to first run it.
    pub run_at: OffsetDateTime,
    /// After this the job is dead with its last error.
    pub deadline: OffsetDateTime,
}

impl NewJob {
    /// A job of `kind` to run now, given up after `deadline_in`.
    pub fn new(kind: &str, payload: Value, now: OffsetDateTime, deadline_in: Duration) -> Self {
        NewJob {
            id: JobId::new(),
            kind: kind.to_string(),
            payload,
            run_at: now,
            deadline: now + deadline_in,
        }
    }
}

/// A stored job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Id.
    pub id: JobId,
    /// Handler.
    pub kind: String,
    /// Handler input.
    pub payload: Value,
    /// State.
    pub state: JobState,
    /// Attempts started so far (including a running one).
    pub attempts: i64,
    /// Next run.
    pub run_at: OffsetDateTime,
    /// Give-up time.
    pub deadline: OffsetDateTime,
    /// Worker holding the lease.
    pub lease_owner: Option<String>,
    /// Lease expiry.
    pub lease_until: Option<OffsetDateTime>,
    /// Last failure.
    pub last_error: Option<String>,
    /// Created.
    pub created: OffsetDateTime,
    /// Finished (done or dead).
    pub finished: Option<OffsetDateTime>,
}

/// The fence a worker presents to record a result: only the current lease holder may.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Job.
    pub job: JobId,
    /// Worker.
    pub owner: String,
    /// Attempt number the lease was granted for.
    pub attempt: i64,
}

/// What happened to one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum JobResult {
    /// Done.
    Done,
    /// Try again at this time.
    Retry {
        /// When.
        at: OffsetDateTime,
        /// Why the attempt failed.
        error: String,
    },
    /// Give up.
    Dead {
        /// Why.
        error: String,
    },
}

/// Exponential backoff with full jitter, bounded by a cap.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Delay before the second attempt (before jitter).
    pub base: Duration,
    /// Largest delay.
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::milliseconds(500),
            cap: Duration::minutes(10),
        }
    }
}

impl Backoff {
    /// Delay after `attempt` failed attempts (1-based); `jitter` in [0,1) picks within the window
    /// so that many failing jobs do not retry in lockstep.
    pub fn delay(&self, attempt: i64, jitter: f64) -> Duration {
        let exp = (attempt.clamp(1, 40) - 1) as i32;
        let window = self.base.as_seconds_f64() * 2f64.powi(exp);
        let window = window.min(self.cap.as_seconds_f64());
        // Half fixed, half jittered: never retry instantly, never in lockstep.
        let secs = window / 2.0 + window / 2.0 * jitter.clamp(0.0, 1.0);
        Duration::seconds_f64(secs)
    }

    /// The result of a failed attempt: retry after the backoff (or `retry_after` when the far side
    /// asked for one), or dead when that would pass the deadline.
    pub fn next(
        &self,
        job: &Job,
        now: OffsetDateTime,
        error: String,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> JobResult {
        self.after(job.attempts, job.deadline, now, error, retry_after, jitter)
    }

    /// [`Backoff::next`] for attempt number `attempts` of a job given up after `deadline`.
    pub fn after(
        &self,
        attempts: i64,
        deadline: OffsetDateTime,
        now: OffsetDateTime,
        error: String,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> JobResult {
        let delay = retry_after.unwrap_or_else(|| self.delay(attempts, jitter));
        let at = now + delay;
        if at > deadline {
            JobResult::Dead {
                error: format!("deadline passed after {attempts} attempts; last error: {error}"),
            }
        } else {
            JobResult::Retry { at, error }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let b = Backoff::default();
        assert_eq!(b.delay(1, 0.0), Duration::milliseconds(250));
        assert_eq!(b.delay(1, 1.0), Duration::milliseconds(500));
        assert_eq!(b.delay(3, 1.0), Duration::seconds(2));
        assert_eq!(b.delay(30, 1.0), Duration::minutes(10));
        assert!(b.delay(2, 0.5) > b.delay(1, 0.5));
    }

    #[test]
    fn deadline_turns_retry_into_dead() {
        let now = time::macros::datetime!(2026-01-01 0:00 UTC);
        let mut job = Job {
            id: JobId::new(),
            kind: "k".into(),
            payload: Value::Null,
            state: JobState::Running,
            attempts: 1,
            run_at: now,
            deadline: now + Duration::seconds(1),
            lease_owner: None,
            lease_until: None,
            last_error: None,
            created: now,
            finished: None,
        };
        let b = Backoff::default();
        assert!(matches!(
            b.next(&job, now, "x".into(), None, 0.0),
            JobResult::Retry { .. }
        ));
        job.attempts = 5;
        assert!(matches!(
            b.next(&job, now, "x".into(), None, 0.0),
            JobResult::Dead { .. }
        ));
        assert!(matches!(
            b.next(&job, now, "x".into(), Some(Duration::seconds(5)), 0.0),
            JobResult::Dead { .. }
        ));
    }
}
