//! `GET|POST /oauth2/v1/authorize`: the authorization endpoint (code flow).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ulo_core::oidc::{AuthorizeOutcome, Params};

use super::{RequestClient, form_params, keys, page, provider};
use crate::session_cookie;
use crate::state::AppState;

/// The path sign-in sends the browser back to.
const PATH: &str = "/oauth2/v1/authorize";

pub(super) async fn get(
    State(state): State<AppState>,
    RequestClient(client): RequestClient,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    handle(&state, client, &headers, params).await
}

pub(super) async fn post(
    State(state): State<AppState>,
    RequestClient(client): RequestClient,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match form_params(&headers, &body) {
        Ok(params) => handle(&state, client, &headers, params).await,
        Err(e) => page::error(StatusCode::BAD_REQUEST, e.code().as_str(), &e.description()),
    }
}

async fn handle(
    state: &AppState,
    client: ulo_core::log::Client,
    headers: &HeaderMap,
    params: Params,
) -> Response {
    let signed_in = match session_cookie::current(state, headers).await {
        Ok(s) => s,
        Err(e) => return unavailable(e),
    };
    let keys = keys(state);
    let outcome = provider(state, &keys)
        .authorize(&params, signed_in.as_ref().map(|(s, u)| (s, u)), client)
        .await;
    match outcome {
        Err(e) => unavailable(e),
        Ok(AuthorizeOutcome::Refuse { error, description }) => {
            page::error(StatusCode::BAD_REQUEST, error.as_str(), &description)
        }
        Ok(AuthorizeOutcome::SignIn { params }) => {
            // A relative URL: sign-in only ever sends the browser back into ulo.
            let back = format!("{PATH}?{}", Params::encode(&params));
            let login = format!(
                "/login?{}",
                Params::encode(&[("return_to".to_string(), back)])
            );
            redirect(&login)
        }
        Ok(AuthorizeOutcome::Redirect { location }) => redirect(&location),
    }
}

fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, v),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        Err(_) => page::error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the request cannot be answered with a redirect",
        ),
    }
}

fn unavailable(e: ulo_core::store::StoreError) -> Response {
    tracing::error!(error = %e, "authorize: store failure");
    page::error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "ulo cannot reach its store right now; try again shortly.",
    )
}
