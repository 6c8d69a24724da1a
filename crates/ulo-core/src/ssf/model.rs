//! Streams, their credentials and the events ulo sends on them.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::clock::serde_rfc3339;
use crate::ids::AppId;
use crate::user::str_enum;

/// RFC 8935 push delivery.
pub const PUSH: &str = "urn:ietf:rfc:8935";
/// RFC 8936 poll delivery.
pub const POLL: &str = "urn:ietf:rfc:8936";
/// CAEP session revoked.
pub const SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
/// CAEP credential change.
pub const CREDENTIAL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";
/// SSF stream verification.
pub const VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";
/// What ulo can send.
pub const EVENTS_SUPPORTED: [&str; 3] = [SESSION_REVOKED, CREDENTIAL_CHANGE, VERIFICATION];
/// The job kind that sends one event on a stream (verification, credential change).
pub const EVENT_JOB: &str = "ssf.event";
/// How long events on a stream are retried.
pub const EVENT_DEADLINE: Duration = Duration::hours(24);

/// Whether a stream delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamStatus {
    /// Events are delivered.
    Enabled,
    /// Events are held and delivered when enabled again.
    Paused,
    /// Events are not delivered.
    Disabled,
}
str_enum!(StreamStatus { Enabled => "enabled", Paused => "paused", Disabled => "disabled" });

/// How a stream delivers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamDelivery {
    /// [`PUSH`] or [`POLL`].
    pub method: String,
    /// Push: the receiver's URL. Poll: ulo's URL the receiver polls.
    pub endpoint_url: Option<String>,
    /// Push: the `Authorization` header value to send, sealed at rest.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub authorization_header_sealed: Option<String>,
}

/// An app's event stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SsfStream {
    /// Id.
    pub stream_id: String,
    /// The app whose receiver owns it.
    pub app_id: AppId,
    /// Audience of its SETs: the app's OIDC client id (or the app id).
    pub aud: String,
    /// What the receiver asked for.
    pub events_requested: Vec<String>,
    /// Delivery.
    pub delivery: StreamDelivery,
    /// Free text.
    pub description: Option<String>,
    /// Whether it delivers.
    pub status: StreamStatus,
    /// Why it has that status.
    pub status_reason: Option<String>,
    /// Created.
    #[serde(with = "serde_rfc3339")]
    pub created: OffsetDateTime,
    /// Last changed.
    #[serde(with = "serde_rfc3339")]
    pub updated: OffsetDateTime,
}

impl SsfStream {
    /// The events this stream carries: requested and supported.
    pub fn events_delivered(&self) -> Vec<String> {
        self.events_requested
            .iter()
            .filter(|e| EVENTS_SUPPORTED.contains(&e.as_str()))
            .cloned()
            .collect()
    }

    /// Whether `event` goes out on this stream (verification always does).
    pub fn carries(&self, event: &str) -> bool {
        event == VERIFICATION || self.events_delivered().iter().any(|e| e == event)
    }
}

/// A credential an app's receiver uses to manage its stream and poll (Bearer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SsfCredential {
    /// Id.
    pub id: String,
    /// The app.
    pub app_id: AppId,
    /// First characters of the token.
    pub token_prefix: String,
    /// Created.
    #[serde(with = "serde_rfc3339")]
    pub created: OffsetDateTime,
    /// SHA-256 hex of the token.
    #[serde(skip)]
    pub token_hash: String,
}

/// The purpose binding of a stream's sealed push credential.
pub fn push_auth_purpose(app: AppId) -> String {
    format!("ssf-push-authorization:{app}")
}

/// The payload of an [`EVENT_JOB`]: one event for one app's stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventPayload {
    /// The app.
    pub app_id: AppId,
    /// Event type URI.
    pub event_type: String,
    /// The event's members.
    pub event: Value,
    /// RFC 9493 subject (`None` for a verification event, whose subject is the stream).
    pub sub_id: Option<Value>,
}

/// The key a subject is remembered under (RFC 9493 identifiers compared by value).
pub fn subject_key(sub_id: &Value) -> Result<String, String> {
    let format = sub_id["format"].as_str().ok_or("subject: needs a format")?;
    let field = |k: &str| {
        sub_id[k]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or(format!("subject: format {format} needs {k}"))
    };
    Ok(match format {
        "email" => format!("email:{}", field("email")?.to_lowercase()),
        "iss_sub" => format!("iss_sub:{}|{}", field("iss")?, field("sub")?),
        "opaque" => format!("opaque:{}", field("id")?),
        other => return Err(format!("subject: format {other:?} is not supported")),
    })
}

/// What a receiver sends to create or replace a stream.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamInput {
    /// Events wanted.
    #[serde(default)]
    pub events_requested: Vec<String>,
    /// Delivery.
    pub delivery: Option<DeliveryInput>,
    /// Free text.
    pub description: Option<String>,
    /// Read-only; must match when given.
    pub stream_id: Option<String>,
    /// Read-only, ignored.
    pub iss: Option<Value>,
    /// Read-only, ignored.
    pub aud: Option<Value>,
    /// Read-only, ignored.
    pub events_supported: Option<Value>,
    /// Read-only, ignored.
    pub events_delivered: Option<Value>,
    /// Read-only, ignored.
    pub min_verification_interval: Option<Value>,
}

/// Delivery as a receiver asks for it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryInput {
    /// [`PUSH`] or [`POLL`].
    pub method: String,
    /// Push: where to send.
    pub endpoint_url: Option<String>,
    /// Push: the `Authorization` header to send.
    pub authorization_header: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subject_keys() {
        assert_eq!(
            subject_key(&json!({"format": "email", "email": "A@Example.com"})).unwrap(),
            "email:a@example.com"
        );
        assert_eq!(
            subject_key(&json!({"format": "iss_sub", "iss": "https://u", "sub": "1"})).unwrap(),
            "iss_sub:https://u|1"
        );
        assert!(subject_key(&json!({"format": "phone_number"})).is_err());
        assert!(subject_key(&json!({"format": "email"})).is_err());
        assert!(subject_key(&json!({})).is_err());
    }
}
