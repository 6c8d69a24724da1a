//! Server settings (early-access features, the device CA, the master key check).
//!
//! `settings_methods!` implements `SettingsRead` and `SettingsTx` for a backend's transaction.

/// Implements `SettingsRead` and `SettingsTx` for `$tx` (with a `tx` field).
macro_rules! settings_methods {
    ($tx:ident, $dialect:expr) => {
        #[async_trait::async_trait]
        impl ulo_core::store::SettingsRead for $tx {
            async fn get_setting(&mut self, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
                let row: Option<(Json<serde_json::Value>,)> = sqlx::query_as("SELECT value FROM settings WHERE key=$1")
                    .bind(key)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(row.map(|r| r.0 .0))
            }

            async fn settings_with_prefix(&mut self, prefix: &str) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
                // substr, not LIKE: SQLite's LIKE ignores case.
                let rows: Vec<(String, Json<serde_json::Value>)> = sqlx::query_as("SELECT key, value FROM settings WHERE substr(key, 1, $2) = $1 ORDER BY key")
                    .bind(prefix)
                    .bind(i32::try_from(prefix.chars().count()).unwrap_or(i32::MAX))
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(rows.into_iter().map(|(k, v)| (k, v.0)).collect())
            }
        }

        #[async_trait::async_trait]
        impl ulo_core::store::SettingsTx for $tx {
            async fn put_setting(&mut self, key: &str, value: &serde_json::Value, now: OffsetDateTime) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO settings (key, value, updated) VALUES ($1,$2,$3) ON CONFLICT (key) DO UPDATE SET value=excluded.value, updated=excluded.updated")
                    .bind(key)
                    .bind(Json(value.clone()))
                    .bind(to_millis(now))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn delete_setting(&mut self, key: &str) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM settings WHERE key=$1")
                    .bind(key)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use settings_methods;
