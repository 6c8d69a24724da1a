//! Why a request was refused, and its HTTP answer.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Why a request was refused; maps to the HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum ReceiverError {
    /// 400: the request is malformed.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 401: the token is missing, invalid or replayed.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// 403: the token is valid but not meant for this app.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 404: the hook does not know the user.
    #[error("unknown user")]
    UnknownUser,
    /// 422: the hook could not log the user out.
    #[error("logout failed: {0}")]
    LogoutFailed(String),
    /// 503: the receiver cannot check requests right now.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
}

impl ReceiverError {
    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::UnknownUser => StatusCode::NOT_FOUND,
            Self::LogoutFailed(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The `error` code in the JSON answer.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "invalid_request",
            Self::InvalidToken(_) => "invalid_token",
            Self::Forbidden(_) => "access_denied",
            Self::UnknownUser => "unknown_user",
            Self::LogoutFailed(_) => "logout_failed",
            Self::Unavailable(_) => "temporarily_unavailable",
        }
    }

    /// The `error_description` in the JSON answer.
    pub fn description(&self) -> String {
        match self {
            Self::BadRequest(d)
            | Self::InvalidToken(d)
            | Self::Forbidden(d)
            | Self::LogoutFailed(d)
            | Self::Unavailable(d) => d.clone(),
            Self::UnknownUser => "the user is not known to this app".into(),
        }
    }
}

impl IntoResponse for ReceiverError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": self.code(),
            "error_description": self.description(),
        });
        let mut response = (self.status(), axum::Json(body)).into_response();
        if matches!(self, Self::InvalidToken(_)) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        response
    }
}
