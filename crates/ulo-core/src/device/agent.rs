//! What agents do once enrolled: check in and poll for commands, and acknowledge them. The
//! HTTP layer has verified the request's signature with the device's key; here, in the same
//! transaction as the call's effect, the device must still be active and the request's `jti`
//! unseen (a replay is refused on every node).

use time::OffsetDateTime;

use super::logout::complete_command;
use super::{
    CommandStatus, Device, DeviceCommand, DeviceSettings, DeviceStatus, DeviceUser,
    check_agent_version,
};
use crate::clock::Clock;
use crate::error::{DomainError, Problems};
use crate::ids::{DeviceCommandId, DeviceId};
use crate::logout::Logout;
use crate::store::{Page, Store, StoreTx, UserQuery};
use crate::user::User;

/// One authenticated agent request: the device whose key signed it, and the request's unique
/// id, remembered until `expires` so it is accepted once.
#[derive(Debug, Clone)]
pub struct AgentCall {
    /// The device.
    pub device: DeviceId,
    /// The request's `jti`.
    pub jti: String,
    /// When the request's signature expires.
    pub expires: OffsetDateTime,
}

/// What the agent reports about its machine on each poll.
#[derive(Debug, Clone, Default)]
pub struct AgentReport {
    /// Who is signed in at the console (the OS account name), if anyone.
    pub console_user: Option<String>,
    /// OS version.
    pub os_version: Option<String>,
    /// Host name.
    pub hostname: Option<String>,
    /// The agent's version.
    pub agent_version: Option<String>,
}

/// What a poll answers.
#[derive(Debug, Clone)]
pub struct Polled {
    /// The device, as updated.
    pub device: Device,
    /// Commands to run now.
    pub commands: Vec<DeviceCommand>,
}

/// The device of an authenticated call, refused when unknown, revoked, or the call replayed.
async fn authenticate(
    tx: &mut dyn StoreTx,
    call: &AgentCall,
    now: OffsetDateTime,
) -> Result<Device, DomainError> {
    let device = active_device(tx, call.device).await?;
    let namespace = format!("device:{}", call.device);
    if !tx
        .remember_jti(&namespace, &call.jti, call.expires, now)
        .await?
    {
        return Err(DomainError::Unauthorized(
            "Replayed agent request: this request's jti was already used; sign each request anew"
                .into(),
        ));
    }
    Ok(device)
}

/// The device, refused when unknown (401) or revoked (403).
pub async fn active_device(tx: &mut dyn StoreTx, id: DeviceId) -> Result<Device, DomainError> {
    let device = tx.get_device(id).await?.ok_or_else(|| {
        DomainError::Unauthorized(format!(
            "Unknown device {id}: enroll this computer again (ulo agent enroll)"
        ))
    })?;
    if device.status == DeviceStatus::Revoked {
        return Err(DomainError::Forbidden(format!(
            "Device {id} was revoked{}: its calls are refused; enroll it again with a new enrollment token",
            device
                .revoked
                .map(|t| format!(" at {}", crate::clock::rfc3339(t)))
                .unwrap_or_default()
        )));
    }
    Ok(device)
}

/// The ulo user an OS account name stands for: the user with that login, or else the one user
/// whose login is `<name>@…`.
async fn resolve_console_user(
    tx: &mut dyn StoreTx,
    name: &str,
) -> Result<Option<User>, DomainError> {
    if let Some(u) = tx.get_user_by_login(name).await? {
        return Ok(Some(u));
    }
    if name.contains('@') {
        return Ok(None);
    }
    let prefix = format!("{}@", name.to_lowercase());
    let found = tx
        .list_users(&UserQuery {
            q: Some(prefix.clone()),
            filter: None,
            page: Page {
                after: None,
                limit: 3,
            },
        })
        .await?;
    let mut matching = found
        .into_iter()
        .filter(|u| u.profile.login.to_lowercase().starts_with(&prefix));
    match (matching.next(), matching.next()) {
        (Some(u), None) => Ok(Some(u)),
        _ => Ok(None),
    }
}

fn validate(report: &AgentReport) -> Result<(), DomainError> {
    let mut p = Problems::default();
    let bad = |v: &Option<String>, max: usize| {
        v.as_ref()
            .is_some_and(|s| s.trim().is_empty() || s.chars().count() > max)
    };
    p.check(
        bad(&report.console_user, 256),
        "consoleUser: must be 1 to 256 characters",
    );
    p.check(
        bad(&report.os_version, 100),
        "osVersion: must be 1 to 100 characters",
    );
    p.check(
        bad(&report.hostname, 253),
        "hostname: must be 1 to 253 characters",
    );
    p.finish("Invalid agent report")
}

/// A device's open commands, handed out now: the unexpired ones become DELIVERED.
async fn hand_out(
    tx: &mut dyn StoreTx,
    device: DeviceId,
    now: OffsetDateTime,
) -> Result<Vec<DeviceCommand>, DomainError> {
    let mut out = Vec::new();
    for mut c in tx.open_device_commands(device).await? {
        if c.expires <= now {
            // Its expiry job records it; a device must not act on it any more.
            continue;
        }
        c.status = CommandStatus::Delivered;
        c.delivered.get_or_insert(now);
        c.deliveries += 1;
        tx.update_device_command(&c).await?;
        out.push(c);
    }
    Ok(out)
}

/// An agent's poll: refuses a revoked device, a replay or an agent below the minimum version;
/// records what it reports (last seen, versions, console user ↔ ulo user) and hands out its
/// open commands.
pub async fn poll(
    store: &dyn Store,
    clock: &dyn Clock,
    settings: &DeviceSettings,
    call: &AgentCall,
    report: &AgentReport,
) -> Result<Polled, DomainError> {
    validate(report)?;
    let mut tx = store.begin().await?;
    let now = clock.now();
    let mut device = authenticate(tx.as_mut(), call, now).await?;
    if let Some(v) = &report.agent_version {
        device.agent_version = v.trim().to_string();
    }
    check_agent_version(&device.agent_version, settings.min_agent_version)?;
    if let Some(v) = &report.os_version {
        device.os_version = v.trim().to_string();
    }
    if let Some(h) = &report.hostname {
        device.hostname = h.trim().to_string();
    }
    device.console_user = report.console_user.as_ref().map(|s| s.trim().to_string());
    device.last_seen = Some(now);
    tx.update_device(&device).await?;
    if let Some(name) = &device.console_user
        && let Some(user) = resolve_console_user(tx.as_mut(), name).await?
    {
        tx.put_device_user(&DeviceUser {
            device_id: device.id,
            user_id: user.id,
            os_login: name.clone(),
            first_seen: now,
            last_seen: now,
        })
        .await?;
    }
    let commands = hand_out(tx.as_mut(), device.id, now).await?;
    tx.commit().await?;
    Ok(Polled { device, commands })
}

/// Hands out a device's open commands (a long-poll that was woken); nothing for a device
/// revoked meanwhile.
pub async fn take_pending(
    store: &dyn Store,
    clock: &dyn Clock,
    device: DeviceId,
) -> Result<Vec<DeviceCommand>, DomainError> {
    let mut tx = store.begin().await?;
    let d = active_device(tx.as_mut(), device).await?;
    let commands = hand_out(tx.as_mut(), d.id, clock.now()).await?;
    tx.commit().await?;
    Ok(commands)
}

/// An agent acknowledges a command with its outcome: the DEVICE target on the receipt becomes
/// SUCCEEDED or FAILED with the detail. Repeating the same acknowledgement is harmless; a
/// different answer to an answered command, or one to an expired command, is refused.
pub async fn ack(
    store: &dyn Store,
    clock: &dyn Clock,
    call: &AgentCall,
    command: DeviceCommandId,
    success: bool,
    detail: Option<String>,
) -> Result<(DeviceCommand, Option<Logout>), DomainError> {
    if detail.as_ref().is_some_and(|d| d.chars().count() > 2000) {
        return Err(DomainError::invalid(
            "Invalid acknowledgement",
            "detail: at most 2,000 characters",
        ));
    }
    let mut tx = store.begin().await?;
    let now = clock.now();
    let device = authenticate(tx.as_mut(), call, now).await?;
    let mut c = tx
        .get_device_command(command)
        .await?
        .filter(|c| c.device_id == device.id)
        .ok_or_else(|| DomainError::not_found("device command", command))?;
    let wanted = if success {
        CommandStatus::Succeeded
    } else {
        CommandStatus::Failed
    };
    if c.status.is_final() {
        if c.status == wanted {
            tx.commit().await?;
            return Ok((c, None));
        }
        return Err(DomainError::InvalidState(match c.status {
            CommandStatus::Expired => format!(
                "Command {command} expired at {} before it was acknowledged",
                crate::clock::rfc3339(c.expires)
            ),
            s => format!("Command {command} was already acknowledged as {s}"),
        }));
    }
    let detail = detail.filter(|d| !d.trim().is_empty());
    let logout = complete_command(tx.as_mut(), &mut c, wanted, detail, device.actor(), now).await?;
    tx.commit().await?;
    Ok((c, logout))
}
