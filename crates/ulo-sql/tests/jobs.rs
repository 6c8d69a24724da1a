//! The shared job-queue statements on both backends: what a claim takes and in which order,
//! that a lease is fenced by its owner and attempt, that an expired lease is taken over, and
//! that concurrent claims never take a job twice. PostgreSQL runs when `ULO_TEST_DATABASE_URL`
//! is set.

use std::collections::HashSet;

mod common;

use common::{MIGRATOR, SCRATCH, pg_base};
use ulo_sql::jobs::{Claim, LeaseRef};

fn claim(owner: &str, limit: i64, now: i64, lease_until: i64) -> Claim<'_> {
    Claim {
        owner,
        limit,
        now,
        lease_until,
    }
}

fn lease(job: &'static str, owner: &'static str, attempt: i64) -> LeaseRef<'static> {
    LeaseRef {
        job,
        owner,
        attempt,
    }
}

/// Inserts a job in `state`, due at `run_at`, never attempted.
macro_rules! insert {
    ($pool:expr, $id:expr, $state:expr, $run_at:expr) => {
        sqlx::query("INSERT INTO jobs (id, state, attempts, run_at, updated) VALUES ($1,$2,0,$3,0)")
            .bind($id)
            .bind($state)
            .bind($run_at as i64)
            .execute($pool)
            .await
            .unwrap()
    };
}

/// The checks both backends must pass, on a migrated, empty `pool`, with the backend's claim
/// and extend functions.
macro_rules! queue_conforms {
    ($pool:expr, $claim:path, $extend:path) => {{
        let pool = $pool;
        insert!(pool, "b", "QUEUED", 10);
        insert!(pool, "a", "QUEUED", 10);
        insert!(pool, "c", "QUEUED", 20);
        insert!(pool, "d", "DONE", 0);
        insert!(pool, "e", "DEAD", 0);
        const COLS: &str = "id, attempts";

        // At most `limit`, oldest due first, ties by id; each counts an attempt.
        let got: Vec<(String, i64)> = $claim(pool, COLS, claim("w1", 1, 15, 100)).await.unwrap();
        assert_eq!(got, vec![("a".to_string(), 1)]);
        let got: Vec<(String, i64)> = $claim(pool, COLS, claim("w1", 1, 15, 100)).await.unwrap();
        assert_eq!(got, vec![("b".to_string(), 1)]);
        // Leased jobs and jobs not yet due are not claimed; finished ones never.
        let got: Vec<(String, i64)> = $claim(pool, COLS, claim("w2", 10, 15, 100)).await.unwrap();
        assert!(got.is_empty(), "{got:?}");
        let got: Vec<(String, i64)> = $claim(pool, COLS, claim("w2", 10, 20, 120)).await.unwrap();
        assert_eq!(got, vec![("c".to_string(), 1)]);
        // The claim records the lease.
        let row: (String, String, i64, i64) = sqlx::query_as(
            "SELECT state, lease_owner, lease_until, updated FROM jobs WHERE id='a'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(row, ("RUNNING".to_string(), "w1".to_string(), 100, 15));

        // Only the holder extends: the owner and the attempt must match, the job be running.
        assert!($extend(pool, lease("a", "w1", 1), 150).await.unwrap());
        assert!(!$extend(pool, lease("a", "w2", 1), 500).await.unwrap());
        assert!(!$extend(pool, lease("a", "w1", 2), 500).await.unwrap());
        assert!(!$extend(pool, lease("d", "w1", 0), 500).await.unwrap());
        let (until,): (i64,) = sqlx::query_as("SELECT lease_until FROM jobs WHERE id='a'")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(until, 150);

        // A lease that expired is taken over with another attempt (a's was extended, c's
        // holds); the old holder's lease is lost.
        let got: Vec<(String, i64)> = $claim(pool, COLS, claim("w3", 10, 101, 200)).await.unwrap();
        assert_eq!(got, vec![("b".to_string(), 2)]);
        assert!(!$extend(pool, lease("b", "w1", 1), 300).await.unwrap());
        assert!($extend(pool, lease("b", "w3", 2), 300).await.unwrap());
        // A lease holds until its end, inclusive: at 150, c's (until 120) is taken over, a's
        // (until 150) is not.
        let got: Vec<(String, i64)> = $claim(pool, COLS, claim("w4", 10, 150, 400)).await.unwrap();
        assert_eq!(got, vec![("c".to_string(), 2)]);
    }};
}

/// Concurrent claims on `pool` (with 40 due jobs) never take a job twice, and take them all.
macro_rules! claims_are_exclusive {
    ($pool:expr, $claim:path) => {{
        let pool = $pool;
        sqlx::query("DELETE FROM jobs")
            .execute(&pool)
            .await
            .unwrap();
        for i in 0..40 {
            insert!(&pool, format!("j{i:02}"), "QUEUED", i);
        }
        let claimers: Vec<_> = (0..8)
            .map(|w| {
                let pool = pool.clone();
                tokio::spawn(async move {
                    let owner = format!("w{w}");
                    let mut mine = Vec::new();
                    loop {
                        let got: Vec<(String,)> = $claim(&pool, "id", claim(&owner, 3, 100, 1000))
                            .await
                            .unwrap();
                        if got.is_empty() {
                            return mine;
                        }
                        mine.extend(got.into_iter().map(|r| r.0));
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        for c in claimers {
            all.extend(c.await.unwrap());
        }
        let distinct: HashSet<&String> = all.iter().collect();
        assert_eq!(all.len(), 40, "{all:?}");
        assert_eq!(distinct.len(), 40);
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_queue_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let opts = ulo_sql::pool::sqlite_options(&url).unwrap();
    let writer = ulo_sql::pool::sqlite_writer(&opts).await.unwrap();
    MIGRATOR.run(&writer).await.unwrap();
    queue_conforms!(
        &writer,
        ulo_sql::jobs::claim_sqlite,
        ulo_sql::jobs::extend_lease
    );
    claims_are_exclusive!(writer, ulo_sql::jobs::claim_sqlite);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_queue_conforms() {
    let Some(base) = pg_base() else { return };
    let url = SCRATCH.create(&base).await.unwrap();
    let pool = ulo_sql::pool::postgres(&url, 8).await.unwrap();
    queue_conforms!(
        &pool,
        ulo_sql::jobs::claim_postgres,
        ulo_sql::jobs::extend_lease
    );
    claims_are_exclusive!(pool.clone(), ulo_sql::jobs::claim_postgres);
    pool.close().await;
    SCRATCH.drop(&base, &url).await.unwrap();
}
