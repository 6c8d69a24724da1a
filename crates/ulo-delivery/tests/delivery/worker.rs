//! The worker: retries with backoff, permanent failures, deadlines, lease takeover, fencing.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use serde_json::json;
use time::Duration;
use tokio::sync::watch;
use ulo_core::app::OutboundPolicy;
use ulo_core::clock::Clock;
use ulo_core::ids::JobId;
use ulo_core::job::{Backoff, Job, JobState, NewJob};
use ulo_core::store::Store;
use ulo_delivery::webhook::{KIND, Webhook};
use ulo_delivery::{Worker, WorkerConfig};
use ulo_server::clock::SystemClock;
use ulo_testkit::{Database, backends, wait_for};

use crate::endpoint::Endpoint;

fn worker(store: Arc<dyn Store>, owner: &str, lease: Duration) -> Arc<Worker> {
    let mut cfg = WorkerConfig::new(owner.to_string());
    cfg.concurrency = 8;
    cfg.lease = lease;
    cfg.poll = StdDuration::from_millis(50);
    cfg.backoff = Arc::new(Backoff {
        base: Duration::milliseconds(20),
        cap: Duration::milliseconds(200),
    });
    let hook = Webhook::new(
        OutboundPolicy {
            allow_http_loopback: true,
        },
        StdDuration::from_secs(5),
    )
    .unwrap();
    Arc::new(Worker::new(store, Arc::new(SystemClock), cfg).register(Arc::new(hook)))
}

async fn enqueue(store: &dyn Store, url: &str, n: usize, deadline: Duration) -> Vec<JobId> {
    let now = SystemClock.now();
    let mut tx = store.begin().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let job = NewJob::new(KIND, json!({"url": url, "body": {"n": i}}), now, deadline);
        ids.push(job.id);
        tx.enqueue_job(&job).await.unwrap();
    }
    tx.commit().await.unwrap();
    ids
}

async fn job(store: &dyn Store, id: JobId) -> Job {
    store
        .read()
        .await
        .unwrap()
        .get_job(id)
        .await
        .unwrap()
        .unwrap()
}

async fn finished(store: &dyn Store, id: JobId) -> Option<Job> {
    let j = job(store, id).await;
    matches!(j.state, JobState::Done | JobState::Dead).then_some(j)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_5xx_then_succeeds_and_fails_4xx_at_once() {
    for backend in backends() {
        let db = Database::new(backend).await.unwrap();
        let store = db.open().await.unwrap();
        let flaky = Endpoint::start(vec![503, 503], 204, StdDuration::ZERO).await;
        let broken = Endpoint::start(vec![], 400, StdDuration::ZERO).await;
        let a = enqueue(store.as_ref(), &flaky.url, 1, Duration::hours(1)).await[0];
        let b = enqueue(store.as_ref(), &broken.url, 1, Duration::hours(1)).await[0];
        let w = worker(store.clone(), "w", Duration::seconds(30));
        let (stop, rx) = watch::channel(false);
        let run = tokio::spawn(w.clone().run(rx));

        let ja = wait_for(
            "the flaky job to finish",
            StdDuration::from_secs(20),
            || finished(store.as_ref(), a),
        )
        .await;
        assert_eq!(ja.state, JobState::Done);
        assert_eq!(ja.attempts, 3, "503, 503, then 204");
        assert_eq!(
            flaky.received(),
            vec![a.to_string(); 3],
            "the job id is the idempotency key"
        );
        let jb = wait_for(
            "the broken job to finish",
            StdDuration::from_secs(20),
            || finished(store.as_ref(), b),
        )
        .await;
        assert_eq!(jb.state, JobState::Dead);
        assert_eq!(jb.attempts, 1, "a 400 is not retried");
        assert!(jb.last_error.unwrap().contains("HTTP 400"));

        stop.send(true).unwrap();
        run.await.unwrap();
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gives_up_at_the_deadline() {
    let db = Database::new(backends()[0]).await.unwrap();
    let store = db.open().await.unwrap();
    let down = Endpoint::start(vec![], 503, StdDuration::ZERO).await;
    let id = enqueue(store.as_ref(), &down.url, 1, Duration::milliseconds(300)).await[0];
    let w = worker(store.clone(), "w", Duration::seconds(30));
    let (stop, rx) = watch::channel(false);
    let run = tokio::spawn(w.clone().run(rx));
    let j = wait_for("the job to die", StdDuration::from_secs(20), || {
        finished(store.as_ref(), id)
    })
    .await;
    assert_eq!(j.state, JobState::Dead);
    assert!(
        j.last_error.unwrap().contains("deadline"),
        "the error says why it stopped"
    );
    assert!(j.attempts >= 2);
    stop.send(true).unwrap();
    run.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_workers_jobs_are_taken_over_when_its_lease_expires() {
    for backend in backends() {
        let db = Database::new(backend).await.unwrap();
        let store = db.open().await.unwrap();
        let ok = Endpoint::start(vec![], 204, StdDuration::ZERO).await;
        let ids = enqueue(store.as_ref(), &ok.url, 20, Duration::hours(1)).await;
        // A worker that claims and then dies: its leases are held until they expire.
        let now = SystemClock.now();
        let grabbed = store
            .claim_jobs("crashed", 5, now, now + Duration::milliseconds(500))
            .await
            .unwrap();
        assert_eq!(grabbed.len(), 5);

        let w = worker(store.clone(), "survivor", Duration::seconds(30));
        let (stop, rx) = watch::channel(false);
        let run = tokio::spawn(w.clone().run(rx));
        for id in &ids {
            let j = wait_for("every job to finish", StdDuration::from_secs(20), || {
                finished(store.as_ref(), *id)
            })
            .await;
            assert_eq!(j.state, JobState::Done);
        }
        let counts = ok.counts();
        assert_eq!(counts.len(), 20, "every job was delivered");
        assert!(counts.values().all(|n| *n == 1), "none twice: {counts:?}");
        for g in &grabbed {
            assert_eq!(
                job(store.as_ref(), g.id).await.attempts,
                2,
                "the crashed attempt counts"
            );
        }
        stop.send(true).unwrap();
        run.await.unwrap();
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_runs_everything_due() {
    let db = Database::new(backends()[0]).await.unwrap();
    let store = db.open().await.unwrap();
    let ok = Endpoint::start(vec![], 200, StdDuration::ZERO).await;
    enqueue(store.as_ref(), &ok.url, 30, Duration::hours(1)).await;
    let w = worker(store.clone(), "drainer", Duration::seconds(30));
    assert_eq!(w.drain().await.unwrap(), 30);
    assert_eq!(
        store
            .read()
            .await
            .unwrap()
            .count_jobs(Some(KIND))
            .await
            .unwrap()
            .done,
        30
    );
    assert_eq!(ok.received().len(), 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_that_enqueues_wakes_the_worker_at_once() {
    for backend in backends() {
        let db = Database::new(backend).await.unwrap();
        let store = db.open().await.unwrap();
        let ok = Endpoint::start(vec![], 204, StdDuration::ZERO).await;
        let mut cfg = WorkerConfig::new("waker".into());
        // With only the fallback poll the job would wait a minute; the commit must wake the worker.
        cfg.poll = StdDuration::from_secs(60);
        let hook = Webhook::new(
            OutboundPolicy {
                allow_http_loopback: true,
            },
            StdDuration::from_secs(5),
        )
        .unwrap();
        let w = Arc::new(
            Worker::new(store.clone(), Arc::new(SystemClock), cfg).register(Arc::new(hook)),
        );
        let (stop, rx) = watch::channel(false);
        let run = tokio::spawn(w.clone().run(rx));
        // Let the worker find the queue empty and go to sleep first.
        wait_for("the worker to idle", StdDuration::from_secs(5), || async {
            store
                .read()
                .await
                .ok()?
                .count_jobs(None)
                .await
                .ok()
                .filter(|c| c.queued == 0)
                .map(|_| ())
        })
        .await;
        tokio::task::yield_now().await;
        let id = enqueue(store.as_ref(), &ok.url, 1, Duration::hours(1)).await[0];
        let j = wait_for(
            "the job to run without waiting for the poll",
            StdDuration::from_secs(10),
            || finished(store.as_ref(), id),
        )
        .await;
        assert_eq!(j.state, JobState::Done);
        stop.send(true).unwrap();
        run.await.unwrap();
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_that_does_not_decode_fails_the_job_for_good() {
    for backend in backends() {
        let db = Database::new(backend).await.unwrap();
        let store = db.open().await.unwrap();
        let now = SystemClock.now();
        let job = NewJob::new(KIND, json!({"body": {}}), now, Duration::hours(1));
        let mut tx = store.begin().await.unwrap();
        tx.enqueue_job(&job).await.unwrap();
        tx.commit().await.unwrap();
        let w = worker(store.clone(), "decoder", Duration::seconds(30));
        assert_eq!(w.drain().await.unwrap(), 1, "run once, never retried");
        let j = finished(store.as_ref(), job.id).await.unwrap();
        assert_eq!(j.state, JobState::Dead);
        assert_eq!(j.attempts, 1);
        let error = j.last_error.unwrap();
        assert!(
            error.starts_with("bad webhook payload: missing field `url`"),
            "{error}"
        );
        db.cleanup().await;
    }
}
