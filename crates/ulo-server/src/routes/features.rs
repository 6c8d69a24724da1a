//! Early-access features: `GET /api/v1/features`, `POST /api/v1/features/{id}/enable|disable`.

use axum::Json;
use axum::extract::State;
use ulo_core::features::{self, Feature};

use crate::auth::Admin;
use crate::error::ApiResult;
use crate::extract::ApiPath;
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::{responses, schema};

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(enable))
        .routes(routes!(disable))
}

#[utoipa::path(
    get,
    path = "/api/v1/features",
    operation_id = "listFeatures",
    tag = "Features",
    summary = "List early-access features",
    description = "Any admin role. Each feature is off until an admin enables it.",
    responses(
        (status = 200, description = "Every feature ulo knows, with its status.", body = Vec<schema::Feature>, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn list(State(state): State<AppState>, admin: Admin) -> ApiResult<Json<Vec<Feature>>> {
    Ok(Json(
        features::list(state.store.as_ref(), &admin.ctx).await?,
    ))
}

async fn set(state: &AppState, admin: &Admin, id: &str, on: bool) -> ApiResult<Json<Feature>> {
    let f = features::set(
        state.store.as_ref(),
        state.clock.as_ref(),
        &admin.ctx,
        id,
        on,
    )
    .await?;
    Ok(Json(f))
}

#[utoipa::path(
    post,
    path = "/api/v1/features/{id}/enable",
    operation_id = "enableFeature",
    tag = "Features",
    summary = "Enable a feature",
    description = "SUPER_ADMIN. Logged as system.feature.enable when the status changes.",
    params(
        ("id" = String, Path, description = "The feature's id, e.g. device-logout; an unknown one answers 404."),
    ),
    responses(
        (status = 200, description = "The feature, now ENABLED.", body = schema::Feature, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn enable(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Feature>> {
    set(&state, &admin, &id, true).await
}

#[utoipa::path(
    post,
    path = "/api/v1/features/{id}/disable",
    operation_id = "disableFeature",
    tag = "Features",
    summary = "Disable a feature",
    description = "SUPER_ADMIN. Logged as system.feature.disable when the status changes.",
    params(
        ("id" = String, Path, description = "The feature's id, e.g. device-logout; an unknown one answers 404."),
    ),
    responses(
        (status = 200, description = "The feature, now DISABLED.", body = schema::Feature, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn disable(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Feature>> {
    set(&state, &admin, &id, false).await
}
