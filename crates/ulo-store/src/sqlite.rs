//! SQLite: the embedded default. WAL mode, one writer connection, a small pool of readers.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Sqlite;
use sqlx::sqlite::SqlitePool;
use tokio::sync::Notify;
use ulo_core::store::{CommandWatch, Store, StoreRead, StoreTx};

use crate::device_watch::DeviceWatchers;

use crate::common::*;
use crate::filter_sql::Dialect;
use crate::login_keys::rekey_failed;
use crate::tx::store_tx;

/// A SQLite store.
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    wake: Arc<Notify>,
    gate: Arc<crate::common::NotifyGate>,
    devices: Arc<DeviceWatchers>,
    jtis: crate::jti_batch::JtiBatcher,
    /// Stops the checkpoints when the store is dropped.
    _stop: tokio::sync::watch::Sender<()>,
}

/// How often the WAL is checkpointed beside the writer.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Checkpoints the WAL every [`CHECKPOINT_EVERY`] on a connection of its own, until the store
/// is dropped (see `ulo_sql::pool::sqlite_writer`).
async fn checkpoints(pool: SqlitePool, mut stop: tokio::sync::watch::Receiver<()>) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(CHECKPOINT_EVERY) => {}
        }
        if let Err(e) = ulo_sql::pool::sqlite_checkpoint(&pool).await {
            tracing::warn!(error = %e, "checkpointing the SQLite WAL failed; the writer checkpoints it later");
        }
    }
}

/// A SQLite transaction.
pub struct SqliteTx {
    tx: Conn<Sqlite>,
    wake: Arc<Notify>,
    enqueued: bool,
    events: Vec<crate::tx::PendingEvent>,
    /// Writes that wait for the commit (or a read of their table): queued jobs.
    deferred: Vec<crate::batch::Piece>,
    gate: Arc<crate::common::NotifyGate>,
    devices: Arc<DeviceWatchers>,
    woken: Vec<ulo_core::ids::DeviceId>,
    /// Users whose row this transaction has locked (and found): locking again is a no-op.
    locked: Vec<ulo_core::ids::UserId>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://path`) and migrates it.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let opts = ulo_sql::pool::sqlite_options(url).map_err(sql_err)?;
        let writer = ulo_sql::pool::sqlite_writer(&opts).await.map_err(sql_err)?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&writer)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migrating SQLite: {e}")))?;
        let mut tx = writer.begin().await.map_err(db_err)?;
        if crate::login_keys::rekey_sqlite(&mut tx)
            .await
            .map_err(rekey_failed)?
            .is_some()
        {
            tx.commit().await.map_err(db_err)?;
        }
        let reader = ulo_sql::pool::sqlite_readers(&opts)
            .await
            .map_err(sql_err)?;
        let checkpointer = ulo_sql::pool::sqlite_checkpointer(&opts)
            .await
            .map_err(sql_err)?;
        let (stop, stopped) = tokio::sync::watch::channel(());
        tokio::spawn(checkpoints(checkpointer, stopped));
        Ok(SqliteStore {
            _stop: stop,
            jtis: crate::jti_batch::JtiBatcher::start(crate::jti_batch::JtiPool::Sqlite(
                writer.clone(),
            )),
            writer,
            reader,
            wake: Arc::new(Notify::new()),
            gate: Arc::default(),
            devices: Arc::default(),
        })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError> {
        // IMMEDIATE takes the write lock now, so read-then-write transactions never deadlock on upgrade.
        let tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)?;
        Ok(Box::new(SqliteTx {
            tx: Conn::Tx(tx),
            wake: self.wake.clone(),
            enqueued: false,
            events: Vec::new(),
            deferred: Vec::new(),
            gate: self.gate.clone(),
            devices: self.devices.clone(),
            woken: Vec::new(),
            locked: Vec::new(),
        }))
    }

    async fn read(&self) -> Result<Box<dyn StoreRead>, StoreError> {
        // Autocommit, as on PostgreSQL (see `Conn`): each statement reads a consistent
        // snapshot of its own, and a read costs no BEGIN and ROLLBACK hops to the connection's
        // thread (nor holds back a WAL checkpoint while the handle lives).
        let conn = self.reader.acquire().await.map_err(db_err)?;
        Ok(Box::new(SqliteTx {
            tx: Conn::Plain(conn),
            wake: self.wake.clone(),
            enqueued: false,
            events: Vec::new(),
            deferred: Vec::new(),
            gate: self.gate.clone(),
            devices: self.devices.clone(),
            woken: Vec::new(),
            locked: Vec::new(),
        }))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn claim_jobs(
        &self,
        owner: &str,
        limit: u32,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<Vec<Job>, StoreError> {
        let (now, until) = (to_millis(now), to_millis(lease_until));
        let claim = ulo_sql::jobs::Claim::new(owner, i64::from(limit), now, until);
        let rows: Vec<JobRow> = ulo_sql::jobs::claim_sqlite(&self.writer, JOB_COLS, claim)
            .await
            .map_err(sql_err)?;
        convert(rows)
    }

    async fn extend_lease(&self, lease: &Lease, until: OffsetDateTime) -> Result<bool, StoreError> {
        let job = lease.job.to_string();
        let lease = ulo_sql::jobs::LeaseRef {
            job: &job,
            owner: &lease.owner,
            attempt: lease.attempt,
        };
        ulo_sql::jobs::extend_lease(&self.writer, lease, to_millis(until))
            .await
            .map_err(sql_err)
    }

    async fn wait_for_jobs(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.wake.notified()).await;
    }

    async fn watch_device(&self, device: ulo_core::ids::DeviceId) -> Box<dyn CommandWatch> {
        // One process owns a SQLite database: its commits wake its watchers.
        Box::new(self.devices.watch(device))
    }

    async fn remember_jti(
        &self,
        namespace: &str,
        jti: &str,
        expires: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.jtis.remember(namespace, jti, expires, now).await
    }

    async fn purge_jtis(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        // In slices, so the one writer is never held long by a purge.
        let mut purged = 0;
        loop {
            let n = sqlx::query(
                "DELETE FROM seen_jtis WHERE rowid IN \
                 (SELECT rowid FROM seen_jtis WHERE expires <= $1 LIMIT 2000)",
            )
            .bind(to_millis(now))
            .execute(&self.writer)
            .await
            .map_err(db_err)?
            .rows_affected();
            purged += n;
            if n < 2000 {
                return Ok(purged);
            }
        }
    }
}

store_tx!(SqliteTx, Sqlite, Dialect::Sqlite);
