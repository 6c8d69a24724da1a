//! Provisioning to apps: each (app, user) link records what ulo wants the user to be in the app's
//! SCIM server and what it last achieved there. Directory changes call [`reconcile`] inside their
//! transaction; it records the wanted state and enqueues one `scim.push` job per change, so the
//! push is as durable as the change that caused it.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::app::{App, AppStatus};
use crate::ids::{AppId, GroupId, UserId};
use crate::job::NewJob;
use crate::store::{Page, StoreError, StoreTx};
use crate::user::{User, UserStatus, str_enum};

/// The job kind that pushes one user to one app.
pub const PUSH_JOB: &str = "scim.push";
/// How long a push keeps being retried.
pub const PUSH_DEADLINE: Duration = Duration::hours(24);
/// The purpose an app's SCIM token is sealed for.
pub fn scim_token_purpose(app: AppId) -> String {
    format!("app-scim-token:{app}")
}

/// Where the user stands in the app's SCIM server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LinkState {
    /// A push is queued or being retried.
    Pending,
    /// The user exists and is active there, up to date.
    Synced,
    /// The user was deactivated there (or never needed creating).
    Deactivated,
    /// The last push failed for good.
    Error,
}
str_enum!(LinkState { Pending => "PENDING", Synced => "SYNCED", Deactivated => "DEACTIVATED", Error => "ERROR" });

/// What ulo wants the user to be in the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Desired {
    /// Present and active.
    Active,
    /// Deactivated (`active: false`), or absent.
    Inactive,
}
str_enum!(Desired { Active => "ACTIVE", Inactive => "INACTIVE" });

/// The link between a ulo user and their account in one app's SCIM server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppUserLink {
    /// The app.
    pub app_id: AppId,
    /// The ulo user.
    pub user_id: UserId,
    /// The id the app's SCIM server gave the user: the `sub` of `iss_sub` logout requests.
    pub remote_id: Option<String>,
    /// Last known state there.
    pub state: LinkState,
    /// What ulo wants.
    pub desired: Desired,
    /// Why the last push failed.
    pub last_error: Option<String>,
    /// HTTP status of the last push.
    pub last_status: Option<i64>,
    /// When a push last succeeded.
    #[serde(with = "crate::clock::serde_rfc3339::option")]
    pub last_synced: Option<OffsetDateTime>,
    /// Created.
    #[serde(with = "crate::clock::serde_rfc3339")]
    pub created: OffsetDateTime,
    /// Last changed.
    #[serde(with = "crate::clock::serde_rfc3339")]
    pub updated: OffsetDateTime,
}

/// What a `scim.push` job carries: only ids, so every attempt pushes the state current then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushPayload {
    /// The app.
    pub app_id: AppId,
    /// The user.
    pub user_id: UserId,
}

/// What ulo wants `user` to be in `app`, given whether the user reaches it.
pub fn desired_for(user: &User, app: &App, reaches: bool) -> Desired {
    if reaches
        && user.status == UserStatus::Active
        && app.status == AppStatus::Active
        && app.provisioning.is_some()
    {
        Desired::Active
    } else {
        Desired::Inactive
    }
}

/// Brings `user`'s links with every app that has a provisioning part in line with the directory;
/// enqueues a push per link whose wanted state changed (or, with `profile_changed`, per active
/// link, so the app sees the new profile). Runs inside the caller's transaction.
pub async fn reconcile(
    tx: &mut dyn StoreTx,
    user: UserId,
    now: OffsetDateTime,
    profile_changed: bool,
) -> Result<(), StoreError> {
    let Some(u) = tx.get_user(user).await? else {
        return Ok(());
    };
    // Apps the user reaches, and apps they have a link with (which they may no longer reach).
    let mut apps: BTreeMap<AppId, (App, bool)> = BTreeMap::new();
    for link in tx.list_user_app_links(user).await? {
        if link.app.provisioning.is_some() {
            apps.insert(link.app.id, (link.app, true));
        }
    }
    let mut links: BTreeMap<AppId, AppUserLink> = BTreeMap::new();
    for l in tx.list_user_app_user_links(user).await? {
        if !apps.contains_key(&l.app_id)
            && let Some(app) = tx.get_app(l.app_id).await?
            && app.provisioning.is_some()
        {
            apps.insert(app.id, (app, false));
        }
        links.insert(l.app_id, l);
    }
    for (app_id, (app, reaches)) in apps {
        let desired = desired_for(&u, &app, reaches);
        let link = links.remove(&app_id);
        apply(
            tx,
            app_id,
            user,
            link,
            desired,
            profile_changed && desired == Desired::Active,
            now,
        )
        .await?;
    }
    Ok(())
}

/// Re-pushes `user` to `app` whatever changed; answers the link, or `None` when the user is
/// neither assigned nor linked (nothing to push).
pub async fn resync(
    tx: &mut dyn StoreTx,
    app: &App,
    user: &User,
    now: OffsetDateTime,
) -> Result<Option<AppUserLink>, StoreError> {
    let reaches = tx
        .list_user_app_links(user.id)
        .await?
        .iter()
        .any(|l| l.app.id == app.id);
    let link = tx.get_app_user_link(app.id, user.id).await?;
    if link.is_none() && !reaches {
        return Ok(None);
    }
    let desired = desired_for(user, app, reaches);
    apply(tx, app.id, user.id, link, desired, true, now).await?;
    tx.get_app_user_link(app.id, user.id).await
}

/// Records `desired` on the link and enqueues a push when it changed or `force` is set.
async fn apply(
    tx: &mut dyn StoreTx,
    app: AppId,
    user: UserId,
    link: Option<AppUserLink>,
    desired: Desired,
    force: bool,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let link = match link {
        // Never reached the app and is not wanted there: nothing to create or deactivate.
        None if desired == Desired::Inactive => return Ok(()),
        None => AppUserLink {
            app_id: app,
            user_id: user,
            remote_id: None,
            state: LinkState::Pending,
            desired,
            last_error: None,
            last_status: None,
            last_synced: None,
            created: now,
            updated: now,
        },
        Some(l) if l.desired == desired && !force => return Ok(()),
        Some(l) => AppUserLink {
            state: LinkState::Pending,
            desired,
            updated: now,
            ..l
        },
    };
    tx.put_app_user_link(&link).await?;
    let payload = PushPayload {
        app_id: app,
        user_id: user,
    };
    let job = NewJob::new(PUSH_JOB, json!(payload), now, PUSH_DEADLINE);
    tx.enqueue_job(&job).await
}

/// Every user an app's provisioning may concern: assigned directly, through a group, or linked.
pub async fn app_audience(tx: &mut dyn StoreTx, app: AppId) -> Result<Vec<UserId>, StoreError> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut add = |id: UserId, out: &mut Vec<UserId>| {
        if seen.insert(id) {
            out.push(id);
        }
    };
    let mut after = None;
    loop {
        let page = page_after(after.take());
        let users = tx.list_app_users(app, &page).await?;
        for u in &users {
            add(u.id, &mut out);
        }
        match next_after(&users, page.limit, |u| u.id.to_string()) {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    for g in tx.list_app_groups(app).await? {
        for id in group_members(tx, g.id).await? {
            add(id, &mut out);
        }
    }
    loop {
        let page = page_after(after.take());
        let links = tx.list_app_user_links(app, &page).await?;
        for l in &links {
            add(l.user_id, &mut out);
        }
        match next_after(&links, page.limit, |l| l.user_id.to_string()) {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    Ok(out)
}

/// Every member of a group, paging through.
pub async fn group_members(
    tx: &mut dyn StoreTx,
    group: GroupId,
) -> Result<Vec<UserId>, StoreError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = page_after(after.take());
        let members = tx.list_members(group, &page).await?;
        out.extend(members.iter().map(|u| u.id));
        match next_after(&members, page.limit, |u| u.id.to_string()) {
            Some(a) => after = Some(a),
            None => return Ok(out),
        }
    }
}

/// Reconciles each of `users` (e.g. a group's members after a group-level change).
pub async fn reconcile_all(
    tx: &mut dyn StoreTx,
    users: &[UserId],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    for u in users {
        reconcile(tx, *u, now, false).await?;
    }
    Ok(())
}

const PAGE: u32 = 500;

fn page_after(after: Option<String>) -> Page {
    Page { after, limit: PAGE }
}

fn next_after<T>(items: &[T], limit: u32, key: impl Fn(&T) -> String) -> Option<String> {
    if items.len() as u32 == limit {
        items.last().map(key)
    } else {
        None
    }
}

/// Brings every link of one app in line (after the app's status or provisioning part changed);
/// with `force`, re-pushes users wanted active even when nothing about them changed.
pub async fn reconcile_app(
    tx: &mut dyn StoreTx,
    app: &App,
    now: OffsetDateTime,
    force: bool,
) -> Result<(), StoreError> {
    if app.provisioning.is_none() {
        // Nowhere to push to: links stay as they were last pushed.
        return Ok(());
    }
    for uid in app_audience(tx, app.id).await? {
        let Some(user) = tx.get_user(uid).await? else {
            continue;
        };
        let reaches = tx
            .list_user_app_links(uid)
            .await?
            .iter()
            .any(|l| l.app.id == app.id);
        let desired = desired_for(&user, app, reaches);
        let link = tx.get_app_user_link(app.id, uid).await?;
        apply(tx, app.id, uid, link, desired, force, now).await?;
    }
    Ok(())
}
