//! `/api/v1/users/{id}/sessions` (list and clear a user's sessions and tokens), ending one
//! session (`/api/v1/sessions/{sessionId}`, `/api/v1/users/{id}/sessions/{sessionId}`) and
//! `/api/v1/users/{id}/credentials/reset_password` (an admin sets a new password, which ends them).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use ulo_core::clock::rfc3339;
use ulo_core::logout::{LogoutRequest, reason};
use ulo_core::session::Session;
use ulo_core::signin::{ClearOptions, clear_sessions, end_reason, idle_expires};
use ulo_core::user::validate_password;

use super::users::user_json;
use crate::auth::Admin;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::password;
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users/{id}/sessions", get(list).delete(clear))
        .route(
            "/api/v1/users/{id}/sessions/{sessionId}",
            delete(end_user_session),
        )
        .route("/api/v1/sessions/{sessionId}", delete(end_session))
        .route(
            "/api/v1/users/{id}/credentials/reset_password",
            post(reset_password),
        )
}

/// A session as the API shows it (never its cookie).
pub fn session_json(s: &Session) -> Value {
    json!({
        "id": s.id,
        "userId": s.user_id,
        "status": "ACTIVE",
        "createdAt": rfc3339(s.created),
        "lastUsed": rfc3339(s.last_used),
        "expiresAt": rfc3339(s.expires),
        "idleExpiresAt": rfc3339(idle_expires(s)),
        "ipAddress": s.ip_address,
        "userAgent": s.user_agent,
        "amr": s.amr,
    })
}

async fn list(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let found = crate::credentials::sign_in(&state)
        .list_sessions(&admin.ctx, &id)
        .await?;
    let grants: Vec<Value> = found
        .grants
        .iter()
        .map(|(g, label)| {
            json!({
                "appId": g.app_id,
                "label": label,
                "refreshTokens": g.refresh_tokens,
                "accessTokens": g.access_tokens,
            })
        })
        .collect();
    Ok(Json(json!({
        "userId": found.user.id,
        "sessions": found.sessions.iter().map(session_json).collect::<Vec<_>>(),
        "grants": grants,
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClearParams {
    oauth_tokens: Option<bool>,
    universal_logout: Option<bool>,
}

async fn clear(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<ClearParams>,
) -> ApiResult<Response> {
    if params.universal_logout == Some(true) {
        // The console's "Also include logout enabled apps and API tokens".
        let request = LogoutRequest::everything(reason::ADMIN)
            .with_oauth_tokens(params.oauth_tokens.unwrap_or(false));
        let started = state.logouts().start(&admin.ctx, &id, &request).await?;
        state.receipt_changed(started.id);
        return Ok(super::logouts::accepted(&state, &started));
    }
    let opts = ClearOptions {
        oauth_tokens: params.oauth_tokens.unwrap_or(false),
        reason: end_reason::ADMIN_CLEAR,
        single_logout: Some(state.0.config.single_logout()),
    };
    let report = clear_sessions(
        state.0.store.as_ref(),
        state.0.clock.as_ref(),
        &admin.ctx,
        &id,
        opts,
    )
    .await?;
    if let Some(id) = report.single_logout {
        state.receipt_changed(id);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Ends one session (Okta's `DELETE /api/v1/sessions/{sessionId}`): 204, or 404 when it is
/// unknown or already ended. The apps it signed in to get a back-channel logout.
async fn end_session(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(sid): ApiPath<String>,
) -> ApiResult<Response> {
    end_one(&state, &admin, None, &sid).await
}

/// Ends one session of one person: as [`end_session`], and 404 when it is someone else's.
async fn end_user_session(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath((id, sid)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    end_one(&state, &admin, Some(&id), &sid).await
}

async fn end_one(
    state: &AppState,
    admin: &Admin,
    user: Option<&str>,
    sid: &str,
) -> ApiResult<Response> {
    let done = crate::credentials::sign_in(state)
        .end_session(&admin.ctx, user, sid)
        .await?;
    if let Some(l) = done.logout {
        state.receipt_changed(l.id);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordValue {
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetBody {
    password: PasswordValue,
}

async fn reset_password(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ResetBody>,
) -> ApiResult<Json<Value>> {
    validate_password(&body.password.value)?;
    let hash = password::hash(body.password.value).await?;
    let started = crate::credentials::sign_in(&state)
        .reset_password(&admin.ctx, &id, &hash)
        .await?;
    state.receipt_changed(started.id);
    let user = state
        .directory()
        .get_user(&admin.ctx, &started.user_id.to_string())
        .await?;
    let mut body = user_json(&state, &user);
    body["logoutId"] = json!(started.id);
    Ok(Json(body))
}
