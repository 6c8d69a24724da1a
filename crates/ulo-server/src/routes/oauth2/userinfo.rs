//! `GET|POST /oauth2/v1/userinfo`: claims about the person behind a bearer access token.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::json;
use ulo_core::oidc::BearerError;

use super::{json_no_store, keys, provider};
use crate::state::AppState;

/// The bearer token of `Authorization: Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("Bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// A refusal with the RFC 6750 §3 challenge.
fn challenge(status: StatusCode, error: Option<(&str, &str)>) -> Response {
    let (value, body) = match error {
        Some((code, description)) => (
            format!(
                "Bearer realm=\"ulo\", error=\"{code}\", error_description=\"{}\"",
                description.replace(['"', '\\'], "'")
            ),
            json!({"error": code, "error_description": description}),
        ),
        None => (
            "Bearer realm=\"ulo\"".to_string(),
            json!({"error": "invalid_request", "error_description": "send Authorization: Bearer <access token>"}),
        ),
    };
    let mut resp = json_no_store(status, body);
    if let Ok(v) = HeaderValue::from_str(&value) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

pub(super) async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = bearer(&headers) else {
        return challenge(StatusCode::UNAUTHORIZED, None);
    };
    let keys = keys(&state);
    match provider(&state, &keys).userinfo(token).await {
        Ok(claims) => json_no_store(StatusCode::OK, claims),
        Err(BearerError::InvalidToken(d)) => {
            challenge(StatusCode::UNAUTHORIZED, Some(("invalid_token", &d)))
        }
        Err(BearerError::InsufficientScope(d)) => {
            challenge(StatusCode::FORBIDDEN, Some(("insufficient_scope", &d)))
        }
        Err(BearerError::Store(e)) => {
            tracing::error!(error = %e, "userinfo: store failure");
            json_no_store(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "temporarily_unavailable", "error_description": "the store cannot be reached; try again shortly"}),
            )
        }
    }
}
