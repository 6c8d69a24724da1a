//! Profile patches, groups, API tokens, features and SCIM credentials.

use utoipa::ToSchema;

#[allow(unused_imports)]
use super::*;

/// Some attributes of a profile: those present replace the stored ones, null removes one. The merged profile must still be valid (login, email, firstName, lastName not blank). Unknown attributes are refused (400).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserProfilePatch {
    /// Unique sign-in name (case-insensitive, trimmed); must be an email address: one @, a dot inside the domain, no spaces, at most 254 bytes. Cannot be removed (null answers 400).
    #[schema(
        pattern = "^[^@\\s\\u0000-\\u001f\\u007f-\\u009f]+@[^@.\\s\\u0000-\\u001f\\u007f-\\u009f][^@\\s\\u0000-\\u001f\\u007f-\\u009f]*\\.[^@\\s\\u0000-\\u001f\\u007f-\\u009f]*[^@.\\s\\u0000-\\u001f\\u007f-\\u009f]$",
        min_length = 3,
        max_length = 254,
        required = false
    )]
    pub login: String,
    /// Primary email (trimmed); must be an email address, as login. Cannot be removed (null answers 400).
    #[schema(
        pattern = "^[^@\\s\\u0000-\\u001f\\u007f-\\u009f]+@[^@.\\s\\u0000-\\u001f\\u007f-\\u009f][^@\\s\\u0000-\\u001f\\u007f-\\u009f]*\\.[^@\\s\\u0000-\\u001f\\u007f-\\u009f]*[^@.\\s\\u0000-\\u001f\\u007f-\\u009f]$",
        min_length = 3,
        max_length = 254,
        required = false
    )]
    pub email: String,
    /// Given name; not blank; at most 1024 bytes. Cannot be removed (null answers 400).
    #[serde(rename = "firstName")]
    #[schema(
        pattern = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$",
        min_length = 1,
        max_length = 1024,
        required = false
    )]
    pub first_name: String,
    /// Family name; not blank; at most 1024 bytes. Cannot be removed (null answers 400).
    #[serde(rename = "lastName")]
    #[schema(
        pattern = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$",
        min_length = 1,
        max_length = 1024,
        required = false
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
pub enum GroupType {
    #[serde(rename = "OKTA_GROUP")]
    OktaGroup,
}

#[derive(ToSchema)]
pub struct GroupLinks {
    #[serde(rename = "self")]
    pub self_: Href,
    pub users: Href,
}

/// A set of users.
#[derive(ToSchema)]
pub struct Group {
    #[schema(format = "uuid")]
    pub id: String,
    /// RFC 3339 UTC timestamp with milliseconds, e.g. 2026-01-31T12:00:00.000Z.
    #[schema(format = "date-time")]
    pub created: String,
    /// RFC 3339 UTC timestamp with milliseconds, e.g. 2026-01-31T12:00:00.000Z.
    #[serde(rename = "lastUpdated")]
    #[schema(format = "date-time")]
    pub last_updated: String,
    /// RFC 3339 UTC timestamp with milliseconds, e.g. 2026-01-31T12:00:00.000Z.
    #[serde(rename = "lastMembershipUpdated")]
    #[schema(format = "date-time")]
    pub last_membership_updated: String,
    pub profile: GroupProfile,
    #[serde(rename = "type")]
    #[schema(inline)]
    pub type_: GroupType,
    #[serde(rename = "_links")]
    #[schema(inline)]
    pub links: GroupLinks,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupProfile {
    /// Unique (case-insensitive, trimmed) name; not blank; at most 255 bytes.
    #[schema(
        pattern = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$",
        min_length = 1,
        max_length = 255
    )]
    pub name: String,
    /// Free text, at most 1024 bytes. Omitted from answers when unset.
    #[schema(pattern = "^[^\\u0000]*$", max_length = 1024)]
    pub description: Option<String>,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupRequest {
    pub profile: GroupProfile,
}

#[derive(ToSchema)]
pub enum ApiTokenScopesItem {
    #[serde(rename = "ulo.universalLogout.manage")]
    UloUniversalLogoutManage,
}

/// An admin API token. Only its hash is kept; the secret is answered once, on create.
#[derive(ToSchema)]
pub struct ApiToken {
    #[schema(format = "uuid")]
    pub id: String,
    /// Owner; the token acts with the owner's roles.
    #[serde(rename = "userId")]
    #[schema(format = "uuid")]
    pub user_id: String,
    pub name: String,
    /// First 8 characters of the token, to tell tokens apart.
    #[serde(rename = "tokenPrefix")]
    pub token_prefix: String,
    /// RFC 3339 UTC timestamp with milliseconds, e.g. 2026-01-31T12:00:00.000Z.
    #[schema(format = "date-time")]
    pub created: String,
    /// When last used (minute precision), or null.
    #[serde(rename = "lastUsed")]
    #[schema(format = "date-time", required = true)]
    pub last_used: Option<String>,
    /// When revoked, or null.
    #[schema(format = "date-time", required = true)]
    pub revoked: Option<String>,
    /// The secret: only in the answer to the create call.
    #[schema(required = false)]
    pub token: String,
    /// The scopes the token is limited to; absent for an unrestricted token acting with its owner's roles. A token with scopes cannot call the admin API (403).
    #[schema(inline, required = false)]
    pub scopes: Vec<ApiTokenScopesItem>,
}

#[derive(ToSchema)]
pub enum CreateApiTokenRequestScopesItem {
    #[serde(rename = "ulo.universalLogout.manage")]
    UloUniversalLogoutManage,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiTokenRequest {
    /// 1 to 255 bytes after trimming.
    #[schema(
        pattern = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$",
        min_length = 1,
        max_length = 255
    )]
    pub name: String,
    /// Limit the token to these scopes (leave out for an unrestricted admin token). ulo.universalLogout.manage: call POST /oauth2/v1/global-token-revocation, nothing else.
    #[schema(inline, min_items = 1, required = false)]
    pub scopes: Vec<CreateApiTokenRequestScopesItem>,
}

#[derive(ToSchema)]
pub enum FeatureStage {
    #[serde(rename = "EA")]
    Ea,
}

#[derive(ToSchema)]
pub enum FeatureStatus {
    #[serde(rename = "ENABLED")]
    Enabled,
    #[serde(rename = "DISABLED")]
    Disabled,
}

#[derive(ToSchema)]
pub struct Feature {
    pub id: String,
    pub name: String,
    pub description: String,
    #[schema(inline)]
    pub stage: FeatureStage,
    #[schema(inline)]
    pub status: FeatureStatus,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateScimCredentialRequest {
    pub name: String,
}
