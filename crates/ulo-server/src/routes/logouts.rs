//! Universal Logout: `POST /api/v1/users/{id}/logout` (the full form, with dry run), the
//! receipts `GET /api/v1/logouts[/{id}]`, and the live receipt `GET /api/v1/logouts/{id}/stream`.
//! `DELETE /api/v1/users/{id}/sessions?universalLogout=true` lives with the sessions routes and
//! answers through [`accepted`].

use std::convert::Infallible;
use std::time::Duration as StdDuration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::Stream;
use serde::Deserialize;
use serde_json::{Value, json};
use ulo_core::ids::LogoutId;
use ulo_core::logout::{Logout, LogoutRequest, LogoutScope, LogoutStatus, reason};

use super::paging;
use crate::auth::Admin;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

/// How often a live receipt re-reads the store when nothing in this process said it changed
/// (another node may be delivering).
const RECHECK: StdDuration = StdDuration::from_millis(500);

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users/{id}/logout", post(logout_user))
        .route("/api/v1/logouts", get(list))
        .route("/api/v1/logouts/{id}", get(get_one))
        .route("/api/v1/logouts/{id}/stream", get(stream))
}

/// A receipt as the API shows it.
pub fn receipt_json(state: &AppState, l: &Logout) -> Value {
    let mut v = serde_json::to_value(l).unwrap_or_else(|_| json!({}));
    v["_links"] = json!({
        "self": {"href": format!("{}/api/v1/logouts/{}", state.issuer(), l.id)},
        "stream": {"href": format!("{}/api/v1/logouts/{}/stream", state.issuer(), l.id)},
        "user": {"href": format!("{}/api/v1/users/{}", state.issuer(), l.user_id)},
    });
    v
}

/// `202 Accepted` with the receipt and `Location` of the logout just started.
pub fn accepted(state: &AppState, l: &Logout) -> Response {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/logouts/{}", l.id)) {
        headers.insert(header::LOCATION, v);
    }
    (StatusCode::ACCEPTED, headers, Json(receipt_json(state, l))).into_response()
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
        let mut v = receipt_json(&state, &planned);
        v["dryRun"] = json!(true);
        if let Some(o) = v.as_object_mut() {
            // Nothing was started: there is nothing to fetch or follow.
            o.remove("_links");
            o.remove("id");
            o.remove("transactionId");
        }
        return Ok(Json(v).into_response());
    }
    let started = state.logouts().start(&admin.ctx, &id, &request).await?;
    state.receipt_changed(started.id);
    Ok(accepted(&state, &started))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListParams {
    user_id: Option<String>,
    after: Option<String>,
    limit: Option<u32>,
    status: Option<LogoutStatus>,
}

async fn list(
    State(state): State<AppState>,
    admin: Admin,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<impl IntoResponse> {
    let page = paging::page(p.after.clone(), p.limit, 20, 200)?;
    let found = state
        .logouts()
        .list(&admin.ctx, p.user_id.as_deref(), p.status, &page)
        .await?;
    let next = paging::next_after(&page, &found, |l| l.id.to_string());
    let mut params = vec![("limit", page.limit.to_string())];
    if let Some(u) = &p.user_id {
        params.push(("userId", u.clone()));
    }
    if let Some(s) = p.status {
        params.push(("status", s.as_str().to_string()));
    }
    let headers = paging::links(state.issuer(), "/api/v1/logouts", params, next);
    let body: Vec<Value> = found.iter().map(|l| receipt_json(&state, l)).collect();
    Ok((headers, Json(body)))
}

async fn get_one(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let l = state.logouts().get(&admin.ctx, &id).await?;
    Ok(Json(receipt_json(&state, &l)))
}

/// What the live receipt has sent so far.
struct Live {
    state: AppState,
    id: LogoutId,
    changes: tokio::sync::broadcast::Receiver<LogoutId>,
    last: Option<Value>,
    done: bool,
}

impl Live {
    /// Waits until this receipt may have changed (told by this process, or time to recheck).
    async fn changed(&mut self) -> bool {
        let mut stop = self.state.0.shutdown.clone();
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
async fn stream(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    // Subscribe before the first read so no change between them is missed.
    let changes = state.0.receipts.subscribe();
    let first = state.logouts().get(&admin.ctx, &id).await?;
    let live = Live {
        id: first.id,
        state,
        changes,
        last: None,
        done: false,
    };
    let ctx = admin.ctx;
    let s = futures::stream::unfold((live, Some(first)), move |(mut live, mut next)| {
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
                let v = receipt_json(&live.state, &current);
                if live.last.as_ref() == Some(&v) {
                    continue;
                }
                live.done = current.is_final();
                live.last = Some(v.clone());
                let ev = Event::default()
                    .event("receipt")
                    .json_data(&v)
                    .unwrap_or_else(|_| Event::default().comment("unserializable receipt"));
                return Some((Ok(ev), (live, None)));
            }
        }
    });
    Ok(Sse::new(s).keep_alive(KeepAlive::new().interval(StdDuration::from_secs(15))))
}
