//! Admin roles and API tokens.

use super::users::load_user;
use super::{Directory, require_read, require_write};
use crate::auth::{ApiToken, new_token_secret};
use crate::context::{Authority, Context};
use crate::error::DomainError;
use crate::ids::{ApiTokenId, UserId};
use crate::log::catalogue as events;
use crate::log::{LogEvent, Target};
use crate::store::{StoreRead, StoreTx};
use crate::user::{AdminRole, User, UserStatus};

/// A newly created API token with its secret, shown once.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    /// The stored record.
    pub token: ApiToken,
    /// The secret.
    pub secret: String,
}

fn token_target(t: &ApiToken) -> Target {
    Target::new("ApiToken", t.id, t.token_prefix.clone(), t.name.clone())
}

impl Directory<'_> {
    /// Grants an admin role.
    pub async fn grant_role(
        &self,
        ctx: &Context,
        user: &str,
        role: AdminRole,
    ) -> Result<(), DomainError> {
        require_write(ctx)?;
        require_role_authority(ctx)?;
        let mut tx = self.store.begin().await?;
        let u = load_user(tx.as_mut(), user).await?;
        let now = self.clock.now();
        if tx.grant_role(u.id, role, now).await? {
            let ev = LogEvent::build(
                ctx,
                events::user::PRIVILEGE_GRANT,
                now,
                format!("Grant {role} to {}", u.profile.login),
            )
            .target(Target::user(&u))
            .debug("role", role.as_str())
            .finish();
            tx.append_event(&ev).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Revokes an admin role. The last SUPER_ADMIN cannot lose it (or nobody could administer ulo).
    pub async fn revoke_role(
        &self,
        ctx: &Context,
        user: &str,
        role: AdminRole,
    ) -> Result<(), DomainError> {
        require_write(ctx)?;
        require_role_authority(ctx)?;
        let mut tx = self.store.begin().await?;
        let u = load_user(tx.as_mut(), user).await?;
        if role == AdminRole::SuperAdmin && !other_active_super_admin(tx.as_mut(), u.id).await? {
            return Err(DomainError::InvalidState(format!(
                "Cannot revoke SUPER_ADMIN from {}: nobody else active holds it, and without it nobody could administer ulo; grant it to another user first",
                u.profile.login
            )));
        }
        if !tx.revoke_role(u.id, role).await? {
            return Err(DomainError::not_found(
                "role",
                format!("{role} of {}", u.profile.login),
            ));
        }
        let now = self.clock.now();
        let ev = LogEvent::build(
            ctx,
            events::user::PRIVILEGE_REVOKE,
            now,
            format!("Revoke {role} from {}", u.profile.login),
        )
        .target(Target::user(&u))
        .debug("role", role.as_str())
        .finish();
        tx.append_event(&ev).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Roles a user holds.
    pub async fn list_roles(
        &self,
        ctx: &Context,
        user: &str,
    ) -> Result<Vec<AdminRole>, DomainError> {
        require_read(ctx)?;
        let mut tx = self.store.read().await?;
        let u = load_user(tx.as_mut(), user).await?;
        Ok(tx.list_roles(u.id).await?)
    }

    /// Everyone holding an admin role, with their roles, in login order.
    pub async fn administrators(
        &self,
        ctx: &Context,
    ) -> Result<Vec<(User, Vec<AdminRole>)>, DomainError> {
        require_read(ctx)?;
        let mut tx = self.store.read().await?;
        let mut out: Vec<(User, Vec<AdminRole>)> = Vec::new();
        for role in [AdminRole::SuperAdmin, AdminRole::ReadOnlyAdmin] {
            for u in tx.role_holders(role).await? {
                match out.iter_mut().find(|(held, _)| held.id == u.id) {
                    Some((_, roles)) => roles.push(role),
                    None => out.push((u, vec![role])),
                }
            }
        }
        out.sort_by(|a, b| a.0.profile.login.cmp(&b.0.profile.login));
        Ok(out)
    }

    /// Creates an API token owned by `owner` (an admin creates their own; the operator CLI any),
    /// unrestricted or limited to `scopes`.
    pub async fn create_api_token(
        &self,
        ctx: &Context,
        owner: UserId,
        name: &str,
        secret: Option<String>,
        scopes: Option<Vec<String>>,
    ) -> Result<NewApiToken, DomainError> {
        if let Some(scopes) = &scopes {
            let mut p = crate::error::Problems::default();
            p.check(
                scopes.is_empty(),
                "scopes: name at least one scope, or leave scopes out",
            );
            for s in scopes {
                p.check(
                    !crate::logout::upstream::KNOWN_SCOPES.contains(&s.as_str()),
                    format!(
                        "scopes: {s:?} is not a scope ulo knows (known: {})",
                        crate::logout::upstream::KNOWN_SCOPES.join(", ")
                    ),
                );
            }
            p.finish("Api validation failed: token")?;
        }
        let name = name.trim();
        if name.is_empty() || name.len() > 255 {
            return Err(DomainError::invalid(
                "Api validation failed: token",
                "name: must be 1 to 255 characters",
            ));
        }
        let secret = secret.unwrap_or_else(new_token_secret);
        if secret.len() < 20 {
            return Err(DomainError::invalid(
                "Api validation failed: token",
                "token: must be at least 20 characters",
            ));
        }
        let mut tx = self.store.begin().await?;
        let u = tx
            .get_user(owner)
            .await?
            .ok_or_else(|| DomainError::not_found("user", owner))?;
        if u.status != UserStatus::Active {
            return Err(DomainError::InvalidState(format!(
                "Cannot create an API token for {} whose status is {}",
                u.profile.login, u.status
            )));
        }
        let roles = tx.list_roles(u.id).await?;
        if roles.is_empty() {
            return Err(DomainError::InvalidState(format!(
                "{} holds no admin role; API tokens act with their owner's roles",
                u.profile.login
            )));
        }
        if scopes.is_some() && !roles.contains(&AdminRole::SuperAdmin) {
            return Err(DomainError::InvalidState(format!(
                "{} does not hold SUPER_ADMIN, which logging users out needs",
                u.profile.login
            )));
        }
        let now = self.clock.now();
        let mut token = ApiToken::new(u.id, name, &secret, now);
        token.scopes = scopes;
        tx.insert_api_token(&token).await?;
        let ev = LogEvent::build(
            ctx,
            events::system::API_TOKEN_CREATE,
            now,
            format!("Create API token {name}"),
        )
        .target(token_target(&token))
        .target(Target::user(&u))
        .finish();
        tx.append_event(&ev).await?;
        tx.commit().await?;
        Ok(NewApiToken { token, secret })
    }

    /// Tokens owned by `owner`.
    pub async fn list_api_tokens(&self, owner: UserId) -> Result<Vec<ApiToken>, DomainError> {
        let mut tx = self.store.read().await?;
        Ok(tx.list_api_tokens(owner).await?)
    }

    /// Revokes a token; an admin may revoke their own, a super admin anyone's.
    pub async fn revoke_api_token(&self, ctx: &Context, id: &str) -> Result<(), DomainError> {
        let tid: ApiTokenId = id
            .parse()
            .map_err(|_| DomainError::not_found("API token", id))?;
        let mut tx = self.store.begin().await?;
        let token = tx
            .get_api_token(tid)
            .await?
            .ok_or_else(|| DomainError::not_found("API token", id))?;
        if Some(token.user_id) != ctx.actor_user {
            require_write(ctx)?;
        }
        let now = self.clock.now();
        if !tx.revoke_api_token(tid, now).await? {
            return Err(DomainError::not_found("API token", id));
        }
        let ev = LogEvent::build(
            ctx,
            events::system::API_TOKEN_REVOKE,
            now,
            format!("Revoke API token {}", token.name),
        )
        .target(token_target(&token))
        .finish();
        tx.append_event(&ev).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Whether an ACTIVE user other than `except` holds SUPER_ADMIN (the holders stay locked until
/// the transaction ends, so two admins cannot demote each other at once).
pub(super) async fn other_active_super_admin(
    tx: &mut dyn StoreTx,
    except: UserId,
) -> Result<bool, DomainError> {
    let holders = tx.role_holders(AdminRole::SuperAdmin).await?;
    Ok(holders
        .iter()
        .any(|u| u.id != except && u.status == UserStatus::Active))
}

/// What a SCIM credential wants to do with a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Read it.
    Read,
    /// Change it (profile, status, groups, SCIM attributes) or delete it.
    Write,
}

/// Refuses a SCIM credential reaching a user who holds an admin role: SCIM manages ordinary
/// people, so an admin account is read-only to it, and hidden from it unless the operator shows
/// admins to SCIM. Other actors pass.
pub(crate) async fn check_provisioning_reach(
    tx: &mut dyn StoreRead,
    ctx: &Context,
    user: &User,
    reach: Reach,
) -> Result<(), DomainError> {
    let Authority::Provisioning { sees_admins } = ctx.authority else {
        return Ok(());
    };
    if reach == Reach::Read && sees_admins {
        return Ok(());
    }
    let roles = tx.list_roles(user.id).await?;
    if roles.is_empty() {
        return Ok(());
    }
    let held = roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    Err(DomainError::Forbidden(match reach {
        Reach::Write => format!(
            "User {} holds an admin role ({held}): SCIM credentials manage ordinary people only, so admin accounts are read-only through SCIM; change this user with the admin API",
            user.id
        ),
        Reach::Read => format!(
            "User {} holds an admin role ({held}): admin accounts are hidden from SCIM credentials (an operator can show them with ULO_SCIM_SHOW_ADMINS=1; they stay read-only)",
            user.id
        ),
    }))
}

/// The ids of users who hold any admin role, when `ctx` is a SCIM credential that must not see
/// them; `None` when nothing is hidden from `ctx`.
pub(crate) async fn hidden_admins(
    tx: &mut dyn StoreRead,
    ctx: &Context,
) -> Result<Option<std::collections::HashSet<UserId>>, DomainError> {
    if !matches!(
        ctx.authority,
        Authority::Provisioning { sees_admins: false }
    ) {
        return Ok(None);
    }
    let mut ids = std::collections::HashSet::new();
    for role in [AdminRole::SuperAdmin, AdminRole::ReadOnlyAdmin] {
        ids.extend(tx.role_holders(role).await?.into_iter().map(|u| u.id));
    }
    Ok(Some(ids))
}

/// A keyset listing of users.
pub(crate) enum UserListing<'a> {
    /// A user search.
    Users(&'a crate::store::UserQuery),
    /// A group's members.
    Members(crate::ids::GroupId),
}

/// A page of `listing` with the `hidden` users left out, still `page.limit` long while more
/// exist.
pub(crate) async fn visible_page(
    tx: &mut dyn StoreRead,
    hidden: &std::collections::HashSet<UserId>,
    listing: UserListing<'_>,
    page: &crate::store::Page,
) -> Result<Vec<User>, DomainError> {
    let limit = page.limit as usize;
    let mut next = page.clone();
    let mut out = Vec::new();
    loop {
        let batch = match &listing {
            UserListing::Users(q) => {
                let q = crate::store::UserQuery {
                    page: next.clone(),
                    ..(*q).clone()
                };
                tx.list_users(&q).await?
            }
            UserListing::Members(group) => tx.list_members(*group, &next).await?,
        };
        let more = batch.len() >= limit;
        next.after = batch.last().map(|u| u.id.to_string());
        out.extend(batch.into_iter().filter(|u| !hidden.contains(&u.id)));
        if !more || out.len() >= limit {
            out.truncate(limit);
            return Ok(out);
        }
    }
}

/// Refuses a credential that may not manage admin roles (SCIM, logout-only tokens).
fn require_role_authority(ctx: &Context) -> Result<(), DomainError> {
    if ctx.authority == Authority::Full {
        Ok(())
    } else {
        Err(DomainError::Forbidden(
            "You do not have permission to perform the requested action: admin roles are granted and revoked only by an admin, never by a SCIM or logout-only credential".into(),
        ))
    }
}
