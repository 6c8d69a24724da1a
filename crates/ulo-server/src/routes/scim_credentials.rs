//! `/api/v1/scim-credentials`: bearer credentials for `/scim/v2`, apart from admin API tokens.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Admin;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/scim-credentials", get(list).post(create))
        .route("/api/v1/scim-credentials/{id}", delete(revoke))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    name: String,
}

async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<Body>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let created = state
        .directory()
        .create_scim_credential(&admin.ctx, &body.name)
        .await?;
    let mut v = serde_json::to_value(&created.credential).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert("token".into(), json!(created.secret));
    }
    Ok((StatusCode::CREATED, Json(v)))
}

async fn list(State(state): State<AppState>, admin: Admin) -> ApiResult<Json<Value>> {
    let cs = state.directory().list_scim_credentials(&admin.ctx).await?;
    Ok(Json(serde_json::to_value(cs).unwrap_or(Value::Null)))
}

async fn revoke(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state
        .directory()
        .revoke_scim_credential(&admin.ctx, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
