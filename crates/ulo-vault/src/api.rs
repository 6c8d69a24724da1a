//! The admin API (`/api/apps`, `/api/accounts`, `/api/people`, `/api/audit`) and the person
//! API (`/api/me…`). Handlers read HTTP, call the vault, and answer JSON; passwords never
//! appear in an answer except the one a person reveals.

use std::sync::Arc;

use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::get, routing::post, routing::put};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use ulo_core::clock::rfc3339;

use crate::accounts::{NewAccount, NewApp, ShareWith};
use crate::audit::AuditFilter;
use crate::auth::{Admin, SignedIn};
use crate::error::VaultError;
use crate::model::{Account, ManagedApp, Person, Principal, Provisioning};
use crate::people::PersonInput;
use crate::store::EventCondition;
use crate::vault::Vault;

/// The API routes.
pub fn router() -> Router<Arc<Vault>> {
    Router::new()
        .route("/api/apps", post(create_app).get(list_apps))
        .route("/api/accounts", post(create_account).get(list_accounts))
        .route("/api/accounts/{id}", get(get_account))
        .route("/api/accounts/{id}/rotate", post(rotate))
        .route(
            "/api/accounts/{id}/shares/{user_name}",
            put(share_person).delete(unshare_person),
        )
        .route(
            "/api/accounts/{id}/group-shares/{group}",
            put(share_group).delete(unshare_group),
        )
        .route("/api/people", post(create_person).get(list_people))
        .route("/api/audit", get(audit))
        .route("/api/me", get(me))
        .route("/api/me/accounts", get(my_accounts))
        .route("/api/me/accounts/{id}/reveal", post(reveal))
}

/// A JSON body; a bad one is a 400 that says what is wrong.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = VaultError;

    async fn from_request(req: Request, state: &S) -> Result<Self, VaultError> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| VaultError::invalid(format!("cannot read the body: {e}")))?;
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|e| VaultError::invalid(format!("invalid JSON body: {e}")))
    }
}

fn app_json(a: &ManagedApp) -> Value {
    json!({
        "id": a.id,
        "name": a.name,
        "signInUrl": a.sign_in_url,
        "connector": {"type": a.connector_type, "url": a.connector_url},
        "created": rfc3339(a.created),
    })
}

fn person_json(p: &Person) -> Value {
    json!({
        "id": p.id,
        "userName": p.user_name,
        "externalId": p.external_id,
        "displayName": p.display_name(),
        "email": p.email(),
        "active": p.active,
        "provisionedBy": p.provisioned_by.as_str(),
        "created": rfc3339(p.created),
    })
}

fn account_json(a: &Account, app: Option<&ManagedApp>) -> Value {
    json!({
        "id": a.id,
        "appId": a.app_id,
        "app": app.map(|app| json!({"id": app.id, "name": app.name, "signInUrl": app.sign_in_url})),
        "username": a.username,
        "status": a.status.as_str(),
        "rotatedAt": a.rotated_at.map(rfc3339),
        "rotationError": a.rotation_error,
        "policy": a.policy,
        "created": rfc3339(a.created),
        "updated": rfc3339(a.updated),
    })
}

async fn create_app(
    _: Admin,
    State(vault): State<Arc<Vault>>,
    ApiJson(body): ApiJson<NewApp>,
) -> Result<Response, VaultError> {
    let app = vault.create_app(body).await?;
    Ok((StatusCode::CREATED, Json(app_json(&app))).into_response())
}

async fn list_apps(_: Admin, State(vault): State<Arc<Vault>>) -> Result<Json<Value>, VaultError> {
    let apps = vault.read().await?.apps().await?;
    Ok(Json(Value::Array(apps.iter().map(app_json).collect())))
}

async fn create_account(
    _: Admin,
    State(vault): State<Arc<Vault>>,
    ApiJson(body): ApiJson<NewAccount>,
) -> Result<Response, VaultError> {
    let a = vault.create_account(body).await?;
    let app = vault.read().await?.app(&a.app_id).await?;
    Ok((StatusCode::CREATED, Json(account_json(&a, app.as_ref()))).into_response())
}

async fn list_accounts(
    _: Admin,
    State(vault): State<Arc<Vault>>,
) -> Result<Json<Value>, VaultError> {
    let mut tx = vault.read().await?;
    let mut out = Vec::new();
    for a in tx.accounts().await? {
        let app = tx.app(&a.app_id).await?;
        out.push(account_json(&a, app.as_ref()));
    }
    Ok(Json(Value::Array(out)))
}

async fn get_account(
    _: Admin,
    State(vault): State<Arc<Vault>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, VaultError> {
    let mut tx = vault.read().await?;
    let a = tx
        .account(&id)
        .await?
        .ok_or_else(|| VaultError::not_found(format!("no account with id {id:?}")))?;
    let app = tx.app(&a.app_id).await?;
    let mut shares = Vec::new();
    for s in tx.shares(&id).await? {
        shares.push(match &s {
            Principal::Person(pid) => {
                let p = tx.person(pid).await?;
                json!({"type": "person", "id": pid, "userName": p.map(|p| p.user_name)})
            }
            Principal::Group(gid) => {
                let g = tx.group(gid).await?;
                json!({"type": "group", "id": gid, "displayName": g.map(|g| g.display_name)})
            }
        });
    }
    let mut body = account_json(&a, app.as_ref());
    body["shares"] = Value::Array(shares);
    Ok(Json(body))
}

async fn rotate(
    _: Admin,
    State(vault): State<Arc<Vault>>,
    Path(id): Path<String>,
) -> Result<Response, VaultError> {
    let a = vault.request_rotation(&id).await?;
    Ok((StatusCode::ACCEPTED, Json(account_json(&a, None))).into_response())
}

async fn share_person(
    _: Admin,
    State(vault): State<Arc<Vault>>,
    Path((id, user_name)): Path<(String, String)>,
) -> Result<StatusCode, VaultError> {
    vault.share(&id, ShareWith::Person(&user_name)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn unshare_person(
    _: Admin,
    State(vault): State<Arc<Vault>>,
    Path((id, user_name)): Path<(String, String)>,
) -> Result<StatusCode, VaultError> {
    vault.unshare(&id, ShareWith::Person(&user_name)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn share_group(
    _: Admin,
    State(vault): State<Arc<Vault>>,
    Path((id, group)): Path<(String, String)>,
) -> Result<StatusCode, VaultError> {
    vault.share(&id, ShareWith::Group(&group)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn unshare_group(
    _: Admin,
    State(vault): State<Arc<Vault>>,
    Path((id, group)): Path<(String, String)>,
) -> Result<StatusCode, VaultError> {
    vault.unshare(&id, ShareWith::Group(&group)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/people`: a person created by an admin, not by SCIM.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewPerson {
    user_name: String,
    email: Option<String>,
    display_name: Option<String>,
}

async fn create_person(
    _: Admin,
    State(vault): State<Arc<Vault>>,
    ApiJson(body): ApiJson<NewPerson>,
) -> Result<Response, VaultError> {
    let mut attributes = serde_json::Map::new();
    if let Some(e) = body.email {
        attributes.insert("emails".into(), json!([{"value": e, "primary": true}]));
    }
    if let Some(d) = body.display_name {
        attributes.insert("displayName".into(), json!(d));
    }
    let p = vault
        .create_person(
            PersonInput {
                user_name: body.user_name,
                external_id: None,
                active: true,
                attributes: Value::Object(attributes),
            },
            Provisioning::Admin,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(person_json(&p))).into_response())
}

async fn list_people(_: Admin, State(vault): State<Arc<Vault>>) -> Result<Json<Value>, VaultError> {
    let people = vault.read().await?.people().await?;
    Ok(Json(Value::Array(people.iter().map(person_json).collect())))
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    filter: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

/// Largest page of audit events.
const MAX_AUDIT_LIMIT: usize = 1000;

async fn audit(
    _: Admin,
    State(vault): State<Arc<Vault>>,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Value>, VaultError> {
    let filter = match q.filter.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(f) => Some(AuditFilter::parse(f)?),
    };
    let limit = match &q.limit {
        None => 200,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_AUDIT_LIMIT).contains(n))
            .ok_or_else(|| {
                VaultError::invalid(format!(
                    "limit must be a number from 1 to {MAX_AUDIT_LIMIT}, not {l:?}"
                ))
            })?,
    };
    let condition = filter
        .as_ref()
        .map_or(EventCondition::True, AuditFilter::condition);
    let mut tx = vault.read().await?;
    let mut after = q.after.clone();
    let mut out = Vec::new();
    // Oldest first, by keyset from `after`: the store narrows by what SQL can check (with its
    // indexes), the filter decides, a chunk at a time until `limit` events matched.
    'scan: loop {
        let chunk = tx.events(&condition, after.as_deref(), 500).await?;
        let Some(last) = chunk.last() else { break };
        after = Some(last.id.clone());
        for e in &chunk {
            if filter.as_ref().is_none_or(|f| f.matches(e)) {
                out.push(e.to_json());
                if out.len() == limit {
                    break 'scan;
                }
            }
        }
    }
    Ok(Json(Value::Array(out)))
}

async fn me(who: SignedIn) -> Json<Value> {
    Json(person_json(&who.person))
}

async fn my_accounts(
    who: SignedIn,
    State(vault): State<Arc<Vault>>,
) -> Result<Json<Value>, VaultError> {
    let accounts = vault.accounts_of(&who.person).await?;
    Ok(Json(Value::Array(
        accounts
            .iter()
            .map(|(a, app)| {
                json!({
                    "id": a.id,
                    "username": a.username,
                    "status": a.status.as_str(),
                    "app": {"id": app.id, "name": app.name, "signInUrl": app.sign_in_url},
                })
            })
            .collect(),
    )))
}

async fn reveal(
    who: SignedIn,
    State(vault): State<Arc<Vault>>,
    Path(id): Path<String>,
) -> Result<Response, VaultError> {
    let password = vault.reveal(&who.person, &id).await?;
    let mut resp = Json(json!({"password": password})).into_response();
    resp.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(resp)
}
