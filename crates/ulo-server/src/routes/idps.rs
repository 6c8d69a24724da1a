//! `/api/v1/idps`: upstream identity providers whose signed JWTs may call ulo's Global Token
//! Revocation endpoint to log users out.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::Value;
use ulo_core::logout::upstream::{self, NewUpstreamIdp};

use crate::auth::Admin;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/idps", get(list).post(create))
        .route("/api/v1/idps/{id}", delete(remove))
}

async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<NewUpstreamIdp>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let idp = upstream::register_idp(
        state.0.store.as_ref(),
        state.0.clock.as_ref(),
        &admin.ctx,
        body,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::to_value(idp).unwrap_or(Value::Null)),
    ))
}

async fn list(State(state): State<AppState>, admin: Admin) -> ApiResult<Json<Value>> {
    let idps = upstream::list_idps(state.0.store.as_ref(), &admin.ctx).await?;
    Ok(Json(serde_json::to_value(idps).unwrap_or(Value::Null)))
}

async fn remove(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    upstream::delete_idp(
        state.0.store.as_ref(),
        state.0.clock.as_ref(),
        &admin.ctx,
        &id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
