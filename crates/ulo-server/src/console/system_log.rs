//! Reports → System Log: a SCIM filter box (its error shown in place), keywords, a time range, a
//! chart of event counts over time (server-rendered SVG), expandable rows with the whole event, a
//! transaction's events together, a live tail (server-sent events of rendered rows) and CSV or
//! JSON downloads of the current filter.

use std::convert::Infallible;
use std::time::Duration as StdDuration;

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use ulo_core::filter::Filter;
use ulo_core::log::{EventQuery, LogEvent, SortOrder};

use super::render::{ConsoleError, ConsoleResult, Section, Shell, is_htmx, page, page_with, when};
use super::session::Console;
use crate::routes::logs::{decode_cursor, encode_cursor, live, parse_filter, parse_time};
use crate::routes::page::query_value;
use crate::state::AppState;

/// Rows per page.
const PAGE_SIZE: u32 = 100;
/// Events the chart counts at most (the newest of the range).
const CHART_CAP: u32 = 5000;
/// Bars in the chart.
const BUCKETS: usize = 48;
/// Events a download holds at most.
const DOWNLOAD_CAP: usize = 100_000;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reports/system-log", get(show))
        .route("/reports/system-log/tail", get(tail))
        .route("/reports/system-log/download", get(download))
        .route("/reports/system-log/transactions/{id}", get(transaction))
}

/// The time ranges offered.
const RANGES: &[(&str, &str, i64)] = &[
    ("1h", "Last hour", 1),
    ("24h", "Last 24 hours", 24),
    ("7d", "Last 7 days", 24 * 7),
    ("30d", "Last 30 days", 24 * 30),
    ("90d", "Last 90 days", 24 * 90),
];

/// The page's query.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct LogSearch {
    /// SCIM filter expression.
    #[serde(default)]
    pub filter: String,
    /// Keywords.
    #[serde(default)]
    pub q: String,
    /// A range key of [`RANGES`], or `custom` (then `since`/`until`).
    #[serde(default)]
    pub range: String,
    /// Custom start (`YYYY-MM-DDTHH:MM`, UTC, or RFC 3339).
    #[serde(default)]
    pub since: String,
    /// Custom end.
    #[serde(default)]
    pub until: String,
    /// Continue after this cursor.
    pub after: Option<String>,
    /// `csv` or `json` (downloads).
    pub format: Option<String>,
    /// `1`: new events are added to the top of the table as they are written.
    pub live: Option<String>,
}

/// A range option for the select.
pub struct RangeOption {
    /// Key.
    pub key: &'static str,
    /// Label.
    pub label: &'static str,
    /// Whether chosen.
    pub selected: bool,
}

/// One row of the table.
pub struct Row {
    /// Event id (element ids).
    pub uuid: String,
    /// When.
    pub published: String,
    /// Severity.
    pub severity: String,
    /// Event type.
    pub event_type: String,
    /// Message.
    pub message: String,
    /// Actor (readable).
    pub actor: String,
    /// Targets (readable).
    pub targets: String,
    /// SUCCESS, FAILURE…
    pub result: String,
    /// Why.
    pub reason: String,
    /// The badge class of the result.
    pub result_class: &'static str,
    /// Transaction id.
    pub transaction: String,
    /// The whole event, pretty JSON.
    pub json: String,
}

impl Row {
    fn of(e: &LogEvent) -> Self {
        let result = e.outcome.result.clone();
        Row {
            uuid: e.uuid.to_string(),
            published: when_seconds(e.published),
            severity: format!("{:?}", e.severity).to_uppercase(),
            event_type: e.event_type.clone(),
            message: e.display_message.clone(),
            actor: if e.actor.alternate_id.is_empty() {
                e.actor.display_name.clone()
            } else {
                e.actor.alternate_id.clone()
            },
            targets: e
                .target
                .iter()
                .map(|t| {
                    let name = if t.alternate_id.is_empty() {
                        &t.display_name
                    } else {
                        &t.alternate_id
                    };
                    format!("{} {}", t.target_type, name)
                })
                .collect::<Vec<_>>()
                .join(", "),
            result_class: match result.as_str() {
                "SUCCESS" | "ALLOW" => "ok",
                "FAILURE" | "DENY" => "bad",
                "CHALLENGE" | "SKIPPED" => "warn",
                _ => "muted",
            },
            result,
            reason: e.outcome.reason.clone().unwrap_or_default(),
            transaction: e.transaction.id.clone(),
            json: serde_json::to_string_pretty(e).unwrap_or_default(),
        }
    }
}

fn when_seconds(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// One bar of the chart.
pub struct Bar {
    /// x.
    pub x: String,
    /// y.
    pub y: String,
    /// Width.
    pub w: String,
    /// Height.
    pub h: String,
    /// Tooltip: the bucket's start and its count.
    pub title: String,
}

/// The chart: bars and axis labels.
pub struct Chart {
    /// Bars.
    pub bars: Vec<Bar>,
    /// The start label.
    pub from: String,
    /// The end label.
    pub to: String,
    /// The tallest bar's count.
    pub max: usize,
    /// Events counted.
    pub counted: usize,
    /// Whether the count stopped at [`CHART_CAP`].
    pub capped: bool,
}

#[derive(Template)]
#[template(path = "console/system_log.html")]
struct LogPage {
    shell: Shell,
    search: LogSearch,
    ranges: Vec<RangeOption>,
    custom: bool,
    filter_error: Option<String>,
    other_error: Option<String>,
    chart: Option<Chart>,
    rows: Vec<Row>,
    next: Option<String>,
    live_url: String,
    csv_url: String,
    json_url: String,
    live: bool,
    live_toggle: String,
}

#[derive(Template)]
#[template(path = "console/system_log_rows.html")]
struct LogRows {
    rows: Vec<Row>,
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "console/system_log_transaction.html")]
struct TransactionPage {
    shell: Shell,
    id: String,
    rows: Vec<Row>,
    next: Option<String>,
}

/// What a search asks the store, or which field is wrong.
struct Asked {
    filter: Option<Filter>,
    keywords: Vec<String>,
    since: OffsetDateTime,
    until: Option<OffsetDateTime>,
}

enum Refusal {
    Filter(String),
    Other(String),
}

fn parse_local(name: &str, s: &str) -> Result<OffsetDateTime, String> {
    // `<input type="datetime-local">` sends `YYYY-MM-DDTHH:MM`; read it as UTC.
    let full = if s.len() == 16 {
        format!("{s}:00Z")
    } else {
        s.to_string()
    };
    parse_time(name, &full).map_err(|e| e.summary)
}

fn asked(search: &LogSearch, now: OffsetDateTime) -> Result<Asked, Refusal> {
    let filter = parse_filter(Some(&search.filter)).map_err(|e| Refusal::Filter(e.summary))?;
    let keywords: Vec<String> = search.q.split_whitespace().map(str::to_string).collect();
    if keywords.len() > 10 || keywords.iter().any(|k| k.len() > 40) {
        return Err(Refusal::Other(
            "Keywords: at most 10, each at most 40 characters.".into(),
        ));
    }
    let (since, until) = if search.range == "custom" {
        let since = if search.since.trim().is_empty() {
            now - Duration::hours(24)
        } else {
            parse_local("since", search.since.trim()).map_err(Refusal::Other)?
        };
        let until = if search.until.trim().is_empty() {
            None
        } else {
            Some(parse_local("until", search.until.trim()).map_err(Refusal::Other)?)
        };
        if until.is_some_and(|u| u <= since) {
            return Err(Refusal::Other(
                "The time range ends before it starts: choose an end after the start.".into(),
            ));
        }
        (since, until)
    } else {
        let key = if search.range.is_empty() {
            "24h"
        } else {
            &search.range
        };
        let Some((_, _, hours)) = RANGES.iter().find(|(k, _, _)| *k == key) else {
            return Err(Refusal::Other(format!(
                "Unknown time range {key:?}: choose one from the list."
            )));
        };
        (now - Duration::hours(*hours), None)
    };
    Ok(Asked {
        filter,
        keywords,
        since,
        until,
    })
}

/// The page's URL for `search` with `extra` parameters.
fn url_of(base: &str, search: &LogSearch, extra: &[(&str, &str)]) -> String {
    let mut parts = vec![
        ("filter", search.filter.as_str()),
        ("q", search.q.as_str()),
        ("range", search.range.as_str()),
        ("since", search.since.as_str()),
        ("until", search.until.as_str()),
    ];
    parts.extend_from_slice(extra);
    let query = parts
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", query_value(v)))
        .collect::<Vec<_>>()
        .join("&");
    if query.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{query}")
    }
}

async fn query_page(
    state: &AppState,
    a: &Asked,
    after: Option<&str>,
    limit: u32,
) -> ConsoleResult<Vec<LogEvent>> {
    let after = after
        .filter(|s| !s.is_empty())
        .map(decode_cursor)
        .transpose()?;
    let q = EventQuery {
        since: Some(a.since),
        until: a.until,
        after,
        filter: a.filter.clone(),
        keywords: a.keywords.clone(),
        sort: SortOrder::Descending,
        limit,
    };
    let mut tx = state.store.read().await?;
    Ok(tx.query_events(&q).await?)
}

fn chart(events: &[LogEvent], since: OffsetDateTime, until: OffsetDateTime) -> Chart {
    let span = (until - since).whole_seconds().max(1);
    let mut counts = vec![0usize; BUCKETS];
    for e in events {
        let at = (e.published - since).whole_seconds().clamp(0, span - 1);
        let i = (at as usize * BUCKETS) / span as usize;
        counts[i.min(BUCKETS - 1)] += 1;
    }
    let max = counts.iter().copied().max().unwrap_or(0);
    let (width, height) = (960.0_f64, 96.0_f64);
    let w = width / BUCKETS as f64;
    let bars = counts
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .map(|(i, c)| {
            let h = (*c as f64 / max.max(1) as f64 * height).max(2.0);
            let start = since + Duration::seconds(span * i as i64 / BUCKETS as i64);
            Bar {
                x: format!("{:.1}", i as f64 * w + 1.0),
                y: format!("{:.1}", height - h + 4.0),
                w: format!("{:.1}", (w - 2.0).max(1.0)),
                h: format!("{h:.1}"),
                title: format!("{}: {c} events", when(start)),
            }
        })
        .collect();
    Chart {
        bars,
        from: when(since),
        to: when(until),
        max,
        counted: events.len(),
        capped: events.len() as u32 == CHART_CAP,
    }
}

async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Query(search): Query<LogSearch>,
) -> Response {
    let now = state.clock.now();
    let shell = admin.shell("System Log", Section::SystemLog);
    let live_requested = search.live.as_deref() == Some("1");
    let ranges = RANGES
        .iter()
        .map(|(key, label, _)| RangeOption {
            key,
            label,
            selected: search.range == *key || (search.range.is_empty() && *key == "24h"),
        })
        .collect();
    let custom = search.range == "custom";
    let mut view = LogPage {
        shell,
        live_url: url_of("/admin/reports/system-log/tail", &search, &[]),
        csv_url: url_of(
            "/admin/reports/system-log/download",
            &search,
            &[("format", "csv")],
        ),
        json_url: url_of(
            "/admin/reports/system-log/download",
            &search,
            &[("format", "json")],
        ),
        live_toggle: if live_requested {
            url_of("/admin/reports/system-log", &search, &[])
        } else {
            url_of("/admin/reports/system-log", &search, &[("live", "1")])
        },
        search,
        ranges,
        custom,
        filter_error: None,
        other_error: None,
        chart: None,
        rows: Vec::new(),
        next: None,
        live: live_requested,
    };
    let a = match asked(&view.search, now) {
        Ok(a) => a,
        Err(Refusal::Filter(m)) => {
            view.filter_error = Some(m);
            return page_with(StatusCode::BAD_REQUEST, &view);
        }
        Err(Refusal::Other(m)) => {
            view.other_error = Some(m);
            return page_with(StatusCode::BAD_REQUEST, &view);
        }
    };
    let events = match query_page(&state, &a, view.search.after.as_deref(), PAGE_SIZE).await {
        Ok(e) => e,
        Err(e) => return e.answer(&headers, view.shell.clone()),
    };
    let next = (events.len() as u32 == PAGE_SIZE)
        .then(|| events.last().map(encode_cursor))
        .flatten()
        .map(|c| url_of("/admin/reports/system-log", &view.search, &[("after", &c)]));
    let rows: Vec<Row> = events.iter().map(Row::of).collect();
    if is_htmx(&headers) && view.search.after.is_some() {
        return page(&LogRows { rows, next });
    }
    if view.search.after.is_none() {
        let counted = match query_page(&state, &a, None, CHART_CAP).await {
            Ok(e) => e,
            Err(e) => return e.answer(&headers, view.shell.clone()),
        };
        view.chart = Some(chart(&counted, a.since, a.until.unwrap_or(now)));
    }
    view.rows = rows;
    view.next = next;
    page(&view)
}

/// `GET …/tail`: the live tail, each new event as a rendered row (`event: log`).
async fn tail(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Query(search): Query<LogSearch>,
) -> Response {
    let filter = match parse_filter(Some(&search.filter)) {
        Ok(f) => f,
        Err(e) => {
            return ConsoleError::from(e)
                .answer(&headers, admin.shell("System Log", Section::SystemLog));
        }
    };
    let events = match live(state, filter, None, None).await {
        Ok(s) => s,
        Err(e) => return ConsoleError::from(e).fragment(),
    };
    let keywords: Vec<String> = search.q.split_whitespace().map(str::to_lowercase).collect();
    let s = events
        .filter(move |e| {
            let keep = keywords.is_empty() || {
                let text = serde_json::to_string(e).unwrap_or_default().to_lowercase();
                keywords.iter().all(|k| text.contains(k))
            };
            std::future::ready(keep)
        })
        .map(|e| {
            let html = LogRows {
                rows: vec![Row::of(&e)],
                next: None,
            }
            .render()
            .unwrap_or_default();
            Ok::<_, Infallible>(Event::default().event("log").data(html))
        });
    Sse::new(s)
        .keep_alive(KeepAlive::new().interval(StdDuration::from_secs(15)))
        .into_response()
}

/// `GET …/transactions/{id}`: every event of one transaction, oldest first.
async fn transaction(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(id): Path<String>,
) -> Response {
    let shell = admin.shell("Transaction", Section::SystemLog);
    let safe = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !safe || id.is_empty() || id.len() > 100 {
        return ConsoleError::new(
            StatusCode::NOT_FOUND,
            "That is not a transaction id: open a transaction from a System Log row.",
        )
        .answer(&headers, shell);
    }
    let filter = match ulo_core::filter::parse(&format!("transaction.id eq \"{id}\"")) {
        Ok(f) => f,
        Err(e) => return ConsoleError::new(StatusCode::BAD_REQUEST, e.to_string()).page(shell),
    };
    let q = EventQuery {
        since: None,
        until: None,
        after: None,
        filter: Some(filter),
        keywords: Vec::new(),
        sort: SortOrder::Ascending,
        limit: 1000,
    };
    let events = {
        let found = async {
            let mut tx = state.store.read().await?;
            tx.query_events(&q).await
        };
        match found.await {
            Ok(e) => e,
            Err(e) => return ConsoleError::from(e).answer(&headers, shell),
        }
    };
    if events.is_empty() {
        return ConsoleError::new(
            StatusCode::NOT_FOUND,
            format!("No event of transaction {id} is in the System Log (it may be older than the retention period)."),
        )
        .answer(&headers, shell);
    }
    page(&TransactionPage {
        shell,
        id,
        rows: events.iter().map(Row::of).collect(),
        next: None,
    })
}

/// `GET …/download?format=csv|json`: the events of the current filter and range, newest first,
/// streamed (at most [`DOWNLOAD_CAP`]).
async fn download(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Query(search): Query<LogSearch>,
) -> Response {
    let shell = admin.shell("System Log", Section::SystemLog);
    let csv = match search.format.as_deref() {
        Some("csv") => true,
        Some("json") => false,
        _ => {
            return ConsoleError::new(
                StatusCode::BAD_REQUEST,
                "Choose a download format: csv or json.",
            )
            .answer(&headers, shell);
        }
    };
    let a = match asked(&search, state.clock.now()) {
        Ok(a) => a,
        Err(Refusal::Filter(m) | Refusal::Other(m)) => {
            return ConsoleError::new(StatusCode::BAD_REQUEST, m).answer(&headers, shell);
        }
    };
    struct Pager {
        state: AppState,
        asked: Asked,
        after: Option<String>,
        sent: usize,
        csv: bool,
        first: bool,
        done: bool,
    }
    let pager = Pager {
        state,
        asked: a,
        after: None,
        sent: 0,
        csv,
        first: true,
        done: false,
    };
    let body = futures::stream::unfold(pager, |mut p| async move {
        if p.done {
            return None;
        }
        let mut out = String::new();
        if p.first {
            p.first = false;
            out.push_str(if p.csv {
                "published,uuid,eventType,severity,displayMessage,actor,targets,outcome,reason,transactionId\r\n"
            } else {
                "["
            });
        }
        let limit = 1000.min(DOWNLOAD_CAP - p.sent) as u32;
        let events = match query_page(&p.state, &p.asked, p.after.as_deref(), limit).await {
            Ok(e) => e,
            Err(e) => {
                return Some((
                    Err(std::io::Error::other(e.message)),
                    Pager { done: true, ..p },
                ));
            }
        };
        for e in &events {
            if p.csv {
                let r = Row::of(e);
                let fields = [
                    ulo_core::clock::rfc3339(e.published),
                    r.uuid,
                    r.event_type,
                    r.severity,
                    r.message,
                    r.actor,
                    r.targets,
                    r.result,
                    r.reason,
                    r.transaction,
                ];
                out.push_str(
                    &fields
                        .iter()
                        .map(|f| csv_field(f))
                        .collect::<Vec<_>>()
                        .join(","),
                );
                out.push_str("\r\n");
            } else {
                if p.sent > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(e).unwrap_or_default());
            }
            p.sent += 1;
        }
        let full = events.len() as u32 == limit && p.sent < DOWNLOAD_CAP;
        p.after = events.last().map(encode_cursor);
        if !full {
            p.done = true;
            if !p.csv {
                out.push(']');
            }
        }
        Some((Ok::<_, std::io::Error>(out), p))
    });
    let name = if csv {
        "system-log.csv"
    } else {
        "system-log.json"
    };
    let mut resp = Response::new(Body::from_stream(body));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if csv {
            "text/csv; charset=utf-8"
        } else {
            "application/json"
        }),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; a leading
/// `=`, `+`, `-` or `@` is prefixed with `'` so spreadsheets do not run it as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
    }
}
