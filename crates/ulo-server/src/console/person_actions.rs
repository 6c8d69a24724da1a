//! A person's **More actions**: *Clear User Sessions* (with its dry run), *Device Logout* → *Log
//! Out All Devices*, *Elevate risk level* and *Reset risk*, suspend / unsuspend / activate /
//! deactivate, and reset password. Each is a dialog loaded into `#dialog` by htmx, and the same
//! form as a page of its own without JavaScript; each confirms with the same domain call as the
//! admin API and shows a refusal in place.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use ulo_core::device::DeviceStatus;
use ulo_core::logout::{Logout, LogoutRequest, LogoutScope, TargetStatus, TargetType, reason};
use ulo_core::signin::{ClearOptions, clear_sessions, end_reason};
use ulo_core::user::{Lifecycle, RiskLevel, User, validate_password};

use super::logouts::protocol_name;
use super::people::full_name;
use super::render::{ConsoleError, ConsoleResult, Section, is_htmx, page_with, see_other, when};
use super::session::Console;
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/people/{id}/clear-sessions", get(clear_form).post(clear))
        .route("/people/{id}/clear-sessions/preview", get(clear_preview))
        .route(
            "/people/{id}/device-logout",
            get(devices_form).post(devices_logout),
        )
        .route("/people/{id}/risk", get(risk_form).post(elevate))
        .route(
            "/people/{id}/risk/reset",
            get(reset_risk_form).post(reset_risk),
        )
        .route(
            "/people/{id}/lifecycle/{op}",
            get(lifecycle_form).post(lifecycle),
        )
        .route(
            "/people/{id}/reset-password",
            get(password_form).post(reset_password),
        )
}

/// What every action's form needs: whose, where it posts, dialog or page, and a refusal to show.
pub struct Frame {
    /// The person's id.
    pub id: String,
    /// Their name.
    pub name: String,
    /// Where the form posts.
    pub action: String,
    /// The csrf token (forms without JavaScript).
    pub csrf: String,
    /// In a dialog (htmx) rather than a page of its own.
    pub dialog: bool,
    /// What the last attempt was refused with.
    pub error: Option<ConsoleError>,
}

#[derive(Template)]
#[template(path = "console/person_dialog.html")]
struct Dialog {
    body: String,
}

#[derive(Template)]
#[template(path = "console/person_action.html")]
struct ActionPage {
    shell: super::render::Shell,
    id: String,
    name: String,
    body: String,
}

/// The person named by `key`, or the answer saying why not.
async fn person(state: &AppState, admin: &Console, key: &str) -> ConsoleResult<User> {
    Ok(state.directory().get_user(&admin.ctx, key).await?)
}

/// Refuses the form to an admin who could not confirm it (the domain refuses the change too).
fn writer(admin: &Console) -> ConsoleResult<()> {
    if admin.can_write() {
        Ok(())
    } else {
        Err(ulo_core::error::DomainError::Forbidden(
            "You do not have permission to perform the requested action: this needs the SUPER_ADMIN role".into(),
        )
        .into())
    }
}

impl Frame {
    fn new(admin: &Console, headers: &HeaderMap, user: &User, path: &str) -> Self {
        Frame {
            id: user.id.to_string(),
            name: full_name(user),
            action: format!("/admin/people/{}/{path}", user.id),
            csrf: admin.csrf.clone(),
            dialog: is_htmx(headers),
            error: None,
        }
    }
}

/// Answers an action's form: in the dialog (htmx) or as a page, with `status`.
fn show<T: Template>(
    admin: &Console,
    frame: &Frame,
    title: &str,
    status: StatusCode,
    body: &T,
) -> Response {
    let body = match body.render() {
        Ok(b) => b,
        Err(e) => {
            return ConsoleError::from(crate::error::ApiError::internal(format!("template: {e}")))
                .fragment();
        }
    };
    if frame.dialog {
        page_with(status, &Dialog { body })
    } else {
        page_with(
            status,
            &ActionPage {
                shell: admin.shell(title, Section::People),
                id: frame.id.clone(),
                name: frame.name.clone(),
                body,
            },
        )
    }
}

#[derive(Template)]
#[template(path = "console/person_refusal.html")]
struct RefusalBody<'a> {
    dialog: bool,
    error: &'a ConsoleError,
}

/// A refusal before any form could be shown (no such person, not allowed): in the dialog for
/// htmx, where the admin is looking, or as a page.
fn refuse(admin: &Console, headers: &HeaderMap, e: ConsoleError) -> Response {
    if !is_htmx(headers) {
        return e.page(admin.shell(e.title(), Section::People));
    }
    let body = RefusalBody {
        dialog: true,
        error: &e,
    };
    match body.render() {
        Ok(body) => page_with(e.status, &Dialog { body }),
        Err(_) => e.fragment(),
    }
}

/// Sends the browser to `path`: `HX-Redirect` for htmx, a 303 otherwise.
fn go(headers: &HeaderMap, path: &str) -> Response {
    if is_htmx(headers) {
        let mut resp = StatusCode::NO_CONTENT.into_response();
        if let Ok(v) = HeaderValue::from_str(path) {
            resp.headers_mut().insert("hx-redirect", v);
        }
        resp
    } else {
        see_other(path)
    }
}

fn receipt_url(l: &Logout) -> String {
    format!("/admin/logouts/{}", l.id)
}

// ---------------------------------------------------------------------------------------------
// Clear User Sessions

/// One place a clear reaches, or does not and why.
pub struct Reach {
    /// What.
    pub name: String,
    /// ulo, App · protocol, Device.
    pub kind: String,
    /// Why it is reached (or not), and how many.
    pub detail: String,
}

/// The dry run: what the clear will reach and what it cannot.
#[derive(Template)]
#[template(path = "console/person_clear_preview.html")]
pub struct Preview {
    /// With the box ticked.
    pub apps: bool,
    /// Will be reached.
    pub reached: Vec<Reach>,
    /// Will not be, with why.
    pub not_reached: Vec<Reach>,
}

#[derive(Template)]
#[template(path = "console/person_clear_sessions.html")]
struct ClearBody {
    f: Frame,
    apps: bool,
    preview: String,
}

/// The clear's choice (`apps=on`: the box is ticked).
#[derive(Debug, Default, Deserialize)]
pub struct ClearChoice {
    /// "Also include logout enabled apps and API tokens".
    pub apps: Option<String>,
}

impl ClearChoice {
    fn apps(&self) -> bool {
        self.apps.as_deref().is_some_and(|v| !v.is_empty())
    }
}

/// What *Clear and revoke* asks the domain for with the box ticked: a Universal Logout of
/// every logout-enabled app, ulo's sessions, OAuth and API tokens (the API's
/// `DELETE /api/v1/users/{id}/sessions?universalLogout=true&oauthTokens=true`).
fn universal_request() -> LogoutRequest {
    LogoutRequest::everything(reason::ADMIN).with_oauth_tokens(true)
}

/// The dry run of ulo's own part (the box not ticked): sessions, OAuth tokens, and the
/// back-channel apps the sessions signed in to (single logout).
fn ulo_only_request() -> ConsoleResult<LogoutRequest> {
    Ok(LogoutRequest::new(
        LogoutScope::UloOnly,
        &[],
        true,
        false,
        reason::ADMIN.into(),
    )?)
}

fn kind_of(t: &ulo_core::logout::LogoutTarget) -> String {
    match (t.target_type, t.protocol) {
        (TargetType::App, Some(p)) => format!("App · {}", protocol_name(p)),
        (TargetType::App, None) => "App".into(),
        (TargetType::Device, _) => "Device".into(),
        _ => "ulo".into(),
    }
}

fn reach_of(t: &ulo_core::logout::LogoutTarget) -> Reach {
    let plural = |n: i64, one: &str, many: &str| match n {
        0 => "none live now".to_string(),
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    };
    let detail = match (t.target_type, t.count) {
        (TargetType::UloSessions, Some(n)) => plural(n, "live session ends", "live sessions end"),
        (TargetType::OauthTokens, Some(n)) => {
            plural(n, "live token revoked", "live tokens revoked")
        }
        (TargetType::ApiTokens, Some(n)) => {
            let mut d = plural(n, "API token revoked", "API tokens revoked");
            if let Some(kept) = &t.last_error {
                d = format!("{d}; {kept}");
            }
            d
        }
        _ => t.reason.clone(),
    };
    Reach {
        name: t.display_name.clone(),
        kind: kind_of(t),
        detail,
    }
}

/// The dry run for `user`, with or without the box.
async fn preview(
    state: &AppState,
    admin: &Console,
    user: &User,
    apps: bool,
) -> ConsoleResult<Preview> {
    let id = user.id.to_string();
    let logouts = state.logouts();
    let everything = logouts
        .preview(&admin.ctx, &id, &universal_request())
        .await?;
    let mut reached = Vec::new();
    let mut not_reached = Vec::new();
    if apps {
        for t in &everything.targets {
            if t.status == TargetStatus::Skipped {
                not_reached.push(reach_of(t));
            } else {
                reached.push(reach_of(t));
            }
        }
    } else {
        let own = logouts
            .preview(&admin.ctx, &id, &ulo_only_request()?)
            .await?;
        let single = state.config.single_logout();
        let told: Vec<&str> = own.targets.iter().filter_map(|t| t.id.as_deref()).collect();
        for t in &own.targets {
            reached.push(reach_of(t));
        }
        let only_with_box =
            "only with “Also include logout enabled apps and API tokens”".to_string();
        for t in &everything.targets {
            match t.target_type {
                TargetType::ApiTokens => not_reached.push(Reach {
                    detail: only_with_box.clone(),
                    ..reach_of(t)
                }),
                TargetType::App if t.id.as_deref().is_some_and(|i| told.contains(&i)) => {}
                // ULO_SINGLE_LOGOUT_ALL_APPS: ending sessions tells every logout-enabled app.
                TargetType::App if single.all_apps && t.status != TargetStatus::Skipped => reached
                    .push(Reach {
                        detail: format!(
                            "{}; told the sessions ended (single logout to every app)",
                            t.reason
                        ),
                        ..reach_of(t)
                    }),
                TargetType::App if t.status != TargetStatus::Skipped => not_reached.push(Reach {
                    detail: only_with_box.clone(),
                    ..reach_of(t)
                }),
                TargetType::App => not_reached.push(reach_of(t)),
                _ => {}
            }
        }
    }
    // Computers are signed out by Device Logout, never by a clear.
    for (d, link) in state.devices().of_user(&admin.ctx, &id).await? {
        not_reached.push(Reach {
            name: d.hostname.clone(),
            kind: "Device".into(),
            detail: if d.status == DeviceStatus::Active {
                format!(
                    "signed in as {}; computers are signed out by More actions → Device Logout",
                    link.os_login
                )
            } else {
                "revoked".into()
            },
        });
    }
    Ok(Preview {
        apps,
        reached,
        not_reached,
    })
}

async fn clear_body(
    state: &AppState,
    admin: &Console,
    user: &User,
    f: Frame,
    apps: bool,
) -> ConsoleResult<ClearBody> {
    let preview = preview(state, admin, user, apps)
        .await?
        .render()
        .map_err(|e| crate::error::ApiError::internal(format!("template: {e}")))?;
    Ok(ClearBody { f, apps, preview })
}

const CLEAR_TITLE: &str = "Clear sessions and revoke access";

/// `GET …/clear-sessions`: the dialog (or page), with the dry run.
async fn clear_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(key): Path<String>,
    Query(choice): Query<ClearChoice>,
) -> Response {
    let built = async {
        writer(&admin)?;
        let user = person(&state, &admin, &key).await?;
        let f = Frame::new(&admin, &headers, &user, "clear-sessions");
        clear_body(&state, &admin, &user, f, choice.apps()).await
    }
    .await;
    match built {
        Ok(body) => show(&admin, &body.f, CLEAR_TITLE, StatusCode::OK, &body),
        Err(e) => refuse(&admin, &headers, e),
    }
}

/// `GET …/clear-sessions/preview`: the dry run alone, when the box is ticked or cleared.
async fn clear_preview(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(key): Path<String>,
    Query(choice): Query<ClearChoice>,
) -> Response {
    let built = async {
        let user = person(&state, &admin, &key).await?;
        preview(&state, &admin, &user, choice.apps()).await
    }
    .await;
    match built {
        Ok(p) => super::render::page(&p),
        Err(e) => e.answer(&headers, admin.shell(CLEAR_TITLE, Section::People)),
    }
}

/// `POST …/clear-sessions`: *Clear and revoke*.
async fn clear(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(key): Path<String>,
    Form(choice): Form<ClearChoice>,
) -> Response {
    let user = match person(&state, &admin, &key).await {
        Ok(u) => u,
        Err(e) => return refuse(&admin, &headers, e),
    };
    let id = user.id.to_string();
    let done = if choice.apps() {
        match state
            .logouts()
            .start(&admin.ctx, &id, &universal_request())
            .await
        {
            Ok(l) => {
                state.receipt_changed(l.id);
                Ok(receipt_url(&l))
            }
            Err(e) => Err(ConsoleError::from(e)),
        }
    } else {
        let opts = ClearOptions {
            oauth_tokens: true,
            reason: end_reason::ADMIN_CLEAR,
            single_logout: Some(state.config.single_logout()),
        };
        match clear_sessions(
            state.store.as_ref(),
            state.clock.as_ref(),
            &admin.ctx,
            &id,
            opts,
        )
        .await
        {
            Ok(report) => Ok(match report.single_logout {
                Some(l) => {
                    state.receipt_changed(l);
                    format!("/admin/logouts/{l}")
                }
                None => format!("/admin/people/{id}?done=cleared"),
            }),
            Err(e) => Err(ConsoleError::from(e)),
        }
    };
    match done {
        Ok(path) => go(&headers, &path),
        Err(e) => {
            let mut f = Frame::new(&admin, &headers, &user, "clear-sessions");
            f.error = Some(e.clone());
            // The dialog again with the refusal in it, and its dry run when that can be read (a
            // read-only admin gets the refusal alone).
            match clear_body(&state, &admin, &user, f, choice.apps()).await {
                Ok(body) => show(&admin, &body.f, CLEAR_TITLE, e.status, &body),
                Err(_) => refuse(&admin, &headers, e),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Device Logout → Log Out All Devices

/// A computer *Log Out All Devices* signs out, or cannot.
pub struct DeviceLine {
    /// Host name.
    pub hostname: String,
    /// Platform and OS version.
    pub platform: String,
    /// Their account on it.
    pub os_login: String,
    /// Last seen with them.
    pub last_seen: String,
    /// Whether a SIGN_OUT is sent.
    pub reached: bool,
}

#[derive(Template)]
#[template(path = "console/person_device_logout.html")]
struct DevicesBody {
    f: Frame,
    devices: Vec<DeviceLine>,
    /// Why it would be refused or reach nothing, read before confirming.
    blockers: Vec<String>,
    reason: String,
}

#[derive(Debug, Default, Deserialize)]
struct DevicesForm {
    #[serde(default)]
    reason: String,
}

const DEVICES_TITLE: &str = "Device Logout";

async fn devices_body(
    state: &AppState,
    admin: &Console,
    user: &User,
    f: Frame,
    reason: String,
) -> ConsoleResult<DevicesBody> {
    let id = user.id.to_string();
    let devices = state
        .devices()
        .of_user(&admin.ctx, &id)
        .await?
        .into_iter()
        .map(|(d, link)| DeviceLine {
            hostname: d.hostname.clone(),
            platform: format!("{} {}", d.platform, d.os_version)
                .trim()
                .to_string(),
            os_login: link.os_login.clone(),
            last_seen: when(link.last_seen),
            reached: d.status == DeviceStatus::Active,
        })
        .collect();
    let mut blockers = Vec::new();
    let feature_on = ulo_core::features::list(state.store.as_ref(), &admin.ctx)
        .await?
        .iter()
        .any(|f| f.id == ulo_core::device::FEATURE && f.status == "ENABLED");
    if !feature_on {
        blockers.push(
            "Device Logout is an early-access feature and it is off: turn it on in Settings → Features."
                .to_string(),
        );
    }
    let app = {
        let mut tx = state.store.read().await?;
        tx.get_desktop_mfa_app().await?
    };
    match app {
        None => blockers.push(
            "There is no Desktop MFA app: create one in Applications (type desktop-mfa) and turn its Logout on.".to_string(),
        ),
        Some(a) if !a.logout.enabled => blockers.push(format!(
            "Logout is off on the Desktop MFA app {:?}: turn it on in Applications.",
            a.label
        )),
        Some(_) => {}
    }
    Ok(DevicesBody {
        f,
        devices,
        blockers,
        reason,
    })
}

/// `GET …/device-logout`: the person's devices, and *Log Out All Devices*.
async fn devices_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(key): Path<String>,
) -> Response {
    let built = async {
        writer(&admin)?;
        let user = person(&state, &admin, &key).await?;
        let f = Frame::new(&admin, &headers, &user, "device-logout");
        devices_body(&state, &admin, &user, f, String::new()).await
    }
    .await;
    match built {
        Ok(body) => show(&admin, &body.f, DEVICES_TITLE, StatusCode::OK, &body),
        Err(e) => refuse(&admin, &headers, e),
    }
}

/// `POST …/device-logout`: *Log Out All Devices*.
async fn devices_logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(key): Path<String>,
    Form(form): Form<DevicesForm>,
) -> Response {
    let user = match person(&state, &admin, &key).await {
        Ok(u) => u,
        Err(e) => return refuse(&admin, &headers, e),
    };
    let why = form.reason.trim();
    let why = (!why.is_empty()).then(|| why.to_string());
    match state
        .devices()
        .logout_all(&admin.ctx, &user.id.to_string(), why)
        .await
    {
        Ok(l) => {
            state.receipt_changed(l.id);
            go(&headers, &receipt_url(&l))
        }
        Err(e) => {
            let e = ConsoleError::from(e);
            let mut f = Frame::new(&admin, &headers, &user, "device-logout");
            f.error = Some(e.clone());
            match devices_body(&state, &admin, &user, f, form.reason.clone()).await {
                Ok(body) => show(&admin, &body.f, DEVICES_TITLE, e.status, &body),
                Err(_) => refuse(&admin, &headers, e),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Elevate risk level, Reset risk

#[derive(Template)]
#[template(path = "console/person_risk.html")]
struct RiskBody {
    f: Frame,
    /// MEDIUM or HIGH, as chosen.
    level: String,
    level_error: Option<String>,
    reason: String,
    current: &'static str,
}

#[derive(Template)]
#[template(path = "console/person_risk_reset.html")]
struct ResetRiskBody {
    f: Frame,
    reason: String,
    current: &'static str,
    detections: usize,
}

#[derive(Debug, Default, Deserialize)]
struct RiskForm {
    #[serde(default)]
    level: String,
    #[serde(default)]
    reason: String,
}

const RISK_TITLE: &str = "Elevate risk level";
const RESET_RISK_TITLE: &str = "Reset risk";

async fn current_risk(
    state: &AppState,
    admin: &Console,
    user: &User,
) -> ConsoleResult<ulo_core::risk::EntityRisk> {
    Ok(state.risks().get(&admin.ctx, &user.id.to_string()).await?)
}

/// `GET …/risk`: choose MEDIUM or HIGH and say why.
async fn risk_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(key): Path<String>,
) -> Response {
    let built = async {
        writer(&admin)?;
        let user = person(&state, &admin, &key).await?;
        let risk = current_risk(&state, &admin, &user).await?;
        Ok::<_, ConsoleError>(RiskBody {
            f: Frame::new(&admin, &headers, &user, "risk"),
            level: "HIGH".into(),
            level_error: None,
            reason: String::new(),
            current: risk.level.map_or("NONE", |l| l.as_str()),
        })
    }
    .await;
    match built {
        Ok(body) => show(&admin, &body.f, RISK_TITLE, StatusCode::OK, &body),
        Err(e) => refuse(&admin, &headers, e),
    }
}

/// `POST …/risk`: reports the level, as `PUT /api/v1/users/{id}/risk` does.
async fn elevate(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(key): Path<String>,
    Form(form): Form<RiskForm>,
) -> Response {
    let user = match person(&state, &admin, &key).await {
        Ok(u) => u,
        Err(e) => return refuse(&admin, &headers, e),
    };
    let level = match form.level.as_str() {
        "MEDIUM" => Some(RiskLevel::Medium),
        "HIGH" => Some(RiskLevel::High),
        _ => None,
    };
    let why = form.reason.trim();
    let result = match level {
        Some(level) => state
            .risks()
            .set(
                &admin.ctx,
                &user.id.to_string(),
                level,
                (!why.is_empty()).then(|| why.to_string()),
            )
            .await
            .map_err(ConsoleError::from),
        None => Err(ConsoleError::new(
            StatusCode::BAD_REQUEST,
            "Choose the level to elevate to: MEDIUM or HIGH.",
        )),
    };
    match result {
        Ok(_) => go(&headers, &format!("/admin/people/{}?done=risk", user.id)),
        Err(e) => {
            let current = current_risk(&state, &admin, &user)
                .await
                .ok()
                .and_then(|r| r.level)
                .map_or("NONE", |l| l.as_str());
            let mut f = Frame::new(&admin, &headers, &user, "risk");
            let level_error = level.is_none().then(|| e.message.clone());
            if level.is_some() {
                f.error = Some(e.clone());
            }
            let body = RiskBody {
                f,
                level: form.level.clone(),
                level_error,
                reason: form.reason.clone(),
                current,
            };
            show(&admin, &body.f, RISK_TITLE, e.status, &body)
        }
    }
}

/// `GET …/risk/reset`: confirm ending the active detections.
async fn reset_risk_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(key): Path<String>,
) -> Response {
    let built = async {
        writer(&admin)?;
        let user = person(&state, &admin, &key).await?;
        let risk = current_risk(&state, &admin, &user).await?;
        Ok::<_, ConsoleError>(ResetRiskBody {
            f: Frame::new(&admin, &headers, &user, "risk/reset"),
            reason: String::new(),
            current: risk.level.map_or("NONE", |l| l.as_str()),
            detections: risk.detections.len(),
        })
    }
    .await;
    match built {
        Ok(body) => show(&admin, &body.f, RESET_RISK_TITLE, StatusCode::OK, &body),
        Err(e) => refuse(&admin, &headers, e),
    }
}

/// `POST …/risk/reset`: LOW, as `PUT /api/v1/users/{id}/risk` with LOW does.
async fn reset_risk(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(key): Path<String>,
    Form(form): Form<RiskForm>,
) -> Response {
    let user = match person(&state, &admin, &key).await {
        Ok(u) => u,
        Err(e) => return refuse(&admin, &headers, e),
    };
    let why = form.reason.trim();
    match state
        .risks()
        .set(
            &admin.ctx,
            &user.id.to_string(),
            RiskLevel::Low,
            (!why.is_empty()).then(|| why.to_string()),
        )
        .await
    {
        Ok(_) => go(
            &headers,
            &format!("/admin/people/{}?done=risk-reset", user.id),
        ),
        Err(e) => {
            let e = ConsoleError::from(e);
            let risk = current_risk(&state, &admin, &user).await.ok();
            let mut f = Frame::new(&admin, &headers, &user, "risk/reset");
            f.error = Some(e.clone());
            let body = ResetRiskBody {
                f,
                reason: form.reason.clone(),
                current: risk
                    .as_ref()
                    .and_then(|r| r.level)
                    .map_or("NONE", |l| l.as_str()),
                detections: risk.map_or(0, |r| r.detections.len()),
            };
            show(&admin, &body.f, RESET_RISK_TITLE, e.status, &body)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Suspend, unsuspend, activate, deactivate

#[derive(Template)]
#[template(path = "console/person_lifecycle.html")]
struct LifecycleBody {
    f: Frame,
    title: String,
    verb: &'static str,
    explain: &'static str,
    danger: bool,
    /// The status the admin saw; a change meanwhile is refused.
    seen: &'static str,
}

#[derive(Debug, Default, Deserialize)]
struct LifecycleForm {
    #[serde(default)]
    seen: String,
}

fn lifecycle_op(op: &str) -> ConsoleResult<(Lifecycle, &'static str, &'static str, bool)> {
    let op: Lifecycle = op.parse().map_err(|_| {
        ConsoleError::new(
            StatusCode::NOT_FOUND,
            format!("There is no lifecycle operation {op:?}: use suspend, unsuspend, activate or deactivate."),
        )
    })?;
    Ok(match op {
        Lifecycle::Suspend => (
            op,
            "Suspend",
            "They cannot sign in while suspended. Their ulo sessions and OAuth tokens end now and every logout-enabled app is asked to log them out (a Universal Logout with a receipt). Their API tokens stop working until they are unsuspended.",
            true,
        ),
        Lifecycle::Unsuspend => (
            op,
            "Unsuspend",
            "They can sign in again. Sessions and tokens ended by the suspension stay ended.",
            false,
        ),
        Lifecycle::Activate => (
            op,
            "Activate",
            "They can sign in (with a password once one is set) and their assigned apps are provisioned.",
            false,
        ),
        Lifecycle::Deactivate => (
            op,
            "Deactivate",
            "They can no longer sign in. Their ulo sessions, OAuth and API tokens end now and every logout-enabled app is asked to log them out (a Universal Logout with a receipt); apps that provision them deactivate them too.",
            true,
        ),
    })
}

/// `GET …/lifecycle/{op}`: confirm.
async fn lifecycle_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path((key, op)): Path<(String, String)>,
) -> Response {
    let built = async {
        let (op, verb, explain, danger) = lifecycle_op(&op)?;
        writer(&admin)?;
        let user = person(&state, &admin, &key).await?;
        let f = Frame::new(
            &admin,
            &headers,
            &user,
            &format!("lifecycle/{}", op.as_str()),
        );
        Ok::<_, ConsoleError>(LifecycleBody {
            title: format!("{verb} {}?", f.name),
            f,
            verb,
            explain,
            danger,
            seen: user.status.as_str(),
        })
    }
    .await;
    match built {
        Ok(body) => {
            let title = format!("{} {}", body.verb, body.f.name);
            show(&admin, &body.f, &title, StatusCode::OK, &body)
        }
        Err(e) => refuse(&admin, &headers, e),
    }
}

/// `POST …/lifecycle/{op}`: the API's `POST /api/v1/users/{id}/lifecycle/{op}`.
async fn lifecycle(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path((key, op)): Path<(String, String)>,
    Form(form): Form<LifecycleForm>,
) -> Response {
    let (op, verb, explain, danger) = match lifecycle_op(&op) {
        Ok(x) => x,
        Err(e) => return refuse(&admin, &headers, e),
    };
    let user = match person(&state, &admin, &key).await {
        Ok(u) => u,
        Err(e) => return refuse(&admin, &headers, e),
    };
    let result = if !form.seen.is_empty() && form.seen != user.status.as_str() {
        Err(ConsoleError::new(
            StatusCode::CONFLICT,
            format!(
                "{} was changed meanwhile: their status is now {}, not {}. Nothing was done — close this and reload the page.",
                full_name(&user),
                user.status.as_str(),
                form.seen
            ),
        ))
    } else {
        state
            .directory()
            .lifecycle(&admin.ctx, &user.id.to_string(), op)
            .await
            .map_err(ConsoleError::from)
    };
    match result {
        Ok(u) => go(
            &headers,
            &format!("/admin/people/{}?done={}", u.id, op.as_str()),
        ),
        Err(e) => {
            let mut f = Frame::new(
                &admin,
                &headers,
                &user,
                &format!("lifecycle/{}", op.as_str()),
            );
            f.error = Some(e.clone());
            let body = LifecycleBody {
                title: format!("{verb} {}?", f.name),
                f,
                verb,
                explain,
                danger,
                seen: user.status.as_str(),
            };
            let title = format!("{verb} {}", body.f.name);
            show(&admin, &body.f, &title, e.status, &body)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reset password

#[derive(Template)]
#[template(path = "console/person_reset_password.html")]
struct PasswordBody {
    f: Frame,
    password_error: Option<String>,
    confirm_error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

const PASSWORD_TITLE: &str = "Reset password";

/// `GET …/reset-password`: type the new password.
async fn password_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(key): Path<String>,
) -> Response {
    let built = async {
        writer(&admin)?;
        let user = person(&state, &admin, &key).await?;
        Ok::<_, ConsoleError>(PasswordBody {
            f: Frame::new(&admin, &headers, &user, "reset-password"),
            password_error: None,
            confirm_error: None,
        })
    }
    .await;
    match built {
        Ok(body) => show(&admin, &body.f, PASSWORD_TITLE, StatusCode::OK, &body),
        Err(e) => refuse(&admin, &headers, e),
    }
}

/// `POST …/reset-password`: the API's `POST /api/v1/users/{id}/credentials/reset_password`
/// (sets it and runs a Universal Logout); on to its receipt.
async fn reset_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(key): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Response {
    let user = match person(&state, &admin, &key).await {
        Ok(u) => u,
        Err(e) => return refuse(&admin, &headers, e),
    };
    let mut body = PasswordBody {
        f: Frame::new(&admin, &headers, &user, "reset-password"),
        password_error: None,
        confirm_error: None,
    };
    if let Err(e) = validate_password(&form.password) {
        let e = ConsoleError::from(e);
        body.password_error = Some(e.causes.first().cloned().unwrap_or(e.message.clone()));
        return show(&admin, &body.f, PASSWORD_TITLE, e.status, &body);
    }
    if form.confirm != form.password {
        body.confirm_error =
            Some("The two passwords differ: type the same password in both fields.".into());
        return show(
            &admin,
            &body.f,
            PASSWORD_TITLE,
            StatusCode::BAD_REQUEST,
            &body,
        );
    }
    let started = async {
        let hash = crate::password::hash(form.password.clone()).await?;
        Ok::<_, ConsoleError>(
            crate::credentials::sign_in(&state)
                .reset_password(&admin.ctx, &user.id.to_string(), &hash)
                .await?,
        )
    }
    .await;
    match started {
        Ok(l) => {
            state.receipt_changed(l.id);
            go(&headers, &receipt_url(&l))
        }
        Err(e) => {
            let status = e.status;
            body.f.error = Some(e);
            show(&admin, &body.f, PASSWORD_TITLE, status, &body)
        }
    }
}
