//! The System Log.
//!
//! `log_methods!` implements `LogRead` and `LogTx` for a backend's transaction.

/// Implements `LogRead` and `LogTx` for `$tx` (with `tx` and `events` fields).
macro_rules! log_methods {
    ($tx:ident, $dialect:expr) => {
        impl $tx {
            /// Writes what waits for the commit — the events appended so far and the jobs
            /// queued — packed into as few statements as the size budget allows (see
            /// `crate::batch`): all new rows, of two tables.
            async fn flush_pending(&mut self) -> Result<(), StoreError> {
                let mut pieces = std::mem::take(&mut self.deferred);
                pieces.extend(crate::tx::log::event_pieces(
                    $dialect,
                    std::mem::take(&mut self.events),
                ));
                for p in crate::batch::pack($dialect, pieces) {
                    crate::batch::bind_vals!(sqlx::query(AssertSqlSafe(p.sql)), p.vals)
                        .execute(&mut *self.tx)
                        .await
                        .map_err(db_err)?;
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl ulo_core::store::LogRead for $tx {
            async fn query_events(&mut self, q: &EventQuery) -> Result<Vec<LogEvent>, StoreError> {
                self.flush_pending().await?;
                let mut sql = Sql::new("SELECT data FROM log_events WHERE 1=1");
                if let Some(since) = q.since {
                    let p = sql.param(SqlParam::Int(to_millis(since)));
                    sql.push(&format!(" AND published >= {p}"));
                }
                if let Some(until) = q.until {
                    let p = sql.param(SqlParam::Int(to_millis(until)));
                    sql.push(&format!(" AND published < {p}"));
                }
                let desc = q.sort == SortOrder::Descending;
                if let Some((published, uuid)) = &q.after {
                    let a = sql.param(SqlParam::Int(to_millis(*published)));
                    let b = sql.param(SqlParam::Text(uuid.to_string()));
                    let op = if desc { "<" } else { ">" };
                    sql.push(&format!(" AND (published, uuid) {op} ({a}, {b})"));
                }
                for kw in &q.keywords {
                    let p = sql.param(SqlParam::Text(format!(
                        "%{}%",
                        like_escape(&kw.to_lowercase())
                    )));
                    sql.push(&format!(" AND search LIKE {p} ESCAPE '\\'"));
                }
                if let Some(f) = &q.filter {
                    sql.filter(f, $dialect, &event_fields())?;
                }
                let p = sql.param(SqlParam::Int(i64::from(q.limit.max(1))));
                let dir = if desc { "DESC" } else { "ASC" };
                sql.push(&format!(" ORDER BY published {dir}, uuid {dir} LIMIT {p}"));
                let rows: Vec<EventRow> = bind_all!(
                    sqlx::query_as(AssertSqlSafe(sql.text.as_str())),
                    &sql.params
                )
                .fetch_all(&mut *self.tx)
                .await
                .map_err(db_err)?;
                convert(rows)
            }

            async fn get_event(&mut self, id: EventId) -> Result<Option<LogEvent>, StoreError> {
                self.flush_pending().await?;
                let row: Option<EventRow> =
                    sqlx::query_as("SELECT data FROM log_events WHERE uuid=$1")
                        .bind(id.to_string())
                        .fetch_optional(&mut *self.tx)
                        .await
                        .map_err(db_err)?;
                row.map(LogEvent::try_from).transpose()
            }
        }

        #[async_trait::async_trait]
        impl ulo_core::store::LogTx for $tx {
            async fn append_event(&mut self, e: &LogEvent) -> Result<(), StoreError> {
                // Written with the transaction's other events at commit (or before a read of the
                // log in this transaction): one multi-row insert instead of one per event.
                self.events.push(crate::tx::log::PendingEvent::of(e)?);
                Ok(())
            }
        }
    };
}

pub(crate) use log_methods;

/// A System Log event waiting for its transaction's commit.
pub(crate) struct PendingEvent {
    pub(crate) uuid: String,
    pub(crate) published: i64,
    pub(crate) event_type: String,
    pub(crate) transaction_id: String,
    pub(crate) search: String,
    /// The event as JSON, serialized once.
    pub(crate) data: String,
    size: usize,
}

impl PendingEvent {
    /// The row an event is stored as.
    pub(crate) fn of(
        e: &ulo_core::log::LogEvent,
    ) -> Result<PendingEvent, ulo_core::store::StoreError> {
        let data = serde_json::to_string(e)
            .map_err(|e| ulo_core::store::StoreError::Corrupt(e.to_string()))?;
        let search = crate::rows::event_search_text(e);
        let size = data.len() + search.len() + 128;
        Ok(PendingEvent {
            uuid: e.uuid.to_string(),
            published: ulo_core::clock::to_millis(e.published),
            event_type: e.event_type.clone(),
            transaction_id: e.transaction.id.clone(),
            search,
            data,
            size,
        })
    }
}

/// Events as multi-row inserts of at most ~12 KiB (see [`crate::batch::BUDGET`]) and 50 rows.
pub(crate) fn event_pieces(
    dialect: crate::filter_sql::Dialect,
    events: Vec<PendingEvent>,
) -> Vec<crate::batch::Piece> {
    let mut chunks: Vec<Vec<PendingEvent>> = Vec::new();
    let mut bytes = 0;
    for e in events {
        let full = chunks
            .last()
            .is_none_or(|c| bytes + e.size > crate::batch::BUDGET || c.len() == 50);
        if full {
            chunks.push(Vec::new());
            bytes = 0;
        }
        bytes += e.size;
        if let Some(c) = chunks.last_mut() {
            c.push(e);
        }
    }
    chunks
        .into_iter()
        .map(|chunk| {
            let sql = format!(
                "INSERT INTO log_events (uuid, published, event_type, transaction_id, search, data) VALUES {}",
                crate::tx::values_list(chunk.len(), &["$", "$", "$", "$", "$", crate::tx::json_param(dialect)])
            );
            let size = chunk.iter().map(|e| e.size).sum();
            let mut vals = Vec::with_capacity(chunk.len() * 6);
            for e in chunk {
                use crate::batch::Val;
                vals.extend([
                    Val::Text(e.uuid),
                    Val::Int(e.published),
                    Val::Text(e.event_type),
                    Val::Text(e.transaction_id),
                    Val::Text(e.search),
                    Val::JsonText(e.data),
                ]);
            }
            crate::batch::Piece::sized(sql, vals, size)
        })
        .collect()
}
