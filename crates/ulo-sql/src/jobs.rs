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
pub fn claim_sql(returning: &str, skip_locked: bool) -> String {
    format!(
        "UPDATE jobs SET state='RUNNING', lease_owner=$1, lease_until=$2, attempts=attempts+1, updated=$3 \
         WHERE id IN (SELECT id FROM jobs WHERE (state='QUEUED' AND run_at <= $3) OR (state='RUNNING' AND lease_until < $3) \
         ORDER BY run_at, id LIMIT $4{}) RETURNING {returning}",
        if skip_locked {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        }
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
