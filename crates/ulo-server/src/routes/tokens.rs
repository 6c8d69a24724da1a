//! `/api/v1/api-tokens`: an admin's own API tokens, with a token or the signed-in admin's cookie.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use ulo_core::auth::ApiToken;

use crate::auth::{Admin, AdminPrincipal};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/api-tokens", get(list).post(create))
        .route("/api/v1/api-tokens/current", get(current))
        .route("/api/v1/api-tokens/{id}", delete(revoke))
}

fn token_json(t: &ApiToken) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    name: String,
    scopes: Option<Vec<String>>,
}

async fn create(
    State(state): State<AppState>,
    admin: AdminPrincipal,
    ApiJson(body): ApiJson<Body>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let created = state
        .directory()
        .create_api_token(&admin.ctx, admin.user.id, &body.name, None, body.scopes)
        .await?;
    let mut v = token_json(&created.token);
    if let Some(o) = v.as_object_mut() {
        o.insert("token".into(), json!(created.secret));
    }
    Ok((StatusCode::CREATED, Json(v)))
}

async fn list(State(state): State<AppState>, admin: AdminPrincipal) -> ApiResult<Json<Value>> {
    let ts = state.directory().list_api_tokens(admin.user.id).await?;
    Ok(Json(Value::Array(ts.iter().map(token_json).collect())))
}

async fn current(admin: Admin) -> Json<Value> {
    Json(token_json(&admin.token))
}

async fn revoke(
    State(state): State<AppState>,
    admin: AdminPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.directory().revoke_api_token(&admin.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
