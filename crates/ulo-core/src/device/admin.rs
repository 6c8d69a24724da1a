//! The entry to Device Logout for admins: list, inspect and revoke devices, and (in
//! [`super::logout`]) *Log Out All Devices*. Checks the caller's role once here.

use super::logout::complete_command;
use super::{CommandStatus, Device, DeviceStatus, DeviceUser};
use crate::clock::Clock;
use crate::context::{Context, require_read, require_write};
use crate::directory::load_user;
use crate::error::DomainError;
use crate::ids::{DeviceId, LogoutId};
use crate::log::LogEvent;
use crate::log::catalogue as events;
use crate::store::{Page, Store};

use time::Duration;

fn parse_id(id: &str) -> Result<DeviceId, DomainError> {
    id.parse().map_err(|_| DomainError::not_found("device", id))
}

/// Enrolled devices, as an admin sees and acts on them.
pub struct Devices<'a> {
    /// Where everything is kept.
    pub store: &'a dyn Store,
    /// What time it is.
    pub clock: &'a dyn Clock,
    /// How long a SIGN_OUT command waits for its acknowledgement before it expires.
    pub command_ttl: Duration,
}

impl Devices<'_> {
    /// Devices in id order. Needs an admin role.
    pub async fn list(&self, ctx: &Context, page: &Page) -> Result<Vec<Device>, DomainError> {
        require_read(ctx)?;
        if let Some(after) = &page.after {
            parse_id(after).map_err(|_| DomainError::invalid("after", "after: not a device id"))?;
        }
        let mut tx = self.store.read().await?;
        Ok(tx.list_devices(page).await?)
    }

    /// A device and the people seen on it. Needs an admin role.
    pub async fn get(
        &self,
        ctx: &Context,
        id: &str,
    ) -> Result<(Device, Vec<DeviceUser>), DomainError> {
        require_read(ctx)?;
        let did = parse_id(id)?;
        let mut tx = self.store.read().await?;
        let device = tx
            .get_device(did)
            .await?
            .ok_or_else(|| DomainError::not_found("device", id))?;
        let users = tx.list_device_users(did).await?;
        Ok((device, users))
    }

    /// The devices a user (by id or login) is seen on. Needs an admin role.
    pub async fn of_user(
        &self,
        ctx: &Context,
        user: &str,
    ) -> Result<Vec<(Device, DeviceUser)>, DomainError> {
        require_read(ctx)?;
        let mut tx = self.store.read().await?;
        let u = load_user(tx.as_mut(), user).await?;
        Ok(tx.list_user_devices(u.id).await?)
    }

    /// Revokes a device (`device.lifecycle.revoke`): every later call of its agent is refused, and
    /// its unanswered commands fail on their receipts. Answers the device and the receipts that
    /// changed. Needs SUPER_ADMIN.
    pub async fn revoke(
        &self,
        ctx: &Context,
        id: &str,
    ) -> Result<(Device, Vec<LogoutId>), DomainError> {
        require_write(ctx)?;
        let did = parse_id(id)?;
        let mut tx = self.store.begin().await?;
        let mut device = tx
            .get_device(did)
            .await?
            .ok_or_else(|| DomainError::not_found("device", id))?;
        let mut changed = Vec::new();
        if device.status == DeviceStatus::Revoked {
            return Ok((device, changed));
        }
        let now = self.clock.now();
        device.status = DeviceStatus::Revoked;
        device.revoked = Some(now);
        tx.update_device(&device).await?;
        let ev = LogEvent::build(
            ctx,
            events::device::REVOKE,
            now,
            format!("Revoke device {}", device.hostname),
        )
        .target(device.target())
        .debug(
            "certificateSerial",
            device.certificate.serial_number.clone(),
        )
        .finish();
        tx.append_event(&ev).await?;
        for mut c in tx.open_device_commands(did).await? {
            let why = "the device was revoked before it acknowledged the command".to_string();
            if let Some(l) = complete_command(
                tx.as_mut(),
                &mut c,
                CommandStatus::Failed,
                Some(why),
                ctx.actor.clone(),
                now,
            )
            .await?
            {
                changed.push(l.id);
            }
        }
        tx.commit().await?;
        Ok((device, changed))
    }
}
