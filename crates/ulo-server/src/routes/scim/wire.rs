//! SCIM on the wire: errors (RFC 7644 §3.12), bearer authentication, bodies, ETags.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use ulo_core::context::Context;
use ulo_core::error::DomainError;
use ulo_scim::wire::ErrorBody;

use crate::auth::client_ip;
use crate::state::AppState;

/// The SCIM media type.
pub const SCIM_JSON: &str = ulo_scim::wire::MEDIA_TYPE;

/// A SCIM error answer: `status`, optional `scimType`, `detail`.
#[derive(Debug)]
pub struct ScimError {
    /// HTTP status.
    pub status: StatusCode,
    /// RFC 7644 §3.12 error keyword.
    pub scim_type: Option<&'static str>,
    /// For a person.
    pub detail: String,
    /// Seconds to wait before trying again (429 only): sent as `Retry-After`.
    pub retry_after: Option<u64>,
}

impl ScimError {
    /// An error with a status, keyword and detail.
    pub fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// 400 with `scim_type`.
    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }
}

impl From<DomainError> for ScimError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Validation { summary, causes } => Self::bad(
                "invalidValue",
                format!(
                    "{summary}: {}",
                    causes
                        .iter()
                        .map(|c| c.0.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            ),
            DomainError::NotFound { kind, id } => Self::not_found(format!("{kind} {id} not found")),
            DomainError::Conflict(m) => Self::new(StatusCode::CONFLICT, Some("uniqueness"), m),
            DomainError::InvalidState(m) => Self::bad("invalidValue", m),
            DomainError::Forbidden(m) => Self::new(StatusCode::FORBIDDEN, None, m),
            DomainError::Unauthorized(m) => Self::new(StatusCode::UNAUTHORIZED, None, m),
            DomainError::Store(ulo_core::store::StoreError::Unique(m)) => {
                Self::new(StatusCode::CONFLICT, Some("uniqueness"), m)
            }
            DomainError::Store(s) => {
                tracing::error!(error = %s, "SCIM request failed in storage");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, None, "internal error")
            }
        }
    }
}

impl From<ulo_scim::patch::PatchError> for ScimError {
    fn from(e: ulo_scim::patch::PatchError) -> Self {
        Self::bad(e.scim_type, e.detail)
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let body = ErrorBody::new(self.status.as_u16(), self.scim_type, self.detail);
        let mut resp = scim_response(self.status, &body);
        if let Some(v) = self
            .retry_after
            .and_then(|secs| HeaderValue::from_str(&secs.to_string()).ok())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
        }
        resp
    }
}

/// A SCIM answer: `body` as `application/scim+json` with `status`.
pub fn scim_response(status: StatusCode, body: &impl Serialize) -> Response {
    let text = match serde_json::to_string(body) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "a SCIM answer does not serialize");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut resp = (status, text).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    resp
}

/// A resource answer with its `ETag` (from `meta.version`) and, on create, `Location`.
pub fn resource_response(status: StatusCode, doc: &Value) -> Response {
    let mut resp = scim_response(status, doc);
    if let Some(v) = doc["meta"]["version"]
        .as_str()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        resp.headers_mut().insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED
        && let Some(l) = doc["meta"]["location"]
            .as_str()
            .and_then(|v| HeaderValue::from_str(v).ok())
    {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    resp
}

/// Unknown paths under `/scim/v2`, answered as a SCIM error.
pub async fn not_found() -> ScimError {
    ScimError::not_found("no such SCIM endpoint")
}

/// 429 for an address with too many failed SCIM credentials, with when to try again.
fn throttled(wait: time::Duration) -> ScimError {
    let secs = ulo_core::throttle::retry_after_secs(wait);
    ScimError {
        retry_after: Some(secs),
        ..ScimError::new(
            StatusCode::TOO_MANY_REQUESTS,
            None,
            format!("too many failed authentications from this address; retry in {secs} s"),
        )
    }
}

/// A SCIM client authenticated with a SCIM credential.
pub struct ScimClient {
    /// The context every directory call takes (actor: the credential).
    pub ctx: Context,
}

impl FromRequestParts<AppState> for ScimClient {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ScimError> {
        let unauthorized = |m: &str| ScimError::new(StatusCode::UNAUTHORIZED, None, m);
        let ip = client_ip(parts);
        // Only failed SCIM credentials count, and only a failing request waits: a valid
        // credential is never refused because of other clients (or sign-ins) at its address.
        let now = state.clock.now();
        let refuse = |m: &str| match ip {
            Some(ip) => {
                if let Some(wait) = state.credential_failures.blocked(&ip, now) {
                    return throttled(wait);
                }
                state.credential_failures.fail(ip, now);
                unauthorized(m)
            }
            None => unauthorized(m),
        };
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
            .map(|(_, t)| t.trim())
            .filter(|t| !t.is_empty());
        let Some(secret) = secret else {
            return Err(refuse("send Authorization: Bearer <SCIM credential>"));
        };
        let Some(cred) = state.directory().find_scim_credential(secret).await? else {
            return Err(refuse("the SCIM credential is unknown or revoked"));
        };
        let ua = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok(ScimClient {
            ctx: Context::scim(
                &cred,
                state.config.scim_shows_admins,
                ip.map(|i| i.to_string()),
                ua,
            ),
        })
    }
}

/// Parses a request body sent as `application/scim+json` or `application/json`.
pub fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, ScimError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    if let Some(ct) = ct
        && ct != SCIM_JSON
        && ct != "application/json"
    {
        return Err(ScimError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            format!("send {SCIM_JSON} or application/json, not {ct}"),
        ));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ScimError::bad("invalidSyntax", format!("the body is not valid JSON: {e}")))?;
    if !v.is_object() {
        return Err(ScimError::bad(
            "invalidSyntax",
            "the body must be a JSON object",
        ));
    }
    Ok(v)
}

/// Checks `If-Match` against the resource's current version (412 when stale).
pub fn check_if_match(headers: &HeaderMap, version: &str) -> Result<(), ScimError> {
    let Some(sent) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    if etag_list_matches(sent, version) {
        Ok(())
    } else {
        Err(ScimError::new(
            StatusCode::PRECONDITION_FAILED,
            None,
            format!("the resource changed: its version is now {version}"),
        ))
    }
}

/// Whether `If-None-Match` names the current version (the answer is then 304).
pub fn none_match_hits(headers: &HeaderMap, version: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|sent| etag_list_matches(sent, version))
}

/// Weak comparison of a header's entity-tag list with `version` (`*` matches anything).
fn etag_list_matches(list: &str, version: &str) -> bool {
    let strip = |t: &str| t.trim().trim_start_matches("W/").to_string();
    list.split(',')
        .any(|t| t.trim() == "*" || strip(t) == strip(version))
}

/// 304 with the ETag.
pub fn not_modified(version: &str) -> Response {
    let mut resp = StatusCode::NOT_MODIFIED.into_response();
    if let Ok(v) = HeaderValue::from_str(version) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

/// A weak ETag from a last-modified instant.
pub fn version_of(last_modified: time::OffsetDateTime) -> String {
    format!("W/\"{}\"", ulo_core::clock::to_millis(last_modified))
}
