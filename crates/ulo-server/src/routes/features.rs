//! Early-access features: `GET /api/v1/features`, `POST /api/v1/features/{id}/enable|disable`.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use ulo_core::features::{self, Feature};

use crate::auth::Admin;
use crate::error::ApiResult;
use crate::extract::ApiPath;
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/features", get(list))
        .route("/api/v1/features/{id}/enable", post(enable))
        .route("/api/v1/features/{id}/disable", post(disable))
}

async fn list(State(state): State<AppState>, admin: Admin) -> ApiResult<Json<Vec<Feature>>> {
    Ok(Json(
        features::list(state.0.store.as_ref(), &admin.ctx).await?,
    ))
}

async fn set(state: &AppState, admin: &Admin, id: &str, on: bool) -> ApiResult<Json<Feature>> {
    let f = features::set(
        state.0.store.as_ref(),
        state.0.clock.as_ref(),
        &admin.ctx,
        id,
        on,
    )
    .await?;
    Ok(Json(f))
}

async fn enable(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Feature>> {
    set(&state, &admin, &id, true).await
}

async fn disable(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Feature>> {
    set(&state, &admin, &id, false).await
}
