//! ServiceProviderConfig, ResourceTypes and Schemas: exactly what this provider supports.

use crate::openapi::scim::{ScimErrors, ScimNotFound};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use ulo_scim::discovery::{AuthenticationScheme, ServiceProviderConfig};
use ulo_scim::resource::Meta;
use ulo_scim::urn::{ENTERPRISE_USER as ENTERPRISE, GROUP as GROUP_SCHEMA, USER as USER_SCHEMA};
use ulo_scim::wire::ListResponse;

use super::list::MAX_RESULTS;
use super::wire::{ScimClient, ScimError, scim_response};
use crate::extract::ApiPath;
use crate::state::AppState;

/// `GET /ServiceProviderConfig`.
#[utoipa::path(
    get,
    path = "/scim/v2/ServiceProviderConfig",
    operation_id = "scimServiceProviderConfig",
    tag = "SCIM",
    summary = "What the service provider supports",
    description = "RFC 7643 §5: PATCH, filters (200 results at most), sorting and ETags; no bulk operations or password changes; bearer credentials.",
    responses(
        (status = 200, description = "The configuration.", body = ulo_scim::discovery::ServiceProviderConfig, content_type = "application/scim+json"),
        ScimErrors,
    ),
    security(("ScimBearer" = [])),
)]
pub async fn service_provider_config(State(state): State<AppState>, _c: ScimClient) -> Response {
    let mut config = ServiceProviderConfig::new(
        MAX_RESULTS,
        true,
        true,
        vec![AuthenticationScheme {
            kind: "oauthbearertoken".into(),
            name: "SCIM credential".into(),
            description:
                "Authorization: Bearer <SCIM credential from POST /api/v1/scim-credentials>".into(),
            primary: Some(true),
        }],
    );
    config.meta = Some(Meta {
        resource_type: "ServiceProviderConfig".into(),
        created: None,
        last_modified: None,
        location: format!("{}/scim/v2/ServiceProviderConfig", state.issuer()),
        version: None,
    });
    scim_response(StatusCode::OK, &config)
}

fn resource_type_docs(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User", "name": "User", "endpoint": "/Users", "description": "People",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ENTERPRISE, "required": false}],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/scim/v2/ResourceTypes/User")},
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group", "name": "Group", "endpoint": "/Groups", "description": "Groups of people",
            "schema": GROUP_SCHEMA,
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/scim/v2/ResourceTypes/Group")},
        }),
    ]
}

/// `GET /ResourceTypes`.
#[utoipa::path(
    get,
    path = "/scim/v2/ResourceTypes",
    operation_id = "scimResourceTypes",
    tag = "SCIM",
    summary = "Resource types",
    description = "RFC 7643 §6: User (with the enterprise extension) and Group.",
    responses(
        (status = 200, description = "A ListResponse of ResourceType documents.", body = ulo_scim::wire::ListResponse<crate::openapi::scim::DiscoveryDocument>, content_type = "application/scim+json"),
        ScimErrors,
    ),
    security(("ScimBearer" = [])),
)]
pub async fn resource_types(State(state): State<AppState>, _c: ScimClient) -> Response {
    scim_response(
        StatusCode::OK,
        &ListResponse::whole(resource_type_docs(state.issuer())),
    )
}

/// `GET /ResourceTypes/{id}`.
#[utoipa::path(
    get,
    path = "/scim/v2/ResourceTypes/{id}",
    operation_id = "scimResourceType",
    tag = "SCIM",
    summary = "A resource type",
    description = "`User` or `Group`.",
    params(
        ("id" = String, Path, description = "`User` or `Group`."),
    ),
    responses(
        (status = 200, description = "The ResourceType document.", body = crate::openapi::scim::DiscoveryDocument, content_type = "application/scim+json"),
        (status = 404, response = ScimNotFound),
        ScimErrors,
    ),
    security(("ScimBearer" = [])),
)]
pub async fn resource_type(
    State(state): State<AppState>,
    _c: ScimClient,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ScimError> {
    resource_type_docs(state.issuer())
        .into_iter()
        .find(|d| d["id"] == id)
        .map(|d| scim_response(StatusCode::OK, &d))
        .ok_or_else(|| ScimError::not_found(format!("ResourceType {id} not found")))
}

/// One attribute definition: (name, type, multiValued, required, caseExact, mutability, uniqueness, sub-attributes).
// One positional row per attribute reads like the RFC's tables.
#[allow(clippy::too_many_arguments)]
fn attr(
    name: &str,
    ty: &str,
    multi: bool,
    required: bool,
    case_exact: bool,
    mutability: &str,
    uniqueness: &str,
    subs: Vec<Value>,
) -> Value {
    let mut a = json!({
        "name": name, "type": ty, "multiValued": multi, "description": name, "required": required,
        "caseExact": case_exact, "mutability": mutability, "returned": "default", "uniqueness": uniqueness,
    });
    if !subs.is_empty() {
        a["subAttributes"] = Value::Array(subs);
    }
    if ty == "reference" {
        a["referenceTypes"] = json!(["User"]);
    }
    a
}

fn s(name: &str) -> Value {
    attr(
        name,
        "string",
        false,
        false,
        false,
        "readWrite",
        "none",
        vec![],
    )
}

fn schema_docs(base: &str) -> Vec<Value> {
    let meta = |id: &str| json!({"resourceType": "Schema", "location": format!("{base}/scim/v2/Schemas/{id}")});
    let multi = |name: &str, with_primary: bool| {
        let mut subs = vec![s("value"), s("type")];
        if with_primary {
            subs.push(attr(
                "primary",
                "boolean",
                false,
                false,
                false,
                "readWrite",
                "none",
                vec![],
            ));
        }
        attr(
            name,
            "complex",
            true,
            false,
            false,
            "readWrite",
            "none",
            subs,
        )
    };
    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": USER_SCHEMA, "name": "User", "description": "User Account",
            "attributes": [
                attr("userName", "string", false, true, false, "readWrite", "server", vec![]),
                attr("name", "complex", false, true, false, "readWrite", "none", vec![
                        s("formatted"),
                        attr("givenName", "string", false, true, false, "readWrite", "none", vec![]),
                        attr("familyName", "string", false, true, false, "readWrite", "none", vec![]),
                    ]),
                s("displayName"), s("nickName"), s("title"), s("userType"), s("locale"), s("timezone"),
                attr("active", "boolean", false, false, false, "readWrite", "none", vec![]),
                multi("emails", true),
                multi("phoneNumbers", false),
            ],
            "meta": meta(USER_SCHEMA),
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": ENTERPRISE, "name": "EnterpriseUser", "description": "Enterprise User",
            "attributes": [
                s("employeeNumber"), s("costCenter"), s("organization"), s("division"), s("department"),
                attr("manager", "complex", false, false, false, "readWrite", "none", vec![
                    s("value"),
                    attr("displayName", "string", false, false, false, "readOnly", "none", vec![]),
                ]),
            ],
            "meta": meta(ENTERPRISE),
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": GROUP_SCHEMA, "name": "Group", "description": "Group",
            "attributes": [
                attr("displayName", "string", false, true, false, "readWrite", "server", vec![]),
                attr("members", "complex", true, false, false, "readWrite", "none", vec![
                    attr("value", "string", false, false, true, "immutable", "none", vec![]),
                    attr("display", "string", false, false, false, "readOnly", "none", vec![]),
                    attr("type", "string", false, false, false, "immutable", "none", vec![]),
                    attr("$ref", "reference", false, false, true, "immutable", "none", vec![]),
                ]),
            ],
            "meta": meta(GROUP_SCHEMA),
        }),
    ]
}

/// `GET /Schemas`.
#[utoipa::path(
    get,
    path = "/scim/v2/Schemas",
    operation_id = "scimSchemas",
    tag = "SCIM",
    summary = "Schemas",
    description = "RFC 7643 §7: the User, enterprise User and Group schemas, with every attribute ulo keeps.",
    responses(
        (status = 200, description = "A ListResponse of Schema documents.", body = ulo_scim::wire::ListResponse<crate::openapi::scim::DiscoveryDocument>, content_type = "application/scim+json"),
        ScimErrors,
    ),
    security(("ScimBearer" = [])),
)]
pub async fn schemas(State(state): State<AppState>, _c: ScimClient) -> Response {
    scim_response(
        StatusCode::OK,
        &ListResponse::whole(schema_docs(state.issuer())),
    )
}

/// `GET /Schemas/{id}`.
#[utoipa::path(
    get,
    path = "/scim/v2/Schemas/{id}",
    operation_id = "scimSchema",
    tag = "SCIM",
    summary = "A schema",
    description = "A schema by its URN.",
    params(
        ("id" = String, Path, description = "The schema's URN."),
    ),
    responses(
        (status = 200, description = "The Schema document.", body = crate::openapi::scim::DiscoveryDocument, content_type = "application/scim+json"),
        (status = 404, response = ScimNotFound),
        ScimErrors,
    ),
    security(("ScimBearer" = [])),
)]
pub async fn schema(
    State(state): State<AppState>,
    _c: ScimClient,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ScimError> {
    schema_docs(state.issuer())
        .into_iter()
        .find(|d| d["id"] == id)
        .map(|d| scim_response(StatusCode::OK, &d))
        .ok_or_else(|| ScimError::not_found(format!("Schema {id} not found")))
}
