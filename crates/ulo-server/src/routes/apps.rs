//! `/api/v1/apps`: integrations, their lifecycle and assignments.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use ulo_core::app::{AppInput, AppStatus};
use ulo_core::directory::AppUser;

use super::body::{
    self, AppBody, AppUserBody, AppUserLinks, AssignedGroup, AssignedUser, ProvisioningBody,
};
use super::paging::{self, Paging};
use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
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
        .routes(routes!(lifecycle))
        .routes(routes!(users, assign_user))
        .routes(routes!(app_user, unassign_user))
        .routes(routes!(resync_user))
        .routes(routes!(groups))
        .routes(routes!(assign_group, unassign_group))
}

#[utoipa::path(
    post,
    path = "/api/v1/apps",
    operation_id = "createApp",
    tag = "Apps",
    summary = "Create an app",
    description = "Needs SUPER_ADMIN. 409 when a desktop-mfa app already exists.",
    request_body(content = schema::AppInput, content_type = "application/json", description = "The app's settings."),
    responses(
        (status = 200, description = "The new app (ACTIVE), with oidc.clientSecret shown once when the auth method uses a secret.", body = schema::App, content_type = "application/json"),
        (status = 409, response = responses::Conflict),
        responses::JsonBodyErrors,
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(input): ApiJson<AppInput>,
) -> ApiResult<Json<body::CreatedAppBody>> {
    let created = state.directory().create_app(&admin.ctx, input).await?;
    Ok(Json(body::created_app(
        state.issuer(),
        created.app,
        created.client_secret,
    )))
}

/// The search of the app list.
#[derive(Deserialize)]
struct Search {
    q: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/apps",
    operation_id = "listApps",
    tag = "Apps",
    summary = "List apps",
    params(
        ("q" = Option<String>, Query, description = "Prefix (case-insensitive) of the app label.", pattern = "^[^\\u0000]*$"),
        crate::openapi::params::After,
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 200 (default 20); anything else answers 400.", minimum = 1, maximum = 200),
    ),
    responses(
        (status = 200, description = "A page of apps, in id order.", body = Vec<schema::App>, content_type = "application/json", headers(("Link" = String, description = "RFC 8288 links: always rel=\"self\" (this page, with the effective limit), and rel=\"next\" when a full page came back (follow it to continue; it carries the after cursor). Sent as separate Link header fields, e.g. <https://ulo.example.com/api/v1/users?limit=200&after=...>; rel=\"next\"."))),
        (status = 400, response = responses::BadRequest),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn list(
    State(state): State<AppState>,
    admin: Admin,
    ApiQuery(p): ApiQuery<Search>,
    paging: Paging<20, 200>,
) -> ApiResult<impl IntoResponse> {
    let page = &paging.page;
    let apps = state
        .directory()
        .list_apps(&admin.ctx, p.q.as_deref(), page)
        .await?;
    let next = paging.next(&apps, |a| a.id.to_string());
    let mut params = vec![("limit", page.limit.to_string())];
    if let Some(q) = &p.q {
        params.push(("q", q.clone()));
    }
    let headers = paging::links(state.issuer(), "/api/v1/apps", params, next);
    Ok((
        headers,
        Json(
            apps.into_iter()
                .map(|a| body::app(state.issuer(), a))
                .collect::<Vec<_>>(),
        ),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/apps/{id}",
    operation_id = "getApp",
    tag = "Apps",
    summary = "Get an app",
    params(
        ("id" = String, Path, description = "The app's id; anything not a UUID answers 404.", format = "uuid"),
    ),
    responses(
        (status = 200, description = "The app.", body = schema::App, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn get_one(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<AppBody>> {
    let a = state.directory().get_app(&admin.ctx, &id).await?;
    Ok(Json(body::app(state.issuer(), a)))
}

#[utoipa::path(
    put,
    path = "/api/v1/apps/{id}",
    operation_id = "replaceApp",
    tag = "Apps",
    summary = "Replace an app's settings",
    description = "Needs SUPER_ADMIN.",
    params(
        ("id" = String, Path, description = "The app's id; anything not a UUID answers 404.", format = "uuid"),
    ),
    request_body(content = schema::AppInput, content_type = "application/json", description = "The whole new settings; type must not change (400)."),
    responses(
        (status = 200, description = "The updated app: client id kept, secrets the input omits kept; oidc.clientSecret shown once when switching to an auth method that uses a secret.", body = schema::App, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::JsonBodyErrors,
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn replace(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<AppInput>,
) -> ApiResult<Json<body::CreatedAppBody>> {
    let replaced = state
        .directory()
        .replace_app(&admin.ctx, &id, input)
        .await?;
    Ok(Json(body::created_app(
        state.issuer(),
        replaced.app,
        replaced.client_secret,
    )))
}

#[utoipa::path(
    delete,
    path = "/api/v1/apps/{id}",
    operation_id = "deleteApp",
    tag = "Apps",
    summary = "Delete an inactive app",
    description = "Needs SUPER_ADMIN. 409 while the app is ACTIVE.",
    params(
        ("id" = String, Path, description = "The app's id; anything not a UUID answers 404.", format = "uuid"),
    ),
    responses(
        (status = 204, description = "Done; no body."),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn delete(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.directory().delete_app(&admin.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/apps/{id}/lifecycle/{op}",
    operation_id = "appLifecycle",
    tag = "Apps",
    summary = "Activate or deactivate an app",
    description = "Needs SUPER_ADMIN. No body.",
    params(
        ("id" = String, Path, description = "The app's id; anything not a UUID answers 404.", format = "uuid"),
        ("op" = inline(schema::AppLifecycleOp), Path, description = "activate or deactivate; anything else answers 404."),
    ),
    responses(
        (status = 200, description = "The app in its new status (idempotent).", body = schema::App, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn lifecycle(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((id, op)): ApiPath<(String, String)>,
) -> ApiResult<Json<AppBody>> {
    let status = match op.as_str() {
        "activate" => AppStatus::Active,
        "deactivate" => AppStatus::Inactive,
        _ => {
            return Err(ApiError::not_found(format!(
                "Not found: unknown lifecycle operation {op:?}; use activate or deactivate"
            )));
        }
    };
    let a = state
        .directory()
        .set_app_status(&admin.ctx, &id, status)
        .await?;
    Ok(Json(body::app(state.issuer(), a)))
}

#[utoipa::path(
    get,
    path = "/api/v1/apps/{id}/users",
    operation_id = "listAppUsers",
    tag = "Apps",
    summary = "Users assigned directly to an app",
    params(
        ("id" = String, Path, description = "The app's id; anything not a UUID answers 404.", format = "uuid"),
        crate::openapi::params::After,
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 500 (default 50); anything else answers 400.", minimum = 1, maximum = 500),
    ),
    responses(
        (status = 200, description = "A page of assignments, in user id order.", body = Vec<schema::AppUser>, content_type = "application/json", headers(("Link" = String, description = "RFC 8288 links: always rel=\"self\" (this page, with the effective limit), and rel=\"next\" when a full page came back (follow it to continue; it carries the after cursor). Sent as separate Link header fields, e.g. <https://ulo.example.com/api/v1/users?limit=200&after=...>; rel=\"next\"."))),
        (status = 400, response = responses::BadRequest),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn users(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    paging: Paging<50, 500>,
) -> ApiResult<impl IntoResponse> {
    let page = &paging.page;
    let us = state
        .directory()
        .list_app_users(&admin.ctx, &id, page)
        .await?;
    let next = paging.next(&us, |u| u.id.to_string());
    let headers = paging::links(
        state.issuer(),
        &format!("/api/v1/apps/{id}/users"),
        vec![("limit", page.limit.to_string())],
        next,
    );
    let assigned: Vec<AssignedUser> = us
        .into_iter()
        .map(|u| AssignedUser {
            id: u.id,
            scope: "USER",
            status: u.status,
            app_id: None,
            user: body::user(state.issuer(), u),
        })
        .collect();
    Ok((headers, Json(assigned)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    id: String,
    #[serde(default)]
    scope: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/apps/{id}/users",
    operation_id = "assignAppUser",
    tag = "Apps",
    summary = "Assign a user to an app",
    description = "Needs SUPER_ADMIN. 404 when the app or user does not exist.",
    params(
        ("id" = String, Path, description = "The app's id; anything not a UUID answers 404.", format = "uuid"),
    ),
    request_body(content = schema::AssignUserRequest, content_type = "application/json", description = "The user to assign."),
    responses(
        (status = 200, description = "The assignment (idempotent).", body = schema::AppUser, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::JsonBodyErrors,
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn assign_user(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AssignBody>,
) -> ApiResult<Json<AssignedUser>> {
    if body.scope.as_deref().is_some_and(|s| s != "USER") {
        return Err(ApiError::bad_request("Api validation failed: scope", vec!["scope: only USER can be set here; assign groups with PUT /api/v1/apps/{id}/groups/{groupId}".into()]));
    }
    let (a, u) = state
        .directory()
        .assign_user(&admin.ctx, &id, &body.id)
        .await?;
    Ok(Json(AssignedUser {
        id: u.id,
        scope: "USER",
        status: u.status,
        app_id: Some(a.id),
        user: body::user(state.issuer(), u),
    }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/apps/{id}/users/{uid}",
    operation_id = "unassignAppUser",
    tag = "Apps",
    summary = "Remove a user's direct assignment",
    description = "Needs SUPER_ADMIN. 404 when the user is not assigned directly.",
    params(
        ("id" = String, Path, description = "The app's id; anything not a UUID answers 404.", format = "uuid"),
        ("uid" = String, Path, description = "The user's id, or their login."),
    ),
    responses(
        (status = 204, description = "Done; no body."),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn unassign_user(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((id, uid)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .directory()
        .unassign_user(&admin.ctx, &id, &uid)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/apps/{id}/groups",
    operation_id = "listAppGroups",
    tag = "Apps",
    summary = "Groups assigned to an app",
    params(
        ("id" = String, Path, description = "The app's id; anything not a UUID answers 404.", format = "uuid"),
    ),
    responses(
        (status = 200, description = "All assigned groups (not paged).", body = Vec<schema::AppGroup>, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn groups(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<AssignedGroup>>> {
    let gs = state.directory().list_app_groups(&admin.ctx, &id).await?;
    Ok(Json(
        gs.into_iter()
            .map(|g| AssignedGroup {
                id: g.id,
                app_id: None,
                group: body::group(state.issuer(), g),
            })
            .collect(),
    ))
}

#[utoipa::path(
    put,
    path = "/api/v1/apps/{id}/groups/{gid}",
    operation_id = "assignAppGroup",
    tag = "Apps",
    summary = "Assign a group to an app",
    description = "Needs SUPER_ADMIN. No body.",
    params(
        ("id" = String, Path, description = "The app's id; anything not a UUID answers 404.", format = "uuid"),
        ("gid" = String, Path, description = "The group's id; anything not a UUID answers 404.", format = "uuid"),
    ),
    responses(
        (status = 200, description = "The assignment (idempotent).", body = schema::AppGroup, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn assign_group(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((id, gid)): ApiPath<(String, String)>,
) -> ApiResult<Json<AssignedGroup>> {
    let (a, g) = state
        .directory()
        .assign_group(&admin.ctx, &id, &gid)
        .await?;
    Ok(Json(AssignedGroup {
        id: g.id,
        app_id: Some(a.id),
        group: body::group(state.issuer(), g),
    }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/apps/{id}/groups/{gid}",
    operation_id = "unassignAppGroup",
    tag = "Apps",
    summary = "Remove a group's assignment",
    description = "Needs SUPER_ADMIN. 404 when the group is not assigned.",
    params(
        ("id" = String, Path, description = "The app's id; anything not a UUID answers 404.", format = "uuid"),
        ("gid" = String, Path, description = "The group's id; anything not a UUID answers 404.", format = "uuid"),
    ),
    responses(
        (status = 204, description = "Done; no body."),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn unassign_group(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((id, gid)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .directory()
        .unassign_group(&admin.ctx, &id, &gid)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user as an app sees them: the assignment and the provisioning link.
fn app_user_body(state: &AppState, au: AppUser) -> AppUserBody {
    let scope = match &au.assignment {
        Some(a) if a.direct => "USER",
        Some(_) => "GROUP",
        None => "NONE",
    };
    let groups: Vec<String> = au
        .assignment
        .as_ref()
        .map(|a| a.groups.iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    AppUserBody {
        id: au.user.id,
        app_id: au.app.id,
        scope,
        assigned: au.assignment.is_some(),
        groups,
        status: au.user.status,
        links: AppUserLinks::new(state.issuer(), au.app.id, au.user.id),
        provisioning: au.link.map(ProvisioningBody::from),
        user: body::user(state.issuer(), au.user),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/apps/{id}/users/{uid}",
    operation_id = "getAppUser",
    tag = "Apps",
    summary = "A user's assignment to an app and their provisioning state",
    description = "Needs an admin role. Shows how the user reaches the app and, for apps with a provisioning part, the link with the app's SCIM server and how the last push went. 404 when the user is neither assigned nor linked.",
    params(
        ("id" = String, Path, description = "The app's id; anything not a UUID answers 404.", format = "uuid"),
        ("uid" = String, Path, description = "The user's id, or their login."),
    ),
    responses(
        (status = 200, description = "The assignment.", body = schema::AppUser, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn app_user(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((id, uid)): ApiPath<(String, String)>,
) -> ApiResult<Json<AppUserBody>> {
    let au = state.directory().app_user(&admin.ctx, &id, &uid).await?;
    Ok(Json(app_user_body(&state, au)))
}

#[utoipa::path(
    post,
    path = "/api/v1/apps/{id}/users/{uid}/resync",
    operation_id = "resyncAppUser",
    tag = "Apps",
    summary = "Push a user to the app's SCIM server again",
    description = "Needs SUPER_ADMIN. Enqueues a push of the user's current state (create, update or deactivate) to the app's SCIM server; answers 202 with the link. 404 when the user is neither assigned nor linked; 409 when the app has no provisioning part.",
    params(
        ("id" = String, Path, description = "The app's id; anything not a UUID answers 404.", format = "uuid"),
        ("uid" = String, Path, description = "The user's id, or their login."),
    ),
    responses(
        (status = 202, description = "Queued.", body = schema::AppUser, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn resync_user(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((id, uid)): ApiPath<(String, String)>,
) -> ApiResult<(StatusCode, Json<AppUserBody>)> {
    let au = state
        .directory()
        .resync_app_user(&admin.ctx, &id, &uid)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(app_user_body(&state, au))))
}
