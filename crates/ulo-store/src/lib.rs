//! Storage: the SQLite and PostgreSQL implementations of ulo-core's store traits.

mod batch;
mod common;
mod device_watch;
pub mod filter_sql;
mod jti_batch;
mod login_keys;
mod postgres;
mod query;
mod rows;
pub mod scratch;
mod sqlite;
mod tx;

use std::sync::Arc;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;
use ulo_core::store::{Store, StoreError};

/// Opens the store at `url` (`sqlite://…` or `postgres://…`), running migrations.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    match ulo_sql::Backend::of(url).map_err(rows::sql_err)? {
        ulo_sql::Backend::Sqlite => Ok(Arc::new(SqliteStore::open(url).await?)),
        ulo_sql::Backend::Postgres => Ok(Arc::new(PgStore::open(url).await?)),
    }
}

pub use ulo_sql::redact;
