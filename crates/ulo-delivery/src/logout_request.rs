//! Pure builders for the logout requests ulo sends to apps: the Universal Logout request
//! (IETF Global Token Revocation, as Okta uses it) and the OIDC Back-Channel Logout 1.0
//! request. No I/O: the caller passes the current Unix time and a fresh `jti`, and sends
//! the returned [`OutboundRequest`] as a `POST`.

use serde::Serialize;
use serde_json::json;
use ulo_jose::{JoseError, KeyAlg, KeyRing, typ};

/// Lifetime (`exp - iat`) of a Universal Logout request JWT, in seconds (the protocol allows ≤ 5 min).
pub const GTR_TOKEN_LIFETIME_SECS: i64 = 300;

/// Lifetime (`exp - iat`) of a Back-Channel Logout token, in seconds.
pub const LOGOUT_TOKEN_LIFETIME_SECS: i64 = 120;

/// The event a logout token's `events` claim holds.
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// An HTTP `POST` ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    /// Where to `POST`.
    pub url: String,
    /// Request headers, in order.
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Vec<u8>,
}

/// The user a Universal Logout request is about (RFC 9493 subject identifier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectId {
    /// `{"format":"email","email":…}`.
    Email(String),
    /// `{"format":"iss_sub","iss":…,"sub":…}`.
    IssSub {
        /// The issuer (ulo).
        iss: String,
        /// The user's id in the app.
        sub: String,
    },
}

impl SubjectId {
    /// The RFC 9493 JSON form.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Email(email) => json!({"format": "email", "email": email}),
            Self::IssSub { iss, sub } => json!({"format": "iss_sub", "iss": iss, "sub": sub}),
        }
    }
}

impl Serialize for SubjectId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

/// Why a logout request could not be built.
#[derive(Debug, thiserror::Error)]
pub enum LogoutRequestError {
    /// A Back-Channel Logout token needs `sub`, `sid` or both.
    #[error("a logout token needs a sub or a sid")]
    NoSubOrSid,
    /// Signing failed (e.g. no active ES256 key).
    #[error("cannot sign the token: {0}")]
    Sign(#[from] JoseError),
}

/// Builds the Universal Logout request for `subject` to the app's `endpoint`.
///
/// The bearer JWT has `typ: global-token-revocation+jwt`, ES256 with the ring's `kid`, and
/// the claims `iss` = `issuer`, `sub` = `app_client_id`, `aud` = `endpoint`, `jti`, `iat` =
/// `nbf` = `now`, `exp` = `now + 300`.
pub fn gtr_request(
    keys: &KeyRing,
    issuer: &str,
    app_client_id: &str,
    endpoint: &str,
    subject: &SubjectId,
    now: i64,
    jti: &str,
) -> Result<OutboundRequest, LogoutRequestError> {
    let claims = json!({
        "iss": issuer,
        "sub": app_client_id,
        "aud": endpoint,
        "jti": jti,
        "iat": now,
        "nbf": now,
        "exp": now + GTR_TOKEN_LIFETIME_SECS,
    });
    let token = keys.sign(KeyAlg::ES256, typ::GLOBAL_TOKEN_REVOCATION, &claims)?;
    let body = json!({ "sub_id": subject.to_json() });
    Ok(OutboundRequest {
        url: endpoint.to_owned(),
        headers: vec![
            ("Authorization".into(), format!("Bearer {token}")),
            ("Content-Type".into(), "application/json".into()),
        ],
        body: body.to_string().into_bytes(),
    })
}

/// Builds the OIDC Back-Channel Logout 1.0 request to the app's `endpoint`.
///
/// The logout token has `typ: logout+jwt`, ES256 with the ring's `kid`, and the claims
/// `iss` = `issuer`, `aud` = `client_id`, `iat` = `now`, `exp` = `now + 120`, `jti`,
/// `events` with the back-channel logout event, and `sub` and/or `sid`; never a `nonce`.
#[allow(clippy::too_many_arguments)]
pub fn backchannel_logout_request(
    keys: &KeyRing,
    issuer: &str,
    client_id: &str,
    endpoint: &str,
    sub: Option<&str>,
    sid: Option<&str>,
    now: i64,
    jti: &str,
) -> Result<OutboundRequest, LogoutRequestError> {
    let sub = sub.filter(|s| !s.is_empty());
    let sid = sid.filter(|s| !s.is_empty());
    if sub.is_none() && sid.is_none() {
        return Err(LogoutRequestError::NoSubOrSid);
    }
    let mut claims = json!({
        "iss": issuer,
        "aud": client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_LIFETIME_SECS,
        "jti": jti,
        "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
    });
    if let Some(sub) = sub {
        claims["sub"] = sub.into();
    }
    if let Some(sid) = sid {
        claims["sid"] = sid.into();
    }
    let token = keys.sign(KeyAlg::ES256, typ::LOGOUT, &claims)?;
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("logout_token", &token)
        .finish();
    Ok(OutboundRequest {
        url: endpoint.to_owned(),
        headers: vec![(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: body.into_bytes(),
    })
}
