//! Directory → People: search by name, login or email, filter by status, page through any number
//! of people (keyset paging on id, as the API does), and Add Person.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use ulo_core::directory::CreateUser;
use ulo_core::store::{Page, UserQuery};
use ulo_core::user::{ProvisionedBy, User, UserProfile, UserStatus, validate_password};

use super::render::{ConsoleError, ConsoleResult, Section, Shell, is_htmx, page, page_with};
use super::session::Console;
use crate::routes::page::query_value;
use crate::routes::paging::next_after;
use crate::state::AppState;

/// People per page.
pub const PAGE_SIZE: u32 = 50;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/people", get(list))
        .route("/people/new", get(new_person).post(create))
}

/// The list's search.
#[derive(Debug, Default, Deserialize)]
pub struct Search {
    /// Prefix of name, login or email.
    #[serde(default)]
    pub q: String,
    /// One status, or empty for all.
    #[serde(default)]
    pub status: String,
    /// One entity risk level, or empty for all.
    #[serde(default)]
    pub risk: String,
    /// Continue after this id.
    pub after: Option<String>,
}

/// One row of the table.
pub struct Row {
    /// Id (the link).
    pub id: String,
    /// First and last name.
    pub name: String,
    /// Login.
    pub login: String,
    /// Email.
    pub email: String,
    /// Status.
    pub status: &'static str,
    /// The status badge's class.
    pub status_class: &'static str,
    /// Entity risk level.
    pub risk: &'static str,
    /// Last sign-in.
    pub last_login: String,
}

impl Row {
    fn of(u: &User) -> Self {
        Row {
            id: u.id.to_string(),
            name: full_name(u),
            login: u.profile.login.clone(),
            email: u.profile.email.clone(),
            status: u.status.as_str(),
            status_class: status_class(u.status.as_str()),
            risk: u.risk_level.as_str(),
            last_login: super::render::when_opt(u.last_login),
        }
    }
}

/// "First Last", or the login when the person has no name.
pub fn full_name(u: &User) -> String {
    let n = format!("{} {}", u.profile.first_name, u.profile.last_name);
    let n = n.trim();
    if n.is_empty() {
        u.profile.login.clone()
    } else {
        n.to_string()
    }
}

#[derive(Template)]
#[template(path = "console/people.html")]
struct PeoplePage {
    shell: Shell,
    search: Search,
    statuses: &'static [&'static str],
    risk_levels: &'static [&'static str],
    rows: Vec<Row>,
    next: Option<String>,
    first_page: String,
}

#[derive(Template)]
#[template(path = "console/people_rows.html")]
struct PeopleRows {
    rows: Vec<Row>,
    next: Option<String>,
}

const STATUSES: &[&str] = &["ACTIVE", "STAGED", "SUSPENDED", "DEPROVISIONED"];
const RISK_LEVELS: &[&str] = &["LOW", "MEDIUM", "HIGH"];

/// The list's URL for `search`, continuing after `after`.
fn list_url(search: &Search, after: Option<&str>) -> String {
    let mut url = format!(
        "/admin/people?q={}&status={}&risk={}",
        query_value(&search.q),
        query_value(&search.status),
        query_value(&search.risk)
    );
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
    let shell = admin.shell("People", Section::People);
    match rows(&state, &admin, &search).await {
        Ok((rows, next_after)) => {
            let next = next_after.map(|a| list_url(&search, Some(&a)));
            // A "More" click (htmx) appends the next rows to the table.
            if is_htmx(&headers) && search.after.is_some() {
                return page(&PeopleRows { rows, next });
            }
            let first_page = list_url(&search, None);
            page(&PeoplePage {
                shell,
                search,
                statuses: STATUSES,
                risk_levels: RISK_LEVELS,
                rows,
                next,
                first_page,
            })
        }
        Err(e) => e.answer(&headers, shell),
    }
}

/// One page of people matching `search`, and the id to continue after when it was full.
async fn rows(
    state: &AppState,
    admin: &Console,
    search: &Search,
) -> ConsoleResult<(Vec<Row>, Option<String>)> {
    let mut clauses = Vec::new();
    match search.status.as_str() {
        "" => {}
        s if STATUSES.contains(&s) => clauses.push(format!("status eq \"{s}\"")),
        other => {
            return Err(ConsoleError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "Unknown status {other:?}: choose one of {}, or All.",
                    STATUSES.join(", ")
                ),
            ));
        }
    }
    match search.risk.as_str() {
        "" => {}
        r if RISK_LEVELS.contains(&r) => clauses.push(format!("riskLevel eq \"{r}\"")),
        other => {
            return Err(ConsoleError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "Unknown entity risk level {other:?}: choose one of {}, or Any.",
                    RISK_LEVELS.join(", ")
                ),
            ));
        }
    }
    let filter = if clauses.is_empty() {
        None
    } else {
        Some(
            ulo_core::filter::parse(&clauses.join(" and "))
                .map_err(|e| ConsoleError::new(StatusCode::BAD_REQUEST, e.to_string()))?,
        )
    };
    let q = search.q.trim();
    let wanted = Page {
        after: search.after.clone().filter(|a| !a.is_empty()),
        limit: PAGE_SIZE,
    };
    let users = state
        .directory()
        .list_users(
            &admin.ctx,
            &UserQuery {
                q: (!q.is_empty()).then(|| q.to_string()),
                filter,
                page: wanted.clone(),
                risk_at: Some(state.clock.now()),
            },
        )
        .await?;
    let next = next_after(&wanted, &users, |u| u.id.to_string());
    Ok((users.iter().map(Row::of).collect(), next))
}

/// The Add Person form.
#[derive(Debug, Default, Deserialize)]
pub struct NewPerson {
    /// First name.
    #[serde(default)]
    pub first_name: String,
    /// Last name.
    #[serde(default)]
    pub last_name: String,
    /// Username (an email address).
    #[serde(default)]
    pub login: String,
    /// Primary email; the username when empty.
    #[serde(default)]
    pub email: String,
    /// An initial password, optional.
    #[serde(default)]
    pub password: String,
    /// "on" to activate now (else the person is STAGED).
    pub activate: Option<String>,
}

#[derive(Template)]
#[template(path = "console/person_new.html")]
struct NewPersonPage {
    shell: Shell,
    form: NewPerson,
    errors: Vec<String>,
}

async fn new_person(admin: Console) -> Response {
    page(&NewPersonPage {
        shell: admin.shell("Add Person", Section::People),
        form: NewPerson {
            activate: Some("on".into()),
            ..NewPerson::default()
        },
        errors: Vec::new(),
    })
}

async fn create(
    State(state): State<AppState>,
    admin: Console,
    Form(form): Form<NewPerson>,
) -> Response {
    let shell = admin.shell("Add Person", Section::People);
    match add(&state, &admin, &form).await {
        Ok(user) => super::render::see_other(&format!("/admin/people/{}", user.id)),
        Err(e) => {
            let mut errors = vec![e.message.clone()];
            errors.extend(e.causes.iter().cloned());
            page_with(
                e.status,
                &NewPersonPage {
                    shell,
                    form,
                    errors,
                },
            )
        }
    }
}

async fn add(state: &AppState, admin: &Console, form: &NewPerson) -> ConsoleResult<User> {
    if !admin.can_write() {
        return Err(ulo_core::error::DomainError::Forbidden(
            "You do not have permission to perform the requested action: this needs the SUPER_ADMIN role".into(),
        )
        .into());
    }
    let login = form.login.trim().to_string();
    let email = if form.email.trim().is_empty() {
        login.clone()
    } else {
        form.email.trim().to_string()
    };
    let password_hash = if form.password.is_empty() {
        None
    } else {
        validate_password(&form.password)?;
        Some(crate::password::hash(form.password.clone()).await?)
    };
    let user = state
        .directory()
        .create_user(
            &admin.ctx,
            CreateUser {
                profile: UserProfile {
                    login,
                    email,
                    first_name: form.first_name.trim().to_string(),
                    last_name: form.last_name.trim().to_string(),
                    ..UserProfile::default()
                },
                password_hash,
                activate: form.activate.is_some(),
                provisioned_by: ProvisionedBy::Console,
                group_ids: Vec::new(),
            },
        )
        .await?;
    Ok(user)
}

/// The status badge's class for a status name.
pub fn status_class(status: &str) -> &'static str {
    match status {
        s if s == UserStatus::Active.as_str() => "ok",
        s if s == UserStatus::Suspended.as_str() => "warn",
        s if s == UserStatus::Deprovisioned.as_str() => "bad",
        _ => "muted",
    }
}
