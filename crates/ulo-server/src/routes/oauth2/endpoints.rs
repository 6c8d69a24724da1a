//! The client-authenticated form endpoints: `POST /oauth2/v1/token`, `/introspect`, `/revoke`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ulo_core::oidc::TokenRequest;

use super::{ClientForm, RequestClient, json_no_store, keys, no_store, oauth_error, provider};
use crate::openapi::schema;
use crate::state::AppState;

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

#[utoipa::path(
    post,
    path = "/oauth2/v1/token",
    operation_id = "oauth2Token",
    tag = "OpenID Connect",
    summary = "Token endpoint: authorization_code, refresh_token, client_credentials",
    description = "Codes are one-time and live 60 s; a second redemption revokes the tokens the first gave. Refresh tokens are rotated on every use; presenting a rotated one revokes its whole family (logged as app.oauth2.token.detect_reuse). Every issued grant is logged as app.oauth2.token.grant. Parameters may appear once.",
    request_body(content = schema::TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Tokens.", body = schema::TokenResponse, content_type = "application/json", headers(("Cache-Control" = String, description = "no-store"))),
        (status = 400, description = "invalid_request, invalid_grant (unknown, expired, used or another client's code; wrong redirect_uri; PKCE verifier missing or wrong; revoked, rotated or expired refresh token), unauthorized_client, unsupported_grant_type, invalid_scope.", body = schema::OAuthError, content_type = "application/json", headers(("Cache-Control" = String, description = "no-store"))),
        (status = 401, description = "invalid_client: client authentication failed (with WWW-Authenticate: Basic).", body = schema::OAuthError, content_type = "application/json", headers(("WWW-Authenticate" = String, description = "Basic realm=\"ulo\""))),
        (status = 500, description = "server_error.", body = schema::OAuthError, content_type = "application/json", headers(("Cache-Control" = String, description = "no-store"))),
        (status = 503, description = "temporarily_unavailable: the store cannot be reached.", body = schema::OAuthError, content_type = "application/json", headers(("Cache-Control" = String, description = "no-store"))),
    ),
)]
pub(super) async fn token(
    State(state): State<AppState>,
    RequestClient(client): RequestClient,
    headers: HeaderMap,
    ClientForm(form): ClientForm,
) -> Response {
    let keys = keys(&state);
    let req = TokenRequest {
        authorization: authorization(&headers),
        form: &form,
        client,
    };
    match provider(&state, &keys).token(req).await {
        Ok(resp) => json_no_store(StatusCode::OK, resp),
        Err(e) => oauth_error(e),
    }
}

#[utoipa::path(
    post,
    path = "/oauth2/v1/introspect",
    operation_id = "oauth2Introspect",
    tag = "OpenID Connect",
    summary = "Token introspection (RFC 7662)",
    description = "A client learns only about its own tokens. An access token is active only while its signature verifies, it is unexpired, its jti is unrevoked and its user and app are ACTIVE: a revocation or a cleared session shows at once.",
    request_body(content = schema::IntrospectionRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "{\"active\":false} for anything unknown, expired, revoked or another client's.", body = schema::IntrospectionResponse, content_type = "application/json", headers(("Cache-Control" = String, description = "no-store"))),
        (status = 400, description = "invalid_request.", body = schema::OAuthError, content_type = "application/json", headers(("Cache-Control" = String, description = "no-store"))),
        (status = 401, description = "invalid_client.", body = schema::OAuthError, content_type = "application/json", headers(("WWW-Authenticate" = String, description = "Basic realm=\"ulo\""))),
        (status = 503, description = "temporarily_unavailable.", body = schema::OAuthError, content_type = "application/json", headers(("Cache-Control" = String, description = "no-store"))),
    ),
)]
pub(super) async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientForm(form): ClientForm,
) -> Response {
    let keys = keys(&state);
    match provider(&state, &keys)
        .introspect(authorization(&headers), &form)
        .await
    {
        Ok(v) => json_no_store(StatusCode::OK, v),
        Err(e) => oauth_error(e),
    }
}

#[utoipa::path(
    post,
    path = "/oauth2/v1/revoke",
    operation_id = "oauth2Revoke",
    tag = "OpenID Connect",
    summary = "Token revocation (RFC 7009)",
    description = "A refresh token revokes its whole grant (every refresh and access token of the family); an access token is revoked alone. Unknown tokens and other clients' tokens answer 200 too, with nothing done. Logged as app.oauth2.token.revoke.",
    request_body(content = schema::RevocationRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or nothing to revoke. No body."),
        (status = 400, description = "invalid_request.", body = schema::OAuthError, content_type = "application/json", headers(("Cache-Control" = String, description = "no-store"))),
        (status = 401, description = "invalid_client.", body = schema::OAuthError, content_type = "application/json", headers(("WWW-Authenticate" = String, description = "Basic realm=\"ulo\""))),
        (status = 503, description = "temporarily_unavailable.", body = schema::OAuthError, content_type = "application/json", headers(("Cache-Control" = String, description = "no-store"))),
    ),
)]
pub(super) async fn revoke(
    State(state): State<AppState>,
    RequestClient(client): RequestClient,
    headers: HeaderMap,
    ClientForm(form): ClientForm,
) -> Response {
    let keys = keys(&state);
    match provider(&state, &keys)
        .revoke(authorization(&headers), &form, client)
        .await
    {
        Ok(()) => {
            let mut resp = StatusCode::OK.into_response();
            no_store(&mut resp);
            resp
        }
        Err(e) => oauth_error(e),
    }
}
