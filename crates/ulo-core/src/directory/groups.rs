//! Groups and membership.

use super::admin::{Reach, UserListing, check_provisioning_reach, hidden_admins, visible_page};
use super::users::load_user;
use super::{Directory, require_read, require_write, unique_as};
use crate::context::Context;
use crate::error::DomainError;
use crate::group::{Group, GroupProfile};
use crate::ids::GroupId;
use crate::log::catalogue as events;
use crate::log::{LogEvent, Target};
use crate::store::{Page, StoreRead};
use crate::user::User;

pub(crate) async fn load_group(tx: &mut dyn StoreRead, key: &str) -> Result<Group, DomainError> {
    let id: GroupId = key
        .parse()
        .map_err(|_| DomainError::not_found("group", key))?;
    tx.get_group(id)
        .await?
        .ok_or_else(|| DomainError::not_found("group", key))
}

fn name_conflict(name: &str) -> String {
    format!("Api validation failed: name: A group with the name {name:?} already exists")
}

impl Directory<'_> {
    /// Creates a group.
    pub async fn create_group(
        &self,
        ctx: &Context,
        profile: GroupProfile,
    ) -> Result<Group, DomainError> {
        require_write(ctx)?;
        let mut profile = profile;
        profile.name = profile.name.trim().to_string();
        profile.validate()?;
        let now = self.clock.now();
        let group = Group {
            id: GroupId::new(),
            created: now,
            last_updated: now,
            last_membership_updated: now,
            profile,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_group(&group)
            .await
            .map_err(unique_as(name_conflict(&group.profile.name)))?;
        let ev = LogEvent::build(
            ctx,
            events::group::CREATE,
            now,
            format!("Create group {}", group.profile.name),
        )
        .target(Target::group(&group))
        .finish();
        tx.append_event(&ev).await?;
        tx.commit().await?;
        Ok(group)
    }

    /// A group by id.
    pub async fn get_group(&self, ctx: &Context, key: &str) -> Result<Group, DomainError> {
        require_read(ctx)?;
        let mut tx = self.store.read().await?;
        load_group(tx.as_mut(), key).await
    }

    /// Groups by name prefix.
    pub async fn list_groups(
        &self,
        ctx: &Context,
        q: Option<&str>,
        page: &Page,
    ) -> Result<Vec<Group>, DomainError> {
        require_read(ctx)?;
        let mut tx = self.store.read().await?;
        Ok(tx.list_groups(q, page).await?)
    }

    /// Replaces a group's profile.
    pub async fn update_group(
        &self,
        ctx: &Context,
        key: &str,
        profile: GroupProfile,
    ) -> Result<Group, DomainError> {
        require_write(ctx)?;
        let mut profile = profile;
        profile.name = profile.name.trim().to_string();
        profile.validate()?;
        let mut tx = self.store.begin().await?;
        let mut group = load_group(tx.as_mut(), key).await?;
        let now = self.clock.now();
        group.profile = profile;
        group.last_updated = now;
        tx.update_group(&group)
            .await
            .map_err(unique_as(name_conflict(&group.profile.name)))?;
        let ev = LogEvent::build(ctx, events::group::UPDATE, now, "Update group profile")
            .target(Target::group(&group))
            .finish();
        tx.append_event(&ev).await?;
        tx.commit().await?;
        Ok(group)
    }

    /// Deletes a group.
    pub async fn delete_group(&self, ctx: &Context, key: &str) -> Result<(), DomainError> {
        require_write(ctx)?;
        let mut tx = self.store.begin().await?;
        let group = load_group(tx.as_mut(), key).await?;
        // Members may lose apps the group gave them: collect them before the memberships go.
        let members = crate::provisioning::group_members(tx.as_mut(), group.id).await?;
        tx.delete_group(group.id).await?;
        let ev = LogEvent::build(
            ctx,
            events::group::DELETE,
            self.clock.now(),
            format!("Delete group {}", group.profile.name),
        )
        .target(Target::group(&group))
        .finish();
        tx.append_event(&ev).await?;
        crate::provisioning::reconcile_all(tx.as_mut(), &members, self.clock.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a user to a group (idempotent: no event when already a member).
    pub async fn add_member(
        &self,
        ctx: &Context,
        group: &str,
        user: &str,
    ) -> Result<(), DomainError> {
        require_write(ctx)?;
        let mut tx = self.store.begin().await?;
        let mut g = load_group(tx.as_mut(), group).await?;
        let u = load_user(tx.as_mut(), user).await?;
        check_provisioning_reach(tx.as_mut(), ctx, &u, Reach::Write).await?;
        let now = self.clock.now();
        if tx.add_member(g.id, u.id, now).await? {
            g.last_membership_updated = now;
            tx.update_group(&g).await?;
            let ev = LogEvent::build(
                ctx,
                events::group::ADD_MEMBER,
                now,
                "Add user to group membership",
            )
            .target(Target::user(&u))
            .target(Target::group(&g))
            .finish();
            tx.append_event(&ev).await?;
            crate::provisioning::reconcile(tx.as_mut(), u.id, now, false).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes a user from a group.
    pub async fn remove_member(
        &self,
        ctx: &Context,
        group: &str,
        user: &str,
    ) -> Result<(), DomainError> {
        require_write(ctx)?;
        let mut tx = self.store.begin().await?;
        let mut g = load_group(tx.as_mut(), group).await?;
        let u = load_user(tx.as_mut(), user).await?;
        check_provisioning_reach(tx.as_mut(), ctx, &u, Reach::Write).await?;
        if !tx.remove_member(g.id, u.id).await? {
            return Err(DomainError::not_found(
                "group membership",
                format!("{} in {}", u.profile.login, g.profile.name),
            ));
        }
        let now = self.clock.now();
        g.last_membership_updated = now;
        tx.update_group(&g).await?;
        let ev = LogEvent::build(
            ctx,
            events::group::REMOVE_MEMBER,
            now,
            "Remove user from group membership",
        )
        .target(Target::user(&u))
        .target(Target::group(&g))
        .finish();
        tx.append_event(&ev).await?;
        crate::provisioning::reconcile(tx.as_mut(), u.id, now, false).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A group's members.
    pub async fn list_members(
        &self,
        ctx: &Context,
        group: &str,
        page: &Page,
    ) -> Result<Vec<User>, DomainError> {
        require_read(ctx)?;
        let mut tx = self.store.read().await?;
        let g = load_group(tx.as_mut(), group).await?;
        let Some(hidden) = hidden_admins(tx.as_mut(), ctx).await? else {
            return Ok(tx.list_members(g.id, page).await?);
        };
        visible_page(tx.as_mut(), &hidden, UserListing::Members(g.id), page).await
    }

    /// The groups a user belongs to.
    pub async fn list_user_groups(
        &self,
        ctx: &Context,
        user: &str,
    ) -> Result<Vec<Group>, DomainError> {
        require_read(ctx)?;
        let mut tx = self.store.read().await?;
        let u = load_user(tx.as_mut(), user).await?;
        Ok(tx.list_user_groups(u.id).await?)
    }
}
