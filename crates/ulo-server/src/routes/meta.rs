//! Health, and JSON answers for unknown routes (discovery and JWKS: `metadata.rs`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
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
