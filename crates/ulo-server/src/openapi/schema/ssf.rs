//! The Shared Signals transmitter.

use utoipa::ToSchema;

#[allow(unused_imports)]
use super::*;

#[derive(ToSchema)]
pub enum SsfConfigurationSpecVersion {
    #[serde(rename = "1_0")]
    V10,
}

#[derive(ToSchema)]
pub enum SsfConfigurationDeliveryMethodsSupportedItem {
    #[serde(rename = "urn:ietf:rfc:8935")]
    UrnIetfRfc8935,
    #[serde(rename = "urn:ietf:rfc:8936")]
    UrnIetfRfc8936,
}

#[derive(ToSchema)]
pub struct SsfConfigurationAuthorizationSchemesItem {
    pub spec_urn: String,
}

#[derive(ToSchema)]
pub enum SsfConfigurationDefaultSubjects {
    #[serde(rename = "ALL")]
    All,
    #[serde(rename = "NONE")]
    None,
}

/// Shared Signals transmitter metadata.
#[derive(ToSchema)]
pub struct SsfConfiguration {
    #[schema(inline)]
    pub spec_version: SsfConfigurationSpecVersion,
    #[schema(format = "uri")]
    pub issuer: String,
    /// The keys SETs are signed with (ulo's JWKS).
    #[schema(format = "uri")]
    pub jwks_uri: String,
    #[schema(inline)]
    pub delivery_methods_supported: Vec<SsfConfigurationDeliveryMethodsSupportedItem>,
    #[schema(format = "uri")]
    pub configuration_endpoint: String,
    #[schema(format = "uri")]
    pub status_endpoint: String,
    #[schema(format = "uri")]
    pub add_subject_endpoint: String,
    #[schema(format = "uri")]
    pub remove_subject_endpoint: String,
    #[schema(format = "uri")]
    pub verification_endpoint: String,
    #[schema(inline)]
    pub authorization_schemes: Vec<SsfConfigurationAuthorizationSchemesItem>,
    #[schema(inline)]
    pub default_subjects: SsfConfigurationDefaultSubjects,
}

#[derive(ToSchema)]
pub enum SsfStreamDeliveryMethod {
    #[serde(rename = "urn:ietf:rfc:8935")]
    UrnIetfRfc8935,
    #[serde(rename = "urn:ietf:rfc:8936")]
    UrnIetfRfc8936,
}

/// How SETs are delivered (a push credential is never shown).
#[derive(ToSchema)]
pub struct SsfStreamDelivery {
    #[schema(inline)]
    pub method: SsfStreamDeliveryMethod,
    /// Push: the receiver's URL. Poll: ulo's URL to poll.
    #[schema(required = true)]
    pub endpoint_url: Option<String>,
}

/// A receiver's event stream (SSF 1.0 §8.1.1). Supported events: https://schemas.openid.net/secevent/caep/event-type/session-revoked, https://schemas.openid.net/secevent/caep/event-type/credential-change, https://schemas.openid.net/secevent/ssf/event-type/verification.
#[derive(ToSchema)]
pub struct SsfStream {
    pub stream_id: String,
    /// ulo's issuer.
    #[schema(format = "uri")]
    pub iss: String,
    /// The audience of the stream's SETs: the app's OIDC client id, or its id.
    pub aud: String,
    pub events_supported: Vec<String>,
    pub events_requested: Vec<String>,
    /// Requested and supported (verification events always go out).
    pub events_delivered: Vec<String>,
    /// How SETs are delivered (a push credential is never shown).
    #[schema(inline)]
    pub delivery: SsfStreamDelivery,
    #[schema(required = true)]
    pub description: Option<String>,
}

#[derive(ToSchema)]
pub enum SsfStreamCreateRequestDeliveryMethod {
    #[serde(rename = "urn:ietf:rfc:8935")]
    UrnIetfRfc8935,
    #[serde(rename = "urn:ietf:rfc:8936")]
    UrnIetfRfc8936,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsfStreamCreateRequestDelivery {
    /// Push (RFC 8935) or poll (RFC 8936).
    #[schema(inline)]
    pub method: SsfStreamCreateRequestDeliveryMethod,
    /// Push: where to send (must obey ulo's outbound URL rules). Poll: ignored; ulo chooses it.
    #[schema(required = false)]
    pub endpoint_url: String,
    /// Push: the Authorization header value to send; kept sealed and never shown.
    #[schema(required = false)]
    pub authorization_header: String,
}

/// A new stream; stream_id is chosen by ulo (sending it answers 400).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsfStreamCreateRequest {
    /// Event type URIs wanted; unsupported ones are kept but not delivered.
    #[schema(required = false)]
    pub events_requested: Vec<String>,
    #[schema(inline, required = false)]
    pub delivery: SsfStreamCreateRequestDelivery,
    pub description: Option<String>,
    /// Read-only; ignored.
    #[schema(required = false)]
    pub iss: serde_json::Value,
    /// Read-only; ignored.
    #[schema(required = false)]
    pub aud: serde_json::Value,
    /// Read-only; ignored.
    #[schema(required = false)]
    pub events_supported: serde_json::Value,
    /// Read-only; ignored.
    #[schema(required = false)]
    pub events_delivered: serde_json::Value,
    /// Read-only; ignored.
    #[schema(required = false)]
    pub min_verification_interval: serde_json::Value,
}

#[derive(ToSchema)]
pub enum SsfStreamUpdateRequestDeliveryMethod {
    #[serde(rename = "urn:ietf:rfc:8935")]
    UrnIetfRfc8935,
    #[serde(rename = "urn:ietf:rfc:8936")]
    UrnIetfRfc8936,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsfStreamUpdateRequestDelivery {
    /// Push (RFC 8935) or poll (RFC 8936).
    #[schema(inline)]
    pub method: SsfStreamUpdateRequestDeliveryMethod,
    /// Push: where to send (must obey ulo's outbound URL rules). Poll: ignored; ulo chooses it.
    #[schema(required = false)]
    pub endpoint_url: String,
    /// Push: the Authorization header value to send; kept sealed and never shown.
    #[schema(required = false)]
    pub authorization_header: String,
}

/// The stream's members (PATCH: only those that change; PUT: all of them).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsfStreamUpdateRequest {
    /// The stream to change; another id answers 404.
    pub stream_id: String,
    /// Event type URIs wanted; unsupported ones are kept but not delivered.
    #[schema(required = false)]
    pub events_requested: Vec<String>,
    #[schema(inline, required = false)]
    pub delivery: SsfStreamUpdateRequestDelivery,
    pub description: Option<String>,
    /// Read-only; ignored.
    #[schema(required = false)]
    pub iss: serde_json::Value,
    /// Read-only; ignored.
    #[schema(required = false)]
    pub aud: serde_json::Value,
    /// Read-only; ignored.
    #[schema(required = false)]
    pub events_supported: serde_json::Value,
    /// Read-only; ignored.
    #[schema(required = false)]
    pub events_delivered: serde_json::Value,
    /// Read-only; ignored.
    #[schema(required = false)]
    pub min_verification_interval: serde_json::Value,
}

#[derive(ToSchema)]
pub enum SsfStreamStatusStatus {
    #[serde(rename = "enabled")]
    Enabled,
    #[serde(rename = "paused")]
    Paused,
    #[serde(rename = "disabled")]
    Disabled,
}

#[derive(ToSchema)]
pub struct SsfStreamStatus {
    pub stream_id: String,
    #[schema(inline)]
    pub status: SsfStreamStatusStatus,
    /// Why it has this status, when one was given.
    #[schema(required = false)]
    pub reason: String,
}

#[derive(ToSchema)]
pub enum SsfStatusRequestStatus {
    #[serde(rename = "enabled")]
    Enabled,
    #[serde(rename = "paused")]
    Paused,
    #[serde(rename = "disabled")]
    Disabled,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsfStatusRequest {
    pub stream_id: String,
    #[schema(inline)]
    pub status: SsfStatusRequestStatus,
    #[schema(required = false)]
    pub reason: String,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsfSubjectRequest {
    pub stream_id: String,
    pub subject: SubjectIdentifier,
    /// Accepted and ignored.
    #[schema(required = false)]
    pub verified: bool,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsfVerifyRequest {
    pub stream_id: String,
    /// Echoed in the verification event.
    #[schema(required = false)]
    pub state: String,
}

#[derive(ToSchema)]
pub struct SsfPollRequestSetErrsValue {
    pub err: String,
    #[schema(required = false)]
    pub description: String,
}

/// RFC 8936 poll request.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsfPollRequest {
    /// At most this many SETs (capped at 1000); 0 only acknowledges.
    #[serde(rename = "maxEvents")]
    #[schema(minimum = 0, default = json!(100), required = false)]
    pub max_events: i64,
    /// Answer at once even when no SET is queued (otherwise wait up to 10 s).
    #[serde(rename = "returnImmediately")]
    #[schema(default = json!(false), required = false)]
    pub return_immediately: bool,
    /// jti of SETs received and processed.
    #[schema(required = false)]
    pub ack: Vec<String>,
    /// jti of SETs that could not be processed, each with {err, description} (RFC 8936 §2.4).
    #[serde(rename = "setErrs")]
    #[schema(inline, required = false)]
    pub set_errs: std::collections::BTreeMap<String, SsfPollRequestSetErrsValue>,
}

/// RFC 8936 poll response.
#[derive(ToSchema)]
pub struct SsfPollResponse {
    /// jti → the SET (a signed JWT, typ secevent+jwt).
    pub sets: std::collections::BTreeMap<String, String>,
    /// More SETs are queued than were answered.
    #[serde(rename = "moreAvailable")]
    pub more_available: bool,
}

/// A Shared Signals receiver credential for one app.
#[derive(ToSchema)]
pub struct SsfCredential {
    #[schema(format = "uuid")]
    pub id: String,
    #[serde(rename = "appId")]
    #[schema(format = "uuid")]
    pub app_id: String,
    /// First 8 characters of the token, to tell credentials apart.
    #[serde(rename = "tokenPrefix")]
    pub token_prefix: String,
    /// RFC 3339 UTC timestamp with milliseconds, e.g. 2026-01-31T12:00:00.000Z.
    #[schema(format = "date-time")]
    pub created: String,
    /// The secret, shown only in this answer: Authorization: Bearer <token> on /ssf.
    pub token: String,
    /// The transmitter metadata URL (/.well-known/ssf-configuration).
    #[schema(format = "uri")]
    pub configuration: String,
}

#[derive(ToSchema)]
#[serde(untagged)]
pub enum SsfReadStreamResponse {
    /// One of the forms.
    SsfStream(SsfStream),
    /// One of the forms.
    ManySsfStream(Vec<SsfStream>),
}
