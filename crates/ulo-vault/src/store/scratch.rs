//! Throwaway PostgreSQL databases for tests: each caller gets its own, cloned from a migrated
//! template, and dropped afterwards.

use ulo_sql::scratch::Scratch;

use super::StoreError;

/// The vault's scratch databases.
const SCRATCH: Scratch = Scratch {
    prefix: "ulo_vault_t_",
    template_prefix: "ulo_vault_tpl_",
    migrator: &super::postgres::MIGRATOR,
};

/// Creates a new, migrated PostgreSQL database next to the one `base_url` names; answers its URL.
pub async fn create_postgres_database(base_url: &str) -> Result<String, StoreError> {
    Ok(SCRATCH.create(base_url).await?)
}

/// Drops a database made by [`create_postgres_database`] (ending its connections).
pub async fn drop_postgres_database(base_url: &str, url: &str) -> Result<(), StoreError> {
    Ok(SCRATCH.drop(base_url, url).await?)
}
