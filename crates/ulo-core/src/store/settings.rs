//! Server settings (early-access features, the device CA, the master key check).

use super::StoreError;
use async_trait::async_trait;
use time::OffsetDateTime;

/// What a read handle or a transaction can read of this area.
#[async_trait]
pub trait SettingsRead: Send {
    /// A server setting.
    async fn get_setting(&mut self, key: &str) -> Result<Option<serde_json::Value>, StoreError>;
}

/// What a transaction can change in this area (a part of [`StoreTx`](super::StoreTx)).
#[async_trait]
pub trait SettingsTx: SettingsRead {
    /// Stores a server setting.
    async fn put_setting(
        &mut self,
        key: &str,
        value: &serde_json::Value,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
}
