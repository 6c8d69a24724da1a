//! The vault's errors and their one mapping to HTTP answers.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or failed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A uniqueness rule was broken.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A stored value cannot be read back.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

impl From<ulo_sql::SqlError> for StoreError {
    fn from(e: ulo_sql::SqlError) -> Self {
        match e {
            ulo_sql::SqlError::Unique(m) => StoreError::Conflict(m),
            ulo_sql::SqlError::Corrupt(m) => StoreError::Corrupt(m),
            ulo_sql::SqlError::Unavailable(m) | ulo_sql::SqlError::Refused(m) => {
                StoreError::Unavailable(m)
            }
        }
    }
}

/// Why a vault operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// 400: the request is wrong; the message says how.
    #[error("{0}")]
    Invalid(String),
    /// 401: no or a bad credential.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the credential is good but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such thing.
    #[error("{0}")]
    NotFound(String),
    /// 409: it exists already.
    #[error("{0}")]
    Conflict(String),
    /// 502: ulo or a managed app answered badly.
    #[error("{0}")]
    Upstream(String),
    /// 503/500: the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// 500: a bug or a broken environment.
    #[error("{0}")]
    Internal(String),
}

/// A refused SCIM PATCH is a bad request; the vault words its `scimType` from the detail.
impl From<ulo_scim::patch::PatchError> for VaultError {
    fn from(e: ulo_scim::patch::PatchError) -> Self {
        VaultError::Invalid(e.detail)
    }
}

impl VaultError {
    /// A 400 with `message`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }

    /// A 404 with `message`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) | Self::Store(StoreError::Conflict(_)) => StatusCode::CONFLICT,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::Store(StoreError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(StoreError::Corrupt(_)) | Self::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// A stable code for the JSON answer.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid_request",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) | Self::Store(StoreError::Conflict(_)) => "conflict",
            Self::Upstream(_) => "upstream_error",
            Self::Store(StoreError::Unavailable(_)) => "temporarily_unavailable",
            Self::Store(StoreError::Corrupt(_)) | Self::Internal(_) => "server_error",
        }
    }

    /// The message a person reads: internal details stay in the server's log.
    pub fn public_message(&self) -> String {
        match self {
            Self::Store(StoreError::Unavailable(_)) => {
                "the vault cannot reach its store right now; try again shortly".into()
            }
            Self::Store(StoreError::Corrupt(_)) | Self::Internal(_) => {
                "the vault failed to do this; the server log has the details".into()
            }
            other => other.to_string(),
        }
    }
}

impl IntoResponse for VaultError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let body = json!({"error": self.code(), "message": self.public_message()});
        let mut resp = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"ulo-vault\""),
            );
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_errors_map_as_ulo_maps_them() {
        let unique = StoreError::from(ulo_sql::SqlError::Unique("people.user_name".into()));
        assert!(matches!(unique, StoreError::Conflict(_)));
        // A value that does not decode is corrupt data, not an unavailable database.
        let corrupt = StoreError::from(ulo_sql::SqlError::Corrupt("column created".into()));
        assert!(matches!(corrupt, StoreError::Corrupt(_)));
        let down = StoreError::from(ulo_sql::SqlError::Unavailable("refused".into()));
        assert!(matches!(down, StoreError::Unavailable(_)));
    }
}
