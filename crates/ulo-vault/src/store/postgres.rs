//! PostgreSQL: jobs are claimed with `FOR UPDATE SKIP LOCKED`, so several vault processes can
//! share one database.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use tokio::sync::Notify;

use super::common::*;
use super::tx::vault_tx;
use super::{Store, Tx};

/// The PostgreSQL migrations.
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A PostgreSQL store.
pub struct PgStore {
    pool: PgPool,
    wake: Arc<Notify>,
}

/// A PostgreSQL transaction.
pub struct PgTx {
    tx: Transaction<'static, Postgres>,
    wake: Arc<Notify>,
    enqueued: bool,
}

impl PgStore {
    /// Connects to `url` and migrates the database.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await
            .map_err(db_err)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migrating PostgreSQL: {e}")))?;
        Ok(PgStore {
            pool,
            wake: Arc::new(Notify::new()),
        })
    }
}

#[async_trait]
impl Store for PgStore {
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
        // Not cancel-safe in sqlx 0.9.0 (sqlx#4393: a caller dropped during BEGIN leaves the
        // pooled connection inside a transaction): begun in a task of its own, it completes, and
        // a transaction nobody receives is dropped there, which rolls it back.
        let pool = self.pool.clone();
        let tx = tokio::spawn(async move { pool.begin().await })
            .await
            .map_err(|e| StoreError::Unavailable(format!("beginning a transaction: {e}")))?
            .map_err(db_err)?;
        Ok(Box::new(PgTx {
            tx,
            wake: self.wake.clone(),
            enqueued: false,
        }))
    }

    async fn read(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.begin().await
    }

    async fn claim_jobs(
        &self,
        owner: &str,
        limit: i64,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<Vec<Job>, StoreError> {
        let rows: Vec<JobRow> = sqlx::query_as(AssertSqlSafe(claim_sql(true)))
            .bind(owner)
            .bind(to_millis(lease_until))
            .bind(to_millis(now))
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        all(rows)
    }

    async fn wait_for_jobs(&self, timeout: Duration) {
        // Other processes' jobs are found by polling at `timeout`; this process's at once.
        let _ = tokio::time::timeout(timeout, self.wake.notified()).await;
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }
}

vault_tx!(PgTx);
