//! Applications: the list (label, type, status, logout, assignments), Add Application (OIDC,
//! logout and provisioning settings; the client secret shown once), and an app's page: its
//! settings, the Logout settings to edit (the desktop-mfa app's *Logout* toggle among them),
//! activate / deactivate, assignments of people and groups, and its recent logout deliveries.
//! Every change is the admin API's domain call (`routes/apps.rs`) with the console's context.

mod form;
mod page;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use ulo_core::app::{App, AppType};
use ulo_core::store::Page;

pub use form::FieldErrors;

use super::render::{ConsoleError, ConsoleResult, Section, Shell, is_htmx, page};
use super::session::Console;
use crate::routes::page::query_value;
use crate::routes::paging::next_after;
use crate::state::AppState;

/// Apps per page of the list.
pub const PAGE_SIZE: u32 = 50;
/// Direct assignments counted on the list; more shows as "100+".
const COUNT_CAP: u32 = 100;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/apps", get(list))
        .route("/apps/new", get(form::new_app).post(form::create))
        .route("/apps/{id}", get(page::show))
        .route("/apps/{id}/logout", post(page::save_logout))
        .route("/apps/{id}/lifecycle/{op}", post(page::lifecycle))
        .route("/apps/{id}/users", post(page::assign_user))
        .route("/apps/{id}/users/{uid}/remove", post(page::unassign_user))
        .route("/apps/{id}/groups", post(page::assign_group))
        .route("/apps/{id}/groups/{gid}/remove", post(page::unassign_group))
}

/// The list's search.
#[derive(Debug, Default, Deserialize)]
pub struct Search {
    /// Prefix of the label.
    #[serde(default)]
    pub q: String,
    /// Continue after this id.
    pub after: Option<String>,
}

/// One row of the list.
pub struct Row {
    /// Id (the link).
    pub id: String,
    /// Label.
    pub label: String,
    /// `OIDC` or `Desktop MFA`.
    pub kind: &'static str,
    /// ACTIVE or INACTIVE.
    pub status: &'static str,
    /// The status badge's class.
    pub status_class: &'static str,
    /// Whether Universal Logout reaches it.
    pub logout_enabled: bool,
    /// How (protocol), when enabled.
    pub logout_how: &'static str,
    /// "3 people · 1 group".
    pub assignments: String,
}

#[derive(Template)]
#[template(path = "console/apps.html")]
struct AppsPage {
    shell: Shell,
    search: Search,
    rows: Vec<Row>,
    next: Option<String>,
    first_page: String,
}

#[derive(Template)]
#[template(path = "console/apps_rows.html")]
struct AppsRows {
    rows: Vec<Row>,
    next: Option<String>,
}

/// What the console calls a type of app.
pub fn kind(t: AppType) -> &'static str {
    match t {
        AppType::Oidc => "OIDC",
        AppType::DesktopMfa => "Desktop MFA",
    }
}

/// The badge class of an app status.
pub fn status_class(app: &App) -> &'static str {
    match app.status {
        ulo_core::app::AppStatus::Active => "ok",
        ulo_core::app::AppStatus::Inactive => "muted",
    }
}

/// How an enabled app is logged out, in words.
pub fn logout_how(app: &App) -> &'static str {
    match (app.app_type, app.logout.protocol) {
        (AppType::DesktopMfa, _) => "Device Logout",
        (_, Some(p)) => form::protocol_name(p),
        (_, None) => "",
    }
}

fn list_url(search: &Search, after: Option<&str>) -> String {
    let mut url = format!("/admin/apps?q={}", query_value(&search.q));
    if let Some(a) = after {
        url.push_str("&after=");
        url.push_str(&query_value(a));
    }
    url
}

async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Query(search): Query<Search>,
) -> Response {
    let shell = admin.shell("Applications", Section::Applications);
    match rows(&state, &admin, &search).await {
        Ok((rows, next_after)) => {
            let next = next_after.map(|a| list_url(&search, Some(&a)));
            if is_htmx(&headers) && search.after.is_some() {
                return page(&AppsRows { rows, next });
            }
            let first_page = list_url(&search, None);
            page(&AppsPage {
                shell,
                search,
                rows,
                next,
                first_page,
            })
        }
        Err(e) => e.answer(&headers, shell),
    }
}

async fn rows(
    state: &AppState,
    admin: &Console,
    search: &Search,
) -> ConsoleResult<(Vec<Row>, Option<String>)> {
    let q = search.q.trim();
    if let Some(a) = search.after.as_deref().filter(|a| !a.is_empty())
        && a.parse::<uuid::Uuid>().is_err()
    {
        return Err(ConsoleError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "{a:?} is not an application id to continue after: start again from the first page."
            ),
        ));
    }
    let dir = state.directory();
    let wanted = Page {
        after: search.after.clone().filter(|a| !a.is_empty()),
        limit: PAGE_SIZE,
    };
    let apps = dir
        .list_apps(&admin.ctx, (!q.is_empty()).then_some(q), &wanted)
        .await?;
    let next = next_after(&wanted, &apps, |a| a.id.to_string());
    let mut out = Vec::with_capacity(apps.len());
    for a in &apps {
        let id = a.id.to_string();
        let people = dir
            .list_app_users(
                &admin.ctx,
                &id,
                &Page {
                    after: None,
                    limit: COUNT_CAP + 1,
                },
            )
            .await?
            .len() as u32;
        let groups = dir.list_app_groups(&admin.ctx, &id).await?.len();
        out.push(Row {
            id,
            label: a.label.clone(),
            kind: kind(a.app_type),
            status: a.status.as_str(),
            status_class: status_class(a),
            logout_enabled: a.logout.enabled,
            logout_how: logout_how(a),
            assignments: assignments(people, groups),
        });
    }
    Ok((out, next))
}

/// "3 people · 1 group", "100+ people", "None".
fn assignments(people: u32, groups: usize) -> String {
    let mut parts = Vec::new();
    match people {
        0 => {}
        1 => parts.push("1 person".to_string()),
        n if n > COUNT_CAP => parts.push(format!("{COUNT_CAP}+ people")),
        n => parts.push(format!("{n} people")),
    }
    match groups {
        0 => {}
        1 => parts.push("1 group".to_string()),
        n => parts.push(format!("{n} groups")),
    }
    if parts.is_empty() {
        "None".to_string()
    } else {
        parts.join(" · ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_read_as_counts() {
        assert_eq!(assignments(0, 0), "None");
        assert_eq!(assignments(1, 0), "1 person");
        assert_eq!(assignments(3, 2), "3 people · 2 groups");
        assert_eq!(assignments(101, 1), "100+ people · 1 group");
    }
}
