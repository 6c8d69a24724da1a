//! Throwaway PostgreSQL databases for tests and benchmarks: each caller gets its own, cloned
//! from a migrated template so a new database costs a file copy, not a migration run.

use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnection, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection};

use crate::{SqlError, db_err};

/// The advisory lock held while a template is built (one builder across processes).
const TEMPLATE_LOCK: i64 = 7461;

/// Templates this process knows exist.
static TEMPLATES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Where a store's scratch databases come from.
#[derive(Debug, Clone, Copy)]
pub struct Scratch {
    /// Prefix of every scratch database's name; only such databases are ever dropped.
    pub prefix: &'static str,
    /// Prefix of the template's name (followed by a hash of the migrations).
    pub template_prefix: &'static str,
    /// The migrations a new database starts with.
    pub migrator: &'static Migrator,
}

impl Scratch {
    /// Creates a new, migrated database next to the one `base_url` names and returns its URL.
    pub async fn create(&self, base_url: &str) -> Result<String, SqlError> {
        let tpl = self.template(base_url).await?;
        let name = format!("{}{}", self.prefix, uuid::Uuid::now_v7().simple());
        let mut conn = PgConnection::connect(base_url).await.map_err(db_err)?;
        sqlx::query(AssertSqlSafe(format!(
            "CREATE DATABASE {name} TEMPLATE {tpl}"
        )))
        .execute(&mut conn)
        .await
        .map_err(db_err)?;
        with_db(base_url, &name)
    }

    /// Drops a database made by [`Scratch::create`] (ending its connections).
    pub async fn drop(&self, base_url: &str, url: &str) -> Result<(), SqlError> {
        let parsed =
            url::Url::parse(url).map_err(|e| SqlError::Unavailable(format!("bad URL: {e}")))?;
        let name = parsed.path().trim_start_matches('/');
        if !name.starts_with(self.prefix)
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(SqlError::Refused(format!(
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

    /// The template's name: it changes whenever the migrations do.
    fn template_name(&self) -> String {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for m in self.migrator.iter() {
            m.version.hash(&mut h);
            m.checksum.hash(&mut h);
        }
        format!("{}{:016x}", self.template_prefix, h.finish())
    }

    /// Creates and migrates the template once; other processes wait on an advisory lock
    /// meanwhile.
    async fn template(&self, base_url: &str) -> Result<String, SqlError> {
        let name = self.template_name();
        if known(&name) {
            return Ok(name);
        }
        let mut conn = PgConnection::connect(base_url).await.map_err(db_err)?;
        if !exists(&mut conn, &name).await? {
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(TEMPLATE_LOCK)
                .execute(&mut conn)
                .await
                .map_err(db_err)?;
            let made = self.build(&mut conn, base_url, &name).await;
            sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(TEMPLATE_LOCK)
                .execute(&mut conn)
                .await
                .map_err(db_err)?;
            made?;
        }
        if let Ok(mut t) = TEMPLATES.lock() {
            t.push(name.clone());
        }
        Ok(name)
    }

    /// Builds the template under the lock, unless another process did meanwhile.
    async fn build(
        &self,
        conn: &mut PgConnection,
        base_url: &str,
        name: &str,
    ) -> Result<(), SqlError> {
        if exists(conn, name).await? {
            return Ok(());
        }
        let building = format!("{name}_building");
        sqlx::query(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {building} WITH (FORCE)"
        )))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {building}")))
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect(&with_db(base_url, &building)?)
            .await
            .map_err(db_err)?;
        self.migrator
            .run(&pool)
            .await
            .map_err(|e| SqlError::Unavailable(format!("migrating the template: {e}")))?;
        // A template must have no open connections when it is cloned.
        pool.close().await;
        sqlx::query(AssertSqlSafe(format!(
            "ALTER DATABASE {building} RENAME TO {name}"
        )))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
        Ok(())
    }
}

fn known(name: &str) -> bool {
    TEMPLATES
        .lock()
        .map(|t| t.iter().any(|n| n == name))
        .unwrap_or(false)
}

fn with_db(base_url: &str, name: &str) -> Result<String, SqlError> {
    let mut url =
        url::Url::parse(base_url).map_err(|e| SqlError::Unavailable(format!("bad URL: {e}")))?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

async fn exists(conn: &mut PgConnection, name: &str) -> Result<bool, SqlError> {
    let row: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(row.is_some())
}
