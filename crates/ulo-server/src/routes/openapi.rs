//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of this API, public like any documentation.

use axum::http::header;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::schema;

/// The route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(document))
}

#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    operation_id = "openapiDocument",
    tag = "Meta",
    summary = "This OpenAPI document",
    description = "Public: no token needed.",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document.", body = schema::OpenapiDocumentResponse, content_type = "application/json"),
    ),
)]
async fn document() -> ([(header::HeaderName, &'static str); 1], &'static str) {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::json(),
    )
}
