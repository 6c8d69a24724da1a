//! `/scim/v2`: ulo as a SCIM 2.0 service provider (RFC 7643/7644) for HR systems and IdPs.

mod discovery;
mod groups;
mod list;
mod users;
mod wire;

use axum::Router;
use axum::routing::{any, get, post};

use crate::state::AppState;

pub use wire::{ScimClient, ScimError};

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/scim/v2/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .route("/scim/v2/ResourceTypes", get(discovery::resource_types))
        .route("/scim/v2/ResourceTypes/{id}", get(discovery::resource_type))
        .route("/scim/v2/Schemas", get(discovery::schemas))
        .route("/scim/v2/Schemas/{id}", get(discovery::schema))
        .route("/scim/v2/Users", get(users::list).post(users::create))
        .route("/scim/v2/Users/.search", post(users::search))
        .route(
            "/scim/v2/Users/{id}",
            get(users::get_one)
                .put(users::replace)
                .patch(users::modify)
                .delete(users::remove),
        )
        .route("/scim/v2/Groups", get(groups::list).post(groups::create))
        .route("/scim/v2/Groups/.search", post(groups::search))
        .route(
            "/scim/v2/Groups/{id}",
            get(groups::get_one)
                .put(groups::replace)
                .patch(groups::modify)
                .delete(groups::remove),
        )
        .route("/scim/v2/.search", post(search))
        .route("/scim/v2/{*rest}", any(wire::not_found))
}

/// `POST /.search` (RFC 7644 §3.4.3): a search over every resource type, users then groups.
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
