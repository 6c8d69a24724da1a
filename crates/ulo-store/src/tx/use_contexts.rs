//! Use contexts: where each session and refresh-token family began and was used since.
//!
//! `use_contexts_methods!` implements `UseContextsRead` and `UseContextsTx` for a backend's
//! transaction.

/// Implements `UseContextsRead` and `UseContextsTx` for `$tx` (with a `tx` field).
macro_rules! use_contexts_methods {
    ($tx:ident, $dialect:expr) => {
        #[async_trait::async_trait]
        impl ulo_core::store::UseContextsRead for $tx {
            async fn list_use_contexts(
                &mut self,
                subject: ulo_core::session_influence::UseSubject,
            ) -> Result<Vec<ulo_core::session_influence::UseContext>, StoreError> {
                let rows: Vec<crate::tx::use_contexts::Row> = sqlx::query_as(
                    "SELECT user_id, network, client, address, origin, seen FROM use_contexts \
                     WHERE kind=$1 AND subject_id=$2 ORDER BY origin DESC, seen, network, client",
                )
                .bind(subject.kind())
                .bind(subject.id())
                .fetch_all(&mut *self.tx)
                .await
                .map_err(db_err)?;
                rows.into_iter()
                    .map(|r| crate::tx::use_contexts::from_row(subject, r))
                    .collect()
            }
        }

        #[async_trait::async_trait]
        impl ulo_core::store::UseContextsTx for $tx {
            async fn insert_use_context(
                &mut self,
                c: &ulo_core::session_influence::UseContext,
            ) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "INSERT INTO use_contexts (kind, subject_id, network, client, user_id, address, origin, seen) \
                     VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT DO NOTHING",
                )
                .bind(c.subject.kind())
                .bind(c.subject.id())
                .bind(c.network.clone().unwrap_or_default())
                .bind(c.client.clone())
                .bind(c.user_id.to_string())
                .bind(c.address.clone())
                .bind(c.origin)
                .bind(to_millis(c.seen))
                .execute(&mut *self.tx)
                .await
                .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use use_contexts_methods;

use ulo_core::clock::from_millis;
use ulo_core::session_influence::{UseContext, UseSubject};
use ulo_core::store::StoreError;

/// One stored context, without its subject.
#[derive(sqlx::FromRow)]
pub(crate) struct Row {
    user_id: String,
    network: String,
    client: String,
    address: Option<String>,
    origin: bool,
    seen: i64,
}

/// The context a row stores for `subject`.
pub(crate) fn from_row(subject: UseSubject, r: Row) -> Result<UseContext, StoreError> {
    Ok(UseContext {
        subject,
        user_id: r
            .user_id
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("use_contexts.user_id: {e}")))?,
        address: r.address,
        network: Some(r.network).filter(|n| !n.is_empty()),
        client: r.client,
        origin: r.origin,
        seen: from_millis(r.seen),
    })
}
