//! Security → API tokens (the signed-in admin's own, as the API lists them) and SCIM
//! credentials: create (the secret shown once), revoke (confirmed).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use ulo_core::auth::ApiToken;
use ulo_core::logout::upstream::MANAGE_SCOPE;
use ulo_core::scim::ScimCredential;

use super::{FormErrors, ShownOnce};
use crate::console::policy::{ConfirmDialog, Fields, confirm};
use crate::console::render::{ConsoleError, Section, Shell, page_with, see_other, when, when_opt};
use crate::console::session::Console;
use crate::state::AppState;

const TOKENS: &str = "/admin/security/api-tokens";
const SCIM: &str = "/admin/security/scim-credentials";

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/security/api-tokens", get(tokens).post(create_token))
        .route(
            "/security/api-tokens/{id}/revoke",
            get(confirm_revoke_token).post(revoke_token),
        )
        .route("/security/scim-credentials", get(scim).post(create_scim))
        .route(
            "/security/scim-credentials/{id}/revoke",
            get(confirm_revoke_scim).post(revoke_scim),
        )
}

/// One credential in a list.
pub struct Row {
    id: String,
    name: String,
    prefix: String,
    scopes: String,
    created: String,
    last_used: String,
    revoked: String,
}

impl Row {
    fn token(t: &ApiToken) -> Self {
        Row {
            id: t.id.to_string(),
            name: t.name.clone(),
            prefix: t.token_prefix.clone(),
            scopes: t.scopes.as_ref().map(|s| s.join(", ")).unwrap_or_default(),
            created: when(t.created),
            last_used: when_opt(t.last_used),
            revoked: t.revoked.map(when).unwrap_or_default(),
        }
    }

    fn scim(c: &ScimCredential) -> Self {
        Row {
            id: c.id.clone(),
            name: c.name.clone(),
            prefix: c.token_prefix.clone(),
            scopes: String::new(),
            created: when(c.created),
            last_used: String::new(),
            revoked: c.revoked.map(when).unwrap_or_default(),
        }
    }
}

/// What the create forms ask.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct NameForm {
    #[serde(default)]
    name: String,
    /// The token is limited to Universal Logout.
    #[serde(default)]
    logout_only: bool,
}

#[derive(Template)]
#[template(path = "console/tokens.html")]
struct TokensPage {
    shell: Shell,
    rows: Vec<Row>,
    form: NameForm,
    errors: FormErrors,
    error: Option<ConsoleError>,
    secret: Option<ShownOnce>,
    manage_scope: &'static str,
}

#[derive(Template)]
#[template(path = "console/scim_credentials.html")]
struct ScimPage {
    shell: Shell,
    rows: Vec<Row>,
    form: NameForm,
    errors: FormErrors,
    error: Option<ConsoleError>,
    secret: Option<ShownOnce>,
}

#[derive(Debug, Default, Deserialize)]
struct Done {
    done: Option<String>,
}

/// How a page is shown after a request.
#[derive(Default)]
struct View {
    notice: Option<String>,
    form: NameForm,
    errors: FormErrors,
    error: Option<ConsoleError>,
    secret: Option<ShownOnce>,
}

impl View {
    fn status(&self) -> axum::http::StatusCode {
        match &self.error {
            Some(e) => e.status,
            None => self.errors.status(),
        }
    }
}

async fn tokens_page(state: &AppState, admin: &Console, view: View) -> Response {
    let mut shell = admin.shell("API tokens", Section::ApiTokens);
    let mut rows = match state.directory().list_api_tokens(admin.user.id).await {
        Ok(ts) => ts,
        Err(e) => return ConsoleError::from(e).page(shell),
    };
    // Live ones first, newest first.
    rows.sort_by_key(|t| (t.revoked.is_some(), std::cmp::Reverse(t.created)));
    if let Some(n) = &view.notice {
        shell = shell.with_notice(n.clone());
    }
    let status = view.status();
    page_with(
        status,
        &TokensPage {
            shell,
            rows: rows.iter().map(Row::token).collect(),
            form: view.form,
            errors: view.errors,
            error: view.error,
            secret: view.secret,
            manage_scope: MANAGE_SCOPE,
        },
    )
}

async fn tokens(
    State(state): State<AppState>,
    admin: Console,
    Query(done): Query<Done>,
) -> Response {
    let view = View {
        notice: (done.done.as_deref() == Some("revoked"))
            .then(|| "The token was revoked: it is refused from now on.".to_string()),
        ..View::default()
    };
    tokens_page(&state, &admin, view).await
}

/// `POST /admin/security/api-tokens`: a new token for the signed-in admin (acting with their
/// roles, or limited to Universal Logout), shown once. Any admin may create their own, as with
/// the API.
async fn create_token(State(state): State<AppState>, admin: Console, body: Bytes) -> Response {
    let f = Fields::parse(&body);
    let form = NameForm {
        name: f.one("name"),
        logout_only: !f.one("logout_only").is_empty(),
    };
    let scopes = form.logout_only.then(|| vec![MANAGE_SCOPE.to_string()]);
    let mut view = View::default();
    match state
        .directory()
        .create_api_token(&admin.ctx, admin.user.id, &form.name, None, scopes)
        .await
    {
        Ok(created) => {
            view.notice = Some(format!(
                "API token \u{201c}{}\u{201d} created.",
                created.token.name
            ));
            view.secret = Some(ShownOnce {
                what: format!("Your new API token \u{201c}{}\u{201d}", created.token.name),
                value: created.secret,
                hint: "Use it as Authorization: SSWS <token>. Copy it now: it is not shown again."
                    .into(),
            });
        }
        Err(e) => {
            view.errors =
                FormErrors::from_error(&e.into(), &[("name", "name"), ("logout_only", "scopes")]);
            view.form = form;
        }
    }
    tokens_page(&state, &admin, view).await
}

async fn confirm_revoke_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(id): Path<String>,
) -> Response {
    let mut shell = admin.shell("Revoke API token", Section::ApiTokens);
    let token = match state.directory().list_api_tokens(admin.user.id).await {
        Ok(ts) => ts
            .into_iter()
            .find(|t| t.id.to_string() == id && t.revoked.is_none()),
        Err(e) => return ConsoleError::from(e).answer(&headers, shell),
    };
    let Some(t) = token else {
        return ConsoleError::from(ulo_core::error::DomainError::not_found("API token", &id))
            .answer(&headers, shell);
    };
    // Revoking one's own token needs no write role (as with the API).
    shell.can_write = true;
    confirm(
        &headers,
        shell,
        ConfirmDialog {
            title: "Revoke API token".into(),
            message: format!(
                "Revoke the API token \u{201c}{}\u{201d} ({}\u{2026})? Scripts using it are refused from now on.",
                t.name, t.token_prefix
            ),
            action: format!("{TOKENS}/{}/revoke", t.id),
            button: "Revoke token".into(),
            back: TOKENS.into(),
            csrf: admin.csrf.clone(),
        },
    )
}

async fn revoke_token(
    State(state): State<AppState>,
    admin: Console,
    Path(id): Path<String>,
) -> Response {
    match state.directory().revoke_api_token(&admin.ctx, &id).await {
        Ok(()) => see_other(&format!("{TOKENS}?done=revoked")),
        Err(e) => {
            let view = View {
                error: Some(e.into()),
                ..View::default()
            };
            tokens_page(&state, &admin, view).await
        }
    }
}

async fn scim_page(state: &AppState, admin: &Console, view: View) -> Response {
    let mut shell = admin.shell("SCIM credentials", Section::ScimCredentials);
    let mut rows = match state.directory().list_scim_credentials(&admin.ctx).await {
        Ok(cs) => cs,
        Err(e) => return ConsoleError::from(e).page(shell),
    };
    rows.sort_by_key(|c| (c.revoked.is_some(), std::cmp::Reverse(c.created)));
    if let Some(n) = &view.notice {
        shell = shell.with_notice(n.clone());
    }
    let status = view.status();
    page_with(
        status,
        &ScimPage {
            shell,
            rows: rows.iter().map(Row::scim).collect(),
            form: view.form,
            errors: view.errors,
            error: view.error,
            secret: view.secret,
        },
    )
}

async fn scim(State(state): State<AppState>, admin: Console, Query(done): Query<Done>) -> Response {
    let view = View {
        notice: (done.done.as_deref() == Some("revoked"))
            .then(|| "The SCIM credential was revoked: it is refused from now on.".to_string()),
        ..View::default()
    };
    scim_page(&state, &admin, view).await
}

/// `POST /admin/security/scim-credentials`: a new bearer credential for `/scim/v2`, shown once.
async fn create_scim(
    State(state): State<AppState>,
    admin: Console,
    Form(form): Form<NameForm>,
) -> Response {
    let mut view = View::default();
    match state
        .directory()
        .create_scim_credential(&admin.ctx, &form.name)
        .await
    {
        Ok(created) => {
            view.notice = Some(format!(
                "SCIM credential \u{201c}{}\u{201d} created.",
                created.credential.name
            ));
            view.secret = Some(ShownOnce {
                what: format!(
                    "Bearer token for \u{201c}{}\u{201d}",
                    created.credential.name
                ),
                value: created.secret,
                hint: "Give it to the HR system or IdP as its bearer token for /scim/v2. Copy it now: it is not shown again.".into(),
            });
        }
        Err(e) => {
            view.errors = FormErrors::from_error(&e.into(), &[("name", "name")]);
            view.form = form;
        }
    }
    scim_page(&state, &admin, view).await
}

async fn confirm_revoke_scim(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(id): Path<String>,
) -> Response {
    let shell = admin.shell("Revoke SCIM credential", Section::ScimCredentials);
    let found = match state.directory().list_scim_credentials(&admin.ctx).await {
        Ok(cs) => cs.into_iter().find(|c| c.id == id && c.revoked.is_none()),
        Err(e) => return ConsoleError::from(e).answer(&headers, shell),
    };
    let Some(c) = found else {
        return ConsoleError::from(ulo_core::error::DomainError::not_found(
            "SCIM credential",
            &id,
        ))
        .answer(&headers, shell);
    };
    confirm(
        &headers,
        shell,
        ConfirmDialog {
            title: "Revoke SCIM credential".into(),
            message: format!(
                "Revoke the SCIM credential \u{201c}{}\u{201d} ({}\u{2026})? The system using it can no longer provision people.",
                c.name, c.token_prefix
            ),
            action: format!("{SCIM}/{}/revoke", c.id),
            button: "Revoke credential".into(),
            back: SCIM.into(),
            csrf: admin.csrf.clone(),
        },
    )
}

async fn revoke_scim(
    State(state): State<AppState>,
    admin: Console,
    Path(id): Path<String>,
) -> Response {
    match state
        .directory()
        .revoke_scim_credential(&admin.ctx, &id)
        .await
    {
        Ok(()) => see_other(&format!("{SCIM}?done=revoked")),
        Err(e) => {
            let view = View {
                error: Some(e.into()),
                ..View::default()
            };
            scim_page(&state, &admin, view).await
        }
    }
}
