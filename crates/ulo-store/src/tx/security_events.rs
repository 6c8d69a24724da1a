//! Security events providers (ulo as a Shared Signals receiver).
//!
//! `security_events_methods!` implements `SecurityEventsRead` and `SecurityEventsTx` for a
//! backend's transaction.

/// Implements `SecurityEventsRead` and `SecurityEventsTx` for `$tx` (with a `tx` field).
macro_rules! security_events_methods {
    ($tx:ident, $dialect:expr) => {
        #[async_trait::async_trait]
        impl ulo_core::store::SecurityEventsRead for $tx {
            async fn list_security_events_providers(&mut self) -> Result<Vec<ulo_core::security_events::Provider>, StoreError> {
                let rows: Vec<(String,)> = sqlx::query_as("SELECT data FROM security_events_providers ORDER BY created, id")
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(|r| crate::tx::security_events::parse(&r.0)).collect()
            }

            async fn get_security_events_provider(&mut self, id: &str) -> Result<Option<ulo_core::security_events::Provider>, StoreError> {
                let row: Option<(String,)> = sqlx::query_as("SELECT data FROM security_events_providers WHERE id=$1")
                    .bind(id)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                row.map(|r| crate::tx::security_events::parse(&r.0)).transpose()
            }

            async fn find_security_events_provider(&mut self, issuer: &str) -> Result<Option<ulo_core::security_events::Provider>, StoreError> {
                let row: Option<(String,)> = sqlx::query_as("SELECT data FROM security_events_providers WHERE issuer=$1")
                    .bind(issuer)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                row.map(|r| crate::tx::security_events::parse(&r.0)).transpose()
            }
        }

        #[async_trait::async_trait]
        impl ulo_core::store::SecurityEventsTx for $tx {
            async fn insert_security_events_provider(&mut self, p: &ulo_core::security_events::Provider) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO security_events_providers (id, issuer, created, data) VALUES ($1,$2,$3,$4)")
                    .bind(p.id.clone())
                    .bind(p.issuer.clone())
                    .bind(to_millis(p.created))
                    .bind(crate::tx::security_events::document(p)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn update_security_events_provider(&mut self, p: &ulo_core::security_events::Provider) -> Result<bool, StoreError> {
                let r = sqlx::query("UPDATE security_events_providers SET issuer=$2, data=$3 WHERE id=$1")
                    .bind(p.id.clone())
                    .bind(p.issuer.clone())
                    .bind(crate::tx::security_events::document(p)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn delete_security_events_provider(&mut self, id: &str) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM security_events_providers WHERE id=$1")
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use security_events_methods;

/// A stored provider document.
pub(crate) fn parse(
    data: &str,
) -> Result<ulo_core::security_events::Provider, ulo_core::store::StoreError> {
    serde_json::from_str(data)
        .map_err(|e| ulo_core::store::StoreError::Corrupt(format!("security events provider: {e}")))
}

/// The document stored for a provider.
pub(crate) fn document(
    p: &ulo_core::security_events::Provider,
) -> Result<String, ulo_core::store::StoreError> {
    serde_json::to_string(p).map_err(|e| ulo_core::store::StoreError::Invalid(e.to_string()))
}
