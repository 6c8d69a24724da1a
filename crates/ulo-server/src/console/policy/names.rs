//! The groups, apps and workflows a rule can name, read once per page: the editor's choices and
//! the names the rule list shows instead of ids.

use ulo_core::app::{App, AppType};
use ulo_core::group::Group;
use ulo_core::store::Page;
use ulo_core::workflow::Workflow;

use crate::console::render::{ConsoleError, ConsoleResult};
use crate::console::session::Console;
use crate::state::AppState;

/// How many of each the editor lists (a page of the store at a time).
const MOST: usize = 2_000;
const BATCH: u32 = 200;

/// Every group, app and workflow (up to [`MOST`] of each).
pub struct Names {
    /// Groups, by name.
    pub groups: Vec<Group>,
    /// Apps, by label.
    pub apps: Vec<App>,
    /// Workflows, by name.
    pub workflows: Vec<Workflow>,
}

/// Reads pages of `fetch` until one comes back short.
async fn all<T, F, Fut>(id: impl Fn(&T) -> String, mut fetch: F) -> ConsoleResult<Vec<T>>
where
    F: FnMut(Page) -> Fut,
    Fut: Future<Output = ConsoleResult<Vec<T>>>,
{
    let mut out: Vec<T> = Vec::new();
    let mut after = None;
    loop {
        let batch = fetch(Page {
            after: after.clone(),
            limit: BATCH,
        })
        .await?;
        let full = batch.len() as u32 == BATCH;
        after = batch.last().map(&id);
        out.extend(batch);
        if !full || out.len() >= MOST {
            return Ok(out);
        }
    }
}

/// Every workflow (up to [`MOST`]), by name.
pub async fn workflows(state: &AppState, admin: &Console) -> ConsoleResult<Vec<Workflow>> {
    let wf = state.workflows();
    let wf = &wf;
    let ctx = &admin.ctx;
    let mut workflows = all(
        |w: &Workflow| w.id.to_string(),
        |p| async move { wf.list(ctx, &p).await.map_err(ConsoleError::from) },
    )
    .await?;
    workflows.sort_by_key(|w| w.name.to_lowercase());
    Ok(workflows)
}

impl Names {
    /// Reads them with the admin's rights.
    pub async fn load(state: &AppState, admin: &Console) -> ConsoleResult<Names> {
        let dir = state.directory();
        let dir = &dir;
        let ctx = &admin.ctx;
        let mut groups = all(
            |g: &Group| g.id.to_string(),
            |p| async move {
                dir.list_groups(ctx, None, &p)
                    .await
                    .map_err(ConsoleError::from)
            },
        )
        .await?;
        groups.sort_by_key(|g| g.profile.name.to_lowercase());
        let mut apps = all(
            |a: &App| a.id.to_string(),
            |p| async move {
                dir.list_apps(ctx, None, &p)
                    .await
                    .map_err(ConsoleError::from)
            },
        )
        .await?;
        apps.sort_by_key(|a| a.label.to_lowercase());
        let workflows = workflows(state, admin).await?;
        Ok(Names {
            groups,
            apps,
            workflows,
        })
    }

    /// A group's name (its id when gone).
    pub fn group(&self, id: &str) -> String {
        self.groups
            .iter()
            .find(|g| g.id.to_string() == id)
            .map(|g| g.profile.name.clone())
            .unwrap_or_else(|| format!("(deleted group {id})"))
    }

    /// Groups' names, joined.
    pub fn groups_of(&self, ids: &[String]) -> String {
        ids.iter()
            .map(|id| self.group(id))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// An app's label, saying when it stands for device logout.
    pub fn app(&self, id: &str) -> String {
        match self.apps.iter().find(|a| a.id.to_string() == id) {
            Some(a) if a.app_type == AppType::DesktopMfa => {
                format!("{} (Desktop MFA: device logout)", a.label)
            }
            Some(a) => a.label.clone(),
            None => format!("(deleted app {id})"),
        }
    }

    /// Apps' labels, joined.
    pub fn apps_of(&self, ids: &[String]) -> String {
        ids.iter()
            .map(|id| self.app(id))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A workflow's name.
    pub fn workflow(&self, id: &str) -> String {
        self.workflows
            .iter()
            .find(|w| w.id.to_string() == id)
            .map(|w| w.name.clone())
            .unwrap_or_else(|| format!("(deleted workflow {id})"))
    }
}
