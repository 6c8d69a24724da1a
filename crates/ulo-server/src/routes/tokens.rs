//! `/api/v1/api-tokens`: an admin's own API tokens, with a token or the signed-in admin's cookie.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use ulo_core::auth::ApiToken;

use super::body::WithToken;
use crate::auth::{Admin, AdminPrincipal};
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
        .routes(routes!(current))
        .routes(routes!(revoke))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    name: String,
    scopes: Option<Vec<String>>,
}

#[utoipa::path(
    post,
    path = "/api/v1/api-tokens",
    operation_id = "createApiToken",
    tag = "API tokens",
    summary = "Create an API token for the caller",
    description = "The token belongs to the caller and acts with the caller's roles; with scopes it is limited to them and cannot call the admin API (e.g. ulo.universalLogout.manage: only POST /oauth2/v1/global-token-revocation). 400 for an empty or unknown scope; 409 when the caller is no longer active or holds no role.",
    request_body(content = schema::CreateApiTokenRequest, content_type = "application/json", description = "The token's name and, optionally, the scopes it is limited to."),
    responses(
        (status = 201, description = "The new token, with its secret in token (shown once).", body = schema::ApiToken, content_type = "application/json"),
        (status = 409, response = responses::Conflict),
        responses::JsonBodyErrors,
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn create(
    State(state): State<AppState>,
    admin: AdminPrincipal,
    ApiJson(body): ApiJson<Body>,
) -> ApiResult<(StatusCode, Json<WithToken<ApiToken>>)> {
    let created = state
        .directory()
        .create_api_token(&admin.ctx, admin.user.id, &body.name, None, body.scopes)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(WithToken {
            item: created.token,
            token: created.secret,
        }),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/api-tokens",
    operation_id = "listApiTokens",
    tag = "API tokens",
    summary = "The caller's own API tokens",
    responses(
        (status = 200, description = "Every token the caller owns, revoked ones included (not paged).", body = Vec<schema::ApiToken>, content_type = "application/json"),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn list(
    State(state): State<AppState>,
    admin: AdminPrincipal,
) -> ApiResult<Json<Vec<ApiToken>>> {
    let ts = state.directory().list_api_tokens(admin.user.id).await?;
    Ok(Json(ts))
}

#[utoipa::path(
    get,
    path = "/api/v1/api-tokens/current",
    operation_id = "currentApiToken",
    tag = "API tokens",
    summary = "The token this request was made with",
    responses(
        (status = 200, description = "The token.", body = schema::ApiToken, content_type = "application/json"),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn current(admin: Admin) -> Json<ApiToken> {
    Json(admin.token)
}

#[utoipa::path(
    delete,
    path = "/api/v1/api-tokens/{id}",
    operation_id = "revokeApiToken",
    tag = "API tokens",
    summary = "Revoke an API token",
    description = "An admin may revoke their own tokens; another's needs SUPER_ADMIN (403). 404 when unknown or already revoked.",
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
    admin: AdminPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.directory().revoke_api_token(&admin.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
