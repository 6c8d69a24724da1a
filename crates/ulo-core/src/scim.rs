//! SCIM service-provider credentials and the SCIM-only data ulo keeps (externalId links).

use crate::log::catalogue as events;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::{hash_token, new_token_secret};
use crate::clock::serde_rfc3339;
use crate::context::{Context, require_read, require_write};
use crate::directory::Directory;
use crate::error::DomainError;
use crate::log::{LogEvent, Target};

/// A bearer credential an HR system or IdP uses on `/scim/v2`; only its hash is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimCredential {
    /// Id (a UUID v7).
    pub id: String,
    /// Name chosen by the admin.
    pub name: String,
    /// First characters of the token, to tell credentials apart.
    pub token_prefix: String,
    /// When created.
    #[serde(with = "serde_rfc3339")]
    pub created: OffsetDateTime,
    /// When revoked, if it was.
    #[serde(with = "serde_rfc3339::option")]
    pub revoked: Option<OffsetDateTime>,
    /// SHA-256 hex of the token.
    #[serde(skip)]
    pub token_hash: String,
}

/// A credential just created, with its secret (shown once).
#[derive(Debug, Clone)]
pub struct NewScimCredential {
    /// The stored record.
    pub credential: ScimCredential,
    /// The bearer token.
    pub secret: String,
}

/// The SCIM resource type an externalId belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimResource {
    /// A user.
    User,
    /// A group.
    Group,
}

impl ScimResource {
    /// The storage form.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimResource::User => "User",
            ScimResource::Group => "Group",
        }
    }
}

fn credential_target(c: &ScimCredential) -> Target {
    Target::new(
        "ScimCredential",
        &c.id,
        c.token_prefix.clone(),
        c.name.clone(),
    )
}

impl Context {
    /// A SCIM client acting with credential `c`; it may change users and groups.
    pub fn scim(
        c: &ScimCredential,
        sees_admins: bool,
        ip: Option<String>,
        user_agent: Option<String>,
    ) -> Self {
        Context {
            authority: crate::context::Authority::Provisioning { sees_admins },
            actor: crate::log::Actor {
                id: c.id.clone(),
                actor_type: "ScimCredential".into(),
                alternate_id: c.token_prefix.clone(),
                display_name: c.name.clone(),
            },
            actor_user: None,
            roles: vec![crate::user::AdminRole::SuperAdmin],
            client: crate::log::Client {
                ip_address: ip,
                user_agent: user_agent
                    .map(|raw_user_agent| crate::log::UserAgent { raw_user_agent }),
                id: None,
            },
            transaction: crate::context::new_transaction("WEB"),
        }
    }
}

impl Directory<'_> {
    /// Creates a SCIM credential (SUPER_ADMIN only).
    pub async fn create_scim_credential(
        &self,
        ctx: &Context,
        name: &str,
    ) -> Result<NewScimCredential, DomainError> {
        require_write(ctx)?;
        let name = name.trim();
        if name.is_empty() || name.len() > 255 {
            return Err(DomainError::invalid(
                "Api validation failed: SCIM credential",
                "name: must be 1 to 255 characters",
            ));
        }
        let secret = new_token_secret();
        let now = self.clock.now();
        let credential = ScimCredential {
            id: Uuid::now_v7().to_string(),
            name: name.to_string(),
            token_prefix: secret.chars().take(8).collect(),
            created: now,
            revoked: None,
            token_hash: hash_token(&secret),
        };
        let mut tx = self.store.begin().await?;
        tx.insert_scim_credential(&credential).await?;
        let ev = LogEvent::build(
            ctx,
            events::system::SCIM_CREDENTIAL_CREATE,
            now,
            format!("Create SCIM credential {name}"),
        )
        .target(credential_target(&credential))
        .finish();
        tx.append_event(&ev).await?;
        tx.commit().await?;
        Ok(NewScimCredential { credential, secret })
    }

    /// Every SCIM credential, revoked ones too (any admin).
    pub async fn list_scim_credentials(
        &self,
        ctx: &Context,
    ) -> Result<Vec<ScimCredential>, DomainError> {
        require_read(ctx)?;
        let mut tx = self.store.read().await?;
        Ok(tx.list_scim_credentials().await?)
    }

    /// Revokes a SCIM credential (SUPER_ADMIN only).
    pub async fn revoke_scim_credential(&self, ctx: &Context, id: &str) -> Result<(), DomainError> {
        require_write(ctx)?;
        let mut tx = self.store.begin().await?;
        let Some(c) = tx
            .list_scim_credentials()
            .await?
            .into_iter()
            .find(|c| c.id == id)
        else {
            return Err(DomainError::not_found("SCIM credential", id));
        };
        let now = self.clock.now();
        if !tx.revoke_scim_credential(id, now).await? {
            return Err(DomainError::not_found("SCIM credential", id));
        }
        let ev = LogEvent::build(
            ctx,
            events::system::SCIM_CREDENTIAL_REVOKE,
            now,
            format!("Revoke SCIM credential {}", c.name),
        )
        .target(credential_target(&c))
        .finish();
        tx.append_event(&ev).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The unrevoked credential whose token is `secret`.
    pub async fn find_scim_credential(
        &self,
        secret: &str,
    ) -> Result<Option<ScimCredential>, DomainError> {
        let mut tx = self.store.read().await?;
        Ok(tx.find_scim_credential(&hash_token(secret)).await?)
    }

    /// Links (or, with `None`, unlinks) a resource to the SCIM client's externalId.
    pub async fn set_scim_external_id(
        &self,
        ctx: &Context,
        resource: ScimResource,
        id: &str,
        external_id: Option<&str>,
    ) -> Result<(), DomainError> {
        require_write(ctx)?;
        let mut tx = self.store.begin().await?;
        check_resource_writable(tx.as_mut(), ctx, resource, id).await?;
        tx.put_scim_external_id(resource.as_str(), id, external_id)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every (resource id, externalId) link of a resource type.
    pub async fn scim_external_ids(
        &self,
        resource: ScimResource,
    ) -> Result<std::collections::HashMap<String, String>, DomainError> {
        let mut tx = self.store.read().await?;
        Ok(tx
            .list_scim_external_ids(resource.as_str())
            .await?
            .into_iter()
            .collect())
    }

    /// Keeps (or, with `None`, forgets) the SCIM attributes a client last wrote for a resource.
    pub async fn set_scim_attributes(
        &self,
        ctx: &Context,
        resource: ScimResource,
        id: &str,
        attributes: Option<&serde_json::Value>,
    ) -> Result<(), DomainError> {
        require_write(ctx)?;
        let mut tx = self.store.begin().await?;
        check_resource_writable(tx.as_mut(), ctx, resource, id).await?;
        tx.put_scim_attributes(resource.as_str(), id, attributes)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One resource's externalId and last-written SCIM attributes (single-row lookups).
    pub async fn scim_attributes_of(
        &self,
        resource: ScimResource,
        id: &str,
    ) -> Result<(Option<String>, Option<serde_json::Value>), DomainError> {
        let mut tx = self.store.read().await?;
        let ext = tx.get_scim_external_id(resource.as_str(), id).await?;
        let attrs = tx.get_scim_attributes(resource.as_str(), id).await?;
        Ok((ext, attrs))
    }

    /// Every resource's SCIM attributes of one type, by resource id.
    pub async fn scim_attributes(
        &self,
        resource: ScimResource,
    ) -> Result<std::collections::HashMap<String, serde_json::Value>, DomainError> {
        let mut tx = self.store.read().await?;
        Ok(tx
            .list_scim_attributes(resource.as_str())
            .await?
            .into_iter()
            .collect())
    }
}

/// Refuses a SCIM credential writing the SCIM attributes of a user it may not change (an admin).
async fn check_resource_writable(
    tx: &mut dyn crate::store::StoreTx,
    ctx: &Context,
    resource: ScimResource,
    id: &str,
) -> Result<(), DomainError> {
    if resource == ScimResource::User
        && let Ok(user_id) = id.parse::<crate::ids::UserId>()
        && let Some(user) = tx.get_user(user_id).await?
    {
        crate::directory::check_provisioning_reach(tx, ctx, &user, crate::directory::Reach::Write)
            .await?;
    }
    Ok(())
}
