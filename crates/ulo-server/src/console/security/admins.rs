//! Security → Administrators: the people holding an admin role; grant SUPER_ADMIN or
//! READ_ONLY_ADMIN to a person, revoke a role (confirmed; the last active SUPER_ADMIN keeps it).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use ulo_core::user::{AdminRole, User};

use super::FormErrors;
use crate::console::people::{full_name, status_class};
use crate::console::policy::{ConfirmDialog, confirm};
use crate::console::render::{ConsoleError, Section, Shell, page_with, see_other, when_opt};
use crate::console::session::Console;
use crate::routes::page::query_value;
use crate::state::AppState;

const PATH: &str = "/admin/security/admins";

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/security/admins", get(list).post(grant))
        .route(
            "/security/admins/{user}/roles/{role}/revoke",
            get(confirm_revoke).post(revoke),
        )
}

/// A role in words.
fn role_name(r: AdminRole) -> &'static str {
    match r {
        AdminRole::SuperAdmin => "Super admin",
        AdminRole::ReadOnlyAdmin => "Read-only admin",
    }
}

/// One role an administrator holds.
pub struct HeldRole {
    role: &'static str,
    name: &'static str,
}

/// One administrator.
pub struct Row {
    id: String,
    name: String,
    login: String,
    status: &'static str,
    status_class: &'static str,
    roles: Vec<HeldRole>,
    last_login: String,
    me: bool,
}

impl Row {
    fn of(u: &User, roles: &[AdminRole], me: &User) -> Self {
        Row {
            id: u.id.to_string(),
            name: full_name(u),
            login: u.profile.login.clone(),
            status: u.status.as_str(),
            status_class: status_class(u.status.as_str()),
            roles: roles
                .iter()
                .map(|r| HeldRole {
                    role: r.as_str(),
                    name: role_name(*r),
                })
                .collect(),
            last_login: when_opt(u.last_login),
            me: u.id == me.id,
        }
    }
}

/// The grant form.
#[derive(Debug, Clone, Deserialize)]
pub struct GrantForm {
    #[serde(default)]
    person: String,
    #[serde(default = "read_only")]
    role: String,
}

fn read_only() -> String {
    AdminRole::ReadOnlyAdmin.as_str().into()
}

impl Default for GrantForm {
    fn default() -> Self {
        GrantForm {
            person: String::new(),
            role: read_only(),
        }
    }
}

#[derive(Template)]
#[template(path = "console/admins.html")]
struct AdminsPage {
    shell: Shell,
    rows: Vec<Row>,
    form: GrantForm,
    errors: FormErrors,
    error: Option<ConsoleError>,
}

#[derive(Debug, Default, Deserialize)]
struct Done {
    done: Option<String>,
    user: Option<String>,
    role: Option<String>,
}

async fn render(
    state: &AppState,
    admin: &Console,
    done: &Done,
    form: GrantForm,
    errors: FormErrors,
    error: Option<ConsoleError>,
) -> Response {
    let mut shell = admin.shell("Administrators", Section::Admins);
    let admins = match state.directory().administrators(&admin.ctx).await {
        Ok(a) => a,
        Err(e) => return ConsoleError::from(e).page(shell),
    };
    let role = done
        .role
        .as_deref()
        .and_then(|r| r.parse::<AdminRole>().ok())
        .map(role_name);
    // Named from the directory, never from the query (after a revoke they may hold no role).
    let who = match done.user.as_deref() {
        Some(id) => state
            .directory()
            .get_user(&admin.ctx, id)
            .await
            .ok()
            .map(|u| u.profile.login),
        None => None,
    };
    let notice = match (done.done.as_deref(), role, who) {
        (Some("granted"), Some(role), Some(who)) => Some(format!("{who} is now a {role}.")),
        (Some("revoked"), Some(role), Some(who)) => {
            Some(format!("{who} no longer holds the {role} role."))
        }
        _ => None,
    };
    if let Some(n) = notice {
        shell = shell.with_notice(n);
    }
    let status = match &error {
        Some(e) => e.status,
        None => errors.status(),
    };
    page_with(
        status,
        &AdminsPage {
            rows: admins
                .iter()
                .map(|(u, roles)| Row::of(u, roles, &admin.user))
                .collect(),
            shell,
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
        GrantForm::default(),
        FormErrors::default(),
        None,
    )
    .await
}

/// `POST /admin/security/admins`: grants a role to a person (by username or id).
async fn grant(
    State(state): State<AppState>,
    admin: Console,
    Form(form): Form<GrantForm>,
) -> Response {
    let person = form.person.trim().to_string();
    let mut errors = FormErrors::default();
    if person.is_empty() {
        errors.add("person", "Choose a person: type their username (or id).");
    }
    let role = form.role.parse::<AdminRole>();
    if role.is_err() {
        errors.add("role", "Choose Super admin or Read-only admin.");
    }
    if let (Ok(role), false) = (role, errors.any()) {
        let done = async {
            let user = state.directory().get_user(&admin.ctx, &person).await?;
            state
                .directory()
                .grant_role(&admin.ctx, &user.id.to_string(), role)
                .await?;
            Ok::<_, ulo_core::error::DomainError>(user)
        }
        .await;
        match done {
            Ok(user) => {
                return see_other(&format!(
                    "{PATH}?done=granted&user={}&role={}",
                    query_value(&user.id.to_string()),
                    role.as_str()
                ));
            }
            Err(e) => {
                let e = ConsoleError::from(e);
                if e.status == StatusCode::NOT_FOUND {
                    errors.add(
                        "person",
                        format!("No one has the username or id {person:?}. Pick a person from the suggestions."),
                    );
                    errors.set_status(StatusCode::NOT_FOUND);
                } else {
                    errors = FormErrors::from_error(&e, &[]);
                }
            }
        }
    }
    render(&state, &admin, &Done::default(), form, errors, None).await
}

async fn confirm_revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path((user, role)): Path<(String, String)>,
) -> Response {
    let shell = admin.shell("Revoke admin role", Section::Admins);
    let Ok(role) = role.parse::<AdminRole>() else {
        return ConsoleError::new(
            StatusCode::NOT_FOUND,
            format!("There is no admin role {role:?}."),
        )
        .answer(&headers, shell);
    };
    let u = match state.directory().get_user(&admin.ctx, &user).await {
        Ok(u) => u,
        Err(e) => return ConsoleError::from(e).answer(&headers, shell),
    };
    let yourself = if u.id == admin.user.id {
        " This is you: the console closes for you if it was your only role."
    } else {
        ""
    };
    confirm(
        &headers,
        shell,
        ConfirmDialog {
            title: "Revoke admin role".into(),
            message: format!(
                "Revoke {} from {} ({})? Their API tokens lose it too.{yourself}",
                role_name(role),
                full_name(&u),
                u.profile.login
            ),
            action: format!("{PATH}/{}/roles/{}/revoke", u.id, role.as_str()),
            button: "Revoke role".into(),
            back: PATH.into(),
            csrf: admin.csrf.clone(),
        },
    )
}

async fn revoke(
    State(state): State<AppState>,
    admin: Console,
    Path((user, role)): Path<(String, String)>,
) -> Response {
    let result = match role.parse::<AdminRole>() {
        Ok(r) => state
            .directory()
            .revoke_role(&admin.ctx, &user, r)
            .await
            .map_err(ConsoleError::from),
        Err(_) => Err(ConsoleError::new(
            StatusCode::NOT_FOUND,
            format!("There is no admin role {role:?}."),
        )),
    };
    match result {
        Ok(()) => see_other(&format!(
            "{PATH}?done=revoked&user={}&role={}",
            query_value(&user),
            query_value(&role)
        )),
        Err(e) => {
            render(
                &state,
                &admin,
                &Done::default(),
                GrantForm::default(),
                FormErrors::default(),
                Some(e),
            )
            .await
        }
    }
}
