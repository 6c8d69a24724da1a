//! Pool setup: SQLite in WAL mode with a single writer, PostgreSQL with pings only where they
//! help.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::{SqlError, db_err};

/// How long a caller waits for a pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// Prepared statements kept per connection. sqlx's default (100) is fewer than the distinct
/// statements a busy server runs on its connections (multi-row inserts and `IN` lists vary in
/// length; the single SQLite writer runs every write), and a statement evicted is parsed and
/// planned again the next time.
const STATEMENT_CACHE: usize = 512;

/// The options of a SQLite database at `url`: created if missing, WAL journal, `synchronous =
/// NORMAL`, foreign keys on, a 10 s busy timeout, and [`STATEMENT_CACHE`] prepared statements.
pub fn sqlite_options(url: &str) -> Result<SqliteConnectOptions, SqlError> {
    Ok(SqliteConnectOptions::from_str(url)
        .map_err(|e| SqlError::Unavailable(format!("bad SQLite URL {url:?}: {e}")))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .statement_cache_capacity(STATEMENT_CACHE))
}

/// WAL pages after which the writer checkpoints by itself (SQLite's default is 1,000). The
/// [checkpointer](sqlite_checkpointer) normally keeps the WAL shorter; this is the backstop.
const WRITER_AUTOCHECKPOINT: u32 = 20_000;

/// The one writer connection: SQLite serializes writes anyway, and a single connection avoids
/// SQLITE_BUSY storms. It leaves checkpoints to the [checkpointer](sqlite_checkpointer) unless
/// the WAL grows past [`WRITER_AUTOCHECKPOINT`] pages: a checkpoint copies pages into the
/// database and syncs it, which on the writer holds up every write meanwhile.
pub async fn sqlite_writer(opts: &SqliteConnectOptions) -> Result<SqlitePool, SqlError> {
    sqlite_pool(1)
        .connect_with(
            opts.clone()
                .pragma("wal_autocheckpoint", WRITER_AUTOCHECKPOINT.to_string()),
        )
        .await
        .map_err(db_err)
}

/// A connection of its own (and so a thread of its own) for [`sqlite_checkpoint`].
pub async fn sqlite_checkpointer(opts: &SqliteConnectOptions) -> Result<SqlitePool, SqlError> {
    sqlite_pool(1)
        .connect_with(opts.clone())
        .await
        .map_err(db_err)
}

/// A PASSIVE checkpoint on `checkpointer`: copies what the WAL holds into the database as far
/// as readers allow, beside the writer (which goes on committing meanwhile); the WAL starts
/// over once it has all been copied. Answers the WAL's frames and how many are copied.
pub async fn sqlite_checkpoint(checkpointer: &SqlitePool) -> Result<(i64, i64), SqlError> {
    let (_busy, log, copied): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(checkpointer)
        .await
        .map_err(db_err)?;
    Ok((log, copied))
}

/// A few read-only connections beside the writer (WAL lets them read while it writes).
pub async fn sqlite_readers(opts: &SqliteConnectOptions) -> Result<SqlitePool, SqlError> {
    sqlite_pool(4)
        .connect_with(opts.clone().read_only(true))
        .await
        .map_err(db_err)
}

fn sqlite_pool(max: u32) -> SqlitePoolOptions {
    // No ping before each use (sqlx's default): an embedded database cannot hang up, and the
    // ping is one more hop to the connection's thread per transaction.
    SqlitePoolOptions::new()
        .max_connections(max)
        .test_before_acquire(false)
        .acquire_timeout(ACQUIRE_TIMEOUT)
}

/// A PostgreSQL pool of at most `max_connections` connections to `url`, each keeping
/// [`STATEMENT_CACHE`] prepared statements.
pub async fn postgres(url: &str, max_connections: u32) -> Result<PgPool, SqlError> {
    let opts = PgConnectOptions::from_str(url)
        .map_err(|e| SqlError::Unavailable(format!("bad PostgreSQL URL: {e}")))?
        .statement_cache_capacity(STATEMENT_CACHE);
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // sqlx pings every connection it hands out: a round trip per transaction. Only a
        // connection idle for a while is worth checking (a server restart or an idle
        // timeout closes those); one in steady use proves itself by its last query.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for < Duration::from_secs(10) {
                    return Ok(true);
                }
                use sqlx::Connection;
                Ok(conn.ping().await.is_ok())
            })
        })
        .connect_with(opts)
        .await
        .map_err(db_err)
}
