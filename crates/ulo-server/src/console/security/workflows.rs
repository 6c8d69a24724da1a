//! Security → Workflows: the signed webhooks a rule's "Run a workflow" calls. Register one by
//! name and https URL (its signing secret is shown once), delete one.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use ulo_core::workflow::{Workflow, WorkflowInput, WorkflowStatus};

use super::{FormErrors, ShownOnce};
use crate::console::policy::{ConfirmDialog, confirm, the_policy, workflows};
use crate::console::render::{ConsoleError, Section, Shell, page_with, see_other, when};
use crate::console::session::Console;
use crate::state::AppState;

const PATH: &str = "/admin/security/workflows";

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/security/workflows", get(list).post(create))
        .route(
            "/security/workflows/{id}/delete",
            get(confirm_delete).post(delete),
        )
}

/// The register form.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct WorkflowForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    url: String,
}

/// One workflow in the list.
pub struct Row {
    id: String,
    name: String,
    url: String,
    active: bool,
    created: String,
}

impl Row {
    fn of(w: &Workflow) -> Self {
        Row {
            id: w.id.to_string(),
            name: w.name.clone(),
            url: w.url.clone(),
            active: w.status == WorkflowStatus::Active,
            created: when(w.created),
        }
    }
}

#[derive(Template)]
#[template(path = "console/workflows.html")]
struct WorkflowsPage {
    shell: Shell,
    rows: Vec<Row>,
    form: WorkflowForm,
    errors: FormErrors,
    error: Option<ConsoleError>,
    secret: Option<ShownOnce>,
}

#[derive(Debug, Default, Deserialize)]
struct Done {
    done: Option<String>,
}

struct View {
    notice: Option<String>,
    form: WorkflowForm,
    errors: FormErrors,
    error: Option<ConsoleError>,
    secret: Option<ShownOnce>,
}

impl View {
    fn plain() -> Self {
        View {
            notice: None,
            form: WorkflowForm::default(),
            errors: FormErrors::default(),
            error: None,
            secret: None,
        }
    }
}

async fn render(state: &AppState, admin: &Console, view: View) -> Response {
    let mut shell = admin.shell("Workflows", Section::Workflows);
    let workflows = match workflows(state, admin).await {
        Ok(w) => w,
        Err(e) => return e.page(shell),
    };
    if let Some(n) = view.notice {
        shell = shell.with_notice(n);
    }
    let status = match &view.error {
        Some(e) => e.status,
        None => view.errors.status(),
    };
    page_with(
        status,
        &WorkflowsPage {
            shell,
            rows: workflows.iter().map(Row::of).collect(),
            form: view.form,
            errors: view.errors,
            error: view.error,
            secret: view.secret,
        },
    )
}

async fn list(State(state): State<AppState>, admin: Console, Query(done): Query<Done>) -> Response {
    let mut view = View::plain();
    if done.done.as_deref() == Some("deleted") {
        view.notice = Some("The workflow was deleted.".into());
    }
    render(&state, &admin, view).await
}

/// `POST /admin/security/workflows`: registers a workflow and shows its secret, once (the
/// answer is a page, not a redirect, so the secret never sits in a URL).
async fn create(
    State(state): State<AppState>,
    admin: Console,
    Form(form): Form<WorkflowForm>,
) -> Response {
    let input = WorkflowInput {
        name: Some(form.name.clone()),
        url: Some(form.url.trim().to_string()),
    };
    let mut view = View::plain();
    match state.workflows().create(&admin.ctx, &input).await {
        Ok(created) => {
            view.notice = Some(format!(
                "Workflow \u{201c}{}\u{201d} registered.",
                created.workflow.name
            ));
            view.secret = Some(ShownOnce {
                what: format!(
                    "Signing secret for \u{201c}{}\u{201d}",
                    created.workflow.name
                ),
                value: created.secret,
                hint: "ulo signs every call to this workflow with it. Store it in the receiver now: it is not shown again.".into(),
            });
        }
        Err(e) => {
            view.errors = FormErrors::from_error(&e.into(), &[("name", "name"), ("url", "url")]);
            view.form = form;
        }
    }
    render(&state, &admin, view).await
}

async fn confirm_delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(id): Path<String>,
) -> Response {
    let shell = admin.shell("Delete workflow", Section::Workflows);
    let found = async {
        let w = state.workflows().get(&admin.ctx, &id).await?;
        let users: Vec<String> = the_policy(&state, &admin)
            .await?
            .rules
            .iter()
            .filter(|r| {
                r.actions.entity_risk.actions.iter().any(|a| {
                    a.workflow
                        .as_ref()
                        .is_some_and(|x| x.id == w.id.to_string())
                })
            })
            .map(|r| format!("\u{201c}{}\u{201d}", r.name))
            .collect();
        Ok::<_, ConsoleError>((w, users))
    }
    .await;
    match found {
        Ok((w, users)) => confirm(
            &headers,
            shell,
            ConfirmDialog {
                title: "Delete workflow".into(),
                message: format!(
                    "Delete the workflow \u{201c}{}\u{201d} ({})? Calls still queued stop.{}",
                    w.name,
                    w.url,
                    if users.is_empty() {
                        " No rule runs it.".to_string()
                    } else {
                        format!(
                            " These rules run it and will no longer be able to: {}. Change them first.",
                            users.join(", ")
                        )
                    }
                ),
                action: format!("{PATH}/{}/delete", w.id),
                button: "Delete workflow".into(),
                back: PATH.into(),
                csrf: admin.csrf.clone(),
            },
        ),
        Err(e) => e.answer(&headers, shell),
    }
}

async fn delete(State(state): State<AppState>, admin: Console, Path(id): Path<String>) -> Response {
    match state.workflows().delete(&admin.ctx, &id).await {
        Ok(()) => see_other(&format!("{PATH}?done=deleted")),
        Err(e) => {
            let mut view = View::plain();
            view.error = Some(e.into());
            render(&state, &admin, view).await
        }
    }
}
