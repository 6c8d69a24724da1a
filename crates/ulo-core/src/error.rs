//! Domain errors: what went wrong, in words an admin can act on. The HTTP layer maps each to a status.

use crate::store::StoreError;

/// One detail of a validation failure (`errorCauses` in the API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause(pub String);

/// Why a domain operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The request is malformed or breaks a rule; `causes` name each problem.
    #[error("{summary}")]
    Validation {
        /// One-line summary.
        summary: String,
        /// Each problem found.
        causes: Vec<Cause>,
    },
    /// The named thing does not exist.
    #[error("Not found: {kind} {id}")]
    NotFound {
        /// What kind of thing (user, group, app…).
        kind: &'static str,
        /// The id or key that was looked up.
        id: String,
    },
    /// A uniqueness rule would be broken.
    #[error("{0}")]
    Conflict(String),
    /// The operation is not allowed in the object's current state.
    #[error("{0}")]
    InvalidState(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The caller's credential is missing, unknown, expired, used up or replayed.
    #[error("{0}")]
    Unauthorized(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DomainError {
    /// A validation error with a single cause.
    pub fn invalid(summary: impl Into<String>, cause: impl Into<String>) -> Self {
        DomainError::Validation {
            summary: summary.into(),
            causes: vec![Cause(cause.into())],
        }
    }

    /// A not-found error.
    pub fn not_found(kind: &'static str, id: impl ToString) -> Self {
        DomainError::NotFound {
            kind,
            id: id.to_string(),
        }
    }
}

/// Collects validation causes and turns them into one error.
#[derive(Debug, Default)]
pub struct Problems(Vec<Cause>);

impl Problems {
    /// Records a problem.
    pub fn add(&mut self, cause: impl Into<String>) {
        self.0.push(Cause(cause.into()));
    }

    /// Records a problem when `bad` holds.
    pub fn check(&mut self, bad: bool, cause: impl Into<String>) {
        if bad {
            self.add(cause);
        }
    }

    /// `Ok` when nothing was recorded, otherwise a validation error with `summary`.
    pub fn finish(self, summary: &str) -> Result<(), DomainError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Validation {
                summary: summary.to_string(),
                causes: self.0,
            })
        }
    }
}
