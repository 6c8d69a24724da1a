//! Admin roles and API tokens.

use super::StoreError;
use crate::auth::ApiToken;
use crate::ids::ApiTokenId;
use crate::ids::UserId;
use crate::user::AdminRole;
use crate::user::User;
use async_trait::async_trait;
use time::OffsetDateTime;

/// What a read handle or a transaction can read of this area.
#[async_trait]
pub trait AdminRead: Send {
    /// Roles a user holds.
    async fn list_roles(&mut self, user: UserId) -> Result<Vec<AdminRole>, StoreError>;
    /// Users holding `role`, locked until the transaction ends (PostgreSQL `FOR UPDATE`; SQLite's
    /// single writer serializes anyway) so "is another admin left?" checks cannot race (on a read handle nothing stays locked).
    async fn role_holders(&mut self, role: AdminRole) -> Result<Vec<User>, StoreError>;
    /// A live API token by hash with its owner and the owner's admin roles, in one read.
    async fn find_api_token_owner(
        &mut self,
        hash: &str,
    ) -> Result<Option<(ApiToken, User, Vec<AdminRole>)>, StoreError>;
    /// An unrevoked token by hash.
    async fn find_api_token(&mut self, hash: &str) -> Result<Option<ApiToken>, StoreError>;
    /// A token by id.
    async fn get_api_token(&mut self, id: ApiTokenId) -> Result<Option<ApiToken>, StoreError>;
    /// A user's tokens, newest last.
    async fn list_api_tokens(&mut self, user: UserId) -> Result<Vec<ApiToken>, StoreError>;
}

/// What a transaction can change in this area (a part of [`StoreTx`](super::StoreTx)).
#[async_trait]
pub trait AdminTx: AdminRead {
    /// Grants a role; false when already held.
    async fn grant_role(
        &mut self,
        user: UserId,
        role: AdminRole,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Revokes a role; false when not held.
    async fn revoke_role(&mut self, user: UserId, role: AdminRole) -> Result<bool, StoreError>;
    /// Stores a new API token.
    async fn insert_api_token(&mut self, token: &ApiToken) -> Result<(), StoreError>;
    /// Records a use.
    async fn touch_api_token(
        &mut self,
        id: ApiTokenId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Revokes a token; false when already revoked or unknown.
    async fn revoke_api_token(
        &mut self,
        id: ApiTokenId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}
