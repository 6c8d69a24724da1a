//! The Shared Signals transmitter: receiver credentials, streams, subjects and SETs queued for
//! polling.
//!
//! `ssf_methods!` implements `SsfRead` and `SsfTx` for a backend's transaction.

/// Implements `SsfRead` and `SsfTx` for `$tx` (with a `tx` field).
macro_rules! ssf_methods {
    ($tx:ident, $dialect:expr) => {
        #[async_trait::async_trait]
        impl ulo_core::store::SsfRead for $tx {
            async fn find_ssf_credential(&mut self, hash: &str) -> Result<Option<ulo_core::ssf::SsfCredential>, StoreError> {
                let row: Option<(String, String, String, String, i64)> = sqlx::query_as("SELECT id, app_id, token_prefix, token_hash, created FROM ssf_credentials WHERE token_hash=$1")
                    .bind(hash)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                row.map(|(id, app, token_prefix, token_hash, created)| {
                    Ok(ulo_core::ssf::SsfCredential {
                        id,
                        app_id: crate::rows::parse("app id", &app)?,
                        token_prefix,
                        created: ulo_core::clock::from_millis(created),
                        token_hash,
                    })
                })
                .transpose()
            }

            async fn get_ssf_stream(&mut self, app: AppId) -> Result<Option<ulo_core::ssf::SsfStream>, StoreError> {
                let row: Option<(String,)> = sqlx::query_as("SELECT config FROM ssf_streams WHERE app_id=$1")
                    .bind(app.to_string())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                row.map(|r| serde_json::from_str(&r.0).map_err(|e| StoreError::Corrupt(format!("SSF stream: {e}"))))
                    .transpose()
            }

            async fn ssf_subject_excluded(&mut self, app: AppId, subject: &str) -> Result<bool, StoreError> {
                let row: Option<(bool,)> = sqlx::query_as("SELECT included FROM ssf_subjects WHERE app_id=$1 AND subject=$2")
                    .bind(app.to_string())
                    .bind(subject)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(row.is_some_and(|r| !r.0))
            }

            async fn poll_ssf_sets(&mut self, app: AppId, limit: u32) -> Result<Vec<(String, String)>, StoreError> {
                sqlx::query_as("SELECT jti, set_jwt FROM ssf_poll_sets WHERE app_id=$1 ORDER BY seq LIMIT $2")
                    .bind(app.to_string())
                    .bind(i64::from(limit))
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)
            }
        }

        #[async_trait::async_trait]
        impl ulo_core::store::SsfTx for $tx {
            async fn insert_ssf_credential(&mut self, c: &ulo_core::ssf::SsfCredential) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO ssf_credentials (id, app_id, token_prefix, token_hash, created) VALUES ($1,$2,$3,$4,$5)")
                    .bind(c.id.clone())
                    .bind(c.app_id.to_string())
                    .bind(c.token_prefix.clone())
                    .bind(c.token_hash.clone())
                    .bind(to_millis(c.created))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn put_ssf_stream(&mut self, st: &ulo_core::ssf::SsfStream) -> Result<(), StoreError> {
                let config = serde_json::to_string(st).map_err(|e| StoreError::Invalid(e.to_string()))?;
                sqlx::query("INSERT INTO ssf_streams (app_id, stream_id, config) VALUES ($1,$2,$3) ON CONFLICT (app_id) DO UPDATE SET stream_id=excluded.stream_id, config=excluded.config")
                    .bind(st.app_id.to_string())
                    .bind(st.stream_id.clone())
                    .bind(config)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn delete_ssf_stream(&mut self, app: AppId) -> Result<bool, StoreError> {
                for table in ["ssf_poll_sets", "ssf_subjects"] {
                    let sql = format!("DELETE FROM {table} WHERE app_id=$1");
                    sqlx::query(AssertSqlSafe(sql.as_str()))
                        .bind(app.to_string())
                        .execute(&mut *self.tx)
                        .await
                        .map_err(db_err)?;
                }
                let r = sqlx::query("DELETE FROM ssf_streams WHERE app_id=$1")
                    .bind(app.to_string())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn put_ssf_subject(&mut self, app: AppId, subject: &str, included: bool) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO ssf_subjects (app_id, subject, included) VALUES ($1,$2,$3) ON CONFLICT (app_id, subject) DO UPDATE SET included=excluded.included")
                    .bind(app.to_string())
                    .bind(subject)
                    .bind(included)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn enqueue_ssf_set(&mut self, app: AppId, jti: &str, set: &str, delivery: Option<&serde_json::Value>, now: OffsetDateTime) -> Result<(), StoreError> {
                let seq: (i64,) = sqlx::query_as("SELECT COALESCE(MAX(seq), 0) + 1 FROM ssf_poll_sets WHERE app_id=$1")
                    .bind(app.to_string())
                    .fetch_one(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                sqlx::query("INSERT INTO ssf_poll_sets (app_id, jti, seq, set_jwt, delivery, created) VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (app_id, jti) DO NOTHING")
                    .bind(app.to_string())
                    .bind(jti)
                    .bind(seq.0)
                    .bind(set)
                    .bind(delivery.map(|d| d.to_string()))
                    .bind(to_millis(now))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn ack_ssf_set(&mut self, app: AppId, jti: &str) -> Result<Option<Option<serde_json::Value>>, StoreError> {
                let row: Option<(Option<String>,)> = sqlx::query_as("DELETE FROM ssf_poll_sets WHERE app_id=$1 AND jti=$2 RETURNING delivery")
                    .bind(app.to_string())
                    .bind(jti)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(row.map(|r| r.0.and_then(|d| serde_json::from_str(&d).ok())))
            }
        }
    };
}

pub(crate) use ssf_methods;
