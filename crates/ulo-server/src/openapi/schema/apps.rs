//! Apps and their assignments.

use utoipa::ToSchema;

#[allow(unused_imports)]
use super::*;

#[derive(ToSchema)]
pub enum AppOidcTokenEndpointAuthMethod {
    #[serde(rename = "client_secret_basic")]
    ClientSecretBasic,
    #[serde(rename = "client_secret_post")]
    ClientSecretPost,
    #[serde(rename = "private_key_jwt")]
    PrivateKeyJwt,
    #[serde(rename = "none")]
    None,
}

#[derive(ToSchema)]
pub enum AppOidcGrantTypesItem {
    #[serde(rename = "authorization_code")]
    AuthorizationCode,
    #[serde(rename = "refresh_token")]
    RefreshToken,
    #[serde(rename = "client_credentials")]
    ClientCredentials,
}

#[derive(ToSchema)]
pub enum AppOidcIdTokenSignedResponseAlg {
    #[serde(rename = "ES256")]
    Es256,
    #[serde(rename = "RS256")]
    Rs256,
}

/// Sign-on part; present on oidc apps only.
#[derive(ToSchema)]
pub struct AppOidc {
    #[serde(rename = "clientId")]
    pub client_id: String,
    #[serde(rename = "redirectUris")]
    pub redirect_uris: Vec<String>,
    #[serde(rename = "postLogoutRedirectUris")]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(rename = "tokenEndpointAuthMethod")]
    #[schema(inline)]
    pub token_endpoint_auth_method: AppOidcTokenEndpointAuthMethod,
    #[serde(rename = "backchannelLogoutSessionRequired")]
    pub backchannel_logout_session_required: bool,
    /// Only in the answer to the call that generated it: POST /api/v1/apps with an auth method that uses a secret, or PUT /api/v1/apps/{id} switching to one from a method without. Shown once: only its hash is kept.
    #[serde(rename = "clientSecret")]
    #[schema(required = false)]
    pub client_secret: String,
    #[serde(rename = "grantTypes")]
    #[schema(inline, required = false)]
    pub grant_types: Vec<AppOidcGrantTypesItem>,
    #[serde(rename = "accessTokenLifetimeSeconds")]
    #[schema(required = false)]
    pub access_token_lifetime_seconds: i64,
    #[serde(rename = "refreshTokenLifetimeSeconds")]
    #[schema(required = false)]
    pub refresh_token_lifetime_seconds: i64,
    #[serde(rename = "idTokenSignedResponseAlg")]
    #[schema(inline, required = false)]
    pub id_token_signed_response_alg: AppOidcIdTokenSignedResponseAlg,
    /// The client's public keys (private_key_jwt).
    #[schema(required = false)]
    pub jwks: serde_json::Map<String, serde_json::Value>,
}

#[derive(ToSchema)]
pub enum AppLogoutProtocol {
    #[serde(rename = "global-token-revocation")]
    GlobalTokenRevocation,
    #[serde(rename = "oidc-backchannel")]
    OidcBackchannel,
    #[serde(rename = "ssf")]
    Ssf,
}

#[derive(ToSchema)]
pub enum AppLogoutSubjectFormat {
    #[serde(rename = "email")]
    Email,
    #[serde(rename = "iss_sub")]
    IssSub,
}

#[derive(ToSchema)]
pub struct AppLogout {
    pub enabled: bool,
    #[schema(inline, required = false)]
    pub protocol: AppLogoutProtocol,
    #[schema(required = false)]
    pub endpoint: String,
    #[serde(rename = "subjectFormat")]
    #[schema(inline)]
    pub subject_format: AppLogoutSubjectFormat,
}

#[derive(ToSchema)]
pub struct AppProvisioningScim {
    #[serde(rename = "baseUrl")]
    pub base_url: String,
    /// Whether a bearer credential is stored (the credential itself is never answered).
    #[serde(rename = "tokenSet")]
    pub token_set: bool,
}

#[derive(ToSchema)]
pub struct AppProvisioning {
    #[schema(inline)]
    pub scim: AppProvisioningScim,
}

#[derive(ToSchema)]
pub struct AppLinks {
    #[serde(rename = "self")]
    pub self_: Href,
    pub users: Href,
    pub groups: Href,
}

/// An integration. Never shows its secrets, except oidc.clientSecret in the answer to the call that generated it.
#[derive(ToSchema)]
pub struct App {
    #[schema(format = "uuid")]
    pub id: String,
    pub label: String,
    #[serde(rename = "type")]
    pub type_: AppType,
    pub status: AppStatus,
    /// RFC 3339 UTC timestamp with milliseconds, e.g. 2026-01-31T12:00:00.000Z.
    #[schema(format = "date-time")]
    pub created: String,
    /// RFC 3339 UTC timestamp with milliseconds, e.g. 2026-01-31T12:00:00.000Z.
    #[serde(rename = "lastUpdated")]
    #[schema(format = "date-time")]
    pub last_updated: String,
    /// Sign-on part; present on oidc apps only.
    #[schema(inline, required = false)]
    pub oidc: AppOidc,
    #[schema(inline)]
    pub logout: AppLogout,
    #[schema(inline, required = false)]
    pub provisioning: AppProvisioning,
    #[serde(rename = "_links")]
    #[schema(inline)]
    pub links: AppLinks,
}

/// A group assigned to an app.
#[derive(ToSchema)]
pub struct AppGroup {
    #[schema(format = "uuid")]
    pub id: String,
    /// Present in the answer to the assign call.
    #[serde(rename = "appId")]
    #[schema(format = "uuid", required = false)]
    pub app_id: String,
    pub group: Group,
}

#[derive(ToSchema)]
pub enum AppInputOidcTokenEndpointAuthMethod {
    #[serde(rename = "client_secret_basic")]
    ClientSecretBasic,
    #[serde(rename = "client_secret_post")]
    ClientSecretPost,
    #[serde(rename = "private_key_jwt")]
    PrivateKeyJwt,
    #[serde(rename = "none")]
    None,
}

#[derive(ToSchema)]
pub enum AppInputOidcGrantTypesItem {
    #[serde(rename = "authorization_code")]
    AuthorizationCode,
    #[serde(rename = "refresh_token")]
    RefreshToken,
    #[serde(rename = "client_credentials")]
    ClientCredentials,
}

#[derive(ToSchema)]
pub enum AppInputOidcIdTokenSignedResponseAlg {
    #[serde(rename = "ES256")]
    Es256,
    #[serde(rename = "RS256")]
    Rs256,
}

/// OIDC client settings (used by oidc apps).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppInputOidc {
    /// Absolute URLs without fragment.
    #[serde(rename = "redirectUris")]
    #[schema(format = "uri", required = false)]
    pub redirect_uris: Vec<String>,
    #[serde(rename = "postLogoutRedirectUris")]
    #[schema(format = "uri", required = false)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Default client_secret_basic.
    #[serde(rename = "tokenEndpointAuthMethod")]
    #[schema(inline)]
    pub token_endpoint_auth_method: Option<AppInputOidcTokenEndpointAuthMethod>,
    #[serde(rename = "backchannelLogoutSessionRequired")]
    #[schema(required = false)]
    pub backchannel_logout_session_required: bool,
    /// Default [authorization_code, refresh_token]; client_credentials needs a confidential client.
    #[serde(rename = "grantTypes")]
    #[schema(inline, min_items = 1)]
    pub grant_types: Option<Vec<AppInputOidcGrantTypesItem>>,
    /// Default 300.
    #[serde(rename = "accessTokenLifetimeSeconds")]
    #[schema(minimum = 60, maximum = 86400)]
    pub access_token_lifetime_seconds: Option<i64>,
    /// Default 2592000 (30 days); each rotation starts it anew.
    #[serde(rename = "refreshTokenLifetimeSeconds")]
    #[schema(minimum = 300, maximum = 31536000)]
    pub refresh_token_lifetime_seconds: Option<i64>,
    /// Default ES256.
    #[serde(rename = "idTokenSignedResponseAlg")]
    #[schema(inline)]
    pub id_token_signed_response_alg: Option<AppInputOidcIdTokenSignedResponseAlg>,
    /// Required with private_key_jwt (and only then): a JWKS of 1 to 20 public RSA, EC or OKP keys.
    pub jwks: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(ToSchema)]
pub enum AppInputLogoutProtocol {
    #[serde(rename = "global-token-revocation")]
    GlobalTokenRevocation,
    #[serde(rename = "oidc-backchannel")]
    OidcBackchannel,
    #[serde(rename = "ssf")]
    Ssf,
}

#[derive(ToSchema)]
pub enum AppInputLogoutSubjectFormat {
    #[serde(rename = "email")]
    Email,
    #[serde(rename = "iss_sub")]
    IssSub,
}

/// Universal Logout settings. For oidc apps, enabled requires protocol and endpoint; desktop-mfa apps take neither.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppInputLogout {
    #[schema(required = false)]
    pub enabled: bool,
    #[schema(inline)]
    pub protocol: Option<AppInputLogoutProtocol>,
    #[schema(format = "uri")]
    pub endpoint: Option<String>,
    /// Default email.
    #[serde(rename = "subjectFormat")]
    #[schema(inline)]
    pub subject_format: Option<AppInputLogoutSubjectFormat>,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppInputProvisioningScim {
    #[serde(rename = "baseUrl")]
    #[schema(format = "uri")]
    pub base_url: String,
    /// Bearer credential, 1 to 4096 characters; write-only. Omit on replace to keep the stored one.
    #[schema(
        pattern = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$",
        min_length = 1,
        max_length = 4096
    )]
    pub token: Option<String>,
}

/// SCIM provisioning target (oidc apps only).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppInputProvisioning {
    #[schema(inline)]
    pub scim: AppInputProvisioningScim,
}

/// What an admin sends to create or replace an app. Outbound URLs (logout.endpoint, provisioning.scim.baseUrl) must be https (plain http only to loopback when the operator allows it), without credentials or fragment, and never link-local or metadata addresses. An app's type cannot change on replace; an org has at most one desktop-mfa app.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppInput {
    /// Name shown to people (trimmed); not blank; at most 255 bytes.
    #[schema(
        pattern = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$",
        min_length = 1,
        max_length = 255
    )]
    pub label: String,
    #[serde(rename = "type")]
    pub type_: AppType,
    /// OIDC client settings (used by oidc apps).
    #[schema(inline)]
    pub oidc: Option<AppInputOidc>,
    /// Universal Logout settings. For oidc apps, enabled requires protocol and endpoint; desktop-mfa apps take neither.
    #[schema(inline)]
    pub logout: Option<AppInputLogout>,
    /// SCIM provisioning target (oidc apps only).
    #[schema(inline)]
    pub provisioning: Option<AppInputProvisioning>,
}

#[derive(ToSchema)]
pub enum AppLinkAssignedByItemType {
    #[serde(rename = "USER")]
    User,
    #[serde(rename = "GROUP")]
    Group,
}

#[derive(ToSchema)]
pub struct AppLinkAssignedByItem {
    #[serde(rename = "type")]
    #[schema(inline)]
    pub type_: AppLinkAssignedByItemType,
    /// Present when type is GROUP.
    #[serde(rename = "groupId")]
    #[schema(format = "uuid", required = false)]
    pub group_id: String,
}

#[derive(ToSchema)]
pub struct AppLinkLinks {
    pub app: Href,
}

/// An app a user reaches, and how (directly and/or through groups).
#[derive(ToSchema)]
pub struct AppLink {
    #[schema(format = "uuid")]
    pub id: String,
    #[serde(rename = "appInstanceId")]
    #[schema(format = "uuid")]
    pub app_instance_id: String,
    pub label: String,
    #[serde(rename = "appName")]
    pub app_name: AppType,
    pub status: AppStatus,
    #[serde(rename = "logoutEnabled")]
    pub logout_enabled: bool,
    #[serde(rename = "assignedBy")]
    #[schema(inline)]
    pub assigned_by: Vec<AppLinkAssignedByItem>,
    #[serde(rename = "_links")]
    #[schema(inline)]
    pub links: AppLinkLinks,
}

#[derive(ToSchema)]
pub enum AppStatus {
    #[serde(rename = "ACTIVE")]
    Active,
    #[serde(rename = "INACTIVE")]
    Inactive,
}

#[derive(ToSchema)]
pub enum AppType {
    #[serde(rename = "oidc")]
    Oidc,
    #[serde(rename = "desktop-mfa")]
    DesktopMfa,
}

#[derive(ToSchema)]
pub enum AppUserScope {
    #[serde(rename = "USER")]
    User,
    #[serde(rename = "GROUP")]
    Group,
    #[serde(rename = "NONE")]
    None,
}

#[derive(ToSchema)]
pub enum AppUserProvisioningState {
    #[serde(rename = "PENDING")]
    Pending,
    #[serde(rename = "SYNCED")]
    Synced,
    #[serde(rename = "DEACTIVATED")]
    Deactivated,
    #[serde(rename = "ERROR")]
    Error,
}

#[derive(ToSchema)]
pub enum AppUserProvisioningDesired {
    #[serde(rename = "ACTIVE")]
    Active,
    #[serde(rename = "INACTIVE")]
    Inactive,
}

/// The user's provisioning link with the app's SCIM server; null when never pushed.
#[derive(ToSchema)]
pub struct AppUserProvisioning {
    /// The id the app's SCIM server gave the user (the sub of iss_sub logout requests).
    #[serde(rename = "remoteId")]
    pub remote_id: Option<String>,
    #[schema(inline, required = false)]
    pub state: AppUserProvisioningState,
    #[schema(inline, required = false)]
    pub desired: AppUserProvisioningDesired,
    /// HTTP status of the last push.
    #[serde(rename = "lastStatus")]
    pub last_status: Option<i64>,
    #[serde(rename = "lastError")]
    pub last_error: Option<String>,
    #[serde(rename = "lastSynced")]
    #[schema(format = "date-time")]
    pub last_synced: Option<String>,
}

#[derive(ToSchema)]
pub struct AppUser {
    #[schema(format = "uuid", required = false)]
    pub id: String,
    #[serde(rename = "appId")]
    #[schema(format = "uuid", required = false)]
    pub app_id: String,
    /// USER when assigned directly, GROUP when only through groups, NONE when no longer assigned.
    #[schema(inline, required = false)]
    pub scope: AppUserScope,
    #[schema(required = false)]
    pub assigned: bool,
    #[schema(format = "uuid", required = false)]
    pub groups: Vec<String>,
    #[schema(required = false)]
    pub status: String,
    #[schema(required = false)]
    pub user: serde_json::Map<String, serde_json::Value>,
    /// The user's provisioning link with the app's SCIM server; null when never pushed.
    #[schema(inline)]
    pub provisioning: Option<AppUserProvisioning>,
    /// This assignment, and how to push the user again.
    #[serde(rename = "_links")]
    #[schema(inline, required = false)]
    pub links: AppUserLinks,
}

/// An app user's links.
#[derive(ToSchema)]
pub struct AppUserLinks {
    #[serde(rename = "self")]
    pub this: Href,
    /// POST here to push the user to the app again.
    pub resync: Href,
}

#[derive(ToSchema)]
pub enum AssignUserRequestScope {
    #[serde(rename = "USER")]
    User,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignUserRequest {
    /// The user's id or login.
    #[schema(pattern = "^[^\\u0000]*$")]
    pub id: String,
    /// Only USER; assign groups with PUT /api/v1/apps/{id}/groups/{gid}.
    #[schema(inline)]
    pub scope: Option<AssignUserRequestScope>,
}

#[derive(ToSchema)]
pub enum AppLifecycleOp {
    #[serde(rename = "activate")]
    Activate,
    #[serde(rename = "deactivate")]
    Deactivate,
}
