//! Signing in to the console and who is behind each console request.
//!
//! An admin signs in with ulo's own sign-in (`/login`: password, then TOTP when enrolled); the
//! console then opens a console session of its own ([`ulo_core::signin::console`]) and sets the
//! `ulo_admin` cookie: HttpOnly, `SameSite=Strict`, `Path=/admin`, Secure unless plain http on
//! loopback. Every change ([`guard`]) must carry the csrf token bound to that cookie (the hidden
//! field `csrf`, or the `X-CSRF-Token` header htmx sends) and come, by the browser's word, from
//! ulo's own origin.

use askama::Template;
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, OptionalFromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use ulo_core::auth::hash_token;
use ulo_core::context::Context;
use ulo_core::session::Session;
use ulo_core::signin::console;
use ulo_core::user::{User, UserStatus};

use super::render::{ConsoleError, Section, Shell, page, see_other};
use crate::routes::page::{form_field, is_local_path, query_value};
use crate::session_cookie;
use crate::state::AppState;

/// The console cookie.
pub const COOKIE: &str = "ulo_admin";
/// The csrf form name every console change is bound under.
pub const FORM: &str = "admin-console";
/// The header htmx sends the csrf token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The routes: sign-in, sign-out.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signin", get(sign_in))
        .route("/signout", post(sign_out))
        .route("/signed-out", get(signed_out))
}

/// A signed-in admin on a console request.
pub struct Console {
    /// Who, from where, with which roles; `client.id` is the console.
    pub ctx: Context,
    /// The admin.
    pub user: User,
    /// The console session.
    pub session: Session,
    /// The csrf token bound to this console session's cookie.
    pub csrf: String,
}

impl Console {
    /// Whether this admin may change things (write controls are shown).
    pub fn can_write(&self) -> bool {
        self.ctx.can_write()
    }

    /// The page frame for this admin.
    pub fn shell(&self, title: &str, section: Section) -> Shell {
        let name = format!(
            "{} {}",
            self.user.profile.first_name, self.user.profile.last_name
        );
        let name = name.trim();
        Shell {
            title: title.to_string(),
            section: section.key(),
            admin: if name.is_empty() {
                self.user.profile.login.clone()
            } else {
                name.to_string()
            },
            can_write: self.can_write(),
            csrf: self.csrf.clone(),
            notice: None,
        }
    }
}

/// Why a request has no console admin behind it.
pub enum Refused {
    /// Nobody (or a session that ended): sign in.
    SignedOut,
    /// Not an admin, not active, or the store failed.
    Error(ConsoleError),
}

/// The `Set-Cookie` for the console cookie.
fn set_cookie(state: &AppState, secret: &str) -> HeaderValue {
    let secure = if session_cookie::secure(state) {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={secret}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        console::MAX_LIFETIME.whole_seconds()
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("ulo_admin=; Path=/admin; Max-Age=0"))
}

/// The `Set-Cookie` that removes the console cookie.
fn clear_cookie(state: &AppState) -> HeaderValue {
    let secure = if session_cookie::secure(state) {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("ulo_admin=; Path=/admin; Max-Age=0"))
}

/// The console admin behind `headers`, if their console session is live.
async fn find(state: &AppState, parts: &Parts) -> Result<Console, Refused> {
    let Some(secret) = session_cookie::cookie(&parts.headers, COOKIE) else {
        return Err(Refused::SignedOut);
    };
    let now = state.clock.now();
    let fail = |e: ulo_core::store::StoreError| Refused::Error(e.into());
    let (session, user, roles) = {
        let mut tx = state.store.read().await.map_err(fail)?;
        let Some(session) = tx.find_session(&hash_token(&secret)).await.map_err(fail)? else {
            return Err(Refused::SignedOut);
        };
        if !console::is_live(&session, now) {
            return Err(Refused::SignedOut);
        }
        let Some(user) = tx.get_user(session.user_id).await.map_err(fail)? else {
            return Err(Refused::SignedOut);
        };
        let roles = tx.list_roles(user.id).await.map_err(fail)?;
        (session, user, roles)
    };
    if user.status != UserStatus::Active {
        return Err(Refused::SignedOut);
    }
    if roles.is_empty() {
        return Err(Refused::Error(ConsoleError::new(
            StatusCode::FORBIDDEN,
            console::NOT_AN_ADMIN,
        )));
    }
    if now - session.last_used > time::Duration::minutes(1) {
        let mut tx = state.store.begin().await.map_err(fail)?;
        tx.touch_session(session.id, now).await.map_err(fail)?;
        tx.commit().await.map_err(fail)?;
    }
    let ip = crate::auth::client_ip(parts);
    let ua = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let ctx = Context::console(&user, roles, ip.map(|i| i.to_string()), ua);
    crate::threat_list::admin_call(state, &ctx, &user, ip)
        .await
        .map_err(|e| Refused::Error(e.into()))?;
    Ok(Console {
        ctx,
        user,
        session,
        csrf: crate::csrf::token(&secret, FORM),
    })
}

/// Where to send a signed-out browser: the console's sign-in, then back to `path`.
fn sign_in_url(path: &str) -> String {
    let back = if is_local_path(path) && path.starts_with("/admin") {
        path
    } else {
        "/admin"
    };
    format!("/admin/signin?return_to={}", query_value(back))
}

/// The answer for a request without a console admin: to the sign-in (a page navigation), an
/// `HX-Redirect` (htmx), or the error.
fn refusal(parts: &Parts, refused: Refused) -> Response {
    match refused {
        Refused::SignedOut => {
            // Inside the console's router the path has lost its `/admin`: use the original.
            let uri = parts
                .extensions
                .get::<axum::extract::OriginalUri>()
                .map(|o| &o.0)
                .unwrap_or(&parts.uri);
            let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/admin");
            let target = if parts.method == axum::http::Method::GET {
                sign_in_url(path)
            } else {
                sign_in_url("/admin")
            };
            if super::render::is_htmx(&parts.headers) {
                let mut resp = StatusCode::NO_CONTENT.into_response();
                if let Ok(v) = HeaderValue::from_str(&target) {
                    resp.headers_mut().insert("hx-redirect", v);
                }
                resp
            } else if parts.method == axum::http::Method::GET {
                see_other(&target)
            } else {
                ConsoleError::new(
                    StatusCode::UNAUTHORIZED,
                    "Your console session has ended, so this change was not made. Sign in again and repeat it.",
                )
                .bare()
            }
        }
        Refused::Error(e) => e.answer(&parts.headers, Shell::bare(e.title())),
    }
}

impl FromRequestParts<AppState> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        find(state, parts).await.map_err(|r| refusal(parts, r))
    }
}

impl OptionalFromRequestParts<AppState> for Console {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(find(state, parts).await.ok())
    }
}

/// Guards every console request that changes something: a console cookie, the browser's word
/// that the request came from ulo's origin, and the csrf token bound to the cookie. A refused
/// request never reaches its handler.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method().is_safe() {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Some(secret) = session_cookie::cookie(&parts.headers, COOKIE) else {
        return refusal(&parts, Refused::SignedOut);
    };
    let bytes = match to_bytes(body, 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => {
            return ConsoleError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "The form is larger than 1 MiB; nothing was changed.",
            )
            .answer(&parts.headers, Shell::bare("Too large"));
        }
    };
    let posted = parts
        .headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| form_field(&bytes, crate::csrf::FIELD));
    if let Err(why) = crate::csrf::check_field(
        &state,
        &parts.headers,
        posted.as_deref(),
        Some(&secret),
        FORM,
    ) {
        return ConsoleError::new(
            StatusCode::FORBIDDEN,
            format!(
                "This change was refused and not made: {why}. Reload the console page and try again from there."
            ),
        )
        .answer(&parts.headers, Shell::bare("Not allowed"));
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[derive(Deserialize)]
struct ReturnTo {
    return_to: Option<String>,
}

/// `GET /admin/signin`: opens a console session for an admin signed in to ulo, or sends the
/// browser to ulo's sign-in first.
async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: crate::routes::page::ClientInfo,
    Query(q): Query<ReturnTo>,
) -> Response {
    let back = q
        .return_to
        .filter(|r| is_local_path(r) && r.starts_with("/admin") && !r.starts_with("/admin/sign"))
        .unwrap_or_else(|| "/admin".to_string());
    let signed_in = match session_cookie::current(&state, &headers).await {
        Ok(s) => s,
        Err(e) => return ConsoleError::from(e).bare(),
    };
    let Some((sign_in, user)) = signed_in else {
        let here = format!("/admin/signin?return_to={}", query_value(&back));
        return see_other(&format!("/login?return_to={}", query_value(&here)));
    };
    match open(&state, &sign_in, &user, &client).await {
        Ok(secret) => {
            let mut resp = see_other(&back);
            resp.headers_mut()
                .append(header::SET_COOKIE, set_cookie(&state, &secret));
            resp
        }
        Err(e) => e.bare(),
    }
}

/// Opens the console session; answers the cookie's secret.
async fn open(
    state: &AppState,
    sign_in: &Session,
    user: &User,
    client: &crate::routes::page::ClientInfo,
) -> Result<String, ConsoleError> {
    let roles = {
        let mut tx = state.store.read().await?;
        tx.list_roles(user.id).await?
    };
    let ctx = Context::console(
        user,
        roles,
        client.ip.map(|i| i.to_string()),
        client.user_agent.clone(),
    );
    let (secret, hash) = session_cookie::new_secret();
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    console::open_in(tx.as_mut(), &ctx, user, sign_in, &hash, now).await?;
    tx.commit().await?;
    Ok(secret)
}

/// `POST /admin/signout`: ends the console session and the sign-in session it came from.
async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
) -> Result<Response, ConsoleError> {
    let now = state.clock.now();
    let mut sessions = vec![admin.session.clone()];
    if let Some(secret) = session_cookie::secret(&headers) {
        let mut tx = state.store.read().await?;
        if let Some(s) = tx.find_session(&hash_token(&secret)).await?
            && s.user_id == admin.user.id
            && s.ended.is_none()
        {
            sessions.push(s);
        }
    }
    let mut tx = state.store.begin().await?;
    console::close_in(
        tx.as_mut(),
        &admin.ctx,
        &admin.user,
        &sessions,
        Some(state.config.single_logout()),
        now,
    )
    .await?;
    tx.commit().await?;
    let mut resp = see_other("/admin/signed-out");
    let h = resp.headers_mut();
    h.append(header::SET_COOKIE, clear_cookie(&state));
    h.append(header::SET_COOKIE, session_cookie::clear(&state));
    Ok(resp)
}

#[derive(Template)]
#[template(path = "console/signed_out.html")]
struct SignedOut {
    shell: Shell,
}

/// `GET /admin/signed-out`.
async fn signed_out() -> Response {
    page(&SignedOut {
        shell: Shell::bare("You are signed out"),
    })
}
