//! What a database error means to a store.

/// A database error, classified the way both stores report it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlError {
    /// A uniqueness constraint (unique index or primary key) would be broken; the database's
    /// message names it.
    #[error("already exists: {0}")]
    Unique(String),
    /// A stored value could not be read back as its type (a column that does not decode, or
    /// is missing): the data, not the database, is at fault, and retrying will not help.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The database cannot be reached, or refused the statement.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A request a store refuses to run (such as dropping a database that is not a scratch one).
    #[error("refused: {0}")]
    Refused(String),
}

/// Classifies an sqlx error: uniqueness violations on either backend are [`SqlError::Unique`],
/// values that do not decode [`SqlError::Corrupt`], the rest [`SqlError::Unavailable`].
pub fn db_err(e: sqlx::Error) -> SqlError {
    match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            SqlError::Unique(d.message().to_string())
        }
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_) => SqlError::Corrupt(e.to_string()),
        other => SqlError::Unavailable(other.to_string()),
    }
}
