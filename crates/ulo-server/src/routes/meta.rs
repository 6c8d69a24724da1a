//! Health, and JSON answers for unknown routes (discovery and JWKS: `metadata.rs`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::schema;

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health))
}

#[utoipa::path(
    get,
    path = "/health",
    operation_id = "health",
    tag = "Meta",
    summary = "Liveness and store reachability",
    responses(
        (status = 200, description = "The server is up and its store answers.", body = schema::Health, content_type = "application/json"),
        (status = 503, description = "The store cannot be reached (status DOWN).", body = schema::Health, content_type = "application/json"),
    ),
)]
async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({"status": "UP", "store": state.store.backend()})),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "health check: store unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    json!({"status": "DOWN", "store": state.store.backend(), "reason": "the store cannot be reached"}),
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
