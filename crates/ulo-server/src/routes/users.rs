//! `/api/v1/users`: the directory's people.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::Value;
use ulo_core::directory::{CreateUser, ProfileChange};
use ulo_core::store::UserQuery;
use ulo_core::user::{AdminRole, Lifecycle, ProvisionedBy, UserProfile, validate_password};

use super::body::{self, AppLinkBody, AppLinkLinks, AssignedBy, UserBody};
use super::paging::{self, Paging};
use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::password;
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::{responses, schema};

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_one, update_partial, replace, delete))
        .routes(routes!(lifecycle))
        .routes(routes!(groups))
        .routes(routes!(app_links))
        .routes(routes!(list_roles, grant_role))
        .routes(routes!(revoke_role))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordValue {
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    password: Option<PasswordValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateBody {
    profile: UserProfile,
    #[serde(default)]
    credentials: Option<Credentials>,
    #[serde(default)]
    group_ids: Vec<String>,
}

#[derive(Deserialize)]
struct CreateParams {
    activate: Option<bool>,
}

async fn hash_from(creds: Option<Credentials>) -> ApiResult<Option<String>> {
    match creds.and_then(|c| c.password) {
        None => Ok(None),
        Some(p) => {
            validate_password(&p.value)?;
            Ok(Some(password::hash(p.value).await?))
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/users",
    operation_id = "createUser",
    tag = "Users",
    summary = "Create a user",
    description = "Needs SUPER_ADMIN. 404 when a group in groupIds does not exist; 409 when the login is taken.",
    params(
        ("activate" = Option<bool>, Query, description = "ACTIVE at once (default true) or STAGED."),
    ),
    request_body(content = schema::CreateUserRequest, content_type = "application/json", description = "Profile, optional password, optional groups."),
    responses(
        (status = 200, description = "The new user (200, as Okta answers).", body = schema::User, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
        responses::JsonBodyErrors,
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ApiQuery(params): ApiQuery<CreateParams>,
    ApiJson(body): ApiJson<CreateBody>,
) -> ApiResult<impl IntoResponse> {
    if !admin.ctx.can_write() {
        return Err(ApiError::forbidden(
            "You do not have permission to perform the requested action: this needs the SUPER_ADMIN role",
        ));
    }
    let group_ids = body
        .group_ids
        .iter()
        .map(|g| {
            g.parse().map_err(|_| {
                ApiError::bad_request(
                    "Api validation failed: groupIds",
                    vec![format!("groupIds: {g:?} is not a group id")],
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let password_hash = hash_from(body.credentials).await?;
    let user = state
        .directory()
        .create_user(
            &admin.ctx,
            CreateUser {
                profile: body.profile,
                password_hash,
                activate: params.activate.unwrap_or(true),
                provisioned_by: ProvisionedBy::Api,
                group_ids,
            },
        )
        .await?;
    Ok((StatusCode::OK, Json(body::user(state.issuer(), user))))
}

/// The search of the user list.
#[derive(Deserialize)]
struct Search {
    q: Option<String>,
    filter: Option<String>,
    search: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/users",
    operation_id = "listUsers",
    tag = "Users",
    summary = "List and search users",
    params(
        ("q" = Option<String>, Query, description = "Prefix (case-insensitive) of login, email, firstName or lastName.", pattern = "^[^\\u0000]*$"),
        ("filter" = Option<String>, Query, description = "SCIM filter expression over id, status, provisionedBy, riskLevel, created, activated, statusChanged, lastUpdated, passwordChanged, lastLogin and profile.<attribute>, e.g. status eq \"ACTIVE\". A bad expression answers 400.", pattern = "^[^\\u0000]*$"),
        ("search" = Option<String>, Query, description = "Same as filter (Okta's name); filter wins when both are sent.", pattern = "^[^\\u0000]*$"),
        crate::openapi::params::After,
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 200 (default 200); anything else answers 400.", minimum = 1, maximum = 200),
    ),
    responses(
        (status = 200, description = "A page of users, in id order.", body = Vec<schema::User>, content_type = "application/json", headers(("Link" = String, description = "RFC 8288 links: always rel=\"self\" (this page, with the effective limit), and rel=\"next\" when a full page came back (follow it to continue; it carries the after cursor). Sent as separate Link header fields, e.g. <https://ulo.example.com/api/v1/users?limit=200&after=...>; rel=\"next\"."))),
        (status = 400, response = responses::BadRequest),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn list(
    State(state): State<AppState>,
    admin: Admin,
    ApiQuery(p): ApiQuery<Search>,
    paging: Paging<200, 200>,
) -> ApiResult<impl IntoResponse> {
    let page = &paging.page;
    let expr = p
        .filter
        .as_deref()
        .or(p.search.as_deref())
        .filter(|f| !f.trim().is_empty());
    let filter = expr
        .map(ulo_core::filter::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("Invalid search: {e}"), vec![e.to_string()]))?;
    let query = UserQuery {
        q: p.q.clone(),
        filter,
        page: page.clone(),
        risk_at: None,
    };
    let users = state.directory().list_users(&admin.ctx, &query).await?;
    let next = paging.next(&users, |u| u.id.to_string());
    let mut params = vec![("limit", page.limit.to_string())];
    for (k, v) in [
        ("q", &p.q),
        ("filter", &p.filter),
        ("search", &p.search),
        ("after", &paging.after),
    ] {
        if let Some(v) = v {
            params.push((k, v.clone()));
        }
    }
    let headers = paging::links(state.issuer(), "/api/v1/users", params, next);
    Ok((
        headers,
        Json(
            users
                .into_iter()
                .map(|u| body::user(state.issuer(), u))
                .collect::<Vec<_>>(),
        ),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    operation_id = "getUser",
    tag = "Users",
    summary = "Get a user",
    params(
        ("id" = String, Path, description = "The user's id, or their login."),
    ),
    responses(
        (status = 200, description = "The user.", body = schema::User, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn get_one(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<UserBody>> {
    let u = state.directory().get_user(&admin.ctx, &id).await?;
    Ok(Json(body::user(state.issuer(), u)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialBody {
    #[serde(default)]
    profile: Option<Value>,
    #[serde(default)]
    credentials: Option<Credentials>,
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{id}",
    operation_id = "updateUser",
    tag = "Users",
    summary = "Update some profile attributes and/or set the password",
    description = "Needs SUPER_ADMIN. 409 when the new login is taken.",
    params(
        ("id" = String, Path, description = "The user's id, or their login."),
    ),
    request_body(content = schema::UpdateUserRequest, content_type = "application/json", description = "Attributes to change and/or a new password."),
    responses(
        (status = 200, description = "The updated user.", body = schema::User, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
        responses::JsonBodyErrors,
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn update_partial(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PartialBody>,
) -> ApiResult<Json<UserBody>> {
    let dir = state.directory();
    if body.profile.is_none() && body.credentials.is_none() {
        return Err(ApiError::bad_request(
            "Api validation failed: send profile and/or credentials",
            vec![],
        ));
    }
    let hash = hash_from(body.credentials).await?;
    let mut user = match body.profile {
        Some(p) => {
            dir.update_profile(&admin.ctx, &id, ProfileChange::Partial(p))
                .await?
        }
        None => dir.get_user(&admin.ctx, &id).await?,
    };
    if let Some(h) = hash {
        user = dir
            .set_password(&admin.ctx, &user.id.to_string(), &h)
            .await?;
    }
    Ok(Json(body::user(state.issuer(), user)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplaceBody {
    profile: UserProfile,
}

#[utoipa::path(
    put,
    path = "/api/v1/users/{id}",
    operation_id = "replaceUser",
    tag = "Users",
    summary = "Replace a user's profile",
    description = "Needs SUPER_ADMIN. 409 when the new login is taken.",
    params(
        ("id" = String, Path, description = "The user's id, or their login."),
    ),
    request_body(content = schema::ReplaceUserRequest, content_type = "application/json", description = "The whole new profile."),
    responses(
        (status = 200, description = "The updated user.", body = schema::User, content_type = "application/json"),
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
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReplaceBody>,
) -> ApiResult<Json<UserBody>> {
    let u = state
        .directory()
        .update_profile(
            &admin.ctx,
            &id,
            ProfileChange::Replace(Box::new(body.profile)),
        )
        .await?;
    Ok(Json(body::user(state.issuer(), u)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}",
    operation_id = "deleteUser",
    tag = "Users",
    summary = "Delete a deactivated user",
    description = "Needs SUPER_ADMIN. 409 unless the user is DEPROVISIONED.",
    params(
        ("id" = String, Path, description = "The user's id, or their login."),
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
    state.directory().delete_user(&admin.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/lifecycle/{op}",
    operation_id = "userLifecycle",
    tag = "Users",
    summary = "Run a lifecycle operation",
    description = "Needs SUPER_ADMIN. No body. 409 when the user's status does not allow the operation, or when suspending or deactivating the last active SUPER_ADMIN.",
    params(
        ("id" = String, Path, description = "The user's id, or their login."),
        ("op" = inline(schema::UserLifecycleOp), Path, description = "activate (STAGED or DEPROVISIONED to ACTIVE), suspend (ACTIVE to SUSPENDED), unsuspend (SUSPENDED to ACTIVE) or deactivate (any other to DEPROVISIONED); anything else answers 404."),
    ),
    responses(
        (status = 200, description = "The user in their new status.", body = schema::User, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn lifecycle(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((id, op)): ApiPath<(String, String)>,
) -> ApiResult<Json<UserBody>> {
    let op: Lifecycle = op
        .parse()
        .map_err(|_| ApiError::not_found(format!("Not found: unknown lifecycle operation {op:?}; use activate, suspend, unsuspend or deactivate")))?;
    let u = state.directory().lifecycle(&admin.ctx, &id, op).await?;
    Ok(Json(body::user(state.issuer(), u)))
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/groups",
    operation_id = "listUserGroups",
    tag = "Users",
    summary = "Groups a user belongs to",
    params(
        ("id" = String, Path, description = "The user's id, or their login."),
    ),
    responses(
        (status = 200, description = "All the user's groups (not paged).", body = Vec<schema::Group>, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn groups(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<body::GroupBody>>> {
    let gs = state.directory().list_user_groups(&admin.ctx, &id).await?;
    Ok(Json(
        gs.into_iter()
            .map(|g| body::group(state.issuer(), g))
            .collect(),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/appLinks",
    operation_id = "listUserAppLinks",
    tag = "Users",
    summary = "Apps a user reaches, and how",
    params(
        ("id" = String, Path, description = "The user's id, or their login."),
    ),
    responses(
        (status = 200, description = "Every app assigned to the user directly or through a group (not paged).", body = Vec<schema::AppLink>, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn app_links(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<AppLinkBody>>> {
    let links = state.directory().user_app_links(&admin.ctx, &id).await?;
    let out = links
        .into_iter()
        .map(|l| {
            let mut assigned_by = Vec::new();
            if l.direct {
                assigned_by.push(AssignedBy::User);
            }
            assigned_by.extend(
                l.groups
                    .into_iter()
                    .map(|group_id| AssignedBy::Group { group_id }),
            );
            AppLinkBody {
                id: l.app.id,
                app_instance_id: l.app.id,
                links: AppLinkLinks::new(state.issuer(), l.app.id),
                label: l.app.label,
                app_name: l.app.app_type,
                status: l.app.status,
                logout_enabled: l.app.logout.enabled,
                assigned_by,
            }
        })
        .collect();
    Ok(Json(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/roles",
    operation_id = "listUserRoles",
    tag = "Roles",
    summary = "Admin roles a user holds",
    params(
        ("id" = String, Path, description = "The user's id, or their login."),
    ),
    responses(
        (status = 200, description = "The roles.", body = Vec<schema::Role>, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn list_roles(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<body::RoleBody>>> {
    let roles = state.directory().list_roles(&admin.ctx, &id).await?;
    Ok(Json(roles.into_iter().map(body::RoleBody::from).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    #[serde(rename = "type")]
    role: String,
}

fn parse_role(s: &str) -> ApiResult<AdminRole> {
    s.parse().map_err(|_| {
        ApiError::bad_request(
            format!("Api validation failed: unknown role {s:?}"),
            vec!["type: use SUPER_ADMIN or READ_ONLY_ADMIN".into()],
        )
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/roles",
    operation_id = "grantUserRole",
    tag = "Roles",
    summary = "Grant an admin role",
    description = "Needs SUPER_ADMIN.",
    params(
        ("id" = String, Path, description = "The user's id, or their login."),
    ),
    request_body(content = schema::GrantRoleRequest, content_type = "application/json", description = "The role to grant; an unknown type answers 400."),
    responses(
        (status = 201, description = "The role, granted (idempotent).", body = schema::Role, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::JsonBodyErrors,
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn grant_role(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RoleBody>,
) -> ApiResult<(StatusCode, Json<body::RoleBody>)> {
    let role = parse_role(&body.role)?;
    state.directory().grant_role(&admin.ctx, &id, role).await?;
    Ok((StatusCode::CREATED, Json(role.into())))
}

#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}/roles/{role}",
    operation_id = "revokeUserRole",
    tag = "Roles",
    summary = "Revoke an admin role",
    description = "Needs SUPER_ADMIN. 404 when the user does not hold the role; 409 when it is the last active SUPER_ADMIN.",
    params(
        ("id" = String, Path, description = "The user's id, or their login."),
        ("role" = String, Path, description = "The role; anything else answers 404."),
    ),
    responses(
        (status = 204, description = "Done; no body."),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn revoke_role(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((id, role)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let role =
        parse_role(&role).map_err(|_| ApiError::not_found(format!("Not found: role {role:?}")))?;
    state.directory().revoke_role(&admin.ctx, &id, role).await?;
    Ok(StatusCode::NO_CONTENT)
}
