//! Universal Logout: `POST /api/v1/users/{id}/logout` (the full form, with dry run), the
//! receipts `GET /api/v1/logouts[/{id}]`, and the live receipt `GET /api/v1/logouts/{id}/stream`.
//! `DELETE /api/v1/users/{id}/sessions?universalLogout=true` lives with the sessions routes and
//! answers through [`accepted`].

use std::convert::Infallible;
use std::time::Duration as StdDuration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use serde::Deserialize;
use serde::de::IgnoredAny;
use ulo_core::context::Context;
use ulo_core::error::DomainError;
use ulo_core::ids::LogoutId;
use ulo_core::logout::{Logout, LogoutRequest, LogoutScope, LogoutStatus, reason};

use super::body;
use super::paging::{self, Paging};
use crate::auth::Admin;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::{responses, schema};

/// How often a live receipt re-reads the store when nothing in this process said it changed
/// (another node may be delivering).
const RECHECK: StdDuration = StdDuration::from_millis(500);

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(logout_user))
        .routes(routes!(list))
        .routes(routes!(get_one))
        .routes(routes!(stream))
}

/// `202 Accepted` with the receipt and `Location` of the logout just started.
pub fn accepted(state: &AppState, l: Logout) -> Response {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/logouts/{}", l.id)) {
        headers.insert(header::LOCATION, v);
    }
    (
        StatusCode::ACCEPTED,
        headers,
        Json(body::receipt(state.issuer(), l)),
    )
        .into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LogoutBody {
    scope: LogoutScope,
    #[serde(default)]
    app_ids: Vec<String>,
    #[serde(default)]
    api_tokens: bool,
    oauth_tokens: Option<bool>,
    reason: Option<String>,
    #[serde(default)]
    dry_run: bool,
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/logout",
    operation_id = "logoutUser",
    tag = "Universal Logout",
    summary = "Universal Logout of a user",
    description = "Ends the user's ulo sessions and, as asked, revokes their OAuth tokens (default) and admin API tokens, and asks each app in scope to log the user out with its configured protocol (Global Token Revocation, OpenID Connect Back-Channel Logout, or a Shared Signals session-revoked event). App deliveries are durable: retried with backoff until the logout deadline, each attempt recorded in the receipt and the System Log under one transactionId. With dryRun=true nothing changes: the answer (200) lists the targets the logout would reach, with counts of live sessions and tokens. Needs SUPER_ADMIN (dry runs too: they reveal which apps the user reaches). 404 when the user, or an app named in appIds, does not exist.",
    params(
        ("id" = String, Path, description = "The user's id or login."),
    ),
    request_body(content = schema::UniversalLogoutRequest, content_type = "application/json", description = "What to end, and where."),
    responses(
        (status = 200, description = "Dry run: what the logout would reach; nothing was started, so there is no id, transactionId or _links.", body = schema::LogoutPreview, content_type = "application/json"),
        (status = 202, description = "Started: ulo's own targets are done, app deliveries are queued. The receipt (status IN_PROGRESS until every target has answered for good); follow Location or _links.stream.", body = schema::LogoutReceipt, content_type = "application/json", headers(("Location" = String, description = "The receipt of the logout just started: /api/v1/logouts/{id}."))),
        (status = 404, response = responses::NotFound),
        responses::JsonBodyErrors,
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn logout_user(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<LogoutBody>,
) -> ApiResult<Response> {
    let request = LogoutRequest::new(
        body.scope,
        &body.app_ids,
        body.oauth_tokens.unwrap_or(true),
        body.api_tokens,
        body.reason.unwrap_or_else(|| reason::API.into()),
    )?;
    if body.dry_run {
        let planned = state.logouts().preview(&admin.ctx, &id, &request).await?;
        return Ok(Json(body::LogoutPreviewBody::from(planned)).into_response());
    }
    let started = state.logouts().start(&admin.ctx, &id, &request).await?;
    state.receipt_changed(started.id);
    Ok(accepted(&state, started))
}

/// What the logout list is filtered by; paging's parameters are read by [`Paging`], any other
/// is refused.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Filter {
    user_id: Option<String>,
    #[serde(rename = "after")]
    _after: Option<IgnoredAny>,
    #[serde(rename = "limit")]
    _limit: Option<IgnoredAny>,
    status: Option<LogoutStatus>,
}

#[utoipa::path(
    get,
    path = "/api/v1/logouts",
    operation_id = "listLogouts",
    tag = "Universal Logout",
    summary = "List logout receipts",
    description = "Newest first. Any admin role.",
    params(
        ("userId" = Option<String>, Query, description = "Only this user's logouts: an id, or the login of a user who still exists (an unknown login answers 404).", pattern = "^[^\\u0000]*$"),
        ("status" = inline(Option<schema::ListLogoutsStatus>), Query, description = "Only receipts in this status (e.g. IN_PROGRESS: the logouts still waiting for a target); any other value answers 400."),
        ("after" = Option<String>, Query, description = "Keyset cursor: the id of the last receipt of the previous page (an empty value means the first page; anything not a UUID answers 400). Take it from the Link rel=\"next\" header rather than building it.", pattern = "^[^\\u0000]*$"),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 200 (default 20); anything else answers 400.", minimum = 1, maximum = 200),
    ),
    responses(
        (status = 200, description = "A page of receipts.", body = Vec<schema::LogoutReceipt>, content_type = "application/json", headers(("Link" = String, description = "RFC 8288 links: always rel=\"self\" (this page, with the effective limit), and rel=\"next\" when a full page came back (follow it to continue; it carries the after cursor). Sent as separate Link header fields, e.g. <https://ulo.example.com/api/v1/users?limit=200&after=...>; rel=\"next\"."))),
        (status = 400, response = responses::BadRequest),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn list(
    State(state): State<AppState>,
    admin: Admin,
    ApiQuery(p): ApiQuery<Filter>,
    paging: Paging<20, 200>,
) -> ApiResult<impl IntoResponse> {
    let page = &paging.page;
    let found = state
        .logouts()
        .list(&admin.ctx, p.user_id.as_deref(), p.status, page)
        .await?;
    let next = paging.next(&found, |l| l.id.to_string());
    let mut params = vec![("limit", page.limit.to_string())];
    if let Some(u) = &p.user_id {
        params.push(("userId", u.clone()));
    }
    if let Some(s) = p.status {
        params.push(("status", s.as_str().to_string()));
    }
    let headers = paging::links(state.issuer(), "/api/v1/logouts", params, next);
    let receipts: Vec<body::ReceiptBody> = found
        .into_iter()
        .map(|l| body::receipt(state.issuer(), l))
        .collect();
    Ok((headers, Json(receipts)))
}

#[utoipa::path(
    get,
    path = "/api/v1/logouts/{id}",
    operation_id = "getLogout",
    tag = "Universal Logout",
    summary = "A logout receipt",
    description = "Any admin role.",
    params(
        ("id" = String, Path, description = "The logout's id; anything not a UUID answers 404.", format = "uuid"),
    ),
    responses(
        (status = 200, description = "The receipt.", body = schema::LogoutReceipt, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn get_one(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<body::ReceiptBody>> {
    let l = state.logouts().get(&admin.ctx, &id).await?;
    Ok(Json(body::receipt(state.issuer(), l)))
}

/// What the live receipt has sent so far.
struct Live {
    state: AppState,
    id: LogoutId,
    changes: tokio::sync::broadcast::Receiver<LogoutId>,
    last: Option<Logout>,
    done: bool,
}

impl Live {
    /// Waits until this receipt may have changed (told by this process, or time to recheck).
    async fn changed(&mut self) -> bool {
        let mut stop = self.state.shutdown.clone();
        let deadline = tokio::time::sleep(RECHECK);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                got = self.changes.recv() => match got {
                    Ok(id) if id == self.id => return true,
                    Ok(_) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return true,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return false,
                },
                _ = &mut deadline => return true,
                _ = stop.wait_for(|s| *s) => return false,
            }
        }
    }
}

/// Server-sent events: `receipt` with the whole receipt each time it changes, ending with the
/// final one (`status` no longer IN_PROGRESS).
#[utoipa::path(
    get,
    path = "/api/v1/logouts/{id}/stream",
    operation_id = "streamLogout",
    tag = "Universal Logout",
    summary = "Follow a logout receipt live (server-sent events)",
    description = "Any admin role. 404 (JSON) before the stream starts when the logout does not exist.",
    params(
        ("id" = String, Path, description = "The logout's id; anything not a UUID answers 404.", format = "uuid"),
    ),
    responses(
        (status = 200, description = "Each time the receipt changes, `event: receipt` with `data: <the whole LogoutReceipt as JSON>` (the first event is the receipt as it is now); a keep-alive comment every 15 s. The stream ends after the final receipt (status no longer IN_PROGRESS).", body = String, content_type = "text/event-stream"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn stream(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let issuer = state.issuer().to_string();
    let receipts = live(state, admin.ctx, &id).await?;
    let s = receipts.map(move |l| {
        Ok(Event::default()
            .event("receipt")
            .json_data(body::receipt(&issuer, l))
            .unwrap_or_else(|_| Event::default().comment("unserializable receipt")))
    });
    Ok(Sse::new(s).keep_alive(KeepAlive::new().interval(StdDuration::from_secs(15))))
}

/// A receipt as it changes: as it is now, then each time it changes, ending after the final one
/// (status no longer IN_PROGRESS) or when the server shuts down. `NotFound` before anything is
/// sent when there is no such logout. The API's stream and the console's live receipt.
pub(crate) async fn live(
    state: AppState,
    ctx: Context,
    id: &str,
) -> Result<impl Stream<Item = Logout> + Send + 'static + use<>, DomainError> {
    // Subscribe before the first read so no change between them is missed.
    let changes = state.receipts.subscribe();
    let first = state.logouts().get(&ctx, id).await?;
    let live = Live {
        id: first.id,
        state,
        changes,
        last: None,
        done: false,
    };
    Ok(futures::stream::unfold(
        (live, Some(first)),
        move |(mut live, mut next)| {
            let ctx = ctx.clone();
            async move {
                if live.done {
                    return None;
                }
                loop {
                    let current = match next.take() {
                        Some(l) => l,
                        None => {
                            if !live.changed().await {
                                return None;
                            }
                            match live.state.logouts().get(&ctx, &live.id.to_string()).await {
                                Ok(l) => l,
                                Err(e) => {
                                    tracing::warn!(error = %e, "live receipt read failed");
                                    continue;
                                }
                            }
                        }
                    };
                    if live.last.as_ref() == Some(&current) {
                        continue;
                    }
                    live.done = current.is_final();
                    live.last = Some(current.clone());
                    return Some((current, (live, None)));
                }
            }
        },
    ))
}
