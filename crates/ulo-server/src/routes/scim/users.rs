//! `/scim/v2/Users`: the core User schema plus the enterprise extension, mapped onto ulo users.

use crate::openapi::scim::{
    ScimBadRequest, ScimErrors, ScimForbidden, ScimNotFound, ScimPreconditionFailed,
    ScimUnsupportedMediaType, ScimWriteErrors,
};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value};
use ulo_core::directory::{CreateUser, ProfileChange};
use ulo_core::ids::UserId;
use ulo_core::scim::ScimResource;
use ulo_core::store::{Page, UserQuery};
use ulo_core::user::{Lifecycle, ProvisionedBy, User, UserProfile, UserStatus};

use super::list::{ListParams, Projection, get_ci, list_response, search_params};
use super::wire::{
    ScimClient, ScimError, check_if_match, none_match_hits, not_modified, parse_body,
    resource_response, scim_response, version_of,
};
use crate::extract::ApiPath;
use crate::state::AppState;
use ulo_scim::patch::{self, Shape};

use ulo_scim::resource::{self as scim, EnterpriseUser, Manager, Meta, MultiValue, Name};
use ulo_scim::urn::{ENTERPRISE_USER as ENTERPRISE, USER as USER_SCHEMA};

/// The members of ulo's User document (its own and the enterprise extension's): each one ulo
/// leaves unassigned is null until [`strip_nulls`], so [`overlay`] replaces what a client wrote
/// with ulo's value, unassigned included.
const OWNED: &[&str] = &[
    "schemas",
    "id",
    "externalId",
    "userName",
    "name",
    "displayName",
    "nickName",
    "title",
    "userType",
    "locale",
    "timezone",
    "active",
    "emails",
    "phoneNumbers",
    ENTERPRISE,
    "meta",
];
const OWNED_ENTERPRISE: &[&str] = &[
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "manager",
];

const SHAPE: Shape = Shape {
    core: &[
        "schemas",
        "id",
        "externalId",
        "meta",
        "userName",
        "name",
        "displayName",
        "nickName",
        "title",
        "userType",
        "locale",
        "timezone",
        "active",
        "emails",
        "phoneNumbers",
    ],
    read_only: &["id", "meta", "schemas"],
    multi: &["emails", "phoneNumbers"],
    extension: Some((ENTERPRISE, OWNED_ENTERPRISE)),
    ..Shape::STRICT
};

/// The SCIM form of a user: the attributes the client last wrote (`stored`), overlaid with the
/// values ulo owns.
pub fn render(
    state: &AppState,
    u: &User,
    external_id: Option<&String>,
    stored: Option<&Value>,
) -> Value {
    let p = &u.profile;
    let user = scim::User {
        schemas: vec![USER_SCHEMA.into(), ENTERPRISE.into()],
        id: u.id.to_string(),
        external_id: external_id.cloned(),
        user_name: p.login.clone(),
        name: Some(Name {
            formatted: Some(
                format!("{} {}", p.first_name, p.last_name)
                    .trim()
                    .to_string(),
            ),
            given_name: Some(p.first_name.clone()),
            family_name: Some(p.last_name.clone()),
        }),
        display_name: p.display_name.clone(),
        nick_name: p.nick_name.clone(),
        title: p.title.clone(),
        user_type: p.user_type.clone(),
        locale: p.locale.clone(),
        timezone: p.timezone.clone(),
        active: Some(u.status == UserStatus::Active),
        emails: (!p.email.is_empty()).then(|| {
            vec![MultiValue {
                value: p.email.clone(),
                kind: Some("work".into()),
                primary: Some(true),
            }]
        }),
        phone_numbers: p.mobile_phone.as_ref().map(|m| {
            vec![MultiValue {
                value: m.clone(),
                kind: Some("mobile".into()),
                primary: None,
            }]
        }),
        enterprise: Some(EnterpriseUser {
            employee_number: p.employee_number.clone(),
            cost_center: p.cost_center.clone(),
            organization: p.organization.clone(),
            division: p.division.clone(),
            department: p.department.clone(),
            manager: p.manager_id.as_ref().map(|m| Manager {
                value: m.clone(),
                display_name: p.manager.clone(),
            }),
        }),
        meta: Meta {
            resource_type: "User".into(),
            created: Some(ulo_core::clock::rfc3339(u.created)),
            last_modified: Some(ulo_core::clock::rfc3339(u.last_updated)),
            location: format!("{}/scim/v2/Users/{}", state.issuer(), u.id),
            version: Some(version_of(u.last_updated)),
        },
        extra: Map::new(),
    };
    let mut doc = scim::to_document(&user);
    fill_unassigned(&mut doc, OWNED);
    if let Some(ext) = doc.get_mut(ENTERPRISE) {
        fill_unassigned(ext, OWNED_ENTERPRISE);
    }
    if let Some(Value::Object(stored)) = stored {
        doc = overlay(doc, stored, u);
    }
    strip_nulls(&mut doc);
    doc
}

/// Sets each of `keys` that `doc` leaves out to null.
fn fill_unassigned(doc: &mut Value, keys: &[&str]) {
    if let Value::Object(o) = doc {
        for k in keys {
            o.entry(*k).or_insert(Value::Null);
        }
    }
}

/// Removes every member of `o` named `key` in any case; the first one removed.
pub fn take_ci(o: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let names: Vec<String> = o
        .keys()
        .filter(|k| k.eq_ignore_ascii_case(key))
        .cloned()
        .collect();
    let mut first = None;
    for n in names {
        let v = o.remove(&n);
        if first.is_none() {
            first = v;
        }
    }
    first
}

/// The client's last-written document with ulo's values on top: a structured attribute the
/// client wrote is kept as written while it still says what ulo's profile says (so
/// `emails[].type`, extra emails or `name.formatted` answer back as written); anything else
/// comes from ulo.
fn overlay(canonical: Value, stored: &Map<String, Value>, u: &User) -> Value {
    let p = &u.profile;
    let stored_doc = Value::Object(stored.clone());
    let Value::Object(canon) = canonical else {
        return canonical;
    };
    let mut out = stored.clone();
    for k in ["id", "meta", "schemas", "groups"] {
        take_ci(&mut out, k);
    }
    for (k, v) in canon {
        let prev = take_ci(&mut out, &k);
        let keep = match (k.as_str(), &prev) {
            ("name", Some(n)) => {
                text(n, "givenName").ok().flatten().unwrap_or_default() == p.first_name
                    && text(n, "familyName").ok().flatten().unwrap_or_default() == p.last_name
            }
            ("emails", Some(_)) => {
                !p.email.is_empty()
                    && pick_multi(&stored_doc, "emails", "work")
                        .ok()
                        .flatten()
                        .as_deref()
                        == Some(p.email.as_str())
            }
            ("phoneNumbers", Some(_)) => {
                p.mobile_phone.is_some()
                    && pick_multi(&stored_doc, "phoneNumbers", "mobile")
                        .ok()
                        .flatten()
                        == p.mobile_phone
            }
            // Removed by the client (RFC 7644 §3.5.2.2: unassigned), which is ulo's default.
            ("active", Some(Value::Null)) => u.status == UserStatus::Active,
            _ => false,
        };
        let value = match (k.as_str(), prev) {
            (_, Some(prev)) if keep => prev,
            (ENTERPRISE, Some(Value::Object(mut ext))) => {
                if let Value::Object(canon_ext) = v {
                    for (k2, v2) in canon_ext {
                        let prev2 = take_ci(&mut ext, &k2);
                        let same_manager = k2 == "manager"
                            && prev2.as_ref().and_then(|m| text(m, "value").ok().flatten())
                                == p.manager_id;
                        match prev2 {
                            Some(m) if same_manager && p.manager_id.is_some() => {
                                ext.insert(k2, m);
                            }
                            _ => {
                                ext.insert(k2, v2);
                            }
                        }
                    }
                }
                Value::Object(ext)
            }
            _ => v,
        };
        out.insert(k, value);
    }
    Value::Object(out)
}

/// The part of a written document kept as the client's SCIM attributes.
fn kept(doc: &Value) -> Value {
    let mut d = doc.as_object().cloned().unwrap_or_default();
    for k in ["id", "meta", "schemas", "groups"] {
        take_ci(&mut d, k);
    }
    Value::Object(d)
}

/// Drops null members (SCIM omits unassigned attributes).
pub fn strip_nulls(v: &mut Value) {
    if let Value::Object(o) = v {
        o.retain(|_, v| !v.is_null());
        for v in o.values_mut() {
            strip_nulls(v);
        }
        let empty_ext: Vec<String> = o
            .iter()
            .filter(|(k, v)| k.starts_with("urn:") && v.as_object().is_some_and(Map::is_empty))
            .map(|(k, _)| k.clone())
            .collect();
        for k in empty_ext {
            o.remove(&k);
        }
    }
}

/// What a SCIM User document asks for, checked.
struct Wanted {
    profile: UserProfile,
    active: bool,
    external_id: Option<String>,
    /// The SCIM attributes to keep as written.
    doc: Value,
}

fn text(doc: &Value, key: &str) -> Result<Option<String>, ScimError> {
    match get_ci(doc, key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ScimError::bad(
            "invalidValue",
            format!("{key} must be a string"),
        )),
    }
}

fn pick_multi(doc: &Value, key: &str, preferred_type: &str) -> Result<Option<String>, ScimError> {
    let items = match get_ci(doc, key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(ScimError::bad(
                "invalidValue",
                format!("{key} must be a list"),
            ));
        }
    };
    let chosen = items
        .iter()
        .find(|i| get_ci(i, "primary") == Some(&Value::Bool(true)))
        .or_else(|| {
            items
                .iter()
                .find(|i| get_ci(i, "type").and_then(Value::as_str) == Some(preferred_type))
        })
        .or_else(|| items.first());
    match chosen {
        None => Ok(None),
        Some(i) => text(i, "value"),
    }
}

/// Reads a whole User document (create, PUT, or the result of a PATCH).
fn read_doc(doc: &Value) -> Result<Wanted, ScimError> {
    let Some(obj) = doc.as_object() else {
        return Err(ScimError::bad(
            "invalidSyntax",
            "a User must be a JSON object",
        ));
    };
    for k in obj.keys() {
        let known = SHAPE.core.iter().any(|c| c.eq_ignore_ascii_case(k))
            || k.eq_ignore_ascii_case(ENTERPRISE)
            || k == "groups";
        if !known {
            return Err(ScimError::bad(
                "invalidValue",
                format!("unknown attribute {k:?}"),
            ));
        }
    }
    let login = text(doc, "userName")?
        .ok_or_else(|| ScimError::bad("invalidValue", "userName is required"))?;
    let name = get_ci(doc, "name").cloned().unwrap_or(Value::Null);
    let ext = get_ci(doc, ENTERPRISE).cloned().unwrap_or(Value::Null);
    let manager = get_ci(&ext, "manager").cloned().unwrap_or(Value::Null);
    let email = pick_multi(doc, "emails", "work")?.unwrap_or_default();
    let profile = UserProfile {
        login,
        email,
        first_name: text(&name, "givenName")?.unwrap_or_default(),
        last_name: text(&name, "familyName")?.unwrap_or_default(),
        display_name: text(doc, "displayName")?,
        nick_name: text(doc, "nickName")?,
        mobile_phone: pick_multi(doc, "phoneNumbers", "mobile")?,
        title: text(doc, "title")?,
        user_type: text(doc, "userType")?,
        locale: text(doc, "locale")?,
        timezone: text(doc, "timezone")?,
        employee_number: text(&ext, "employeeNumber")?,
        cost_center: text(&ext, "costCenter")?,
        organization: text(&ext, "organization")?,
        division: text(&ext, "division")?,
        department: text(&ext, "department")?,
        manager_id: text(&manager, "value")?,
        manager: text(&manager, "displayName")?,
        second_email: None,
    };
    profile
        .validate_for(ulo_core::user::ProvisionedBy::Scim)
        .map_err(ScimError::from)?;
    let active = match get_ci(doc, "active") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ScimError::bad("invalidValue", "active must be a boolean")),
    };
    Ok(Wanted {
        profile,
        active,
        external_id: text(doc, "externalId")?,
        doc: kept(doc),
    })
}

/// A user, its externalId and the SCIM attributes its client last wrote.
type Loaded = (User, Option<String>, Option<Value>);

async fn load(state: &AppState, c: &ScimClient, id: &str) -> Result<Loaded, ScimError> {
    if id.parse::<UserId>().is_err() {
        return Err(ScimError::not_found(format!("User {id} not found")));
    }
    let u = state.directory().get_user(&c.ctx, id).await?;
    let (ext, stored) = state
        .directory()
        .scim_attributes_of(ScimResource::User, id)
        .await?;
    Ok((u, ext, stored))
}

/// `POST /Users`.
#[utoipa::path(
    post,
    path = "/scim/v2/Users",
    operation_id = "scimCreateUser",
    tag = "SCIM",
    summary = "Create a user",
    description = "Creates the user; logged like the admin API's create, with the SCIM credential as actor.",
    request_body(content = crate::openapi::scim::UserRequest, content_type = "application/scim+json"),
    responses(
        (status = 201, description = "Created.", body = ulo_scim::resource::User, content_type = "application/scim+json", headers(("ETag" = String, description = "The resource's version (weak)."), ("Location" = String, description = "The new resource's URL."))),
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
    let w = read_doc(&doc)?;
    let dir = state.directory();
    let u = dir
        .create_user(
            &c.ctx,
            CreateUser {
                profile: w.profile,
                password_hash: None,
                activate: w.active,
                provisioned_by: ProvisionedBy::Scim,
                group_ids: vec![],
            },
        )
        .await?;
    let id = u.id.to_string();
    if w.external_id.is_some() {
        dir.set_scim_external_id(&c.ctx, ScimResource::User, &id, w.external_id.as_deref())
            .await?;
    }
    dir.set_scim_attributes(&c.ctx, ScimResource::User, &id, Some(&w.doc))
        .await?;
    Ok(resource_response(
        StatusCode::CREATED,
        &render(&state, &u, w.external_id.as_ref(), Some(&w.doc)),
    ))
}

/// `GET /Users/{id}`.
#[utoipa::path(
    get,
    path = "/scim/v2/Users/{id}",
    operation_id = "scimGetUser",
    tag = "SCIM",
    summary = "A user",
    description = "The user, projected as asked. If-None-Match naming the current version answers 304.",
    params(
        ("id" = String, Path, description = "The user's id (ulo's UUID)."),
        ("attributes" = Option<String>, Query, description = "Comma-separated attributes to answer (id and schemas always come)."),
        ("excludedAttributes" = Option<String>, Query, description = "Comma-separated attributes to leave out."),
    ),
    responses(
        (status = 200, description = "The resource.", body = ulo_scim::resource::User, content_type = "application/scim+json", headers(("ETag" = String, description = "The resource's version (weak)."))),
        (status = 304, description = "Not modified since the version in If-None-Match.", headers(("ETag" = String, description = "The resource's version (weak)."))),
        (status = 403, response = ScimForbidden),
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
    let (u, ext, stored) = load(&state, &c, &id).await?;
    let version = version_of(u.last_updated);
    if none_match_hits(&headers, &version) {
        return Ok(not_modified(&version));
    }
    Ok(resource_response(
        StatusCode::OK,
        &p.apply(render(&state, &u, ext.as_ref(), stored.as_ref())),
    ))
}

/// Every user in its SCIM form.
pub async fn all(state: &AppState, c: &ScimClient) -> Result<Vec<Value>, ScimError> {
    candidates(state, c, None).await
}

/// The login a filter pins down when it is exactly `userName eq "…"` — what provisioning clients
/// send before every push, so it must not cost a walk through the whole directory.
fn pinned_user_name(filter: Option<&str>) -> Option<String> {
    use ulo_core::filter::{CompareOp, Filter, FilterValue};
    match ulo_core::filter::parse(filter?).ok()? {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: FilterValue::String(login),
        } if path.segments.len() == 1 && path.segments[0].eq_ignore_ascii_case("userName") => {
            // The directory reads a UUID-shaped key as an id: such a userName takes the slow path.
            login.parse::<UserId>().is_err().then_some(login)
        }
        _ => None,
    }
}

/// The users a list request can match: the one a `userName eq` filter names, or everyone. The
/// full filter is still applied to what this returns.
async fn candidates(
    state: &AppState,
    c: &ScimClient,
    filter: Option<&str>,
) -> Result<Vec<Value>, ScimError> {
    let dir = state.directory();
    if let Some(login) = pinned_user_name(filter) {
        return match dir.get_user(&c.ctx, &login).await {
            Ok(u) => {
                let (ext, stored) = dir
                    .scim_attributes_of(ScimResource::User, &u.id.to_string())
                    .await?;
                Ok(vec![render(state, &u, ext.as_ref(), stored.as_ref())])
            }
            // Nobody by that name, or an admin hidden from SCIM: no match either way.
            Err(
                ulo_core::error::DomainError::NotFound { .. }
                | ulo_core::error::DomainError::Forbidden(_),
            ) => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        };
    }
    let ext = dir.scim_external_ids(ScimResource::User).await?;
    let stored = dir.scim_attributes(ScimResource::User).await?;
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let q = UserQuery {
            q: None,
            filter: None,
            page: Page {
                after: after.clone(),
                limit: 200,
            },
            risk_at: None,
        };
        let batch = dir.list_users(&c.ctx, &q).await?;
        let done = batch.len() < 200;
        after = batch.last().map(|u| u.id.to_string());
        out.extend(batch.iter().map(|u| {
            let id = u.id.to_string();
            render(state, u, ext.get(&id), stored.get(&id))
        }));
        if done {
            return Ok(out);
        }
    }
}

/// `GET /Users`.
#[utoipa::path(
    get,
    path = "/scim/v2/Users",
    operation_id = "scimListUsers",
    tag = "SCIM",
    summary = "List users",
    description = "A page of the users matching filter, sorted and projected as asked (RFC 7644 §3.4.2).",
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
        (status = 200, description = "A ListResponse.", body = ulo_scim::wire::ListResponse<ulo_scim::resource::User>, content_type = "application/scim+json"),
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
    let docs = candidates(&state, &c, p.filter.as_deref()).await?;
    Ok(scim_response(StatusCode::OK, &list_response(docs, &p)?))
}

/// `POST /Users/.search`.
#[utoipa::path(
    post,
    path = "/scim/v2/Users/.search",
    operation_id = "scimSearchUsers",
    tag = "SCIM",
    summary = "Search users",
    description = "The list query sent as a SearchRequest body (RFC 7644 §3.4.3).",
    request_body(content = crate::openapi::scim::SearchRequest, content_type = "application/scim+json"),
    responses(
        (status = 200, description = "A ListResponse.", body = ulo_scim::wire::ListResponse<ulo_scim::resource::User>, content_type = "application/scim+json"),
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
    let docs = candidates(&state, &c, p.filter.as_deref()).await?;
    Ok(scim_response(StatusCode::OK, &list_response(docs, &p)?))
}

/// Applies a checked target state to a user through the directory, each step its own transaction.
async fn apply(
    state: &AppState,
    c: &ScimClient,
    u: User,
    old_ext: Option<String>,
    old_doc: Option<Value>,
    w: Wanted,
) -> Result<Response, ScimError> {
    let id = u.id.to_string();
    // Decide the lifecycle step before changing anything, so a refused one changes nothing.
    let step = match (u.status, w.active) {
        (UserStatus::Active, false) => Some(Lifecycle::Deactivate),
        (UserStatus::Staged | UserStatus::Deprovisioned, true) => Some(Lifecycle::Activate),
        (UserStatus::Suspended, true) => Some(Lifecycle::Unsuspend),
        _ => None,
    };
    let dir = state.directory();
    let mut user = u.clone();
    if w.profile != u.profile {
        user = dir
            .update_profile(&c.ctx, &id, ProfileChange::Replace(Box::new(w.profile)))
            .await?;
    }
    if let Some(op) = step {
        user = dir.lifecycle(&c.ctx, &id, op).await?;
    }
    if w.external_id != old_ext {
        dir.set_scim_external_id(&c.ctx, ScimResource::User, &id, w.external_id.as_deref())
            .await?;
    }
    if old_doc.as_ref() != Some(&w.doc) {
        dir.set_scim_attributes(&c.ctx, ScimResource::User, &id, Some(&w.doc))
            .await?;
    }
    Ok(resource_response(
        StatusCode::OK,
        &render(state, &user, w.external_id.as_ref(), Some(&w.doc)),
    ))
}

/// `PUT /Users/{id}`.
#[utoipa::path(
    put,
    path = "/scim/v2/Users/{id}",
    operation_id = "scimReplaceUser",
    tag = "SCIM",
    summary = "Replace a user",
    description = "Replaces the user with the body (attributes left out are cleared). If-Match, when sent, must name the current version.",
    params(
        ("id" = String, Path, description = "The user's id (ulo's UUID)."),
    ),
    request_body(content = crate::openapi::scim::UserRequest, content_type = "application/scim+json"),
    responses(
        (status = 200, description = "The resource as it is now.", body = ulo_scim::resource::User, content_type = "application/scim+json", headers(("ETag" = String, description = "The resource's version (weak)."))),
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
    let (u, ext, stored) = load(&state, &c, &id).await?;
    check_if_match(&headers, &version_of(u.last_updated))?;
    if let Some(sent) = get_ci(&doc, "id").and_then(Value::as_str)
        && sent != id
    {
        return Err(ScimError::bad("mutability", "id is read-only"));
    }
    let w = read_doc(&doc)?;
    apply(&state, &c, u, ext, stored, w).await
}

/// `PATCH /Users/{id}`.
#[utoipa::path(
    patch,
    path = "/scim/v2/Users/{id}",
    operation_id = "scimPatchUser",
    tag = "SCIM",
    summary = "Change a user",
    description = "Applies a PatchOp (RFC 7644 §3.5.2): every operation or none. If-Match, when sent, must name the current version.",
    params(
        ("id" = String, Path, description = "The user's id (ulo's UUID)."),
    ),
    request_body(content = crate::openapi::scim::PatchOp, content_type = "application/scim+json"),
    responses(
        (status = 200, description = "The resource as it is now.", body = ulo_scim::resource::User, content_type = "application/scim+json", headers(("ETag" = String, description = "The resource's version (weak)."))),
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
    let (u, ext, stored) = load(&state, &c, &id).await?;
    check_if_match(&headers, &version_of(u.last_updated))?;
    let mut doc = render(&state, &u, ext.as_ref(), stored.as_ref());
    patch::apply(&mut doc, &body, &SHAPE)?;
    // A removed `active` is unassigned (RFC 7644 §3.5.2.2): remember that it was removed, so it
    // stays unassigned while the user has the default state (active).
    if let Some(o) = doc.as_object_mut()
        && !o.keys().any(|k| k.eq_ignore_ascii_case("active"))
    {
        o.insert("active".into(), Value::Null);
    }
    let w = read_doc(&doc)?;
    apply(&state, &c, u, ext, stored, w).await
}

/// `DELETE /Users/{id}`: deactivates, then deletes.
#[utoipa::path(
    delete,
    path = "/scim/v2/Users/{id}",
    operation_id = "scimDeleteUser",
    tag = "SCIM",
    summary = "Delete a user",
    description = "Deletes the user (a user is deactivated and deleted as the admin API does). If-Match, when sent, must name the current version.",
    params(
        ("id" = String, Path, description = "The user's id (ulo's UUID)."),
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
    let (u, ext, stored) = load(&state, &c, &id).await?;
    check_if_match(&headers, &version_of(u.last_updated))?;
    let dir = state.directory();
    if u.status != UserStatus::Deprovisioned {
        dir.lifecycle(&c.ctx, &id, Lifecycle::Deactivate).await?;
    }
    dir.delete_user(&c.ctx, &id).await?;
    if ext.is_some() {
        dir.set_scim_external_id(&c.ctx, ScimResource::User, &id, None)
            .await?;
    }
    if stored.is_some() {
        dir.set_scim_attributes(&c.ctx, ScimResource::User, &id, None)
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
