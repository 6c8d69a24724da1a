//! `/scim/v2/Users`: people as SCIM User resources.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};
use ulo_core::clock::rfc3339;

use ulo_scim::patch::{self, Shape};

use super::{ListQuery, ScimBody, ScimError, list_response, scim_json};
use crate::error::VaultError;
use crate::model::{Actor, Person, Provisioning};
use crate::people::PersonInput;
use crate::vault::Vault;
use ulo_scim::resource::{Meta, User, to_document};
use ulo_scim::urn::USER as USER_SCHEMA;

/// The attributes kept as sent, besides userName, externalId and active.
const KEPT: &[&str] = &["name", "emails", "displayName"];

/// What PATCH may change: what the vault keeps; other attributes are accepted and ignored.
const SHAPE: Shape = Shape {
    core: &[
        "userName",
        "externalId",
        "active",
        "name",
        "emails",
        "displayName",
    ],
    multi: &["emails"],
    ..Shape::LENIENT
};

/// A person as a SCIM User.
fn resource(vault: &Vault, p: &Person) -> User {
    let mut extra = Map::new();
    for k in KEPT {
        if let Some(v) = p.attributes.get(*k) {
            extra.insert((*k).into(), v.clone());
        }
    }
    User {
        schemas: vec![USER_SCHEMA.into()],
        id: p.id.clone(),
        external_id: p.external_id.clone(),
        user_name: p.user_name.clone(),
        active: Some(p.active),
        meta: Meta {
            resource_type: "User".into(),
            created: Some(rfc3339(p.created)),
            last_modified: Some(rfc3339(p.updated)),
            location: format!("{}/scim/v2/Users/{}", vault.settings.public_url, p.id),
            version: None,
        },
        extra,
        ..User::default()
    }
}

/// The mutable state of a User document (what PUT replaces and PATCH edits).
fn document(p: &Person) -> Map<String, Value> {
    let mut d = Map::new();
    d.insert("userName".into(), json!(p.user_name));
    d.insert("active".into(), json!(p.active));
    if let Some(e) = &p.external_id {
        d.insert("externalId".into(), json!(e));
    }
    for k in KEPT {
        if let Some(v) = p.attributes.get(*k) {
            d.insert((*k).into(), v.clone());
        }
    }
    d
}

/// Reads a User document; unknown attributes are ignored (RFC 7644 §3.3).
fn input(doc: &Map<String, Value>) -> Result<PersonInput, VaultError> {
    let user_name = match doc.get("userName") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(VaultError::invalid("userName must be a string")),
        None => return Err(VaultError::invalid("userName is required")),
    };
    let external_id = match doc.get("externalId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(VaultError::invalid("externalId must be a string")),
    };
    let active = match doc.get("active") {
        None | Some(Value::Null) => true,
        Some(v) => boolean(v, "active")?,
    };
    if let Some(e) = doc.get("emails")
        && !e.is_array()
        && !e.is_null()
    {
        return Err(VaultError::invalid("emails must be an array"));
    }
    if let Some(n) = doc.get("name")
        && !n.is_object()
        && !n.is_null()
    {
        return Err(VaultError::invalid("name must be an object"));
    }
    let mut attributes = Map::new();
    for k in KEPT {
        if let Some(v) = doc.get(*k).filter(|v| !v.is_null()) {
            attributes.insert((*k).into(), v.clone());
        }
    }
    Ok(PersonInput {
        user_name,
        external_id,
        active,
        attributes: Value::Object(attributes),
    })
}

fn created(vault: &Vault, p: &Person) -> Response {
    let r = resource(vault, p);
    let mut resp = scim_json(StatusCode::CREATED, &r);
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{}/scim/v2/Users/{}",
        vault.settings.public_url, p.id
    )) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// `POST /Users`.
pub(crate) async fn create(
    State(vault): State<Arc<Vault>>,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let p = vault
        .create_person(input(&body)?, Provisioning::Scim)
        .await?;
    Ok(created(&vault, &p))
}

/// `GET /Users?filter=&startIndex=&count=`.
pub(crate) async fn list(
    State(vault): State<Arc<Vault>>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ScimError> {
    let people = vault.read().await?.people().await?;
    list_response(
        &q,
        people
            .iter()
            .map(|p| to_document(&resource(&vault, p)))
            .collect(),
    )
}

/// `GET /Users/{id}`.
pub(crate) async fn get(
    State(vault): State<Arc<Vault>>,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    let p = vault
        .read()
        .await?
        .person(&id)
        .await?
        .ok_or_else(|| VaultError::not_found(format!("no User with id {id:?}")))?;
    Ok(scim_json(StatusCode::OK, &resource(&vault, &p)))
}

/// `PUT /Users/{id}`.
pub(crate) async fn replace(
    State(vault): State<Arc<Vault>>,
    Path(id): Path<String>,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let new = input(&body)?;
    let p = vault.update_person(&id, |_| Ok(new)).await?;
    Ok(scim_json(StatusCode::OK, &resource(&vault, &p)))
}

/// `PATCH /Users/{id}`.
pub(crate) async fn patch(
    State(vault): State<Arc<Vault>>,
    Path(id): Path<String>,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let ops = patch::operations(&Value::Object(body), &SHAPE)?;
    let p = vault
        .update_person(&id, |current| {
            let mut doc = Value::Object(document(current));
            patch::apply_operations(&mut doc, &ops, &SHAPE)?;
            input(doc.as_object().unwrap_or(&Map::new()))
        })
        .await?;
    Ok(scim_json(StatusCode::OK, &resource(&vault, &p)))
}

/// `DELETE /Users/{id}`.
pub(crate) async fn delete(
    State(vault): State<Arc<Vault>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ScimError> {
    vault.delete_person(&id, &Actor::scim()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A SCIM boolean: `true`/`false`, or the strings some clients send.
fn boolean(v: &Value, name: &str) -> Result<bool, VaultError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(VaultError::invalid(format!(
            "{name} must be true or false, not {other}"
        ))),
    }
}
