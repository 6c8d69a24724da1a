//! SQLite: the default store, a file in the data directory. WAL mode, one writer connection
//! (SQLite serializes writes anyway), a few readers.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::SqlitePool;
use sqlx::{Sqlite, Transaction};
use tokio::sync::Notify;

use super::common::*;
use super::tx::vault_tx;
use super::{Store, Tx};

/// The SQLite migrations.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A SQLite store.
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    wake: Arc<Notify>,
}

/// A SQLite transaction.
pub struct SqliteTx {
    tx: Transaction<'static, Sqlite>,
    wake: Arc<Notify>,
    enqueued: bool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` and migrates it.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let opts = ulo_sql::pool::sqlite_options(url)?;
        let writer = ulo_sql::pool::sqlite_writer(&opts).await?;
        MIGRATOR
            .run(&writer)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migrating SQLite: {e}")))?;
        let reader = ulo_sql::pool::sqlite_readers(&opts).await?;
        Ok(SqliteStore {
            writer,
            reader,
            wake: Arc::new(Notify::new()),
        })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
        // IMMEDIATE takes the write lock now, so read-then-write transactions never deadlock.
        let tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)?;
        Ok(Box::new(SqliteTx {
            tx,
            wake: self.wake.clone(),
            enqueued: false,
        }))
    }

    async fn read(&self) -> Result<Box<dyn Tx>, StoreError> {
        let tx = self.reader.begin().await.map_err(db_err)?;
        Ok(Box::new(SqliteTx {
            tx,
            wake: self.wake.clone(),
            enqueued: false,
        }))
    }

    async fn claim_jobs(
        &self,
        owner: &str,
        limit: i64,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<Vec<Job>, StoreError> {
        let (now, until) = (to_millis(now), to_millis(lease_until));
        let claim = ulo_sql::jobs::Claim::new(owner, limit, now, until);
        let rows: Vec<JobRow> = ulo_sql::jobs::claim_sqlite(&self.writer, JOB_COLS, claim).await?;
        all(rows)
    }

    async fn wait_for_jobs(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.wake.notified()).await;
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }
}

vault_tx!(SqliteTx);
