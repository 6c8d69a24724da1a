//! Devices: enrollment tokens, devices, who signs in on them, and commands.

use super::Page;
use super::StoreError;
use crate::device::Device;
use crate::device::DeviceCommand;
use crate::device::DeviceUser;
use crate::device::EnrollmentToken;
use crate::ids::DeviceCommandId;
use crate::ids::DeviceId;
use crate::ids::UserId;
use async_trait::async_trait;
use time::OffsetDateTime;

/// What a read handle or a transaction can read of this area.
#[async_trait]
pub trait DevicesRead: Send {
    /// An enrollment token by the hash of its secret (used and expired ones too).
    async fn find_enrollment_token(
        &mut self,
        hash: &str,
    ) -> Result<Option<EnrollmentToken>, StoreError>;
    /// A device by id.
    async fn get_device(&mut self, id: DeviceId) -> Result<Option<Device>, StoreError>;
    /// Devices in id order.
    async fn list_devices(&mut self, page: &Page) -> Result<Vec<Device>, StoreError>;
    /// The users seen on a device, most recently seen first.
    async fn list_device_users(&mut self, device: DeviceId) -> Result<Vec<DeviceUser>, StoreError>;
    /// The devices a user was seen on, with that link, in device id order.
    async fn list_user_devices(
        &mut self,
        user: UserId,
    ) -> Result<Vec<(Device, DeviceUser)>, StoreError>;
    /// A command by id.
    async fn get_device_command(
        &mut self,
        id: DeviceCommandId,
    ) -> Result<Option<DeviceCommand>, StoreError>;
    /// A device's commands still waiting for an answer (ISSUED or DELIVERED), oldest first.
    async fn open_device_commands(
        &mut self,
        device: DeviceId,
    ) -> Result<Vec<DeviceCommand>, StoreError>;
    /// A device with its commands still waiting for an answer (as [`open_device_commands`]), in
    /// one round trip: what an agent's poll reads.
    ///
    /// [`open_device_commands`]: DevicesRead::open_device_commands
    async fn get_device_with_open_commands(
        &mut self,
        id: DeviceId,
    ) -> Result<Option<(Device, Vec<DeviceCommand>)>, StoreError>;
}

/// What a transaction can change in this area (a part of [`StoreTx`](super::StoreTx)).
#[async_trait]
pub trait DevicesTx: DevicesRead {
    /// Stores a new enrollment token.
    async fn insert_enrollment_token(&mut self, token: &EnrollmentToken) -> Result<(), StoreError>;
    /// Marks an unused token used by `device`; false when it was already used (of two concurrent
    /// enrollments with one token only one gets true).
    async fn consume_enrollment_token(
        &mut self,
        id: &str,
        device: DeviceId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Stores a new device.
    async fn insert_device(&mut self, device: &Device) -> Result<(), StoreError>;
    /// Replaces a device's stored fields.
    async fn update_device(&mut self, device: &Device) -> Result<(), StoreError>;
    /// Records that a user signs in on a device (inserted, or `os_login` and `last_seen` updated).
    async fn put_device_user(&mut self, link: &DeviceUser) -> Result<(), StoreError>;
    /// Stores new commands; each device's watchers wake when the transaction commits.
    async fn insert_device_commands(
        &mut self,
        commands: &[DeviceCommand],
    ) -> Result<(), StoreError>;
    /// Replaces a command's stored fields.
    async fn update_device_command(&mut self, command: &DeviceCommand) -> Result<(), StoreError>;
}
