//! The landing page: what needs an identity team's eyes now — logouts in progress, deliveries
//! that failed in the last 24 hours, people at HIGH risk, computers not seen for 30 days.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use time::Duration;
use ulo_core::log::{EventQuery, SortOrder};
use ulo_core::logout::{Logout, LogoutStatus};
use ulo_core::store::{Page, UserQuery};
use ulo_core::user::User;

use super::render::{ConsoleResult, Section, Shell, page, when, when_opt};
use super::session::Console;
use crate::state::AppState;

/// How many rows each panel shows.
const PANEL_ROWS: u32 = 10;
/// The failed deliveries counted, at most.
const FAILED_CAP: u32 = 1000;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(show))
        .route("/dashboard", get(show))
}

/// A failed delivery, for the panel.
pub struct FailedDelivery {
    /// When.
    pub published: String,
    /// The event's message.
    pub message: String,
    /// Why.
    pub reason: String,
    /// The logout it belongs to (the transaction).
    pub transaction: String,
}

/// A computer, for the panel.
pub struct QuietDevice {
    /// Id.
    pub id: String,
    /// Host name.
    pub hostname: String,
    /// Platform.
    pub platform: String,
    /// Last seen.
    pub last_seen: String,
}

#[derive(Template)]
#[template(path = "console/dashboard.html")]
struct Dashboard {
    shell: Shell,
    in_progress: Vec<Logout>,
    failed: Vec<FailedDelivery>,
    failed_total: usize,
    failed_more: bool,
    high_risk: Vec<User>,
    quiet_devices: Vec<QuietDevice>,
}

impl Dashboard {
    fn created(&self, l: &Logout) -> String {
        when(l.created)
    }

    fn last_login(&self, u: &User) -> String {
        when_opt(u.last_login)
    }
}

async fn show(State(state): State<AppState>, admin: Console) -> ConsoleResult<Response> {
    let now = state.clock.now();
    let page_of = |limit| Page { after: None, limit };
    let in_progress = state
        .logouts()
        .list(
            &admin.ctx,
            None,
            Some(LogoutStatus::InProgress),
            &page_of(PANEL_ROWS),
        )
        .await?;
    let failed_events = {
        let filter = ulo_core::filter::parse(
            "eventType eq \"app.universal_logout.delivery\" and outcome.result eq \"FAILURE\"",
        )
        .map_err(|e| crate::error::ApiError::internal(format!("dashboard filter: {e}")))?;
        let q = EventQuery {
            since: Some(now - Duration::hours(24)),
            until: None,
            after: None,
            filter: Some(filter),
            keywords: Vec::new(),
            sort: SortOrder::Descending,
            limit: FAILED_CAP,
        };
        let mut tx = state.store.read().await?;
        tx.query_events(&q).await?
    };
    let failed_more = failed_events.len() as u32 == FAILED_CAP;
    let failed = failed_events
        .iter()
        .take(PANEL_ROWS as usize)
        .map(|e| FailedDelivery {
            published: when(e.published),
            message: e.display_message.clone(),
            reason: e.outcome.reason.clone().unwrap_or_default(),
            transaction: e.transaction.id.clone(),
        })
        .collect();
    let high_risk = {
        let filter = ulo_core::filter::parse("riskLevel eq \"HIGH\"")
            .map_err(|e| crate::error::ApiError::internal(format!("dashboard filter: {e}")))?;
        state
            .directory()
            .list_users(
                &admin.ctx,
                &UserQuery {
                    q: None,
                    filter: Some(filter),
                    page: page_of(PANEL_ROWS),
                    risk_at: Some(now),
                },
            )
            .await?
    };
    let quiet_devices = state
        .devices()
        .list(&admin.ctx, &page_of(200))
        .await?
        .into_iter()
        .filter(|d| d.revoked.is_none())
        .filter(|d| d.last_seen.unwrap_or(d.created) < now - Duration::days(30))
        .take(PANEL_ROWS as usize)
        .map(|d| QuietDevice {
            id: d.id.to_string(),
            hostname: d.hostname,
            platform: d.platform,
            last_seen: when_opt(d.last_seen),
        })
        .collect();
    let shell = admin.shell("Dashboard", Section::Dashboard);
    Ok(page(&Dashboard {
        shell,
        in_progress,
        failed_total: failed_events.len(),
        failed,
        failed_more,
        high_risk,
        quiet_devices,
    }))
}
