//! PostgreSQL: the production and multi-node store. Jobs are claimed with `FOR UPDATE SKIP LOCKED`;
//! LISTEN/NOTIFY wakes other processes' workers.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Postgres;
use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::{Mutex, Notify};
use ulo_core::store::{CommandWatch, Store, StoreRead, StoreTx};

use crate::device_watch::DeviceWatchers;

use crate::common::*;
use crate::filter_sql::Dialect;
use crate::login_keys::rekey_failed;
use crate::tx::store_tx;

/// The PostgreSQL migrations.
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A PostgreSQL store.
pub struct PgStore {
    pool: PgPool,
    listener: Mutex<Option<PgListener>>,
    wake: Arc<Notify>,
    gate: Arc<crate::common::NotifyGate>,
    devices: Arc<DeviceWatchers>,
    jtis: crate::jti_batch::JtiBatcher,
    /// Whether this process relays `ulo_devices` notifications to its watchers yet.
    relaying: Mutex<bool>,
    /// Stops the relay when the store is dropped.
    stop: tokio::sync::watch::Sender<bool>,
}

/// A PostgreSQL transaction.
pub struct PgTx {
    tx: Conn<Postgres>,
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

impl PgStore {
    /// Connects to `url` and migrates the database.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let pool = ulo_sql::pool::postgres(url, 16).await.map_err(sql_err)?;
        // Migrations from several nodes starting at once are serialized by sqlx's advisory lock.
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migrating PostgreSQL: {e}")))?;
        let mut tx = pool.begin().await.map_err(db_err)?;
        if crate::login_keys::rekey_postgres(&mut tx)
            .await
            .map_err(rekey_failed)?
            .is_some()
        {
            tx.commit().await.map_err(db_err)?;
        }
        Ok(PgStore {
            jtis: crate::jti_batch::JtiBatcher::start(crate::jti_batch::JtiPool::Postgres(
                pool.clone(),
            )),
            pool,
            listener: Mutex::new(None),
            wake: Arc::new(Notify::new()),
            gate: Arc::default(),
            devices: Arc::default(),
            relaying: Mutex::new(false),
            stop: tokio::sync::watch::channel(false).0,
        })
    }

    /// Starts relaying `ulo_devices` notifications to this process's watchers, once; returns
    /// when the LISTEN is in place, so a command committed after a watch began is heard.
    async fn relay_devices(&self) {
        let mut relaying = self.relaying.lock().await;
        if *relaying {
            return;
        }
        let mut listener = match PgListener::connect_with(&self.pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "could not open a LISTEN connection for device commands; long-polls wait out their timeout");
                return;
            }
        };
        if let Err(e) = listener.listen(crate::device_watch::CHANNEL).await {
            tracing::warn!(error = %e, "LISTEN ulo_devices failed; long-polls wait out their timeout");
            return;
        }
        tokio::spawn(crate::device_watch::relay(
            listener,
            Arc::downgrade(&self.devices),
            self.stop.subscribe(),
        ));
        *relaying = true;
    }

    /// The pool, for tools that need raw access (tests, benchmarks).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl Store for PgStore {
    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError> {
        // Cancel-safe (sqlx#4393): see `ulo_sql::begin`.
        let tx = ulo_sql::begin(&self.pool).await.map_err(sql_err)?;
        Ok(Box::new(PgTx {
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
        let conn = self.pool.acquire().await.map_err(db_err)?;
        Ok(Box::new(PgTx {
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
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "postgres"
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
        let rows: Vec<JobRow> = ulo_sql::jobs::claim_postgres(&self.pool, JOB_COLS, claim)
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
        ulo_sql::jobs::extend_lease(&self.pool, lease, to_millis(until))
            .await
            .map_err(sql_err)
    }

    async fn wait_for_jobs(&self, timeout: Duration) {
        let mut guard = self.listener.lock().await;
        if guard.is_none() {
            match PgListener::connect_with(&self.pool).await {
                Ok(mut l) => match l.listen("ulo_jobs").await {
                    Ok(()) => *guard = Some(l),
                    Err(e) => tracing::warn!(error = %e, "LISTEN ulo_jobs failed; polling only"),
                },
                Err(e) => {
                    tracing::warn!(error = %e, "could not open a LISTEN connection; polling only")
                }
            }
        }
        match guard.as_mut() {
            Some(l) => {
                let heard = tokio::select! {
                    r = tokio::time::timeout(timeout, l.recv()) => r.ok(),
                    _ = self.wake.notified() => None,
                };
                if let Some(Err(e)) = heard {
                    tracing::warn!(error = %e, "LISTEN connection failed; reconnecting next time");
                    *guard = None;
                }
            }
            None => {
                drop(guard);
                let _ = tokio::time::timeout(timeout, self.wake.notified()).await;
            }
        }
    }

    async fn watch_device(&self, device: ulo_core::ids::DeviceId) -> Box<dyn CommandWatch> {
        self.relay_devices().await;
        Box::new(self.devices.watch(device))
    }

    async fn remember_jti(
        &self,
        namespace: &str,
        jti: &str,
        expires: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        // Group-committed: one WAL flush for every agent call that arrived meanwhile.
        self.jtis.remember(namespace, jti, expires, now).await
    }

    async fn purge_jtis(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let r = sqlx::query(PURGE_JTIS_SQL)
            .bind(to_millis(now))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(r.rows_affected())
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

store_tx!(PgTx, Postgres, Dialect::Postgres);
