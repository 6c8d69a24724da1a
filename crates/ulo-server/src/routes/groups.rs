//! `/api/v1/groups`: groups and membership.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use ulo_core::group::GroupProfile;

use super::body::{self, GroupBody};
use super::paging::{self, Paging};
use crate::auth::Admin;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::{responses, schema};

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, replace, delete))
        .routes(routes!(members))
        .routes(routes!(add_member, remove_member))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    profile: GroupProfile,
}

#[utoipa::path(
    post,
    path = "/api/v1/groups",
    operation_id = "createGroup",
    tag = "Groups",
    summary = "Create a group",
    description = "Needs SUPER_ADMIN. 409 when the name is taken.",
    request_body(content = schema::GroupRequest, content_type = "application/json", description = "The group's profile."),
    responses(
        (status = 200, description = "The new group.", body = schema::Group, content_type = "application/json"),
        (status = 409, response = responses::Conflict),
        responses::JsonBodyErrors,
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<Body>,
) -> ApiResult<Json<GroupBody>> {
    let g = state
        .directory()
        .create_group(&admin.ctx, body.profile)
        .await?;
    Ok(Json(body::group(state.issuer(), g)))
}

/// The search of the group list.
#[derive(Deserialize)]
struct Search {
    q: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/groups",
    operation_id = "listGroups",
    tag = "Groups",
    summary = "List groups",
    params(
        ("q" = Option<String>, Query, description = "Prefix (case-insensitive) of the group name.", pattern = "^[^\\u0000]*$"),
        crate::openapi::params::After,
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 10000 (default 200); anything else answers 400.", minimum = 1, maximum = 10000),
    ),
    responses(
        (status = 200, description = "A page of groups, in id order.", body = Vec<schema::Group>, content_type = "application/json", headers(("Link" = String, description = "RFC 8288 links: always rel=\"self\" (this page, with the effective limit), and rel=\"next\" when a full page came back (follow it to continue; it carries the after cursor). Sent as separate Link header fields, e.g. <https://ulo.example.com/api/v1/users?limit=200&after=...>; rel=\"next\"."))),
        (status = 400, response = responses::BadRequest),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn list(
    State(state): State<AppState>,
    admin: Admin,
    ApiQuery(p): ApiQuery<Search>,
    paging: Paging<200, 10_000>,
) -> ApiResult<impl IntoResponse> {
    let page = &paging.page;
    let gs = state
        .directory()
        .list_groups(&admin.ctx, p.q.as_deref(), page)
        .await?;
    let next = paging.next(&gs, |g| g.id.to_string());
    let mut params = vec![("limit", page.limit.to_string())];
    if let Some(q) = &p.q {
        params.push(("q", q.clone()));
    }
    let headers = paging::links(state.issuer(), "/api/v1/groups", params, next);
    Ok((
        headers,
        Json(
            gs.into_iter()
                .map(|g| body::group(state.issuer(), g))
                .collect::<Vec<_>>(),
        ),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/groups/{gid}",
    operation_id = "getGroup",
    tag = "Groups",
    summary = "Get a group",
    params(
        ("gid" = String, Path, description = "The group's id; anything not a UUID answers 404.", format = "uuid"),
    ),
    responses(
        (status = 200, description = "The group.", body = schema::Group, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn get_one(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(gid): ApiPath<String>,
) -> ApiResult<Json<GroupBody>> {
    let g = state.directory().get_group(&admin.ctx, &gid).await?;
    Ok(Json(body::group(state.issuer(), g)))
}

#[utoipa::path(
    put,
    path = "/api/v1/groups/{gid}",
    operation_id = "replaceGroup",
    tag = "Groups",
    summary = "Replace a group's profile",
    description = "Needs SUPER_ADMIN. 409 when the name is taken.",
    params(
        ("gid" = String, Path, description = "The group's id; anything not a UUID answers 404.", format = "uuid"),
    ),
    request_body(content = schema::GroupRequest, content_type = "application/json", description = "The whole new profile."),
    responses(
        (status = 200, description = "The updated group.", body = schema::Group, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
        responses::JsonBodyErrors,
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn replace(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(gid): ApiPath<String>,
    ApiJson(body): ApiJson<Body>,
) -> ApiResult<Json<GroupBody>> {
    let g = state
        .directory()
        .update_group(&admin.ctx, &gid, body.profile)
        .await?;
    Ok(Json(body::group(state.issuer(), g)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/groups/{gid}",
    operation_id = "deleteGroup",
    tag = "Groups",
    summary = "Delete a group",
    description = "Needs SUPER_ADMIN.",
    params(
        ("gid" = String, Path, description = "The group's id; anything not a UUID answers 404.", format = "uuid"),
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
    ApiPath(gid): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.directory().delete_group(&admin.ctx, &gid).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/groups/{gid}/users",
    operation_id = "listGroupMembers",
    tag = "Groups",
    summary = "A group's members",
    params(
        ("gid" = String, Path, description = "The group's id; anything not a UUID answers 404.", format = "uuid"),
        crate::openapi::params::After,
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 1000 (default 1000); anything else answers 400.", minimum = 1, maximum = 1000),
    ),
    responses(
        (status = 200, description = "A page of members, in id order.", body = Vec<schema::User>, content_type = "application/json", headers(("Link" = String, description = "RFC 8288 links: always rel=\"self\" (this page, with the effective limit), and rel=\"next\" when a full page came back (follow it to continue; it carries the after cursor). Sent as separate Link header fields, e.g. <https://ulo.example.com/api/v1/users?limit=200&after=...>; rel=\"next\"."))),
        (status = 400, response = responses::BadRequest),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn members(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(gid): ApiPath<String>,
    paging: Paging<1000, 1000>,
) -> ApiResult<impl IntoResponse> {
    let page = &paging.page;
    let us = state
        .directory()
        .list_members(&admin.ctx, &gid, page)
        .await?;
    let next = paging.next(&us, |u| u.id.to_string());
    let headers = paging::links(
        state.issuer(),
        &format!("/api/v1/groups/{gid}/users"),
        vec![("limit", page.limit.to_string())],
        next,
    );
    Ok((
        headers,
        Json(
            us.into_iter()
                .map(|u| body::user(state.issuer(), u))
                .collect::<Vec<_>>(),
        ),
    ))
}

#[utoipa::path(
    put,
    path = "/api/v1/groups/{gid}/users/{uid}",
    operation_id = "addGroupMember",
    tag = "Groups",
    summary = "Add a user to a group",
    description = "Needs SUPER_ADMIN. No body. Idempotent.",
    params(
        ("gid" = String, Path, description = "The group's id; anything not a UUID answers 404.", format = "uuid"),
        ("uid" = String, Path, description = "The user's id, or their login."),
    ),
    responses(
        (status = 204, description = "Done; no body."),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn add_member(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((gid, uid)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state.directory().add_member(&admin.ctx, &gid, &uid).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/api/v1/groups/{gid}/users/{uid}",
    operation_id = "removeGroupMember",
    tag = "Groups",
    summary = "Remove a user from a group",
    description = "Needs SUPER_ADMIN. 404 when the user is not a member.",
    params(
        ("gid" = String, Path, description = "The group's id; anything not a UUID answers 404.", format = "uuid"),
        ("uid" = String, Path, description = "The user's id, or their login."),
    ),
    responses(
        (status = 204, description = "Done; no body."),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn remove_member(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((gid, uid)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .directory()
        .remove_member(&admin.ctx, &gid, &uid)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
