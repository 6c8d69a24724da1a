//! PostgreSQL: jobs are claimed with `FOR UPDATE SKIP LOCKED`, so several vault processes can
//! share one database.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgPool;
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
        let pool = ulo_sql::pool::postgres(url, 8).await?;
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
        // Cancel-safe (sqlx#4393): see `ulo_sql::begin`.
        let tx = ulo_sql::begin(&self.pool).await?;
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
        let (now, until) = (to_millis(now), to_millis(lease_until));
        let claim = ulo_sql::jobs::Claim::new(owner, limit, now, until);
        let rows: Vec<JobRow> = ulo_sql::jobs::claim_postgres(&self.pool, JOB_COLS, claim).await?;
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
