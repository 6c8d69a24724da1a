//! `/api/v1/scim-credentials`: bearer credentials for `/scim/v2`, apart from admin API tokens.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use ulo_core::scim::ScimCredential;

use super::body::WithToken;
use crate::auth::Admin;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::{responses, schema};

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    name: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/scim-credentials",
    operation_id = "createScimCredential",
    tag = "SCIM credentials",
    summary = "Create a SCIM credential",
    description = "SUPER_ADMIN. Answers the credential with its bearer `token`, shown only once. The token is accepted only on /scim/v2. A SCIM credential manages ordinary people only: users holding an admin role are read-only to it (403 on PUT, PATCH, DELETE and group membership changes) and hidden from its lists and reads unless the operator sets ULO_SCIM_SHOW_ADMINS=1; it grants no roles.",
    request_body(content = schema::CreateScimCredentialRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; includes `token`.", body = serde_json::Map<String, serde_json::Value>, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
        (status = 400, response = responses::BadRequest),
        (status = 415, response = responses::UnsupportedMediaType),
    ),
    security(("SSWS" = [])),
)]
async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<Body>,
) -> ApiResult<(StatusCode, Json<WithToken<ScimCredential>>)> {
    let created = state
        .directory()
        .create_scim_credential(&admin.ctx, &body.name)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(WithToken {
            item: created.credential,
            token: created.secret,
        }),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/scim-credentials",
    operation_id = "listScimCredentials",
    tag = "SCIM credentials",
    summary = "List SCIM credentials",
    description = "Every bearer credential for /scim/v2, revoked ones too; tokens are never shown again.",
    responses(
        (status = 200, description = "The credentials: id, name, tokenPrefix, created, revoked.", body = Vec<serde_json::Map<String, serde_json::Value>>, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn list(State(state): State<AppState>, admin: Admin) -> ApiResult<Json<Vec<ScimCredential>>> {
    let cs = state.directory().list_scim_credentials(&admin.ctx).await?;
    Ok(Json(cs))
}

#[utoipa::path(
    delete,
    path = "/api/v1/scim-credentials/{id}",
    operation_id = "revokeScimCredential",
    tag = "SCIM credentials",
    summary = "Revoke a SCIM credential",
    description = "SUPER_ADMIN. 404 when unknown or already revoked.",
    params(
        ("id" = String, Path, description = "The token's id; anything not a UUID answers 404.", format = "uuid"),
    ),
    responses(
        (status = 204, description = "Done; no body."),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
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
