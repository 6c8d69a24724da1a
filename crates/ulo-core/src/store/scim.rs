//! SCIM: the service provider's credentials and the externalIds and attributes clients wrote, and
//! provisioning links to apps.

use super::Page;
use super::StoreError;
use crate::ids::AppId;
use crate::ids::UserId;
use async_trait::async_trait;
use time::OffsetDateTime;

/// What a read handle or a transaction can read of this area.
#[async_trait]
pub trait ScimRead: Send {
    /// An unrevoked SCIM credential by token hash.
    async fn find_scim_credential(
        &mut self,
        hash: &str,
    ) -> Result<Option<crate::scim::ScimCredential>, StoreError>;
    /// Every SCIM credential, oldest first.
    async fn list_scim_credentials(
        &mut self,
    ) -> Result<Vec<crate::scim::ScimCredential>, StoreError>;
    /// Every (resource id, externalId) pair of a resource type.
    async fn list_scim_external_ids(
        &mut self,
        resource_type: &str,
    ) -> Result<Vec<(String, String)>, StoreError>;
    /// The externalId of one resource, if a SCIM client gave it one.
    async fn get_scim_external_id(
        &mut self,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<Option<String>, StoreError>;
    /// The SCIM attributes a client last wrote for one resource.
    async fn get_scim_attributes(
        &mut self,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<Option<serde_json::Value>, StoreError>;
    /// Every (resource id, attributes) pair of a resource type.
    async fn list_scim_attributes(
        &mut self,
        resource_type: &str,
    ) -> Result<Vec<(String, serde_json::Value)>, StoreError>;
    /// The provisioning link of a user with an app.
    async fn get_app_user_link(
        &mut self,
        app: AppId,
        user: UserId,
    ) -> Result<Option<crate::provisioning::AppUserLink>, StoreError>;
    /// An app's provisioning links, in user id order.
    async fn list_app_user_links(
        &mut self,
        app: AppId,
        page: &Page,
    ) -> Result<Vec<crate::provisioning::AppUserLink>, StoreError>;
    /// A user's provisioning links, one per app.
    async fn list_user_app_user_links(
        &mut self,
        user: UserId,
    ) -> Result<Vec<crate::provisioning::AppUserLink>, StoreError>;
}

/// What a transaction can change in this area (a part of [`StoreTx`](super::StoreTx)).
#[async_trait]
pub trait ScimTx: ScimRead {
    /// Stores a new SCIM credential.
    async fn insert_scim_credential(
        &mut self,
        credential: &crate::scim::ScimCredential,
    ) -> Result<(), StoreError>;
    /// Revokes a SCIM credential; false when already revoked or unknown.
    async fn revoke_scim_credential(
        &mut self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Sets (or with `None` clears) the externalId a SCIM client gave a resource.
    async fn put_scim_external_id(
        &mut self,
        resource_type: &str,
        resource_id: &str,
        external_id: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Sets (or with `None` clears) the SCIM attributes a client last wrote for a resource.
    async fn put_scim_attributes(
        &mut self,
        resource_type: &str,
        resource_id: &str,
        attributes: Option<&serde_json::Value>,
    ) -> Result<(), StoreError>;
    /// Inserts or replaces a provisioning link.
    async fn put_app_user_link(
        &mut self,
        link: &crate::provisioning::AppUserLink,
    ) -> Result<(), StoreError>;
}
