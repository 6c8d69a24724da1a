//! The single-logout part of the one SQL body: `session_methods!` implements `SessionStoreTx`
//! (the apps each session signed in to, and the expired-session sweep) for a backend's
//! transaction.

/// Implements `SessionStoreTx` for `$tx` (with a `tx` field).
macro_rules! session_methods {
    ($tx:ident, $dialect:expr) => {
        #[async_trait::async_trait]
        impl ulo_core::store::SessionStoreTx for $tx {
            async fn record_session_app(&mut self, session: SessionId, app: AppId, now: OffsetDateTime) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO session_apps (session_id, app_id, first_signed_in) VALUES ($1,$2,$3) ON CONFLICT (session_id, app_id) DO NOTHING")
                    .bind(session.to_string())
                    .bind(app.to_string())
                    .bind(to_millis(now))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn list_session_apps(&mut self, session: SessionId) -> Result<Vec<AppId>, StoreError> {
                let rows: Vec<(String,)> = sqlx::query_as("SELECT app_id FROM session_apps WHERE session_id=$1 ORDER BY first_signed_in, app_id")
                    .bind(session.to_string())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                rows.into_iter()
                    .map(|(a,)| a.parse().map_err(|_| StoreError::Corrupt(format!("session_apps.app_id: bad id {a:?}"))))
                    .collect()
            }

            async fn any_expired_sessions(&mut self, now: OffsetDateTime, idle_cutoff: OffsetDateTime) -> Result<bool, StoreError> {
                let row: Option<(String,)> = sqlx::query_as("SELECT id FROM sessions WHERE ended IS NULL AND (expires <= $1 OR last_used <= $2) LIMIT 1")
                    .bind(to_millis(now))
                    .bind(to_millis(idle_cutoff))
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(row.is_some())
            }

            async fn claim_expired_sessions(&mut self, now: OffsetDateTime, idle_cutoff: OffsetDateTime, limit: u32) -> Result<Vec<Session>, StoreError> {
                // SQLite has one writer: the write transaction this runs in already excludes
                // every other sweep.
                let lock = if $dialect == crate::filter_sql::Dialect::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
                let sql = format!("SELECT {SESSION_COLS} FROM sessions WHERE ended IS NULL AND (expires <= $1 OR last_used <= $2) ORDER BY created, id LIMIT $3{lock}");
                let rows: Vec<SessionRow> = sqlx::query_as(AssertSqlSafe(sql.as_str()))
                    .bind(to_millis(now))
                    .bind(to_millis(idle_cutoff))
                    .bind(i64::from(limit))
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                convert(rows)
            }
        }
    };
}

pub(crate) use session_methods;
