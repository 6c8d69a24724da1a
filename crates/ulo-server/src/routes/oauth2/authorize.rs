//! `GET|POST /oauth2/v1/authorize`: the authorization endpoint (code flow).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ulo_core::oidc::{AuthorizeOutcome, Params};

use super::{BrowserParams, RequestClient, keys, page, provider, store_unavailable};
use crate::openapi::schema;
use crate::session_cookie;
use crate::state::AppState;

/// The path sign-in sends the browser back to.
const PATH: &str = "/oauth2/v1/authorize";

/// Both methods: the parameters come from the query of a GET or the form of a POST.
#[utoipa::path(
    get,
    path = "/oauth2/v1/authorize",
    operation_id = "oauth2Authorize",
    tag = "OpenID Connect",
    summary = "Authorization endpoint (code flow with PKCE)",
    params(
        ("client_id" = Option<String>, Query, description = "The client (required)."),
        ("redirect_uri" = Option<String>, Query, description = "Exactly one of the client's registered redirect URIs (required)."),
        ("response_type" = Option<String>, Query, description = "code (the only type)."),
        ("scope" = Option<String>, Query, description = "Space-separated: openid, profile, email, offline_access (a refresh token)."),
        ("state" = Option<String>, Query, description = "Echoed back."),
        ("nonce" = Option<String>, Query, description = "Copied into the ID token."),
        ("code_challenge" = Option<String>, Query, description = "PKCE S256 challenge; required for public clients."),
        ("code_challenge_method" = Option<String>, Query, description = "S256."),
        ("prompt" = Option<String>, Query, description = "Space-separated: none (never show a page: login_required when a sign-in is needed; cannot be combined), login (sign in again), select_account (choose the account: the signed-in one or another), consent (confirm what the app asks for)."),
        ("max_age" = Option<String>, Query, description = "Seconds since the last sign-in beyond which the person signs in again, compared to the millisecond; 0 always asks for a new sign-in."),
        ("response_mode" = Option<String>, Query, description = "query (the only mode)."),
    ),
    responses(
        (status = 200, description = "An HTML question for the signed-in person. prompt=select_account: the account chooser — Continue as <login> (posts this request back without select_account) or Use another account (/login, then back here). prompt=consent (asked after the assignment check): what the app asks for, by scope — Allow (posts this request back without consent) or Deny (the redirect_uri with error=access_denied, state and iss).", body = String, content_type = "text/html"),
        (status = 302, description = "Redirect: to the client's registered redirect_uri with code, state and iss (or error, error_description, state, iss); or, without a fresh enough sign-in, to /login?return_to=<this request> (prompt=login and max_age add a ulo_reauth marker so one sign-in satisfies them; max_age is compared to the millisecond and max_age=0 always asks for a new sign-in, like prompt=login; prompt=select_account without a sign-in is answered by the sign-in page itself). prompt=none without a sign-in answers error=login_required at the redirect_uri. An app not assigned to the user answers error=access_denied (logged as app.oauth2.authorize FAILURE).", headers(("Location" = String, description = "Where to go next."))),
        (status = 400, description = "An HTML error page: the client_id is unknown, the app is deactivated, or the redirect_uri is missing or not registered; ulo never redirects to an unregistered URI.", body = String, content_type = "text/html"),
        (status = 503, description = "An HTML page: the store cannot be reached.", body = String, content_type = "text/html"),
    ),
)]
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

/// The same endpoint for a POST (its own operation in the OpenAPI document).
#[utoipa::path(
    post,
    path = "/oauth2/v1/authorize",
    operation_id = "oauth2AuthorizePost",
    tag = "OpenID Connect",
    summary = "Authorization endpoint, parameters as a form",
    request_body(content = schema::AuthorizeRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "An HTML question for the signed-in person. prompt=select_account: the account chooser — Continue as <login> (posts this request back without select_account) or Use another account (/login, then back here). prompt=consent (asked after the assignment check): what the app asks for, by scope — Allow (posts this request back without consent) or Deny (the redirect_uri with error=access_denied, state and iss).", body = String, content_type = "text/html"),
        (status = 302, description = "Redirect: to the client's registered redirect_uri with code, state and iss (or error, error_description, state, iss); or, without a fresh enough sign-in, to /login?return_to=<this request> (prompt=login and max_age add a ulo_reauth marker so one sign-in satisfies them; max_age is compared to the millisecond and max_age=0 always asks for a new sign-in, like prompt=login; prompt=select_account without a sign-in is answered by the sign-in page itself). prompt=none without a sign-in answers error=login_required at the redirect_uri. An app not assigned to the user answers error=access_denied (logged as app.oauth2.authorize FAILURE).", headers(("Location" = String, description = "Where to go next."))),
        (status = 400, description = "An HTML error page: the client_id is unknown, the app is deactivated, or the redirect_uri is missing or not registered; ulo never redirects to an unregistered URI.", body = String, content_type = "text/html"),
        (status = 503, description = "An HTML page: the store cannot be reached.", body = String, content_type = "text/html"),
    ),
)]
pub(super) async fn authorize_post(
    state: State<AppState>,
    client: RequestClient,
    headers: HeaderMap,
    params: BrowserParams,
) -> Response {
    authorize(state, client, headers, params).await
}
