//! Directory → People → a person: profile and status, groups, apps and how each is assigned,
//! live sessions and token grants per app, devices, entity risk and its active detections, and
//! past logouts with their receipts. The **More actions** menu opens the dialogs of
//! [`super::person_actions`].

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use ulo_core::store::Page;
use ulo_core::user::{User, UserStatus};

use super::logouts::{LogoutRow, logout_rows};
use super::people::{full_name, status_class};
use super::render::{ConsoleResult, Section, Shell, page, when, when_opt};
use super::session::Console;
use crate::state::AppState;

/// Past logouts shown on the page (the rest are on the Logouts page, filtered to the person).
const LOGOUTS_SHOWN: u32 = 10;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/people/{id}", get(show))
}

/// What the page says after an action sent the admin back to it (`?done=…`): fixed sentences,
/// never text from the URL.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    /// Which action finished.
    #[serde(default)]
    pub done: String,
}

impl Done {
    fn notice(&self) -> Option<&'static str> {
        Some(match self.done.as_str() {
            "cleared" => "Sessions cleared and OAuth tokens revoked. No app needed telling.",
            "suspend" => {
                "Suspended. Their sessions and tokens ended and every logout-enabled app was asked to log them out (see Past logouts)."
            }
            "unsuspend" => "Unsuspended: they can sign in again.",
            "activate" => "Activated.",
            "deactivate" => {
                "Deactivated. Their sessions, OAuth and API tokens ended and every logout-enabled app was asked to log them out (see Past logouts)."
            }
            "risk" => {
                "Entity risk level elevated. The Entity Risk Policy evaluated it; any logout it started is under Past logouts."
            }
            "risk-reset" => "Entity risk reset: the active detections ended.",
            _ => return None,
        })
    }
}

/// A group the person belongs to.
pub struct GroupRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// An app the person reaches.
pub struct AppRow {
    /// Label.
    pub label: String,
    /// OIDC or desktop MFA.
    pub kind: &'static str,
    /// ACTIVE or INACTIVE.
    pub status: &'static str,
    /// How a logout reaches it.
    pub logout: String,
    /// Whether a Universal Logout reaches it.
    pub logout_enabled: bool,
    /// Directly, through which groups.
    pub assigned: String,
}

/// A live ulo session.
pub struct SessionRow {
    /// Started.
    pub created: String,
    /// Last used.
    pub last_used: String,
    /// When it ends unless used.
    pub idle_expires: String,
    /// From where.
    pub ip: String,
    /// With what.
    pub user_agent: String,
    /// How they signed in.
    pub amr: String,
}

/// Live tokens an app holds.
pub struct GrantRow {
    /// The app's label (or its id when it is gone).
    pub app: String,
    /// Refresh tokens.
    pub refresh: i64,
    /// Access tokens.
    pub access: i64,
}

/// A computer the person signs in on.
pub struct DeviceRow {
    /// Id.
    pub id: String,
    /// Host name.
    pub hostname: String,
    /// Platform and OS version.
    pub platform: String,
    /// Their account on it.
    pub os_login: String,
    /// Last seen with them.
    pub last_seen: String,
    /// ACTIVE or REVOKED.
    pub status: &'static str,
    /// Badge class.
    pub status_class: &'static str,
}

/// An active detection.
pub struct DetectionRow {
    /// The kind.
    pub kind: String,
    /// LOW, MEDIUM, HIGH.
    pub level: &'static str,
    /// Why.
    pub reasons: String,
    /// Who reported it.
    pub source: String,
    /// When.
    pub created: String,
    /// Until.
    pub expires: String,
}

/// One More actions entry.
pub struct MenuItem {
    /// Where (a dialog for htmx, a page without JavaScript).
    pub href: String,
    /// The label.
    pub label: &'static str,
    /// Shown in red.
    pub danger: bool,
    /// A line above it.
    pub separated: bool,
}

/// The person page.
#[derive(Template)]
#[template(path = "console/person.html")]
struct PersonPage {
    shell: Shell,
    id: String,
    name: String,
    login: String,
    status: &'static str,
    status_class: &'static str,
    facts: Vec<(&'static str, String)>,
    risk_level: &'static str,
    detections: Vec<DetectionRow>,
    groups: Vec<GroupRow>,
    apps: Vec<AppRow>,
    sessions: Vec<SessionRow>,
    grants: Vec<GrantRow>,
    devices: Vec<DeviceRow>,
    logouts: Vec<LogoutRow>,
    more_logouts: bool,
    logouts_url: String,
    menu: Vec<MenuItem>,
}

/// The More actions entries for a person in `status`.
fn menu(id: &str, status: UserStatus) -> Vec<MenuItem> {
    let item = |path: &str, label, danger, separated| MenuItem {
        href: format!("/admin/people/{id}/{path}"),
        label,
        danger,
        separated,
    };
    let mut m = vec![
        item("clear-sessions", "Clear User Sessions", false, false),
        item("device-logout", "Device Logout", false, false),
        item("risk", "Elevate risk level", false, true),
        item("risk/reset", "Reset risk", false, false),
        item("reset-password", "Reset password", false, true),
    ];
    match status {
        UserStatus::Active => m.push(item("lifecycle/suspend", "Suspend", true, false)),
        UserStatus::Suspended => m.push(item("lifecycle/unsuspend", "Unsuspend", false, false)),
        UserStatus::Staged | UserStatus::Deprovisioned => {
            m.push(item("lifecycle/activate", "Activate", false, false))
        }
    }
    if status != UserStatus::Deprovisioned {
        m.push(item("lifecycle/deactivate", "Deactivate", true, false));
    }
    m
}

/// `ADMIN_REPORTED_USER_RISK` as "Admin reported user risk".
fn words(code: &str) -> String {
    let lower = code.replace('_', " ").to_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The facts of the profile card.
fn facts(u: &User) -> Vec<(&'static str, String)> {
    let p = &u.profile;
    let mut f = vec![
        ("Username", p.login.clone()),
        ("Primary email", p.email.clone()),
    ];
    for (label, v) in [
        ("Title", &p.title),
        ("Department", &p.department),
        ("Manager", &p.manager),
        ("Mobile phone", &p.mobile_phone),
    ] {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            f.push((label, v.clone()));
        }
    }
    f.extend([
        ("Created", when(u.created)),
        ("Activated", when_opt(u.activated)),
        ("Status changed", when_opt(u.status_changed)),
        ("Last sign-in", when_opt(u.last_login)),
        ("Password changed", when_opt(u.password_changed)),
        ("Provisioned by", u.provisioned_by.as_str().to_string()),
    ]);
    f
}

async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(key): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    let shell = admin.shell("Person", Section::People);
    match build(&state, &admin, &key, shell.clone()).await {
        Ok(mut p) => {
            if let Some(n) = done.notice() {
                p.shell = p.shell.with_notice(n);
            }
            page(&p)
        }
        Err(e) => e.answer(&headers, shell),
    }
}

async fn build(
    state: &AppState,
    admin: &Console,
    key: &str,
    mut shell: Shell,
) -> ConsoleResult<PersonPage> {
    let ctx = &admin.ctx;
    let dir = state.directory();
    let user = dir.get_user(ctx, key).await?;
    let id = user.id.to_string();
    let groups = dir.list_user_groups(ctx, &id).await?;
    let links = dir.user_app_links(ctx, &id).await?;
    let live = crate::credentials::sign_in(state)
        .list_sessions(ctx, &id)
        .await?;
    let devices = state.devices().of_user(ctx, &id).await?;
    let risk = state.risks().get(ctx, &id).await?;
    let logouts = state
        .logouts()
        .list(
            ctx,
            Some(&id),
            None,
            &Page {
                after: None,
                limit: LOGOUTS_SHOWN + 1,
            },
        )
        .await?;

    let group_name = |gid: &ulo_core::ids::GroupId| {
        groups
            .iter()
            .find(|g| g.id == *gid)
            .map(|g| g.profile.name.clone())
            .unwrap_or_else(|| gid.to_string())
    };
    let apps = links
        .iter()
        .map(|l| {
            let mut how = Vec::new();
            if l.direct {
                how.push("directly".to_string());
            }
            let through: Vec<String> = l.groups.iter().map(group_name).collect();
            if !through.is_empty() {
                how.push(format!("through {}", through.join(", ")));
            }
            let app = &l.app;
            let desktop = app.app_type == ulo_core::app::AppType::DesktopMfa;
            AppRow {
                label: app.label.clone(),
                kind: if desktop { "Desktop MFA" } else { "OIDC" },
                status: app.status.as_str(),
                logout: if !app.logout.enabled {
                    "Logout off".into()
                } else if desktop {
                    "Device Logout".into()
                } else {
                    app.logout
                        .protocol
                        .map(super::logouts::protocol_name)
                        .unwrap_or("no protocol")
                        .to_string()
                },
                logout_enabled: app.logout.enabled,
                assigned: how.join(" and "),
            }
        })
        .collect();
    let sessions = live
        .sessions
        .iter()
        .map(|s| SessionRow {
            created: when(s.created),
            last_used: when(s.last_used),
            idle_expires: when(ulo_core::signin::idle_expires(s)),
            ip: s.ip_address.clone().unwrap_or_else(|| "—".into()),
            user_agent: s.user_agent.clone().unwrap_or_else(|| "—".into()),
            amr: if s.amr.is_empty() {
                "—".into()
            } else {
                s.amr.join(" + ")
            },
        })
        .collect();
    let grants = live
        .grants
        .iter()
        .map(|(g, label)| GrantRow {
            app: label.clone().unwrap_or_else(|| g.app_id.to_string()),
            refresh: g.refresh_tokens,
            access: g.access_tokens,
        })
        .collect();
    let devices = devices
        .iter()
        .map(|(d, link)| {
            let active = d.status == ulo_core::device::DeviceStatus::Active;
            DeviceRow {
                id: d.id.to_string(),
                hostname: d.hostname.clone(),
                platform: format!("{} {}", d.platform, d.os_version)
                    .trim()
                    .to_string(),
                os_login: link.os_login.clone(),
                last_seen: when(link.last_seen),
                status: if active { "ACTIVE" } else { "REVOKED" },
                status_class: if active { "ok" } else { "muted" },
            }
        })
        .collect();
    let detections = risk
        .detections
        .iter()
        .map(|d| DetectionRow {
            kind: words(d.detection_type.as_str()),
            level: d.level.as_str(),
            reasons: d.reasons.join("; "),
            source: d.issuer.clone().unwrap_or_else(|| d.source.clone()),
            created: when(d.created),
            expires: when(d.expires),
        })
        .collect();
    let more_logouts = logouts.len() as u32 > LOGOUTS_SHOWN;
    let logouts = logout_rows(&logouts[..logouts.len().min(LOGOUTS_SHOWN as usize)]);
    let name = full_name(&user);
    shell.title = name.clone();
    Ok(PersonPage {
        menu: menu(&id, user.status),
        logouts_url: format!(
            "/admin/logouts?person={}",
            crate::routes::page::query_value(&user.profile.login)
        ),
        shell,
        name,
        login: user.profile.login.clone(),
        status: user.status.as_str(),
        status_class: status_class(user.status.as_str()),
        facts: facts(&user),
        risk_level: risk.level.map_or("NONE", |l| l.as_str()),
        detections,
        groups: groups
            .iter()
            .map(|g| GroupRow {
                id: g.id.to_string(),
                name: g.profile.name.clone(),
            })
            .collect(),
        apps,
        sessions,
        grants,
        devices,
        logouts,
        more_logouts,
        id,
    })
}
