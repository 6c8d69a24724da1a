//! Throwaway databases for tests and benchmarks: each caller gets its own, cloned from a
//! migrated template so a new database costs a file copy, not a migration run.

use ulo_core::store::StoreError;
use ulo_sql::scratch::Scratch;

use crate::rows::sql_err;

/// ulo's scratch databases.
const SCRATCH: Scratch = Scratch {
    prefix: "ulo_t_",
    template_prefix: "ulo_tpl_",
    migrator: &crate::postgres::MIGRATOR,
};

/// Creates a new, migrated PostgreSQL database next to the one `base_url` names and returns its URL.
pub async fn create_postgres_database(base_url: &str) -> Result<String, StoreError> {
    SCRATCH.create(base_url).await.map_err(sql_err)
}

/// Drops a database made by [`create_postgres_database`] (ends its connections).
pub async fn drop_postgres_database(base_url: &str, url: &str) -> Result<(), StoreError> {
    SCRATCH.drop(base_url, url).await.map_err(sql_err)
}
