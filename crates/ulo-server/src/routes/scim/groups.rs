//! `/scim/v2/Groups`: the core Group schema; members are users.

use crate::openapi::scim::{
    ScimBadRequest, ScimErrors, ScimForbidden, ScimNotFound, ScimPreconditionFailed,
    ScimUnsupportedMediaType, ScimWriteErrors,
};
use std::collections::BTreeSet;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value};
use ulo_core::error::DomainError;
use ulo_core::group::{Group, GroupProfile};
use ulo_core::ids::{GroupId, UserId};
use ulo_core::scim::ScimResource;
use ulo_core::store::Page;
use ulo_core::user::User;

use super::list::{ListParams, Projection, get_ci, list_response, search_params};
use super::users::{strip_nulls, take_ci};
use super::wire::{
    ScimClient, ScimError, check_if_match, none_match_hits, not_modified, parse_body,
    resource_response, scim_response, version_of,
};
use crate::extract::ApiPath;
use crate::state::AppState;
use ulo_scim::patch::{self, Shape};

use ulo_scim::resource::{self as scim, Member, Meta};
use ulo_scim::urn::GROUP as GROUP_SCHEMA;

const SHAPE: Shape = Shape {
    core: &[
        "schemas",
        "id",
        "externalId",
        "meta",
        "displayName",
        "members",
    ],
    read_only: &["id", "meta", "schemas"],
    multi: &["members"],
    // Entra ID removes members as `{"op":"remove","path":"members","value":[{"value":…}]}`.
    remove_listed: true,
    extension: None,
    ..Shape::STRICT
};

fn version(g: &Group) -> String {
    version_of(g.last_updated.max(g.last_membership_updated))
}

/// The SCIM form of a group: the attributes the client last wrote (`stored`) with the values ulo
/// owns on top; a member the client wrote keeps its `type` and `display` as written.
fn render(
    state: &AppState,
    g: &Group,
    members: &[User],
    ext: Option<&String>,
    stored: Option<&Value>,
) -> Value {
    let base = state.issuer();
    let written: Vec<&Value> = stored
        .and_then(|s| get_ci(s, "members"))
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let members = members
        .iter()
        .map(|u| {
            let id = u.id.to_string();
            let href = format!("{base}/scim/v2/Users/{id}");
            let found = written
                .iter()
                .find(|m| get_ci(m, "value").and_then(Value::as_str) == Some(id.as_str()));
            match found {
                Some(Value::Object(m)) => {
                    let mut extra = m.clone();
                    take_ci(&mut extra, "value");
                    let has = |k: &str| extra.keys().any(|n| n.eq_ignore_ascii_case(k));
                    Member {
                        kind: (!has("type")).then(|| "User".to_string()),
                        reference: (!has("$ref")).then_some(href),
                        value: id,
                        display: None,
                        extra,
                    }
                }
                _ => Member {
                    display: Some(u.profile.login.clone()),
                    kind: Some("User".into()),
                    reference: Some(href),
                    value: id,
                    extra: Map::new(),
                },
            }
        })
        .collect();
    let group = scim::Group {
        schemas: vec![GROUP_SCHEMA.into()],
        id: g.id.to_string(),
        external_id: ext.cloned(),
        display_name: g.profile.name.clone(),
        members,
        meta: Meta {
            resource_type: "Group".into(),
            created: Some(ulo_core::clock::rfc3339(g.created)),
            last_modified: Some(ulo_core::clock::rfc3339(
                g.last_updated.max(g.last_membership_updated),
            )),
            location: format!("{base}/scim/v2/Groups/{}", g.id),
            version: Some(version(g)),
        },
        extra: Map::new(),
    };
    let mut doc = scim::to_document(&group);
    if let (Some(Value::Object(stored)), Value::Object(canon)) = (stored, &mut doc) {
        let mut extra = stored.clone();
        for k in [
            "id",
            "meta",
            "schemas",
            "externalId",
            "displayName",
            "members",
        ] {
            take_ci(&mut extra, k);
        }
        for (k, v) in extra {
            canon.insert(k, v);
        }
    }
    strip_nulls(&mut doc);
    doc
}

/// The part of a written Group document kept as the client's SCIM attributes.
fn kept(doc: &Value) -> Value {
    let mut d = doc.as_object().cloned().unwrap_or_default();
    for k in ["id", "meta", "schemas"] {
        take_ci(&mut d, k);
    }
    Value::Object(d)
}

async fn members(state: &AppState, c: &ScimClient, id: &str) -> Result<Vec<User>, ScimError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = Page {
            after: after.clone(),
            limit: 200,
        };
        let batch = state.directory().list_members(&c.ctx, id, &page).await?;
        let done = batch.len() < 200;
        after = batch.last().map(|u| u.id.to_string());
        out.extend(batch);
        if done {
            return Ok(out);
        }
    }
}

/// A group, its members, its externalId and the SCIM attributes its client last wrote.
type Loaded = (Group, Vec<User>, Option<String>, Option<Value>);

async fn load(state: &AppState, c: &ScimClient, id: &str) -> Result<Loaded, ScimError> {
    if id.parse::<GroupId>().is_err() {
        return Err(ScimError::not_found(format!("Group {id} not found")));
    }
    let g = state.directory().get_group(&c.ctx, id).await?;
    let m = members(state, c, id).await?;
    let (ext, stored) = state
        .directory()
        .scim_attributes_of(ScimResource::Group, id)
        .await?;
    Ok((g, m, ext, stored))
}

/// A checked Group document.
struct Wanted {
    name: String,
    members: BTreeSet<String>,
    external_id: Option<String>,
    /// The SCIM attributes to keep as written.
    doc: Value,
}

async fn read_doc(state: &AppState, c: &ScimClient, doc: &Value) -> Result<Wanted, ScimError> {
    let Some(obj) = doc.as_object() else {
        return Err(ScimError::bad(
            "invalidSyntax",
            "a Group must be a JSON object",
        ));
    };
    if let Some(k) = obj
        .keys()
        .find(|k| !SHAPE.core.iter().any(|c| c.eq_ignore_ascii_case(k)))
    {
        return Err(ScimError::bad(
            "invalidValue",
            format!("unknown attribute {k:?}"),
        ));
    }
    let name = get_ci(doc, "displayName")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ScimError::bad("invalidValue", "displayName is required"))?
        .to_string();
    GroupProfile {
        name: name.clone(),
        description: None,
    }
    .validate()?;
    let mut set = BTreeSet::new();
    match get_ci(doc, "members") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for m in items {
                let Some(v) = get_ci(m, "value").and_then(Value::as_str) else {
                    return Err(ScimError::bad("invalidValue", "every member needs a value"));
                };
                // Every member must exist before anything changes.
                let found = match v.parse::<UserId>() {
                    Ok(_) => state.directory().get_user(&c.ctx, v).await,
                    Err(_) => Err(DomainError::not_found("user", v)),
                };
                match found {
                    Ok(_) => {}
                    Err(e @ DomainError::Forbidden(_)) => return Err(e.into()),
                    Err(_) => {
                        return Err(ScimError::bad(
                            "invalidValue",
                            format!("member {v} is not a user"),
                        ));
                    }
                }
                set.insert(v.to_string());
            }
        }
        Some(_) => return Err(ScimError::bad("invalidValue", "members must be a list")),
    }
    let external_id = match get_ci(doc, "externalId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(ScimError::bad(
                "invalidValue",
                "externalId must be a string",
            ));
        }
    };
    Ok(Wanted {
        name,
        members: set,
        external_id,
        doc: kept(doc),
    })
}

/// `POST /Groups`.
#[utoipa::path(
    post,
    path = "/scim/v2/Groups",
    operation_id = "scimCreateGroup",
    tag = "SCIM",
    summary = "Create a group",
    description = "Creates the group; logged like the admin API's create, with the SCIM credential as actor.",
    request_body(content = crate::openapi::scim::GroupRequest, content_type = "application/scim+json"),
    responses(
        (status = 201, description = "Created.", body = ulo_scim::resource::Group, content_type = "application/scim+json", headers(("ETag" = String, description = "The resource's version (weak)."), ("Location" = String, description = "The new resource's URL."))),
        ScimWriteErrors,
        ScimErrors,
    ),
    security(("ScimBearer" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    c: ScimClient,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    let doc = parse_body(&headers, &body)?;
    let w = read_doc(&state, &c, &doc).await?;
    let dir = state.directory();
    for m in &w.members {
        dir.check_writable(&c.ctx, m).await?;
    }
    let g = dir
        .create_group(
            &c.ctx,
            GroupProfile {
                name: w.name,
                description: None,
            },
        )
        .await?;
    let id = g.id.to_string();
    for m in &w.members {
        dir.add_member(&c.ctx, &id, m).await?;
    }
    if w.external_id.is_some() {
        dir.set_scim_external_id(&c.ctx, ScimResource::Group, &id, w.external_id.as_deref())
            .await?;
    }
    dir.set_scim_attributes(&c.ctx, ScimResource::Group, &id, Some(&w.doc))
        .await?;
    let (g, m, ext, stored) = load(&state, &c, &id).await?;
    Ok(resource_response(
        StatusCode::CREATED,
        &render(&state, &g, &m, ext.as_ref(), stored.as_ref()),
    ))
}

/// `GET /Groups/{id}`.
#[utoipa::path(
    get,
    path = "/scim/v2/Groups/{id}",
    operation_id = "scimGetGroup",
    tag = "SCIM",
    summary = "A group",
    description = "The group, projected as asked. If-None-Match naming the current version answers 304.",
    params(
        ("id" = String, Path, description = "The group's id (ulo's UUID)."),
        ("attributes" = Option<String>, Query, description = "Comma-separated attributes to answer (id and schemas always come)."),
        ("excludedAttributes" = Option<String>, Query, description = "Comma-separated attributes to leave out."),
    ),
    responses(
        (status = 200, description = "The resource.", body = ulo_scim::resource::Group, content_type = "application/scim+json", headers(("ETag" = String, description = "The resource's version (weak)."))),
        (status = 304, description = "Not modified since the version in If-None-Match.", headers(("ETag" = String, description = "The resource's version (weak)."))),
        (status = 404, response = ScimNotFound),
        ScimErrors,
    ),
    security(("ScimBearer" = [])),
)]
pub async fn get_one(
    State(state): State<AppState>,
    c: ScimClient,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    Query(p): Query<Projection>,
) -> Result<Response, ScimError> {
    let (g, m, ext, stored) = load(&state, &c, &id).await?;
    if none_match_hits(&headers, &version(&g)) {
        return Ok(not_modified(&version(&g)));
    }
    Ok(resource_response(
        StatusCode::OK,
        &p.apply(render(&state, &g, &m, ext.as_ref(), stored.as_ref())),
    ))
}

/// Every group in its SCIM form.
pub async fn all(state: &AppState, c: &ScimClient) -> Result<Vec<Value>, ScimError> {
    let dir = state.directory();
    let ext = dir.scim_external_ids(ScimResource::Group).await?;
    let stored = dir.scim_attributes(ScimResource::Group).await?;
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = Page {
            after: after.clone(),
            limit: 200,
        };
        let batch = dir.list_groups(&c.ctx, None, &page).await?;
        let done = batch.len() < 200;
        after = batch.last().map(|g| g.id.to_string());
        for g in &batch {
            let id = g.id.to_string();
            let m = members(state, c, &id).await?;
            out.push(render(state, g, &m, ext.get(&id), stored.get(&id)));
        }
        if done {
            return Ok(out);
        }
    }
}

/// `GET /Groups`.
#[utoipa::path(
    get,
    path = "/scim/v2/Groups",
    operation_id = "scimListGroups",
    tag = "SCIM",
    summary = "List groups",
    description = "A page of the groups matching filter, sorted and projected as asked (RFC 7644 §3.4.2).",
    params(
        ("filter" = Option<String>, Query, description = "A SCIM filter (RFC 7644 §3.4.2.2), e.g. `userName eq \"ada@example.com\"`; a filter ulo cannot read answers 400 invalidFilter."),
        ("sortBy" = Option<String>, Query, description = "The attribute to sort by."),
        ("sortOrder" = Option<String>, Query, description = "`ascending` (default) or `descending`."),
        ("startIndex" = Option<i64>, Query, description = "1-based index of the first result (default 1; less than 1 counts as 1)."),
        ("count" = Option<i64>, Query, description = "The most results (default and most: 200; negative counts as 0)."),
        ("attributes" = Option<String>, Query, description = "Comma-separated attributes to answer (id and schemas always come)."),
        ("excludedAttributes" = Option<String>, Query, description = "Comma-separated attributes to leave out."),
    ),
    responses(
        (status = 200, description = "A ListResponse.", body = ulo_scim::wire::ListResponse<ulo_scim::resource::Group>, content_type = "application/scim+json"),
        (status = 400, response = ScimBadRequest),
        ScimErrors,
    ),
    security(("ScimBearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    c: ScimClient,
    Query(p): Query<ListParams>,
) -> Result<Response, ScimError> {
    let docs = all(&state, &c).await?;
    Ok(scim_response(StatusCode::OK, &list_response(docs, &p)?))
}

/// `POST /Groups/.search`.
#[utoipa::path(
    post,
    path = "/scim/v2/Groups/.search",
    operation_id = "scimSearchGroups",
    tag = "SCIM",
    summary = "Search groups",
    description = "The list query sent as a SearchRequest body (RFC 7644 §3.4.3).",
    request_body(content = crate::openapi::scim::SearchRequest, content_type = "application/scim+json"),
    responses(
        (status = 200, description = "A ListResponse.", body = ulo_scim::wire::ListResponse<ulo_scim::resource::Group>, content_type = "application/scim+json"),
        (status = 400, response = ScimBadRequest),
        (status = 415, response = ScimUnsupportedMediaType),
        ScimErrors,
    ),
    security(("ScimBearer" = [])),
)]
pub async fn search(
    State(state): State<AppState>,
    c: ScimClient,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    let p = search_params(&parse_body(&headers, &body)?)?;
    let docs = all(&state, &c).await?;
    Ok(scim_response(StatusCode::OK, &list_response(docs, &p)?))
}

async fn apply(
    state: &AppState,
    c: &ScimClient,
    g: Group,
    current: Vec<User>,
    old_ext: Option<String>,
    old_doc: Option<Value>,
    w: Wanted,
) -> Result<Response, ScimError> {
    let id = g.id.to_string();
    let dir = state.directory();
    let have: BTreeSet<String> = current.iter().map(|u| u.id.to_string()).collect();
    // Refuse a membership change the credential may not make before anything changes.
    for m in w.members.symmetric_difference(&have) {
        dir.check_writable(&c.ctx, m).await?;
    }
    if w.name != g.profile.name {
        let profile = GroupProfile {
            name: w.name,
            description: g.profile.description.clone(),
        };
        dir.update_group(&c.ctx, &id, profile).await?;
    }
    for m in w.members.difference(&have) {
        dir.add_member(&c.ctx, &id, m).await?;
    }
    for m in have.difference(&w.members) {
        dir.remove_member(&c.ctx, &id, m).await?;
    }
    if w.external_id != old_ext {
        dir.set_scim_external_id(&c.ctx, ScimResource::Group, &id, w.external_id.as_deref())
            .await?;
    }
    if old_doc.as_ref() != Some(&w.doc) {
        dir.set_scim_attributes(&c.ctx, ScimResource::Group, &id, Some(&w.doc))
            .await?;
    }
    let (g, m, ext, stored) = load(state, c, &id).await?;
    Ok(resource_response(
        StatusCode::OK,
        &render(state, &g, &m, ext.as_ref(), stored.as_ref()),
    ))
}

/// `PUT /Groups/{id}`.
#[utoipa::path(
    put,
    path = "/scim/v2/Groups/{id}",
    operation_id = "scimReplaceGroup",
    tag = "SCIM",
    summary = "Replace a group",
    description = "Replaces the group with the body (attributes left out are cleared). If-Match, when sent, must name the current version.",
    params(
        ("id" = String, Path, description = "The group's id (ulo's UUID)."),
    ),
    request_body(content = crate::openapi::scim::GroupRequest, content_type = "application/scim+json"),
    responses(
        (status = 200, description = "The resource as it is now.", body = ulo_scim::resource::Group, content_type = "application/scim+json", headers(("ETag" = String, description = "The resource's version (weak)."))),
        (status = 404, response = ScimNotFound),
        (status = 412, response = ScimPreconditionFailed),
        ScimWriteErrors,
        ScimErrors,
    ),
    security(("ScimBearer" = [])),
)]
pub async fn replace(
    State(state): State<AppState>,
    c: ScimClient,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    body: Bytes,
) -> Result<Response, ScimError> {
    let doc = parse_body(&headers, &body)?;
    let (g, m, ext, stored) = load(&state, &c, &id).await?;
    check_if_match(&headers, &version(&g))?;
    if let Some(sent) = get_ci(&doc, "id").and_then(Value::as_str)
        && sent != id
    {
        return Err(ScimError::bad("mutability", "id is read-only"));
    }
    let w = read_doc(&state, &c, &doc).await?;
    apply(&state, &c, g, m, ext, stored, w).await
}

/// `PATCH /Groups/{id}`.
#[utoipa::path(
    patch,
    path = "/scim/v2/Groups/{id}",
    operation_id = "scimPatchGroup",
    tag = "SCIM",
    summary = "Change a group",
    description = "Applies a PatchOp (RFC 7644 §3.5.2): every operation or none. If-Match, when sent, must name the current version.",
    params(
        ("id" = String, Path, description = "The group's id (ulo's UUID)."),
    ),
    request_body(content = crate::openapi::scim::PatchOp, content_type = "application/scim+json"),
    responses(
        (status = 200, description = "The resource as it is now.", body = ulo_scim::resource::Group, content_type = "application/scim+json", headers(("ETag" = String, description = "The resource's version (weak)."))),
        (status = 404, response = ScimNotFound),
        (status = 412, response = ScimPreconditionFailed),
        ScimWriteErrors,
        ScimErrors,
    ),
    security(("ScimBearer" = [])),
)]
pub async fn modify(
    State(state): State<AppState>,
    c: ScimClient,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    body: Bytes,
) -> Result<Response, ScimError> {
    let body = parse_body(&headers, &body)?;
    let (g, m, ext, stored) = load(&state, &c, &id).await?;
    check_if_match(&headers, &version(&g))?;
    let mut doc = render(&state, &g, &m, ext.as_ref(), stored.as_ref());
    patch::apply(&mut doc, &body, &SHAPE)?;
    let w = read_doc(&state, &c, &doc).await?;
    apply(&state, &c, g, m, ext, stored, w).await
}

/// `DELETE /Groups/{id}`.
#[utoipa::path(
    delete,
    path = "/scim/v2/Groups/{id}",
    operation_id = "scimDeleteGroup",
    tag = "SCIM",
    summary = "Delete a group",
    description = "Deletes the group (a user is deactivated and deleted as the admin API does). If-Match, when sent, must name the current version.",
    params(
        ("id" = String, Path, description = "The group's id (ulo's UUID)."),
    ),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, response = ScimForbidden),
        (status = 404, response = ScimNotFound),
        (status = 412, response = ScimPreconditionFailed),
        ScimErrors,
    ),
    security(("ScimBearer" = [])),
)]
pub async fn remove(
    State(state): State<AppState>,
    c: ScimClient,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ScimError> {
    let (g, _, ext, stored) = load(&state, &c, &id).await?;
    check_if_match(&headers, &version(&g))?;
    let dir = state.directory();
    dir.delete_group(&c.ctx, &id).await?;
    if ext.is_some() {
        dir.set_scim_external_id(&c.ctx, ScimResource::Group, &id, None)
            .await?;
    }
    if stored.is_some() {
        dir.set_scim_attributes(&c.ctx, ScimResource::Group, &id, None)
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
