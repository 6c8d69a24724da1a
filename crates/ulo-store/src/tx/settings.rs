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
        }
    };
}

pub(crate) use settings_methods;
