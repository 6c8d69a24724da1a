//! Apps, their lifecycle, and assignments of users and groups.

use super::groups::load_group;
use super::users::load_user;
use super::{Directory, require_read, require_write, unique_as};
use crate::app::{
    App, AppInput, AppSecrets, AppStatus, AppType, DEFAULT_ACCESS_TOKEN_LIFETIME,
    DEFAULT_REFRESH_TOKEN_LIFETIME, GrantType, OidcClient, Provisioning, ScimTarget,
};
use crate::auth::{hash_token, random_base62};
use crate::context::Context;
use crate::error::DomainError;
use crate::group::Group;
use crate::ids::AppId;
use crate::log::catalogue as events;
use crate::log::{LogEvent, Target};
use crate::provisioning::AppUserLink;
use crate::store::{AppLink, Page, StoreRead};
use crate::user::User;

/// A user as one app sees them: how they are assigned and how they are provisioned there.
#[derive(Debug, Clone)]
pub struct AppUser {
    /// The app.
    pub app: App,
    /// The user.
    pub user: User,
    /// How the user reaches the app, when assigned.
    pub assignment: Option<AppLink>,
    /// The provisioning link, when the user was ever pushed to the app.
    pub link: Option<AppUserLink>,
}

/// An app just created or replaced, with the client secret that call generated, shown once.
#[derive(Debug, Clone)]
pub struct CreatedApp {
    /// The app.
    pub app: App,
    /// The client secret, when the auth method uses one and the app had none before.
    pub client_secret: Option<String>,
}

/// The stored parts an admin's input turns into.
struct AppParts {
    oidc: Option<OidcClient>,
    provisioning: Option<Provisioning>,
    secrets: AppSecrets,
    /// A newly generated client secret, shown once.
    new_secret: Option<String>,
}

pub(crate) async fn load_app(tx: &mut dyn StoreRead, key: &str) -> Result<App, DomainError> {
    let id: AppId = key
        .parse()
        .map_err(|_| DomainError::not_found("app", key))?;
    tx.get_app(id)
        .await?
        .ok_or_else(|| DomainError::not_found("app", key))
}

impl Directory<'_> {
    /// Builds the stored parts of an app from admin input, sealing a new SCIM token and keeping
    /// the old one when the input omits it.
    fn app_parts(
        &self,
        input: &AppInput,
        id: AppId,
        previous: Option<&App>,
    ) -> Result<AppParts, DomainError> {
        let mut secrets = previous.map(|a| a.secrets.clone()).unwrap_or_default();
        let mut new_secret = None;
        let oidc = match input.app_type {
            AppType::Oidc => {
                let o = input.oidc.clone().unwrap_or_default();
                let method = o.auth_method();
                let client_id = previous
                    .and_then(|a| a.oidc.as_ref().map(|o| o.client_id.clone()))
                    .unwrap_or_else(|| format!("0oa{}", random_base62(17)));
                if method.uses_secret() {
                    if secrets.client_secret_hash.is_none() {
                        let s = random_base62(40);
                        secrets.client_secret_hash = Some(hash_token(&s));
                        new_secret = Some(s);
                    }
                } else {
                    secrets.client_secret_hash = None;
                }
                Some(OidcClient {
                    client_id,
                    redirect_uris: o.redirect_uris,
                    post_logout_redirect_uris: o.post_logout_redirect_uris,
                    token_endpoint_auth_method: method,
                    backchannel_logout_session_required: o.backchannel_logout_session_required,
                    grant_types: o.grant_types.unwrap_or_else(|| {
                        vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
                    }),
                    access_token_lifetime_seconds: o
                        .access_token_lifetime_seconds
                        .unwrap_or(DEFAULT_ACCESS_TOKEN_LIFETIME),
                    refresh_token_lifetime_seconds: o
                        .refresh_token_lifetime_seconds
                        .unwrap_or(DEFAULT_REFRESH_TOKEN_LIFETIME),
                    id_token_signed_response_alg: o
                        .id_token_signed_response_alg
                        .unwrap_or_default(),
                    jwks: o.jwks,
                })
            }
            AppType::DesktopMfa => None,
        };
        let provisioning = match &input.provisioning {
            None => {
                secrets.scim_token_sealed = None;
                None
            }
            Some(p) => {
                if let Some(token) = &p.scim.token {
                    let sealed = self
                        .sealer
                        .seal(token.as_bytes(), &format!("app-scim-token:{id}"))
                        .map_err(|e| {
                            DomainError::Store(crate::store::StoreError::Unavailable(e))
                        })?;
                    secrets.scim_token_sealed = Some(sealed);
                }
                Some(Provisioning {
                    scim: ScimTarget {
                        base_url: p.scim.base_url.clone(),
                        token_set: secrets.scim_token_sealed.is_some(),
                    },
                })
            }
        };
        Ok(AppParts {
            oidc,
            provisioning,
            secrets,
            new_secret,
        })
    }

    /// Creates an app; answers its client secret once.
    pub async fn create_app(
        &self,
        ctx: &Context,
        input: AppInput,
    ) -> Result<CreatedApp, DomainError> {
        require_write(ctx)?;
        input.validate(&self.outbound)?;
        let now = self.clock.now();
        let id = AppId::new();
        let AppParts {
            oidc,
            provisioning,
            secrets,
            new_secret: client_secret,
        } = self.app_parts(&input, id, None)?;
        let app = App {
            id,
            label: input.label.trim().to_string(),
            app_type: input.app_type,
            status: AppStatus::Active,
            created: now,
            last_updated: now,
            oidc,
            logout: input.logout_settings(),
            provisioning,
            secrets,
        };
        let mut tx = self.store.begin().await?;
        if app.app_type == AppType::DesktopMfa && tx.get_desktop_mfa_app().await?.is_some() {
            return Err(DomainError::Conflict(
                "There is already a desktop-mfa app; an org has one".into(),
            ));
        }
        tx.insert_app(&app).await.map_err(unique_as(
            "There is already a desktop-mfa app; an org has one",
        ))?;
        let ev = LogEvent::build(
            ctx,
            events::app::CREATE,
            now,
            format!("Create application {}", app.label),
        )
        .target(Target::app(&app))
        .debug("logoutEnabled", app.logout.enabled)
        .finish();
        tx.append_event(&ev).await?;
        tx.commit().await?;
        Ok(CreatedApp { app, client_secret })
    }

    /// Replaces an app's settings (the client id, and secrets the input omits, are kept).
    /// Switching to a method that needs a client secret generates one, answered once.
    pub async fn replace_app(
        &self,
        ctx: &Context,
        key: &str,
        input: AppInput,
    ) -> Result<CreatedApp, DomainError> {
        require_write(ctx)?;
        input.validate(&self.outbound)?;
        let mut tx = self.store.begin().await?;
        let old = load_app(tx.as_mut(), key).await?;
        if old.app_type != input.app_type {
            return Err(DomainError::invalid(
                "Api validation failed: app",
                "type: an app's type cannot change",
            ));
        }
        let AppParts {
            oidc,
            provisioning,
            secrets,
            new_secret: client_secret,
        } = self.app_parts(&input, old.id, Some(&old))?;
        let now = self.clock.now();
        let app = App {
            label: input.label.trim().to_string(),
            last_updated: now,
            oidc,
            logout: input.logout_settings(),
            provisioning,
            secrets,
            ..old.clone()
        };
        tx.update_app(&app).await?;
        let ev = LogEvent::build(
            ctx,
            events::app::UPDATE,
            now,
            format!("Update application {}", app.label),
        )
        .target(Target::app(&app))
        .debug("logoutEnabled", app.logout.enabled)
        .finish();
        tx.append_event(&ev).await?;
        if old.provisioning != app.provisioning
            || old.secrets.scim_token_sealed != app.secrets.scim_token_sealed
        {
            // A new target or credential: push everyone again (a user the new target does not
            // know answers 404 to the update and is created).
            crate::provisioning::reconcile_app(tx.as_mut(), &app, now, true).await?;
        }
        tx.commit().await?;
        Ok(CreatedApp { app, client_secret })
    }

    /// An app by id.
    pub async fn get_app(&self, ctx: &Context, key: &str) -> Result<App, DomainError> {
        require_read(ctx)?;
        let mut tx = self.store.read().await?;
        load_app(tx.as_mut(), key).await
    }

    /// Apps by label prefix.
    pub async fn list_apps(
        &self,
        ctx: &Context,
        q: Option<&str>,
        page: &Page,
    ) -> Result<Vec<App>, DomainError> {
        require_read(ctx)?;
        let mut tx = self.store.read().await?;
        Ok(tx.list_apps(q, page).await?)
    }

    /// Activates or deactivates an app.
    pub async fn set_app_status(
        &self,
        ctx: &Context,
        key: &str,
        status: AppStatus,
    ) -> Result<App, DomainError> {
        require_write(ctx)?;
        let mut tx = self.store.begin().await?;
        let mut app = load_app(tx.as_mut(), key).await?;
        if app.status == status {
            return Ok(app);
        }
        let now = self.clock.now();
        app.status = status;
        app.last_updated = now;
        tx.update_app(&app).await?;
        let (ty, verb) = match status {
            AppStatus::Active => (events::app::ACTIVATE, "Activate"),
            AppStatus::Inactive => (events::app::DEACTIVATE, "Deactivate"),
        };
        let ev = LogEvent::build(ctx, ty, now, format!("{verb} application {}", app.label))
            .target(Target::app(&app))
            .finish();
        tx.append_event(&ev).await?;
        crate::provisioning::reconcile_app(tx.as_mut(), &app, now, false).await?;
        tx.commit().await?;
        Ok(app)
    }

    /// Deletes an inactive app.
    pub async fn delete_app(&self, ctx: &Context, key: &str) -> Result<(), DomainError> {
        require_write(ctx)?;
        let mut tx = self.store.begin().await?;
        let app = load_app(tx.as_mut(), key).await?;
        if app.status != AppStatus::Inactive {
            return Err(DomainError::InvalidState(format!(
                "Cannot delete app {:?} while it is ACTIVE: deactivate it first",
                app.label
            )));
        }
        tx.delete_app(app.id).await?;
        let ev = LogEvent::build(
            ctx,
            events::app::DELETE,
            self.clock.now(),
            format!("Delete application {}", app.label),
        )
        .target(Target::app(&app))
        .finish();
        tx.append_event(&ev).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Assigns a user to an app directly.
    pub async fn assign_user(
        &self,
        ctx: &Context,
        app: &str,
        user: &str,
    ) -> Result<(App, User), DomainError> {
        require_write(ctx)?;
        let mut tx = self.store.begin().await?;
        let a = load_app(tx.as_mut(), app).await?;
        let u = load_user(tx.as_mut(), user).await?;
        let now = self.clock.now();
        if tx.assign_user(a.id, u.id, now).await? {
            let ev = LogEvent::build(
                ctx,
                events::app::ASSIGN_USER,
                now,
                "Add user to application membership",
            )
            .target(Target::user(&u))
            .target(Target::app(&a))
            .finish();
            tx.append_event(&ev).await?;
            crate::provisioning::reconcile(tx.as_mut(), u.id, now, false).await?;
        }
        tx.commit().await?;
        Ok((a, u))
    }

    /// Removes a direct assignment.
    pub async fn unassign_user(
        &self,
        ctx: &Context,
        app: &str,
        user: &str,
    ) -> Result<(), DomainError> {
        require_write(ctx)?;
        let mut tx = self.store.begin().await?;
        let a = load_app(tx.as_mut(), app).await?;
        let u = load_user(tx.as_mut(), user).await?;
        if !tx.unassign_user(a.id, u.id).await? {
            return Err(DomainError::not_found(
                "app assignment",
                format!("{} to {}", u.profile.login, a.label),
            ));
        }
        let ev = LogEvent::build(
            ctx,
            events::app::UNASSIGN_USER,
            self.clock.now(),
            "Remove user from application membership",
        )
        .target(Target::user(&u))
        .target(Target::app(&a))
        .finish();
        tx.append_event(&ev).await?;
        crate::provisioning::reconcile(tx.as_mut(), u.id, self.clock.now(), false).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Assigns a group to an app.
    pub async fn assign_group(
        &self,
        ctx: &Context,
        app: &str,
        group: &str,
    ) -> Result<(App, Group), DomainError> {
        require_write(ctx)?;
        let mut tx = self.store.begin().await?;
        let a = load_app(tx.as_mut(), app).await?;
        let g = load_group(tx.as_mut(), group).await?;
        let now = self.clock.now();
        if tx.assign_group(a.id, g.id, now).await? {
            let ev = LogEvent::build(
                ctx,
                events::group::ASSIGN_APP,
                now,
                "Add assigned application to group",
            )
            .target(Target::group(&g))
            .target(Target::app(&a))
            .finish();
            tx.append_event(&ev).await?;
            let members = crate::provisioning::group_members(tx.as_mut(), g.id).await?;
            crate::provisioning::reconcile_all(tx.as_mut(), &members, now).await?;
        }
        tx.commit().await?;
        Ok((a, g))
    }

    /// Removes a group assignment.
    pub async fn unassign_group(
        &self,
        ctx: &Context,
        app: &str,
        group: &str,
    ) -> Result<(), DomainError> {
        require_write(ctx)?;
        let mut tx = self.store.begin().await?;
        let a = load_app(tx.as_mut(), app).await?;
        let g = load_group(tx.as_mut(), group).await?;
        if !tx.unassign_group(a.id, g.id).await? {
            return Err(DomainError::not_found(
                "app assignment",
                format!("group {} to {}", g.profile.name, a.label),
            ));
        }
        let ev = LogEvent::build(
            ctx,
            events::group::UNASSIGN_APP,
            self.clock.now(),
            "Remove assigned application from group",
        )
        .target(Target::group(&g))
        .target(Target::app(&a))
        .finish();
        tx.append_event(&ev).await?;
        let members = crate::provisioning::group_members(tx.as_mut(), g.id).await?;
        crate::provisioning::reconcile_all(tx.as_mut(), &members, self.clock.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Users assigned directly to an app.
    pub async fn list_app_users(
        &self,
        ctx: &Context,
        app: &str,
        page: &Page,
    ) -> Result<Vec<User>, DomainError> {
        require_read(ctx)?;
        let mut tx = self.store.read().await?;
        let a = load_app(tx.as_mut(), app).await?;
        Ok(tx.list_app_users(a.id, page).await?)
    }

    /// Groups assigned to an app.
    pub async fn list_app_groups(
        &self,
        ctx: &Context,
        app: &str,
    ) -> Result<Vec<Group>, DomainError> {
        require_read(ctx)?;
        let mut tx = self.store.read().await?;
        let a = load_app(tx.as_mut(), app).await?;
        Ok(tx.list_app_groups(a.id).await?)
    }

    /// A user's assignment to an app and their provisioning link; not found when the user is
    /// neither assigned nor linked.
    pub async fn app_user(
        &self,
        ctx: &Context,
        app: &str,
        user: &str,
    ) -> Result<AppUser, DomainError> {
        require_read(ctx)?;
        let mut tx = self.store.read().await?;
        let a = load_app(tx.as_mut(), app).await?;
        let u = load_user(tx.as_mut(), user).await?;
        let assignment = tx
            .list_user_app_links(u.id)
            .await?
            .into_iter()
            .find(|l| l.app.id == a.id);
        let link = tx.get_app_user_link(a.id, u.id).await?;
        if assignment.is_none() && link.is_none() {
            return Err(DomainError::not_found(
                "app assignment",
                format!("{} to {}", u.profile.login, a.label),
            ));
        }
        Ok(AppUser {
            app: a,
            user: u,
            assignment,
            link,
        })
    }

    /// Pushes a user to an app's SCIM server again, whatever changed.
    pub async fn resync_app_user(
        &self,
        ctx: &Context,
        app: &str,
        user: &str,
    ) -> Result<AppUser, DomainError> {
        require_write(ctx)?;
        let mut tx = self.store.begin().await?;
        let a = load_app(tx.as_mut(), app).await?;
        let u = load_user(tx.as_mut(), user).await?;
        if a.provisioning.is_none() {
            return Err(DomainError::InvalidState(format!(
                "Cannot resync: app {:?} has no provisioning part",
                a.label
            )));
        }
        let now = self.clock.now();
        let Some(link) = crate::provisioning::resync(tx.as_mut(), &a, &u, now).await? else {
            return Err(DomainError::not_found(
                "app assignment",
                format!("{} to {}", u.profile.login, a.label),
            ));
        };
        let ev = LogEvent::build(
            ctx,
            events::app::PROVISION_SYNC,
            now,
            format!("Resync user {} to application {}", u.profile.login, a.label),
        )
        .target(Target::user(&u))
        .target(Target::app(&a))
        .debug("desired", link.desired.as_str())
        .finish();
        tx.append_event(&ev).await?;
        let assignment = tx
            .list_user_app_links(u.id)
            .await?
            .into_iter()
            .find(|l| l.app.id == a.id);
        tx.commit().await?;
        Ok(AppUser {
            app: a,
            user: u,
            assignment,
            link: Some(link),
        })
    }

    /// Every app a user reaches, and how.
    pub async fn user_app_links(
        &self,
        ctx: &Context,
        user: &str,
    ) -> Result<Vec<AppLink>, DomainError> {
        require_read(ctx)?;
        let mut tx = self.store.read().await?;
        let u = load_user(tx.as_mut(), user).await?;
        Ok(tx.list_user_app_links(u.id).await?)
    }
}
