//! Users: create, read, search, update, lifecycle, delete.

use super::admin::{
    Reach, UserListing, check_provisioning_reach, hidden_admins, other_active_super_admin,
    visible_page,
};
use super::{Directory, require_read, require_write, unique_as};
use crate::context::Context;
use crate::error::DomainError;
use crate::ids::{GroupId, UserId};
use crate::log::catalogue as events;
use crate::log::{LogEvent, Target};
use crate::store::{StoreRead, UserQuery};
use crate::user::{AdminRole, Lifecycle, ProvisionedBy, RiskLevel, User, UserProfile, UserStatus};

/// A user to create.
#[derive(Debug, Clone)]
pub struct CreateUser {
    /// Profile.
    pub profile: UserProfile,
    /// Argon2 hash of the initial password, computed by the caller.
    pub password_hash: Option<String>,
    /// ACTIVE at once (else STAGED).
    pub activate: bool,
    /// Who provisions.
    pub provisioned_by: ProvisionedBy,
    /// Groups to add the user to.
    pub group_ids: Vec<GroupId>,
}

/// A profile update.
#[derive(Debug, Clone)]
pub enum ProfileChange {
    /// Only the attributes present change (`POST /users/{id}`).
    Partial(serde_json::Value),
    /// The whole profile is replaced (`PUT /users/{id}`).
    Replace(Box<UserProfile>),
}

/// Loads a user by id or, when `key` is not a UUID, by login.
pub(crate) async fn load_user(tx: &mut dyn StoreRead, key: &str) -> Result<User, DomainError> {
    let found = match key.parse::<UserId>() {
        Ok(id) => tx.get_user(id).await?,
        Err(_) => tx.get_user_by_login(key).await?,
    };
    found.ok_or_else(|| DomainError::not_found("user", key))
}

impl Directory<'_> {
    /// Creates a user, optionally active and in groups.
    pub async fn create_user(&self, ctx: &Context, new: CreateUser) -> Result<User, DomainError> {
        require_write(ctx)?;
        let mut profile = new.profile;
        profile.login = profile.login.trim().to_string();
        profile.email = profile.email.trim().to_string();
        profile.validate_for(new.provisioned_by)?;
        profile.refuse_look_alike_login(new.provisioned_by)?;
        let now = self.clock.now();
        let status = if new.activate {
            UserStatus::Active
        } else {
            UserStatus::Staged
        };
        let user = User {
            id: UserId::new(),
            status,
            provisioned_by: new.provisioned_by,
            risk_level: RiskLevel::Low,
            created: now,
            activated: new.activate.then_some(now),
            status_changed: new.activate.then_some(now),
            last_updated: now,
            password_changed: new.password_hash.as_ref().map(|_| now),
            last_login: None,
            profile,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_user(&user, new.password_hash.as_deref())
            .await
            .map_err(unique_as(format!(
                "Api validation failed: login: An object with this field already exists in the current organization ({})",
                user.profile.login
            )))?;
        let create = LogEvent::build(
            ctx,
            events::user::CREATE,
            now,
            format!("Create user {}", user.profile.login),
        )
        .target(Target::user(&user))
        .debug("provisionedBy", user.provisioned_by.as_str())
        .finish();
        tx.append_event(&create).await?;
        if new.activate {
            let ev = LogEvent::build(
                ctx,
                Lifecycle::Activate.event_type(),
                now,
                format!("Activate user {}", user.profile.login),
            )
            .target(Target::user(&user))
            .finish();
            tx.append_event(&ev).await?;
        }
        for gid in new.group_ids {
            let mut group = tx
                .get_group(gid)
                .await?
                .ok_or_else(|| DomainError::not_found("group", gid))?;
            // A group listed twice is one membership, logged once, as add_member does.
            if !tx.add_member(gid, user.id, now).await? {
                continue;
            }
            group.last_membership_updated = now;
            tx.update_group(&group).await?;
            let ev = LogEvent::build(
                ctx,
                events::group::ADD_MEMBER,
                now,
                "Add user to group membership",
            )
            .target(Target::user(&user))
            .target(Target::group(&group))
            .finish();
            tx.append_event(&ev).await?;
        }
        crate::provisioning::reconcile(tx.as_mut(), user.id, now, false).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// A user by id or login.
    pub async fn get_user(&self, ctx: &Context, key: &str) -> Result<User, DomainError> {
        require_read(ctx)?;
        let mut tx = self.store.read().await?;
        let mut user = load_user(tx.as_mut(), key).await?;
        check_provisioning_reach(tx.as_mut(), ctx, &user, Reach::Read).await?;
        user.risk_level = answered_level(tx.as_mut(), user.id, self.clock.now()).await?;
        Ok(user)
    }

    /// Refuses, before anything changes, a change to the user `key` that the actor may not make
    /// (a SCIM credential and an admin account).
    pub async fn check_writable(&self, ctx: &Context, key: &str) -> Result<(), DomainError> {
        require_write(ctx)?;
        let mut tx = self.store.read().await?;
        let user = load_user(tx.as_mut(), key).await?;
        check_provisioning_reach(tx.as_mut(), ctx, &user, Reach::Write).await
    }

    /// Searches users.
    pub async fn list_users(
        &self,
        ctx: &Context,
        query: &UserQuery,
    ) -> Result<Vec<User>, DomainError> {
        require_read(ctx)?;
        // riskLevel (answered and filtered on) counts the detections active now.
        let query = &UserQuery {
            risk_at: Some(self.clock.now()),
            ..query.clone()
        };
        let mut tx = self.store.read().await?;
        let Some(hidden) = hidden_admins(tx.as_mut(), ctx).await? else {
            return Ok(tx.list_users(query).await?);
        };
        visible_page(tx.as_mut(), &hidden, UserListing::Users(query), &query.page).await
    }

    /// Updates a user's profile.
    pub async fn update_profile(
        &self,
        ctx: &Context,
        key: &str,
        change: ProfileChange,
    ) -> Result<User, DomainError> {
        require_write(ctx)?;
        let mut tx = self.store.begin().await?;
        let mut user = load_user(tx.as_mut(), key).await?;
        check_provisioning_reach(tx.as_mut(), ctx, &user, Reach::Write).await?;
        let mut profile = match change {
            ProfileChange::Partial(v) => user.profile.merged(&v)?,
            ProfileChange::Replace(p) => *p,
        };
        profile.login = profile.login.trim().to_string();
        profile.email = profile.email.trim().to_string();
        profile.validate_for(user.provisioned_by)?;
        if profile.login_key() != user.profile.login_key() {
            profile.refuse_look_alike_login(user.provisioned_by)?;
        }
        let now = self.clock.now();
        user.profile = profile;
        user.last_updated = now;
        tx.update_user(&user).await.map_err(unique_as(format!(
            "Api validation failed: login: An object with this field already exists in the current organization ({})",
            user.profile.login
        )))?;
        let ev = LogEvent::build(
            ctx,
            events::user::UPDATE_PROFILE,
            now,
            "Update user profile",
        )
        .target(Target::user(&user))
        .finish();
        tx.append_event(&ev).await?;
        // The apps the user is provisioned to see the new profile.
        crate::provisioning::reconcile(tx.as_mut(), user.id, now, true).await?;
        user.risk_level = answered_level(tx.as_mut(), user.id, now).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Runs a lifecycle operation.
    pub async fn lifecycle(
        &self,
        ctx: &Context,
        key: &str,
        op: Lifecycle,
    ) -> Result<User, DomainError> {
        require_write(ctx)?;
        let mut tx = self.store.begin().await?;
        let mut user = load_user(tx.as_mut(), key).await?;
        check_provisioning_reach(tx.as_mut(), ctx, &user, Reach::Write).await?;
        let to = op.apply(user.status)?;
        if user.status == UserStatus::Active
            && to != UserStatus::Active
            && tx
                .list_roles(user.id)
                .await?
                .contains(&AdminRole::SuperAdmin)
            && !other_active_super_admin(tx.as_mut(), user.id).await?
        {
            return Err(DomainError::InvalidState(format!(
                "Cannot {} {}: nobody else active holds SUPER_ADMIN, and without them nobody could administer ulo; grant it to another user first",
                op.as_str(),
                user.profile.login
            )));
        }
        let now = self.clock.now();
        user.status = to;
        user.status_changed = Some(now);
        user.last_updated = now;
        if op == Lifecycle::Activate {
            user.activated = Some(now);
        }
        tx.update_user(&user).await?;
        let ev = LogEvent::build(
            ctx,
            op.event_type(),
            now,
            format!("{} user {}", capitalize(op.as_str()), user.profile.login),
        )
        .target(Target::user(&user))
        .finish();
        tx.append_event(&ev).await?;
        if matches!(to, UserStatus::Suspended | UserStatus::Deprovisioned) {
            // Access ends with the status, in the same transaction (sessions and tokens would
            // otherwise come back to life on unsuspend), and in every logout-enabled app.
            let mut request =
                crate::logout::LogoutRequest::everything(crate::logout::reason::LIFECYCLE);
            // A deactivated person's API tokens go for good; a suspended one's stay unusable
            // while the suspension lasts (a token only works for an ACTIVE owner).
            request.api_tokens = to == UserStatus::Deprovisioned;
            crate::logout::start_in(
                tx.as_mut(),
                ctx,
                &user,
                &request,
                self.logout_deadlines,
                now,
            )
            .await?;
        }
        crate::provisioning::reconcile(tx.as_mut(), user.id, now, false).await?;
        user.risk_level = answered_level(tx.as_mut(), user.id, now).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Deletes a deactivated user.
    pub async fn delete_user(&self, ctx: &Context, key: &str) -> Result<(), DomainError> {
        require_write(ctx)?;
        let mut tx = self.store.begin().await?;
        let user = load_user(tx.as_mut(), key).await?;
        check_provisioning_reach(tx.as_mut(), ctx, &user, Reach::Write).await?;
        if user.status != UserStatus::Deprovisioned {
            return Err(DomainError::InvalidState(format!(
                "Cannot delete user {} whose status is {}: deactivate the user first",
                user.profile.login, user.status
            )));
        }
        // Deleting drops the links a pending deactivation push needs to find the user in the app:
        // wait for it, or the person would stay active there.
        let mut pending = Vec::new();
        for link in tx.list_user_app_user_links(user.id).await? {
            if link.state == crate::provisioning::LinkState::Pending && link.remote_id.is_some() {
                let label = tx
                    .get_app(link.app_id)
                    .await?
                    .map(|a| a.label)
                    .unwrap_or_else(|| link.app_id.to_string());
                pending.push(label);
            }
        }
        if !pending.is_empty() {
            return Err(DomainError::InvalidState(format!(
                "Cannot delete user {} yet: ulo is still deactivating them in {}; try again once provisioning has finished (see GET /api/v1/apps/{{id}}/users/{{userId}})",
                user.profile.login,
                pending.join(", ")
            )));
        }
        tx.delete_user(user.id).await?;
        let now = self.clock.now();
        let ev = LogEvent::build(
            ctx,
            events::user::DELETE,
            now,
            format!("Delete user {}", user.profile.login),
        )
        .target(Target::user(&user))
        .finish();
        tx.append_event(&ev).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a user's password (hash computed by the caller).
    pub async fn set_password(
        &self,
        ctx: &Context,
        key: &str,
        hash: &str,
    ) -> Result<User, DomainError> {
        require_write(ctx)?;
        let mut tx = self.store.begin().await?;
        let mut user = load_user(tx.as_mut(), key).await?;
        check_provisioning_reach(tx.as_mut(), ctx, &user, Reach::Write).await?;
        let now = self.clock.now();
        tx.set_password_hash(user.id, hash).await?;
        user.password_changed = Some(now);
        user.last_updated = now;
        tx.update_user(&user).await?;
        let ev = LogEvent::build(
            ctx,
            events::user::RESET_PASSWORD,
            now,
            "Admin set the user's password",
        )
        .target(Target::user(&user))
        .finish();
        tx.append_event(&ev).await?;
        crate::ssf::credential_changed(tx.as_mut(), &user, now).await?;
        user.risk_level = answered_level(tx.as_mut(), user.id, now).await?;
        tx.commit().await?;
        Ok(user)
    }
}

/// The `riskLevel` a user object answers: from the detections active at `now`. The level
/// stored on the user is the one at the last change, and a detection expires without a write.
async fn answered_level(
    tx: &mut dyn StoreRead,
    user: UserId,
    now: time::OffsetDateTime,
) -> Result<crate::user::RiskLevel, DomainError> {
    Ok(crate::risk::level_in(tx, user, now)
        .await?
        .unwrap_or(crate::user::RiskLevel::Low))
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
