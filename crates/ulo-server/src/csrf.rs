//! The CSRF defence of ulo's browser forms (the rules are `ulo_core::csrf`): where the browser
//! says a post came from, and a per-form token. The sign-in form's token is bound to a cookie of
//! its own (there is no session yet); a signed-in person's forms are bound to the session cookie.

use axum::http::{HeaderMap, HeaderValue, header};
use ulo_core::auth::random_base62;
use ulo_core::csrf::{Provenance, Refusal, check_post, form_token};

use crate::routes::page::{escape, form_field};
use crate::session_cookie;
use crate::state::AppState;

/// The cookie binding the sign-in form to the browser that opened it.
pub const COOKIE: &str = "ulo_csrf";
/// The hidden form field carrying the token.
pub const FIELD: &str = "csrf";
/// The sign-in form (`/login`, both steps).
pub const LOGIN_FORM: &str = "login";
/// The authenticator-app form (`/account/totp`).
pub const TOTP_FORM: &str = "account-totp";
/// The *This wasn't me* form of the account page (`/account`).
pub const SIGN_IN_REPORT_FORM: &str = "account-sign-in-report";
/// The sign-out confirmation (`/oauth2/v1/logout`).
pub const LOGOUT_FORM: &str = "logout";

/// What the request's headers say about where it came from.
fn provenance(headers: &HeaderMap) -> Provenance<'_> {
    let get = |name| headers.get(name).and_then(|v| v.to_str().ok());
    Provenance {
        sec_fetch_site: get("sec-fetch-site"),
        origin: get(header::ORIGIN.as_str()),
    }
}

/// Checks a posted form (`body`) of `form` whose token is bound to `binding`.
pub fn check(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    binding: Option<&str>,
    form: &str,
) -> Result<(), Refusal> {
    check_field(
        state,
        headers,
        form_field(body, FIELD).as_deref(),
        binding,
        form,
    )
}

/// Checks a post of `form` whose token field (already read) is `posted`, bound to `binding`.
pub fn check_field(
    state: &AppState,
    headers: &HeaderMap,
    posted: Option<&str>,
    binding: Option<&str>,
    form: &str,
) -> Result<(), Refusal> {
    let own = crate::auth::issuer_origin(state).unwrap_or_default();
    check_post(&provenance(headers), &own, binding, form, posted)
}

/// The sign-in binding cookie of a request, when it holds one of ours.
pub fn browser_secret(headers: &HeaderMap) -> Option<String> {
    session_cookie::cookie(headers, COOKIE)
        .filter(|v| (32..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The browser's sign-in binding: the one it holds, or a new one with the `Set-Cookie` that
/// gives it (kept for the browser's session; reused so two open tabs both work).
pub fn ensure_browser_secret(
    state: &AppState,
    headers: &HeaderMap,
) -> (String, Option<HeaderValue>) {
    if let Some(s) = browser_secret(headers) {
        return (s, None);
    }
    let secret = random_base62(40);
    let secure = if session_cookie::secure(state) {
        "; Secure"
    } else {
        ""
    };
    let set = HeaderValue::from_str(&format!(
        "{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok();
    (secret, set)
}

/// The token of `form` for `binding`.
pub fn token(binding: &str, form: &str) -> String {
    form_token(binding, form)
}

/// The hidden input carrying `token`.
pub fn hidden_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{FIELD}\" value=\"{}\">",
        escape(token)
    )
}
