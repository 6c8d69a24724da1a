//! Throwaway PostgreSQL databases for tests: each caller gets its own, dropped afterwards.

use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Connection};

use super::{StoreError, db_err};

/// Prefix of every scratch database's name; only such databases are ever dropped.
const PREFIX: &str = "ulo_vault_t_";

fn with_db(base_url: &str, name: &str) -> Result<String, StoreError> {
    let mut url =
        url::Url::parse(base_url).map_err(|e| StoreError::Unavailable(format!("bad URL: {e}")))?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// Creates a new, empty PostgreSQL database next to the one `base_url` names; answers its URL.
/// The vault migrates it when it opens it.
pub async fn create_postgres_database(base_url: &str) -> Result<String, StoreError> {
    let name = format!("{PREFIX}{}", uuid::Uuid::now_v7().simple());
    let mut conn = PgConnection::connect(base_url).await.map_err(db_err)?;
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .map_err(db_err)?;
    with_db(base_url, &name)
}

/// Drops a database made by [`create_postgres_database`] (ending its connections).
pub async fn drop_postgres_database(base_url: &str, url: &str) -> Result<(), StoreError> {
    let parsed =
        url::Url::parse(url).map_err(|e| StoreError::Unavailable(format!("bad URL: {e}")))?;
    let name = parsed.path().trim_start_matches('/');
    if !name.starts_with(PREFIX) || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(StoreError::Unavailable(format!(
            "refusing to drop {name:?}: not a scratch database"
        )));
    }
    let mut conn = PgConnection::connect(base_url).await.map_err(db_err)?;
    sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await
    .map_err(db_err)?;
    Ok(())
}
