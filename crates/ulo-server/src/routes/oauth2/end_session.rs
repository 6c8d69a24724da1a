//! `GET|POST /oauth2/v1/logout`: end session (OpenID Connect RP-Initiated Logout; see `ulo_core::oidc::end_session`).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ulo_core::oidc::{EndSessionOutcome, EndSessionRequest, Params};

use super::{BrowserParams, RequestClient, keys, page, provider, store_unavailable};
use crate::openapi::schema;
use crate::session_cookie;
use crate::state::AppState;

/// The form field ulo's own confirmation page adds.
const CONFIRM: &str = "ulo_confirm";

/// Both methods: the parameters come from the query of a GET or the form of a POST.
#[utoipa::path(
    get,
    path = "/oauth2/v1/logout",
    operation_id = "oauth2Logout",
    tag = "OpenID Connect",
    summary = "RP-initiated logout",
    params(
        ("id_token_hint" = Option<String>, Query, description = "An ID token ulo issued (expired allowed): its session ends at once."),
        ("client_id" = Option<String>, Query, description = "The client, when no id_token_hint is sent."),
        ("post_logout_redirect_uri" = Option<String>, Query, description = "Where to go after: only a URI registered for the client is followed."),
        ("state" = Option<String>, Query, description = "Echoed to post_logout_redirect_uri."),
    ),
    responses(
        (status = 200, description = "An HTML page: signed out (no registered post_logout_redirect_uri to go to), or, without id_token_hint while signed in, a confirmation form that POSTs back.", body = String, content_type = "text/html"),
        (status = 302, description = "Signed out; to the registered post_logout_redirect_uri with state. The ended session is logged as user.session.end and the cookie cleared.", headers(("Location" = String, description = "The registered URI."))),
        (status = 400, description = "An HTML error page: a repeated parameter, an id_token_hint ulo did not issue, or a client_id that is not its audience.", body = String, content_type = "text/html"),
        (status = 503, description = "An HTML page: the store cannot be reached.", body = String, content_type = "text/html"),
    ),
)]
pub(super) async fn end_session(
    State(state): State<AppState>,
    RequestClient(client): RequestClient,
    method: Method,
    headers: HeaderMap,
    BrowserParams(params): BrowserParams,
) -> Response {
    // The confirmation counts only as a POST of ulo's own page: the browser's word on where it
    // came from and the form's token, bound to the session cookie. A link (a GET, which carries
    // the SameSite=Lax cookie) or another site's form only gets the question again: signing
    // someone out also signs them out of every app their session reached.
    let binding = session_cookie::secret(&headers);
    let confirmed = method == Method::POST
        && params.get(CONFIRM) == Some("yes")
        && crate::csrf::check_field(
            &state,
            &headers,
            params.get(crate::csrf::FIELD),
            binding.as_deref(),
            crate::csrf::LOGOUT_FORM,
        )
        .is_ok();
    let params = Params::from_pairs(
        params
            .pairs()
            .iter()
            .filter(|(k, _)| k != CONFIRM && k != crate::csrf::FIELD)
            .cloned()
            .collect(),
    );
    let signed_in = match session_cookie::current(&state, &headers).await {
        Ok(s) => s,
        Err(e) => return store_unavailable("logout", e),
    };
    let keys = keys(&state);
    let outcome = provider(&state, &keys)
        .end_session(EndSessionRequest {
            params: &params,
            signed_in: signed_in.as_ref().map(|(s, u)| (s, u)),
            confirmed,
            client,
        })
        .await;
    match outcome {
        Err(e) => store_unavailable("logout", e),
        Ok(EndSessionOutcome::Refuse { description }) => {
            page::error(StatusCode::BAD_REQUEST, "invalid_request", &description)
        }
        Ok(EndSessionOutcome::Confirm { params, app_label }) => {
            let token = crate::csrf::token(
                binding.as_deref().unwrap_or_default(),
                crate::csrf::LOGOUT_FORM,
            );
            confirm_page(&params, app_label.as_deref(), &token)
        }
        Ok(EndSessionOutcome::Done {
            ended,
            redirect,
            app_label,
            notice,
        }) => {
            let cookie_ended = signed_in
                .as_ref()
                .is_some_and(|(s, _)| ended.contains(&s.id));
            let mut resp = match redirect.and_then(|r| HeaderValue::from_str(&r).ok()) {
                Some(location) => {
                    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
                }
                None => signed_out_page(app_label.as_deref(), notice.as_deref()),
            };
            let h = resp.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if cookie_ended {
                h.append(header::SET_COOKIE, session_cookie::clear(&state));
            }
            resp
        }
    }
}

fn confirm_page(params: &[(String, String)], app_label: Option<&str>, csrf: &str) -> Response {
    let hidden: String = params
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                page::escape(k),
                page::escape(v)
            )
        })
        .collect();
    let csrf = crate::csrf::hidden_field(csrf);
    let who = app_label
        .map(|l| format!(" {} asks to sign you out.", page::escape(l)))
        .unwrap_or_default();
    page::render(
        StatusCode::OK,
        "Sign out of ulo?",
        &format!(
            "<p>You are signed in to ulo.{who}</p>\
             <form method=\"post\" action=\"/oauth2/v1/logout\">{hidden}{csrf}\
             <input type=\"hidden\" name=\"{CONFIRM}\" value=\"yes\">\
             <button type=\"submit\">Sign out</button></form>"
        ),
    )
}

fn signed_out_page(app_label: Option<&str>, notice: Option<&str>) -> Response {
    let from = app_label
        .map(|l| format!("<p>You came here from {}.</p>", page::escape(l)))
        .unwrap_or_default();
    let notice = notice
        .map(|n| format!("<p class=\"muted\">{}</p>", page::escape(n)))
        .unwrap_or_default();
    page::render(
        StatusCode::OK,
        "You are signed out",
        &format!("<p>You are signed out of ulo. You can close this window.</p>{from}{notice}"),
    )
}

/// The same endpoint for a POST (its own operation in the OpenAPI document).
#[utoipa::path(
    post,
    path = "/oauth2/v1/logout",
    operation_id = "oauth2LogoutPost",
    tag = "OpenID Connect",
    summary = "RP-initiated logout, parameters as a form",
    request_body(content = schema::LogoutRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "An HTML page: signed out (no registered post_logout_redirect_uri to go to), or, without id_token_hint while signed in, a confirmation form that POSTs back.", body = String, content_type = "text/html"),
        (status = 302, description = "Signed out; to the registered post_logout_redirect_uri with state. The ended session is logged as user.session.end and the cookie cleared.", headers(("Location" = String, description = "The registered URI."))),
        (status = 400, description = "An HTML error page: a repeated parameter, an id_token_hint ulo did not issue, or a client_id that is not its audience.", body = String, content_type = "text/html"),
        (status = 503, description = "An HTML page: the store cannot be reached.", body = String, content_type = "text/html"),
    ),
)]
pub(super) async fn end_session_post(
    state: State<AppState>,
    client: RequestClient,
    method: Method,
    headers: HeaderMap,
    params: BrowserParams,
) -> Response {
    end_session(state, client, method, headers, params).await
}
