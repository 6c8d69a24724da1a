//! Keeping links in line with the directory: each change records the wanted state and
//! enqueues one push, in the transaction of the change.

use std::collections::{BTreeMap, HashSet};

use serde_json::json;
use time::OffsetDateTime;

use super::{AppUserLink, Desired, LinkState, PUSH_DEADLINE, PUSH_JOB, PushPayload, desired_for};
use crate::app::App;
use crate::ids::{AppId, GroupId, UserId};
use crate::job::NewJob;
use crate::store::{Page, StoreError, StoreTx};
use crate::user::User;
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
