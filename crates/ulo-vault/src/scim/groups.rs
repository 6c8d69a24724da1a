//! `/scim/v2/Groups`: groups and their members; accounts shared with a group are shared with
//! its members.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};
use ulo_core::clock::rfc3339;

use ulo_scim::patch::{self, Shape, ValueFilters};

use super::{ListQuery, ScimBody, ScimError, list_response, scim_json};
use crate::error::VaultError;
use crate::model::Group;
use crate::people::GroupInput;
use crate::vault::Vault;
use ulo_scim::resource::{self as scim, Member, Meta, to_document};
use ulo_scim::urn::GROUP as GROUP_SCHEMA;

/// What PATCH may change. Lenient as ulo's provisioning and directory clients expect: removing
/// a member already gone is no error, and `remove` of `members` with a value removes just
/// those members (as Microsoft Entra ID sends it).
const SHAPE: Shape = Shape {
    core: &["displayName", "externalId", "members"],
    multi: &["members"],
    value_filters: ValueFilters::RemoveOnly,
    remove_listed: true,
    ..Shape::LENIENT
};

/// A group as a SCIM Group.
fn resource(vault: &Vault, g: &Group, members: &[String]) -> scim::Group {
    let base = &vault.settings.public_url;
    scim::Group {
        schemas: vec![GROUP_SCHEMA.into()],
        id: g.id.clone(),
        external_id: g.external_id.clone(),
        display_name: g.display_name.clone(),
        members: members
            .iter()
            .map(|m| Member {
                value: m.clone(),
                display: None,
                kind: None,
                reference: Some(format!("{base}/scim/v2/Users/{m}")),
                extra: Map::new(),
            })
            .collect(),
        meta: Meta {
            resource_type: "Group".into(),
            created: Some(rfc3339(g.created)),
            last_modified: Some(rfc3339(g.updated)),
            location: format!("{base}/scim/v2/Groups/{}", g.id),
            version: None,
        },
        extra: Map::new(),
    }
}

fn member_ids(v: Option<&Value>) -> Result<Vec<String>, VaultError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|m| {
                m.get("value")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| VaultError::invalid("each member needs a string value"))
            })
            .collect(),
        Some(_) => Err(VaultError::invalid("members must be an array")),
    }
}

fn input(doc: &Map<String, Value>) -> Result<GroupInput, VaultError> {
    let display_name = doc
        .get("displayName")
        .and_then(Value::as_str)
        .ok_or_else(|| VaultError::invalid("displayName is required"))?
        .to_string();
    let external_id = doc
        .get("externalId")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut members = member_ids(doc.get("members"))?;
    members.dedup();
    Ok(GroupInput {
        display_name,
        external_id,
        members,
    })
}

/// `POST /Groups`.
pub(crate) async fn create(
    State(vault): State<Arc<Vault>>,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let i = input(&body)?;
    let members = i.members.clone();
    let g = vault.create_group(i).await?;
    Ok(scim_json(
        StatusCode::CREATED,
        &resource(&vault, &g, &members),
    ))
}

/// `GET /Groups`.
pub(crate) async fn list(
    State(vault): State<Arc<Vault>>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ScimError> {
    let mut tx = vault.read().await?;
    let mut resources = Vec::new();
    for g in tx.groups().await? {
        let m = tx.group_members(&g.id).await?;
        resources.push(to_document(&resource(&vault, &g, &m)));
    }
    list_response(&q, resources)
}

/// `GET /Groups/{id}`.
pub(crate) async fn get(
    State(vault): State<Arc<Vault>>,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    let mut tx = vault.read().await?;
    let g = tx
        .group(&id)
        .await?
        .ok_or_else(|| VaultError::not_found(format!("no Group with id {id:?}")))?;
    let m = tx.group_members(&id).await?;
    Ok(scim_json(StatusCode::OK, &resource(&vault, &g, &m)))
}

/// `PUT /Groups/{id}`.
pub(crate) async fn replace(
    State(vault): State<Arc<Vault>>,
    Path(id): Path<String>,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let i = input(&body)?;
    let members = i.members.clone();
    let g = vault.update_group(&id, |_, _| Ok(i)).await?;
    Ok(scim_json(StatusCode::OK, &resource(&vault, &g, &members)))
}

/// `PATCH /Groups/{id}`: displayName, and members added, removed (also by
/// `members[value eq "…"]`) or replaced.
pub(crate) async fn patch(
    State(vault): State<Arc<Vault>>,
    Path(id): Path<String>,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let ops = patch::operations(&Value::Object(body), &SHAPE)?;
    let mut result = Vec::new();
    let g = vault
        .update_group(&id, |g, current| {
            let mut doc = json!({
                "displayName": g.display_name,
                "members": current.iter().map(|m| json!({"value": m})).collect::<Vec<_>>(),
            });
            if let Some(e) = &g.external_id {
                doc["externalId"] = json!(e);
            }
            patch::apply_operations(&mut doc, &ops, &SHAPE)?;
            let mut i = input(doc.as_object().unwrap_or(&Map::new()))?;
            let mut seen = std::collections::HashSet::new();
            i.members.retain(|m| seen.insert(m.clone()));
            result = i.members.clone();
            Ok(i)
        })
        .await?;
    Ok(scim_json(StatusCode::OK, &resource(&vault, &g, &result)))
}

/// `DELETE /Groups/{id}`.
pub(crate) async fn delete(
    State(vault): State<Arc<Vault>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ScimError> {
    vault.delete_group(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
