//! The signed-in person's account page: `GET /account` lists their recent sign-ins (time,
//! address, client), each with a *This wasn't me* button; `POST /account/sign-ins/report`
//! records that report as a `USER_REPORTED_SUSPICIOUS_ACTIVITY` detection (HIGH) and confirms.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use time::OffsetDateTime;
use ulo_core::account::{RECENT_SIGN_INS, SignIn, recent_sign_ins, report_sign_in};
use ulo_core::csrf::Refusal;
use ulo_core::error::DomainError;
use ulo_core::ids::EventId;
use ulo_core::signin::{anonymous_context, user_context};
use ulo_core::user::User;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::page::{ClientInfo, escape, form_field, para, query_value, render, see_other};
use crate::openapi::schema;
use crate::session_cookie::{self, FormRefusal};
use crate::state::AppState;

const PATH: &str = "/account";
const REPORT_PATH: &str = "/account/sign-ins/report";
const TITLE: &str = "Your account";

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(show))
        .routes(routes!(report))
}

/// The page's own look, on top of the shared layout.
const STYLE: &str = "<style>main{max-width:40rem}.who{color:#57606a;margin-top:-.5rem}\
h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.4rem}\
ul.sign-ins{list-style:none;padding:0;margin:0}\
ul.sign-ins li{display:flex;align-items:center;justify-content:space-between;gap:1rem;padding:.8rem 0;border-bottom:1px solid #eaeef2}\
.client{font-weight:600}.meta{color:#57606a;font-size:.9rem;margin-top:.15rem}\
ul.sign-ins button{margin:0;padding:.4rem .8rem;border:1px solid #cf222e;color:#cf222e;background:#fff;border-radius:6px;cursor:pointer;white-space:nowrap}\
ul.sign-ins button:hover{background:#cf222e;color:#fff}\
.confirm{border:1px solid #1a7f37;background:#dafbe1;border-radius:6px;padding:1rem}\
.links{margin-top:2rem;font-size:.9rem}</style>";

fn to_login() -> Response {
    see_other(&format!("/login?return_to={}", query_value(PATH)))
}

fn failed(detail: impl std::fmt::Display) -> Response {
    tracing::error!(detail = %detail, "account page failed");
    render(
        StatusCode::INTERNAL_SERVER_ERROR,
        TITLE,
        &para("error", "Something went wrong on our side. Try again."),
    )
}

/// `2026-12-06 01:10 UTC`.
fn when(at: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    at.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}

fn sign_in_item(s: &SignIn, csrf: &str) -> String {
    format!(
        "<li><div><div class=\"client\">{client}</div>\
<div class=\"meta\"><time datetime=\"{iso}\">{at}</time> · {address}</div></div>\
<form method=\"post\" action=\"{REPORT_PATH}\">{csrf}\
<input type=\"hidden\" name=\"signIn\" value=\"{id}\">\
<button type=\"submit\">This wasn't me</button></form></li>",
        client = escape(&s.client),
        iso = escape(
            &s.at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        ),
        at = escape(&when(s.at)),
        address = escape(s.address.as_deref().unwrap_or("unknown address")),
        id = escape(&s.event_id.to_string()),
        csrf = crate::csrf::hidden_field(csrf),
    )
}

fn who(user: &User) -> String {
    let name = format!("{} {}", user.profile.first_name, user.profile.last_name);
    format!(
        "<p class=\"who\">Signed in as {} ({})</p>",
        escape(name.trim()),
        escape(&user.profile.login)
    )
}

/// The form's token, bound to the session cookie the request carries.
fn form_token(headers: &HeaderMap) -> String {
    let binding = session_cookie::secret(headers).unwrap_or_default();
    crate::csrf::token(&binding, crate::csrf::SIGN_IN_REPORT_FORM)
}

#[utoipa::path(
    get,
    path = "/account",
    operation_id = "accountPage",
    tag = "Sign-in",
    summary = "The signed-in person's account page and recent sign-ins",
    description = "With the session cookie: the person's last 20 successful sign-ins, newest first (time, address, client family, from the System Log's user.session.start events), each with a This wasn't me button (a form POST to /account/sign-ins/report). Without: 303 to /login?return_to=/account.",
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        (status = 303, description = "Not signed in: to the sign-in page."),
    ),
)]
async fn show(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let user = match session_cookie::current(&state, &headers).await {
        Ok(Some((_, user))) => user,
        Ok(None) => return to_login(),
        Err(e) => return failed(e),
    };
    let sign_ins = {
        let mut tx = match state.store.read().await {
            Ok(tx) => tx,
            Err(e) => return failed(e),
        };
        match recent_sign_ins(tx.as_mut(), &user, RECENT_SIGN_INS).await {
            Ok(s) => s,
            Err(e) => return failed(e),
        }
    };
    let csrf = form_token(&headers);
    let items: String = sign_ins.iter().map(|s| sign_in_item(s, &csrf)).collect();
    let list = if items.is_empty() {
        para("note", "No sign-ins yet.")
    } else {
        format!("<ul class=\"sign-ins\">{items}</ul>")
    };
    let body = format!(
        "{STYLE}{who}<h2>Recent sign-ins</h2>\
<p class=\"note\">If you do not recognise a sign-in, tell us: your security team is alerted and your sessions may be ended.</p>\
{list}<p class=\"links\"><a href=\"/account/totp\">Authenticator app</a></p>",
        who = who(&user),
    );
    render(StatusCode::OK, TITLE, &body)
}

fn refused(status: StatusCode, message: &str) -> Response {
    render(
        status,
        TITLE,
        &format!(
            "{STYLE}{}<p class=\"links\"><a href=\"{PATH}\">Back to your account</a></p>",
            para("error", message)
        ),
    )
}

#[utoipa::path(
    post,
    path = "/account/sign-ins/report",
    operation_id = "accountReportSignIn",
    tag = "Sign-in",
    summary = "Report a sign-in as not the person's own (This wasn't me)",
    description = "Needs the session cookie and the csrf token of the account page's form (bound to the session cookie); a form whose Sec-Fetch-Site or Origin names another origin is refused (403, nothing recorded); a client that sends neither header (an HTTP library) is judged by the token alone. Records a USER_REPORTED_SUSPICIOUS_ACTIVITY detection (HIGH) through the Entity Risk Policy, which may end the person's sessions, and logs user.account.report_suspicious_activity_by_enduser.",
    request_body(content = schema::SignInReportForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Recorded: the confirmation page.", body = String, content_type = "text/html"),
        (status = 303, description = "Not signed in: to the sign-in page."),
        (status = 400, description = "signIn is missing or not an id.", body = String, content_type = "text/html"),
        (status = 403, description = "Sent from another site, or without the form's csrf token; nothing recorded.", body = String, content_type = "text/html"),
        (status = 404, description = "Not one of the person's sign-ins.", body = String, content_type = "text/html"),
    ),
)]
async fn report(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let user = match session_cookie::form_user(
        &state,
        &headers,
        &body,
        crate::csrf::SIGN_IN_REPORT_FORM,
    )
    .await
    {
        Ok(user) => user,
        Err(FormRefusal::SignedOut) => return to_login(),
        Err(FormRefusal::Failed(e)) => return failed(e),
        Err(FormRefusal::Forged(Refusal::CrossSite)) => {
            return refused(
                StatusCode::FORBIDDEN,
                "This form was sent from another site, so nothing was recorded.",
            );
        }
        Err(FormRefusal::Forged(Refusal::BadToken)) => {
            return refused(
                StatusCode::FORBIDDEN,
                "This form expired or was opened in another browser or session; nothing was recorded.",
            );
        }
    };
    let Some(event) = form_field(&body, "signIn").and_then(|v| v.parse::<EventId>().ok()) else {
        return refused(
            StatusCode::BAD_REQUEST,
            "signIn: choose a sign-in from the list.",
        );
    };
    let ctx = user_context(
        &anonymous_context(client.ip.map(|i| i.to_string()), client.user_agent),
        &user,
    );
    match report_sign_in(
        state.store.as_ref(),
        state.clock.as_ref(),
        &ctx,
        &user,
        event,
        &state.config.risk_settings(),
    )
    .await
    {
        Ok((sign_in, _)) => {
            let body = format!(
                "{STYLE}{who}<div class=\"confirm\" role=\"status\"><strong>Thank you — we have recorded it.</strong>\
<p>You reported the sign-in with {client} from {address} at {at}. Your security team has been alerted, and your sessions may be ended: if so, sign in again and change your password.</p></div>\
<p class=\"links\"><a href=\"{PATH}\">Back to your account</a></p>",
                who = who(&user),
                client = escape(&sign_in.client),
                address = escape(sign_in.address.as_deref().unwrap_or("an unknown address")),
                at = escape(&when(sign_in.at)),
            );
            render(StatusCode::OK, "Sign-in reported", &body)
        }
        Err(DomainError::NotFound { .. }) => {
            refused(StatusCode::NOT_FOUND, "That is not one of your sign-ins.")
        }
        Err(e) => failed(e),
    }
}
