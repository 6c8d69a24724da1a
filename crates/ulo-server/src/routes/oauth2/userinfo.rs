//! `GET|POST /oauth2/v1/userinfo`: claims about the person behind a bearer access token.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use ulo_core::oidc::BearerError;

use super::{ErrorBody, json_no_store, keys, provider};
use crate::openapi::schema;
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
            ErrorBody {
                error: code,
                error_description: description,
            },
        ),
        None => (
            "Bearer realm=\"ulo\"".to_string(),
            ErrorBody {
                error: "invalid_request",
                error_description: "send Authorization: Bearer <access token>",
            },
        ),
    };
    let mut resp = json_no_store(status, body);
    if let Ok(v) = HeaderValue::from_str(&value) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

#[utoipa::path(
    get,
    path = "/oauth2/v1/userinfo",
    operation_id = "oauth2UserInfo",
    tag = "OpenID Connect",
    summary = "Claims about the person behind an access token",
    description = "Authorization: Bearer <access token>.",
    responses(
        (status = 200, description = "Claims: sub, and by scope profile (name, given_name, family_name, preferred_username, nickname, locale, zoneinfo, updated_at) and email (email, email_verified).", body = schema::UserInfo, content_type = "application/json", headers(("Cache-Control" = String, description = "no-store"))),
        (status = 401, description = "No bearer token, or it is invalid, expired or revoked (WWW-Authenticate: Bearer error=\"invalid_token\").", body = schema::OAuthError, content_type = "application/json", headers(("WWW-Authenticate" = String, description = "Bearer challenge (RFC 6750)."))),
        (status = 403, description = "The token lacks the openid scope (insufficient_scope).", body = schema::OAuthError, content_type = "application/json"),
        (status = 503, description = "temporarily_unavailable.", body = schema::OAuthError, content_type = "application/json", headers(("Cache-Control" = String, description = "no-store"))),
    ),
)]
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
                ErrorBody {
                    error: "temporarily_unavailable",
                    error_description: "the store cannot be reached; try again shortly",
                },
            )
        }
    }
}

/// The same endpoint for a POST (its own operation in the OpenAPI document).
#[utoipa::path(
    post,
    path = "/oauth2/v1/userinfo",
    operation_id = "oauth2UserInfoPost",
    tag = "OpenID Connect",
    summary = "Userinfo, by POST",
    description = "Authorization: Bearer <access token>.",
    responses(
        (status = 200, description = "Claims: sub, and by scope profile (name, given_name, family_name, preferred_username, nickname, locale, zoneinfo, updated_at) and email (email, email_verified).", body = schema::UserInfo, content_type = "application/json", headers(("Cache-Control" = String, description = "no-store"))),
        (status = 401, description = "No bearer token, or it is invalid, expired or revoked (WWW-Authenticate: Bearer error=\"invalid_token\").", body = schema::OAuthError, content_type = "application/json", headers(("WWW-Authenticate" = String, description = "Bearer challenge (RFC 6750)."))),
        (status = 403, description = "The token lacks the openid scope (insufficient_scope).", body = schema::OAuthError, content_type = "application/json"),
        (status = 503, description = "temporarily_unavailable.", body = schema::OAuthError, content_type = "application/json", headers(("Cache-Control" = String, description = "no-store"))),
    ),
)]
pub(super) async fn userinfo_post(state: State<AppState>, headers: HeaderMap) -> Response {
    userinfo(state, headers).await
}
