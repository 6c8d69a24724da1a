//! `/api/v1/idps`: upstream identity providers whose signed JWTs may call ulo's Global Token
//! Revocation endpoint to log users out.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ulo_core::logout::upstream::{self, NewUpstreamIdp};

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
        .routes(routes!(remove))
}

#[utoipa::path(
    post,
    path = "/api/v1/idps",
    operation_id = "createIdp",
    tag = "Identity providers",
    summary = "Register an upstream identity provider",
    description = "Needs SUPER_ADMIN. Its signed JWTs may then call POST /oauth2/v1/global-token-revocation. 400 when the name, issuer or keys are not valid (the JWKS must hold public asymmetric keys only: RSA, EC or OKP, no private part); 409 when a provider with this issuer is registered. Logged as system.idp.lifecycle.create.",
    request_body(content = schema::UpstreamIdpRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered.", body = schema::UpstreamIdp, content_type = "application/json"),
        (status = 409, response = responses::Conflict),
        responses::JsonBodyErrors,
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<NewUpstreamIdp>,
) -> ApiResult<(StatusCode, Json<upstream::UpstreamIdp>)> {
    let idp = upstream::register_idp(state.store.as_ref(), state.clock.as_ref(), &admin.ctx, body)
        .await?;
    Ok((StatusCode::CREATED, Json(idp)))
}

#[utoipa::path(
    get,
    path = "/api/v1/idps",
    operation_id = "listIdps",
    tag = "Identity providers",
    summary = "List upstream identity providers",
    description = "Every registered provider (not paged). Any admin role.",
    responses(
        (status = 200, description = "The providers.", body = Vec<schema::UpstreamIdp>, content_type = "application/json"),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn list(
    State(state): State<AppState>,
    admin: Admin,
) -> ApiResult<Json<Vec<upstream::UpstreamIdp>>> {
    let idps = upstream::list_idps(state.store.as_ref(), &admin.ctx).await?;
    Ok(Json(idps))
}

#[utoipa::path(
    delete,
    path = "/api/v1/idps/{id}",
    operation_id = "deleteIdp",
    tag = "Identity providers",
    summary = "Remove an upstream identity provider",
    description = "Needs SUPER_ADMIN; its JWTs are refused from then on. Logged as system.idp.lifecycle.delete.",
    params(
        ("id" = String, Path, description = "The provider's id; an unknown id answers 404.", format = "uuid"),
    ),
    responses(
        (status = 204, description = "Removed; no body."),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn remove(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    upstream::delete_idp(state.store.as_ref(), state.clock.as_ref(), &admin.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
