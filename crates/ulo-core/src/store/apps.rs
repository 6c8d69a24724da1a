//! Apps and who is assigned to them.

use super::AppLink;
use super::Page;
use super::StoreError;
use crate::app::App;
use crate::group::Group;
use crate::ids::AppId;
use crate::ids::GroupId;
use crate::ids::UserId;
use crate::user::User;
use async_trait::async_trait;
use time::OffsetDateTime;

/// What a read handle or a transaction can read of this area.
#[async_trait]
pub trait AppsRead: Send {
    /// An app by id.
    async fn get_app(&mut self, id: AppId) -> Result<Option<App>, StoreError>;
    /// The apps of `ids` that exist, in any order, in one read.
    async fn get_apps(&mut self, ids: &[AppId]) -> Result<Vec<App>, StoreError>;
    /// An app by OIDC client id.
    async fn get_app_by_client_id(&mut self, client_id: &str) -> Result<Option<App>, StoreError>;
    /// The org's desktop-mfa app (at most one: a unique index keeps it so).
    async fn get_desktop_mfa_app(&mut self) -> Result<Option<App>, StoreError>;
    /// Apps in id order, optionally by label prefix.
    async fn list_apps(&mut self, q: Option<&str>, page: &Page) -> Result<Vec<App>, StoreError>;
    /// Users assigned directly, in id order.
    async fn list_app_users(&mut self, app: AppId, page: &Page) -> Result<Vec<User>, StoreError>;
    /// Groups assigned.
    async fn list_app_groups(&mut self, app: AppId) -> Result<Vec<Group>, StoreError>;
    /// Every app a user reaches, and how.
    async fn list_user_app_links(&mut self, user: UserId) -> Result<Vec<AppLink>, StoreError>;
}

/// What a transaction can change in this area (a part of [`StoreTx`](super::StoreTx)).
#[async_trait]
pub trait AppsTx: AppsRead {
    /// Inserts an app with its secrets.
    async fn insert_app(&mut self, app: &App) -> Result<(), StoreError>;
    /// Replaces an app's stored fields and secrets.
    async fn update_app(&mut self, app: &App) -> Result<(), StoreError>;
    /// Removes an app and its assignments.
    async fn delete_app(&mut self, id: AppId) -> Result<bool, StoreError>;
    /// Assigns a user directly; false when already assigned.
    async fn assign_user(
        &mut self,
        app: AppId,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Removes a direct assignment; false when there was none.
    async fn unassign_user(&mut self, app: AppId, user: UserId) -> Result<bool, StoreError>;
    /// Assigns a group; false when already assigned.
    async fn assign_group(
        &mut self,
        app: AppId,
        group: GroupId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Removes a group assignment; false when there was none.
    async fn unassign_group(&mut self, app: AppId, group: GroupId) -> Result<bool, StoreError>;
}
