//! Who is acting, from where, in which transaction: passed into every domain operation.

use crate::ids::TransactionId;
use crate::log::{Actor, Client, Transaction, UserAgent};
use crate::user::{AdminRole, User};

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
}

impl Context {
    /// ulo acting on its own (jobs, policies, bootstrap).
    pub fn system(transaction_type: &str) -> Self {
        Context {
            actor: Actor::system(),
            actor_user: None,
            roles: vec![AdminRole::SuperAdmin],
            client: Client::default(),
            transaction: Transaction {
                id: TransactionId::new().to_string(),
                transaction_type: transaction_type.into(),
            },
        }
    }

    /// An admin acting through the API.
    pub fn admin(
        user: &User,
        roles: Vec<AdminRole>,
        ip: Option<String>,
        user_agent: Option<String>,
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
            client: Client {
                ip_address: ip,
                user_agent: user_agent.map(|raw_user_agent| UserAgent { raw_user_agent }),
            },
            transaction: Transaction {
                id: TransactionId::new().to_string(),
                transaction_type: "WEB".into(),
            },
        }
    }

    /// Whether the actor may change things.
    pub fn can_write(&self) -> bool {
        self.roles.contains(&AdminRole::SuperAdmin)
    }

    /// Whether the actor may read admin data.
    pub fn can_read(&self) -> bool {
        !self.roles.is_empty()
    }
}
