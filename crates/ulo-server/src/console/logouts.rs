//! Logouts: every receipt (filter by status and person, keyset paging), and one receipt updating
//! live over server-sent events target by target until every one has answered — the same
//! receipts and the same live stream ([`crate::routes::logouts::live`]) as the admin API.

use std::convert::Infallible;
use std::time::Duration as StdDuration;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
use serde::Deserialize;
use ulo_core::app::LogoutProtocol;
use ulo_core::logout::{Logout, LogoutScope, LogoutStatus, TargetStatus, TargetType};
use ulo_core::store::Page;

use super::render::{ConsoleError, Section, Shell, is_htmx, page, page_with, when, when_opt};
use super::session::Console;
use crate::routes::page::query_value;
use crate::routes::paging::next_after;
use crate::state::AppState;

/// Receipts per page.
pub const PAGE_SIZE: u32 = 50;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/logouts", get(list))
        .route("/logouts/{id}", get(show))
        .route("/logouts/{id}/live", get(live))
}

/// A protocol's name as people say it.
pub fn protocol_name(p: LogoutProtocol) -> &'static str {
    match p {
        LogoutProtocol::GlobalTokenRevocation => "Global Token Revocation",
        LogoutProtocol::OidcBackchannel => "OIDC Back-Channel Logout",
        LogoutProtocol::Ssf => "Shared Signals (session revoked)",
    }
}

/// The badge class of a logout's status.
pub fn logout_status_class(s: LogoutStatus) -> &'static str {
    match s {
        LogoutStatus::InProgress => "info",
        LogoutStatus::Completed => "ok",
        LogoutStatus::CompletedWithFailures => "bad",
    }
}

/// A logout's status for people to read (`COMPLETED WITH FAILURES`).
pub fn logout_status_label(s: LogoutStatus) -> String {
    s.as_str().replace('_', " ")
}

/// The badge class of a target's status.
pub fn target_status_class(s: TargetStatus) -> &'static str {
    match s {
        TargetStatus::Pending => "info",
        TargetStatus::Retrying => "warn",
        TargetStatus::Succeeded => "ok",
        TargetStatus::Failed => "bad",
        TargetStatus::Skipped => "muted",
    }
}

/// A target's status as the API names it.
pub fn target_status_str(s: TargetStatus) -> &'static str {
    match s {
        TargetStatus::Pending => "PENDING",
        TargetStatus::Retrying => "RETRYING",
        TargetStatus::Succeeded => "SUCCEEDED",
        TargetStatus::Failed => "FAILED",
        TargetStatus::Skipped => "SKIPPED",
    }
}

/// What a scope reaches, in words.
pub fn scope_label(s: LogoutScope) -> &'static str {
    match s {
        LogoutScope::UloOnly => "ulo only",
        LogoutScope::AllApps => "ulo and every logout-enabled app",
        LogoutScope::SpecifiedApps => "ulo and chosen apps",
        LogoutScope::Devices => "all devices (Device Logout)",
        LogoutScope::SessionEnd => "single logout (sessions ended)",
    }
}

/// A receipt as a row of a list.
pub struct LogoutRow {
    /// Id (the link).
    pub id: String,
    /// The person's login then.
    pub person: String,
    /// The person's id (their page).
    pub person_id: String,
    /// Why.
    pub reason: String,
    /// What it reaches.
    pub scope: &'static str,
    /// Status code (for the class), and as read.
    pub status: &'static str,
    /// As read.
    pub status_label: String,
    /// Badge class.
    pub status_class: &'static str,
    /// Started.
    pub started: String,
    /// "3 of 4 answered", "1 failed".
    pub progress: String,
}

impl LogoutRow {
    fn of(l: &Logout) -> Self {
        let total = l.targets.len();
        let answered = l.targets.iter().filter(|t| t.status.is_final()).count();
        let failed = l
            .targets
            .iter()
            .filter(|t| t.status == TargetStatus::Failed)
            .count();
        let mut progress = format!("{answered} of {total} answered");
        if failed > 0 {
            progress.push_str(&format!(", {failed} failed"));
        }
        LogoutRow {
            id: l.id.to_string(),
            person: l.user_login.clone(),
            person_id: l.user_id.to_string(),
            reason: l.reason.clone(),
            scope: scope_label(l.scope),
            status: l.status.as_str(),
            status_label: logout_status_label(l.status),
            status_class: logout_status_class(l.status),
            started: when(l.created),
            progress,
        }
    }
}

/// Rows of `logouts`.
pub fn logout_rows(logouts: &[Logout]) -> Vec<LogoutRow> {
    logouts.iter().map(LogoutRow::of).collect()
}

/// The list's filter.
#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    /// One status, or empty for all.
    #[serde(default)]
    pub status: String,
    /// A person's login or id, or empty for everyone.
    #[serde(default)]
    pub person: String,
    /// Continue after this receipt.
    pub after: Option<String>,
}

const STATUSES: &[&str] = &["IN_PROGRESS", "COMPLETED", "COMPLETED_WITH_FAILURES"];

fn list_url(f: &Filter, after: Option<&str>) -> String {
    let mut url = format!(
        "/admin/logouts?status={}&person={}",
        query_value(&f.status),
        query_value(&f.person)
    );
    if let Some(a) = after {
        url.push_str("&after=");
        url.push_str(&query_value(a));
    }
    url
}

#[derive(Template)]
#[template(path = "console/logouts.html")]
struct LogoutsPage {
    shell: Shell,
    filter: Filter,
    statuses: &'static [&'static str],
    rows: Vec<LogoutRow>,
    next: Option<String>,
    first_page: String,
    error: Option<ConsoleError>,
    /// The filter field the error is about (`status`, `person`), or empty.
    bad_field: &'static str,
}

#[derive(Template)]
#[template(path = "console/logouts_rows.html")]
struct LogoutsRows {
    rows: Vec<LogoutRow>,
    next: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Query(filter): Query<Filter>,
) -> Response {
    let shell = admin.shell("Logouts", Section::Logouts);
    let found = find(&state, &admin, &filter).await;
    if is_htmx(&headers) && filter.after.is_some() {
        return match found {
            Ok((rows, next)) => page(&LogoutsRows {
                rows,
                next: next.map(|a| list_url(&filter, Some(&a))),
            }),
            Err((_, e)) => e.fragment(),
        };
    }
    let first_page = list_url(&filter, None);
    let (rows, next, error, bad_field) = match found {
        Ok((rows, next)) => (rows, next.map(|a| list_url(&filter, Some(&a))), None, ""),
        Err((field, e)) => (Vec::new(), None, Some(e), field),
    };
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    page_with(
        status,
        &LogoutsPage {
            shell,
            filter,
            statuses: STATUSES,
            rows,
            next,
            first_page,
            error,
            bad_field,
        },
    )
}

/// One page of receipts matching `f`, and where the next starts; or the field at fault and why.
async fn find(
    state: &AppState,
    admin: &Console,
    f: &Filter,
) -> Result<(Vec<LogoutRow>, Option<String>), (&'static str, ConsoleError)> {
    let status = match f.status.as_str() {
        "" => None,
        s => Some(s.parse::<LogoutStatus>().map_err(|_| {
            (
                "status",
                ConsoleError::new(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "Unknown status {s:?}: choose one of {}, or All.",
                        STATUSES.join(", ")
                    ),
                ),
            )
        })?),
    };
    let person = f.person.trim();
    let wanted = Page {
        after: f.after.clone().filter(|a| !a.is_empty()),
        limit: PAGE_SIZE,
    };
    let found = state
        .logouts()
        .list(
            &admin.ctx,
            (!person.is_empty()).then_some(person),
            status,
            &wanted,
        )
        .await
        .map_err(|e| {
            let mut e = ConsoleError::from(e);
            if e.status == StatusCode::NOT_FOUND {
                e.status = StatusCode::BAD_REQUEST;
                e.message = format!(
                    "No one has the username {person:?}. Type a person's username (or id) exactly, or leave Person empty for everyone."
                );
                return ("person", e);
            }
            ("", e)
        })?;
    let next = next_after(&wanted, &found, |l| l.id.to_string());
    Ok((logout_rows(&found), next))
}

/// One target of a receipt, as shown.
pub struct TargetRow {
    /// What it is called.
    pub name: String,
    /// ulo, App, Device.
    pub kind: String,
    /// Why it is reached or skipped, and counts.
    pub detail: String,
    /// Status code.
    pub status: &'static str,
    /// Badge class.
    pub status_class: &'static str,
    /// HTTP status of the last attempt.
    pub http: String,
    /// Attempts made.
    pub attempts: i64,
    /// Why the last attempt failed.
    pub error: String,
    /// When it answered for good.
    pub answered: String,
}

/// A receipt, as shown (the part that updates live).
#[derive(Template)]
#[template(path = "console/receipt_body.html")]
pub struct ReceiptBody {
    /// Status code.
    pub status: &'static str,
    /// Status as read.
    pub status_label: String,
    /// Badge class.
    pub status_class: &'static str,
    /// Whether every target has answered.
    pub done: bool,
    /// Targets answered.
    pub answered: usize,
    /// Targets.
    pub total: usize,
    /// Targets failed.
    pub failed: usize,
    /// "target" or "targets".
    pub noun: &'static str,
    /// A sentence on where it stands.
    pub summary: String,
    /// When every target had answered.
    pub completed: String,
    /// The targets.
    pub targets: Vec<TargetRow>,
}

impl ReceiptBody {
    /// The view of `l`.
    pub fn of(l: &Logout) -> Self {
        let total = l.targets.len();
        let answered = l.targets.iter().filter(|t| t.status.is_final()).count();
        let failed = l
            .targets
            .iter()
            .filter(|t| t.status == TargetStatus::Failed)
            .count();
        let waiting = total - answered;
        let summary = match l.status {
            LogoutStatus::InProgress => {
                let devices = l
                    .targets
                    .iter()
                    .any(|t| t.target_type == TargetType::Device && !t.status.is_final());
                format!(
                    "Waiting on {waiting} of {total} target{}. This page updates as each one answers.{}",
                    if total == 1 { "" } else { "s" },
                    if devices {
                        " A device answers when it next checks in."
                    } else {
                        ""
                    }
                )
            }
            LogoutStatus::Completed => "Every target has answered; nothing failed.".to_string(),
            LogoutStatus::CompletedWithFailures => format!(
                "Every target has answered; {failed} failed. Each failure shows the app's HTTP status and error below."
            ),
        };
        let targets = l
            .targets
            .iter()
            .map(|t| {
                let kind = match t.target_type {
                    TargetType::UloSessions | TargetType::OauthTokens | TargetType::ApiTokens => {
                        "ulo".to_string()
                    }
                    TargetType::App => match t.protocol {
                        Some(p) => format!("App · {}", protocol_name(p)),
                        None => "App".to_string(),
                    },
                    TargetType::Device => "Device · SIGN_OUT command".to_string(),
                };
                let mut detail = t.reason.clone();
                if let Some(n) = t.count {
                    let what = match (t.target_type, n) {
                        (TargetType::UloSessions, 1) => "session ended",
                        (TargetType::UloSessions, _) => "sessions ended",
                        (_, 1) => "token revoked",
                        _ => "tokens revoked",
                    };
                    detail = format!("{detail}; {n} {what}");
                }
                TargetRow {
                    name: t.display_name.clone(),
                    kind,
                    detail,
                    status: target_status_str(t.status),
                    status_class: target_status_class(t.status),
                    http: t
                        .last_http_status
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "—".into()),
                    attempts: t.attempts,
                    error: t.last_error.clone().unwrap_or_default(),
                    answered: when_opt(t.completed_at),
                }
            })
            .collect();
        ReceiptBody {
            status: l.status.as_str(),
            status_label: logout_status_label(l.status),
            status_class: logout_status_class(l.status),
            done: l.is_final(),
            answered,
            total,
            failed,
            noun: if total == 1 { "target" } else { "targets" },
            summary,
            completed: when_opt(l.completed),
            targets,
        }
    }
}

#[derive(Template)]
#[template(path = "console/receipt.html")]
struct ReceiptPage {
    shell: Shell,
    id: String,
    person: String,
    person_id: String,
    reason: String,
    scope: &'static str,
    started: String,
    initiated_by: String,
    transaction: String,
    body: ReceiptBody,
}

async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(id): Path<String>,
) -> Response {
    let shell = admin.shell("Logout", Section::Logouts);
    let l = match state.logouts().get(&admin.ctx, &id).await {
        Ok(l) => l,
        Err(e) => return ConsoleError::from(e).answer(&headers, shell),
    };
    let mut shell = shell;
    shell.title = format!("Logout of {}", l.user_login);
    let by = &l.initiated_by;
    page(&ReceiptPage {
        shell,
        id: l.id.to_string(),
        person: l.user_login.clone(),
        person_id: l.user_id.to_string(),
        reason: l.reason.clone(),
        scope: scope_label(l.scope),
        started: when(l.created),
        initiated_by: if by.alternate_id.is_empty() || by.alternate_id == by.id {
            by.display_name.clone()
        } else {
            by.alternate_id.clone()
        },
        transaction: l.transaction_id.clone(),
        body: ReceiptBody::of(&l),
    })
}

/// `GET /admin/logouts/{id}/live`: the receipt's body rendered each time it changes
/// (`event: receipt`), then `event: done` once every target has answered.
async fn live(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(id): Path<String>,
) -> Response {
    let receipts = match crate::routes::logouts::live(state, admin.ctx.clone(), &id).await {
        Ok(s) => s,
        Err(e) => {
            return ConsoleError::from(e).answer(&headers, admin.shell("Logout", Section::Logouts));
        }
    };
    let events = receipts.flat_map(|l| {
        let html = ReceiptBody::of(&l).render().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "receipt template");
            String::new()
        });
        let mut out = vec![Ok::<_, Infallible>(
            Event::default().event("receipt").data(html),
        )];
        if l.is_final() {
            out.push(Ok(Event::default().event("done").data("done")));
        }
        futures::stream::iter(out)
    });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(StdDuration::from_secs(15)))
        .into_response()
}
