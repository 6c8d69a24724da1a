//! Workflows: signed webhooks ulo calls when a rule asks. Register, list, inspect, change,
//! (de)activate, rotate the signing secret (shown once), delete, and send a signed test call.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use ulo_core::clock::rfc3339;
use ulo_core::workflow::{Workflow, WorkflowInput, WorkflowStatus, WorkflowWithSecret};
use utoipa::ToSchema;

use super::paging::{self, Paging};
use crate::auth::Admin;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::responses;

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(activate))
        .routes(routes!(deactivate))
        .routes(routes!(rotate_secret))
        .routes(routes!(test))
}

/// A workflow as the API shows it (never its secret).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowBody {
    /// Id.
    id: String,
    /// What admins call it.
    name: String,
    /// Where ulo POSTs its calls.
    url: String,
    /// `ACTIVE` (called when a rule asks) or `INACTIVE`.
    status: String,
    /// Created (RFC 3339).
    created: String,
    /// Last changed (RFC 3339).
    last_updated: String,
    /// The signing secret: only in the answer to a create or a rotation, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

fn workflow_body(w: Workflow, secret: Option<String>) -> WorkflowBody {
    WorkflowBody {
        id: w.id.to_string(),
        name: w.name,
        url: w.url,
        status: w.status.as_str().to_string(),
        created: rfc3339(w.created),
        last_updated: rfc3339(w.last_updated),
        secret,
    }
}

fn with_secret(w: WorkflowWithSecret) -> WorkflowBody {
    workflow_body(w.workflow, Some(w.secret))
}

/// What an admin sends to create or change a workflow.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkflowRequest {
    /// 1 to 100 characters (required to create).
    name: Option<String>,
    /// https; plain http only to loopback when the operator allows it (required to create).
    url: Option<String>,
}

impl From<WorkflowRequest> for WorkflowInput {
    fn from(r: WorkflowRequest) -> Self {
        WorkflowInput {
            name: r.name,
            url: r.url,
        }
    }
}

/// A test call queued.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowTestQueued {
    /// The job that makes the call; its attempts are logged as workflow.run.delivery.
    job_id: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/workflows",
    operation_id = "listWorkflows",
    tag = "Workflows",
    summary = "List workflows",
    description = "In id order. Any admin role. Secrets are never shown.",
    params(
        ("after" = Option<String>, Query, description = "Keyset cursor: the id of the last workflow of the previous page (anything not a UUID answers 400). Take it from the Link rel=\"next\" header.", pattern = "^[^\\u0000]*$"),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 200 (default 20); anything else answers 400.", minimum = 1, maximum = 200),
    ),
    responses(
        (status = 200, description = "A page of workflows.", body = Vec<WorkflowBody>, content_type = "application/json", headers(("Link" = String, description = "RFC 8288 links: always rel=\"self\", and rel=\"next\" when a full page came back."))),
        responses::AdminErrors,
        (status = 400, response = responses::BadRequest),
    ),
    security(("SSWS" = [])),
)]
async fn list(
    State(state): State<AppState>,
    admin: Admin,
    _: ApiQuery<paging::NothingElse>,
    paging: Paging<20, 200>,
) -> ApiResult<impl IntoResponse> {
    let page = &paging.page;
    let found = state.workflows().list(&admin.ctx, page).await?;
    let next = paging.next(&found, |w| w.id.to_string());
    let headers = paging::links(
        state.issuer(),
        "/api/v1/workflows",
        vec![("limit", page.limit.to_string())],
        next,
    );
    let out: Vec<WorkflowBody> = found.into_iter().map(|w| workflow_body(w, None)).collect();
    Ok((headers, Json(out)))
}

#[utoipa::path(
    post,
    path = "/api/v1/workflows",
    operation_id = "createWorkflow",
    tag = "Workflows",
    summary = "Register a workflow",
    description = "SUPER_ADMIN with an unrestricted token. ulo generates the signing secret and answers it in `secret` only now; store it in the receiver. The workflow starts ACTIVE. Logged as workflow.lifecycle.create.",
    request_body(content = WorkflowRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Created, with its secret (shown only now).", body = WorkflowBody, content_type = "application/json"),
        responses::AdminErrors,
        (status = 400, response = responses::BadRequest),
        (status = 415, response = responses::UnsupportedMediaType),
    ),
    security(("SSWS" = [])),
)]
async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<WorkflowRequest>,
) -> ApiResult<Response> {
    let created = state.workflows().create(&admin.ctx, &body.into()).await?;
    Ok((StatusCode::CREATED, Json(with_secret(created))).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/workflows/{id}",
    operation_id = "getWorkflow",
    tag = "Workflows",
    summary = "A workflow",
    description = "Any admin role. The secret is never shown again.",
    params(
        ("id" = String, Path, description = "The workflow's id; anything not a UUID answers 404.", format = "uuid"),
    ),
    responses(
        (status = 200, description = "The workflow.", body = WorkflowBody, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn get_one(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<WorkflowBody>> {
    let w = state.workflows().get(&admin.ctx, &id).await?;
    Ok(Json(workflow_body(w, None)))
}

#[utoipa::path(
    put,
    path = "/api/v1/workflows/{id}",
    operation_id = "updateWorkflow",
    tag = "Workflows",
    summary = "Change a workflow's name or URL",
    description = "SUPER_ADMIN with an unrestricted token. Fields left out stay as they are; the secret is unchanged. Logged as workflow.lifecycle.update.",
    params(
        ("id" = String, Path, description = "The workflow's id; anything not a UUID answers 404.", format = "uuid"),
    ),
    request_body(content = WorkflowRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The workflow.", body = WorkflowBody, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
        (status = 400, response = responses::BadRequest),
        (status = 415, response = responses::UnsupportedMediaType),
    ),
    security(("SSWS" = [])),
)]
async fn update(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<WorkflowRequest>,
) -> ApiResult<Json<WorkflowBody>> {
    let w = state
        .workflows()
        .update(&admin.ctx, &id, &body.into())
        .await?;
    Ok(Json(workflow_body(w, None)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/workflows/{id}",
    operation_id = "deleteWorkflow",
    tag = "Workflows",
    summary = "Delete a workflow",
    description = "SUPER_ADMIN with an unrestricted token. Calls still queued find it gone and stop. Logged as workflow.lifecycle.delete.",
    params(
        ("id" = String, Path, description = "The workflow's id; anything not a UUID answers 404.", format = "uuid"),
    ),
    responses(
        (status = 204, description = "Done; no body."),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn delete(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.workflows().delete(&admin.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/workflows/{id}/lifecycle/activate",
    operation_id = "activateWorkflow",
    tag = "Workflows",
    summary = "Activate a workflow",
    description = "SUPER_ADMIN with an unrestricted token. Rules may call it again. Logged as workflow.lifecycle.activate; activating an active workflow changes nothing.",
    params(
        ("id" = String, Path, description = "The workflow's id; anything not a UUID answers 404.", format = "uuid"),
    ),
    responses(
        (status = 200, description = "The workflow, ACTIVE.", body = WorkflowBody, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn activate(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<WorkflowBody>> {
    let w = state
        .workflows()
        .set_status(&admin.ctx, &id, WorkflowStatus::Active)
        .await?;
    Ok(Json(workflow_body(w, None)))
}

#[utoipa::path(
    post,
    path = "/api/v1/workflows/{id}/lifecycle/deactivate",
    operation_id = "deactivateWorkflow",
    tag = "Workflows",
    summary = "Deactivate a workflow",
    description = "SUPER_ADMIN with an unrestricted token. Rules can no longer call it and calls still queued stop. Logged as workflow.lifecycle.deactivate; deactivating an inactive workflow changes nothing.",
    params(
        ("id" = String, Path, description = "The workflow's id; anything not a UUID answers 404.", format = "uuid"),
    ),
    responses(
        (status = 200, description = "The workflow, INACTIVE.", body = WorkflowBody, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn deactivate(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<WorkflowBody>> {
    let w = state
        .workflows()
        .set_status(&admin.ctx, &id, WorkflowStatus::Inactive)
        .await?;
    Ok(Json(workflow_body(w, None)))
}

#[utoipa::path(
    post,
    path = "/api/v1/workflows/{id}/secret",
    operation_id = "rotateWorkflowSecret",
    tag = "Workflows",
    summary = "Rotate a workflow's signing secret",
    description = "SUPER_ADMIN with an unrestricted token. A new secret replaces the old one at once (calls from now on are signed with it) and is answered in `secret` only now. Logged as workflow.secret.rotate.",
    params(
        ("id" = String, Path, description = "The workflow's id; anything not a UUID answers 404.", format = "uuid"),
    ),
    responses(
        (status = 200, description = "The workflow with its new secret (shown only now).", body = WorkflowBody, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn rotate_secret(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<WorkflowBody>> {
    let w = state.workflows().rotate_secret(&admin.ctx, &id).await?;
    Ok(Json(with_secret(w)))
}

#[utoipa::path(
    post,
    path = "/api/v1/workflows/{id}/test",
    operation_id = "testWorkflow",
    tag = "Workflows",
    summary = "Send a signed test call",
    description = "SUPER_ADMIN with an unrestricted token. Queues a call with eventType workflow.test, signed like every call, so an admin can check the receiver (an inactive workflow may be tested too). Each attempt is logged as workflow.run.delivery.",
    params(
        ("id" = String, Path, description = "The workflow's id; anything not a UUID answers 404.", format = "uuid"),
    ),
    responses(
        (status = 202, description = "Queued.", body = WorkflowTestQueued, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn test(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let job = state.workflows().test(&admin.ctx, &id).await?;
    let body = WorkflowTestQueued {
        job_id: job.to_string(),
    };
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}
