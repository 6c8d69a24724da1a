//! Throwaway databases for tests and benchmarks: each caller gets its own, cloned from a
//! migrated template so a new database costs a file copy, not a migration run.

use std::hash::{Hash, Hasher};

use sqlx::postgres::{PgConnection, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection};
use tokio::sync::OnceCell;
use ulo_core::store::StoreError;

use crate::rows::db_err;

static TEMPLATE: OnceCell<String> = OnceCell::const_new();

fn with_db(base_url: &str, name: &str) -> Result<String, StoreError> {
    let mut url =
        url::Url::parse(base_url).map_err(|e| StoreError::Unavailable(format!("bad URL: {e}")))?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// The template's name: it changes whenever the migrations do.
fn template_name() -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for m in crate::postgres::MIGRATOR.iter() {
        m.version.hash(&mut h);
        m.checksum.hash(&mut h);
    }
    format!("ulo_tpl_{:016x}", h.finish())
}

async fn exists(conn: &mut PgConnection, name: &str) -> Result<bool, StoreError> {
    let row: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(row.is_some())
}

/// Creates and migrates the template once; other processes wait on an advisory lock meanwhile.
async fn template(base_url: &str) -> Result<String, StoreError> {
    let name = template_name();
    let mut conn = PgConnection::connect(base_url).await.map_err(db_err)?;
    if exists(&mut conn, &name).await? {
        return Ok(name);
    }
    sqlx::query("SELECT pg_advisory_lock(7461)")
        .execute(&mut conn)
        .await
        .map_err(db_err)?;
    let made = async {
        if !exists(&mut conn, &name).await? {
            let building = format!("{name}_building");
            sqlx::query(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {building} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await
            .map_err(db_err)?;
            sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {building}")))
                .execute(&mut conn)
                .await
                .map_err(db_err)?;
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .connect(&with_db(base_url, &building)?)
                .await
                .map_err(db_err)?;
            crate::postgres::MIGRATOR
                .run(&pool)
                .await
                .map_err(|e| StoreError::Unavailable(format!("migrating the template: {e}")))?;
            // A template must have no open connections when it is cloned.
            pool.close().await;
            sqlx::query(AssertSqlSafe(format!(
                "ALTER DATABASE {building} RENAME TO {name}"
            )))
            .execute(&mut conn)
            .await
            .map_err(db_err)?;
        }
        Ok::<_, StoreError>(())
    }
    .await;
    sqlx::query("SELECT pg_advisory_unlock(7461)")
        .execute(&mut conn)
        .await
        .map_err(db_err)?;
    made.map(|_| name)
}

/// Creates a new, migrated PostgreSQL database next to the one `base_url` names and returns its URL.
pub async fn create_postgres_database(base_url: &str) -> Result<String, StoreError> {
    let tpl = TEMPLATE
        .get_or_try_init(|| template(base_url))
        .await?
        .clone();
    let name = format!("ulo_t_{}", uuid::Uuid::now_v7().simple());
    let mut conn = PgConnection::connect(base_url).await.map_err(db_err)?;
    sqlx::query(AssertSqlSafe(format!(
        "CREATE DATABASE {name} TEMPLATE {tpl}"
    )))
    .execute(&mut conn)
    .await
    .map_err(db_err)?;
    with_db(base_url, &name)
}

/// Drops a database made by [`create_postgres_database`] (ends its connections).
pub async fn drop_postgres_database(base_url: &str, url: &str) -> Result<(), StoreError> {
    let parsed =
        url::Url::parse(url).map_err(|e| StoreError::Unavailable(format!("bad URL: {e}")))?;
    let name = parsed.path().trim_start_matches('/');
    if !name.starts_with("ulo_t_") || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(StoreError::BadQuery(format!(
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
