//! Directory → Groups: the list (search by name, keyset paging), a group with its members, adding
//! and removing a member, and creating a group — the same directory calls as `/api/v1/groups`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use ulo_core::group::{Group, GroupProfile};
use ulo_core::store::Page;

use super::people::{full_name, status_class};
use super::render::{
    ConsoleError, ConsoleResult, Section, Shell, is_htmx, page, page_with, see_other, when,
};
use super::session::Console;
use crate::routes::page::query_value;
use crate::routes::paging::next_after;
use crate::state::AppState;

/// Groups per page.
pub const PAGE_SIZE: u32 = 50;
/// Members per page.
pub const MEMBERS_PAGE: u32 = 100;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/groups", get(list))
        .route("/groups/new", get(new_group).post(create))
        .route("/groups/{id}", get(show))
        .route("/groups/{id}/members", post(add_member))
        .route("/groups/{id}/members/{uid}/remove", post(remove_member))
}

/// A group in the list.
pub struct GroupRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Created.
    pub created: String,
    /// Membership last changed.
    pub membership_changed: String,
}

impl GroupRow {
    fn of(g: &Group) -> Self {
        GroupRow {
            id: g.id.to_string(),
            name: g.profile.name.clone(),
            description: g.profile.description.clone().unwrap_or_default(),
            created: when(g.created),
            membership_changed: when(g.last_membership_updated),
        }
    }
}

/// The list's search.
#[derive(Debug, Default, Deserialize)]
pub struct Search {
    /// Start of the name.
    #[serde(default)]
    pub q: String,
    /// Continue after this id.
    pub after: Option<String>,
}

fn list_url(search: &Search, after: Option<&str>) -> String {
    let mut url = format!("/admin/groups?q={}", query_value(&search.q));
    if let Some(a) = after {
        url.push_str("&after=");
        url.push_str(&query_value(a));
    }
    url
}

#[derive(Template)]
#[template(path = "console/groups.html")]
struct GroupsPage {
    shell: Shell,
    search: Search,
    rows: Vec<GroupRow>,
    next: Option<String>,
    first_page: String,
}

#[derive(Template)]
#[template(path = "console/groups_rows.html")]
struct GroupsRows {
    rows: Vec<GroupRow>,
    next: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Query(search): Query<Search>,
) -> Response {
    let shell = admin.shell("Groups", Section::Groups);
    let q = search.q.trim();
    let wanted = Page {
        after: search.after.clone().filter(|a| !a.is_empty()),
        limit: PAGE_SIZE,
    };
    let found = state
        .directory()
        .list_groups(&admin.ctx, (!q.is_empty()).then_some(q), &wanted)
        .await;
    let groups = match found {
        Ok(g) => g,
        Err(e) => return ConsoleError::from(e).answer(&headers, shell),
    };
    let next =
        next_after(&wanted, &groups, |g| g.id.to_string()).map(|id| list_url(&search, Some(&id)));
    let rows = groups.iter().map(GroupRow::of).collect();
    if is_htmx(&headers) && search.after.is_some() {
        return page(&GroupsRows { rows, next });
    }
    page(&GroupsPage {
        shell,
        first_page: list_url(&search, None),
        search,
        rows,
        next,
    })
}

/// The Add Group form.
#[derive(Debug, Default, Deserialize)]
pub struct NewGroup {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
}

#[derive(Template)]
#[template(path = "console/group_new.html")]
struct NewGroupPage {
    shell: Shell,
    form: NewGroup,
    error: Option<ConsoleError>,
}

async fn new_group(headers: HeaderMap, admin: Console) -> Response {
    let shell = admin.shell("Add Group", Section::Groups);
    if !admin.can_write() {
        return forbidden().answer(&headers, shell);
    }
    page(&NewGroupPage {
        shell,
        form: NewGroup::default(),
        error: None,
    })
}

fn forbidden() -> ConsoleError {
    ulo_core::error::DomainError::Forbidden(
        "You do not have permission to perform the requested action: this needs the SUPER_ADMIN role".into(),
    )
    .into()
}

async fn create(
    State(state): State<AppState>,
    admin: Console,
    Form(form): Form<NewGroup>,
) -> Response {
    let description = form.description.trim();
    let made = state
        .directory()
        .create_group(
            &admin.ctx,
            GroupProfile {
                name: form.name.clone(),
                description: (!description.is_empty()).then(|| description.to_string()),
            },
        )
        .await;
    match made {
        Ok(g) => see_other(&format!("/admin/groups/{}?done=created", g.id)),
        Err(e) => {
            let e = ConsoleError::from(e);
            page_with(
                e.status,
                &NewGroupPage {
                    shell: admin.shell("Add Group", Section::Groups),
                    form,
                    error: Some(e),
                },
            )
        }
    }
}

/// A member, as listed.
pub struct MemberRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Login.
    pub login: String,
    /// Status.
    pub status: &'static str,
    /// Badge class.
    pub status_class: &'static str,
}

/// The group page's query: paging and the notice after a change.
#[derive(Debug, Default, Deserialize)]
pub struct GroupQuery {
    /// Members after this id.
    pub after: Option<String>,
    /// What just happened.
    #[serde(default)]
    pub done: String,
}

#[derive(Template)]
#[template(path = "console/group.html")]
struct GroupPage {
    shell: Shell,
    id: String,
    name: String,
    description: String,
    created: String,
    updated: String,
    membership_changed: String,
    members: Vec<MemberRow>,
    next: Option<String>,
    later_page: bool,
    person: String,
    person_error: Option<ConsoleError>,
    members_error: Option<ConsoleError>,
}

async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(id): Path<String>,
    Query(q): Query<GroupQuery>,
) -> Response {
    let shell = admin.shell("Group", Section::Groups);
    match group_page(&state, &admin, &id, q.after.clone(), String::new(), None).await {
        Ok(mut p) => {
            let notice = match q.done.as_str() {
                "created" => Some("Group created. Add its members below."),
                "added" => Some("Member added. Apps assigned to the group now reach them."),
                "removed" => {
                    Some("Member removed. Apps they reached only through this group no longer do.")
                }
                _ => None,
            };
            if let Some(n) = notice {
                p.shell = p.shell.with_notice(n);
            }
            page(&p)
        }
        Err(e) => e.answer(&headers, shell),
    }
}

async fn group_page(
    state: &AppState,
    admin: &Console,
    id: &str,
    after: Option<String>,
    person: String,
    person_error: Option<ConsoleError>,
) -> ConsoleResult<GroupPage> {
    let dir = state.directory();
    let g = dir.get_group(&admin.ctx, id).await?;
    let gid = g.id.to_string();
    let later_page = after.as_deref().is_some_and(|a| !a.is_empty());
    let wanted = Page {
        after: after.filter(|a| !a.is_empty()),
        limit: MEMBERS_PAGE,
    };
    let members = dir.list_members(&admin.ctx, &gid, &wanted).await?;
    let next = next_after(&wanted, &members, |u| u.id.to_string())
        .map(|id| format!("/admin/groups/{gid}?after={id}"));
    let mut shell = admin.shell("Group", Section::Groups);
    shell.title = g.profile.name.clone();
    Ok(GroupPage {
        shell,
        id: gid,
        name: g.profile.name.clone(),
        description: g.profile.description.clone().unwrap_or_default(),
        created: when(g.created),
        updated: when(g.last_updated),
        membership_changed: when(g.last_membership_updated),
        members: members
            .iter()
            .map(|u| MemberRow {
                id: u.id.to_string(),
                name: full_name(u),
                login: u.profile.login.clone(),
                status: u.status.as_str(),
                status_class: status_class(u.status.as_str()),
            })
            .collect(),
        next,
        later_page,
        person,
        person_error,
        members_error: None,
    })
}

/// The Add member form.
#[derive(Debug, Default, Deserialize)]
pub struct AddMember {
    /// A person's username (or id).
    #[serde(default)]
    pub person: String,
}

async fn add_member(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path(id): Path<String>,
    Form(form): Form<AddMember>,
) -> Response {
    let person = form.person.trim();
    let added = if person.is_empty() {
        Err(ConsoleError::new(
            StatusCode::BAD_REQUEST,
            "Type the username of the person to add.",
        ))
    } else {
        state
            .directory()
            .add_member(&admin.ctx, &id, person)
            .await
            .map_err(|e| {
                let mut e = ConsoleError::from(e);
                // The group exists (it is on the page): a 404 here is the person.
                if e.status == StatusCode::NOT_FOUND && e.message.contains("user") {
                    e.message = format!(
                        "No one has the username {person:?}. Check the spelling, or find them in People."
                    );
                }
                e
            })
    };
    match added {
        Ok(()) => see_other(&format!("/admin/groups/{id}?done=added")),
        Err(e) => {
            let status = e.status;
            match group_page(
                &state,
                &admin,
                &id,
                None,
                form.person.clone(),
                Some(e.clone()),
            )
            .await
            {
                Ok(p) => page_with(status, &p),
                Err(_) => e.answer(&headers, admin.shell("Group", Section::Groups)),
            }
        }
    }
}

async fn remove_member(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    Path((id, uid)): Path<(String, String)>,
) -> Response {
    match state.directory().remove_member(&admin.ctx, &id, &uid).await {
        Ok(()) => see_other(&format!("/admin/groups/{id}?done=removed")),
        Err(e) => {
            let e = ConsoleError::from(e);
            match group_page(&state, &admin, &id, None, String::new(), None).await {
                Ok(mut p) => {
                    p.members_error = Some(e.clone());
                    page_with(e.status, &p)
                }
                Err(_) => e.answer(&headers, admin.shell("Group", Section::Groups)),
            }
        }
    }
}
