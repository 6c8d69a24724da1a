//! The HTTP surface: one module per resource; handlers stay thin.

pub mod account;
pub mod account_sign_ins;
pub mod agent;
pub mod apps;
pub mod body;
pub mod devices;
pub mod factors;
pub mod features;
pub mod groups;
pub mod idps;
pub mod login;
pub mod logouts;
pub mod logs;
pub mod meta;
pub mod metadata;
pub mod oauth2;
pub mod openapi;
pub mod page;
pub mod paging;
pub mod policies;
pub mod risk;
pub mod scim;
pub mod scim_credentials;
pub mod security_events;
pub mod sessions;
pub mod ssf;
pub mod tokens;
pub mod users;
pub mod workflows;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Every documented route (all but SCIM's, which RFC 7644 describes at
/// `/scim/v2/ServiceProviderConfig`, `/Schemas` and `/ResourceTypes`), each with its OpenAPI
/// operation.
pub struct Documented {
    /// Discovery, JWKS and the OAuth client endpoints: browser-based clients call them across
    /// origins, so `crate::cors` wraps them.
    pub cors: OpenApiRouter<AppState>,
    /// The rest.
    pub plain: OpenApiRouter<AppState>,
}

/// The documented routes; [`crate::router`] serves them and [`crate::openapi`] describes them.
pub fn documented() -> Documented {
    Documented {
        cors: OpenApiRouter::new()
            .merge(metadata::router())
            .merge(oauth2::client_router()),
        plain: OpenApiRouter::new()
            .merge(meta::router())
            .merge(users::router())
            .merge(groups::router())
            .merge(apps::router())
            .merge(tokens::router())
            .merge(logs::router())
            .merge(openapi::router())
            .merge(login::router())
            .merge(account::router())
            .merge(account_sign_ins::router())
            .merge(sessions::router())
            .merge(logouts::router())
            .merge(ssf::router())
            .merge(idps::router())
            .merge(factors::router())
            .merge(oauth2::router())
            .merge(scim_credentials::router())
            .merge(security_events::router())
            .merge(features::router())
            .merge(devices::router())
            .merge(workflows::router())
            .merge(risk::router())
            .merge(policies::router())
            .merge(agent::router())
            .merge(scim::router()),
    }
}
