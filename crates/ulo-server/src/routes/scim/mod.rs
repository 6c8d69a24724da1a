//! `/scim/v2`: ulo as a SCIM 2.0 service provider (RFC 7643/7644) for HR systems and IdPs.

mod discovery;
mod groups;
mod list;
mod users;
mod wire;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::scim::{ScimBadRequest, ScimErrors, ScimUnsupportedMediaType};
use crate::state::AppState;

pub use wire::{ScimClient, ScimError, not_found};

/// The routes. Unknown paths under `/scim/v2` answer a SCIM 404 from the router's fallback
/// (`meta::not_found`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(discovery::service_provider_config))
        .routes(routes!(discovery::resource_types))
        .routes(routes!(discovery::resource_type))
        .routes(routes!(discovery::schemas))
        .routes(routes!(discovery::schema))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::search))
        .routes(routes!(
            users::get_one,
            users::replace,
            users::modify,
            users::remove
        ))
        .routes(routes!(groups::list, groups::create))
        .routes(routes!(groups::search))
        .routes(routes!(
            groups::get_one,
            groups::replace,
            groups::modify,
            groups::remove
        ))
        .routes(routes!(search))
}

/// `POST /.search` (RFC 7644 §3.4.3): a search over every resource type, users then groups.
#[utoipa::path(
    post,
    path = "/scim/v2/.search",
    operation_id = "scimSearch",
    tag = "SCIM",
    summary = "Search users and groups",
    description = "A SearchRequest over every resource type (RFC 7644 §3.4.3): users, then groups.",
    request_body(content = crate::openapi::scim::SearchRequest, content_type = "application/scim+json"),
    responses(
        (status = 200, description = "A ListResponse of users and groups.", body = ulo_scim::wire::ListResponse<serde_json::Value>, content_type = "application/scim+json"),
        (status = 400, response = ScimBadRequest),
        (status = 415, response = ScimUnsupportedMediaType),
        ScimErrors,
    ),
    security(("ScimBearer" = [])),
)]
async fn search(
    axum::extract::State(state): axum::extract::State<AppState>,
    c: ScimClient,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<axum::response::Response, ScimError> {
    let p = list::search_params(&wire::parse_body(&headers, &body)?)?;
    let mut docs = users::all(&state, &c).await?;
    docs.extend(groups::all(&state, &c).await?);
    Ok(wire::scim_response(
        axum::http::StatusCode::OK,
        &list::list_response(docs, &p)?,
    ))
}
