//! The System Log.
//!
//! `log_methods!` implements `LogRead` and `LogTx` for a backend's transaction.

/// Implements `LogRead` and `LogTx` for `$tx` (with `tx` and `events` fields).
macro_rules! log_methods {
    ($tx:ident, $dialect:expr) => {
        impl $tx {
            /// Writes the events appended so far, a few rows per statement.
            async fn flush_events(&mut self) -> Result<(), StoreError> {
                let events = std::mem::take(&mut self.events);
                for chunk in crate::tx::log::event_chunks(&events) {
                    let sql = format!(
                        "INSERT INTO log_events (uuid, published, event_type, transaction_id, search, data) VALUES {}",
                        crate::tx::values_list(chunk.len(), &["$", "$", "$", "$", "$", "$"])
                    );
                    let mut q = sqlx::query(AssertSqlSafe(sql.as_str()));
                    for e in chunk {
                        q = q
                            .bind(&e.uuid)
                            .bind(e.published)
                            .bind(&e.event_type)
                            .bind(&e.transaction_id)
                            .bind(&e.search)
                            .bind(Json(&e.data));
                    }
                    q.execute(&mut *self.tx).await.map_err(db_err)?;
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl ulo_core::store::LogRead for $tx {
            async fn query_events(&mut self, q: &EventQuery) -> Result<Vec<LogEvent>, StoreError> {
                self.flush_events().await?;
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
                    let p = sql.param(SqlParam::Text(format!("%{}%", like_escape(&kw.to_lowercase()))));
                    sql.push(&format!(" AND search LIKE {p} ESCAPE '\\'"));
                }
                if let Some(f) = &q.filter {
                    sql.filter(f, $dialect, &event_fields())?;
                }
                let p = sql.param(SqlParam::Int(i64::from(q.limit.max(1))));
                let dir = if desc { "DESC" } else { "ASC" };
                sql.push(&format!(" ORDER BY published {dir}, uuid {dir} LIMIT {p}"));
                let rows: Vec<EventRow> = bind_all!(sqlx::query_as(AssertSqlSafe(sql.text.as_str())), &sql.params).fetch_all(&mut *self.tx).await.map_err(db_err)?;
                convert(rows)
            }

            async fn get_event(&mut self, id: EventId) -> Result<Option<LogEvent>, StoreError> {
                self.flush_events().await?;
                let row: Option<EventRow> = sqlx::query_as("SELECT data FROM log_events WHERE uuid=$1")
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
    pub(crate) data: serde_json::Value,
    size: usize,
}

impl PendingEvent {
    /// The row an event is stored as.
    pub(crate) fn of(
        e: &ulo_core::log::LogEvent,
    ) -> Result<PendingEvent, ulo_core::store::StoreError> {
        let data = crate::tx::to_json(e)?;
        let search = crate::rows::event_search_text(e);
        let size = data.to_string().len() + search.len() + 128;
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

/// Events split into statements of at most ~12 KiB (see `ROWS_PER_INSERT`) and 50 rows.
pub(crate) fn event_chunks(events: &[PendingEvent]) -> Vec<&[PendingEvent]> {
    const BUDGET: usize = 12 * 1024;
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, e) in events.iter().enumerate() {
        if i > start && (bytes + e.size > BUDGET || i - start == 50) {
            chunks.push(&events[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += e.size;
    }
    if start < events.len() {
        chunks.push(&events[start..]);
    }
    chunks
}
