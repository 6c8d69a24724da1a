//! What agents do once enrolled: check in and poll for commands, and acknowledge them. The
//! HTTP layer has verified the request's signature with the device's key; here the device must
//! still be active and the request's `jti` unseen (a replay is refused on every node). Polls,
//! the hot path, remember their `jti` on its own (group-committed on SQLite) and write the
//! device only when something changed or a command is handed out; an acknowledgement checks
//! both in the transaction of its effect.

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
use crate::store::{Page, Store, StoreRead, StoreTx, UserQuery};
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
        return Err(replayed());
    }
    Ok(device)
}

/// The device, refused when unknown (401) or revoked (403).
pub async fn active_device(tx: &mut dyn StoreRead, id: DeviceId) -> Result<Device, DomainError> {
    let device = tx.get_device(id).await?.ok_or_else(|| unknown_device(id))?;
    ensure_active(&device)?;
    Ok(device)
}

fn unknown_device(id: DeviceId) -> DomainError {
    DomainError::Unauthorized(format!(
        "Unknown device {id}: enroll this computer again (ulo agent enroll)"
    ))
}

/// Refuses a revoked device (403).
fn ensure_active(device: &Device) -> Result<(), DomainError> {
    let id = device.id;
    if device.status == DeviceStatus::Revoked {
        return Err(DomainError::Forbidden(format!(
            "Device {id} was revoked{}: its calls are refused; enroll it again with a new enrollment token",
            device
                .revoked
                .map(|t| format!(" at {}", crate::clock::rfc3339(t)))
                .unwrap_or_default()
        )));
    }
    Ok(())
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
            risk_at: None,
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

/// How stale a device's recorded last call (and its user link) may grow before a poll writes
/// it again: a poll that changes nothing else needs no write transaction (as an API token's
/// `last_used`).
pub const LAST_SEEN_EVERY: time::Duration = time::Duration::seconds(60);

/// Remembers the call's `jti` at once and on every node: refused when it was used before.
async fn refuse_replay(
    store: &dyn Store,
    call: &AgentCall,
    now: OffsetDateTime,
) -> Result<(), DomainError> {
    let namespace = format!("device:{}", call.device);
    if store
        .remember_jti(&namespace, &call.jti, call.expires, now)
        .await?
    {
        Ok(())
    } else {
        Err(replayed())
    }
}

fn replayed() -> DomainError {
    DomainError::Unauthorized(
        "Replayed agent request: this request's jti was already used; sign each request anew"
            .into(),
    )
}

/// `device` with what the agent reports applied (not yet its last call).
fn reported(device: &Device, report: &AgentReport) -> Device {
    let mut d = device.clone();
    if let Some(v) = &report.agent_version {
        d.agent_version = v.trim().to_string();
    }
    if let Some(v) = &report.os_version {
        d.os_version = v.trim().to_string();
    }
    if let Some(h) = &report.hostname {
        d.hostname = h.trim().to_string();
    }
    d.console_user = report.console_user.as_ref().map(|s| s.trim().to_string());
    d
}

/// Whether a poll must write the device: something it reports changed, or its last call on
/// record is older than [`LAST_SEEN_EVERY`].
fn needs_write(stored: &Device, reported: &Device, now: OffsetDateTime) -> bool {
    reported.agent_version != stored.agent_version
        || reported.os_version != stored.os_version
        || reported.hostname != stored.hostname
        || reported.console_user != stored.console_user
        || stored.last_seen.is_none_or(|t| now - t >= LAST_SEEN_EVERY)
}

/// The device's open, unexpired commands, read without a write transaction.
async fn open_commands(
    store: &dyn Store,
    device: DeviceId,
    now: OffsetDateTime,
) -> Result<Vec<DeviceCommand>, DomainError> {
    let mut tx = store.read().await?;
    let mut open = tx.open_device_commands(device).await?;
    open.retain(|c| c.expires > now);
    Ok(open)
}

/// The device (refused when unknown or revoked) and whether it has open, unexpired commands,
/// in one read without a write transaction.
async fn look(
    store: &dyn Store,
    id: DeviceId,
    now: OffsetDateTime,
) -> Result<(Device, bool), DomainError> {
    let mut tx = store.read().await?;
    let (device, open) = tx
        .get_device_with_open_commands(id)
        .await?
        .ok_or_else(|| unknown_device(id))?;
    ensure_active(&device)?;
    Ok((device, open.iter().any(|c| c.expires > now)))
}

/// An agent's poll: refuses an unknown or revoked device, a replay or an agent below the
/// minimum version; records what it reports (last seen, versions, console user ↔ ulo user)
/// and hands out its open commands. A poll that changes nothing and finds no command makes
/// one read and writes only its `jti`.
pub async fn poll(
    store: &dyn Store,
    clock: &dyn Clock,
    settings: &DeviceSettings,
    call: &AgentCall,
    report: &AgentReport,
) -> Result<Polled, DomainError> {
    validate(report)?;
    let now = clock.now();
    let (seen, has_commands) = look(store, call.device, now).await?;
    refuse_replay(store, call, now).await?;
    let device = reported(&seen, report);
    check_agent_version(&device.agent_version, settings.min_agent_version)?;
    if !needs_write(&seen, &device, now) && !has_commands {
        return Ok(Polled {
            device,
            commands: Vec::new(),
        });
    }
    let mut tx = store.begin().await?;
    // Read again in the write transaction: a revocation since decides, and nothing written
    // meanwhile is overwritten with the older copy.
    let stored = active_device(tx.as_mut(), seen.id).await?;
    let mut device = reported(&stored, report);
    if needs_write(&stored, &device, now) {
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
    }
    let commands = hand_out(tx.as_mut(), device.id, now).await?;
    tx.commit().await?;
    Ok(Polled { device, commands })
}

/// Hands out a device's open commands (a long-poll that was woken); nothing for a device
/// revoked meanwhile. Looks before it writes: a wake with nothing new costs no write.
pub async fn take_pending(
    store: &dyn Store,
    clock: &dyn Clock,
    device: DeviceId,
) -> Result<Vec<DeviceCommand>, DomainError> {
    if open_commands(store, device, clock.now()).await?.is_empty() {
        return Ok(Vec::new());
    }
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
