//! Devices and their agent.

use utoipa::ToSchema;

#[allow(unused_imports)]
use super::*;

#[derive(ToSchema)]
pub enum DeviceStatus {
    #[serde(rename = "ACTIVE")]
    Active,
    #[serde(rename = "REVOKED")]
    Revoked,
}

#[derive(ToSchema)]
pub enum DevicePlatform {
    #[serde(rename = "macos")]
    Macos,
    #[serde(rename = "linux")]
    Linux,
}

#[derive(ToSchema)]
pub struct DeviceCertificate {
    #[schema(required = false)]
    pub pem: String,
    #[serde(rename = "serialNumber")]
    #[schema(required = false)]
    pub serial_number: String,
    #[serde(rename = "sha256Fingerprint")]
    #[schema(required = false)]
    pub sha256_fingerprint: String,
    #[serde(rename = "notBefore")]
    #[schema(format = "date-time", required = false)]
    pub not_before: String,
    #[serde(rename = "notAfter")]
    #[schema(format = "date-time", required = false)]
    pub not_after: String,
}

#[derive(ToSchema)]
pub struct DeviceUsersItem {
    #[schema(format = "uuid", required = false)]
    pub id: String,
    pub login: Option<String>,
    #[serde(rename = "osLogin")]
    #[schema(required = false)]
    pub os_login: String,
    #[serde(rename = "firstSeen")]
    #[schema(format = "date-time", required = false)]
    pub first_seen: String,
    #[serde(rename = "lastSeen")]
    #[schema(format = "date-time", required = false)]
    pub last_seen: String,
}

/// An enrolled computer.
#[derive(ToSchema)]
pub struct Device {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(inline)]
    pub status: DeviceStatus,
    #[schema(inline)]
    pub platform: DevicePlatform,
    #[serde(rename = "osVersion")]
    pub os_version: String,
    pub hostname: String,
    #[serde(rename = "agentVersion")]
    pub agent_version: String,
    /// The device key's P-256 point, uncompressed, base64url.
    #[serde(rename = "publicKey")]
    pub public_key: String,
    #[schema(inline)]
    pub certificate: DeviceCertificate,
    #[schema(format = "date-time")]
    pub created: String,
    #[serde(rename = "lastSeen")]
    #[schema(format = "date-time", required = true)]
    pub last_seen: Option<String>,
    /// Who the agent last reported at the console.
    #[serde(rename = "consoleUser")]
    #[schema(required = true)]
    pub console_user: Option<String>,
    #[schema(format = "date-time", required = true)]
    pub revoked: Option<String>,
    /// GET /devices/{id} only: the people seen on it.
    #[schema(inline, required = false)]
    pub users: Vec<DeviceUsersItem>,
    /// GET /users/{id}/devices only: the person's account on the device.
    #[serde(rename = "osLogin")]
    #[schema(required = false)]
    pub os_login: String,
    /// GET /users/{id}/devices only.
    #[serde(rename = "userLastSeen")]
    #[schema(format = "date-time", required = false)]
    pub user_last_seen: String,
    #[serde(rename = "_links")]
    pub links: serde_json::Map<String, serde_json::Value>,
}

#[derive(ToSchema)]
pub enum DeviceEnrollmentRequestPlatform {
    #[serde(rename = "macos")]
    Macos,
    #[serde(rename = "linux")]
    Linux,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceEnrollmentRequest {
    pub token: String,
    /// PKCS#10 certificate signing request, PEM, for a P-256 key.
    pub csr: String,
    #[schema(inline)]
    pub platform: DeviceEnrollmentRequestPlatform,
    #[serde(rename = "osVersion")]
    #[schema(max_length = 100)]
    pub os_version: String,
    #[schema(max_length = 253)]
    pub hostname: String,
    /// MAJOR.MINOR.PATCH
    #[serde(rename = "agentVersion")]
    pub agent_version: String,
}

#[derive(ToSchema)]
pub struct DeviceEnrollment {
    #[serde(rename = "deviceId")]
    #[schema(format = "uuid")]
    pub device_id: String,
    /// The device certificate (PEM), subject CN the device id, client auth, one year.
    pub certificate: String,
    /// ulo's device CA (PEM).
    #[serde(rename = "caCertificate")]
    pub ca_certificate: String,
    pub issuer: String,
    #[serde(rename = "agentApi")]
    pub agent_api: String,
    pub jwks: Jwks,
    #[serde(rename = "pollIntervalSeconds")]
    pub poll_interval_seconds: i64,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentPollRequest {
    /// The account signed in at the console; ulo links the device to the ulo user with that login (or the one user whose login is <name>@…).
    #[serde(rename = "consoleUser")]
    pub console_user: Option<String>,
    #[serde(rename = "osVersion")]
    #[schema(required = false)]
    pub os_version: String,
    #[schema(required = false)]
    pub hostname: String,
    #[serde(rename = "agentVersion")]
    #[schema(required = false)]
    pub agent_version: String,
    /// The kids of the ulo signing keys the agent pins (enrollment, then key rollovers). When they differ from ulo's published keys, the answer carries a `keyset`.
    #[serde(rename = "pinnedKids")]
    #[schema(max_items = 100, required = false)]
    pub pinned_kids: Vec<String>,
}

#[derive(ToSchema)]
pub enum AgentPollResponseCommandsItemType {
    #[serde(rename = "SIGN_OUT")]
    SignOut,
}

#[derive(ToSchema)]
pub struct AgentPollResponseCommandsItem {
    #[schema(format = "uuid")]
    pub id: String,
    #[serde(rename = "type")]
    #[schema(inline)]
    pub type_: AgentPollResponseCommandsItemType,
    /// The signed command (JWT).
    pub token: String,
}

#[derive(ToSchema)]
pub struct AgentPollResponse {
    #[schema(inline)]
    pub commands: Vec<AgentPollResponseCommandsItem>,
    #[serde(rename = "serverTime")]
    #[schema(format = "date-time")]
    pub server_time: String,
    #[serde(rename = "pollIntervalSeconds")]
    pub poll_interval_seconds: i64,
    /// Key rollover, only when `pinnedKids` differ from ulo's published keys: a JWT (`typ: ulo-keyset+jwt`, `iss` ulo, `aud` the device id, `iat`, `exp` 5 minutes later, `jwks` ulo's current JWKS) signed by a key the agent already pins. The agent replaces its pinned keys with `jwks` only after verifying it against them, and never with a keyset older than the last one applied.
    #[schema(required = false)]
    pub keyset: String,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDeviceEnrollmentTokenRequest {
    /// How long the token is valid.
    #[serde(rename = "expiresInSeconds")]
    #[schema(minimum = 60, maximum = 2592000, default = json!(3600), required = false)]
    pub expires_in_seconds: i64,
}

#[derive(ToSchema)]
pub struct CreateDeviceEnrollmentTokenResponse {
    pub id: String,
    /// The secret, shown once.
    pub token: String,
    #[serde(rename = "expiresAt")]
    #[schema(format = "date-time")]
    pub expires_at: String,
    #[schema(format = "date-time")]
    pub created: String,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutUserDevicesRequest {
    #[schema(min_length = 1, max_length = 256, default = json!("ADMIN"), required = false)]
    pub reason: String,
}

#[derive(ToSchema)]
pub enum AcknowledgeDeviceCommandRequestResult {
    #[serde(rename = "SUCCESS")]
    Success,
    #[serde(rename = "FAILURE")]
    Failure,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgeDeviceCommandRequest {
    #[schema(inline)]
    pub result: AcknowledgeDeviceCommandRequestResult,
    #[schema(max_length = 2000, required = false)]
    pub detail: String,
}

#[derive(ToSchema)]
pub enum AcknowledgeDeviceCommandResponseStatus {
    #[serde(rename = "SUCCEEDED")]
    Succeeded,
    #[serde(rename = "FAILED")]
    Failed,
}

#[derive(ToSchema)]
pub struct AcknowledgeDeviceCommandResponse {
    #[schema(format = "uuid", required = false)]
    pub id: String,
    #[schema(inline, required = false)]
    pub status: AcknowledgeDeviceCommandResponseStatus,
}
