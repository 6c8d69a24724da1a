//! SQL plumbing ulo's store (`ulo-store`) and the vault's store share: what a database error
//! means ([`SqlError`]), how pools are set up ([`pool`]), a BEGIN that survives its caller
//! being cancelled ([`begin`]), the job queue's claim and lease statements ([`jobs`]), and
//! throwaway PostgreSQL databases for tests ([`scratch`]).
//! Each store maps [`SqlError`] onto its own error type.

mod error;
pub mod jobs;
pub mod pool;
pub mod scratch;

pub use error::{SqlError, db_err};

/// Begins a transaction on `pool` in a task of its own, so that it completes even when the
/// caller is dropped meanwhile.
///
/// sqlx 0.9.0's `Pool::begin` is not cancel-safe on PostgreSQL (sqlx#4393): a caller dropped
/// while its BEGIN is in flight (a long-poll whose client went away) leaves the pooled
/// connection inside a transaction, and the next borrower's statements run in it (PostgreSQL
/// warned "there is already a transaction in progress" in the device bench). Begun in a task,
/// the BEGIN always completes; a transaction nobody receives is dropped there, which rolls it
/// back.
pub async fn begin<DB: sqlx::Database>(
    pool: &sqlx::Pool<DB>,
) -> Result<sqlx::Transaction<'static, DB>, SqlError> {
    let pool = pool.clone();
    tokio::spawn(async move { pool.begin().await })
        .await
        .map_err(|e| SqlError::Unavailable(format!("beginning a transaction: {e}")))?
        .map_err(db_err)
}

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite:…`
    Sqlite,
    /// `postgres:…` or `postgresql:…`
    Postgres,
}

impl Backend {
    /// The backend of `url`, or why it names none.
    pub fn of(url: &str) -> Result<Backend, SqlError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(SqlError::Unavailable(format!(
                "unsupported database URL {:?}: use sqlite://<path> or postgres://<user>@<host>/<db>",
                redact(url)
            )))
        }
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
