//! Settings → Features: the early-access flags (Device Logout) with on/off, through the same
//! domain calls as `POST /api/v1/features/{id}/enable|disable`.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use ulo_core::features::{self, Feature};

use super::render::{ConsoleError, ConsoleResult, Section, Shell, page_with, see_other};
use super::session::Console;
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/features", get(show))
        .route("/settings/features/{id}/{op}", post(set))
}

/// What a change just did.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    /// The feature changed.
    pub feature: Option<String>,
    /// `on` or `off`.
    pub now: Option<String>,
}

/// One feature as the page shows it.
pub struct Row {
    /// Id (the form's path).
    pub id: &'static str,
    /// Name.
    pub name: &'static str,
    /// What it does.
    pub description: &'static str,
    /// Whether on.
    pub on: bool,
}

#[derive(Template)]
#[template(path = "console/features.html")]
struct FeaturesPage {
    shell: Shell,
    rows: Vec<Row>,
    error: Option<ConsoleError>,
}

async fn rows(state: &AppState, admin: &Console) -> ConsoleResult<Vec<Row>> {
    let all: Vec<Feature> = features::list(state.store.as_ref(), &admin.ctx).await?;
    Ok(all
        .into_iter()
        .map(|f| Row {
            id: f.id,
            name: f.name,
            description: f.description,
            on: f.status == "ENABLED",
        })
        .collect())
}

fn shell(admin: &Console) -> Shell {
    admin.shell("Features", Section::Features)
}

/// `GET /admin/settings/features`.
async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Query(done): Query<Done>,
) -> Response {
    let mut shell = shell(&admin);
    match rows(&state, &admin).await {
        Ok(rows) => {
            let changed = done
                .feature
                .as_deref()
                .and_then(|id| rows.iter().find(|r| r.id == id));
            if let (Some(r), Some(now)) = (changed, done.now.as_deref()) {
                let word = if now == "on" { "on" } else { "off" };
                shell = shell.with_notice(format!("{} is {word}.", r.name));
            }
            page_with(
                StatusCode::OK,
                &FeaturesPage {
                    shell,
                    rows,
                    error: None,
                },
            )
        }
        Err(e) => e.answer(&headers, shell),
    }
}

/// `POST /admin/settings/features/{id}/enable|disable`.
async fn set(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path((id, op)): Path<(String, String)>,
) -> Response {
    let shell = shell(&admin);
    let on = match op.as_str() {
        "enable" => true,
        "disable" => false,
        _ => {
            return ConsoleError::new(
                StatusCode::NOT_FOUND,
                format!("Unknown operation {op:?}: a feature is turned on with enable, off with disable."),
            )
            .answer(&headers, shell);
        }
    };
    match features::set(
        state.store.as_ref(),
        state.clock.as_ref(),
        &admin.ctx,
        &id,
        on,
    )
    .await
    {
        Ok(f) => see_other(&format!(
            "/admin/settings/features?feature={}&now={}",
            f.id,
            if on { "on" } else { "off" }
        )),
        Err(e) => {
            let e = ConsoleError::from(e);
            // The page with the refusal on top, when it can be shown.
            match rows(&state, &admin).await {
                Ok(rows) if e.status != StatusCode::NOT_FOUND => page_with(
                    e.status,
                    &FeaturesPage {
                        shell,
                        rows,
                        error: Some(e),
                    },
                ),
                _ => e.answer(&headers, shell),
            }
        }
    }
}
