//! People, roles and errors.

use utoipa::ToSchema;

#[allow(unused_imports)]
use super::*;

#[derive(ToSchema)]
pub enum AdminRoleType {
    #[serde(rename = "SUPER_ADMIN")]
    SuperAdmin,
    #[serde(rename = "READ_ONLY_ADMIN")]
    ReadOnlyAdmin,
}

/// Every error answer of the API.
#[derive(ToSchema)]
pub struct Error {
    /// Stable Okta-style code: E0000001 validation, E0000003 malformed body, E0000006 forbidden, E0000007 not found, E0000009 internal, E0000010 store unavailable, E0000011 invalid token, E0000022 method not allowed, E0000038 invalid state, E0000047 rate limited, E0000070 body too large, E0000076 unsupported media type, E0000183 conflict.
    #[serde(rename = "errorCode")]
    #[schema(pattern = "^E[0-9]{7}$")]
    pub error_code: String,
    /// One line a person can act on.
    #[serde(rename = "errorSummary")]
    pub error_summary: String,
    /// The error code again (Okta compatibility).
    #[serde(rename = "errorLink")]
    pub error_link: String,
    /// Unique id of this error answer, for the server log.
    #[serde(rename = "errorId")]
    #[schema(pattern = "^oae[0-9a-f]{32}$")]
    pub error_id: String,
    /// Details, e.g. one per invalid field; often empty.
    #[serde(rename = "errorCauses")]
    pub error_causes: Vec<ErrorCause>,
}

#[derive(ToSchema)]
pub struct ErrorCause {
    #[serde(rename = "errorSummary")]
    pub error_summary: String,
}

#[derive(ToSchema)]
pub struct Href {
    #[schema(format = "uri")]
    pub href: String,
}

#[derive(ToSchema)]
pub enum HealthStatus {
    #[serde(rename = "UP")]
    Up,
    #[serde(rename = "DOWN")]
    Down,
}

#[derive(ToSchema)]
pub enum HealthStore {
    #[serde(rename = "sqlite")]
    Sqlite,
    #[serde(rename = "postgres")]
    Postgres,
}

#[derive(ToSchema)]
pub struct Health {
    #[schema(inline)]
    pub status: HealthStatus,
    #[schema(inline)]
    pub store: HealthStore,
    /// Present when DOWN.
    #[schema(required = false)]
    pub reason: String,
}

#[derive(ToSchema)]
pub enum UserProvisionedBy {
    #[serde(rename = "scim")]
    Scim,
    #[serde(rename = "api")]
    Api,
    #[serde(rename = "console")]
    Console,
}

#[derive(ToSchema)]
pub enum UserRiskLevel {
    #[serde(rename = "LOW")]
    Low,
    #[serde(rename = "MEDIUM")]
    Medium,
    #[serde(rename = "HIGH")]
    High,
}

#[derive(ToSchema)]
pub struct UserLinks {
    #[serde(rename = "self")]
    pub self_: Href,
    pub groups: Href,
    #[serde(rename = "appLinks")]
    pub app_links: Href,
}

/// A person in the directory.
#[derive(ToSchema)]
pub struct User {
    /// Stable id (UUID v7).
    #[schema(format = "uuid")]
    pub id: String,
    pub status: UserStatus,
    #[serde(rename = "provisionedBy")]
    #[schema(inline)]
    pub provisioned_by: UserProvisionedBy,
    #[serde(rename = "riskLevel")]
    #[schema(inline)]
    pub risk_level: UserRiskLevel,
    /// RFC 3339 UTC timestamp with milliseconds, e.g. 2026-01-31T12:00:00.000Z.
    #[schema(format = "date-time")]
    pub created: String,
    /// RFC 3339 UTC timestamp with milliseconds, or null when it never happened.
    #[schema(format = "date-time", required = true)]
    pub activated: Option<String>,
    /// RFC 3339 UTC timestamp with milliseconds, or null when it never happened.
    #[serde(rename = "statusChanged")]
    #[schema(format = "date-time", required = true)]
    pub status_changed: Option<String>,
    /// RFC 3339 UTC timestamp with milliseconds, e.g. 2026-01-31T12:00:00.000Z.
    #[serde(rename = "lastUpdated")]
    #[schema(format = "date-time")]
    pub last_updated: String,
    /// RFC 3339 UTC timestamp with milliseconds, or null when it never happened.
    #[serde(rename = "passwordChanged")]
    #[schema(format = "date-time", required = true)]
    pub password_changed: Option<String>,
    /// RFC 3339 UTC timestamp with milliseconds, or null when it never happened.
    #[serde(rename = "lastLogin")]
    #[schema(format = "date-time", required = true)]
    pub last_login: Option<String>,
    pub profile: UserProfile,
    #[serde(rename = "_links")]
    #[schema(inline)]
    pub links: UserLinks,
}

/// Okta's base profile attributes. Unknown attributes are refused (400).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserProfile {
    /// Unique sign-in name (case-insensitive, trimmed); must be an email address: one @, a dot inside the domain, no spaces, at most 254 bytes.
    #[schema(
        pattern = "^[^@\\s\\u0000-\\u001f\\u007f-\\u009f]+@[^@.\\s\\u0000-\\u001f\\u007f-\\u009f][^@\\s\\u0000-\\u001f\\u007f-\\u009f]*\\.[^@\\s\\u0000-\\u001f\\u007f-\\u009f]*[^@.\\s\\u0000-\\u001f\\u007f-\\u009f]$",
        min_length = 3,
        max_length = 254
    )]
    pub login: String,
    /// Primary email (trimmed); must be an email address, as login.
    #[schema(
        pattern = "^[^@\\s\\u0000-\\u001f\\u007f-\\u009f]+@[^@.\\s\\u0000-\\u001f\\u007f-\\u009f][^@\\s\\u0000-\\u001f\\u007f-\\u009f]*\\.[^@\\s\\u0000-\\u001f\\u007f-\\u009f]*[^@.\\s\\u0000-\\u001f\\u007f-\\u009f]$",
        min_length = 3,
        max_length = 254
    )]
    pub email: String,
    /// Given name; not blank; at most 1024 bytes.
    #[serde(rename = "firstName")]
    #[schema(
        pattern = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$",
        min_length = 1,
        max_length = 1024
    )]
    pub first_name: String,
    /// Family name; not blank; at most 1024 bytes.
    #[serde(rename = "lastName")]
    #[schema(
        pattern = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$",
        min_length = 1,
        max_length = 1024
    )]
    pub last_name: String,
    /// Name to display. Omitted from answers when unset; null in a request means unset.
    #[serde(rename = "displayName")]
    #[schema(pattern = "^[^\\u0000]*$")]
    pub display_name: Option<String>,
    /// Casual name. Omitted from answers when unset; null in a request means unset.
    #[serde(rename = "nickName")]
    #[schema(pattern = "^[^\\u0000]*$")]
    pub nick_name: Option<String>,
    /// Secondary email; must look like an email address. Omitted from answers when unset; null in a request means unset.
    #[serde(rename = "secondEmail")]
    #[schema(
        pattern = "^[^@\\s\\u0000-\\u001f\\u007f-\\u009f]+@[^@.\\s\\u0000-\\u001f\\u007f-\\u009f][^@\\s\\u0000-\\u001f\\u007f-\\u009f]*\\.[^@\\s\\u0000-\\u001f\\u007f-\\u009f]*[^@.\\s\\u0000-\\u001f\\u007f-\\u009f]$",
        max_length = 254
    )]
    pub second_email: Option<String>,
    /// Mobile phone. Omitted from answers when unset; null in a request means unset.
    #[serde(rename = "mobilePhone")]
    #[schema(pattern = "^[^\\u0000]*$")]
    pub mobile_phone: Option<String>,
    /// Job title. Omitted from answers when unset; null in a request means unset.
    #[schema(pattern = "^[^\\u0000]*$")]
    pub title: Option<String>,
    /// Department. Omitted from answers when unset; null in a request means unset.
    #[schema(pattern = "^[^\\u0000]*$")]
    pub department: Option<String>,
    /// Organization. Omitted from answers when unset; null in a request means unset.
    #[schema(pattern = "^[^\\u0000]*$")]
    pub organization: Option<String>,
    /// Division. Omitted from answers when unset; null in a request means unset.
    #[schema(pattern = "^[^\\u0000]*$")]
    pub division: Option<String>,
    /// Cost center. Omitted from answers when unset; null in a request means unset.
    #[serde(rename = "costCenter")]
    #[schema(pattern = "^[^\\u0000]*$")]
    pub cost_center: Option<String>,
    /// Employee number. Omitted from answers when unset; null in a request means unset.
    #[serde(rename = "employeeNumber")]
    #[schema(pattern = "^[^\\u0000]*$")]
    pub employee_number: Option<String>,
    /// Manager's name. Omitted from answers when unset; null in a request means unset.
    #[schema(pattern = "^[^\\u0000]*$")]
    pub manager: Option<String>,
    /// Manager's id. Omitted from answers when unset; null in a request means unset.
    #[serde(rename = "managerId")]
    #[schema(pattern = "^[^\\u0000]*$")]
    pub manager_id: Option<String>,
    /// User type. Omitted from answers when unset; null in a request means unset.
    #[serde(rename = "userType")]
    #[schema(pattern = "^[^\\u0000]*$")]
    pub user_type: Option<String>,
    /// Locale, e.g. en_US. Omitted from answers when unset; null in a request means unset.
    #[schema(pattern = "^[^\\u0000]*$")]
    pub locale: Option<String>,
    /// Time zone, e.g. America/Los_Angeles. Omitted from answers when unset; null in a request means unset.
    #[schema(pattern = "^[^\\u0000]*$")]
    pub timezone: Option<String>,
}

#[derive(ToSchema)]
pub enum UserStatus {
    #[serde(rename = "STAGED")]
    Staged,
    #[serde(rename = "ACTIVE")]
    Active,
    #[serde(rename = "SUSPENDED")]
    Suspended,
    #[serde(rename = "DEPROVISIONED")]
    Deprovisioned,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    pub profile: UserProfile,
    pub credentials: Option<PasswordCredentials>,
    /// Groups to add the user to; each must exist (else 404) and be a UUID (else 400).
    #[serde(rename = "groupIds")]
    #[schema(format = "uuid", required = false)]
    pub group_ids: Vec<String>,
}

/// Send profile and/or credentials (400 when neither).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    pub profile: Option<UserProfilePatch>,
    pub credentials: Option<PasswordCredentials>,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceUserRequest {
    pub profile: UserProfile,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordCredentialsPassword {
    /// At least 8 characters, at most 256 bytes. Write-only: never answered.
    #[schema(pattern = "^[^\\u0000]*$", min_length = 8)]
    pub value: String,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordCredentials {
    #[schema(inline)]
    pub password: Option<PasswordCredentialsPassword>,
}

#[derive(ToSchema)]
pub enum RoleLabel {
    #[serde(rename = "Super Administrator")]
    SuperAdministrator,
    #[serde(rename = "Read Only Administrator")]
    ReadOnlyAdministrator,
}

#[derive(ToSchema)]
pub enum RoleStatus {
    #[serde(rename = "ACTIVE")]
    Active,
}

/// An admin role a user holds; API tokens act with their owner's roles.
#[derive(ToSchema)]
pub struct Role {
    pub id: AdminRoleType,
    #[serde(rename = "type")]
    pub type_: AdminRoleType,
    #[schema(inline)]
    pub label: RoleLabel,
    #[schema(inline)]
    pub status: RoleStatus,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRoleRequest {
    #[serde(rename = "type")]
    pub type_: AdminRoleType,
}

#[derive(ToSchema)]
pub enum UserLifecycleOp {
    #[serde(rename = "activate")]
    Activate,
    #[serde(rename = "suspend")]
    Suspend,
    #[serde(rename = "unsuspend")]
    Unsuspend,
    #[serde(rename = "deactivate")]
    Deactivate,
}

/// The user, with `logoutId` naming the logout's receipt.
#[derive(ToSchema)]
pub struct ResetUserPasswordResponse {
    #[serde(flatten)]
    pub user: User,
    /// The Universal Logout the reset started: GET /api/v1/logouts/{logoutId}.
    #[serde(rename = "logoutId")]
    #[schema(format = "uuid")]
    pub logout_id: String,
}

/// An OpenAPI 3.1 document.
#[derive(ToSchema)]
pub struct OpenapiDocumentResponse {
    pub openapi: serde_json::Value,
    pub info: serde_json::Value,
    pub paths: serde_json::Value,
    #[schema(required = false)]
    pub components: serde_json::Value,
    #[schema(required = false)]
    pub security: serde_json::Value,
    #[schema(required = false)]
    pub tags: serde_json::Value,
}
