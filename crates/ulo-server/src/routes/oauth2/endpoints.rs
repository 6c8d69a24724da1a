//! The client-authenticated form endpoints: `POST /oauth2/v1/token`, `/introspect`, `/revoke`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ulo_core::oidc::TokenRequest;

use super::{ClientForm, RequestClient, json_no_store, keys, no_store, oauth_error, provider};
use crate::state::AppState;

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

pub(super) async fn token(
    State(state): State<AppState>,
    RequestClient(client): RequestClient,
    headers: HeaderMap,
    ClientForm(form): ClientForm,
) -> Response {
    let keys = keys(&state);
    let req = TokenRequest {
        authorization: authorization(&headers),
        form: &form,
        client,
    };
    match provider(&state, &keys).token(req).await {
        Ok(resp) => json_no_store(
            StatusCode::OK,
            serde_json::to_value(resp).unwrap_or_default(),
        ),
        Err(e) => oauth_error(e),
    }
}

pub(super) async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientForm(form): ClientForm,
) -> Response {
    let keys = keys(&state);
    match provider(&state, &keys)
        .introspect(authorization(&headers), &form)
        .await
    {
        Ok(v) => json_no_store(StatusCode::OK, v),
        Err(e) => oauth_error(e),
    }
}

pub(super) async fn revoke(
    State(state): State<AppState>,
    RequestClient(client): RequestClient,
    headers: HeaderMap,
    ClientForm(form): ClientForm,
) -> Response {
    let keys = keys(&state);
    match provider(&state, &keys)
        .revoke(authorization(&headers), &form, client)
        .await
    {
        Ok(()) => {
            let mut resp = StatusCode::OK.into_response();
            no_store(&mut resp);
            resp
        }
        Err(e) => oauth_error(e),
    }
}
