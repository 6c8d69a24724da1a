//! Users: profiles, password hashes, and the row lock that serializes one user's sign-ins.

use super::StoreError;
use super::UserQuery;
use crate::ids::UserId;
use crate::user::User;
use async_trait::async_trait;

/// What a read handle or a transaction can read of this area.
#[async_trait]
pub trait UsersRead: Send {
    /// The password hash, if the user has one.
    async fn password_hash(&mut self, id: UserId) -> Result<Option<String>, StoreError>;
    /// A user by id.
    async fn get_user(&mut self, id: UserId) -> Result<Option<User>, StoreError>;
    /// A user by login (case-insensitive).
    async fn get_user_by_login(&mut self, login: &str) -> Result<Option<User>, StoreError>;
    /// Searches users in id order.
    async fn list_users(&mut self, query: &UserQuery) -> Result<Vec<User>, StoreError>;
    /// How many users there are.
    async fn count_users(&mut self) -> Result<i64, StoreError>;
}

/// What a transaction can change in this area (a part of [`StoreTx`](super::StoreTx)).
#[async_trait]
pub trait UsersTx: UsersRead {
    /// Inserts a user with an optional password hash.
    async fn insert_user(
        &mut self,
        user: &User,
        password_hash: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Replaces a user's stored fields.
    async fn update_user(&mut self, user: &User) -> Result<(), StoreError>;
    /// Sets the password hash.
    async fn set_password_hash(&mut self, id: UserId, hash: &str) -> Result<(), StoreError>;
    /// Removes a user and everything that hangs on it (memberships, assignments, roles, tokens).
    async fn delete_user(&mut self, id: UserId) -> Result<bool, StoreError>;
    /// Locks a user's row until the transaction ends (PostgreSQL `FOR UPDATE`; SQLite's single
    /// writer serializes anyway), so sign-ins, session clears and password resets of one user
    /// cannot interleave; false when the user does not exist.
    async fn lock_user(&mut self, user: UserId) -> Result<bool, StoreError>;
}
