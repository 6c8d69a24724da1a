//! Health, and JSON answers for unknown routes (discovery and JWKS: `metadata.rs`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

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
async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let store = state.store.backend();
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "UP",
                store,
                reason: None,
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "health check: store unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "DOWN",
                    store,
                    reason: Some("the store cannot be reached"),
                }),
            )
        }
    }
}

/// Whether ulo can serve: `UP`, or `DOWN` with why.
#[derive(Serialize)]
struct Health {
    status: &'static str,
    /// The store's backend.
    store: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

/// Unknown path: under `/scim/v2` a SCIM error (RFC 7644 §3.12), elsewhere the API's own.
pub async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    if uri.path().starts_with("/scim/v2/") || uri.path() == "/scim/v2" {
        return super::scim::not_found().await.into_response();
    }
    ApiError::not_found("Not found: Resource not found: no such path").into_response()
}

/// Known path, wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "E0000022",
        "The endpoint does not support the provided HTTP method",
    )
}
