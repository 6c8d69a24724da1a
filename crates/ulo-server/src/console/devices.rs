//! Devices: the enrolled computers (platform, OS, agent version, last seen, the people seen on
//! them), a device's page with its recent sign-outs, revoke (confirmed), and enrollment tokens
//! shown once with the `ulo agent enroll` command line. The same domain calls as
//! `routes/devices.rs`.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use time::Duration;
use ulo_core::device::{self, Device, DeviceStatus, DeviceUser};
use ulo_core::log::{EventQuery, SortOrder};
use ulo_core::store::Page;

use super::apps::FieldErrors;
use super::render::{
    ConsoleError, ConsoleResult, Section, Shell, is_htmx, page, page_with, see_other, when,
    when_opt,
};
use super::session::Console;
use crate::routes::page::query_value;
use crate::routes::paging::next_after;
use crate::state::AppState;

/// Devices per page.
pub const PAGE_SIZE: u32 = 50;
/// Where the command line tells the agent to keep its key and state.
pub const STATE_DIR: &str = "/var/lib/ulo-agent";

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/devices", get(list))
        .route("/devices/enroll", get(new_token).post(create_token))
        .route("/devices/{id}", get(show))
        .route("/devices/{id}/revoke", get(confirm_revoke).post(revoke))
}

/// The list's paging and what just happened.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// Continue after this id.
    pub after: Option<String>,
}

/// A device as a row or a page shows it.
pub struct DeviceView {
    /// Id.
    pub id: String,
    /// Host name.
    pub hostname: String,
    /// macos / linux, as people write it.
    pub platform: String,
    /// OS version.
    pub os_version: String,
    /// Agent version.
    pub agent_version: String,
    /// ACTIVE / REVOKED.
    pub status: &'static str,
    /// Badge class.
    pub status_class: &'static str,
    /// Whether still active.
    pub active: bool,
    /// Last call of its agent.
    pub last_seen: String,
    /// Enrolled.
    pub enrolled: String,
    /// Revoked.
    pub revoked: String,
    /// The OS account at the console when it last called.
    pub console_user: String,
    /// Certificate serial.
    pub serial: String,
    /// Certificate SHA-256 fingerprint.
    pub fingerprint: String,
    /// Certificate valid until.
    pub not_after: String,
    /// The people seen on it.
    pub users: Vec<UserSeen>,
}

/// Someone seen on a device.
pub struct UserSeen {
    /// ulo user id.
    pub id: String,
    /// Their username (empty when the person is gone).
    pub login: String,
    /// Their account on the device.
    pub os_login: String,
    /// First seen.
    pub first_seen: String,
    /// Last seen.
    pub last_seen: String,
}

fn platform(p: &str) -> String {
    match p {
        "macos" => "macOS".into(),
        "linux" => "Linux".into(),
        other => other.to_string(),
    }
}

impl DeviceView {
    fn of(d: &Device, users: Vec<UserSeen>) -> Self {
        DeviceView {
            id: d.id.to_string(),
            hostname: d.hostname.clone(),
            platform: platform(&d.platform),
            os_version: d.os_version.clone(),
            agent_version: d.agent_version.clone(),
            status: d.status.as_str(),
            status_class: match d.status {
                DeviceStatus::Active => "ok",
                DeviceStatus::Revoked => "bad",
            },
            active: d.status == DeviceStatus::Active,
            last_seen: when_opt(d.last_seen),
            enrolled: when(d.created),
            revoked: when_opt(d.revoked),
            console_user: d.console_user.clone().unwrap_or_default(),
            serial: d.certificate.serial_number.clone(),
            fingerprint: d.certificate.sha256_fingerprint.clone(),
            not_after: when(d.certificate.not_after),
            users,
        }
    }
}

/// The people behind `links`, with their usernames.
async fn users_seen(state: &AppState, links: &[DeviceUser]) -> ConsoleResult<Vec<UserSeen>> {
    let mut tx = state.store.read().await?;
    let mut out = Vec::with_capacity(links.len());
    for l in links {
        let login = tx
            .get_user(l.user_id)
            .await?
            .map(|u| u.profile.login)
            .unwrap_or_default();
        out.push(UserSeen {
            id: l.user_id.to_string(),
            login,
            os_login: l.os_login.clone(),
            first_seen: when(l.first_seen),
            last_seen: when(l.last_seen),
        });
    }
    Ok(out)
}

/// Whether Device Logout is on (the page says how to turn it on when it is not).
async fn feature_on(state: &AppState, admin: &Console) -> ConsoleResult<bool> {
    Ok(ulo_core::features::list(state.store.as_ref(), &admin.ctx)
        .await?
        .iter()
        .any(|f| f.id == device::FEATURE && f.status == "ENABLED"))
}

#[derive(Template)]
#[template(path = "console/devices.html")]
struct DevicesPage {
    shell: Shell,
    rows: Vec<DeviceView>,
    next: Option<String>,
    later_page: bool,
    feature_on: bool,
}

#[derive(Template)]
#[template(path = "console/devices_rows.html")]
struct DevicesRows {
    rows: Vec<DeviceView>,
    next: Option<String>,
}

async fn rows(
    state: &AppState,
    admin: &Console,
    after: Option<&str>,
) -> ConsoleResult<(Vec<DeviceView>, Option<String>)> {
    let wanted = Page {
        after: after.filter(|a| !a.is_empty()).map(str::to_string),
        limit: PAGE_SIZE,
    };
    let devices = state.devices().list(&admin.ctx, &wanted).await?;
    let next = next_after(&wanted, &devices, |d| d.id.to_string())
        .map(|id| format!("/admin/devices?after={}", query_value(&id)));
    let mut out = Vec::with_capacity(devices.len());
    for d in &devices {
        let (_, links) = state.devices().get(&admin.ctx, &d.id.to_string()).await?;
        out.push(DeviceView::of(d, users_seen(state, &links).await?));
    }
    Ok((out, next))
}

/// `GET /admin/devices`.
async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Query(q): Query<ListQuery>,
) -> Response {
    let shell = admin.shell("Devices", Section::Devices);
    let result = async {
        let (rows, next) = rows(&state, &admin, q.after.as_deref()).await?;
        let on = feature_on(&state, &admin).await?;
        ConsoleResult::Ok((rows, next, on))
    }
    .await;
    match result {
        Ok((rows, next, feature_on)) => {
            if is_htmx(&headers) && q.after.is_some() {
                return page(&DevicesRows { rows, next });
            }
            page(&DevicesPage {
                shell,
                rows,
                next,
                later_page: q.after.is_some(),
                feature_on,
            })
        }
        Err(e) => e.answer(&headers, shell),
    }
}

/// A sign-out the device was asked to do, and how it answered.
pub struct SignOutRow {
    /// When it answered (or expired).
    pub published: String,
    /// The person.
    pub person: String,
    /// Their id.
    pub person_id: String,
    /// SUCCEEDED / FAILED / EXPIRED.
    pub status: String,
    /// Badge class.
    pub status_class: &'static str,
    /// What the agent said.
    pub detail: String,
    /// The receipt.
    pub logout_id: String,
}

#[derive(Template)]
#[template(path = "console/device.html")]
struct DevicePage {
    shell: Shell,
    device: DeviceView,
    sign_outs: Vec<SignOutRow>,
}

/// The device's answers to sign-out commands in the last 30 days, newest first.
async fn sign_outs(state: &AppState, device: &Device) -> ConsoleResult<Vec<SignOutRow>> {
    let filter = format!(
        "eventType eq \"device.desktop_mfa.device_logout.completed\" and target.id eq \"{}\"",
        device.id
    );
    let filter = ulo_core::filter::parse(&filter)
        .map_err(|e| ConsoleError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let q = EventQuery {
        since: Some(state.clock.now() - Duration::days(30)),
        until: None,
        after: None,
        filter: Some(filter),
        keywords: Vec::new(),
        sort: SortOrder::Descending,
        limit: 25,
    };
    let mut tx = state.store.read().await?;
    let events = tx.query_events(&q).await?;
    Ok(events
        .iter()
        .map(|e| {
            let user = e.target.iter().find(|t| t.target_type == "User");
            let debug = |k: &str| {
                e.debug_context
                    .debug_data
                    .get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            let status = debug("commandStatus");
            SignOutRow {
                published: when(e.published),
                person: user.map(|t| t.alternate_id.clone()).unwrap_or_default(),
                person_id: user.map(|t| t.id.clone()).unwrap_or_default(),
                status_class: if status == "SUCCEEDED" { "ok" } else { "bad" },
                status,
                detail: debug("detail"),
                logout_id: debug("logoutId"),
            }
        })
        .collect())
}

/// What a change just did.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    /// `revoked`.
    pub done: Option<String>,
}

async fn device_page(state: &AppState, admin: &Console, id: &str) -> ConsoleResult<DevicePage> {
    let (d, links) = state.devices().get(&admin.ctx, id).await?;
    let users = users_seen(state, &links).await?;
    Ok(DevicePage {
        shell: admin.shell(&d.hostname, Section::Devices),
        sign_outs: sign_outs(state, &d).await?,
        device: DeviceView::of(&d, users),
    })
}

/// `GET /admin/devices/{id}`.
async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    match device_page(&state, &admin, &id).await {
        Ok(mut p) => {
            if done.done.as_deref() == Some("revoked") {
                p.shell = p.shell.with_notice(
                    "Device revoked: its agent's calls are refused from now on, and its unanswered sign-outs failed on their receipts.",
                );
            }
            page(&p)
        }
        Err(e) => e.answer(&headers, admin.shell("Device", Section::Devices)),
    }
}

#[derive(Template)]
#[template(path = "console/device_revoke_dialog.html")]
struct RevokeDialog {
    shell: Shell,
    device: DeviceView,
}

#[derive(Template)]
#[template(path = "console/device_revoke.html")]
struct RevokePage {
    shell: Shell,
    device: DeviceView,
}

/// `GET /admin/devices/{id}/revoke`: the confirmation (a dialog for htmx, else a page).
async fn confirm_revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(id): Path<String>,
) -> Response {
    let shell = admin.shell("Revoke device", Section::Devices);
    let result = async {
        let (d, links) = state.devices().get(&admin.ctx, &id).await?;
        ConsoleResult::Ok(DeviceView::of(&d, users_seen(&state, &links).await?))
    }
    .await;
    match result {
        Ok(device) if is_htmx(&headers) => page(&RevokeDialog { shell, device }),
        Ok(device) => page(&RevokePage { shell, device }),
        Err(e) => e.answer(&headers, shell),
    }
}

/// `POST /admin/devices/{id}/revoke` (`revokeDevice`'s domain call).
async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(id): Path<String>,
) -> Response {
    match state.devices().revoke(&admin.ctx, &id).await {
        Ok((d, changed)) => {
            for l in changed {
                state.receipt_changed(l);
            }
            see_other(&format!("/admin/devices/{}?done=revoked", d.id))
        }
        Err(e) => {
            ConsoleError::from(e).answer(&headers, admin.shell("Revoke device", Section::Devices))
        }
    }
}

/// How long a new enrollment token lives: the choices offered.
pub const LIFETIMES: &[(&str, &str)] = &[
    ("3600", "1 hour"),
    ("86400", "24 hours"),
    ("604800", "7 days"),
    ("2592000", "30 days"),
];

/// The new enrollment token form.
#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    /// Seconds.
    #[serde(default)]
    pub expires_in: String,
}

#[derive(Template)]
#[template(path = "console/device_enroll.html")]
struct EnrollPage {
    shell: Shell,
    lifetimes: &'static [(&'static str, &'static str)],
    expires_in: String,
    errors: FieldErrors,
    feature_on: bool,
}

#[derive(Template)]
#[template(path = "console/device_token.html")]
struct TokenPage {
    shell: Shell,
    token: String,
    expires: String,
    enroll_command: String,
    run_command: String,
}

/// `GET /admin/devices/enroll`.
async fn new_token(State(state): State<AppState>, headers: HeaderMap, admin: Console) -> Response {
    let shell = admin.shell("Enroll a device", Section::Devices);
    match feature_on(&state, &admin).await {
        Ok(on) => page(&EnrollPage {
            shell,
            lifetimes: LIFETIMES,
            expires_in: "3600".into(),
            errors: FieldErrors::none(),
            feature_on: on,
        }),
        Err(e) => e.answer(&headers, shell),
    }
}

const NOT_CREATED: &str = "No enrollment token was created.";

/// `POST /admin/devices/enroll`: a single-use token (`createDeviceEnrollmentToken`'s domain
/// call), shown once with the command lines that use it.
async fn create_token(
    State(state): State<AppState>,
    admin: Console,
    Form(form): Form<TokenForm>,
) -> Response {
    let shell = admin.shell("Enroll a device", Section::Devices);
    let failed = |status: StatusCode, errors: FieldErrors, on: bool| {
        page_with(
            status,
            &EnrollPage {
                shell: shell.clone(),
                lifetimes: LIFETIMES,
                expires_in: form.expires_in.clone(),
                errors,
                feature_on: on,
            },
        )
    };
    let on = feature_on(&state, &admin).await.unwrap_or(false);
    let Ok(seconds) = form.expires_in.trim().parse::<i64>() else {
        return failed(
            StatusCode::BAD_REQUEST,
            FieldErrors::single(
                NOT_CREATED,
                "expires_in",
                "Choose how long the token is valid.",
            ),
            on,
        );
    };
    match device::create_enrollment_token(
        state.store.as_ref(),
        state.clock.as_ref(),
        &admin.ctx,
        Some(seconds),
    )
    .await
    {
        Ok(t) => {
            let server = state.issuer();
            page(&TokenPage {
                shell: admin.shell("Enrollment token created", Section::Devices),
                enroll_command: format!(
                    "ulo agent enroll --server {server} --token {} --state-dir {STATE_DIR}",
                    t.secret
                ),
                run_command: format!("ulo agent run --state-dir {STATE_DIR}"),
                token: t.secret,
                expires: when(t.token.expires),
            })
        }
        Err(e) => {
            let e = ConsoleError::from(e);
            let errors = FieldErrors::of(NOT_CREATED, &e, &[("expiresInSeconds", "expires_in")]);
            failed(e.status, errors, on)
        }
    }
}
