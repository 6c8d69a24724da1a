//! CORS for the endpoints a browser-based OIDC client calls itself: token, userinfo, JWKS,
//! introspection, revocation and both metadata documents. Only origins of redirect URIs
//! registered for active apps are allowed (`ulo_core::oidc::cors`); every other origin gets
//! no `Access-Control-Allow-Origin`, so its browser withholds the answer. Browser-facing
//! pages (authorize, sign-in, logout) and the admin API never get CORS headers.

use std::time::Duration;

use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::state::AppState;

/// How long a browser may reuse a preflight answer. Short, so a deactivated app's origin
/// stops working within minutes even in a browser that already asked.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The layer, checking each request's `Origin` against the store.
pub fn layer(state: AppState) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::async_predicate(
            move |origin: HeaderValue, _: &Parts| {
                let state = state.clone();
                async move { registered(&state, &origin).await }
            },
        ))
        // No Access-Control-Allow-Credentials: these endpoints authenticate with the
        // Authorization header or the form, never with ulo's cookie.
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        // userinfo's and the token endpoint's error challenges are for the client to read.
        .expose_headers([header::WWW_AUTHENTICATE])
        .max_age(PREFLIGHT_MAX_AGE)
}

async fn registered(state: &AppState, origin: &HeaderValue) -> bool {
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    match ulo_core::oidc::cors::is_registered_origin(state.store.as_ref(), origin).await {
        Ok(allowed) => allowed,
        Err(e) => {
            // Failing closed: the browser sees a CORS failure, the operator this line.
            tracing::warn!(error = %e, "CORS: could not look up registered origins");
            false
        }
    }
}
