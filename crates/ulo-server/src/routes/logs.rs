//! `/api/v1/logs`: query the System Log, and tail it live over server-sent events.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::time::Duration as StdDuration;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::{Stream, StreamExt};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use ulo_core::clock::{from_millis, to_millis};
use ulo_core::filter::Filter;
use ulo_core::ids::EventId;
use ulo_core::log::{EventQuery, LogEvent, SortOrder};

use super::paging;
use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::{responses, schema};

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(query))
        .routes(routes!(stream))
}

/// An opaque cursor for an event: its `published` and `uuid`.
pub fn encode_cursor(e: &LogEvent) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}.{}", to_millis(e.published), e.uuid))
}

pub(crate) fn decode_cursor(s: &str) -> ApiResult<(OffsetDateTime, EventId)> {
    let bad = || {
        ApiError::bad_request(
            format!("Invalid after cursor {s:?}: use the value from a Link rel=\"next\" header"),
            vec![],
        )
    };
    let raw = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (ms, id) = text.split_once('.').ok_or_else(bad)?;
    Ok((
        from_millis(ms.parse().map_err(|_| bad())?),
        id.parse().map_err(|_| bad())?,
    ))
}

pub(crate) fn parse_time(name: &str, s: &str) -> ApiResult<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|e| ApiError::bad_request(format!("Invalid {name} {s:?}: use an RFC 3339 timestamp such as 2026-01-31T12:00:00.000Z ({e})"), vec![]))
}

pub(crate) fn parse_filter(s: Option<&str>) -> ApiResult<Option<Filter>> {
    s.filter(|f| !f.trim().is_empty())
        .map(ulo_core::filter::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("Invalid filter: {e}"), vec![e.to_string()]))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Params {
    since: Option<String>,
    until: Option<String>,
    after: Option<String>,
    limit: Option<u32>,
    sort_order: Option<String>,
    q: Option<String>,
    filter: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/logs",
    operation_id = "queryLogs",
    tag = "System Log",
    summary = "Query the System Log",
    params(
        ("since" = Option<String>, Query, description = "Inclusive lower bound on published, RFC 3339 (e.g. 2026-01-31T12:00:00.000Z).", format = "date-time"),
        ("until" = Option<String>, Query, description = "Exclusive upper bound on published, RFC 3339.", format = "date-time"),
        ("after" = Option<String>, Query, description = "Opaque cursor from a Link rel=\"next\" header; anything else (even empty) answers 400.", pattern = "^[^\\u0000]*$", min_length = 1),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 1000 (default 100); anything else answers 400.", minimum = 1, maximum = 1000),
        ("sortOrder" = inline(Option<schema::QueryLogsSortOrder>), Query, description = "By published, then uuid."),
        ("q" = Option<String>, Query, description = "Keywords separated by spaces, all of which must appear: at most 10, each at most 40 bytes.", pattern = "^[^\\u0000]*$"),
        ("filter" = Option<String>, Query, description = "SCIM filter expression over event fields, e.g. eventType eq \"user.lifecycle.create\". A bad expression answers 400.", pattern = "^[^\\u0000]*$"),
    ),
    responses(
        (status = 200, description = "A page of events.", body = Vec<schema::LogEvent>, content_type = "application/json", headers(("Link" = String, description = "RFC 8288 links: always rel=\"self\" (this page, with the effective limit), and rel=\"next\" when a full page came back (follow it to continue; it carries the after cursor). Sent as separate Link header fields, e.g. <https://ulo.example.com/api/v1/users?limit=200&after=...>; rel=\"next\"."))),
        (status = 400, response = responses::BadRequest),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn query(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(p): ApiQuery<Params>,
) -> ApiResult<impl IntoResponse> {
    let limit = paging::limit(p.limit, 100, 1000)?;
    let sort = match p.sort_order.as_deref() {
        None | Some("ASCENDING") => SortOrder::Ascending,
        Some("DESCENDING") => SortOrder::Descending,
        Some(other) => {
            return Err(ApiError::bad_request(
                format!("Invalid sortOrder {other:?}: use ASCENDING or DESCENDING"),
                vec![],
            ));
        }
    };
    let keywords: Vec<String> =
        p.q.as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect();
    if keywords.len() > 10 || keywords.iter().any(|k| k.len() > 40) {
        return Err(ApiError::bad_request(
            "Invalid q: at most 10 keywords of at most 40 characters",
            vec![],
        ));
    }
    let q = EventQuery {
        since: p
            .since
            .as_deref()
            .map(|s| parse_time("since", s))
            .transpose()?,
        until: p
            .until
            .as_deref()
            .map(|s| parse_time("until", s))
            .transpose()?,
        after: p
            .after
            .as_deref()
            .filter(|a| !a.is_empty())
            .map(decode_cursor)
            .transpose()?,
        filter: parse_filter(p.filter.as_deref())?,
        keywords,
        sort,
        limit,
    };
    let mut tx = state.store.read().await?;
    let events = tx.query_events(&q).await?;
    drop(tx);
    let next = (events.len() as u32 == limit)
        .then(|| events.last().map(encode_cursor))
        .flatten();
    let mut params = vec![("limit", limit.to_string())];
    for (k, v) in [
        ("since", &p.since),
        ("until", &p.until),
        ("sortOrder", &p.sort_order),
        ("q", &p.q),
        ("filter", &p.filter),
        ("after", &p.after),
    ] {
        if let Some(v) = v {
            params.push((k, v.clone()));
        }
    }
    let headers = paging::links(state.issuer(), "/api/v1/logs", params, next);
    Ok((headers, Json(events)))
}

#[derive(Deserialize)]
struct StreamParams {
    since: Option<String>,
    filter: Option<String>,
}

/// Events can commit slightly out of `published` order (a transaction that began earlier commits
/// later), so each poll looks back this far and skips events already sent.
const OVERLAP: Duration = Duration::seconds(5);
const POLL: StdDuration = StdDuration::from_millis(250);

struct Tail {
    state: AppState,
    filter: Option<Filter>,
    cursor: OffsetDateTime,
    sent: HashMap<EventId, OffsetDateTime>,
    pending: VecDeque<LogEvent>,
}

impl Tail {
    async fn poll(&mut self) -> ApiResult<()> {
        let mut after = None;
        loop {
            let q = EventQuery {
                since: Some(self.cursor - OVERLAP),
                until: None,
                after,
                filter: self.filter.clone(),
                keywords: Vec::new(),
                sort: SortOrder::Ascending,
                limit: 500,
            };
            let mut tx = self.state.store.read().await?;
            let events = tx.query_events(&q).await?;
            drop(tx);
            let full = events.len() == 500;
            after = events.last().map(|e| (e.published, e.uuid));
            for e in events {
                if self.sent.insert(e.uuid, e.published).is_none() {
                    self.cursor = self.cursor.max(e.published);
                    self.pending.push_back(e);
                }
            }
            if !full {
                break;
            }
        }
        let horizon = self.cursor - OVERLAP - OVERLAP;
        self.sent.retain(|_, p| *p >= horizon);
        Ok(())
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/logs/stream",
    operation_id = "tailLogs",
    tag = "System Log",
    summary = "Tail the System Log live (server-sent events)",
    params(
        ("since" = Option<String>, Query, description = "Start from this instant (RFC 3339); default now. Ignored when Last-Event-ID is sent.", format = "date-time"),
        ("filter" = Option<String>, Query, description = "SCIM filter expression over event fields.", pattern = "^[^\\u0000]*$"),
        ("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received, to resume after it; anything else answers 400."),
    ),
    responses(
        (status = 200, description = "A stream that does not end: each event as `event: log`, `id: <cursor>`, `data: <LogEvent as JSON>`; a keep-alive comment every 15 s. Reconnect with Last-Event-ID to resume.", body = String, content_type = "text/event-stream"),
        (status = 400, response = responses::BadRequest),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn stream(
    State(state): State<AppState>,
    _admin: Admin,
    headers: HeaderMap,
    ApiQuery(p): ApiQuery<StreamParams>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let filter = parse_filter(p.filter.as_deref())?;
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(decode_cursor)
        .transpose()?;
    let since = p
        .since
        .as_deref()
        .map(|s| parse_time("since", s))
        .transpose()?;
    let events = live(state, filter, resume, since).await?;
    let s = events.map(|e| {
        Ok(Event::default()
            .event("log")
            .id(encode_cursor(&e))
            .json_data(&e)
            .unwrap_or_else(|_| Event::default().comment("unserializable event")))
    });
    Ok(Sse::new(s).keep_alive(KeepAlive::new().interval(StdDuration::from_secs(15))))
}

/// The System Log's events matching `filter` as they are written, in order, until the server
/// shuts down: after the event `resume` names, else from `since` (inclusive), else from now.
/// The API's tail and the console's live tail.
pub(crate) async fn live(
    state: AppState,
    filter: Option<Filter>,
    resume: Option<(OffsetDateTime, EventId)>,
    since: Option<OffsetDateTime>,
) -> ApiResult<impl Stream<Item = LogEvent> + Send + 'static> {
    // Where the tail starts: after the resumed event, at `since` (inclusive), or now.
    let (cursor, start) = match (resume, since) {
        (Some((published, uuid)), _) => (published, Some((published, uuid))),
        (None, Some(s)) => (s, None),
        (None, None) => {
            let now = state.clock.now();
            (now, Some((now, EventId(uuid::Uuid::max()))))
        }
    };
    let mut tail = Tail {
        state,
        filter,
        cursor,
        sent: HashMap::new(),
        pending: VecDeque::new(),
    };
    // Polls look back a few seconds; what lies at or before the start was not asked for.
    tail.poll().await?;
    if let Some(start) = start {
        tail.pending.retain(|e| (e.published, e.uuid) > start);
    } else {
        tail.pending.retain(|e| e.published >= cursor);
    }
    Ok(futures::stream::unfold(tail, |mut tail| async move {
        loop {
            if let Some(e) = tail.pending.pop_front() {
                return Some((e, tail));
            }
            if let Err(e) = tail.poll().await {
                tracing::warn!(error = e.summary, "live tail poll failed");
            }
            if tail.pending.is_empty() {
                let mut stop = tail.state.shutdown.clone();
                tokio::select! {
                    _ = tokio::time::sleep(POLL) => {}
                    // Graceful shutdown waits for open responses: end the tail so it can finish.
                    _ = stop.wait_for(|s| *s) => return None,
                }
            }
        }
    }))
}
