//! OAuth 2.0 / OpenID Connect error codes (RFC 6749 §4.1.2.1, §5.2; OIDC Core §3.1.2.6).

use crate::store::StoreError;

/// A standard error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The request is missing a parameter, repeats one, or is otherwise malformed.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The code, refresh token or PKCE verifier is invalid, expired, revoked or not this client's.
    InvalidGrant,
    /// The client may not use this grant or response type.
    UnauthorizedClient,
    /// The grant type is not supported.
    UnsupportedGrantType,
    /// The response type is not supported.
    UnsupportedResponseType,
    /// A requested scope is unknown or not allowed.
    InvalidScope,
    /// The user (or policy) refused: e.g. the app is not assigned to the user.
    AccessDenied,
    /// `prompt=none` but the user must sign in.
    LoginRequired,
    /// The `request` parameter is not supported.
    RequestNotSupported,
    /// The `request_uri` parameter is not supported.
    RequestUriNotSupported,
    /// Revocation of this token type is not supported.
    UnsupportedTokenType,
    /// The server failed.
    ServerError,
    /// The server cannot answer now (the store is unreachable).
    TemporarilyUnavailable,
}

impl ErrorCode {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::LoginRequired => "login_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// Why an OAuth request failed.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// A protocol error the client is told about.
    #[error("{}: {description}", code.as_str())]
    Protocol {
        /// The standard code.
        code: ErrorCode,
        /// A sentence for the developer (never a secret).
        description: String,
    },
    /// The store failed; the client gets `server_error` / 503, the detail goes to the server log.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl OAuthError {
    /// A protocol error.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        OAuthError::Protocol {
            code,
            description: description.into(),
        }
    }

    /// `invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// `invalid_grant`.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    /// `invalid_client`.
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }

    /// The error code (store failures are `temporarily_unavailable`).
    pub fn code(&self) -> ErrorCode {
        match self {
            OAuthError::Protocol { code, .. } => *code,
            OAuthError::Store(StoreError::Unavailable(_)) => ErrorCode::TemporarilyUnavailable,
            OAuthError::Store(_) => ErrorCode::ServerError,
        }
    }

    /// The description shown to the client.
    pub fn description(&self) -> String {
        match self {
            OAuthError::Protocol { description, .. } => description.clone(),
            OAuthError::Store(StoreError::Unavailable(_)) => {
                "the store cannot be reached; try again shortly".into()
            }
            OAuthError::Store(_) => "internal error".into(),
        }
    }
}
