//! Security → Security events providers: the security vendors whose signed risk signals (SETs)
//! ulo accepts; register one by issuer and JWKS URL or by its SSF configuration URL, activate,
//! deactivate, delete.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use ulo_core::security_events::{NewProvider, Provider, ProviderSettings, ProviderStatus};

use super::FormErrors;
use crate::console::policy::{ConfirmDialog, confirm};
use crate::console::render::{ConsoleError, Section, Shell, page_with, see_other, when};
use crate::console::session::Console;
use crate::routes::page::query_value;
use crate::state::AppState;

const PATH: &str = "/admin/security/providers";

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/security/providers", get(list).post(register))
        .route("/security/providers/{id}/activate", post(activate))
        .route("/security/providers/{id}/deactivate", post(deactivate))
        .route(
            "/security/providers/{id}/delete",
            get(confirm_delete).post(delete),
        )
}

/// The register form.
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderForm {
    #[serde(default)]
    name: String,
    /// `keys` (issuer and JWKS URL) or `wellknown` (SSF configuration URL).
    #[serde(default = "keys")]
    method: String,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    jwks_url: String,
    #[serde(default)]
    well_known_url: String,
}

fn keys() -> String {
    "keys".into()
}

impl Default for ProviderForm {
    fn default() -> Self {
        ProviderForm {
            name: String::new(),
            method: keys(),
            issuer: String::new(),
            jwks_url: String::new(),
            well_known_url: String::new(),
        }
    }
}

/// One provider in the list.
pub struct Row {
    id: String,
    name: String,
    issuer: String,
    jwks_url: String,
    well_known_url: String,
    active: bool,
    created: String,
}

impl Row {
    fn of(p: &Provider) -> Self {
        Row {
            id: p.id.clone(),
            name: p.name.clone(),
            issuer: p.issuer.clone(),
            jwks_url: p.jwks_url.clone(),
            well_known_url: p.well_known_url.clone().unwrap_or_default(),
            active: p.status == ProviderStatus::Active,
            created: when(p.created),
        }
    }
}

#[derive(Template)]
#[template(path = "console/providers.html")]
struct ProvidersPage {
    shell: Shell,
    rows: Vec<Row>,
    form: ProviderForm,
    errors: FormErrors,
    /// An action on the list that failed.
    error: Option<ConsoleError>,
}

#[derive(Debug, Default, Deserialize)]
struct Done {
    done: Option<String>,
    id: Option<String>,
}

async fn render(
    state: &AppState,
    admin: &Console,
    done: &Done,
    form: ProviderForm,
    errors: FormErrors,
    error: Option<ConsoleError>,
    status: StatusCode,
) -> Response {
    let mut shell = admin.shell("Security events providers", Section::Providers);
    let providers = match state.providers().list(&admin.ctx).await {
        Ok(p) => p,
        Err(e) => return ConsoleError::from(e).page(shell),
    };
    let named = |id: &Option<String>| {
        id.as_deref()
            .and_then(|id| providers.iter().find(|p| p.id == id))
            .map(|p| format!("\u{201c}{}\u{201d}", p.name))
    };
    let notice =
        match done.done.as_deref() {
            Some("registered") => named(&done.id)
                .map(|n| format!("Provider {n} registered; its signals are accepted.")),
            Some("activated") => named(&done.id)
                .map(|n| format!("Provider {n} activated; its signals are accepted.")),
            Some("deactivated") => named(&done.id).map(|n| {
                format!("Provider {n} deactivated; its signals are refused until it is activated.")
            }),
            Some("deleted") => Some("The provider was deleted; its signals are refused.".into()),
            _ => None,
        };
    if let Some(n) = notice {
        shell = shell.with_notice(n);
    }
    let status = error.as_ref().map_or(status, |e| e.status);
    page_with(
        status,
        &ProvidersPage {
            shell,
            rows: providers.iter().map(Row::of).collect(),
            form,
            errors,
            error,
        },
    )
}

async fn list(State(state): State<AppState>, admin: Console, Query(done): Query<Done>) -> Response {
    render(
        &state,
        &admin,
        &done,
        ProviderForm::default(),
        FormErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// Where each of the domain's field paths shows.
const FIELDS: &[(&str, &str)] = &[
    ("name", "name"),
    ("issuer", "settings.issuer"),
    ("jwks_url", "settings.jwks_url"),
    ("well_known_url", "settings.wellKnownUrl"),
    ("method", "settings"),
];

/// `POST /admin/security/providers`: registers a provider (by the chosen method only).
async fn register(
    State(state): State<AppState>,
    admin: Console,
    Form(form): Form<ProviderForm>,
) -> Response {
    let (settings, mut errors) = match form.method.as_str() {
        "keys" => (
            ProviderSettings {
                issuer: Some(form.issuer.trim().to_string()),
                jwks_url: Some(form.jwks_url.trim().to_string()),
                well_known_url: None,
            },
            FormErrors::default(),
        ),
        "wellknown" => (
            ProviderSettings {
                issuer: None,
                jwks_url: None,
                well_known_url: Some(form.well_known_url.trim().to_string()),
            },
            FormErrors::default(),
        ),
        _ => {
            let mut e = FormErrors::default();
            e.add(
                "method",
                "Choose issuer and JWKS URL, or SSF configuration URL.",
            );
            (ProviderSettings::default(), e)
        }
    };
    if !errors.any() {
        let new = NewProvider {
            name: form.name.trim().to_string(),
            provider_type: None,
            settings,
        };
        match state.providers().create(&admin.ctx, new).await {
            Ok(p) => {
                return see_other(&format!("{PATH}?done=registered&id={}", query_value(&p.id)));
            }
            Err(e) => errors = FormErrors::from_error(&e.into(), FIELDS),
        }
    }
    let status = errors.status();
    render(&state, &admin, &Done::default(), form, errors, None, status).await
}

async fn set_status(
    state: &AppState,
    admin: &Console,
    id: &str,
    status: ProviderStatus,
) -> Response {
    match state.providers().set_status(&admin.ctx, id, status).await {
        Ok(p) => {
            let done = match status {
                ProviderStatus::Active => "activated",
                ProviderStatus::Inactive => "deactivated",
            };
            see_other(&format!("{PATH}?done={done}&id={}", query_value(&p.id)))
        }
        Err(e) => {
            render(
                state,
                admin,
                &Done::default(),
                ProviderForm::default(),
                FormErrors::default(),
                Some(e.into()),
                StatusCode::OK,
            )
            .await
        }
    }
}

async fn activate(
    State(state): State<AppState>,
    admin: Console,
    Path(id): Path<String>,
) -> Response {
    set_status(&state, &admin, &id, ProviderStatus::Active).await
}

async fn deactivate(
    State(state): State<AppState>,
    admin: Console,
    Path(id): Path<String>,
) -> Response {
    set_status(&state, &admin, &id, ProviderStatus::Inactive).await
}

async fn confirm_delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(id): Path<String>,
) -> Response {
    let shell = admin.shell("Delete provider", Section::Providers);
    match state.providers().get(&admin.ctx, &id).await {
        Ok(p) => confirm(
            &headers,
            shell,
            ConfirmDialog {
                title: "Delete provider".into(),
                message: format!(
                    "Delete the security events provider \u{201c}{}\u{201d} ({})? Its signals are refused from then on; to pause it instead, deactivate it.",
                    p.name, p.issuer
                ),
                action: format!("{PATH}/{}/delete", p.id),
                button: "Delete provider".into(),
                back: PATH.into(),
                csrf: admin.csrf.clone(),
            },
        ),
        Err(e) => ConsoleError::from(e).answer(&headers, shell),
    }
}

async fn delete(State(state): State<AppState>, admin: Console, Path(id): Path<String>) -> Response {
    match state.providers().delete(&admin.ctx, &id).await {
        Ok(()) => {
            // As the API does: its keys are not trusted from the cache either.
            state.remote_jwks.forget(&id);
            see_other(&format!("{PATH}?done=deleted"))
        }
        Err(e) => {
            render(
                &state,
                &admin,
                &Done::default(),
                ProviderForm::default(),
                FormErrors::default(),
                Some(e.into()),
                StatusCode::OK,
            )
            .await
        }
    }
}
