//! Health, discovery, JWKS, and JSON answers for unknown routes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oauth2/v1/keys", get(jwks))
}

async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.0.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({"status": "UP", "store": state.0.store.backend()})),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "health check: store unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    json!({"status": "DOWN", "store": state.0.store.backend(), "reason": "the store cannot be reached"}),
                ),
            )
        }
    }
}

/// Client authentication methods of the token, introspection and revocation endpoints.
const TOKEN_AUTH_METHODS: [&str; 4] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
];

/// Algorithms a `private_key_jwt` client assertion may be signed with.
const CLIENT_ASSERTION_ALGS: [&str; 9] = [
    "ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA",
];

async fn discovery(State(state): State<AppState>) -> Json<Value> {
    let iss = state.issuer();
    Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oauth2/v1/authorize"),
        "token_endpoint": format!("{iss}/oauth2/v1/token"),
        "userinfo_endpoint": format!("{iss}/oauth2/v1/userinfo"),
        "introspection_endpoint": format!("{iss}/oauth2/v1/introspect"),
        "revocation_endpoint": format!("{iss}/oauth2/v1/revoke"),
        "end_session_endpoint": format!("{iss}/oauth2/v1/logout"),
        "jwks_uri": format!("{iss}/oauth2/v1/keys"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "scopes_supported": ulo_core::oidc::scope::SUPPORTED,
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "amr", "at_hash",
            "name", "given_name", "family_name", "preferred_username", "nickname", "locale",
            "zoneinfo", "updated_at", "email", "email_verified"
        ],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "userinfo_signing_alg_values_supported": ["none"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": TOKEN_AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGS,
        "introspection_endpoint_auth_methods_supported": TOKEN_AUTH_METHODS,
        "introspection_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGS,
        "revocation_endpoint_auth_methods_supported": TOKEN_AUTH_METHODS,
        "revocation_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGS,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": false,
        "global_token_revocation_endpoint": format!("{iss}/oauth2/v1/global-token-revocation"),
    }))
}

async fn jwks(
    State(state): State<AppState>,
) -> ([(axum::http::HeaderName, &'static str); 1], Json<Value>) {
    (
        [(axum::http::header::CACHE_CONTROL, "public, max-age=300")],
        Json(state.keys().jwks()),
    )
}

/// Unknown path.
pub async fn not_found() -> ApiError {
    ApiError::not_found("Not found: Resource not found: no such path")
}

/// Known path, wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "E0000022",
        "The endpoint does not support the provided HTTP method",
    )
}
