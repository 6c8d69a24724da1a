//! The User and Group resources (RFC 7643 §4) as both servers render them, with `meta` (§3.1).
//! Unassigned attributes are left out; attributes a client wrote that a server keeps as written
//! travel in `extra`.

use serde::Serialize;
use serde_json::{Map, Value};

/// A resource's `meta` (RFC 7643 §3.1).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScimMeta))]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// `User`, `Group`, `Schema`…
    pub resource_type: String,
    /// RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// The resource's URL.
    pub location: String,
    /// The entity tag, when the server supports ETags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// A User (RFC 7643 §4.1), with the enterprise extension (§4.3).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScimUser))]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The schema URNs this resource uses.
    pub schemas: Vec<String>,
    /// The server's id.
    pub id: String,
    /// The client's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The unique login.
    pub user_name: String,
    /// The person's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// Name for display.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Casual name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nick_name: Option<String>,
    /// Job title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Kind of user (e.g. Employee).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    /// e.g. en-US.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// IANA time zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Whether the user may sign in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Email addresses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emails: Option<Vec<MultiValue>>,
    /// Phone numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_numbers: Option<Vec<MultiValue>>,
    /// The enterprise extension.
    #[serde(
        rename = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        skip_serializing_if = "Option::is_none"
    )]
    pub enterprise: Option<EnterpriseUser>,
    /// Where and when.
    pub meta: Meta,
    /// Attributes kept as the client wrote them.
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub extra: Map<String, Value>,
}

/// A User's `name`.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScimName))]
#[serde(rename_all = "camelCase")]
pub struct Name {
    /// Given and family name together.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// Given name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Family name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
}

/// One value of a multi-valued attribute (`emails`, `phoneNumbers`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScimMultiValue))]
pub struct MultiValue {
    /// The value.
    pub value: String,
    /// e.g. `work`, `mobile`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Whether it is the primary one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
}

/// The enterprise User extension (RFC 7643 §4.3).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScimEnterpriseUser))]
#[serde(rename_all = "camelCase")]
pub struct EnterpriseUser {
    /// Employee number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employee_number: Option<String>,
    /// Cost center.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_center: Option<String>,
    /// Organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Division.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub division: Option<String>,
    /// Department.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// The user's manager.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manager: Option<Manager>,
}

/// The enterprise extension's `manager`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScimManager))]
#[serde(rename_all = "camelCase")]
pub struct Manager {
    /// The manager's id.
    pub value: String,
    /// The manager's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// A Group (RFC 7643 §4.2).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScimGroup))]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// The schema URNs this resource uses.
    pub schemas: Vec<String>,
    /// The server's id.
    pub id: String,
    /// The client's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The group's name.
    pub display_name: String,
    /// Its members.
    pub members: Vec<Member>,
    /// Where and when.
    pub meta: Meta,
    /// Attributes kept as the client wrote them.
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub extra: Map<String, Value>,
}

/// A Group's member.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScimMember))]
pub struct Member {
    /// The member's id.
    pub value: String,
    /// The member's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// `User`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The member's URL.
    #[serde(rename = "$ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Sub-attributes kept as the client wrote them.
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub extra: Map<String, Value>,
}

/// A resource as a JSON document (for filters, projection and PATCH, which work on documents).
pub fn to_document(resource: &impl Serialize) -> Value {
    // These types serialize to objects with string keys: nothing here can fail.
    serde_json::to_value(resource).unwrap_or(Value::Null)
}
