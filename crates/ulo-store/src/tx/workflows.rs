//! Workflows: signed webhooks and their sealed secrets.
//!
//! `workflows_methods!` implements `WorkflowsRead` and `WorkflowsTx` for a backend's transaction.

/// Implements `WorkflowsRead` and `WorkflowsTx` for `$tx` (with a `tx` field).
macro_rules! workflows_methods {
    ($tx:ident, $dialect:expr) => {
        #[async_trait::async_trait]
        impl ulo_core::store::WorkflowsRead for $tx {
            async fn get_workflow(&mut self, id: ulo_core::ids::WorkflowId) -> Result<Option<ulo_core::workflow::Workflow>, StoreError> {
                let row: Option<(String, String)> = sqlx::query_as("SELECT data, secret_sealed FROM workflows WHERE id=$1")
                    .bind(id.to_string())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                row.map(|(data, sealed)| crate::tx::workflows::from_row(&data, sealed)).transpose()
            }

            async fn list_workflows(&mut self, page: &Page) -> Result<Vec<ulo_core::workflow::Workflow>, StoreError> {
                let rows: Vec<(String, String)> = sqlx::query_as("SELECT data, secret_sealed FROM workflows WHERE id > $1 ORDER BY id LIMIT $2")
                    .bind(page.after.clone().unwrap_or_default())
                    .bind(i64::from(page.limit.max(1)))
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                rows.into_iter().map(|(data, sealed)| crate::tx::workflows::from_row(&data, sealed)).collect()
            }
        }

        #[async_trait::async_trait]
        impl ulo_core::store::WorkflowsTx for $tx {
            async fn insert_workflow(&mut self, w: &ulo_core::workflow::Workflow) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO workflows (id, status, created, data, secret_sealed) VALUES ($1,$2,$3,$4,$5)")
                    .bind(w.id.to_string())
                    .bind(w.status.as_str())
                    .bind(to_millis(w.created))
                    .bind(crate::tx::workflows::to_doc(w)?)
                    .bind(w.secret_sealed.clone())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn update_workflow(&mut self, w: &ulo_core::workflow::Workflow) -> Result<(), StoreError> {
                sqlx::query("UPDATE workflows SET status=$2, data=$3, secret_sealed=$4 WHERE id=$1")
                    .bind(w.id.to_string())
                    .bind(w.status.as_str())
                    .bind(crate::tx::workflows::to_doc(w)?)
                    .bind(w.secret_sealed.clone())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn delete_workflow(&mut self, id: ulo_core::ids::WorkflowId) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM workflows WHERE id=$1")
                    .bind(id.to_string())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use workflows_methods;

use ulo_core::store::StoreError;
use ulo_core::workflow::Workflow;

/// A stored workflow document with its sealed secret.
pub(crate) fn from_row(data: &str, secret_sealed: String) -> Result<Workflow, StoreError> {
    let mut w: Workflow =
        serde_json::from_str(data).map_err(|e| StoreError::Corrupt(format!("workflow: {e}")))?;
    w.secret_sealed = secret_sealed;
    Ok(w)
}

/// A workflow's document (the secret is never in it).
pub(crate) fn to_doc(w: &Workflow) -> Result<String, StoreError> {
    serde_json::to_string(w).map_err(|e| StoreError::Invalid(e.to_string()))
}
