//! Group commit of remembered `jti`s. SQLite has one writer, and a PostgreSQL commit waits for
//! its WAL flush, so a write per agent call caps agent calls at the commit rate: here the
//! `jti`s of concurrent callers are written together, by one statement (its own transaction),
//! and each caller is answered after that commit. The writing runs in tasks of its own, so a
//! caller that goes away cannot cut a batch short for the others. On PostgreSQL a few batches
//! are written at once, so one batch's WAL flush does not hold up the callers queued behind it
//! (PostgreSQL flushes concurrent commits together); SQLite's one writer takes one at a time.
//! Across processes the primary key decides, as for a single insert.

use std::collections::HashSet;
use std::sync::Arc;

use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use ulo_core::clock::to_millis;
use ulo_core::store::StoreError;

use crate::rows::db_err;

/// At most this many `jti`s per statement (3 parameters each, well under SQLite's limit).
const MAX_BATCH: usize = 500;
/// Callers queued before new ones wait to queue (back-pressure, not refusal).
const QUEUE: usize = 8192;
/// Batches written at once on PostgreSQL (each on a pooled connection of its own).
const PG_WRITERS: usize = 4;

/// One caller's `jti`, and where to answer.
struct Remember {
    namespace: String,
    jti: String,
    expires: i64,
    now: i64,
    answer: oneshot::Sender<Result<bool, StoreError>>,
}

/// Where the batches are written.
#[derive(Clone)]
pub(crate) enum JtiPool {
    /// SQLite's one writer connection.
    Sqlite(SqlitePool),
    /// The PostgreSQL pool.
    Postgres(PgPool),
}

/// Hands `jti`s to the writing task.
pub(crate) struct JtiBatcher {
    queue: mpsc::Sender<Remember>,
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the jti writer stopped".into())
}

impl JtiBatcher {
    /// Starts the writing tasks on `writer` (they end when the batcher is dropped).
    pub(crate) fn start(writer: JtiPool) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        let writers = match writer {
            JtiPool::Sqlite(_) => 1,
            JtiPool::Postgres(_) => PG_WRITERS,
        };
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..writers {
            tokio::spawn(run(writer.clone(), rx.clone()));
        }
        JtiBatcher { queue }
    }

    /// See [`ulo_core::store::Store::remember_jti`].
    pub(crate) async fn remember(
        &self,
        namespace: &str,
        jti: &str,
        expires: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (answer, rx) = oneshot::channel();
        self.queue
            .send(Remember {
                namespace: namespace.to_string(),
                jti: jti.to_string(),
                expires: to_millis(expires),
                now: to_millis(now),
                answer,
            })
            .await
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

/// One writer: takes whatever queued while the batches in flight were written, writes it,
/// answers its callers.
async fn run(writer: JtiPool, rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Remember>>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        // The queue is held only while taking a batch: the others write meanwhile.
        if rx.lock().await.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        match write(&writer, &batch).await {
            Ok(first) => {
                for (r, first) in batch.drain(..).zip(first) {
                    let _ = r.answer.send(Ok(first));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, n = batch.len(), "remembering jtis failed");
                for r in batch.drain(..) {
                    let _ = r.answer.send(Err(StoreError::Unavailable(e.to_string())));
                }
            }
        }
    }
}

/// What follows the rows: a `jti` is written when new or expired (then the caller is first);
/// the placeholder for the earliest `now` comes last.
const UPSERT: &str = "ON CONFLICT (namespace, jti) DO UPDATE SET expires=excluded.expires \
     WHERE seen_jtis.expires <= ";

/// The PostgreSQL batch: the rows as three arrays, then the earliest `now`.
const PG_INSERT: &str = "INSERT INTO seen_jtis (namespace, jti, expires) \
     SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[]) \
     ON CONFLICT (namespace, jti) DO UPDATE SET expires=excluded.expires \
     WHERE seen_jtis.expires <= $4 RETURNING namespace, jti";

/// Writes a batch in one statement; answers, per caller, whether its `jti` was first.
async fn write(writer: &JtiPool, batch: &[Remember]) -> Result<Vec<bool>, StoreError> {
    // Of callers with the same jti, the first in the queue is written; the rest replay it.
    let mut keys = HashSet::new();
    let mut unique: Vec<&Remember> = batch
        .iter()
        .filter(|r| keys.insert((r.namespace.as_str(), r.jti.as_str())))
        .collect();
    // Concurrent batches take their rows' locks in one order: a jti sent twice at once (a
    // replay) cannot deadlock two batches.
    unique.sort_by(|a, b| (&a.namespace, &a.jti).cmp(&(&b.namespace, &b.jti)));
    // The earliest clock: an entry counts as expired only when it is for every caller.
    let now = batch.iter().map(|r| r.now).min().unwrap_or(0);
    let rows = match writer {
        JtiPool::Sqlite(p) => {
            let values: Vec<String> = (0..unique.len())
                .map(|i| format!("(${},${},${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
                .collect();
            let sql = format!(
                "INSERT INTO seen_jtis (namespace, jti, expires) VALUES {} {UPSERT}${} RETURNING namespace, jti",
                values.join(","),
                3 * unique.len() + 1
            );
            let mut q = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql));
            for r in &unique {
                q = q.bind(&r.namespace).bind(&r.jti).bind(r.expires);
            }
            q.bind(now).fetch_all(p).await.map_err(db_err)?
        }
        // Arrays: one prepared statement whatever the batch's size.
        JtiPool::Postgres(p) => sqlx::query_as::<_, (String, String)>(PG_INSERT)
            .bind(
                unique
                    .iter()
                    .map(|r| r.namespace.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(unique.iter().map(|r| r.jti.as_str()).collect::<Vec<_>>())
            .bind(unique.iter().map(|r| r.expires).collect::<Vec<_>>())
            .bind(now)
            .fetch_all(p)
            .await
            .map_err(db_err)?,
    };
    let written: HashSet<(String, String)> = rows.into_iter().collect();
    let mut answered = HashSet::new();
    Ok(batch
        .iter()
        .map(|r| {
            let key = (r.namespace.clone(), r.jti.clone());
            written.contains(&key) && answered.insert(key)
        })
        .collect())
}
