//! Admin API authentication: `Authorization: SSWS <token>` (or `Bearer`), acting with the owner's roles.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use time::Duration;
use ulo_core::auth::{ApiToken, hash_token};
use ulo_core::context::Context;
use ulo_core::user::{User, UserStatus};

use crate::error::ApiError;
use crate::state::AppState;

/// An authenticated admin: the context every domain call takes, and the token used.
pub struct Admin {
    /// Who, from where, with which roles.
    pub ctx: Context,
    /// The owner.
    pub user: User,
    /// The token presented.
    pub token: ApiToken,
}

/// The client IP of a request: the address [`crate::client_addr`] resolved (the TCP peer, or
/// behind a trusted proxy the forwarded client), else the TCP peer.
pub fn client_ip(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<crate::client_addr::ClientAddr>()
        .map(|c| c.0)
        .or_else(|| {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip())
        })
}

/// Why authentication failed, as an answer (429 when the IP is throttled).
pub struct AuthRejection(Response);

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        self.0
    }
}

impl From<ApiError> for AuthRejection {
    fn from(e: ApiError) -> Self {
        AuthRejection(e.into_response())
    }
}

fn throttled(wait: time::Duration) -> AuthRejection {
    let secs = ulo_core::throttle::retry_after_secs(wait);
    let mut resp = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "E0000047",
        format!("API call exceeded rate limit: too many failed authentications from this address; retry in {secs} s"),
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    AuthRejection(resp)
}

/// The token in an Authorization header value, if it uses a scheme we accept.
fn token_from_header(value: &str) -> Option<&str> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    let token = rest.trim();
    (scheme.eq_ignore_ascii_case("SSWS") || scheme.eq_ignore_ascii_case("Bearer"))
        .then_some(token)
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, AuthRejection> {
        let ip = client_ip(parts);
        // Failures from an address over the limit get 429; a valid token always passes, so one
        // noisy client behind a shared address cannot lock every admin out (tokens carry ~238
        // bits: the throttle slows scanners, guessing is hopeless anyway). Failed sign-ins are
        // counted elsewhere and never refuse a token.
        let fail = |msg: &str| {
            if let Some(ip) = ip {
                let now = state.clock.now();
                if let Some(wait) = state.credential_failures.blocked(&ip, now) {
                    return throttled(wait);
                }
                state.credential_failures.fail(ip, now);
            }
            AuthRejection::from(ApiError::unauthorized(msg.to_string()))
        };
        let Some(raw) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(fail(
                "Invalid token provided: send Authorization: SSWS <API token>",
            ));
        };
        let Some(secret) = raw.to_str().ok().and_then(token_from_header) else {
            return Err(fail(
                "Invalid token provided: the Authorization header must be SSWS <API token> or Bearer <API token>",
            ));
        };
        let hash = hash_token(secret);
        // One read: the token, its owner and the owner's roles (a deleted owner takes its tokens).
        let found = {
            let mut tx = state.store.read().await.map_err(ApiError::from)?;
            tx.find_api_token_owner(&hash)
                .await
                .map_err(ApiError::from)?
        };
        let Some((token, user, roles)) = found else {
            return Err(fail(
                "Invalid token provided: the token is unknown or revoked",
            ));
        };
        if let Some(scopes) = &token.scopes {
            return Err(AuthRejection::from(ApiError::forbidden(format!(
                "You do not have permission to perform the requested action: this API token is limited to {} and cannot call the admin API",
                scopes.join(", ")
            ))));
        }
        if user.status != UserStatus::Active {
            return Err(fail("Invalid token provided: its owner is not active"));
        }
        if roles.is_empty() {
            return Err(AuthRejection::from(ApiError::forbidden(
                "You do not have permission to perform the requested action: the token's owner holds no admin role",
            )));
        }
        let now = state.clock.now();
        // Recording every use would make each read a write; a minute's precision is enough.
        if token
            .last_used
            .is_none_or(|t| now - t > Duration::minutes(1))
        {
            let mut tx = state.store.begin().await.map_err(ApiError::from)?;
            tx.touch_api_token(token.id, now)
                .await
                .map_err(ApiError::from)?;
            tx.commit().await.map_err(ApiError::from)?;
        }
        let ua = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let ctx = Context::admin(&user, roles, ip.map(|i| i.to_string()), ua);
        crate::threat_list::admin_call(state, &ctx, &user, ip).await?;
        Ok(Admin { ctx, user, token })
    }
}

/// An admin calling with an API token or, for the few routes that take it (their own API
/// tokens), the session cookie of a signed-in admin.
pub struct AdminPrincipal {
    /// Who, from where, with which roles.
    pub ctx: Context,
    /// The admin.
    pub user: User,
    /// The token presented, when one was.
    pub token: Option<ApiToken>,
}

/// The issuer's origin (`scheme://host[:port]`), what a same-site browser sends as `Origin`.
pub fn issuer_origin(state: &AppState) -> Option<String> {
    url::Url::parse(state.issuer())
        .ok()
        .map(|u| u.origin().ascii_serialization())
}

/// Whether the request's `Origin` header names the issuer's origin (CSRF defence for
/// cookie-authenticated changes; a missing header does not match).
pub fn same_origin(state: &AppState, headers: &axum::http::HeaderMap) -> bool {
    let sent = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    matches!((sent, issuer_origin(state)), (Some(s), Some(o)) if s == o)
}

impl FromRequestParts<AppState> for AdminPrincipal {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, AuthRejection> {
        let has_token = parts.headers.contains_key(header::AUTHORIZATION);
        let signed_in = if has_token {
            None
        } else {
            crate::session_cookie::current(state, &parts.headers)
                .await
                .map_err(ApiError::from)?
        };
        let Some((_session, user)) = signed_in else {
            let admin = Admin::from_request_parts(parts, state).await?;
            return Ok(AdminPrincipal {
                ctx: admin.ctx,
                user: admin.user,
                token: Some(admin.token),
            });
        };
        // SameSite=Lax keeps the cookie off cross-site POSTs, but not off same-site ones from a
        // sibling origin: changes made with the cookie must come from ulo's own pages.
        if !parts.method.is_safe() && !same_origin(state, &parts.headers) {
            return Err(AuthRejection::from(ApiError::forbidden(
                "You do not have permission to perform the requested action: a change made with the session cookie must come from ulo's own origin (Origin header)",
            )));
        }
        let roles = {
            let mut tx = state.store.read().await.map_err(ApiError::from)?;
            tx.list_roles(user.id).await.map_err(ApiError::from)?
        };
        if roles.is_empty() {
            return Err(AuthRejection::from(ApiError::forbidden(
                "You do not have permission to perform the requested action: the signed-in user holds no admin role",
            )));
        }
        let ua = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let ip = client_ip(parts);
        let ctx = Context::admin(&user, roles, ip.map(|i| i.to_string()), ua);
        crate::threat_list::admin_call(state, &ctx, &user, ip).await?;
        Ok(AdminPrincipal {
            ctx,
            user,
            token: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::token_from_header;

    #[test]
    fn header_schemes() {
        assert_eq!(token_from_header("SSWS abc"), Some("abc"));
        assert_eq!(token_from_header("ssws  abc "), Some("abc"));
        assert_eq!(token_from_header("Bearer abc"), Some("abc"));
        assert_eq!(token_from_header("Basic abc"), None);
        assert_eq!(token_from_header("SSWS "), None);
        assert_eq!(token_from_header("abc"), None);
    }
}
