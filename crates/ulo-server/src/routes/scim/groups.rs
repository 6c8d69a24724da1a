//! `/scim/v2/Groups`: the core Group schema; members are users.

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
pub async fn list(
    State(state): State<AppState>,
    c: ScimClient,
    Query(p): Query<ListParams>,
) -> Result<Response, ScimError> {
    let docs = all(&state, &c).await?;
    Ok(scim_response(StatusCode::OK, &list_response(docs, &p)?))
}

/// `POST /Groups/.search`.
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
