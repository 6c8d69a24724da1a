//! Signing keys.

use super::StoreError;
use crate::auth::KeyState;
use crate::auth::SigningKeyRecord;
use async_trait::async_trait;
use time::OffsetDateTime;

/// What a read handle or a transaction can read of this area.
#[async_trait]
pub trait KeysRead: Send {
    /// Every signing key, oldest first.
    async fn list_signing_keys(&mut self) -> Result<Vec<SigningKeyRecord>, StoreError>;
}

/// What a transaction can change in this area (a part of [`StoreTx`](super::StoreTx)).
#[async_trait]
pub trait KeysTx: KeysRead {
    /// Stores a new signing key.
    async fn insert_signing_key(&mut self, key: &SigningKeyRecord) -> Result<(), StoreError>;
    /// Moves a key to `state`; false when unknown.
    async fn set_signing_key_state(
        &mut self,
        kid: &str,
        state: KeyState,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}
