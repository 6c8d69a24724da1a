//! Storage: the SQLite and PostgreSQL implementations of ulo-core's store traits.

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
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(PgStore::open(url).await?))
    } else {
        Err(StoreError::Unavailable(format!(
            "unsupported database URL {:?}: use sqlite://<path> or postgres://<user>@<host>/<db>",
            redact(url)
        )))
    }
}

/// A database URL with any password replaced, safe to log.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}
