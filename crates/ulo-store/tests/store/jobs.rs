//! Conformance for the job queue: leases, fencing, retries and concurrent claimers.

use serde_json::json;
use std::collections::HashSet;
use time::Duration;
use ulo_core::job::{JobResult, JobState, Lease, NewJob};

use crate::fixtures::*;

on_every_backend!(job_queue_leases_fencing_and_retries, |store| Box::pin(
    async move {
        let job = NewJob::new("webhook", json!({"n": 1}), t0(), Duration::hours(1));
        let mut tx = store.begin().await.unwrap();
        tx.enqueue_job(&job).await.unwrap();
        // Not visible to workers before commit.
        assert!(
            store
                .claim_jobs("early", 10, t0(), t0() + Duration::seconds(30))
                .await
                .map(|v| v.is_empty())
                .unwrap_or(true)
        );
        tx.commit().await.unwrap();

        let claimed = store
            .claim_jobs("w1", 10, t0(), t0() + Duration::seconds(30))
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].attempts, 1);
        assert_eq!(claimed[0].state, JobState::Running);
        assert!(
            store
                .claim_jobs(
                    "w2",
                    10,
                    t0() + Duration::seconds(10),
                    t0() + Duration::seconds(40)
                )
                .await
                .unwrap()
                .is_empty(),
            "a live lease is not shared"
        );

        // The lease expires; another worker takes over, and the first can no longer record a result.
        let later = t0() + Duration::seconds(31);
        let reclaimed = store
            .claim_jobs("w2", 10, later, later + Duration::seconds(30))
            .await
            .unwrap();
        assert_eq!(reclaimed.len(), 1);
        assert_eq!(reclaimed[0].attempts, 2);
        let stale = Lease {
            job: job.id,
            owner: "w1".into(),
            attempt: 1,
        };
        assert!(
            !store
                .extend_lease(&stale, later + Duration::minutes(5))
                .await
                .unwrap()
        );
        let mut tx = store.begin().await.unwrap();
        assert!(
            !tx.finish_job(&stale, &JobResult::Done, later)
                .await
                .unwrap()
        );
        drop(tx);

        let current = Lease {
            job: job.id,
            owner: "w2".into(),
            attempt: 2,
        };
        assert!(
            store
                .extend_lease(&current, later + Duration::minutes(1))
                .await
                .unwrap()
        );
        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.finish_job(
                &current,
                &JobResult::Retry {
                    at: later + Duration::seconds(5),
                    error: "HTTP 503".into()
                },
                later
            )
            .await
            .unwrap()
        );
        tx.commit().await.unwrap();
        assert!(
            store
                .claim_jobs(
                    "w3",
                    10,
                    later + Duration::seconds(1),
                    later + Duration::seconds(31)
                )
                .await
                .unwrap()
                .is_empty(),
            "not due yet"
        );
        let again = store
            .claim_jobs(
                "w3",
                10,
                later + Duration::seconds(5),
                later + Duration::seconds(35),
            )
            .await
            .unwrap();
        assert_eq!(again[0].last_error.as_deref(), Some("HTTP 503"));
        let lease = Lease {
            job: job.id,
            owner: "w3".into(),
            attempt: 3,
        };
        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.finish_job(
                &lease,
                &JobResult::Dead {
                    error: "HTTP 400".into()
                },
                later
            )
            .await
            .unwrap()
        );
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        let j = tx.get_job(job.id).await.unwrap().unwrap();
        assert_eq!(j.state, JobState::Dead);
        assert_eq!(tx.count_jobs(Some("webhook")).await.unwrap().dead, 1);
    }
));

on_every_backend!(finishing_many_jobs_fences_each, |store| Box::pin(
    async move {
        // 120 jobs (more than one statement's worth), a third taken over by another worker.
        let jobs: Vec<NewJob> = (0..120)
            .map(|i| NewJob::new("webhook", json!({"i": i}), t0(), Duration::hours(1)))
            .collect();
        let mut tx = store.begin().await.unwrap();
        tx.enqueue_jobs(&jobs).await.unwrap();
        tx.commit().await.unwrap();
        let claimed = store
            .claim_jobs("w1", 200, t0(), t0() + Duration::seconds(30))
            .await
            .unwrap();
        assert_eq!(claimed.len(), 120);
        let later = t0() + Duration::seconds(31);
        let mut tx = store.begin().await.unwrap();
        let leases: Vec<Lease> = claimed
            .iter()
            .map(|j| Lease {
                job: j.id,
                owner: "w1".into(),
                attempt: j.attempts,
            })
            .collect();
        let results: Vec<JobResult> = (0..120)
            .map(|i| match i % 4 {
                3 => JobResult::Retry {
                    at: later + Duration::seconds(5),
                    error: "HTTP 503".into(),
                },
                _ => JobResult::Done,
            })
            .collect();
        // Every third job's lease moved to w2 (a later attempt) before w1 records.
        for j in claimed.iter().step_by(3) {
            tx.finish_job(
                &Lease {
                    job: j.id,
                    owner: "w1".into(),
                    attempt: j.attempts,
                },
                &JobResult::Retry {
                    at: t0(),
                    error: "taken over".into(),
                },
                t0(),
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        let taken = store
            .claim_jobs("w2", 200, t0() + Duration::seconds(1), later)
            .await
            .unwrap();
        assert_eq!(taken.len(), 40);
        let mut tx = store.begin().await.unwrap();
        let pairs: Vec<(&Lease, &JobResult)> = leases.iter().zip(results.iter()).collect();
        let current = tx.finish_jobs(&pairs, later).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        for (i, (j, ok)) in claimed.iter().zip(current).enumerate() {
            assert_eq!(ok, i % 3 != 0, "job {i}: fenced only when taken over");
            let stored = tx.get_job(j.id).await.unwrap().unwrap();
            let want = match (i % 3, i % 4) {
                (0, _) => JobState::Running,
                (_, 3) => JobState::Queued,
                _ => JobState::Done,
            };
            assert_eq!(stored.state, want, "job {i}");
        }
    }
));

on_every_backend!(concurrent_claimers_never_share_a_job, |store| Box::pin(
    async move {
        let mut tx = store.begin().await.unwrap();
        for i in 0..200 {
            tx.enqueue_job(&NewJob::new(
                "webhook",
                json!({"i": i}),
                t0(),
                Duration::hours(1),
            ))
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        let mut handles = Vec::new();
        for w in 0..4 {
            let store = store.clone();
            handles.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let jobs = store
                        .claim_jobs(&format!("w{w}"), 7, t0(), t0() + Duration::minutes(5))
                        .await
                        .unwrap();
                    if jobs.is_empty() {
                        return mine;
                    }
                    mine.extend(jobs.into_iter().map(|j| j.id));
                }
            }));
        }
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await.unwrap());
        }
        assert_eq!(all.len(), 200);
        assert_eq!(all.iter().collect::<HashSet<_>>().len(), 200);
    }
));

on_every_backend!(
    a_relaxed_commit_enqueues_and_wakes_a_waiting_worker,
    |store| {
        Box::pin(async move {
            store.ping().await.unwrap();
            let job = NewJob::new("webhook", json!({"n": 1}), t0(), Duration::hours(1));
            let mut tx = store.begin().await.unwrap();
            tx.relax_durability().await.unwrap();
            tx.enqueue_job(&job).await.unwrap();
            tx.commit().await.unwrap();
            // The commit wakes this process's worker: waiting returns at once, well before its
            // own timeout.
            tokio::time::timeout(
                std::time::Duration::from_secs(20),
                store.wait_for_jobs(std::time::Duration::from_secs(120)),
            )
            .await
            .expect("a commit that enqueued a job wakes the waiting worker");
            let mut tx = store.read().await.unwrap();
            let stored = tx
                .get_job(job.id)
                .await
                .unwrap()
                .expect("a relaxed commit commits");
            assert_eq!(stored.state, JobState::Queued);
        })
    }
);
