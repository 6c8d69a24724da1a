//! An application's page: General, Authentication (sign-on settings and the Logout settings to
//! edit — for the desktop-mfa app, its *Logout* toggle), Assignments (people and groups, add and
//! remove) and Deliveries (its recent logout deliveries and their outcomes).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use time::Duration;
use ulo_core::app::{
    App, AppInput, AppStatus, AppType, LogoutInput, LogoutProtocol, OidcInput, ProvisioningInput,
    ScimInput, SubjectFormat,
};
use ulo_core::log::{EventQuery, LogEvent, SortOrder};
use ulo_core::store::Page;

use super::form::{APP_FIELDS, AUTH_METHODS, FieldErrors, PROTOCOLS};
use crate::console::render::{
    ConsoleError, ConsoleResult, Section, Shell, page_with, see_other, when,
};
use crate::console::session::Console;
use crate::routes::page::query_value;
use crate::state::AppState;

/// People per page of the Assignments tab.
const USERS_PAGE: u32 = 50;
/// Deliveries shown.
const DELIVERIES: u32 = 50;
/// How far back deliveries are looked for.
const DELIVERY_DAYS: i64 = 30;

/// The page's query: which tab, what just happened, where the people list continues.
#[derive(Debug, Default, Deserialize)]
pub struct View {
    /// `general`, `authentication`, `assignments` or `deliveries`.
    #[serde(default)]
    pub tab: String,
    /// What a change just did (a notice).
    pub done: Option<String>,
    /// Continue the assigned people after this id.
    pub after: Option<String>,
}

const TABS: &[(&str, &str)] = &[
    ("general", "General"),
    ("authentication", "Authentication"),
    ("assignments", "Assignments"),
    ("deliveries", "Deliveries"),
];

/// A tab of the page.
pub struct Tab {
    /// Its `tab=` value.
    pub key: &'static str,
    /// Its name.
    pub label: &'static str,
    /// Whether shown now.
    pub current: bool,
}

fn tab_key(tab: &str) -> &'static str {
    TABS.iter()
        .find(|(k, _)| *k == tab)
        .map_or("general", |(k, _)| k)
}

fn notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "created" => "Application created.",
        "logout" => "Logout settings saved.",
        "activated" => "Application activated.",
        "deactivated" => "Application deactivated: ulo no longer signs people in to it.",
        "assigned-user" => "Person assigned.",
        "removed-user" => "Person's assignment removed.",
        "assigned-group" => "Group assigned.",
        "removed-group" => "Group's assignment removed.",
        _ => return None,
    })
}

/// The app, as the page shows it.
pub struct AppView {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
    /// OIDC or Desktop MFA.
    pub kind: &'static str,
    /// Whether it is the desktop-mfa app.
    pub is_desktop: bool,
    /// ACTIVE / INACTIVE.
    pub status: &'static str,
    /// Badge class.
    pub status_class: &'static str,
    /// Whether ACTIVE.
    pub active: bool,
    /// Created.
    pub created: String,
    /// Last changed.
    pub last_updated: String,
    /// OIDC client id.
    pub client_id: String,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Token endpoint authentication, in words.
    pub auth_method: String,
    /// Grant types, comma-separated as the API names them.
    pub grant_types: String,
    /// Token lifetimes, in words.
    pub lifetimes: String,
    /// ID token signing algorithm.
    pub id_token_alg: &'static str,
    /// Whether back-channel logout tokens carry `sid`.
    pub backchannel_sid: bool,
    /// Logout on.
    pub logout_enabled: bool,
    /// Logout protocol in words.
    pub logout_how: &'static str,
    /// Logout endpoint.
    pub logout_endpoint: String,
    /// email / iss_sub.
    pub subject_format: &'static str,
    /// SCIM base URL.
    pub scim_base_url: String,
    /// Whether a SCIM credential is stored.
    pub scim_token_set: bool,
}

fn subject_format_key(f: SubjectFormat) -> &'static str {
    match f {
        SubjectFormat::Email => "email",
        SubjectFormat::IssSub => "iss_sub",
    }
}

/// What the edit form sends back: the app's `lastUpdated`, to the nanosecond.
fn version(app: &App) -> String {
    app.last_updated.unix_timestamp_nanos().to_string()
}

impl AppView {
    fn of(a: &App) -> Self {
        let o = a.oidc.as_ref();
        let method = o.map(|o| {
            let key = serde_json::to_value(o.token_endpoint_auth_method)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            AUTH_METHODS
                .iter()
                .find(|(k, _)| *k == key)
                .map_or(key, |(_, n)| (*n).to_string())
        });
        AppView {
            id: a.id.to_string(),
            label: a.label.clone(),
            kind: super::kind(a.app_type),
            is_desktop: a.app_type == AppType::DesktopMfa,
            status: a.status.as_str(),
            status_class: super::status_class(a),
            active: a.status == AppStatus::Active,
            created: when(a.created),
            last_updated: when(a.last_updated),
            client_id: o.map(|o| o.client_id.clone()).unwrap_or_default(),
            redirect_uris: o.map(|o| o.redirect_uris.clone()).unwrap_or_default(),
            post_logout_redirect_uris: o
                .map(|o| o.post_logout_redirect_uris.clone())
                .unwrap_or_default(),
            auth_method: method.unwrap_or_default(),
            grant_types: o
                .map(|o| {
                    o.grant_types
                        .iter()
                        .map(|g| g.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default(),
            lifetimes: o
                .map(|o| {
                    format!(
                        "access tokens {}, refresh tokens {}",
                        seconds(o.access_token_lifetime_seconds),
                        seconds(o.refresh_token_lifetime_seconds)
                    )
                })
                .unwrap_or_default(),
            id_token_alg: o.map_or("", |o| o.id_token_signed_response_alg.as_str()),
            backchannel_sid: o.is_some_and(|o| o.backchannel_logout_session_required),
            logout_enabled: a.logout.enabled,
            logout_how: super::logout_how(a),
            logout_endpoint: a.logout.endpoint.clone().unwrap_or_default(),
            subject_format: subject_format_key(a.logout.subject_format),
            scim_base_url: a
                .provisioning
                .as_ref()
                .map(|p| p.scim.base_url.clone())
                .unwrap_or_default(),
            scim_token_set: a.provisioning.as_ref().is_some_and(|p| p.scim.token_set),
        }
    }
}

/// "5 minutes", "30 days", "90 seconds".
fn seconds(s: u32) -> String {
    let plural = |n: u32, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    match s {
        s if s % 86_400 == 0 => plural(s / 86_400, "day"),
        s if s % 3600 == 0 => plural(s / 3600, "hour"),
        s if s % 60 == 0 => plural(s / 60, "minute"),
        s => plural(s, "second"),
    }
}

/// The Logout settings form (Authentication tab).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct LogoutForm {
    /// The app's version the form was made from.
    #[serde(default)]
    pub version: String,
    /// "on": Universal Logout reaches the app.
    pub logout_enabled: Option<String>,
    /// Protocol (OIDC apps).
    #[serde(default)]
    pub logout_protocol: String,
    /// Endpoint (OIDC apps).
    #[serde(default)]
    pub logout_endpoint: String,
    /// `email` or `iss_sub` (OIDC apps).
    #[serde(default)]
    pub subject_format: String,
}

impl LogoutForm {
    fn of(a: &App) -> Self {
        LogoutForm {
            version: version(a),
            logout_enabled: a.logout.enabled.then(|| "on".to_string()),
            logout_protocol: a
                .logout
                .protocol
                .map_or("global-token-revocation", |p| p.as_str())
                .to_string(),
            logout_endpoint: a.logout.endpoint.clone().unwrap_or_default(),
            subject_format: subject_format_key(a.logout.subject_format).to_string(),
        }
    }
}

/// A person assigned directly.
pub struct UserRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Login.
    pub login: String,
    /// Status.
    pub status: &'static str,
}

/// A group assigned.
pub struct GroupRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
}

/// One delivery of a logout to the app (or, for the desktop-mfa app, to a device).
pub struct DeliveryRow {
    /// When.
    pub published: String,
    /// The person logged out.
    pub person: String,
    /// Their id.
    pub person_id: String,
    /// The device (desktop-mfa app).
    pub device: String,
    /// The device's id.
    pub device_id: String,
    /// SUCCESS / FAILURE.
    pub result: String,
    /// The target's status on the receipt (SUCCEEDED, FAILED, PENDING…).
    pub status: String,
    /// Badge class.
    pub result_class: &'static str,
    /// The app's HTTP status, when it answered.
    pub http_status: String,
    /// The error, when it failed.
    pub error: String,
    /// The receipt.
    pub logout_id: String,
    /// The transaction.
    pub transaction: String,
}

impl DeliveryRow {
    fn of(e: &LogEvent) -> Self {
        let target = |ty: &str| e.target.iter().find(|t| t.target_type == ty);
        let debug = |k: &str| {
            e.debug_context
                .debug_data
                .get(k)
                .map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default()
        };
        let status = match debug("targetStatus") {
            s if s.is_empty() => debug("commandStatus"),
            s => s,
        };
        let result = e.outcome.result.clone();
        DeliveryRow {
            published: when(e.published),
            person: target("User")
                .map(|t| t.alternate_id.clone())
                .unwrap_or_default(),
            person_id: target("User").map(|t| t.id.clone()).unwrap_or_default(),
            device: target("Device")
                .map(|t| t.display_name.clone())
                .unwrap_or_default(),
            device_id: target("Device").map(|t| t.id.clone()).unwrap_or_default(),
            result_class: match (result.as_str(), status.as_str()) {
                (_, "PENDING") => "warn",
                ("SUCCESS", _) => "ok",
                _ => "bad",
            },
            result,
            status,
            http_status: debug("httpStatus"),
            error: e.outcome.reason.clone().unwrap_or_default(),
            logout_id: debug("logoutId"),
            transaction: e.transaction.id.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "console/app.html")]
struct AppPage {
    shell: Shell,
    app: AppView,
    tab: &'static str,
    tabs: Vec<Tab>,
    protocols: &'static [(&'static str, &'static str, &'static str)],
    /// An error of the page's actions (lifecycle), on top.
    error: Option<ConsoleError>,
    logout: LogoutForm,
    logout_errors: FieldErrors,
    stale: bool,
    users: Vec<UserRow>,
    users_next: Option<String>,
    groups: Vec<GroupRow>,
    group_names: Vec<String>,
    person: String,
    group: String,
    assign_errors: FieldErrors,
    deliveries: Vec<DeliveryRow>,
}

/// The page for `app` on `tab`, with its data.
async fn build(
    state: &AppState,
    admin: &Console,
    app: &App,
    tab: &'static str,
    after: Option<&str>,
) -> ConsoleResult<AppPage> {
    let mut p = AppPage {
        shell: admin.shell(&app.label, Section::Applications),
        app: AppView::of(app),
        tab,
        tabs: TABS
            .iter()
            .map(|&(key, label)| Tab {
                key,
                label,
                current: key == tab,
            })
            .collect(),
        protocols: PROTOCOLS,
        error: None,
        logout: LogoutForm::of(app),
        logout_errors: FieldErrors::none(),
        stale: false,
        users: Vec::new(),
        users_next: None,
        groups: Vec::new(),
        group_names: Vec::new(),
        person: String::new(),
        group: String::new(),
        assign_errors: FieldErrors::none(),
        deliveries: Vec::new(),
    };
    let id = app.id.to_string();
    match tab {
        "assignments" => {
            let dir = state.directory();
            let users = dir
                .list_app_users(
                    &admin.ctx,
                    &id,
                    &Page {
                        after: after.filter(|a| !a.is_empty()).map(str::to_string),
                        limit: USERS_PAGE,
                    },
                )
                .await?;
            if users.len() as u32 == USERS_PAGE
                && let Some(last) = users.last()
            {
                p.users_next = Some(format!(
                    "/admin/apps/{id}?tab=assignments&after={}",
                    query_value(&last.id.to_string())
                ));
            }
            p.users = users
                .iter()
                .map(|u| UserRow {
                    id: u.id.to_string(),
                    name: crate::console::people::full_name(u),
                    login: u.profile.login.clone(),
                    status: u.status.as_str(),
                })
                .collect();
            p.groups = dir
                .list_app_groups(&admin.ctx, &id)
                .await?
                .into_iter()
                .map(|g| GroupRow {
                    id: g.id.to_string(),
                    name: g.profile.name,
                    description: g.profile.description.unwrap_or_default(),
                })
                .collect();
            p.group_names = dir
                .list_groups(
                    &admin.ctx,
                    None,
                    &Page {
                        after: None,
                        limit: 200,
                    },
                )
                .await?
                .into_iter()
                .map(|g| g.profile.name)
                .collect();
        }
        "deliveries" => p.deliveries = deliveries(state, app).await?,
        _ => {}
    }
    Ok(p)
}

/// The app's recent deliveries, newest first: `app.universal_logout.delivery` events naming it,
/// or for the desktop-mfa app, the devices' answers (`device_logout.completed`).
async fn deliveries(state: &AppState, app: &App) -> ConsoleResult<Vec<DeliveryRow>> {
    let filter = match app.app_type {
        AppType::Oidc => format!(
            "eventType eq \"app.universal_logout.delivery\" and target.id eq \"{}\"",
            app.id
        ),
        AppType::DesktopMfa => {
            "eventType eq \"device.desktop_mfa.device_logout.completed\"".to_string()
        }
    };
    let filter = ulo_core::filter::parse(&filter)
        .map_err(|e| ConsoleError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let q = EventQuery {
        since: Some(state.clock.now() - Duration::days(DELIVERY_DAYS)),
        until: None,
        after: None,
        filter: Some(filter),
        keywords: Vec::new(),
        sort: SortOrder::Descending,
        limit: DELIVERIES,
    };
    let mut tx = state.store.read().await?;
    let events = tx.query_events(&q).await?;
    Ok(events.iter().map(DeliveryRow::of).collect())
}

/// `GET /admin/apps/{id}`.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(id): Path<String>,
    Query(view): Query<View>,
) -> Response {
    let shell = admin.shell("Application", Section::Applications);
    let result = async {
        let app = state.directory().get_app(&admin.ctx, &id).await?;
        build(
            &state,
            &admin,
            &app,
            tab_key(&view.tab),
            view.after.as_deref(),
        )
        .await
    }
    .await;
    match result {
        Ok(mut p) => {
            if let Some(n) = view.done.as_deref().and_then(notice) {
                p.shell = p.shell.with_notice(n);
            }
            page_with(StatusCode::OK, &p)
        }
        Err(e) => e.answer(&headers, shell),
    }
}

/// The API's input that keeps everything of `app` but its logout part.
fn with_logout(app: &App, logout: LogoutInput) -> AppInput {
    AppInput {
        label: app.label.clone(),
        app_type: app.app_type,
        oidc: app.oidc.as_ref().map(|o| OidcInput {
            redirect_uris: o.redirect_uris.clone(),
            post_logout_redirect_uris: o.post_logout_redirect_uris.clone(),
            token_endpoint_auth_method: Some(o.token_endpoint_auth_method),
            backchannel_logout_session_required: o.backchannel_logout_session_required,
            grant_types: Some(o.grant_types.clone()),
            access_token_lifetime_seconds: Some(o.access_token_lifetime_seconds),
            refresh_token_lifetime_seconds: Some(o.refresh_token_lifetime_seconds),
            id_token_signed_response_alg: Some(o.id_token_signed_response_alg),
            jwks: o.jwks.clone(),
        }),
        logout: Some(logout),
        // The stored SCIM credential is kept when the input names none.
        provisioning: app.provisioning.as_ref().map(|p| ProvisioningInput {
            scim: ScimInput {
                base_url: p.scim.base_url.clone(),
                token: None,
            },
        }),
    }
}

/// The logout part the form asks for, or what the console could not read.
fn logout_input(app: &App, form: &LogoutForm) -> Result<LogoutInput, FieldErrors> {
    let enabled = form.logout_enabled.is_some();
    if app.app_type == AppType::DesktopMfa {
        // The toggle alone: devices are reached through their agents, not an endpoint.
        return Ok(LogoutInput {
            enabled,
            protocol: None,
            endpoint: None,
            subject_format: Some(app.logout.subject_format),
        });
    }
    let mut errors = FieldErrors::titled(NOT_SAVED);
    let protocol = match form.logout_protocol.as_str() {
        "" => None,
        p => p.parse::<LogoutProtocol>().ok().or_else(|| {
            errors.add("logout_protocol", "Choose one of the protocols listed.");
            None
        }),
    };
    let subject_format = match form.subject_format.as_str() {
        "" | "email" => SubjectFormat::Email,
        "iss_sub" => SubjectFormat::IssSub,
        _ => {
            errors.add("subject_format", "Choose email or issuer and subject.");
            SubjectFormat::Email
        }
    };
    if errors.has_fields() {
        return Err(errors);
    }
    let endpoint = form.logout_endpoint.trim();
    Ok(LogoutInput {
        enabled,
        protocol,
        endpoint: (!endpoint.is_empty()).then(|| endpoint.to_string()),
        subject_format: Some(subject_format),
    })
}

const NOT_SAVED: &str = "The Logout settings were not saved.";

/// `POST /admin/apps/{id}/logout`: the Logout settings (`replaceApp`'s domain call, everything
/// else kept); refused with 409 when the app changed since the form was shown.
pub async fn save_logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(id): Path<String>,
    Form(form): Form<LogoutForm>,
) -> Response {
    let shell = admin.shell("Application", Section::Applications);
    let app = match state.directory().get_app(&admin.ctx, &id).await {
        Ok(a) => a,
        Err(e) => return ConsoleError::from(e).answer(&headers, shell),
    };
    let (status, errors, stale) = if form.version != version(&app) {
        (
            StatusCode::CONFLICT,
            FieldErrors::general(
                NOT_SAVED,
                "This application was changed meanwhile (by another admin or the API). Reload the page to see its settings now, then make your change again.",
            ),
            true,
        )
    } else {
        let done = match logout_input(&app, &form) {
            Err(errors) => Err((StatusCode::BAD_REQUEST, errors)),
            Ok(logout) => state
                .directory()
                .replace_app(&admin.ctx, &id, with_logout(&app, logout))
                .await
                .map_err(|e| {
                    let e = ConsoleError::from(e);
                    (e.status, FieldErrors::of(NOT_SAVED, &e, APP_FIELDS))
                }),
        };
        match done {
            Ok(_) => {
                return see_other(&format!(
                    "/admin/apps/{}?tab=authentication&done=logout",
                    app.id
                ));
            }
            Err((status, errors)) => (status, errors, false),
        }
    };
    match build(&state, &admin, &app, "authentication", None).await {
        Ok(mut p) => {
            if !stale {
                // Keep what was typed; a stale form shows the settings as they are now.
                p.logout = LogoutForm {
                    version: p.logout.version.clone(),
                    ..form
                };
            }
            p.logout_errors = errors;
            p.stale = stale;
            page_with(status, &p)
        }
        Err(e) => e.answer(&headers, shell),
    }
}

/// `POST /admin/apps/{id}/lifecycle/{activate|deactivate}`.
pub async fn lifecycle(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path((id, op)): Path<(String, String)>,
) -> Response {
    let shell = admin.shell("Application", Section::Applications);
    let (status, done) = match op.as_str() {
        "activate" => (AppStatus::Active, "activated"),
        "deactivate" => (AppStatus::Inactive, "deactivated"),
        _ => {
            return ConsoleError::new(
                StatusCode::NOT_FOUND,
                format!("Unknown lifecycle operation {op:?}: use activate or deactivate."),
            )
            .answer(&headers, shell);
        }
    };
    match state
        .directory()
        .set_app_status(&admin.ctx, &id, status)
        .await
    {
        Ok(app) => see_other(&format!("/admin/apps/{}?done={done}", app.id)),
        Err(e) => {
            let e = ConsoleError::from(e);
            // Show the app with the refusal on top when it exists.
            match state.directory().get_app(&admin.ctx, &id).await {
                Ok(app) => match build(&state, &admin, &app, "general", None).await {
                    Ok(mut p) => {
                        let status = e.status;
                        p.error = Some(e);
                        page_with(status, &p)
                    }
                    Err(e2) => e2.answer(&headers, shell),
                },
                Err(_) => e.answer(&headers, shell),
            }
        }
    }
}

/// The Assignments tab's add forms.
#[derive(Debug, Default, Deserialize)]
pub struct AssignForm {
    /// A person's username (login) or id.
    #[serde(default)]
    pub person: String,
    /// A group's name or id.
    #[serde(default)]
    pub group: String,
}

/// Shows the Assignments tab with `errors` beside the add forms, keeping what was typed.
async fn assign_failed(
    state: &AppState,
    headers: &HeaderMap,
    admin: &Console,
    id: &str,
    form: AssignForm,
    status: StatusCode,
    errors: FieldErrors,
) -> Response {
    let shell = admin.shell("Application", Section::Applications);
    let result = async {
        let app = state.directory().get_app(&admin.ctx, id).await?;
        build(state, admin, &app, "assignments", None).await
    }
    .await;
    match result {
        Ok(mut p) => {
            p.person = form.person;
            p.group = form.group;
            p.assign_errors = errors;
            page_with(status, &p)
        }
        Err(e) => e.answer(headers, shell),
    }
}

/// Where a refusal of an assignment change is shown: beside `field` when it is about what was
/// typed (not found), on top otherwise.
fn assign_errors(e: &ConsoleError, summary: &str, field: &str) -> FieldErrors {
    if e.status == StatusCode::NOT_FOUND || e.status == StatusCode::BAD_REQUEST {
        FieldErrors::single(summary, field, e.message.clone())
    } else {
        FieldErrors::general(summary, e.message.clone())
    }
}

/// `POST /admin/apps/{id}/users`: assigns a person (`assignAppUser`'s domain call).
pub async fn assign_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(id): Path<String>,
    Form(form): Form<AssignForm>,
) -> Response {
    const SUMMARY: &str = "The person was not assigned.";
    let person = form.person.trim().to_string();
    if person.is_empty() {
        let errors = FieldErrors::single(SUMMARY, "person", "Type the person's username.");
        return assign_failed(
            &state,
            &headers,
            &admin,
            &id,
            form,
            StatusCode::BAD_REQUEST,
            errors,
        )
        .await;
    }
    match state
        .directory()
        .assign_user(&admin.ctx, &id, &person)
        .await
    {
        Ok((app, _)) => see_other(&format!(
            "/admin/apps/{}?tab=assignments&done=assigned-user",
            app.id
        )),
        Err(e) => {
            let e = ConsoleError::from(e);
            let errors = assign_errors(&e, SUMMARY, "person");
            assign_failed(&state, &headers, &admin, &id, form, e.status, errors).await
        }
    }
}

/// `POST /admin/apps/{id}/users/{uid}/remove` (`unassignAppUser`'s domain call).
pub async fn unassign_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path((id, uid)): Path<(String, String)>,
) -> Response {
    match state.directory().unassign_user(&admin.ctx, &id, &uid).await {
        Ok(()) => see_other(&format!(
            "/admin/apps/{id}?tab=assignments&done=removed-user"
        )),
        Err(e) => {
            let e = ConsoleError::from(e);
            let errors = FieldErrors::general("The assignment was not removed.", e.message.clone());
            let status = e.status;
            assign_failed(
                &state,
                &headers,
                &admin,
                &id,
                AssignForm::default(),
                status,
                errors,
            )
            .await
        }
    }
}

/// The group `typed` names: its id, or its exact name (any case).
async fn find_group(state: &AppState, admin: &Console, typed: &str) -> ConsoleResult<String> {
    if typed.parse::<uuid::Uuid>().is_ok() {
        return Ok(typed.to_string());
    }
    let dir = state.directory();
    let page = Page {
        after: None,
        limit: 50,
    };
    let found = dir.list_groups(&admin.ctx, Some(typed), &page).await?;
    if let Some(g) = found
        .iter()
        .find(|g| g.profile.name.eq_ignore_ascii_case(typed))
    {
        return Ok(g.id.to_string());
    }
    // Not found: suggest names starting as it does.
    let start: String = typed.chars().take(3).collect();
    let similar = dir.list_groups(&admin.ctx, Some(&start), &page).await?;
    let names: Vec<&str> = similar
        .iter()
        .take(5)
        .map(|g| g.profile.name.as_str())
        .collect();
    let hint = if names.is_empty() {
        "Check the name on Directory → Groups.".to_string()
    } else {
        format!("Did you mean {}?", names.join(", "))
    };
    Err(ConsoleError::new(
        StatusCode::NOT_FOUND,
        format!("No group is named {typed:?}. {hint}"),
    ))
}

/// `POST /admin/apps/{id}/groups`: assigns a group (`assignAppGroup`'s domain call).
pub async fn assign_group(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(id): Path<String>,
    Form(form): Form<AssignForm>,
) -> Response {
    const SUMMARY: &str = "The group was not assigned.";
    let typed = form.group.trim().to_string();
    if typed.is_empty() {
        let errors = FieldErrors::single(SUMMARY, "group", "Type the group's name.");
        return assign_failed(
            &state,
            &headers,
            &admin,
            &id,
            form,
            StatusCode::BAD_REQUEST,
            errors,
        )
        .await;
    }
    let done = async {
        let gid = find_group(&state, &admin, &typed).await?;
        let (app, _) = state
            .directory()
            .assign_group(&admin.ctx, &id, &gid)
            .await?;
        ConsoleResult::Ok(app)
    }
    .await;
    match done {
        Ok(app) => see_other(&format!(
            "/admin/apps/{}?tab=assignments&done=assigned-group",
            app.id
        )),
        Err(e) => {
            let errors = assign_errors(&e, SUMMARY, "group");
            assign_failed(&state, &headers, &admin, &id, form, e.status, errors).await
        }
    }
}

/// `POST /admin/apps/{id}/groups/{gid}/remove` (`unassignAppGroup`'s domain call).
pub async fn unassign_group(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path((id, gid)): Path<(String, String)>,
) -> Response {
    match state
        .directory()
        .unassign_group(&admin.ctx, &id, &gid)
        .await
    {
        Ok(()) => see_other(&format!(
            "/admin/apps/{id}?tab=assignments&done=removed-group"
        )),
        Err(e) => {
            let e = ConsoleError::from(e);
            let errors = FieldErrors::general("The assignment was not removed.", e.message.clone());
            let status = e.status;
            assign_failed(
                &state,
                &headers,
                &admin,
                &id,
                AssignForm::default(),
                status,
                errors,
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_read_in_the_largest_whole_unit() {
        assert_eq!(seconds(300), "5 minutes");
        assert_eq!(seconds(2_592_000), "30 days");
        assert_eq!(seconds(3600), "1 hour");
        assert_eq!(seconds(90), "90 seconds");
    }

    #[test]
    fn unknown_tabs_show_general() {
        assert_eq!(tab_key("assignments"), "assignments");
        assert_eq!(tab_key("nope"), "general");
    }
}
