//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of this API, public like any documentation.

use axum::Router;
use axum::http::header;
use axum::routing::get;

use crate::state::AppState;

/// The document, maintained by hand next to the routes it describes (`tests/api/openapi.rs` keeps it true).
const DOCUMENT: &str = include_str!("../openapi.json");

/// The route.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/openapi.json", get(document))
}

async fn document() -> ([(header::HeaderName, &'static str); 1], &'static str) {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}
