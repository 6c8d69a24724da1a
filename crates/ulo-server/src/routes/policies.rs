//! The Entity Risk Policy: `GET /api/v1/policies?type=ENTITY_RISK`, `GET /api/v1/policies/{id}`,
//! its rules (CRUD and lifecycle) and `POST /api/v1/policies/{id}/simulate`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use ulo_core::policy::{EntityRiskPolicy, PolicyRule, RuleInput, RuleStatus};
use ulo_core::risk::{DetectionType, RiskLevel};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::body;
use crate::auth::Admin;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::openapi::{responses, schema};
use crate::state::AppState;

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get_one))
        .routes(routes!(list_rules, create_rule))
        .routes(routes!(get_rule, replace_rule, delete_rule))
        .routes(routes!(activate))
        .routes(routes!(deactivate))
        .routes(routes!(simulate))
}

/// A policy, as answered (without its rules: they are under `/rules`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyBody {
    id: String,
    #[serde(rename = "type")]
    policy_type: String,
    name: String,
    status: String,
    priority: u32,
    system: bool,
    created: String,
    last_updated: String,
}

impl From<EntityRiskPolicy> for PolicyBody {
    fn from(p: EntityRiskPolicy) -> Self {
        PolicyBody {
            id: p.id.to_string(),
            policy_type: p.policy_type,
            name: p.name,
            status: p.status,
            priority: p.priority,
            system: p.system,
            created: ulo_core::clock::rfc3339(p.created),
            last_updated: ulo_core::clock::rfc3339(p.last_updated),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TypeQuery {
    #[serde(rename = "type")]
    policy_type: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/policies",
    operation_id = "listPolicies",
    tag = "Identity Threat Protection",
    summary = "List policies of a type",
    description = "type=ENTITY_RISK answers the one Entity Risk Policy (created on first start). Any other type answers 400. Any admin role.",
    params(("type" = String, Query, description = "ENTITY_RISK.")),
    responses(
        (status = 200, description = "The policies.", body = Vec<schema::EntityRiskPolicyBody>, content_type = "application/json"),
        (status = 400, response = responses::BadRequest),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn list(
    State(state): State<AppState>,
    admin: Admin,
    ApiQuery(q): ApiQuery<TypeQuery>,
) -> ApiResult<Json<Vec<PolicyBody>>> {
    let found = state.policies().list(&admin.ctx, &q.policy_type).await?;
    Ok(Json(found.into_iter().map(PolicyBody::from).collect()))
}

#[utoipa::path(
    get,
    path = "/api/v1/policies/{id}",
    operation_id = "getPolicy",
    tag = "Identity Threat Protection",
    summary = "A policy",
    description = "Any admin role.",
    params(("id" = String, Path, description = "The policy's id.")),
    responses(
        (status = 200, description = "The policy.", body = schema::EntityRiskPolicyBody, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn get_one(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<PolicyBody>> {
    Ok(Json(state.policies().get(&admin.ctx, &id).await?.into()))
}

#[utoipa::path(
    get,
    path = "/api/v1/policies/{id}/rules",
    operation_id = "listPolicyRules",
    tag = "Identity Threat Protection",
    summary = "The policy's rules",
    description = "In priority order, the default rule (priority 99) last. Any admin role.",
    params(("id" = String, Path, description = "The policy's id.")),
    responses(
        (status = 200, description = "The rules.", body = Vec<schema::EntityRiskRule>, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn list_rules(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<PolicyRule>>> {
    Ok(Json(state.policies().get(&admin.ctx, &id).await?.rules))
}

#[utoipa::path(
    post,
    path = "/api/v1/policies/{id}/rules",
    operation_id = "createPolicyRule",
    tag = "Identity Threat Protection",
    summary = "Add a rule",
    description = "Inserted at its priority (the rules at and after it move down one; absent = last before the default rule). 400 naming the field for: include and exclude of detection types together, a level no chosen detection type can produce, unknown groups, users or apps, SPECIFIC without apps. Needs SUPER_ADMIN with a full credential.",
    params(("id" = String, Path, description = "The policy's id.")),
    request_body(content = schema::EntityRiskRule, content_type = "application/json"),
    responses(
        (status = 200, description = "The rule.", body = schema::EntityRiskRule, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
        responses::JsonBodyErrors,
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn create_rule(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<RuleInput>,
) -> ApiResult<Json<PolicyRule>> {
    Ok(Json(
        state.policies().create_rule(&admin.ctx, &id, input).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/policies/{id}/rules/{ruleId}",
    operation_id = "getPolicyRule",
    tag = "Identity Threat Protection",
    summary = "A rule",
    description = "Any admin role.",
    params(
        ("id" = String, Path, description = "The policy's id."),
        ("ruleId" = String, Path, description = "The rule's id."),
    ),
    responses(
        (status = 200, description = "The rule.", body = schema::EntityRiskRule, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn get_rule(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((id, rule)): ApiPath<(String, String)>,
) -> ApiResult<Json<PolicyRule>> {
    Ok(Json(
        state.policies().get_rule(&admin.ctx, &id, &rule).await?,
    ))
}

#[utoipa::path(
    put,
    path = "/api/v1/policies/{id}/rules/{ruleId}",
    operation_id = "replacePolicyRule",
    tag = "Identity Threat Protection",
    summary = "Replace a rule",
    description = "Validated like a new rule; a priority moves it (and the others). The default rule answers 409. Needs SUPER_ADMIN with a full credential.",
    params(
        ("id" = String, Path, description = "The policy's id."),
        ("ruleId" = String, Path, description = "The rule's id."),
    ),
    request_body(content = schema::EntityRiskRule, content_type = "application/json"),
    responses(
        (status = 200, description = "The rule.", body = schema::EntityRiskRule, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
        responses::JsonBodyErrors,
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn replace_rule(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((id, rule)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<RuleInput>,
) -> ApiResult<Json<PolicyRule>> {
    Ok(Json(
        state
            .policies()
            .replace_rule(&admin.ctx, &id, &rule, input)
            .await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/api/v1/policies/{id}/rules/{ruleId}",
    operation_id = "deletePolicyRule",
    tag = "Identity Threat Protection",
    summary = "Delete a rule",
    description = "The rules after it move up. The default rule answers 409. Needs SUPER_ADMIN with a full credential.",
    params(
        ("id" = String, Path, description = "The policy's id."),
        ("ruleId" = String, Path, description = "The rule's id."),
    ),
    responses(
        (status = 204, description = "Done; no body."),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn delete_rule(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((id, rule)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state.policies().delete_rule(&admin.ctx, &id, &rule).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/policies/{id}/rules/{ruleId}/lifecycle/activate",
    operation_id = "activatePolicyRule",
    tag = "Identity Threat Protection",
    summary = "Activate a rule",
    description = "Needs SUPER_ADMIN with a full credential; the default rule answers 409.",
    params(
        ("id" = String, Path, description = "The policy's id."),
        ("ruleId" = String, Path, description = "The rule's id."),
    ),
    responses(
        (status = 200, description = "The rule.", body = schema::EntityRiskRule, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn activate(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((id, rule)): ApiPath<(String, String)>,
) -> ApiResult<Json<PolicyRule>> {
    Ok(Json(
        state
            .policies()
            .set_status(&admin.ctx, &id, &rule, RuleStatus::Active)
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/policies/{id}/rules/{ruleId}/lifecycle/deactivate",
    operation_id = "deactivatePolicyRule",
    tag = "Identity Threat Protection",
    summary = "Deactivate a rule",
    description = "An INACTIVE rule is skipped. Needs SUPER_ADMIN with a full credential; the default rule answers 409.",
    params(
        ("id" = String, Path, description = "The policy's id."),
        ("ruleId" = String, Path, description = "The rule's id."),
    ),
    responses(
        (status = 200, description = "The rule.", body = schema::EntityRiskRule, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn deactivate(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((id, rule)): ApiPath<(String, String)>,
) -> ApiResult<Json<PolicyRule>> {
    Ok(Json(
        state
            .policies()
            .set_status(&admin.ctx, &id, &rule, RuleStatus::Inactive)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SimulateBody {
    user_id: String,
    detection: DetectionType,
    level: RiskLevel,
}

/// What a simulation answers.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimulationBody {
    rule: PolicyRule,
    logout: Option<body::LogoutPreviewBody>,
}

#[utoipa::path(
    post,
    path = "/api/v1/policies/{id}/simulate",
    operation_id = "simulatePolicy",
    tag = "Identity Threat Protection",
    summary = "Dry-run the policy",
    description = "The rule a detection of this type at this level for this user would match, and the logout its TERMINATE_ALL_SESSIONS would start (a dry-run receipt, as POST /api/v1/users/{id}/logout with dryRun). Changes nothing and logs nothing. Needs SUPER_ADMIN (it reveals which apps the user reaches).",
    params(("id" = String, Path, description = "The policy's id.")),
    request_body(content = schema::PolicySimulateRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "What would happen.", body = schema::PolicySimulation, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::JsonBodyErrors,
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn simulate(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<SimulateBody>,
) -> ApiResult<Json<SimulationBody>> {
    let sim = state
        .policies()
        .simulate(&admin.ctx, &id, &b.user_id, b.detection, b.level)
        .await?;
    Ok(Json(SimulationBody {
        rule: sim.rule,
        logout: sim.logout.map(body::LogoutPreviewBody::from),
    }))
}
