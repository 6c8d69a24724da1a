//! `/api/v1/users/{id}/sessions` (list and clear a user's sessions and tokens), ending one
//! session (`/api/v1/sessions/{sessionId}`, `/api/v1/users/{id}/sessions/{sessionId}`) and
//! `/api/v1/users/{id}/credentials/reset_password` (an admin sets a new password, which ends them).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use ulo_core::clock::rfc3339;
use ulo_core::ids::{AppId, SessionId, UserId};
use ulo_core::logout::{LogoutRequest, reason};
use ulo_core::session::Session;
use ulo_core::signin::{ClearOptions, clear_sessions, end_reason, idle_expires};
use ulo_core::user::validate_password;

use super::body::{self, UserWithLogout};
use crate::auth::Admin;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::password;
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::{responses, schema};

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, clear))
        .routes(routes!(end_user_session))
        .routes(routes!(end_session))
        .routes(routes!(reset_password))
}

/// A session as the API shows it (never its cookie).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionBody {
    id: SessionId,
    user_id: UserId,
    /// Always `ACTIVE`: only live sessions are listed.
    status: &'static str,
    created_at: String,
    last_used: String,
    expires_at: String,
    idle_expires_at: String,
    ip_address: Option<String>,
    user_agent: Option<String>,
    amr: Vec<String>,
}

impl From<Session> for SessionBody {
    fn from(s: Session) -> Self {
        SessionBody {
            idle_expires_at: rfc3339(idle_expires(&s)),
            id: s.id,
            user_id: s.user_id,
            status: "ACTIVE",
            created_at: rfc3339(s.created),
            last_used: rfc3339(s.last_used),
            expires_at: rfc3339(s.expires),
            ip_address: s.ip_address,
            user_agent: s.user_agent,
            amr: s.amr,
        }
    }
}

/// The live tokens an app holds for the user.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GrantBody {
    app_id: AppId,
    label: Option<String>,
    refresh_tokens: i64,
    access_tokens: i64,
}

/// A user's live sessions and token grants.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserSessionsBody {
    user_id: UserId,
    sessions: Vec<SessionBody>,
    grants: Vec<GrantBody>,
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/sessions",
    operation_id = "listUserSessions",
    tag = "Sessions",
    summary = "List a user's sessions and token grants",
    description = "Live sessions (not ended, expired or idle) and, per app, live refresh and access tokens. Any admin role.",
    params(
        ("id" = String, Path, description = "The user's id or login."),
    ),
    responses(
        (status = 200, description = "The sessions and grants.", body = schema::UserSessions, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn list(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<UserSessionsBody>> {
    let found = crate::credentials::sign_in(&state)
        .list_sessions(&admin.ctx, &id)
        .await?;
    Ok(Json(UserSessionsBody {
        user_id: found.user.id,
        sessions: found.sessions.into_iter().map(SessionBody::from).collect(),
        grants: found
            .grants
            .into_iter()
            .map(|(g, label)| GrantBody {
                app_id: g.app_id,
                label,
                refresh_tokens: g.refresh_tokens,
                access_tokens: g.access_tokens,
            })
            .collect(),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClearParams {
    oauth_tokens: Option<bool>,
    universal_logout: Option<bool>,
}

#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}/sessions",
    operation_id = "clearUserSessions",
    tag = "Sessions",
    summary = "Clear a user's sessions",
    description = "Ends every ulo session of the user (one user.session.end each, sharing the user.session.clear transaction); the back-channel apps those sessions signed in to get an OIDC Back-Channel Logout token each (single logout: a receipt with scope SESSION_END, its id in the events' debugData.logoutId). With oauthTokens=true also revokes every refresh and access token issued to the user (introspection answers active:false at once; one app.oauth2.token.revoke per app). With universalLogout=true it runs a Universal Logout instead (the console's \"Also include logout enabled apps and API tokens\"): reason ADMIN, scope ALL_APPS, the user's API tokens revoked, OAuth tokens as oauthTokens says; it answers 202 with the receipt. Needs SUPER_ADMIN. Unknown query parameters are refused (400).",
    params(
        ("id" = String, Path, description = "The user's id or login."),
        ("oauthTokens" = Option<bool>, Query, description = "Also revoke the user's OAuth tokens."),
        ("universalLogout" = Option<bool>, Query, description = "Also log the user out of every logout-enabled app and revoke their API tokens (a Universal Logout, with a receipt)."),
    ),
    responses(
        (status = 202, description = "With universalLogout=true: the logout started (see POST /api/v1/users/{id}/logout).", body = schema::LogoutReceipt, content_type = "application/json", headers(("Location" = String, description = "The receipt of the logout just started: /api/v1/logouts/{id}."))),
        (status = 204, description = "Without universalLogout: done; no body."),
        (status = 400, response = responses::BadRequest),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
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
        return Ok(super::logouts::accepted(&state, started));
    }
    let opts = ClearOptions {
        oauth_tokens: params.oauth_tokens.unwrap_or(false),
        reason: end_reason::ADMIN_CLEAR,
        single_logout: Some(state.config.single_logout()),
    };
    let report = clear_sessions(
        state.store.as_ref(),
        state.clock.as_ref(),
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
#[utoipa::path(
    delete,
    path = "/api/v1/sessions/{sessionId}",
    operation_id = "endSession",
    tag = "Sessions",
    summary = "End one session (Okta's DELETE /api/v1/sessions/{sessionId})",
    description = "Ends the session at once (user.session.end, reason ADMIN_END) and, in the same transaction, starts its single logout: every back-channel app the session signed in to (an authorization code was issued in it; logout protocol oidc-backchannel with an endpoint) gets an OIDC Back-Channel Logout token with sub and the session's sid on the durable job queue, recorded in a receipt with scope SESSION_END (its id in the event's debugData.logoutId). With ULO_SINGLE_LOGOUT_ALL_APPS the person's other logout-enabled apps are told too, each by its own protocol. The person's OAuth tokens are left alone (DELETE /api/v1/users/{id}/sessions?oauthTokens=true revokes them). Needs SUPER_ADMIN. 404 when the session is unknown or has already ended.",
    params(
        ("sessionId" = String, Path, description = "The session's id (the sid claim of the ID tokens issued in it)."),
    ),
    responses(
        (status = 204, description = "Ended; no body."),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn end_session(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(sid): ApiPath<String>,
) -> ApiResult<Response> {
    end_one(&state, &admin, None, &sid).await
}

/// Ends one session of one person: as [`end_session`], and 404 when it is someone else's.
#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}/sessions/{sessionId}",
    operation_id = "endUserSession",
    tag = "Sessions",
    summary = "End one session of a user",
    description = "Ends the session at once (user.session.end, reason ADMIN_END) and, in the same transaction, starts its single logout: every back-channel app the session signed in to (an authorization code was issued in it; logout protocol oidc-backchannel with an endpoint) gets an OIDC Back-Channel Logout token with sub and the session's sid on the durable job queue, recorded in a receipt with scope SESSION_END (its id in the event's debugData.logoutId). With ULO_SINGLE_LOGOUT_ALL_APPS the person's other logout-enabled apps are told too, each by its own protocol. The person's OAuth tokens are left alone (DELETE /api/v1/users/{id}/sessions?oauthTokens=true revokes them). Needs SUPER_ADMIN. 404 when the user or the session is unknown, the session has already ended, or it is another person's.",
    params(
        ("id" = String, Path, description = "The user's id or login."),
        ("sessionId" = String, Path, description = "The session's id (the sid claim of the ID tokens issued in it)."),
    ),
    responses(
        (status = 204, description = "Ended; no body."),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
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

#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/credentials/reset_password",
    operation_id = "resetUserPassword",
    tag = "Users",
    summary = "Set a new password (admin)",
    description = "Sets the password, lifts a lockout, queues a Shared Signals credential-change event, and runs a Universal Logout (reason LIFECYCLE, scope ALL_APPS, session end reason PASSWORD_RESET): ends the user's sessions, revokes their OAuth tokens (not their API tokens) and asks every logout-enabled app to log them out, in one transaction with user.account.reset_password. Needs SUPER_ADMIN.",
    params(
        ("id" = String, Path, description = "The user's id or login."),
    ),
    request_body(content = schema::ResetPasswordRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The user, with logoutId naming the logout's receipt.", body = schema::ResetUserPasswordResponse, content_type = "application/json"),
        (status = 400, response = responses::BadRequest),
        (status = 404, response = responses::NotFound),
        (status = 415, response = responses::UnsupportedMediaType),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn reset_password(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ResetBody>,
) -> ApiResult<Json<UserWithLogout>> {
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
    Ok(Json(UserWithLogout {
        user: body::user(state.issuer(), user),
        logout_id: started.id,
    }))
}
