//! The axum handlers and router.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::{LogoutHook, MAX_BODY_BYTES, Receiver, ReceiverConfig, ReceiverError};

/// The path part of an absolute URL (`/` when it has none).
fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    match rest.find('/') {
        Some(i) => rest[i..].to_owned(),
        None => "/".to_owned(),
    }
}

/// axum handler for a [`Receiver`] in state.
pub async fn handler(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match receiver.handle(&headers, &body).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// axum handler for OIDC Back-Channel Logout with a [`Receiver`] in state: 200 with
/// `Cache-Control: no-store` on success, 503 when the JWKS or replay store is unavailable,
/// else 400 `invalid_request`.
pub async fn backchannel_handler(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let no_store = [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))];
    match receiver.handle_backchannel(&headers, &body).await {
        Ok(()) => (StatusCode::OK, no_store).into_response(),
        Err(e @ ReceiverError::Unavailable(_)) => (no_store, e).into_response(),
        Err(e) => {
            let body = serde_json::json!({
                "error": "invalid_request",
                "error_description": e.description(),
            });
            (StatusCode::BAD_REQUEST, no_store, axum::Json(body)).into_response()
        }
    }
}

/// A router serving `POST` at the path of `config.audience` and, when
/// `config.backchannel_path` is set, OIDC Back-Channel Logout there, answering as
/// documented above.
pub fn router(config: ReceiverConfig, hook: impl LogoutHook + 'static) -> Router {
    receiver_router(Receiver::new(config, hook))
}

/// Like [`router`] for an already built [`Receiver`] (e.g. one with its own [`ReplayStore`]).
pub fn receiver_router(receiver: Receiver) -> Router {
    let config = receiver.config();
    let path = url_path(&config.audience);
    let backchannel = config.backchannel_path.clone();
    let mut router = Router::new().route(&path, post(handler));
    if let Some(bcl) = backchannel {
        router = router.route(&bcl, post(backchannel_handler));
    }
    router
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(receiver)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(url_path("https://a.example/x/y?q=1"), "/x/y");
        assert_eq!(url_path("https://a.example"), "/");
        assert_eq!(url_path("http://127.0.0.1:8080/logout"), "/logout");
    }
}
