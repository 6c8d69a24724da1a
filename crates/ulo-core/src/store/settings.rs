//! Server settings (early-access features, the device CA, the master key check).

use super::StoreError;
use async_trait::async_trait;
use time::OffsetDateTime;

/// What a read handle or a transaction can read of this area.
#[async_trait]
pub trait SettingsRead: Send {
    /// A server setting.
    async fn get_setting(&mut self, key: &str) -> Result<Option<serde_json::Value>, StoreError>;
    /// Every server setting whose key starts with `prefix`, in key order.
    async fn settings_with_prefix(
        &mut self,
        prefix: &str,
    ) -> Result<Vec<(String, serde_json::Value)>, StoreError>;
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
    /// Removes a server setting; false when there was none.
    async fn delete_setting(&mut self, key: &str) -> Result<bool, StoreError>;
}
