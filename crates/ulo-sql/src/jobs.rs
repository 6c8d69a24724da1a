//! The job-queue SQL both stores run on their `jobs` tables (id, state, attempts, run_at,
//! lease_owner, lease_until, updated, …; each store reads back its own columns): claiming due
//! jobs under a lease, and extending a lease its worker still holds. A lease is fenced by the
//! owner and the attempt that claimed it: a job taken over after its lease expired counts
//! another attempt, so the late worker's statements change nothing.
//!
//! Times are Unix milliseconds, as both stores keep them.

use sqlx::postgres::{PgPool, PgRow};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{AssertSqlSafe, Database, Encode, Executor, FromRow, IntoArguments, Type};

use crate::{SqlError, db_err};

/// A claim: up to `limit` jobs due at `now` (queued and due, or running with a lease that
/// expired before `now`) leased to `owner` until `lease_until`.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    /// Who takes the jobs (a worker's name).
    pub owner: &'a str,
    /// How many jobs at most.
    pub limit: i64,
    /// The time that decides what is due.
    pub now: i64,
    /// When the lease ends.
    pub lease_until: i64,
}

impl<'a> Claim<'a> {
    /// A claim by `owner` of up to `limit` jobs due at `now`, leased until `lease_until`.
    pub fn new(owner: &'a str, limit: i64, now: i64, lease_until: i64) -> Claim<'a> {
        Claim {
            owner,
            limit,
            now,
            lease_until,
        }
    }
}

/// The claim statement: due jobs, or running ones whose lease expired, oldest first (by
/// `run_at`, then `id`), marked running under the lease with one more attempt; returns the
/// `returning` columns of each. Binds `$1` owner, `$2` lease_until, `$3` now, `$4` limit.
/// `skip_locked` (PostgreSQL) lets concurrent claimers pass over each other's rows.
///
/// The two kinds are taken each from its own index (`state, run_at` and `state, lease_until`),
/// each at most `limit`, and the oldest `limit` of both kept: one condition with `OR` made
/// SQLite read and sort every due job at each claim, a cost that grows with the queue.
pub fn claim_sql(returning: &str, skip_locked: bool) -> String {
    let lock = if skip_locked {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    format!(
        "UPDATE jobs SET state='RUNNING', lease_owner=$1, lease_until=$2, attempts=attempts+1, updated=$3 \
         WHERE id IN (SELECT id FROM (\
           SELECT id, run_at FROM (SELECT id, run_at FROM jobs WHERE state='QUEUED' AND run_at <= $3 \
             ORDER BY run_at, id LIMIT $4{lock}) due \
           UNION ALL \
           SELECT id, run_at FROM (SELECT id, run_at FROM jobs WHERE state='RUNNING' AND lease_until < $3 \
             ORDER BY run_at, id LIMIT $4{lock}) expired\
         ) claimable ORDER BY run_at, id LIMIT $4) RETURNING {returning}"
    )
}

/// Extends a lease its worker still holds: `$1` job id, `$2` owner, `$3` attempt, `$4` until.
pub const EXTEND_SQL: &str = "UPDATE jobs SET lease_until=$4 WHERE id=$1 AND state='RUNNING' AND lease_owner=$2 AND attempts=$3";

/// Claims on SQLite, in a transaction that takes the write lock at once (`BEGIN IMMEDIATE`):
/// the rows of the `returning` columns of the jobs claimed.
pub async fn claim_sqlite<R>(
    writer: &SqlitePool,
    returning: &str,
    claim: Claim<'_>,
) -> Result<Vec<R>, SqlError>
where
    R: for<'r> FromRow<'r, SqliteRow> + Send + Unpin,
{
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?;
    let rows = fetch_claimed(&mut *tx, returning, false, claim).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(rows)
}

/// Claims on PostgreSQL with `FOR UPDATE SKIP LOCKED`, in one statement: the rows of the
/// `returning` columns of the jobs claimed.
pub async fn claim_postgres<R>(
    pool: &PgPool,
    returning: &str,
    claim: Claim<'_>,
) -> Result<Vec<R>, SqlError>
where
    R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    fetch_claimed(pool, returning, true, claim).await
}

/// Runs the claim statement on `executor`.
async fn fetch_claimed<'c, DB, E, R>(
    executor: E,
    returning: &str,
    skip_locked: bool,
    claim: Claim<'_>,
) -> Result<Vec<R>, SqlError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    R: for<'r> FromRow<'r, DB::Row> + Send + Unpin,
    String: for<'t> Encode<'t, DB> + Type<DB>,
    i64: for<'t> Encode<'t, DB> + Type<DB>,
{
    sqlx::query_as::<DB, R>(AssertSqlSafe(claim_sql(returning, skip_locked)))
        .bind(claim.owner.to_string())
        .bind(claim.lease_until)
        .bind(claim.now)
        .bind(claim.limit)
        .fetch_all(executor)
        .await
        .map_err(db_err)
}

/// Who holds a lease: the job, its owner and the attempt it claimed.
#[derive(Debug, Clone, Copy)]
pub struct LeaseRef<'a> {
    /// The job's id.
    pub job: &'a str,
    /// The worker that claimed it.
    pub owner: &'a str,
    /// The attempt the claim counted.
    pub attempt: i64,
}

/// Statement results that say how many rows they changed (both backends' do, by a method of
/// their own rather than of a trait).
pub trait RowsAffected {
    /// How many rows the statement changed.
    fn rows(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

/// Extends `lease` to `until` (on a pool or a connection of either backend); false when it
/// was lost (the job finished, or another worker took it over).
pub async fn extend_lease<'c, DB, E>(
    executor: E,
    lease: LeaseRef<'_>,
    until: i64,
) -> Result<bool, SqlError>
where
    DB: Database,
    DB::QueryResult: RowsAffected,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    String: for<'t> Encode<'t, DB> + Type<DB>,
    i64: for<'t> Encode<'t, DB> + Type<DB>,
{
    let r = sqlx::query::<DB>(EXTEND_SQL)
        .bind(lease.job.to_string())
        .bind(lease.owner.to_string())
        .bind(lease.attempt)
        .bind(until)
        .execute(executor)
        .await
        .map_err(db_err)?;
    Ok(r.rows() == 1)
}

/// How an attempt ended, as the queue records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending<'a> {
    /// Done: the job is finished.
    Done,
    /// Failed, to be tried again at `at` (Unix ms).
    Retry {
        /// When.
        at: i64,
        /// Why the attempt failed.
        error: &'a str,
    },
    /// Failed for good: the job is finished.
    Dead {
        /// Why.
        error: &'a str,
    },
}

/// The fence every ending statement carries: the job is still running under the lease that
/// claimed it.
const FENCE: &str = "state='RUNNING' AND lease_owner=$2 AND attempts=$3";

/// The statement that records `ending` for one lease. Binds `$1` id, `$2` owner, `$3` attempt,
/// `$4` now, then `$5` run_at and `$6` error for a retry, `$5` error for a dead job. A finished
/// job (done or dead) gets its `finished` time.
pub fn finish_sql(ending: &Ending<'_>) -> String {
    let set = match ending {
        Ending::Done => "state='DONE', finished=$4",
        Ending::Retry { .. } => "state='QUEUED', run_at=$5, last_error=$6",
        Ending::Dead { .. } => "state='DEAD', finished=$4, last_error=$5",
    };
    format!(
        "UPDATE jobs SET {set}, lease_owner=NULL, lease_until=NULL, updated=$4 WHERE id=$1 AND {FENCE}"
    )
}

/// Records how `lease`'s attempt ended at `now`, on a connection of either backend; false when
/// the lease was lost (another worker took the job over, or it already finished).
pub async fn finish<DB, C>(
    conn: &mut C,
    lease: LeaseRef<'_>,
    ending: Ending<'_>,
    now: i64,
) -> Result<bool, SqlError>
where
    DB: Database,
    DB::QueryResult: RowsAffected,
    DB::Arguments: IntoArguments<DB>,
    C: Send,
    for<'c> &'c mut C: Executor<'c, Database = DB>,
    String: for<'t> Encode<'t, DB> + Type<DB>,
    Option<String>: for<'t> Encode<'t, DB> + Type<DB>,
    i64: for<'t> Encode<'t, DB> + Type<DB>,
{
    let sql = finish_sql(&ending);
    let mut q = sqlx::query::<DB>(AssertSqlSafe(sql))
        .bind(lease.job.to_string())
        .bind(lease.owner.to_string())
        .bind(lease.attempt)
        .bind(now);
    match ending {
        Ending::Done => {}
        Ending::Retry { at, error } => q = q.bind(at).bind(Some(error.to_string())),
        Ending::Dead { error } => q = q.bind(Some(error.to_string())),
    }
    let r = q.execute(&mut *conn).await.map_err(db_err)?;
    Ok(r.rows() == 1)
}

/// How many successes one statement records.
const DONE_PER_STATEMENT: usize = 50;

/// Records attempts that ended [`Ending::Done`] — the common case — a few dozen per
/// statement: whether each lease was still current, in order.
pub async fn finish_done<DB, C>(
    conn: &mut C,
    leases: &[LeaseRef<'_>],
    now: i64,
) -> Result<Vec<bool>, SqlError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    C: Send,
    for<'c> &'c mut C: Executor<'c, Database = DB>,
    String: for<'t> Encode<'t, DB> + Type<DB> + for<'r> sqlx::Decode<'r, DB>,
    i64: for<'t> Encode<'t, DB> + Type<DB>,
    (String,): for<'r> FromRow<'r, DB::Row>,
{
    let mut current = Vec::with_capacity(leases.len());
    for chunk in leases.chunks(DONE_PER_STATEMENT) {
        let mut sql = String::from(
            "UPDATE jobs SET state='DONE', lease_owner=NULL, lease_until=NULL, updated=$1, finished=$1 WHERE state='RUNNING' AND (",
        );
        for n in 0..chunk.len() {
            if n > 0 {
                sql.push_str(" OR ");
            }
            sql.push_str(&format!(
                "(id=${} AND lease_owner=${} AND attempts=${})",
                3 * n + 2,
                3 * n + 3,
                3 * n + 4
            ));
        }
        sql.push_str(") RETURNING id");
        let mut q = sqlx::query_as::<DB, (String,)>(AssertSqlSafe(sql)).bind(now);
        for lease in chunk {
            q = q
                .bind(lease.job.to_string())
                .bind(lease.owner.to_string())
                .bind(lease.attempt);
        }
        let ids: std::collections::HashSet<String> = q
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(|r| r.0)
            .collect();
        current.extend(chunk.iter().map(|l| ids.contains(l.job)));
    }
    Ok(current)
}

/// Records how each attempt ended — successes a few dozen per statement, retries and failures
/// one by one, as they carry columns of their own: whether each lease was still current, in
/// order.
pub async fn finish_all<DB, C>(
    conn: &mut C,
    endings: &[(LeaseRef<'_>, Ending<'_>)],
    now: i64,
) -> Result<Vec<bool>, SqlError>
where
    DB: Database,
    DB::QueryResult: RowsAffected,
    DB::Arguments: IntoArguments<DB>,
    C: Send,
    for<'c> &'c mut C: Executor<'c, Database = DB>,
    String: for<'t> Encode<'t, DB> + Type<DB> + for<'r> sqlx::Decode<'r, DB>,
    Option<String>: for<'t> Encode<'t, DB> + Type<DB>,
    i64: for<'t> Encode<'t, DB> + Type<DB>,
    (String,): for<'r> FromRow<'r, DB::Row>,
{
    let done: Vec<usize> = (0..endings.len())
        .filter(|i| endings[*i].1 == Ending::Done)
        .collect();
    let leases: Vec<LeaseRef<'_>> = done.iter().map(|i| endings[*i].0).collect();
    let mut current = vec![false; endings.len()];
    for (i, c) in done.iter().zip(finish_done(conn, &leases, now).await?) {
        current[*i] = c;
    }
    for (i, (lease, ending)) in endings.iter().enumerate() {
        if *ending != Ending::Done {
            current[i] = finish(conn, *lease, *ending, now).await?;
        }
    }
    Ok(current)
}
