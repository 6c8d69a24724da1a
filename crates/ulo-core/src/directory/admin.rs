//! Admin roles and API tokens.

use super::users::load_user;
use super::{Directory, require_read, require_write};
use crate::auth::{ApiToken, new_token_secret};
use crate::context::Context;
use crate::error::DomainError;
use crate::ids::{ApiTokenId, UserId};
use crate::log::{LogEvent, Target};
use crate::store::StoreTx;
use crate::user::{AdminRole, UserStatus};

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
        let mut tx = self.store.begin().await?;
        let u = load_user(tx.as_mut(), user).await?;
        let now = self.clock.now();
        if tx.grant_role(u.id, role, now).await? {
            let ev = LogEvent::build(
                ctx,
                "user.account.privilege.grant",
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
            "user.account.privilege.revoke",
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
            "system.api_token.create",
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
            "system.api_token.revoke",
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
