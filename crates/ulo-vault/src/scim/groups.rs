//! `/scim/v2/Groups`: groups and their members; accounts shared with a group are shared with
//! its members.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};
use ulo_core::clock::rfc3339;

use super::patch;
use super::{GROUP_SCHEMA, ListQuery, ScimBody, ScimError, list_response, scim_json};
use crate::error::VaultError;
use crate::model::Group;
use crate::people::GroupInput;
use crate::vault::Vault;

fn resource(vault: &Vault, g: &Group, members: &[String]) -> Value {
    let mut r = json!({
        "schemas": [GROUP_SCHEMA],
        "id": g.id,
        "displayName": g.display_name,
        "members": members.iter().map(|m| json!({
            "value": m,
            "$ref": format!("{}/scim/v2/Users/{m}", vault.settings.public_url),
        })).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "Group",
            "created": rfc3339(g.created),
            "lastModified": rfc3339(g.updated),
            "location": format!("{}/scim/v2/Groups/{}", vault.settings.public_url, g.id),
        },
    });
    if let Some(e) = &g.external_id {
        r["externalId"] = json!(e);
    }
    r
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
        resource(&vault, &g, &members),
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
        resources.push(resource(&vault, &g, &m));
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
    Ok(scim_json(StatusCode::OK, resource(&vault, &g, &m)))
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
    Ok(scim_json(StatusCode::OK, resource(&vault, &g, &members)))
}

/// `PATCH /Groups/{id}`: displayName, and members added, removed (also by
/// `members[value eq "…"]`) or replaced.
pub(crate) async fn patch(
    State(vault): State<Arc<Vault>>,
    Path(id): Path<String>,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let ops = patch::operations(&body)?;
    let mut result = Vec::new();
    let g = vault
        .update_group(&id, |g, current| {
            let mut doc = Map::new();
            doc.insert("displayName".into(), json!(g.display_name));
            if let Some(e) = &g.external_id {
                doc.insert("externalId".into(), json!(e));
            }
            let mut members: Vec<String> = current.to_vec();
            for op in &ops {
                let on_members = op.path.as_deref().is_some_and(|p| {
                    p.eq_ignore_ascii_case("members")
                        || p.to_ascii_lowercase().starts_with("members[")
                });
                if on_members {
                    let path = op.path.as_deref().unwrap_or_default();
                    let filter = patch::apply(&mut Map::new(), op)?;
                    let given = member_ids(op.value.as_ref())?;
                    match (op.op.as_str(), filter) {
                        ("remove", Some(f)) => {
                            members.retain(|m| !ulo_core::filter::matches(&f, &json!({"value": m})))
                        }
                        ("remove", None) if given.is_empty() => members.clear(),
                        ("remove", None) => members.retain(|m| !given.contains(m)),
                        ("add", None) => {
                            for m in given {
                                if !members.contains(&m) {
                                    members.push(m);
                                }
                            }
                        }
                        ("replace", None) => members = given,
                        _ => {
                            return Err(VaultError::invalid(format!(
                                "path {path:?}: a filter applies only to remove"
                            )));
                        }
                    }
                    continue;
                }
                // Path-less operations may carry members too.
                if op.path.is_none()
                    && let Some(Value::Object(v)) = &op.value
                    && let Some(ms) = v.get("members")
                {
                    let given = member_ids(Some(ms))?;
                    match op.op.as_str() {
                        "add" => members.extend(given.into_iter().filter(|m| !current.contains(m))),
                        _ => members = given,
                    }
                    let mut rest = v.clone();
                    rest.remove("members");
                    patch::apply(
                        &mut doc,
                        &patch::Operation {
                            op: op.op.clone(),
                            path: None,
                            value: Some(Value::Object(rest)),
                        },
                    )?;
                    continue;
                }
                if patch::apply(&mut doc, op)?.is_some() {
                    return Err(VaultError::invalid(format!(
                        "path {:?}: only members take a filter",
                        op.path.as_deref().unwrap_or_default()
                    )));
                }
            }
            members.dedup();
            let mut i = input(&doc)?;
            i.members = members;
            result = i.members.clone();
            Ok(i)
        })
        .await?;
    Ok(scim_json(StatusCode::OK, resource(&vault, &g, &result)))
}

/// `DELETE /Groups/{id}`.
pub(crate) async fn delete(
    State(vault): State<Arc<Vault>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ScimError> {
    vault.delete_group(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
