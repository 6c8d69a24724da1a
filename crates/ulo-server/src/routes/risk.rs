//! Entity risk of a user: `GET|PUT /api/v1/users/{id}/risk` (Okta's shape; ulo adds MEDIUM, a
//! reason and the active detections).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use ulo_core::risk::{Detection, EntityRisk, RiskLevel};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Admin;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath};
use crate::openapi::{responses, schema};
use crate::state::AppState;

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_risk, put_risk))
}

/// A user's entity risk, as answered.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRiskBody {
    risk_level: &'static str,
    reason: Option<String>,
    detections: Vec<Detection>,
}

impl From<EntityRisk> for UserRiskBody {
    fn from(r: EntityRisk) -> Self {
        UserRiskBody {
            risk_level: r.level.map_or("NONE", |l| l.as_str()),
            reason: r.reason,
            detections: r.detections,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RiskBody {
    risk_level: RiskLevel,
    reason: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/risk",
    operation_id = "getUserRisk",
    tag = "Identity Threat Protection",
    summary = "A user's entity risk",
    description = "The highest level of the user's active (unexpired, not reset) detections, NONE when there is none; the reason of the highest one; the active detections, newest first. Any admin role.",
    params(("id" = String, Path, description = "The user's id or login.")),
    responses(
        (status = 200, description = "The risk.", body = schema::UserRisk, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn get_risk(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<UserRiskBody>> {
    Ok(Json(state.risks().get(&admin.ctx, &id).await?.into()))
}

#[utoipa::path(
    put,
    path = "/api/v1/users/{id}/risk",
    operation_id = "setUserRisk",
    tag = "Identity Threat Protection",
    summary = "Report or reset a user's risk",
    description = "MEDIUM or HIGH records an ADMIN_REPORTED_USER_RISK detection (user.risk.detect) and evaluates the Entity Risk Policy, whose matching rule may log the user out, all in one transaction; LOW ends the user's active detections (user.risk.reset). Answers the risk after. Needs SUPER_ADMIN.",
    params(("id" = String, Path, description = "The user's id or login.")),
    request_body(content = schema::UserRiskRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The risk after the change.", body = schema::UserRisk, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::JsonBodyErrors,
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn put_risk(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RiskBody>,
) -> ApiResult<Json<UserRiskBody>> {
    let risk = state
        .risks()
        .set(&admin.ctx, &id, body.risk_level, body.reason)
        .await?;
    Ok(Json(risk.into()))
}
