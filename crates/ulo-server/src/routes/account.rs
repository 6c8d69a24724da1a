//! The signed-in user's own account pages: `GET/POST /account/totp` to set up an authenticator
//! app (the secret is shown while the factor is pending; a code activates it).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use ulo_core::csrf::Refusal;
use ulo_core::error::DomainError;
use ulo_core::signin::{TotpStatus, anonymous_context, user_context};
use ulo_core::user::User;

use super::page::{ClientInfo, escape, form_field, para, query_value, render, see_other};
use crate::session_cookie::{self, FormRefusal};
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::schema;

const PATH: &str = "/account/totp";

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show, verify))
}

fn to_login() -> Response {
    see_other(&format!("/login?return_to={}", query_value(PATH)))
}

fn failed(detail: impl std::fmt::Display) -> Response {
    tracing::error!(detail = %detail, "account page failed");
    render(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Authenticator app",
        &para("error", "Something went wrong on our side. Try again."),
    )
}

fn domain_failure(e: DomainError) -> Response {
    match e {
        DomainError::InvalidState(m) => render(
            StatusCode::CONFLICT,
            "Authenticator app",
            &para("error", &m),
        ),
        DomainError::Forbidden(m) => render(
            StatusCode::FORBIDDEN,
            "Authenticator app",
            &para("error", &m),
        ),
        other => failed(other),
    }
}

/// The page with the pending secret and the form for a code.
async fn enrollment_page(
    state: &AppState,
    client: ClientInfo,
    user: &User,
    csrf: &str,
    status: StatusCode,
    message: Option<&str>,
) -> Response {
    let ctx = user_context(
        &anonymous_context(client.ip.map(|i| i.to_string()), client.user_agent),
        user,
    );
    let sign_in = crate::credentials::sign_in(state);
    let key = user.id.to_string();
    match sign_in.totp_factor(&ctx, &key).await {
        Ok(f) if f.status == TotpStatus::Active => {
            return render(
                StatusCode::OK,
                "Authenticator app",
                &para(
                    "note",
                    "An authenticator app is set up: sign-in asks for its code.",
                ),
            );
        }
        Ok(_) => {}
        Err(e) => return domain_failure(e),
    }
    let secret = match sign_in.enroll_totp(&ctx, &key, true).await {
        Ok((_, secret)) => secret,
        Err(e) => return domain_failure(e),
    };
    let (base32, uri) = match crate::credentials::enrollment(state, &secret, &user.profile.login) {
        Ok(v) => v,
        Err(e) => return failed(e),
    };
    let msg = message.map(|m| para("error", m)).unwrap_or_default();
    let body = format!(
        "{msg}{note}<p>Secret: <code id=\"secret\">{base32}</code></p>\
<p>Link: <a id=\"otpauth\" href=\"{uri}\"><code>{uri}</code></a></p>\
<form method=\"post\" action=\"{PATH}\">{csrf}\
<label for=\"passCode\">Code</label>\
<input type=\"text\" id=\"passCode\" name=\"passCode\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required>\
<button type=\"submit\">Activate</button></form>",
        note = para(
            "note",
            "Add this secret to your authenticator app, then enter the code it shows.",
        ),
        base32 = escape(&base32),
        uri = escape(&uri),
        csrf = crate::csrf::hidden_field(csrf),
    );
    render(status, "Authenticator app", &body)
}

/// The form's token, bound to the session cookie the request carries.
fn form_token(headers: &HeaderMap) -> String {
    let binding = session_cookie::secret(headers).unwrap_or_default();
    crate::csrf::token(&binding, crate::csrf::TOTP_FORM)
}

#[utoipa::path(
    get,
    path = "/account/totp",
    operation_id = "accountTotpPage",
    tag = "Sign-in",
    summary = "Set up an authenticator app (signed-in user)",
    description = "With the session cookie: shows the pending secret and otpauth URI (issuing one if none) or says the factor is active. Without: 303 to /login?return_to=/account/totp.",
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        (status = 303, description = "Not signed in: to the sign-in page."),
        (status = 409, description = "The factor cannot be enrolled now.", body = String, content_type = "text/html"),
    ),
)]
async fn show(State(state): State<AppState>, client: ClientInfo, headers: HeaderMap) -> Response {
    match session_cookie::current(&state, &headers).await {
        Ok(Some((_, user))) => {
            let csrf = form_token(&headers);
            enrollment_page(&state, client, &user, &csrf, StatusCode::OK, None).await
        }
        Ok(None) => to_login(),
        Err(e) => failed(e),
    }
}

#[utoipa::path(
    post,
    path = "/account/totp",
    operation_id = "accountTotpActivate",
    tag = "Sign-in",
    summary = "Activate the authenticator app with a code",
    description = "Needs the session cookie and the csrf token of the page's form (bound to the session cookie); a form whose Sec-Fetch-Site or Origin names another origin is refused (403, nothing changed). A wrong code answers the page again with 400.",
    request_body(content = schema::TotpForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Activated.", body = String, content_type = "text/html"),
        (status = 303, description = "Not signed in: to the sign-in page."),
        (status = 400, description = "Wrong code.", body = String, content_type = "text/html"),
        (status = 403, description = "Sent from another site, or without the form's csrf token; nothing changed.", body = String, content_type = "text/html"),
        (status = 409, description = "Nothing pending or already active.", body = String, content_type = "text/html"),
    ),
)]
async fn verify(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // A change made with the cookie must come from ulo's own page.
    let user = match session_cookie::form_user(&state, &headers, &body, crate::csrf::TOTP_FORM)
        .await
    {
        Ok(user) => user,
        Err(FormRefusal::SignedOut) => return to_login(),
        Err(FormRefusal::Failed(e)) => return failed(e),
        Err(FormRefusal::Forged(Refusal::CrossSite)) => {
            return render(
                StatusCode::FORBIDDEN,
                "Authenticator app",
                &format!(
                    "{}<p><a href=\"{PATH}\">Open the authenticator app page</a></p>",
                    para(
                        "error",
                        "This form was sent from another site, so it was not used."
                    )
                ),
            );
        }
        Err(FormRefusal::Forged(Refusal::BadToken)) => {
            return render(
                StatusCode::FORBIDDEN,
                "Authenticator app",
                &format!(
                    "{}<p><a href=\"{PATH}\">Open the authenticator app page again</a></p>",
                    para(
                        "error",
                        "This form expired or was opened in another browser or session; nothing was changed."
                    )
                ),
            );
        }
    };
    let csrf = form_token(&headers);
    let code = form_field(&body, "passCode").unwrap_or_default();
    let ctx = user_context(
        &anonymous_context(client.ip.map(|i| i.to_string()), client.user_agent.clone()),
        &user,
    );
    match crate::credentials::sign_in(&state)
        .activate_totp(&ctx, &user.id.to_string(), &code)
        .await
    {
        Ok(true) => render(
            StatusCode::OK,
            "Authenticator app",
            &para(
                "note",
                "Your authenticator app is set up: sign-in now asks for its code.",
            ),
        ),
        Ok(false) => {
            enrollment_page(
                &state,
                client,
                &user,
                &csrf,
                StatusCode::BAD_REQUEST,
                Some("That code is wrong. Try the current one."),
            )
            .await
        }
        Err(e) => domain_failure(e),
    }
}
