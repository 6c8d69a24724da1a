//! The sign-in pages: `GET/POST /login` (password, then a TOTP code when the user has one) and
//! `GET /login/done`. A successful sign-in sets the session cookie and sends the browser back to
//! `return_to` (a path on this server only) or to `/login/done`.

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use ulo_core::auth::random_base62;
use ulo_core::csrf::Refusal;
use ulo_core::session::MAX_LIFETIME;
use ulo_core::signin::{
    FailureReason, FirstFactor, PendingSignIn, SignInRequest, SignInResult, anonymous_context,
};
use ulo_jose::{KeyAlg, VerifyOptions};

use super::page::{ClientInfo, escape, form_field, is_local_path, para, render, see_other};
use crate::session_cookie;
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::schema;

/// Where a sign-in without `return_to` ends.
pub const DONE_PATH: &str = "/login/done";
/// `typ` of the token that carries a half-finished sign-in (password checked, code missing).
const PENDING_TYP: &str = "ulo-pending+jwt";
/// How long the TOTP step may take.
const PENDING_SECONDS: i64 = 300;

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(show, submit))
        .routes(routes!(done))
}

/// The one answer to every refused sign-in, whatever the reason (no account enumeration).
const GENERIC_FAILURE: &str = "Sign-in failed: the username or password is wrong, or this account is locked for a while after too many failed attempts.";

fn return_to_of(raw: Option<String>) -> Option<String> {
    raw.filter(|r| is_local_path(r))
}

fn login_form(
    status: StatusCode,
    message: Option<&str>,
    username: &str,
    return_to: Option<&str>,
    csrf: &str,
) -> Response {
    let msg = message.map(|m| para("error", m)).unwrap_or_default();
    let body = format!(
        "{msg}<form method=\"post\" action=\"/login\">{csrf}\
<input type=\"hidden\" name=\"return_to\" value=\"{rt}\">\
<label for=\"username\">Username</label>\
<input type=\"text\" id=\"username\" name=\"username\" value=\"{user}\" autocomplete=\"username\" autofocus required>\
<label for=\"password\">Password</label>\
<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
<button type=\"submit\">Sign in</button></form>",
        rt = escape(return_to.unwrap_or("")),
        user = escape(username),
        csrf = crate::csrf::hidden_field(csrf),
    );
    render(status, "Sign in", &body)
}

fn totp_form(
    status: StatusCode,
    message: Option<&str>,
    pending: &str,
    return_to: Option<&str>,
    csrf: &str,
) -> Response {
    let msg = message.map(|m| para("error", m)).unwrap_or_default();
    let body = format!(
        "{msg}{note}<form method=\"post\" action=\"/login\">{csrf}\
<input type=\"hidden\" name=\"pending\" value=\"{pending}\">\
<input type=\"hidden\" name=\"return_to\" value=\"{rt}\">\
<label for=\"totp\">Code</label>\
<input type=\"text\" id=\"totp\" name=\"totp\" inputmode=\"numeric\" autocomplete=\"one-time-code\" autofocus required>\
<button type=\"submit\">Verify</button></form>",
        note = para(
            "note",
            "Enter the 6-digit code from your authenticator app."
        ),
        pending = escape(pending),
        rt = escape(return_to.unwrap_or("")),
        csrf = crate::csrf::hidden_field(csrf),
    );
    render(status, "Verify it's you", &body)
}

#[utoipa::path(
    get,
    path = "/login",
    operation_id = "loginPage",
    tag = "Sign-in",
    summary = "The sign-in page",
    params(
        ("return_to" = Option<String>, Query, description = "Where to go after sign-in: a path on this server (the authorization endpoint sends one); anything else is dropped."),
    ),
    responses(
        (status = 200, description = "The form, with a hidden csrf token bound to the browser's ulo_csrf cookie.", body = String, content_type = "text/html", headers(("Set-Cookie" = String, description = "ulo_csrf=…; Path=/; HttpOnly; SameSite=Lax[; Secure], when the browser has none yet (kept for the browser session, so several open forms all work)."))),
    ),
)]
async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let return_to = query
        .as_deref()
        .and_then(|q| form_field(q.as_bytes(), "return_to"))
        .and_then(|r| return_to_of(Some(r)));
    fresh_login_form(&state, &headers, StatusCode::OK, None, return_to.as_deref())
}

/// The sign-in form with the token of this browser's binding cookie (set when it has none).
fn fresh_login_form(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    message: Option<&str>,
    return_to: Option<&str>,
) -> Response {
    let (binding, set_cookie) = crate::csrf::ensure_browser_secret(state, headers);
    let token = crate::csrf::token(&binding, crate::csrf::LOGIN_FORM);
    let mut resp = login_form(status, message, "", return_to, &token);
    if let Some(c) = set_cookie {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

/// The answer to a sign-in form that failed the CSRF check: nothing of it is used.
fn refused(state: &AppState, headers: &HeaderMap, why: Refusal) -> Response {
    match why {
        Refusal::CrossSite => render(
            StatusCode::FORBIDDEN,
            "Sign in",
            &format!(
                "{}<p><a href=\"/login\">Sign in on ulo's own page</a></p>",
                para(
                    "error",
                    "This sign-in form was sent from another site, so it was not used."
                )
            ),
        ),
        Refusal::BadToken => fresh_login_form(
            state,
            headers,
            StatusCode::FORBIDDEN,
            Some("This sign-in form expired or was opened in another browser. Sign in again."),
            None,
        ),
    }
}

/// Which account a sign-in form is about, for throttling: the login typed, or the person a
/// pending second-factor token names (an unreadable token counts against no account).
fn throttle_account(state: &AppState, body: &[u8]) -> String {
    match form_field(body, "pending").filter(|v| !v.is_empty()) {
        Some(token) => verify_pending(state, &token)
            .map(|p| format!("user:{}", p.user_id))
            .unwrap_or_default(),
        None => form_field(body, "username").unwrap_or_default(),
    }
}

/// How long a sign-in to `account` from `ip` must wait, if it must.
fn sign_in_wait(state: &AppState, ip: std::net::IpAddr, account: &str) -> Option<time::Duration> {
    state.sign_ins.blocked(ip, account, state.clock.now())
}

fn fail_sign_in(state: &AppState, ip: std::net::IpAddr, account: &str) {
    state.sign_ins.fail(ip, account, state.clock.now());
}

fn throttled(wait: time::Duration) -> Response {
    let secs = ulo_core::throttle::retry_after_secs(wait);
    let mut resp = render(
        StatusCode::TOO_MANY_REQUESTS,
        "Sign in",
        &para(
            "error",
            &format!(
                "Too many failed sign-ins for this account or from this address. Try again in {secs} seconds."
            ),
        ),
    );
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

#[derive(Serialize, Deserialize)]
struct PendingClaims {
    iss: String,
    aud: String,
    sub: String,
    jti: String,
    iat: i64,
    exp: i64,
    /// `passwordChanged` of the user when the password was checked (Unix ms).
    pwc: Option<i64>,
    /// `lastLogin` of the user then (Unix ms): a completed sign-in voids the token.
    ll: Option<i64>,
}

fn pending_audience(state: &AppState) -> String {
    format!("{}/login", state.issuer())
}

fn sign_pending(state: &AppState, p: &PendingSignIn) -> Result<String, String> {
    let now = state.clock.now().unix_timestamp();
    let claims = PendingClaims {
        iss: state.issuer().to_string(),
        aud: pending_audience(state),
        sub: p.user_id.to_string(),
        jti: random_base62(22),
        iat: now,
        exp: now + PENDING_SECONDS,
        pwc: p.password_changed,
        ll: p.last_login,
    };
    state
        .keys()
        .sign(KeyAlg::ES256, PENDING_TYP, &claims)
        .map_err(|e| e.to_string())
}

fn verify_pending(state: &AppState, token: &str) -> Option<PendingSignIn> {
    let aud = pending_audience(state);
    let opts = VerifyOptions {
        expected_typ: Some(PENDING_TYP),
        issuer: Some(state.issuer()),
        audience: Some(&aud),
        leeway_secs: 0,
        now_unix: Some(state.clock.now().unix_timestamp()),
    };
    let (_, claims) = state.keys().verify(token, &opts).ok()?;
    // `exp` is required here (the verifier checks it only when present).
    let c: PendingClaims = serde_json::from_value(claims).ok()?;
    Some(PendingSignIn {
        user_id: c.sub.parse().ok()?,
        password_changed: c.pwc,
        last_login: c.ll,
    })
}

fn internal(detail: impl std::fmt::Display) -> Response {
    tracing::error!(detail = %detail, "sign-in failed internally");
    render(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Sign in",
        &para("error", "Something went wrong on our side. Try again."),
    )
}

#[utoipa::path(
    post,
    path = "/login",
    operation_id = "login",
    tag = "Sign-in",
    summary = "Sign in",
    description = "Checks the password (argon2id), then, when the user has an active TOTP factor, answers a page asking for the code with a signed pending token. Success: a new session (a session this browser had is ended, reason REPLACED), Set-Cookie ulo_session, and 303 to return_to or /login/done. Every attempt is logged as user.session.start (SUCCESS; CHALLENGE TOTP_REQUIRED; FAILURE with INVALID_CREDENTIALS, LOCKED_OUT, INVALID_TOTP, USER_SUSPENDED, USER_DEPROVISIONED or USER_NOT_ACTIVATED). An unknown login and a wrong password get the same answer. 10 consecutive failures lock the user for 15 minutes; 30 failures a minute from one address answer 429. CSRF: a form whose Sec-Fetch-Site is not same-origin, or whose Origin is not ulo's (another site, a sibling origin on another port or subdomain, or null), is refused with 403 and not used; so is one without the csrf token of the form ulo showed this browser (bound to its ulo_csrf cookie), which answers a fresh form. Pages are served with Referrer-Policy: same-origin, under which browsers send the real Origin.",
    request_body(content = schema::LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The code page (TOTP required).", body = String, content_type = "text/html"),
        (status = 303, description = "Signed in: to return_to or /login/done.", headers(("Location" = String, description = "Where to go."), ("Set-Cookie" = String, description = "ulo_session=…; Path=/; HttpOnly; SameSite=Lax; Max-Age=43200[; Secure]"))),
        (status = 400, description = "Username or password missing.", body = String, content_type = "text/html"),
        (status = 401, description = "Refused: wrong credentials, locked, wrong code, or an expired pending sign-in (one message for all).", body = String, content_type = "text/html"),
        (status = 403, description = "The account cannot sign in (suspended, deactivated, not activated: shown only after a correct password), or the form came from another site or lacks this browser's csrf token (nothing of it is used).", body = String, content_type = "text/html"),
        (status = 429, description = "Too many failed sign-ins for this account from this address (20 in 5 minutes) or from this address in all (100 in 5 minutes); see Retry-After. Failed sign-ins never throttle API tokens, SCIM or SSF credentials.", body = String, content_type = "text/html"),
    ),
)]
async fn submit(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // A cross-site form must not sign the browser in (login CSRF): the browser's word on where
    // the form came from, and the token bound to the cookie the form was shown with.
    let binding = crate::csrf::browser_secret(&headers);
    let form = crate::csrf::LOGIN_FORM;
    if let Err(why) = crate::csrf::check(&state, &headers, &body, binding.as_deref(), form) {
        return refused(&state, &headers, why);
    }
    let csrf = crate::csrf::token(binding.as_deref().unwrap_or_default(), form);
    let account = throttle_account(&state, &body);
    if let Some(wait) = client.ip.and_then(|ip| sign_in_wait(&state, ip, &account)) {
        return throttled(wait);
    }
    let field = |name| form_field(&body, name).filter(|v| !v.is_empty());
    let return_to = return_to_of(field("return_to"));
    let rt = return_to.as_deref();
    let username = field("username").unwrap_or_default();
    let pending_token = field("pending");
    let first = match (&pending_token, field("password")) {
        (Some(token), _) => match verify_pending(&state, token) {
            Some(p) => FirstFactor::Pending(p),
            None => {
                if let Some(ip) = client.ip {
                    fail_sign_in(&state, ip, &account);
                }
                return login_form(
                    StatusCode::UNAUTHORIZED,
                    Some("Your sign-in expired. Sign in again."),
                    "",
                    rt,
                    &csrf,
                );
            }
        },
        (None, Some(password)) if !username.trim().is_empty() => FirstFactor::Password {
            login: username.clone(),
            password,
        },
        _ => {
            return login_form(
                StatusCode::BAD_REQUEST,
                Some("Enter your username and password."),
                &username,
                rt,
                &csrf,
            );
        }
    };
    let replaces = match session_cookie::current(&state, &headers).await {
        Ok(current) => current.map(|(s, _)| s.id),
        Err(e) => return internal(e),
    };
    let (secret, secret_hash) = session_cookie::new_secret();
    let ctx = anonymous_context(client.ip.map(|i| i.to_string()), client.user_agent);
    let req = SignInRequest {
        first,
        totp: field("totp"),
        secret_hash,
        replaces,
    };
    let result = match crate::credentials::sign_in(&state).sign_in(&ctx, req).await {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    match result {
        SignInResult::SignedIn { .. } => {
            let mut resp = see_other(rt.unwrap_or(DONE_PATH));
            resp.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie::set(&state, &secret, MAX_LIFETIME),
            );
            resp
        }
        SignInResult::TotpRequired(p) => {
            let token = match &pending_token {
                Some(t) => t.clone(),
                None => match sign_pending(&state, &p) {
                    Ok(t) => t,
                    Err(e) => return internal(e),
                },
            };
            let message = pending_token.is_some().then_some("Enter the code.");
            totp_form(StatusCode::OK, message, &token, rt, &csrf)
        }
        SignInResult::Failed(reason) => {
            let guessing = matches!(
                reason,
                FailureReason::InvalidCredentials
                    | FailureReason::LockedOut
                    | FailureReason::InvalidTotp
            );
            if let Some(ip) = client.ip.filter(|_| guessing) {
                fail_sign_in(&state, ip, &account);
            }
            match (reason, &pending_token) {
                (FailureReason::InvalidTotp, Some(token)) => totp_form(
                    StatusCode::UNAUTHORIZED,
                    Some("That code is wrong or was already used. Try the next one."),
                    token,
                    rt,
                    &csrf,
                ),
                (
                    FailureReason::UserSuspended
                    | FailureReason::UserDeprovisioned
                    | FailureReason::UserNotActivated,
                    _,
                ) => login_form(
                    StatusCode::FORBIDDEN,
                    Some("This account cannot sign in. Contact your administrator."),
                    &username,
                    rt,
                    &csrf,
                ),
                _ => login_form(
                    StatusCode::UNAUTHORIZED,
                    Some(GENERIC_FAILURE),
                    &username,
                    rt,
                    &csrf,
                ),
            }
        }
    }
}

#[utoipa::path(
    get,
    path = "/login/done",
    operation_id = "loginDone",
    tag = "Sign-in",
    summary = "Where a sign-in without return_to ends",
    responses(
        (status = 200, description = "Says who is signed in, if anyone.", body = String, content_type = "text/html"),
    ),
)]
async fn done(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match session_cookie::current(&state, &headers).await {
        Ok(Some((_, user))) => render(
            StatusCode::OK,
            "Signed in",
            &format!(
                "{}<p><a href=\"/account/totp\">Set up an authenticator app</a></p>",
                para(
                    "note",
                    &format!("You are signed in as {}.", user.profile.login)
                )
            ),
        ),
        Ok(None) => render(
            StatusCode::OK,
            "Not signed in",
            "<p class=\"note\">You are not signed in.</p><p><a href=\"/login\">Sign in</a></p>",
        ),
        Err(e) => internal(e),
    }
}
