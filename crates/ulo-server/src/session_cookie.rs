//! The ulo session cookie: what sign-in sets, and how every part of the server finds the
//! session behind a request. The cookie holds a random secret; the store keeps its SHA-256.

use axum::http::{HeaderMap, HeaderValue, header};
use time::Duration;
use ulo_core::auth::{hash_token, new_token_secret};
use ulo_core::csrf::Refusal;
use ulo_core::session::Session;
use ulo_core::store::StoreError;
use ulo_core::user::{User, UserStatus};

use crate::state::AppState;

/// The cookie's name.
pub const NAME: &str = "ulo_session";

/// A new cookie secret and the hash to store in `Session::secret_hash`.
pub fn new_secret() -> (String, String) {
    let secret = new_token_secret();
    let hash = hash_token(&secret);
    (secret, hash)
}

/// Whether cookies must be `Secure`: always, unless the issuer is plain http on loopback.
pub(crate) fn secure(state: &AppState) -> bool {
    let issuer = state.issuer();
    let Ok(url) = url::Url::parse(issuer) else {
        return true;
    };
    let loopback = match url.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    !(url.scheme() == "http" && loopback)
}

/// `Set-Cookie` for a new session: HttpOnly, SameSite=Lax, Secure unless plain http on loopback.
pub fn set(state: &AppState, secret: &str, max_age: Duration) -> HeaderValue {
    let secure = if secure(state) { "; Secure" } else { "" };
    let v = format!(
        "{NAME}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        max_age.whole_seconds()
    );
    HeaderValue::from_str(&v)
        .unwrap_or_else(|_| HeaderValue::from_static("ulo_session=; Path=/; Max-Age=0"))
}

/// `Set-Cookie` that removes the cookie.
pub fn clear(state: &AppState) -> HeaderValue {
    let secure = if secure(state) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{NAME}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("ulo_session=; Path=/; Max-Age=0"))
}

/// The cookie's secret in a request, if any.
pub fn secret(headers: &HeaderMap) -> Option<String> {
    cookie(headers, NAME)
}

/// The (non-empty) value of cookie `name` in a request, if any.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The live session behind a request and its ACTIVE user; records the use. `None` when there is
/// no cookie, or its session ended, expired or went idle, or its user may no longer sign in.
pub async fn current(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(Session, User)>, StoreError> {
    let Some(secret) = secret(headers) else {
        return Ok(None);
    };
    let now = state.clock.now();
    let mut tx = state.store.read().await?;
    let Some(session) = tx.find_session(&hash_token(&secret)).await? else {
        return Ok(None);
    };
    if !session.is_live(now) {
        return Ok(None);
    }
    let Some(user) = tx.get_user(session.user_id).await? else {
        return Ok(None);
    };
    drop(tx);
    if user.status != UserStatus::Active {
        return Ok(None);
    }
    // A minute's precision is enough for idle expiry; it saves a write per request.
    if now - session.last_used > Duration::minutes(1) {
        let mut tx = state.store.begin().await?;
        tx.touch_session(session.id, now).await?;
        tx.commit().await?;
    }
    Ok(Some((session, user)))
}

/// Session influence for a request carrying the session cookie: compares its address (`ip`)
/// and user agent with the context the live session began in; only a use from another network
/// or client family takes a transaction ([`ulo_core::session_influence::observe_in`]).
pub async fn observe_use(
    state: &AppState,
    headers: &HeaderMap,
    ip: std::net::IpAddr,
    user_agent: Option<&str>,
) -> Result<(), ulo_core::error::DomainError> {
    use ulo_core::session_influence::{Mode, Use, UseContext, UseSubject, observe_in};
    let settings = &state.config.session_influence;
    let Some(secret) = secret(headers) else {
        return Ok(());
    };
    if settings.mode == Mode::Off {
        return Ok(());
    }
    let now = state.clock.now();
    let session = {
        let mut tx = state.store.read().await?;
        tx.find_session(&hash_token(&secret)).await?
    };
    let Some(session) = session.filter(|s| s.is_live(now)) else {
        return Ok(());
    };
    let subject = UseSubject::Session(session.id);
    let began = Use::new(session.ip_address.as_deref(), session.user_agent.as_deref());
    let this = Use {
        address: Some(ip),
        user_agent: user_agent.map(str::to_string),
    };
    // The common case, a use from where the session began, costs no write.
    if UseContext::of(subject, session.user_id, &began, true, now).same_place(&UseContext::of(
        subject,
        session.user_id,
        &this,
        false,
        now,
    )) {
        return Ok(());
    }
    let mut tx = state.store.begin().await?;
    let Some(user) = tx.get_user(session.user_id).await? else {
        return Ok(());
    };
    let client = ulo_core::log::Client {
        ip_address: Some(ip.to_string()),
        user_agent: user_agent.map(|raw| ulo_core::log::UserAgent {
            raw_user_agent: raw.to_string(),
        }),
        id: None,
    };
    let ctx = ulo_core::oidc::user_context(&user, client);
    observe_in(
        tx.as_mut(),
        &ctx,
        &user,
        subject,
        Some(&began),
        &this,
        settings,
        &state.config.risk_settings(),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Why a form posted with the session cookie was not used.
pub enum FormRefusal {
    /// No live session: the person signs in first.
    SignedOut,
    /// Sent from another site, or without the form's csrf token bound to this cookie.
    Forged(Refusal),
    /// The store failed.
    Failed(StoreError),
}

/// The signed-in person behind `form` posted with the session cookie to one of ulo's own
/// pages. A change made with the cookie must come from ulo's own page: a live session, the
/// browser's word on where the form came from, and the csrf token bound to the cookie.
pub async fn form_user(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    form: &str,
) -> Result<User, FormRefusal> {
    let user = match current(state, headers).await {
        Ok(Some((_, user))) => user,
        Ok(None) => return Err(FormRefusal::SignedOut),
        Err(e) => return Err(FormRefusal::Failed(e)),
    };
    let binding = secret(headers);
    crate::csrf::check(state, headers, body, binding.as_deref(), form)
        .map_err(FormRefusal::Forged)?;
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cookie_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; ulo_session=abc ; b=2"),
        );
        assert_eq!(secret(&h).as_deref(), Some("abc"));
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("ulo_session="));
        assert_eq!(secret(&h), None);
    }
}
