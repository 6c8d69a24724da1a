//! `/scim/v2`: ulo as a SCIM 2.0 service provider (RFC 7643/7644) for HR systems and IdPs.

mod discovery;
mod groups;
mod list;
mod patch;
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
        .route("/scim/v2/{*rest}", any(wire::not_found))
}
