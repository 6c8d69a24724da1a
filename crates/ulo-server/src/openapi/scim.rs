//! The SCIM 2.0 service provider's part of the document: its errors (RFC 7644 §3.12, sent as
//! `application/scim+json` with a `ScimErrorBody`), and the request bodies its handlers read as
//! documents (a resource, a PatchOp, a SearchRequest). The resources themselves are
//! `ulo_scim`'s wire types.

use utoipa::ToSchema;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

/// The media type of every SCIM body.
pub const SCIM_JSON: &str = ulo_scim::wire::MEDIA_TYPE;

/// Declares a SCIM error answer: its name, description and headers.
macro_rules! scim_error {
    ($(#[$doc:meta])* $name:ident, $description:expr, [$(($header:expr, $ty:expr, $hdesc:expr)),* $(,)?]) => {
        $(#[$doc])*
        pub struct $name;

        impl<'r> utoipa::ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<utoipa::openapi::response::Response>) {
                #[allow(unused_mut)]
                let mut r = ResponseBuilder::new().description($description).content(
                    SCIM_JSON,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ScimErrorBody")))
                        .build(),
                );
                $(r = r.header(
                    $header,
                    HeaderBuilder::new()
                        .schema(ObjectBuilder::new().schema_type($ty))
                        .description(Some($hdesc))
                        .build(),
                );)*
                (stringify!($name), r.build().into())
            }
        }
    };
}

scim_error!(
    /// `ScimBadRequest`.
    ScimBadRequest,
    "The request is not valid SCIM: scimType invalidSyntax (not a JSON object), invalidValue (a value the schema refuses), invalidFilter, invalidPath, noTarget or mutability.",
    []
);
scim_error!(
    /// `ScimUnauthorized`.
    ScimUnauthorized,
    "Missing, unknown or revoked SCIM credential (send Authorization: Bearer <SCIM credential>; admin API tokens are not accepted).",
    [("WWW-Authenticate", Type::String, "Bearer realm=\"scim\"")]
);
scim_error!(
    /// `ScimForbidden`.
    ScimForbidden,
    "The resource is an admin account, which a SCIM credential may read (when allowed) but never change.",
    []
);
scim_error!(
    /// `ScimNotFound`.
    ScimNotFound,
    "No such resource (an id that is not ulo's names nothing).",
    []
);
scim_error!(
    /// `ScimConflict`.
    ScimConflict,
    "scimType uniqueness: the userName, displayName or externalId is taken.",
    []
);
scim_error!(
    /// `ScimPreconditionFailed`.
    ScimPreconditionFailed,
    "If-Match names a version that is no longer current.",
    []
);
scim_error!(
    /// `ScimUnsupportedMediaType`.
    ScimUnsupportedMediaType,
    "The body is sent as neither application/scim+json nor application/json.",
    []
);
scim_error!(
    /// `ScimTooManyRequests`.
    ScimTooManyRequests,
    "Too many failed SCIM credentials from this address; a valid credential is never refused.",
    [("Retry-After", Type::Integer, "Seconds to wait.")]
);
scim_error!(
    /// `ScimInternalError`.
    ScimInternalError,
    "An unexpected failure; details are in the server log.",
    []
);

/// What any SCIM call may answer besides its own statuses.
#[derive(utoipa::IntoResponses)]
pub enum ScimErrors {
    /// 401.
    #[response(status = 401)]
    Unauthorized(#[ref_response] ScimUnauthorized),
    /// 429.
    #[response(status = 429)]
    TooManyRequests(#[ref_response] ScimTooManyRequests),
    /// 500.
    #[response(status = 500)]
    InternalError(#[ref_response] ScimInternalError),
}

/// What a change to a resource may answer besides [`ScimErrors`] and its success.
#[derive(utoipa::IntoResponses)]
pub enum ScimWriteErrors {
    /// 400.
    #[response(status = 400)]
    BadRequest(#[ref_response] ScimBadRequest),
    /// 403.
    #[response(status = 403)]
    Forbidden(#[ref_response] ScimForbidden),
    /// 409.
    #[response(status = 409)]
    Conflict(#[ref_response] ScimConflict),
    /// 415.
    #[response(status = 415)]
    UnsupportedMediaType(#[ref_response] ScimUnsupportedMediaType),
}

/// A User as a client sends it (RFC 7643 §4.1): `userName` is required; the core and
/// enterprise attributes ulo keeps are those of `ScimUser`; other attributes are kept as
/// written and answered back.
#[derive(ToSchema)]
#[schema(as = ScimUserRequest)]
#[allow(dead_code)]
#[schema(rename_all = "camelCase")]
pub struct UserRequest {
    /// The schema URNs the body uses.
    schemas: Option<Vec<String>>,
    /// The client's own id for the user.
    external_id: Option<String>,
    /// The unique login.
    user_name: String,
    /// The person's name.
    name: Option<ulo_scim::resource::Name>,
    /// Name for display.
    display_name: Option<String>,
    /// Whether the user may sign in (false suspends them).
    active: Option<bool>,
    /// Email addresses (the primary one is the user's email).
    emails: Option<Vec<ulo_scim::resource::MultiValue>>,
    /// Phone numbers.
    phone_numbers: Option<Vec<ulo_scim::resource::MultiValue>>,
    /// A password to set (never answered back).
    password: Option<String>,
    /// The enterprise extension.
    #[schema(rename = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")]
    enterprise: Option<ulo_scim::resource::EnterpriseUser>,
}

/// A Group as a client sends it (RFC 7643 §4.2): `displayName` is required.
#[derive(ToSchema)]
#[schema(as = ScimGroupRequest)]
#[allow(dead_code)]
#[schema(rename_all = "camelCase")]
pub struct GroupRequest {
    /// The schema URNs the body uses.
    schemas: Option<Vec<String>>,
    /// The client's own id for the group.
    external_id: Option<String>,
    /// The group's name.
    display_name: String,
    /// Its members, by `value` (a user's id).
    members: Option<Vec<MemberRequest>>,
}

/// A member named in a request.
#[derive(ToSchema)]
#[schema(as = ScimMemberRequest)]
#[allow(dead_code)]
pub struct MemberRequest {
    /// The member's id.
    value: String,
}

/// A PatchOp (RFC 7644 §3.5.2).
#[derive(ToSchema)]
#[schema(as = ScimPatchOp)]
#[allow(dead_code)]
#[schema(rename_all = "PascalCase")]
pub struct PatchOp {
    /// Must contain `urn:ietf:params:scim:api:messages:2.0:PatchOp`.
    #[schema(rename = "schemas")]
    schemas: Vec<String>,
    /// The operations, applied in order, all or none.
    operations: Vec<PatchOperation>,
}

/// One PATCH operation.
#[derive(ToSchema)]
#[schema(as = ScimPatchOperation)]
#[allow(dead_code)]
pub struct PatchOperation {
    /// `add`, `remove` or `replace` (any case).
    op: String,
    /// An attribute path, with an optional value filter (`emails[type eq "work"].value`);
    /// without one, `value` is an object of attributes.
    path: Option<String>,
    /// The value to add or replace with.
    #[schema(value_type = Option<Object>)]
    value: Option<serde_json::Value>,
}

/// A SearchRequest (RFC 7644 §3.4.3): the query parameters of a list, as a body.
#[derive(ToSchema)]
#[schema(as = ScimSearchRequest)]
#[allow(dead_code)]
#[schema(rename_all = "camelCase")]
pub struct SearchRequest {
    /// Must contain `urn:ietf:params:scim:api:messages:2.0:SearchRequest` when present.
    schemas: Option<Vec<String>>,
    /// A filter (RFC 7644 §3.4.2.2).
    filter: Option<String>,
    /// The attribute to sort by.
    sort_by: Option<String>,
    /// `ascending` (default) or `descending`.
    sort_order: Option<String>,
    /// 1-based index of the first result (default 1).
    start_index: Option<i64>,
    /// The most results (default and most: 200).
    count: Option<i64>,
    /// Only these attributes.
    attributes: Option<Vec<String>>,
    /// Not these attributes.
    excluded_attributes: Option<Vec<String>>,
}

/// A discovery document: a ResourceType (RFC 7643 §6) or a Schema (§7). Its other members are
/// those the RFC defines for the kind.
#[derive(ToSchema)]
#[schema(as = ScimDiscoveryDocument)]
#[allow(dead_code)]
pub struct DiscoveryDocument {
    /// The document's schema URN.
    schemas: Vec<String>,
    /// `User`, `Group`, or a schema URN.
    id: String,
    /// Its name.
    name: String,
    /// Where it is.
    meta: ulo_scim::resource::Meta,
    /// A resource type's or schema's description.
    #[schema(required = false)]
    description: String,
    /// A resource type's endpoint, e.g. `/Users`.
    #[schema(required = false)]
    endpoint: String,
    /// A resource type's core schema URN.
    #[schema(required = false)]
    schema: String,
    /// A resource type's schema extensions: `{schema, required}`.
    #[serde(rename = "schemaExtensions")]
    #[schema(required = false)]
    schema_extensions: Vec<serde_json::Value>,
    /// A schema's attributes (RFC 7643 §7).
    #[schema(required = false)]
    attributes: Vec<serde_json::Value>,
}
