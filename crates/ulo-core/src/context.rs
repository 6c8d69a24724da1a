//! Who is acting, from where, in which transaction: passed into every domain operation.

use crate::error::DomainError;
use crate::ids::TransactionId;
use crate::log::{Actor, Client, Transaction, UserAgent};
use crate::user::{AdminRole, User};

/// Why an action that needs the SUPER_ADMIN role is refused.
const NEEDS_SUPER_ADMIN: &str =
    "You do not have permission to perform the requested action: this needs the SUPER_ADMIN role";
/// Why an action that needs any admin role is refused.
const NEEDS_ADMIN: &str =
    "You do not have permission to perform the requested action: this needs an admin role";

/// What the credential behind an action may do, beyond what the actor's roles allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    /// Everything the roles allow: an admin with an unrestricted API token or a session, or ulo
    /// itself.
    Full,
    /// Logging users out and nothing more: an API token limited to
    /// `ulo.universalLogout.manage`, or an upstream identity provider's signed request. Ends
    /// sessions and OAuth tokens; never revokes API tokens (an attacker holding such a
    /// credential must not be able to lock the admins out).
    LogoutOnly,
    /// A SCIM credential: manages ordinary people and groups. A user who holds an admin role
    /// is read-only to it (and hidden from it unless `sees_admins`), and it grants no roles.
    Provisioning {
        /// Whether admin accounts show in its lists and reads (`ULO_SCIM_SHOW_ADMINS`).
        sees_admins: bool,
    },
}

/// The circumstances of one action.
#[derive(Debug, Clone)]
pub struct Context {
    /// Who.
    pub actor: Actor,
    /// The user behind the actor, when a person acts.
    pub actor_user: Option<crate::ids::UserId>,
    /// Roles the actor holds.
    pub roles: Vec<AdminRole>,
    /// From where.
    pub client: Client,
    /// Correlation id for every event of this action.
    pub transaction: Transaction,
    /// What the credential may do.
    pub authority: Authority,
}

impl Context {
    /// ulo acting on its own (jobs, policies, bootstrap).
    pub fn system(transaction_type: &str) -> Self {
        Context {
            actor: Actor::system(),
            actor_user: None,
            roles: vec![AdminRole::SuperAdmin],
            client: Client::default(),
            transaction: new_transaction(transaction_type),
            authority: Authority::Full,
        }
    }

    /// `user` acting in person (as an admin, or for themselves), holding `roles`, from
    /// `client`, within `transaction`.
    pub fn user(
        user: &User,
        roles: Vec<AdminRole>,
        client: Client,
        transaction: Transaction,
    ) -> Self {
        let name = format!("{} {}", user.profile.first_name, user.profile.last_name);
        Context {
            actor: Actor {
                id: user.id.to_string(),
                actor_type: "User".into(),
                alternate_id: user.profile.login.clone(),
                display_name: name.trim().to_string(),
            },
            actor_user: Some(user.id),
            roles,
            client,
            transaction,
            authority: Authority::Full,
        }
    }

    /// An admin acting through the API.
    pub fn admin(
        user: &User,
        roles: Vec<AdminRole>,
        ip: Option<String>,
        user_agent: Option<String>,
    ) -> Self {
        Self::user(
            user,
            roles,
            Client {
                ip_address: ip,
                user_agent: user_agent.map(|raw_user_agent| UserAgent { raw_user_agent }),
                id: None,
            },
            new_transaction("WEB"),
        )
    }

    /// An admin acting through the admin console: like [`Context::admin`], with `client.id`
    /// naming the console.
    pub fn console(
        user: &User,
        roles: Vec<AdminRole>,
        ip: Option<String>,
        user_agent: Option<String>,
    ) -> Self {
        let mut ctx = Self::admin(user, roles, ip, user_agent);
        ctx.client.id = Some(crate::signin::console::CLIENT_ID.to_string());
        ctx
    }

    /// Whether the actor may change things.
    pub fn can_write(&self) -> bool {
        self.roles.contains(&AdminRole::SuperAdmin)
    }

    /// Whether the actor may revoke a user's API tokens in a logout: a SUPER_ADMIN (or ulo
    /// itself) acting with an unrestricted credential.
    pub fn may_revoke_api_tokens(&self) -> bool {
        self.can_write() && self.authority == Authority::Full
    }

    /// Whether the actor may read admin data.
    pub fn can_read(&self) -> bool {
        !self.roles.is_empty()
    }
}

/// A fresh transaction of `transaction_type` (`WEB` for requests, `JOB` for background work).
pub(crate) fn new_transaction(transaction_type: &str) -> Transaction {
    Transaction {
        id: TransactionId::new().to_string(),
        transaction_type: transaction_type.into(),
    }
}

/// Refuses an actor without the SUPER_ADMIN role.
pub(crate) fn require_write(ctx: &Context) -> Result<(), DomainError> {
    if ctx.can_write() {
        Ok(())
    } else {
        Err(DomainError::Forbidden(NEEDS_SUPER_ADMIN.into()))
    }
}

/// Refuses an actor without any admin role.
pub(crate) fn require_read(ctx: &Context) -> Result<(), DomainError> {
    if ctx.can_read() {
        Ok(())
    } else {
        Err(DomainError::Forbidden(NEEDS_ADMIN.into()))
    }
}
