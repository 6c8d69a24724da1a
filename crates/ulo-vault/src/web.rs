//! The browser side: sign-in through ulo (`/login` → ulo → `/oidc/callback`), and a small page
//! listing the person's shared accounts with a reveal button per account.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Form, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Router, routing::get, routing::post};
use serde::Deserialize;

use crate::audit::{self, person_target};
use crate::auth::{LOGIN_COOKIE, SESSION_COOKIE, SignedIn, Via, cookie, may_sign_in, same_origin};
use crate::error::VaultError;
use crate::model::{Actor, OidcLogin, Session, new_id};
use crate::seal::Purpose;
use crate::secret;
use crate::vault::Vault;

/// How long a started sign-in may take.
const LOGIN_LIFETIME: Duration = Duration::from_secs(600);

/// The browser routes.
pub fn router() -> Router<Arc<Vault>> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/oidc/callback", get(callback))
        .route("/logout", post(logout))
        .route("/accounts/{id}/reveal", post(reveal))
}

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t} · ulo vault</title>\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <style>body{{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}}\
         table{{border-collapse:collapse;width:100%}}td,th{{text-align:left;padding:.4rem;border-bottom:1px solid #ddd}}\
         code{{font-size:1.1rem;background:#f4f4f4;padding:.2rem .4rem}}.pending{{color:#a60}}</style></head>\
         <body><h1>{t}</h1>{body}</body></html>",
        t = esc(title)
    );
    let mut resp = (status, Html(html)).into_response();
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The browser sends the real `Origin` on the vault's own form posts (the CSRF check needs
    // it; under `no-referrer` it would be `null`) and no referrer to the apps it links to.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    resp
}

fn error_page(e: &VaultError) -> Response {
    if e.status().is_server_error() {
        tracing::error!(error = %e, "browser request failed");
    }
    page(
        e.status(),
        "Something went wrong",
        &format!(
            "<p>{}</p><p><a href=\"/login\">Sign in again</a></p>",
            esc(&e.public_message())
        ),
    )
}

fn secure(vault: &Vault) -> &'static str {
    if vault.settings.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

/// The vault's forms, for their CSRF tokens.
const FORMS: &str = "vault";

/// The CSRF token of a session's forms (ulo's scheme, [`ulo_core::csrf`]), bound to the
/// session's stored hash, which only the server (and not a cross-site page) knows.
fn csrf(session: &Session) -> String {
    ulo_core::csrf::form_token(&session.secret_hash, FORMS)
}

/// The signed-in person of a browser request (cookie only), if any.
struct Browser(Option<SignedIn>);

impl FromRequestParts<Arc<Vault>> for Browser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, vault: &Arc<Vault>) -> Result<Self, Response> {
        let Some(value) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Ok(Browser(None));
        };
        if parts.method != axum::http::Method::GET
            && !same_origin(parts, &vault.settings.public_url)
        {
            return Err(error_page(&VaultError::Forbidden(
                "this form was not sent from the vault's own page".into(),
            )));
        }
        SignedIn::from_cookie(vault, value)
            .await
            .map(Browser)
            .map_err(|e| error_page(&e))
    }
}

async fn home(State(vault): State<Arc<Vault>>, Browser(who): Browser) -> Response {
    let Some(who) = who else {
        return page(
            StatusCode::OK,
            "Shared accounts",
            "<p>The vault keeps your team's shared passwords.</p>\
             <p><a href=\"/login\">Sign in with ulo</a></p>",
        );
    };
    let Via::Session(session) = &who.via else {
        return error_page(&VaultError::Internal("no session".into()));
    };
    let accounts = match vault.accounts_of(&who.person).await {
        Ok(a) => a,
        Err(e) => return error_page(&e),
    };
    let token = csrf(session);
    let mut rows = String::new();
    for (a, app) in &accounts {
        rows.push_str(&format!(
            "<tr><td><a href=\"{url}\">{app}</a></td><td>{user}</td><td{cls}>{status}</td>\
             <td><form method=\"post\" action=\"/accounts/{id}/reveal\"><input type=\"hidden\" name=\"csrf\" value=\"{token}\">\
             <button>Reveal password</button></form></td></tr>",
            url = esc(&app.sign_in_url),
            app = esc(&app.name),
            user = esc(&a.username),
            cls = if a.status == crate::model::AccountStatus::Ok { "" } else { " class=\"pending\"" },
            status = a.status.as_str(),
            id = esc(&a.id),
        ));
    }
    let table = if accounts.is_empty() {
        "<p>No accounts are shared with you yet.</p>".to_string()
    } else {
        format!(
            "<table><tr><th>App</th><th>Username</th><th>Status</th><th></th></tr>{rows}</table>"
        )
    };
    page(
        StatusCode::OK,
        "Shared accounts",
        &format!(
            "<p>Signed in as <strong>{name}</strong>. Every reveal is recorded.</p>{table}\
             <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{token}\"><button>Sign out</button></form>",
            name = esc(&who.person.display_name()),
        ),
    )
}

async fn login(State(vault): State<Arc<Vault>>) -> Response {
    match start_login(&vault).await {
        Ok((state, url)) => {
            let mut resp = Redirect::to(&url).into_response();
            let c = format!(
                "{LOGIN_COOKIE}={state}; HttpOnly; SameSite=Lax; Path=/oidc; Max-Age={}{}",
                LOGIN_LIFETIME.as_secs(),
                secure(&vault)
            );
            if let Ok(v) = HeaderValue::from_str(&c) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            resp
        }
        Err(e) => error_page(&e),
    }
}

async fn start_login(vault: &Vault) -> Result<(String, String), VaultError> {
    let now = vault.clock.now();
    let state = secret::new_secret()?;
    let nonce = secret::new_secret()?;
    let verifier = secret::new_secret()?;
    let state_hash = secret::hash(&state);
    let url = vault
        .rp
        .authorize_url(
            &vault.redirect_uri(),
            &state,
            &nonce,
            &secret::pkce_challenge(&verifier),
        )
        .await?;
    let login = OidcLogin {
        verifier_sealed: vault
            .sealer
            .seal(&verifier, Purpose::PkceVerifier(&state_hash))?,
        state_hash,
        nonce,
        created: now,
        expires: now + LOGIN_LIFETIME,
    };
    let mut tx = vault.begin().await?;
    tx.insert_login(&login).await?;
    tx.commit().await?;
    Ok((state, url))
}

#[derive(Debug, Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(
    State(vault): State<Arc<Vault>>,
    Query(q): Query<Callback>,
    headers: HeaderMap,
) -> Response {
    match finish_login(&vault, q, cookie(&headers, LOGIN_COOKIE)).await {
        Ok(secret) => {
            let mut resp = Redirect::to("/").into_response();
            let h = resp.headers_mut();
            let c = format!(
                "{SESSION_COOKIE}={secret}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{}",
                vault.settings.session_lifetime.as_secs(),
                secure(&vault)
            );
            if let Ok(v) = HeaderValue::from_str(&c) {
                h.append(header::SET_COOKIE, v);
            }
            h.append(
                header::SET_COOKIE,
                HeaderValue::from_static("ulo_vault_login=; Path=/oidc; Max-Age=0"),
            );
            resp
        }
        Err(e) => error_page(&e),
    }
}

/// Finishes a sign-in; answers the new session's cookie secret.
async fn finish_login(
    vault: &Vault,
    q: Callback,
    browser_state: Option<&str>,
) -> Result<String, VaultError> {
    if let Some(err) = q.error {
        return Err(VaultError::Forbidden(format!(
            "ulo did not sign you in: {}",
            q.error_description.unwrap_or(err)
        )));
    }
    let (Some(code), Some(state)) = (q.code, q.state) else {
        return Err(VaultError::invalid(
            "the sign-in answer has no code or state; start again at /login",
        ));
    };
    if !browser_state.is_some_and(|b| secret::equal(b, &state)) {
        return Err(VaultError::invalid(
            "this sign-in was not started in this browser; start again at /login",
        ));
    }
    let now = vault.clock.now();
    let state_hash = secret::hash(&state);
    let login = {
        let mut tx = vault.begin().await?;
        let l = tx.take_login(&state_hash).await?;
        tx.commit().await?;
        l
    }
    .filter(|l| l.expires > now)
    .ok_or_else(|| {
        VaultError::invalid("this sign-in expired or was already used; start again at /login")
    })?;
    let verifier = vault
        .sealer
        .open(&login.verifier_sealed, Purpose::PkceVerifier(&state_hash))?;
    let tokens = vault
        .rp
        .exchange(&code, &verifier, &vault.redirect_uri())
        .await?;
    let id_token = tokens
        .id_token
        .ok_or_else(|| VaultError::Upstream("ulo answered no ID token".into()))?;
    let claims = vault
        .rp
        .verify_id_token(&id_token, &login.nonce, now.unix_timestamp())
        .await?;
    let sub = claims
        .get("sub")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| VaultError::Upstream("ulo's ID token has no sub".into()))?;
    let now = vault.clock.now();
    let mut tx = vault.begin().await?;
    let person = tx.person_by_external_id(sub).await?.ok_or_else(|| {
        VaultError::Forbidden(
            "you signed in at ulo, but ulo has not provisioned you to the vault; ask an admin to assign the vault to you".into(),
        )
    })?;
    may_sign_in(&person)?;
    let secret = secret::new_secret()?;
    let session = Session {
        id: new_id(),
        person_id: person.id.clone(),
        secret_hash: secret::hash(&secret),
        created: now,
        expires: now + vault.settings.session_lifetime,
        ended: None,
    };
    tx.insert_session(&session).await?;
    tx.append_event(
        &audit::event("person.session.start", &Actor::person(&person), now)
            .target(person_target(&person))
            .detail("sessionId", session.id.clone())
            .detail("method", "oidc")
            .detail(
                "idpSessionId",
                claims.get("sid").cloned().unwrap_or_default(),
            ),
    )
    .await?;
    tx.commit().await?;
    Ok(secret)
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    csrf: String,
}

/// A signed-in browser's session, after checking the form's CSRF token.
fn checked_session(who: &SignedIn, form: &CsrfForm) -> Result<Session, VaultError> {
    match &who.via {
        Via::Session(s)
            if ulo_core::csrf::check_token(&s.secret_hash, FORMS, Some(&form.csrf)).is_ok() =>
        {
            Ok(s.clone())
        }
        _ => Err(VaultError::Forbidden(
            "the form is stale or was not sent from the vault's page; reload it".into(),
        )),
    }
}

async fn reveal(
    State(vault): State<Arc<Vault>>,
    Browser(who): Browser,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let Some(who) = who else {
        return Redirect::to("/login").into_response();
    };
    let result = async {
        checked_session(&who, &form)?;
        let password = vault.reveal(&who.person, &id).await?;
        let account = vault
            .accounts_of(&who.person)
            .await?
            .into_iter()
            .find(|(a, _)| a.id == id);
        Ok::<_, VaultError>((password, account))
    }
    .await;
    match result {
        Ok((password, account)) => {
            let what = account
                .map(|(a, app)| format!("{} at {}", esc(&a.username), esc(&app.name)))
                .unwrap_or_default();
            page(
                StatusCode::OK,
                "Password",
                &format!(
                    "<p>{what}</p><p><code id=\"password\">{}</code></p><p><a href=\"/\">Back</a></p>",
                    esc(&password)
                ),
            )
        }
        Err(e) => error_page(&e),
    }
}

async fn logout(
    State(vault): State<Arc<Vault>>,
    Browser(who): Browser,
    Form(form): Form<CsrfForm>,
) -> Response {
    let Some(who) = who else {
        return Redirect::to("/").into_response();
    };
    let result = async {
        let session = checked_session(&who, &form)?;
        let now = vault.clock.now();
        let mut tx = vault.begin().await?;
        tx.end_session(&session.id, now, "signed_out").await?;
        tx.append_event(
            &audit::event("person.session.end", &Actor::person(&who.person), now)
                .target(person_target(&who.person))
                .detail("sessionId", session.id.clone())
                .detail("reason", "signed_out"),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, VaultError>(())
    }
    .await;
    match result {
        Ok(()) => {
            let mut resp = Redirect::to("/").into_response();
            resp.headers_mut().append(
                header::SET_COOKIE,
                HeaderValue::from_static("ulo_vault_session=; Path=/; Max-Age=0"),
            );
            resp
        }
        Err(e) => error_page(&e),
    }
}
