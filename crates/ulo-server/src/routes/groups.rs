//! `/api/v1/groups`: groups and membership.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use ulo_core::group::{Group, GroupProfile};

use super::paging;
use super::users::user_json;
use crate::auth::Admin;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/groups", get(list).post(create))
        .route(
            "/api/v1/groups/{gid}",
            get(get_one).put(replace).delete(delete),
        )
        .route("/api/v1/groups/{gid}/users", get(members))
        .route(
            "/api/v1/groups/{gid}/users/{uid}",
            put(add_member).delete(remove_member),
        )
}

/// A group as the API shows it.
pub fn group_json(state: &AppState, g: &Group) -> Value {
    let mut v = serde_json::to_value(g).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        let base = format!("{}/api/v1/groups/{}", state.issuer(), g.id);
        o.insert("type".into(), json!("OKTA_GROUP"));
        o.insert(
            "_links".into(),
            json!({"self": {"href": base}, "users": {"href": format!("{base}/users")}}),
        );
    }
    v
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    profile: GroupProfile,
}

async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<Body>,
) -> ApiResult<Json<Value>> {
    let g = state
        .directory()
        .create_group(&admin.ctx, body.profile)
        .await?;
    Ok(Json(group_json(&state, &g)))
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
    let page = paging::page(p.after.clone(), p.limit, 200, 10_000)?;
    let gs = state
        .directory()
        .list_groups(&admin.ctx, p.q.as_deref(), &page)
        .await?;
    let next = paging::next_after(&page, &gs, |g| g.id.to_string());
    let mut params = vec![("limit", page.limit.to_string())];
    if let Some(q) = &p.q {
        params.push(("q", q.clone()));
    }
    let headers = paging::links(state.issuer(), "/api/v1/groups", params, next);
    Ok((
        headers,
        Json(gs.iter().map(|g| group_json(&state, g)).collect::<Vec<_>>()),
    ))
}

async fn get_one(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(gid): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let g = state.directory().get_group(&admin.ctx, &gid).await?;
    Ok(Json(group_json(&state, &g)))
}

async fn replace(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(gid): ApiPath<String>,
    ApiJson(body): ApiJson<Body>,
) -> ApiResult<Json<Value>> {
    let g = state
        .directory()
        .update_group(&admin.ctx, &gid, body.profile)
        .await?;
    Ok(Json(group_json(&state, &g)))
}

async fn delete(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(gid): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.directory().delete_group(&admin.ctx, &gid).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct PageParams {
    after: Option<String>,
    limit: Option<u32>,
}

async fn members(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(gid): ApiPath<String>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> ApiResult<impl IntoResponse> {
    let page = paging::page(p.after, p.limit, 1000, 1000)?;
    let us = state
        .directory()
        .list_members(&admin.ctx, &gid, &page)
        .await?;
    let next = paging::next_after(&page, &us, |u| u.id.to_string());
    let headers = paging::links(
        state.issuer(),
        &format!("/api/v1/groups/{gid}/users"),
        vec![("limit", page.limit.to_string())],
        next,
    );
    Ok((
        headers,
        Json(us.iter().map(|u| user_json(&state, u)).collect::<Vec<_>>()),
    ))
}

async fn add_member(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((gid, uid)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state.directory().add_member(&admin.ctx, &gid, &uid).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_member(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((gid, uid)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .directory()
        .remove_member(&admin.ctx, &gid, &uid)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
