//! Device targets of a logout: planning one per device, issuing the SIGN_OUT commands (with
//! `device.desktop_mfa.device_logout.started`), recording each acknowledgement or expiry on the
//! receipt (with `device.desktop_mfa.device_logout.completed`), and *Log Out All Devices*.

use crate::log::catalogue as events;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::{CommandStatus, CommandType, DeviceCommand, DeviceStatus, FEATURE};
use crate::app::{App, AppStatus};
use crate::context::{Context, require_write};
use crate::directory::load_user;
use crate::error::DomainError;
use crate::ids::{DeviceCommandId, DeviceId, JobId, LogoutId};
use crate::job::NewJob;
use crate::log::{Actor, Client, LogEvent, Outcome, Severity, Target, Transaction};
use crate::logout::deliver::{log_completed, user_target};
use crate::logout::{
    Logout, LogoutScope, LogoutStatus, LogoutTarget, TargetStatus, TargetType, reason,
};
use crate::store::{StoreRead, StoreTx};
use crate::user::User;

/// The job kind that expires an unacknowledged command.
pub const EXPIRE_JOB: &str = "device.command.expire";

/// The payload of an [`EXPIRE_JOB`] job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpireCommand {
    /// The command.
    pub command_id: DeviceCommandId,
    /// The logout it is a target of.
    pub logout_id: LogoutId,
}

/// What a logout needs to plan its device targets.
pub(crate) struct DeviceLogoutPlan<'a> {
    /// Who is signed out.
    pub user: &'a User,
    /// The desktop-mfa app.
    pub app: &'a App,
    /// Why the app is reached.
    pub why: &'a str,
}

/// A SIGN_OUT to issue for one target.
#[derive(Debug, Clone)]
pub(crate) struct SignOut {
    /// The command's id (already on the target).
    pub id: DeviceCommandId,
    /// The device.
    pub device_id: DeviceId,
    /// Who, by their account name on the device.
    pub os_login: String,
    /// The target's position on the receipt.
    pub target: usize,
}

/// One planned target: a device to command, or the app skipped and why.
pub(crate) struct PlannedDevice {
    /// The target.
    pub target: LogoutTarget,
    /// The command, when one is issued.
    pub command: Option<SignOut>,
}

/// The targets that naming the desktop-mfa app in a logout produces: one DEVICE target per
/// active device the user signs in on, or the app SKIPPED with the reason when there is none to
/// reach (feature off, app's Logout off or app inactive, no devices).
pub(crate) async fn plan_devices(
    tx: &mut dyn StoreRead,
    plan: &DeviceLogoutPlan<'_>,
) -> Result<Vec<PlannedDevice>, DomainError> {
    let app = plan.app;
    let mut app_target = LogoutTarget::local(TargetType::App, &app.label, plan.why);
    app_target.id = Some(app.id.to_string());
    let skip = |why: &str| {
        Ok(vec![PlannedDevice {
            target: app_target.clone().skipped(why),
            command: None,
        }])
    };
    if !crate::features::is_enabled(tx, FEATURE).await? {
        return skip("device logout: the Device Logout feature is off");
    }
    if !app.logout.enabled {
        return skip("logout is not enabled for this app");
    }
    if app.status != AppStatus::Active {
        return skip("the app is inactive");
    }
    let devices: Vec<_> = tx
        .list_user_devices(plan.user.id)
        .await?
        .into_iter()
        .filter(|(d, _)| d.status == DeviceStatus::Active)
        .collect();
    if devices.is_empty() {
        return skip("device logout: the user has no enrolled devices");
    }
    Ok(devices
        .into_iter()
        .map(|(device, link)| {
            let id = DeviceCommandId::new();
            let mut target = LogoutTarget::local(
                TargetType::Device,
                &device.hostname,
                &format!(
                    "{}; signs in on this {} device as {}",
                    plan.why, device.platform, link.os_login
                ),
            );
            target.id = Some(device.id.to_string());
            target.command_id = Some(id);
            PlannedDevice {
                target,
                command: Some(SignOut {
                    id,
                    device_id: device.id,
                    os_login: link.os_login,
                    target: 0,
                }),
            }
        })
        .collect())
}

/// Stores the SIGN_OUT commands of a just-stored logout, each with the job that expires it
/// after `ttl`, and logs `device.desktop_mfa.device_logout.started` for each, in `ctx`'s
/// transaction (the logout's).
pub(crate) async fn issue_commands(
    tx: &mut dyn StoreTx,
    ctx: &Context,
    logout: &Logout,
    sign_outs: &[SignOut],
    now: OffsetDateTime,
    ttl: Duration,
) -> Result<(), DomainError> {
    if sign_outs.is_empty() {
        return Ok(());
    }
    let mut commands = Vec::with_capacity(sign_outs.len());
    let mut jobs = Vec::with_capacity(sign_outs.len());
    for s in sign_outs {
        let expires = now + ttl;
        // The job runs when the command would expire; a week of slack so a worker that was
        // down then still runs it.
        let mut job = NewJob::new(
            EXPIRE_JOB,
            json!(ExpireCommand {
                command_id: s.id,
                logout_id: logout.id,
            }),
            expires,
            Duration::days(7),
        );
        job.id = JobId::new();
        let command = DeviceCommand {
            id: s.id,
            device_id: s.device_id,
            command_type: CommandType::SignOut,
            status: CommandStatus::Issued,
            user_id: logout.user_id,
            user_login: logout.user_login.clone(),
            os_login: s.os_login.clone(),
            logout_id: logout.id,
            target: s.target,
            transaction_id: logout.transaction_id.clone(),
            created: now,
            expires,
            delivered: None,
            deliveries: 0,
            completed: None,
            detail: None,
            expiry_job: job.id,
        };
        let device = tx.get_device(s.device_id).await?;
        let mut ev = LogEvent::build(
            ctx,
            events::device::LOGOUT_STARTED,
            now,
            format!("Device logout of {} started", logout.user_login),
        )
        .target(user_target(logout));
        if let Some(d) = &device {
            ev = ev.target(d.target());
        }
        let ev = ev
            .debug("logoutId", logout.id.to_string())
            .debug("commandId", s.id.to_string())
            .debug("deviceId", s.device_id.to_string())
            .debug("commandType", CommandType::SignOut.as_str())
            .debug("expiresAt", crate::clock::rfc3339(expires))
            .finish();
        tx.append_event(&ev).await?;
        commands.push(command);
        jobs.push(job);
    }
    tx.insert_device_commands(&commands).await?;
    tx.enqueue_jobs(&jobs).await?;
    Ok(())
}

/// The context of what a device (or ulo, for expiry) writes about a command: the logout's
/// transaction, so every event of one logout shares its `transaction.id`.
fn command_context(command: &DeviceCommand, actor: Actor, kind: &str) -> Context {
    Context {
        authority: crate::context::Authority::Full,
        actor,
        actor_user: None,
        roles: Vec::new(),
        client: Client::default(),
        transaction: Transaction {
            id: command.transaction_id.clone(),
            transaction_type: kind.into(),
        },
    }
}

/// Gives `command` its final answer and records it on the receipt and in the System Log
/// (`device.desktop_mfa.device_logout.completed`, and `user.session.universal_logout` when it
/// was the last target to answer). Answers the receipt, `None` when it is gone.
pub(crate) async fn complete_command(
    tx: &mut dyn StoreTx,
    command: &mut DeviceCommand,
    status: CommandStatus,
    detail: Option<String>,
    actor: Actor,
    now: OffsetDateTime,
) -> Result<Option<Logout>, DomainError> {
    command.status = status;
    command.completed = Some(now);
    command.detail = detail.clone();
    tx.update_device_command(command).await?;
    let device = tx.get_device(command.device_id).await?;
    let logout = tx.get_logout_for_update(command.logout_id).await?;
    let ctx = command_context(command, actor, "DEVICE");
    let succeeded = status == CommandStatus::Succeeded;
    let mut ev = LogEvent::build(
        &ctx,
        events::device::LOGOUT_COMPLETED,
        now,
        format!(
            "Device logout of {} {}",
            command.user_login,
            match status {
                CommandStatus::Succeeded => "succeeded",
                CommandStatus::Expired => "expired unacknowledged",
                _ => "failed",
            }
        ),
    )
    .target(Target::new(
        "User",
        command.user_id,
        command.user_login.clone(),
        command.user_login.clone(),
    ));
    if let Some(d) = &device {
        ev = ev.target(d.target());
    }
    ev = ev
        .outcome(if succeeded {
            Outcome::success()
        } else {
            Outcome::failure(detail.clone().unwrap_or_default())
        })
        .debug("logoutId", command.logout_id.to_string())
        .debug("commandId", command.id.to_string())
        .debug("deviceId", command.device_id.to_string())
        .debug("commandStatus", status.as_str());
    if let Some(d) = &detail {
        ev = ev.debug("detail", d.clone());
    }
    if status == CommandStatus::Expired {
        ev = ev.severity(Severity::Error);
    }
    tx.append_event(&ev.finish()).await?;
    let Some(mut logout) = logout else {
        return Ok(None);
    };
    let before = logout.status;
    if let Some(t) = logout.targets.get_mut(command.target)
        && !t.status.is_final()
    {
        t.status = if succeeded {
            TargetStatus::Succeeded
        } else {
            TargetStatus::Failed
        };
        t.attempts = command.deliveries.max(1);
        t.last_error = if succeeded { None } else { detail };
        t.completed_at = Some(now);
        let t = t.clone();
        tx.update_logout_target(logout.id, command.target, &t)
            .await?;
    }
    logout.settle(now);
    if logout.status != before {
        tx.update_logout(&logout).await?;
        if logout.is_final() && before == LogoutStatus::InProgress {
            log_completed(tx, &logout, now).await?;
        }
    }
    Ok(Some(logout))
}

/// Expires `command` when it is still unanswered at `now` (its [`EXPIRE_JOB`] ran): the
/// target FAILS with why. Answers the receipt when it changed.
pub async fn expire_command(
    tx: &mut dyn StoreTx,
    command: DeviceCommandId,
    now: OffsetDateTime,
) -> Result<Option<Logout>, DomainError> {
    let Some(mut c) = tx.get_device_command(command).await? else {
        return Ok(None);
    };
    if c.status.is_final() {
        return Ok(None);
    }
    let why = format!(
        "the device did not acknowledge the command by {} ({})",
        crate::clock::rfc3339(c.expires),
        match c.status {
            CommandStatus::Issued => "it never picked it up",
            _ => "it picked it up but never answered",
        }
    );
    complete_command(
        tx,
        &mut c,
        CommandStatus::Expired,
        Some(why),
        Actor::system(),
        now,
    )
    .await
}

impl super::Devices<'_> {
    /// *Log Out All Devices*: signs the user named by `key` out of every device they are seen on,
    /// as a logout whose receipt has one DEVICE target per device; unacknowledged commands expire
    /// after `command_ttl`. Refused while the Device Logout feature is off or the desktop-mfa app's Logout
    /// setting is. Needs SUPER_ADMIN.
    pub async fn logout_all(
        &self,
        ctx: &Context,
        key: &str,
        why: Option<String>,
    ) -> Result<Logout, DomainError> {
        require_write(ctx)?;
        let why = why.unwrap_or_else(|| reason::ADMIN.into());
        if !crate::logout::reason_is_valid(&why) {
            return Err(DomainError::invalid(
                "The logout request is not valid",
                crate::logout::REASON_RULE,
            ));
        }
        let mut tx = self.store.begin().await?;
        crate::features::require(tx.as_mut(), FEATURE).await?;
        let user = load_user(tx.as_mut(), key).await?;
        let app = tx.get_desktop_mfa_app().await?.ok_or_else(|| {
            DomainError::InvalidState(
                "Device Logout needs the desktop-mfa app: create it (POST /api/v1/apps with \"type\":\"desktop-mfa\" and \"logout\":{\"enabled\":true})".into(),
            )
        })?;
        if !app.logout.enabled {
            return Err(DomainError::InvalidState(format!(
                "Logout is off on the desktop-mfa app {:?}: turn it on (logout.enabled) to sign people out of their devices",
                app.label
            )));
        }
        let now = self.clock.now();
        let id = LogoutId::new();
        let planned = plan_devices(
            tx.as_mut(),
            &DeviceLogoutPlan {
                user: &user,
                app: &app,
                why: "enrolled device",
            },
        )
        .await?;
        let mut targets = Vec::new();
        let mut sign_outs = Vec::new();
        for p in planned {
            if let Some(mut s) = p.command {
                s.target = targets.len();
                sign_outs.push(s);
            }
            targets.push(p.target);
        }
        let logout = Logout::new(id, &user, LogoutScope::Devices, why, ctx, now, targets);
        tx.insert_logout(&logout).await?;
        issue_commands(tx.as_mut(), ctx, &logout, &sign_outs, now, self.command_ttl).await?;
        if logout.is_final() {
            log_completed(tx.as_mut(), &logout, now).await?;
        }
        tx.commit().await?;
        Ok(logout)
    }
}
