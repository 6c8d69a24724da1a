//! People and groups: created and changed by SCIM (or, for people, by an admin), with their
//! audit events in the same transaction. Deactivating or deleting a person ends their sessions.

use serde_json::Value;

use crate::audit::{self, person_target};
use crate::error::{StoreError, VaultError};
use crate::model::{Actor, AuditTarget, Group, Person, Provisioning, new_id};
use crate::store::Tx;
use crate::vault::Vault;

/// What a person is made of, as SCIM (or an admin) sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonInput {
    /// The userName.
    pub user_name: String,
    /// ulo's user id.
    pub external_id: Option<String>,
    /// May sign in.
    pub active: bool,
    /// `name`, `emails`, `displayName` as sent.
    pub attributes: Value,
}

/// What a group is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupInput {
    /// Its displayName.
    pub display_name: String,
    /// Its externalId.
    pub external_id: Option<String>,
    /// Member person ids.
    pub members: Vec<String>,
}

fn conflict(e: StoreError, what: &str) -> VaultError {
    match e {
        StoreError::Conflict(_) => VaultError::Conflict(what.to_string()),
        e => e.into(),
    }
}

impl Vault {
    /// Creates a person; `by` says how (SCIM or an admin).
    pub async fn create_person(
        &self,
        input: PersonInput,
        by: Provisioning,
    ) -> Result<Person, VaultError> {
        validate(&input)?;
        let now = self.clock.now();
        let person = Person {
            id: new_id(),
            user_name: input.user_name.trim().to_string(),
            external_id: input.external_id,
            active: input.active,
            provisioned_by: by,
            attributes: input.attributes,
            tokens_not_before: None,
            created: now,
            updated: now,
        };
        let mut tx = self.begin().await?;
        unique(tx.as_mut(), &person, None).await?;
        tx.insert_person(&person)
            .await
            .map_err(|e| conflict(e, "a person with this userName or externalId exists"))?;
        let actor = actor_for(by);
        tx.append_event(
            &audit::event("person.create", &actor, now)
                .target(person_target(&person))
                .detail("provisionedBy", by.as_str())
                .detail("externalId", person.external_id.clone()),
        )
        .await?;
        tx.commit().await?;
        Ok(person)
    }

    /// Changes a person by SCIM: `change` gets the current person and answers the new
    /// attributes (PUT replaces, PATCH applies operations). Read and write share one transaction.
    pub async fn update_person(
        &self,
        id: &str,
        change: impl FnOnce(&Person) -> Result<PersonInput, VaultError> + Send,
    ) -> Result<Person, VaultError> {
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        let before = tx
            .person(id)
            .await?
            .ok_or_else(|| VaultError::not_found(format!("no person with id {id:?}")))?;
        let input = change(&before)?;
        validate(&input)?;
        let mut after = before.clone();
        after.user_name = input.user_name.trim().to_string();
        after.external_id = input.external_id;
        after.active = input.active;
        after.attributes = input.attributes;
        after.updated = now;
        unique(tx.as_mut(), &after, Some(id)).await?;
        tx.update_person(&after)
            .await
            .map_err(|e| conflict(e, "a person with this userName or externalId exists"))?;
        let mut ev = audit::event("person.update", &Actor::scim(), now)
            .target(person_target(&after))
            .detail("active", after.active);
        if before.user_name != after.user_name {
            ev = ev.detail("previousUserName", before.user_name.clone());
        }
        tx.append_event(&ev).await?;
        if before.active && !after.active {
            let ended = tx.end_person_sessions(id, now, "deactivated").await?;
            tx.append_event(
                &audit::event("person.deactivate", &Actor::scim(), now)
                    .target(person_target(&after))
                    .detail("sessionsEnded", ended),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(after)
    }

    /// Deletes a person: their sessions and shares go with them.
    pub async fn delete_person(&self, id: &str, actor: &Actor) -> Result<(), VaultError> {
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        let person = tx
            .person(id)
            .await?
            .ok_or_else(|| VaultError::not_found(format!("no person with id {id:?}")))?;
        tx.delete_person(id).await?;
        tx.append_event(&audit::event("person.delete", actor, now).target(person_target(&person)))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates a group with its members.
    pub async fn create_group(&self, input: GroupInput) -> Result<Group, VaultError> {
        validate_group(&input)?;
        let now = self.clock.now();
        let group = Group {
            id: new_id(),
            display_name: input.display_name.trim().to_string(),
            external_id: input.external_id.clone(),
            created: now,
            updated: now,
        };
        let mut tx = self.begin().await?;
        if tx.group_by_name(&group.display_name).await?.is_some() {
            return Err(VaultError::Conflict(format!(
                "a group named {:?} exists",
                group.display_name
            )));
        }
        tx.insert_group(&group)
            .await
            .map_err(|e| conflict(e, "a group with this displayName exists"))?;
        set_members(tx.as_mut(), &group.id, &input.members).await?;
        tx.append_event(
            &audit::event("group.create", &Actor::scim(), now)
                .target(group_target(&group))
                .detail("members", input.members.len()),
        )
        .await?;
        tx.commit().await?;
        Ok(group)
    }

    /// Changes a group: `change` gets it and its member ids and answers the new state.
    pub async fn update_group(
        &self,
        id: &str,
        change: impl FnOnce(&Group, &[String]) -> Result<GroupInput, VaultError> + Send,
    ) -> Result<Group, VaultError> {
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        let mut group = tx
            .group(id)
            .await?
            .ok_or_else(|| VaultError::not_found(format!("no group with id {id:?}")))?;
        let members = tx.group_members(id).await?;
        let input = change(&group, &members)?;
        validate_group(&input)?;
        if let Some(other) = tx.group_by_name(&input.display_name).await?
            && other.id != id
        {
            return Err(VaultError::Conflict(format!(
                "a group named {:?} exists",
                input.display_name
            )));
        }
        group.display_name = input.display_name.trim().to_string();
        group.external_id = input.external_id.clone();
        group.updated = now;
        tx.update_group(&group).await?;
        for gone in members.iter().filter(|m| !input.members.contains(m)) {
            tx.remove_group_member(id, gone).await?;
        }
        set_members(tx.as_mut(), id, &input.members).await?;
        tx.append_event(
            &audit::event("group.update", &Actor::scim(), now)
                .target(group_target(&group))
                .detail("members", input.members.len()),
        )
        .await?;
        tx.commit().await?;
        Ok(group)
    }

    /// Deletes a group and the shares made with it.
    pub async fn delete_group(&self, id: &str) -> Result<(), VaultError> {
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        let group = tx
            .group(id)
            .await?
            .ok_or_else(|| VaultError::not_found(format!("no group with id {id:?}")))?;
        tx.delete_group(id).await?;
        tx.append_event(
            &audit::event("group.delete", &Actor::scim(), now).target(group_target(&group)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The audit target for a group.
pub fn group_target(g: &Group) -> AuditTarget {
    AuditTarget {
        kind: "group".into(),
        id: g.id.clone(),
        display_name: g.display_name.clone(),
    }
}

fn actor_for(by: Provisioning) -> Actor {
    match by {
        Provisioning::Scim => Actor::scim(),
        Provisioning::Admin => Actor::admin(),
    }
}

fn validate(input: &PersonInput) -> Result<(), VaultError> {
    let name = input.user_name.trim();
    if name.is_empty() {
        return Err(VaultError::invalid(
            "userName is required and must not be empty",
        ));
    }
    if name.chars().count() > 256 || name.chars().any(char::is_control) {
        return Err(VaultError::invalid(
            "userName must be at most 256 printable characters",
        ));
    }
    if input
        .external_id
        .as_deref()
        .is_some_and(|e| e.trim().is_empty())
    {
        return Err(VaultError::invalid("externalId must not be empty"));
    }
    Ok(())
}

fn validate_group(input: &GroupInput) -> Result<(), VaultError> {
    if input.display_name.trim().is_empty() {
        return Err(VaultError::invalid(
            "displayName is required and must not be empty",
        ));
    }
    Ok(())
}

/// Refuses a userName or externalId another person holds (a clear 409 before the index says so).
async fn unique(tx: &mut dyn Tx, p: &Person, except: Option<&str>) -> Result<(), VaultError> {
    if let Some(other) = tx.person_by_user_name(&p.user_name).await?
        && Some(other.id.as_str()) != except
    {
        return Err(VaultError::Conflict(format!(
            "a person with userName {:?} exists",
            p.user_name
        )));
    }
    if let Some(ext) = &p.external_id
        && let Some(other) = tx.person_by_external_id(ext).await?
        && Some(other.id.as_str()) != except
    {
        return Err(VaultError::Conflict(format!(
            "a person with externalId {ext:?} exists"
        )));
    }
    Ok(())
}

async fn set_members(
    tx: &mut dyn Tx,
    group_id: &str,
    members: &[String],
) -> Result<(), VaultError> {
    for m in members {
        if tx.person(m).await?.is_none() {
            return Err(VaultError::invalid(format!(
                "member {m:?} is not a person in this vault"
            )));
        }
        tx.add_group_member(group_id, m).await?;
    }
    Ok(())
}
