//! Reading requests: the bearer token, the body, and the claims each protocol requires.

use axum::http::{HeaderMap, header};
use serde_json::Value;

use crate::{BackchannelLogout, MAX_TOKEN_LIFETIME_SECS, ReceiverError, Subject};

/// Extracts the bearer token from `Authorization`.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<&str, ReceiverError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ReceiverError::InvalidToken("missing Authorization header".into()))?
        .to_str()
        .map_err(|_| ReceiverError::InvalidToken("malformed Authorization header".into()))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| ReceiverError::InvalidToken("expected a Bearer token".into()))?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(ReceiverError::InvalidToken(
            "expected a Bearer token".into(),
        ));
    }
    Ok(token)
}

/// Checks the claims ulo-jose treats as optional but this protocol requires.
pub(crate) fn check_required_claims(claims: &Value) -> Result<(), ReceiverError> {
    let invalid = |m: &str| ReceiverError::InvalidToken(m.to_owned());
    let int = |name: &str| claims.get(name).and_then(Value::as_i64);
    if claims
        .get("jti")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(invalid("token has no jti"));
    }
    if claims.get("sub").and_then(Value::as_str).is_none() {
        return Err(invalid("token has no sub"));
    }
    let iat = int("iat").ok_or_else(|| invalid("token has no integer iat"))?;
    let exp = int("exp").ok_or_else(|| invalid("token has no integer exp"))?;
    if exp.saturating_sub(iat) > MAX_TOKEN_LIFETIME_SECS {
        return Err(invalid("token lifetime exceeds 5 minutes"));
    }
    if claims.get("nbf").is_some() && int("nbf").is_none() {
        return Err(invalid("nbf is not an integer"));
    }
    Ok(())
}

/// The event a logout token's `events` claim must hold.
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Checks the Back-Channel Logout claims and returns who is logged out.
pub(crate) fn check_logout_token_claims(
    claims: &Value,
) -> Result<BackchannelLogout, ReceiverError> {
    let invalid = |m: &str| ReceiverError::InvalidToken(m.to_owned());
    let string = |name: &str| -> Result<Option<String>, ReceiverError> {
        match claims.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(_) => Err(invalid(&format!("token {name} is not a non-empty string"))),
        }
    };
    if string("jti")?.is_none() {
        return Err(invalid("token has no jti"));
    }
    if claims.get("iat").and_then(Value::as_i64).is_none() {
        return Err(invalid("token has no integer iat"));
    }
    if claims.get("exp").and_then(Value::as_i64).is_none() {
        return Err(invalid("token has no integer exp"));
    }
    if claims.get("nbf").is_some() && claims.get("nbf").and_then(Value::as_i64).is_none() {
        return Err(invalid("nbf is not an integer"));
    }
    let events = claims
        .get("events")
        .ok_or_else(|| invalid("token has no events claim"))?
        .as_object()
        .ok_or_else(|| invalid("token events claim is not an object"))?;
    match events.get(BACKCHANNEL_LOGOUT_EVENT) {
        Some(Value::Object(_)) => {}
        Some(_) => return Err(invalid("back-channel logout event is not an object")),
        None => return Err(invalid("token events lack the back-channel logout event")),
    }
    if claims.get("nonce").is_some() {
        return Err(invalid("logout token must not contain a nonce"));
    }
    let sub = string("sub")?;
    let sid = string("sid")?;
    if sub.is_none() && sid.is_none() {
        return Err(invalid("logout token has neither sub nor sid"));
    }
    Ok(BackchannelLogout { sub, sid })
}

/// Extracts `logout_token` from a form-encoded Back-Channel Logout body.
pub(crate) fn parse_backchannel_request(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, ReceiverError> {
    let bad = |m: &str| ReceiverError::BadRequest(m.to_owned());
    if media_type(headers) != "application/x-www-form-urlencoded" {
        return Err(bad(
            "Content-Type must be application/x-www-form-urlencoded",
        ));
    }
    let mut token = None;
    for (name, value) in form_urlencoded::parse(body) {
        if name == "logout_token" {
            if token.is_some() {
                return Err(bad("logout_token is repeated"));
            }
            token = Some(value.into_owned());
        }
    }
    token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad("body has no logout_token"))
}

/// The lowercased media type of `Content-Type`, without parameters.
fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Parses the JSON body into a [`Subject`].
pub(crate) fn parse_request(headers: &HeaderMap, body: &[u8]) -> Result<Subject, ReceiverError> {
    let bad = |m: String| ReceiverError::BadRequest(m);
    if media_type(headers) != "application/json" {
        return Err(bad("Content-Type must be application/json".into()));
    }
    let doc: Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("body is not JSON: {e}")))?;
    let subject = doc
        .get("sub_id")
        .or_else(|| doc.get("subject"))
        .ok_or_else(|| bad("body has no sub_id".into()))?;
    parse_subject(subject)
}

/// Parses an RFC 9493 subject identifier of format `email` or `iss_sub`.
pub fn parse_subject(subject: &Value) -> Result<Subject, ReceiverError> {
    let bad = |m: &str| ReceiverError::BadRequest(m.to_owned());
    let member = |name: &str| {
        subject
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if !subject.is_object() {
        return Err(bad("sub_id is not an object"));
    }
    match subject.get("format").and_then(Value::as_str) {
        Some("email") => Ok(Subject::Email {
            email: member("email").ok_or_else(|| bad("email subject has no email"))?,
        }),
        Some("iss_sub") => Ok(Subject::IssSub {
            iss: member("iss").ok_or_else(|| bad("iss_sub subject has no iss"))?,
            sub: member("sub").ok_or_else(|| bad("iss_sub subject has no sub"))?,
        }),
        Some(other) => Err(ReceiverError::BadRequest(format!(
            "unsupported subject format {other:?}"
        ))),
        None => Err(bad("sub_id has no format")),
    }
}
