//! Device Logout, the admin side: enrollment tokens, devices (list, inspect, revoke), a
//! person's devices, and *Log Out All Devices* (`POST /api/v1/users/{id}/devices/logout`).

use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use ulo_core::clock::rfc3339;
use ulo_core::device::{self, Device, DeviceUser};
use ulo_core::store::Store;

use super::logouts::accepted;
use super::paging;
use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/device-enrollment-tokens", post(create_token))
        .route("/api/v1/devices", get(list))
        .route("/api/v1/devices/{id}", get(get_one))
        .route("/api/v1/devices/{id}/lifecycle/revoke", post(revoke))
        .route("/api/v1/users/{id}/devices", get(user_devices))
        .route("/api/v1/users/{id}/devices/logout", post(logout_devices))
}

/// A JSON body that may also be left out (no body: the defaults).
struct OptionalJson<T>(T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let empty = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .is_some_and(|v| v == "0")
            || (!req.headers().contains_key(axum::http::header::CONTENT_TYPE)
                && !req
                    .headers()
                    .contains_key(axum::http::header::TRANSFER_ENCODING)
                && !req
                    .headers()
                    .contains_key(axum::http::header::CONTENT_LENGTH));
        if empty {
            return Ok(OptionalJson(T::default()));
        }
        let ApiJson(v) = ApiJson::<T>::from_request(req, state).await?;
        Ok(OptionalJson(v))
    }
}

/// A device as the API shows it, with the people seen on it when given.
pub fn device_json(state: &AppState, d: &Device, users: Option<Vec<Value>>) -> Value {
    let mut v = serde_json::to_value(d).unwrap_or_else(|_| json!({}));
    if let Some(users) = users {
        v["users"] = Value::Array(users);
    }
    v["_links"] = json!({
        "self": {"href": format!("{}/api/v1/devices/{}", state.issuer(), d.id)},
        "revoke": {"href": format!("{}/api/v1/devices/{}/lifecycle/revoke", state.issuer(), d.id), "hints": {"allow": ["POST"]}},
    });
    v
}

/// The people seen on a device, with their logins.
async fn users_json(store: &dyn Store, links: &[DeviceUser]) -> ApiResult<Vec<Value>> {
    let mut tx = store.read().await?;
    let mut out = Vec::new();
    for l in links {
        let login = tx.get_user(l.user_id).await?.map(|u| u.profile.login);
        out.push(json!({
            "id": l.user_id, "login": login, "osLogin": l.os_login,
            "firstSeen": rfc3339(l.first_seen), "lastSeen": rfc3339(l.last_seen),
        }));
    }
    Ok(out)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TokenBody {
    expires_in_seconds: Option<i64>,
}

async fn create_token(
    State(state): State<AppState>,
    admin: Admin,
    OptionalJson(body): OptionalJson<TokenBody>,
) -> ApiResult<Response> {
    let t = device::create_enrollment_token(
        state.0.store.as_ref(),
        state.0.clock.as_ref(),
        &admin.ctx,
        body.expires_in_seconds,
    )
    .await?;
    let v = json!({
        "id": t.token.id,
        "token": t.secret,
        "expiresAt": rfc3339(t.token.expires),
        "created": rfc3339(t.token.created),
    });
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListParams {
    after: Option<String>,
    limit: Option<u32>,
}

async fn list(
    State(state): State<AppState>,
    admin: Admin,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<impl IntoResponse> {
    let page = paging::page(p.after, p.limit, 20, 200)?;
    let found = state.devices().list(&admin.ctx, &page).await?;
    let next = paging::next_after(&page, &found, |d| d.id.to_string());
    let headers = paging::links(
        state.issuer(),
        "/api/v1/devices",
        vec![("limit", page.limit.to_string())],
        next,
    );
    let body: Vec<Value> = found.iter().map(|d| device_json(&state, d, None)).collect();
    Ok((headers, Json(body)))
}

async fn get_one(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let (d, links) = state.devices().get(&admin.ctx, &id).await?;
    let users = users_json(state.0.store.as_ref(), &links).await?;
    Ok(Json(device_json(&state, &d, Some(users))))
}

async fn revoke(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let (d, changed) = state.devices().revoke(&admin.ctx, &id).await?;
    for l in changed {
        state.receipt_changed(l);
    }
    Ok(Json(device_json(&state, &d, None)))
}

async fn user_devices(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<Value>>> {
    let found = state.devices().of_user(&admin.ctx, &id).await?;
    let body = found
        .iter()
        .map(|(d, l)| {
            let mut v = device_json(&state, d, None);
            v["osLogin"] = json!(l.os_login);
            v["userLastSeen"] = json!(rfc3339(l.last_seen));
            v
        })
        .collect();
    Ok(Json(body))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LogoutBody {
    reason: Option<String>,
}

async fn logout_devices(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<LogoutBody>,
) -> ApiResult<Response> {
    let started = state
        .devices()
        .logout_all(&admin.ctx, &id, body.reason)
        .await?;
    state.receipt_changed(started.id);
    Ok(accepted(&state, &started))
}
