//! Security events providers (ulo as a Shared Signals receiver). The `jti`s of their SETs are
//! remembered with [`SessionsTx::remember_jti`](super::SessionsTx::remember_jti).

use super::StoreError;
use crate::security_events::Provider;
use async_trait::async_trait;

/// What a read handle or a transaction can read of this area.
#[async_trait]
pub trait SecurityEventsRead: Send {
    /// Every provider, oldest first.
    async fn list_security_events_providers(&mut self) -> Result<Vec<Provider>, StoreError>;
    /// A provider by id.
    async fn get_security_events_provider(
        &mut self,
        id: &str,
    ) -> Result<Option<Provider>, StoreError>;
    /// The provider with `issuer`.
    async fn find_security_events_provider(
        &mut self,
        issuer: &str,
    ) -> Result<Option<Provider>, StoreError>;
}

/// What a transaction can change in this area (a part of [`StoreTx`](super::StoreTx)).
#[async_trait]
pub trait SecurityEventsTx: SecurityEventsRead {
    /// Stores a new provider; [`StoreError::Unique`] when its id or issuer is taken.
    async fn insert_security_events_provider(&mut self, p: &Provider) -> Result<(), StoreError>;
    /// Replaces a provider; false when there is none with its id.
    async fn update_security_events_provider(&mut self, p: &Provider) -> Result<bool, StoreError>;
    /// Removes a provider; false when there was none.
    async fn delete_security_events_provider(&mut self, id: &str) -> Result<bool, StoreError>;
}
