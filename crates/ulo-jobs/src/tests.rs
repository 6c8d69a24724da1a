//! The worker on an in-memory queue whose first commit of several results fails: each attempt
//! is then recorded on its own with what it learned; and jobs past their deadline or of kinds
//! nobody registered.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use tokio::sync::Notify;
use ulo_core::clock::{Clock, ManualClock};
use ulo_core::job::JobResult;

use crate::{
    Attempt, Finished, JobKind, JobQueue, QueuedJob, Ran, Unregistered, Worker, WorkerConfig,
};

#[derive(Debug, Clone, PartialEq)]
struct MemJob {
    id: String,
    kind: String,
    payload: Value,
    attempts: i64,
    deadline: OffsetDateTime,
}

impl QueuedJob for MemJob {
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
        None
    }
}

/// Jobs in memory; each transaction waits until every claimed attempt ran (so they are
/// recorded in batches), and the first commit of several results fails when `fail` is set.
#[derive(Default)]
struct Mem {
    queued: Mutex<Vec<MemJob>>,
    claimed: AtomicUsize,
    ran: AtomicUsize,
    changed: Notify,
    fail: AtomicBool,
    /// Committed results and notes.
    results: Mutex<Vec<(String, JobResult)>>,
    notes: Mutex<Vec<String>>,
}

#[derive(Default)]
struct MemTx {
    results: Vec<(String, JobResult)>,
    notes: Vec<String>,
}

impl Mem {
    fn ran(&self) {
        self.ran.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_waiters();
    }
}

#[async_trait]
impl JobQueue for Mem {
    type Job = MemJob;
    type Lease = String;
    type Tx = MemTx;
    type Error = String;

    async fn claim(
        &self,
        _owner: &str,
        limit: u32,
        _now: OffsetDateTime,
        _until: OffsetDateTime,
    ) -> Result<Vec<MemJob>, String> {
        let mut q = self.queued.lock().unwrap();
        let n = q.len().min(limit as usize);
        let jobs: Vec<MemJob> = q.drain(..n).collect();
        self.claimed.fetch_add(jobs.len(), Ordering::SeqCst);
        Ok(jobs)
    }

    fn lease(&self, job: &MemJob, _owner: &str) -> String {
        job.id.clone()
    }

    async fn transaction(&self) -> Result<Box<MemTx>, String> {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.ran.load(Ordering::SeqCst) >= self.claimed.load(Ordering::SeqCst) {
                return Ok(Box::default());
            }
            changed.await;
        }
    }

    async fn finish(
        &self,
        tx: &mut MemTx,
        results: &[(&String, &JobResult)],
        _now: OffsetDateTime,
    ) -> Result<Vec<bool>, String> {
        for (id, result) in results {
            tx.results.push(((*id).clone(), (*result).clone()));
        }
        Ok(vec![true; results.len()])
    }

    async fn commit(&self, tx: Box<MemTx>) -> Result<(), String> {
        if tx.results.len() > 1 && self.fail.swap(false, Ordering::SeqCst) {
            return Err("injected commit failure".into());
        }
        self.results.lock().unwrap().extend(tx.results);
        self.notes.lock().unwrap().extend(tx.notes);
        Ok(())
    }

    async fn wait(&self, _timeout: StdDuration) {}

    fn writers(&self) -> usize {
        1
    }
}

#[derive(Deserialize)]
struct Numbered {
    n: u32,
}

/// Learns ten times its number; records what it learned.
struct Tens(Arc<Mem>);

#[async_trait]
impl JobKind for Tens {
    const KIND: &'static str = "tens";
    type Queue = Mem;
    type Payload = Numbered;
    type Outcome = Option<u32>;

    async fn run(&self, _job: &MemJob, p: &Numbered) -> Ran<Option<u32>> {
        tokio::task::yield_now().await;
        self.0.ran();
        Ran::new(Attempt::Done, Some(p.n * 10))
    }

    async fn record(
        &self,
        tx: &mut MemTx,
        finished: &[Finished<'_, Self>],
        _now: OffsetDateTime,
    ) -> Result<(), String> {
        for f in finished {
            let err = f.attempt.error().unwrap_or("-");
            tx.notes
                .push(format!("{} learned {:?} ({err})", f.payload.n, f.outcome));
        }
        Ok(())
    }
}

fn worker(mem: &Arc<Mem>, clock: Arc<dyn Clock>) -> Worker<Mem> {
    let mut config = WorkerConfig::new("test".into());
    config.unregistered = Unregistered::Fail;
    Worker::new(mem.clone(), clock, config).register(Arc::new(Tens(mem.clone())))
}

fn job(id: &str, kind: &str, payload: Value, deadline: OffsetDateTime) -> MemJob {
    MemJob {
        id: id.into(),
        kind: kind.into(),
        payload,
        attempts: 1,
        deadline,
    }
}

fn sorted(v: &Mutex<Vec<String>>) -> Vec<String> {
    let mut v = v.lock().unwrap().clone();
    v.sort();
    v
}

#[tokio::test]
async fn a_failed_commit_is_recorded_one_by_one_with_what_each_attempt_learned() {
    let clock = Arc::new(ManualClock::new(
        time::macros::datetime!(2026-01-01 0:00 UTC),
    ));
    let deadline = clock.now() + Duration::hours(1);
    let mut expected = Vec::new();
    let mut outcomes = Vec::new();
    for fail in [false, true] {
        let mem = Arc::new(Mem::default());
        mem.fail.store(fail, Ordering::SeqCst);
        *mem.queued.lock().unwrap() = (1..=5)
            .map(|n| job(&format!("j{n}"), "tens", json!({"n": n}), deadline))
            .collect();
        assert_eq!(worker(&mem, clock.clone()).drain().await.unwrap(), 5);
        assert!(!mem.fail.load(Ordering::SeqCst), "the failure was used");
        assert_eq!(
            mem.results.lock().unwrap().len(),
            5,
            "every result recorded"
        );
        outcomes.push(sorted(&mem.notes));
        expected = (1..=5)
            .map(|n| format!("{n} learned Some({}) (-)", n * 10))
            .collect();
    }
    assert_eq!(outcomes[0], expected, "the batch path");
    assert_eq!(
        outcomes[1], expected,
        "the fallback after the failed commit"
    );
}

#[tokio::test]
async fn bad_payloads_expired_jobs_and_unknown_kinds() {
    let clock = Arc::new(ManualClock::new(
        time::macros::datetime!(2026-01-01 0:00 UTC),
    ));
    let now = clock.now();
    let mem = Arc::new(Mem::default());
    *mem.queued.lock().unwrap() = vec![
        job("bad", "tens", json!({"m": 1}), now + Duration::hours(1)),
        job("late", "tens", json!({"n": 7}), now - Duration::seconds(1)),
        job("odd", "nobody", json!({}), now + Duration::hours(1)),
    ];
    // None of them runs: count them as run so transactions may begin.
    mem.ran.fetch_add(3, Ordering::SeqCst);
    assert_eq!(worker(&mem, clock.clone()).drain().await.unwrap(), 3);
    let mut results = mem.results.lock().unwrap().clone();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let error = |id: &str| match &results.iter().find(|(j, _)| j == id).unwrap().1 {
        JobResult::Dead { error } => error.clone(),
        other => panic!("{id}: {other:?}"),
    };
    assert!(error("bad").starts_with("bad tens payload: missing field `n`"));
    assert!(error("late").starts_with("deadline passed before attempt 1"));
    assert!(error("odd").contains("no handler for job kind \"nobody\""));
    // Only the expired job decoded: its kind records it, having learned nothing.
    assert_eq!(
        sorted(&mem.notes),
        vec![format!("7 learned None ({})", error("late"))]
    );
}
