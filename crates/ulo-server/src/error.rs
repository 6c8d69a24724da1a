//! The one mapping from errors to HTTP answers: JSON `{errorCode, errorSummary, errorId, errorCauses}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use ulo_core::error::DomainError;
use ulo_core::store::StoreError;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable Okta-style code.
    pub code: &'static str,
    /// One line a person can act on.
    pub summary: String,
    /// Details.
    pub causes: Vec<String>,
}

impl ApiError {
    /// An error with no causes.
    pub fn new(status: StatusCode, code: &'static str, summary: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            summary: summary.into(),
            causes: Vec::new(),
        }
    }

    /// 400 with causes.
    pub fn bad_request(summary: impl Into<String>, causes: Vec<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "E0000001",
            summary: summary.into(),
            causes,
        }
    }

    /// 401: missing or invalid credentials.
    pub fn unauthorized(summary: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "E0000011", summary)
    }

    /// 403.
    pub fn forbidden(summary: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "E0000006", summary)
    }

    /// 404.
    pub fn not_found(summary: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "E0000007", summary)
    }

    /// 500 without leaking internals; the detail goes to the server log under the error id.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        let e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "E0000009",
            "Internal Server Error",
        );
        tracing::error!(detail = %detail, "internal error");
        e
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Validation { summary, causes } => {
                ApiError::bad_request(summary, causes.into_iter().map(|c| c.0).collect())
            }
            DomainError::NotFound { kind, id } => {
                ApiError::not_found(format!("Not found: Resource not found: {id} ({kind})"))
            }
            DomainError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "E0000183", m),
            DomainError::InvalidState(m) => ApiError::new(StatusCode::CONFLICT, "E0000038", m),
            DomainError::Forbidden(m) => ApiError::forbidden(m),
            DomainError::Unauthorized(m) => ApiError::unauthorized(m),
            DomainError::Store(s) => s.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unique(m) => {
                ApiError::new(StatusCode::CONFLICT, "E0000183", format!("Conflict: {m}"))
            }
            StoreError::BadQuery(m) => {
                ApiError::bad_request(format!("Invalid search: {m}"), vec![m.clone()])
            }
            StoreError::Unavailable(m) => {
                tracing::error!(detail = %m, "store unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "E0000010",
                    "Service unavailable: the store cannot be reached; try again shortly",
                )
            }
            StoreError::Invalid(m) => ApiError::bad_request(
                format!("Api validation failed: the database refused a value: {m}"),
                vec![],
            ),
            StoreError::Corrupt(m) => ApiError::internal(m),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let error_id = format!("oae{}", uuid::Uuid::now_v7().simple());
        if self.status.is_server_error() {
            tracing::warn!(error_id, code = self.code, summary = %self.summary, "request failed");
        }
        let body = json!({
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.code,
            "errorId": error_id,
            "errorCauses": self.causes.iter().map(|c| json!({"errorSummary": c})).collect::<Vec<_>>(),
        });
        let mut resp = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("SSWS realm=\"ulo\""),
            );
        }
        resp
    }
}

/// Result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
