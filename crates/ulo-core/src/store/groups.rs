//! Groups and their members.

use super::Page;
use super::StoreError;
use crate::group::Group;
use crate::ids::GroupId;
use crate::ids::UserId;
use crate::user::User;
use async_trait::async_trait;
use time::OffsetDateTime;

/// What a read handle or a transaction can read of this area.
#[async_trait]
pub trait GroupsRead: Send {
    /// A group by id.
    async fn get_group(&mut self, id: GroupId) -> Result<Option<Group>, StoreError>;
    /// Groups in id order, optionally by name prefix.
    async fn list_groups(&mut self, q: Option<&str>, page: &Page)
    -> Result<Vec<Group>, StoreError>;
    /// Members in id order.
    async fn list_members(&mut self, group: GroupId, page: &Page) -> Result<Vec<User>, StoreError>;
    /// Groups a user belongs to.
    async fn list_user_groups(&mut self, user: UserId) -> Result<Vec<Group>, StoreError>;
}

/// What a transaction can change in this area (a part of [`StoreTx`](super::StoreTx)).
#[async_trait]
pub trait GroupsTx: GroupsRead {
    /// Inserts a group.
    async fn insert_group(&mut self, group: &Group) -> Result<(), StoreError>;
    /// Replaces a group's stored fields.
    async fn update_group(&mut self, group: &Group) -> Result<(), StoreError>;
    /// Removes a group and its memberships and assignments.
    async fn delete_group(&mut self, id: GroupId) -> Result<bool, StoreError>;
    /// Adds a member; false when already a member.
    async fn add_member(
        &mut self,
        group: GroupId,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Removes a member; false when not a member.
    async fn remove_member(&mut self, group: GroupId, user: UserId) -> Result<bool, StoreError>;
}
