//! `GET|POST /oauth2/v1/authorize`: the authorization endpoint (code flow).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ulo_core::oidc::{AuthorizeOutcome, Params};

use super::{BrowserParams, RequestClient, keys, page, provider, store_unavailable};
use crate::session_cookie;
use crate::state::AppState;

/// The path sign-in sends the browser back to.
const PATH: &str = "/oauth2/v1/authorize";

/// Both methods: the parameters come from the query of a GET or the form of a POST.
pub(super) async fn authorize(
    State(state): State<AppState>,
    RequestClient(client): RequestClient,
    headers: HeaderMap,
    BrowserParams(params): BrowserParams,
) -> Response {
    let signed_in = match session_cookie::current(&state, &headers).await {
        Ok(s) => s,
        Err(e) => return store_unavailable("authorize", e),
    };
    let keys = keys(&state);
    let outcome = provider(&state, &keys)
        .authorize(&params, signed_in.as_ref().map(|(s, u)| (s, u)), client)
        .await;
    match outcome {
        Err(e) => store_unavailable("authorize", e),
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
        Ok(AuthorizeOutcome::Ask(question)) => page::question(&question, PATH),
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
