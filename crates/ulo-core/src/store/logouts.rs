//! Universal Logout: receipts and their targets, and the upstream identity providers whose logouts
//! ulo accepts.

use super::Page;
use super::StoreError;
use crate::ids::UserId;
use async_trait::async_trait;

/// What a read handle or a transaction can read of this area.
#[async_trait]
pub trait LogoutsRead: Send {
    /// A logout receipt.
    async fn get_logout(
        &mut self,
        id: crate::ids::LogoutId,
    ) -> Result<Option<crate::logout::Logout>, StoreError>;
    /// Receipts newest first (`page.after` continues below that id), optionally of one user
    /// and in one status.
    async fn list_logouts(
        &mut self,
        user: Option<UserId>,
        status: Option<crate::logout::LogoutStatus>,
        page: &Page,
    ) -> Result<Vec<crate::logout::Logout>, StoreError>;
    /// The `limit` newest receipts of `user` in `status`, without their targets (`targets` is
    /// empty): what [`LogoutsRead::list_logouts`] answers, read and parsed for less.
    async fn list_logout_headers(
        &mut self,
        user: UserId,
        status: crate::logout::LogoutStatus,
        limit: u32,
    ) -> Result<Vec<crate::logout::Logout>, StoreError>;
    /// Every upstream identity provider, oldest first.
    async fn list_upstream_idps(
        &mut self,
    ) -> Result<Vec<crate::logout::upstream::UpstreamIdp>, StoreError>;
}

/// What a transaction can change in this area (a part of [`StoreTx`](super::StoreTx)).
#[async_trait]
pub trait LogoutsTx: LogoutsRead {
    /// Stores a new logout receipt.
    async fn insert_logout(&mut self, logout: &crate::logout::Logout) -> Result<(), StoreError>;
    /// A logout receipt, locked until the transaction ends (PostgreSQL `FOR UPDATE`; SQLite's
    /// single writer serializes anyway) so concurrent deliveries update it one after another.
    async fn get_logout_for_update(
        &mut self,
        id: crate::ids::LogoutId,
    ) -> Result<Option<crate::logout::Logout>, StoreError>;
    /// Updates a receipt's status and completion (not its targets).
    async fn update_logout(&mut self, logout: &crate::logout::Logout) -> Result<(), StoreError>;
    /// Updates one target of a receipt.
    async fn update_logout_target(
        &mut self,
        id: crate::ids::LogoutId,
        position: usize,
        target: &crate::logout::LogoutTarget,
    ) -> Result<(), StoreError>;
    /// Writes the targets of `logout` at `positions` (each once) and, when `header`, its status
    /// and completion: [`LogoutsTx::update_logout_target`] and [`LogoutsTx::update_logout`] at
    /// once.
    async fn update_logout_parts(
        &mut self,
        logout: &crate::logout::Logout,
        positions: &[usize],
        header: bool,
    ) -> Result<(), StoreError> {
        for p in positions {
            if let Some(t) = logout.targets.get(*p) {
                self.update_logout_target(logout.id, *p, t).await?;
            }
        }
        if header {
            self.update_logout(logout).await?;
        }
        Ok(())
    }
    /// Registers an upstream identity provider (unique issuer).
    async fn insert_upstream_idp(
        &mut self,
        idp: &crate::logout::upstream::UpstreamIdp,
    ) -> Result<(), StoreError>;
    /// Removes one; false when unknown.
    async fn delete_upstream_idp(&mut self, id: &str) -> Result<bool, StoreError>;
}
