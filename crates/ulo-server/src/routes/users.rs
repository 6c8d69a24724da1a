//! `/api/v1/users`: the directory's people.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use ulo_core::directory::{CreateUser, ProfileChange};
use ulo_core::store::UserQuery;
use ulo_core::user::{AdminRole, Lifecycle, ProvisionedBy, User, UserProfile, validate_password};

use super::paging;
use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::password;
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users", post(create).get(list))
        .route(
            "/api/v1/users/{id}",
            get(get_one)
                .post(update_partial)
                .put(replace)
                .delete(delete),
        )
        .route("/api/v1/users/{id}/lifecycle/{op}", post(lifecycle))
        .route("/api/v1/users/{id}/groups", get(groups))
        .route("/api/v1/users/{id}/appLinks", get(app_links))
        .route("/api/v1/users/{id}/roles", get(list_roles).post(grant_role))
        .route(
            "/api/v1/users/{id}/roles/{role}",
            axum::routing::delete(revoke_role),
        )
}

/// A user as the API shows it.
pub fn user_json(state: &AppState, u: &User) -> Value {
    let mut v = serde_json::to_value(u).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        let base = format!("{}/api/v1/users/{}", state.issuer(), u.id);
        o.insert(
            "_links".into(),
            json!({
                "self": {"href": base},
                "groups": {"href": format!("{base}/groups")},
                "appLinks": {"href": format!("{base}/appLinks")},
            }),
        );
    }
    v
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
    Ok((StatusCode::OK, Json(user_json(&state, &user))))
}

#[derive(Deserialize)]
struct ListParams {
    q: Option<String>,
    filter: Option<String>,
    search: Option<String>,
    after: Option<String>,
    limit: Option<u32>,
}

async fn list(
    State(state): State<AppState>,
    admin: Admin,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<impl IntoResponse> {
    let page = paging::page(p.after.clone(), p.limit, 200, 200)?;
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
    };
    let users = state.directory().list_users(&admin.ctx, &query).await?;
    let next = paging::next_after(&page, &users, |u| u.id.to_string());
    let mut params = vec![("limit", page.limit.to_string())];
    for (k, v) in [
        ("q", &p.q),
        ("filter", &p.filter),
        ("search", &p.search),
        ("after", &p.after),
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
                .iter()
                .map(|u| user_json(&state, u))
                .collect::<Vec<_>>(),
        ),
    ))
}

async fn get_one(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let u = state.directory().get_user(&admin.ctx, &id).await?;
    Ok(Json(user_json(&state, &u)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialBody {
    #[serde(default)]
    profile: Option<Value>,
    #[serde(default)]
    credentials: Option<Credentials>,
}

async fn update_partial(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PartialBody>,
) -> ApiResult<Json<Value>> {
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
    Ok(Json(user_json(&state, &user)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplaceBody {
    profile: UserProfile,
}

async fn replace(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReplaceBody>,
) -> ApiResult<Json<Value>> {
    let u = state
        .directory()
        .update_profile(
            &admin.ctx,
            &id,
            ProfileChange::Replace(Box::new(body.profile)),
        )
        .await?;
    Ok(Json(user_json(&state, &u)))
}

async fn delete(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.directory().delete_user(&admin.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn lifecycle(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((id, op)): ApiPath<(String, String)>,
) -> ApiResult<Json<Value>> {
    let op: Lifecycle = op
        .parse()
        .map_err(|_| ApiError::not_found(format!("Not found: unknown lifecycle operation {op:?}; use activate, suspend, unsuspend or deactivate")))?;
    let u = state.directory().lifecycle(&admin.ctx, &id, op).await?;
    Ok(Json(user_json(&state, &u)))
}

async fn groups(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let gs = state.directory().list_user_groups(&admin.ctx, &id).await?;
    Ok(Json(json!(
        gs.iter()
            .map(|g| super::groups::group_json(&state, g))
            .collect::<Vec<_>>()
    )))
}

async fn app_links(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let links = state.directory().user_app_links(&admin.ctx, &id).await?;
    let out: Vec<Value> = links
        .iter()
        .map(|l| {
            let mut via: Vec<Value> = Vec::new();
            if l.direct {
                via.push(json!({"type": "USER"}));
            }
            via.extend(
                l.groups
                    .iter()
                    .map(|g| json!({"type": "GROUP", "groupId": g})),
            );
            json!({
                "id": l.app.id,
                "appInstanceId": l.app.id,
                "label": l.app.label,
                "appName": l.app.app_type,
                "status": l.app.status,
                "logoutEnabled": l.app.logout.enabled,
                "assignedBy": via,
                "_links": {"app": {"href": format!("{}/api/v1/apps/{}", state.issuer(), l.app.id)}},
            })
        })
        .collect();
    Ok(Json(Value::Array(out)))
}

fn role_json(r: AdminRole) -> Value {
    json!({"id": r.as_str(), "type": r.as_str(), "label": match r { AdminRole::SuperAdmin => "Super Administrator", AdminRole::ReadOnlyAdmin => "Read Only Administrator" }, "status": "ACTIVE"})
}

async fn list_roles(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let roles = state.directory().list_roles(&admin.ctx, &id).await?;
    Ok(Json(Value::Array(
        roles.into_iter().map(role_json).collect(),
    )))
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

async fn grant_role(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RoleBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let role = parse_role(&body.role)?;
    state.directory().grant_role(&admin.ctx, &id, role).await?;
    Ok((StatusCode::CREATED, Json(role_json(role))))
}

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
