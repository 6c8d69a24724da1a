//! Device Logout, the admin side: enrollment tokens, devices (list, inspect, revoke), a
//! person's devices, and *Log Out All Devices* (`POST /api/v1/users/{id}/devices/logout`).

use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use ulo_core::clock::rfc3339;
use ulo_core::device::{self, DeviceUser};
use ulo_core::store::Store;

use super::body::{self, DeviceBody, DeviceUserBody};
use super::logouts::accepted;
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
        .routes(routes!(create_token))
        .routes(routes!(list))
        .routes(routes!(get_one))
        .routes(routes!(revoke))
        .routes(routes!(user_devices))
        .routes(routes!(logout_devices))
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

/// The people seen on a device, with their logins.
async fn users_seen(store: &dyn Store, links: &[DeviceUser]) -> ApiResult<Vec<DeviceUserBody>> {
    let mut tx = store.read().await?;
    let mut out = Vec::new();
    for l in links {
        let login = tx.get_user(l.user_id).await?.map(|u| u.profile.login);
        out.push(DeviceUserBody {
            id: l.user_id,
            login,
            os_login: l.os_login.clone(),
            first_seen: rfc3339(l.first_seen),
            last_seen: rfc3339(l.last_seen),
        });
    }
    Ok(out)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TokenBody {
    expires_in_seconds: Option<i64>,
}

#[utoipa::path(
    post,
    path = "/api/v1/device-enrollment-tokens",
    operation_id = "createDeviceEnrollmentToken",
    tag = "Device Logout",
    summary = "Create a device enrollment token",
    description = "SUPER_ADMIN, with the Device Logout feature on (403 saying so otherwise). A single-use token for `ulo agent enroll`, shown only now; stored hashed. The body may be left out.",
    request_body(content = Option<schema::CreateDeviceEnrollmentTokenRequest>, content_type = "application/json"),
    responses(
        (status = 201, description = "Created.", body = schema::CreateDeviceEnrollmentTokenResponse, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
        (status = 400, response = responses::BadRequest),
        (status = 415, response = responses::UnsupportedMediaType),
    ),
    security(("SSWS" = [])),
)]
async fn create_token(
    State(state): State<AppState>,
    admin: Admin,
    OptionalJson(body): OptionalJson<TokenBody>,
) -> ApiResult<Response> {
    let t = device::create_enrollment_token(
        state.store.as_ref(),
        state.clock.as_ref(),
        &admin.ctx,
        body.expires_in_seconds,
    )
    .await?;
    let issued = IssuedEnrollmentToken {
        id: t.token.id,
        token: t.secret,
        expires_at: rfc3339(t.token.expires),
        created: rfc3339(t.token.created),
    };
    Ok((StatusCode::CREATED, Json(issued)).into_response())
}

/// An enrollment token just created, its secret shown once.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IssuedEnrollmentToken {
    id: String,
    token: String,
    expires_at: String,
    created: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/devices",
    operation_id = "listDevices",
    tag = "Device Logout",
    summary = "List enrolled devices",
    description = "In id order. Any admin role.",
    params(
        ("after" = Option<String>, Query, description = "Keyset cursor: the id of the last device of the previous page (anything not a UUID answers 400). Take it from the Link rel=\"next\" header.", pattern = "^[^\\u0000]*$"),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 200 (default 20); anything else answers 400.", minimum = 1, maximum = 200),
    ),
    responses(
        (status = 200, description = "A page of devices.", body = Vec<schema::Device>, content_type = "application/json", headers(("Link" = String, description = "RFC 8288 links: always rel=\"self\" (this page, with the effective limit), and rel=\"next\" when a full page came back (follow it to continue; it carries the after cursor). Sent as separate Link header fields, e.g. <https://ulo.example.com/api/v1/users?limit=200&after=...>; rel=\"next\"."))),
        (status = 404, response = responses::NotFound),
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
    let found = state.devices().list(&admin.ctx, page).await?;
    let next = paging.next(&found, |d| d.id.to_string());
    let headers = paging::links(
        state.issuer(),
        "/api/v1/devices",
        vec![("limit", page.limit.to_string())],
        next,
    );
    let devices: Vec<DeviceBody> = found
        .into_iter()
        .map(|d| body::device(state.issuer(), d))
        .collect();
    Ok((headers, Json(devices)))
}

#[utoipa::path(
    get,
    path = "/api/v1/devices/{id}",
    operation_id = "getDevice",
    tag = "Device Logout",
    summary = "A device",
    description = "Any admin role. With `users`: the people its agent reported at the console.",
    params(
        ("id" = String, Path, description = "The device's id; anything not a UUID answers 404.", format = "uuid"),
    ),
    responses(
        (status = 200, description = "The device.", body = schema::Device, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn get_one(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<DeviceBody>> {
    let (d, links) = state.devices().get(&admin.ctx, &id).await?;
    let mut answer = body::device(state.issuer(), d);
    answer.users = Some(users_seen(state.store.as_ref(), &links).await?);
    Ok(Json(answer))
}

#[utoipa::path(
    post,
    path = "/api/v1/devices/{id}/lifecycle/revoke",
    operation_id = "revokeDevice",
    tag = "Device Logout",
    summary = "Revoke a device",
    description = "SUPER_ADMIN. Every later call of its agent is refused (403); its unanswered commands fail on their receipts. Logged as device.lifecycle.revoke. Revoking a revoked device changes nothing.",
    params(
        ("id" = String, Path, description = "The device's id; anything not a UUID answers 404.", format = "uuid"),
    ),
    responses(
        (status = 200, description = "The device, REVOKED.", body = schema::Device, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn revoke(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<DeviceBody>> {
    let (d, changed) = state.devices().revoke(&admin.ctx, &id).await?;
    for l in changed {
        state.receipt_changed(l);
    }
    Ok(Json(body::device(state.issuer(), d)))
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/devices",
    operation_id = "listUserDevices",
    tag = "Device Logout",
    summary = "A person's devices",
    description = "Any admin role. The devices whose agent reported this person at the console, with `osLogin` (their account there) and `userLastSeen`.",
    params(
        ("id" = String, Path, description = "The user's id or login."),
    ),
    responses(
        (status = 200, description = "The devices.", body = Vec<schema::Device>, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn user_devices(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<DeviceBody>>> {
    let found = state.devices().of_user(&admin.ctx, &id).await?;
    let devices = found
        .into_iter()
        .map(|(d, l)| {
            let mut answer = body::device(state.issuer(), d);
            answer.user_last_seen = Some(rfc3339(l.last_seen));
            answer.os_login = Some(l.os_login);
            answer
        })
        .collect();
    Ok(Json(devices))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LogoutBody {
    reason: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/devices/logout",
    operation_id = "logoutUserDevices",
    tag = "Device Logout",
    summary = "Log Out All Devices",
    description = "SUPER_ADMIN, with the Device Logout feature on (403 saying so otherwise) and the desktop-mfa app's Logout setting on (409 saying so otherwise). Issues a signed SIGN_OUT command to each of the person's active devices (device.desktop_mfa.device_logout.started) and answers the receipt: one DEVICE target per device, SUCCEEDED or FAILED when the agent acknowledges (device.desktop_mfa.device_logout.completed), FAILED when the command expires unacknowledged (ULO_DEVICE_COMMAND_TTL_SECONDS, default 24 h). With no devices, the desktop-mfa app target is SKIPPED and the receipt COMPLETED. The body may be left out.",
    params(
        ("id" = String, Path, description = "The user's id or login."),
    ),
    request_body(content = Option<schema::LogoutUserDevicesRequest>, content_type = "application/json"),
    responses(
        (status = 202, description = "Started: the receipt (scope DEVICES).", body = schema::LogoutReceipt, content_type = "application/json", headers(("Location" = String, description = "The receipt: /api/v1/logouts/{id}."))),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
        (status = 400, response = responses::BadRequest),
        (status = 415, response = responses::UnsupportedMediaType),
        (status = 409, response = responses::Conflict),
    ),
    security(("SSWS" = [])),
)]
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
    Ok(accepted(&state, started))
}
