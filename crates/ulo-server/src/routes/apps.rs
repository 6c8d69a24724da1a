//! `/api/v1/apps`: integrations, their lifecycle and assignments.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use ulo_core::app::{App, AppInput, AppStatus};
use ulo_core::directory::{AppUser, CreatedApp};

use super::groups::group_json;
use super::paging;
use super::users::user_json;
use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/apps", get(list).post(create))
        .route(
            "/api/v1/apps/{id}",
            get(get_one).put(replace).delete(delete),
        )
        .route("/api/v1/apps/{id}/lifecycle/{op}", post(lifecycle))
        .route("/api/v1/apps/{id}/users", get(users).post(assign_user))
        .route(
            "/api/v1/apps/{id}/users/{uid}",
            get(app_user).delete(unassign_user),
        )
        .route("/api/v1/apps/{id}/users/{uid}/resync", post(resync_user))
        .route("/api/v1/apps/{id}/groups", get(groups))
        .route(
            "/api/v1/apps/{id}/groups/{gid}",
            put(assign_group).delete(unassign_group),
        )
}

/// An app as the API shows it (never its secrets).
pub fn app_json(state: &AppState, a: &App) -> Value {
    let mut v = serde_json::to_value(a).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        let base = format!("{}/api/v1/apps/{}", state.issuer(), a.id);
        o.insert("_links".into(), json!({"self": {"href": base}, "users": {"href": format!("{base}/users")}, "groups": {"href": format!("{base}/groups")}}));
    }
    v
}

async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(input): ApiJson<AppInput>,
) -> ApiResult<Json<Value>> {
    let created = state.directory().create_app(&admin.ctx, input).await?;
    Ok(Json(created_app_json(&state, created)))
}

/// An app with the client secret its create or replace generated, if any.
fn created_app_json(state: &AppState, created: CreatedApp) -> Value {
    let mut v = app_json(state, &created.app);
    if let (Some(secret), Some(oidc)) = (
        created.client_secret,
        v.get_mut("oidc").and_then(Value::as_object_mut),
    ) {
        // Shown once: only its hash is kept.
        oidc.insert("clientSecret".into(), json!(secret));
    }
    v
}

#[derive(Deserialize)]
struct ListParams {
    q: Option<String>,
    after: Option<String>,
    limit: Option<u32>,
}

async fn list(
    State(state): State<AppState>,
    admin: Admin,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<impl IntoResponse> {
    let page = paging::page(p.after.clone(), p.limit, 20, 200)?;
    let apps = state
        .directory()
        .list_apps(&admin.ctx, p.q.as_deref(), &page)
        .await?;
    let next = paging::next_after(&page, &apps, |a| a.id.to_string());
    let mut params = vec![("limit", page.limit.to_string())];
    if let Some(q) = &p.q {
        params.push(("q", q.clone()));
    }
    let headers = paging::links(state.issuer(), "/api/v1/apps", params, next);
    Ok((
        headers,
        Json(apps.iter().map(|a| app_json(&state, a)).collect::<Vec<_>>()),
    ))
}

async fn get_one(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let a = state.directory().get_app(&admin.ctx, &id).await?;
    Ok(Json(app_json(&state, &a)))
}

async fn replace(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<AppInput>,
) -> ApiResult<Json<Value>> {
    let replaced = state
        .directory()
        .replace_app(&admin.ctx, &id, input)
        .await?;
    Ok(Json(created_app_json(&state, replaced)))
}

async fn delete(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.directory().delete_app(&admin.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn lifecycle(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((id, op)): ApiPath<(String, String)>,
) -> ApiResult<Json<Value>> {
    let status = match op.as_str() {
        "activate" => AppStatus::Active,
        "deactivate" => AppStatus::Inactive,
        _ => {
            return Err(ApiError::not_found(format!(
                "Not found: unknown lifecycle operation {op:?}; use activate or deactivate"
            )));
        }
    };
    let a = state
        .directory()
        .set_app_status(&admin.ctx, &id, status)
        .await?;
    Ok(Json(app_json(&state, &a)))
}

#[derive(Deserialize)]
struct PageParams {
    after: Option<String>,
    limit: Option<u32>,
}

async fn users(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> ApiResult<impl IntoResponse> {
    let page = paging::page(p.after, p.limit, 50, 500)?;
    let us = state
        .directory()
        .list_app_users(&admin.ctx, &id, &page)
        .await?;
    let next = paging::next_after(&page, &us, |u| u.id.to_string());
    let headers = paging::links(
        state.issuer(),
        &format!("/api/v1/apps/{id}/users"),
        vec![("limit", page.limit.to_string())],
        next,
    );
    let body: Vec<Value> = us
        .iter()
        .map(|u| json!({"id": u.id, "scope": "USER", "status": u.status, "user": user_json(&state, u)}))
        .collect();
    Ok((headers, Json(body)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    id: String,
    #[serde(default)]
    scope: Option<String>,
}

async fn assign_user(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AssignBody>,
) -> ApiResult<Json<Value>> {
    if body.scope.as_deref().is_some_and(|s| s != "USER") {
        return Err(ApiError::bad_request("Api validation failed: scope", vec!["scope: only USER can be set here; assign groups with PUT /api/v1/apps/{id}/groups/{groupId}".into()]));
    }
    let (a, u) = state
        .directory()
        .assign_user(&admin.ctx, &id, &body.id)
        .await?;
    Ok(Json(
        json!({"id": u.id, "scope": "USER", "status": u.status, "appId": a.id, "user": user_json(&state, &u)}),
    ))
}

async fn unassign_user(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((id, uid)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .directory()
        .unassign_user(&admin.ctx, &id, &uid)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn groups(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let gs = state.directory().list_app_groups(&admin.ctx, &id).await?;
    Ok(Json(json!(
        gs.iter()
            .map(|g| json!({"id": g.id, "group": group_json(&state, g)}))
            .collect::<Vec<_>>()
    )))
}

async fn assign_group(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((id, gid)): ApiPath<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (a, g) = state
        .directory()
        .assign_group(&admin.ctx, &id, &gid)
        .await?;
    Ok(Json(
        json!({"id": g.id, "appId": a.id, "group": group_json(&state, &g)}),
    ))
}

async fn unassign_group(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((id, gid)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .directory()
        .unassign_group(&admin.ctx, &id, &gid)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user as an app sees them: the assignment and the provisioning link.
fn app_user_json(state: &AppState, au: &AppUser) -> Value {
    let scope = match &au.assignment {
        Some(a) if a.direct => "USER",
        Some(_) => "GROUP",
        None => "NONE",
    };
    let groups: Vec<String> = au
        .assignment
        .as_ref()
        .map(|a| a.groups.iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    let provisioning = au.link.as_ref().map(|l| {
        json!({
            "remoteId": l.remote_id,
            "state": l.state,
            "desired": l.desired,
            "lastStatus": l.last_status,
            "lastError": l.last_error,
            "lastSynced": l.last_synced.map(ulo_core::clock::rfc3339),
        })
    });
    let base = format!(
        "{}/api/v1/apps/{}/users/{}",
        state.issuer(),
        au.app.id,
        au.user.id
    );
    json!({
        "id": au.user.id,
        "appId": au.app.id,
        "scope": scope,
        "assigned": au.assignment.is_some(),
        "groups": groups,
        "status": au.user.status,
        "user": user_json(state, &au.user),
        "provisioning": provisioning,
        "_links": {"self": {"href": base}, "resync": {"href": format!("{base}/resync")}},
    })
}

async fn app_user(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((id, uid)): ApiPath<(String, String)>,
) -> ApiResult<Json<Value>> {
    let au = state.directory().app_user(&admin.ctx, &id, &uid).await?;
    Ok(Json(app_user_json(&state, &au)))
}

async fn resync_user(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((id, uid)): ApiPath<(String, String)>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let au = state
        .directory()
        .resync_app_user(&admin.ctx, &id, &uid)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(app_user_json(&state, &au))))
}
