//! Signing keys.
//!
//! `keys_methods!` implements `KeysRead` and `KeysTx` for a backend's transaction.

/// Implements `KeysRead` and `KeysTx` for `$tx` (with a `tx` field).
macro_rules! keys_methods {
    ($tx:ident, $dialect:expr) => {
        #[async_trait::async_trait]
        impl ulo_core::store::KeysRead for $tx {
            async fn list_signing_keys(&mut self) -> Result<Vec<SigningKeyRecord>, StoreError> {
                let rows: Vec<KeyRow> = sqlx::query_as("SELECT kid, alg, state, private_sealed, public_jwk, created, state_changed FROM signing_keys ORDER BY created, kid")
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                convert(rows)
            }
        }

        #[async_trait::async_trait]
        impl ulo_core::store::KeysTx for $tx {
            async fn insert_signing_key(&mut self, k: &SigningKeyRecord) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO signing_keys (kid, alg, state, private_sealed, public_jwk, created, state_changed) VALUES ($1,$2,$3,$4,$5,$6,$7)")
                    .bind(&k.kid)
                    .bind(&k.alg)
                    .bind(k.state.as_str())
                    .bind(&k.private_sealed)
                    .bind(Json(k.public_jwk.clone()))
                    .bind(to_millis(k.created))
                    .bind(k.state_changed.map(to_millis))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn set_signing_key_state(&mut self, kid: &str, state: KeyState, now: OffsetDateTime) -> Result<bool, StoreError> {
                let r = sqlx::query("UPDATE signing_keys SET state=$2, state_changed=$3 WHERE kid=$1")
                    .bind(kid)
                    .bind(state.as_str())
                    .bind(to_millis(now))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use keys_methods;
