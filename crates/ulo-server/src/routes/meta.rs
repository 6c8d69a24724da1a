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

async fn discovery(State(state): State<AppState>) -> Json<Value> {
    let iss = state.issuer();
    Json(json!({
        "issuer": iss,
        "jwks_uri": format!("{iss}/oauth2/v1/keys"),
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "subject_types_supported": ["public"],
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
