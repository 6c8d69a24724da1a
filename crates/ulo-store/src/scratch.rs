//! Throwaway databases for tests and benchmarks: each caller gets its own.

use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Connection};
use ulo_core::store::StoreError;

/// Creates a new, empty PostgreSQL database next to the one `base_url` names and returns its URL.
pub async fn create_postgres_database(base_url: &str) -> Result<String, StoreError> {
    let mut url =
        url::Url::parse(base_url).map_err(|e| StoreError::Unavailable(format!("bad URL: {e}")))?;
    let name = format!("ulo_t_{}", uuid::Uuid::now_v7().simple());
    let mut conn = PgConnection::connect(base_url)
        .await
        .map_err(crate::rows::db_err)?;
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .map_err(crate::rows::db_err)?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// Drops a database made by [`create_postgres_database`] (best effort; ends its connections).
pub async fn drop_postgres_database(base_url: &str, url: &str) -> Result<(), StoreError> {
    let parsed =
        url::Url::parse(url).map_err(|e| StoreError::Unavailable(format!("bad URL: {e}")))?;
    let name = parsed.path().trim_start_matches('/');
    if !name.starts_with("ulo_t_") || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(StoreError::BadQuery(format!(
            "refusing to drop {name:?}: not a scratch database"
        )));
    }
    let mut conn = PgConnection::connect(base_url)
        .await
        .map_err(crate::rows::db_err)?;
    sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await
    .map_err(crate::rows::db_err)?;
    Ok(())
}
