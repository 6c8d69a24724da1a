//! Planning and starting a logout, and reading receipts.

use crate::log::catalogue as events;
use std::collections::HashSet;

use time::OffsetDateTime;

use super::api_tokens;
use super::deliver::{Delivery, DeliverySubject};
use super::{
    DELIVER_JOB, Logout, LogoutRequest, LogoutScope, LogoutTarget, TargetStatus, TargetType,
};
use crate::app::{App, AppStatus, AppType, LogoutProtocol, SubjectFormat};
use crate::context::Context;
use crate::device::SignOut;
use crate::error::DomainError;
use crate::ids::{AppId, JobId, LogoutId, SessionId};
use crate::job::NewJob;
use crate::log::{LogEvent, Target};
use crate::signin::{ClearOptions, clear_sessions_in};
use crate::store::{AppLink, StoreRead, StoreTx};
use crate::user::User;

/// Why a reached app is reached: directly, through which groups, or both.
async fn assignment_reason(tx: &mut dyn StoreRead, link: &AppLink) -> Result<String, DomainError> {
    let mut group_names = Vec::new();
    for g in &link.groups {
        if let Some(group) = tx.get_group(*g).await? {
            group_names.push(group.profile.name);
        }
    }
    Ok(match (link.direct, group_names.is_empty()) {
        (true, true) => "assigned directly".into(),
        (true, false) => format!("assigned directly and through {}", group_names.join(", ")),
        (false, _) => format!("assigned through {}", group_names.join(", ")),
    })
}

/// An app or device target and, when it will be attempted, what to deliver or command.
pub(super) struct Planned {
    pub(super) target: LogoutTarget,
    pub(super) delivery: Option<Delivery>,
    pub(super) command: Option<SignOut>,
}

impl From<crate::device::PlannedDevice> for Planned {
    fn from(p: crate::device::PlannedDevice) -> Self {
        Planned {
            target: p.target,
            delivery: None,
            command: p.command,
        }
    }
}

/// The app targets of a logout (every app target is listed, reachable or not).
async fn plan_apps(
    tx: &mut dyn StoreRead,
    logout: LogoutId,
    transaction_id: &str,
    user: &User,
    request: &LogoutRequest,
    sessions: &[SessionId],
) -> Result<Vec<Planned>, DomainError> {
    let links = tx.list_user_app_links(user.id).await?;
    let mut chosen: Vec<(App, String)> = Vec::new();
    match request.scope {
        LogoutScope::UloOnly | LogoutScope::Devices | LogoutScope::SessionEnd => {
            return Ok(Vec::new());
        }
        LogoutScope::AllApps => {
            for link in &links {
                // Computers are signed out by device logout, asked for by name.
                if link.app.app_type == AppType::DesktopMfa {
                    continue;
                }
                let why = assignment_reason(tx, link).await?;
                chosen.push((link.app.clone(), why));
            }
        }
        LogoutScope::SpecifiedApps => {
            let mut seen = HashSet::new();
            // The user's apps are in hand with their links; the others are read at once.
            let unlinked: Vec<AppId> = request
                .app_ids
                .iter()
                .filter(|id| !links.iter().any(|l| l.app.id == **id))
                .copied()
                .collect();
            let read = if unlinked.is_empty() {
                Vec::new()
            } else {
                tx.get_apps(&unlinked).await?
            };
            for id in &request.app_ids {
                if !seen.insert(*id) {
                    continue;
                }
                let app = links
                    .iter()
                    .map(|l| &l.app)
                    .chain(&read)
                    .find(|a| a.id == *id)
                    .cloned()
                    .ok_or_else(|| DomainError::not_found("app", id))?;
                let why = match links.iter().find(|l| l.app.id == *id) {
                    Some(link) => {
                        format!(
                            "named in the request; {}",
                            assignment_reason(tx, link).await?
                        )
                    }
                    None => "named in the request (not assigned to the user)".into(),
                };
                chosen.push((app, why));
            }
        }
    }
    let mut planned = Vec::new();
    for (app, why) in chosen {
        if app.app_type == AppType::DesktopMfa {
            // Choosing the desktop-mfa app means device logout: one target per device.
            let devices = crate::device::plan_devices(
                tx,
                &crate::device::DeviceLogoutPlan {
                    user,
                    app: &app,
                    why: &why,
                },
            )
            .await?;
            planned.extend(devices.into_iter().map(Planned::from));
            continue;
        }
        planned.push(plan_app(tx, logout, transaction_id, user, &app, why, sessions).await?);
    }
    Ok(planned)
}

pub(super) async fn plan_app(
    tx: &mut dyn StoreRead,
    logout: LogoutId,
    transaction_id: &str,
    user: &User,
    app: &App,
    why: String,
    sessions: &[SessionId],
) -> Result<Planned, DomainError> {
    let mut target = LogoutTarget::local(TargetType::App, &app.label, &why);
    target.id = Some(app.id.to_string());
    target.protocol = app.logout.protocol;
    let skip = |t: LogoutTarget, why: &str| Planned {
        target: t.skipped(why),
        delivery: None,
        command: None,
    };
    if !app.logout.enabled {
        return Ok(skip(target, "logout is not enabled for this app"));
    }
    if app.status != AppStatus::Active {
        return Ok(skip(target, "the app is inactive"));
    }
    let Some(protocol) = app.logout.protocol else {
        return Ok(skip(target, "the app has no logout protocol"));
    };
    let endpoint = app.logout.endpoint.clone();
    if endpoint.is_none() && protocol != LogoutProtocol::Ssf {
        return Ok(skip(target, "the app has no logout endpoint"));
    }
    let subject = match (protocol, app.logout.subject_format) {
        (LogoutProtocol::OidcBackchannel, _) => DeliverySubject::UserId(user.id.to_string()),
        (_, SubjectFormat::Email) => {
            let email = if user.profile.email.is_empty() {
                user.profile.login.clone()
            } else {
                user.profile.email.clone()
            };
            DeliverySubject::Email(email)
        }
        (_, SubjectFormat::IssSub) => {
            match tx
                .get_app_user_link(app.id, user.id)
                .await?
                .and_then(|l| l.remote_id)
            {
                Some(remote) => DeliverySubject::IssSub(remote),
                None => return Ok(skip(target, "user not provisioned to this app")),
            }
        }
    };
    let sids = match (protocol, &app.oidc) {
        (LogoutProtocol::OidcBackchannel, Some(o)) if o.backchannel_logout_session_required => {
            sessions.iter().map(|s| s.to_string()).collect()
        }
        _ => Vec::new(),
    };
    let job = JobId::new();
    target.delivery_id = Some(job);
    let delivery = Delivery {
        logout_id: logout,
        target: 0,
        app_id: app.id,
        app_label: app.label.clone(),
        client_id: app.oidc.as_ref().map(|o| o.client_id.clone()),
        protocol,
        endpoint,
        subject,
        sids,
        transaction_id: transaction_id.to_string(),
        job_id: job,
    };
    Ok(Planned {
        target,
        delivery: Some(delivery),
        command: None,
    })
}

/// The receipt a logout of `user` would start with, what to deliver, and which device commands
/// to issue.
pub(super) async fn plan(
    tx: &mut dyn StoreRead,
    ctx: &Context,
    user: &User,
    request: &LogoutRequest,
    sessions: &[SessionId],
    now: OffsetDateTime,
) -> Result<(Logout, Vec<Delivery>, Vec<SignOut>), DomainError> {
    let id = LogoutId::new();
    let transaction_id = ctx.transaction.id.clone();
    let mut targets = vec![LogoutTarget::local(
        TargetType::UloSessions,
        "ulo sessions",
        "always ended",
    )];
    if request.oauth_tokens {
        targets.push(LogoutTarget::local(
            TargetType::OauthTokens,
            "OAuth tokens",
            "requested",
        ));
    }
    if request.api_tokens {
        let mut t = LogoutTarget::local(TargetType::ApiTokens, "API tokens", "requested");
        if !api_tokens::may_revoke(ctx) {
            t.status = TargetStatus::Skipped;
            t.reason = api_tokens::NOT_BY_LOGOUT_ONLY.into();
            t.completed_at = Some(now);
        }
        targets.push(t);
    }
    let mut deliveries = Vec::new();
    let mut commands = Vec::new();
    for p in plan_apps(tx, id, &transaction_id, user, request, sessions).await? {
        if let Some(mut d) = p.delivery {
            d.target = targets.len();
            deliveries.push(d);
        }
        if let Some(mut c) = p.command {
            c.target = targets.len();
            commands.push(c);
        }
        targets.push(p.target);
    }
    // Back-channel apps the ended sessions signed in to that the scope does not reach still hear
    // of their sessions' end (single logout), in this receipt; the apps it reaches are told once.
    let reached: HashSet<AppId> = targets
        .iter()
        .filter_map(|t| t.id.as_deref()?.parse().ok())
        .collect();
    for p in
        super::single::plan_session_apps(tx, id, &transaction_id, user, sessions, &reached).await?
    {
        if let Some(mut d) = p.delivery {
            d.target = targets.len();
            deliveries.push(d);
        }
        targets.push(p.target);
    }
    let logout = Logout::new(
        id,
        user,
        request.scope,
        request.reason.clone(),
        ctx,
        now,
        targets,
    );
    Ok((logout, deliveries, commands))
}

/// Starts a Universal Logout of `user` in the caller's transaction: ends ulo sessions, revokes
/// tokens as asked, stores the receipt and enqueues one delivery job per reachable app, each
/// given up after `deadlines.delivery`; naming the desktop-mfa app issues a SIGN_OUT command to
/// each of the user's devices, expiring unacknowledged after `deadlines.device_command`. Checks no
/// permission: the caller did.
pub async fn start_in(
    tx: &mut dyn StoreTx,
    ctx: &Context,
    user: &User,
    request: &LogoutRequest,
    deadlines: super::Deadlines,
    now: OffsetDateTime,
) -> Result<Logout, DomainError> {
    let report = clear_sessions_in(
        tx,
        ctx,
        user,
        now,
        ClearOptions {
            oauth_tokens: request.oauth_tokens,
            reason: request.session_end_reason,
            // The plan below reaches the apps the ended sessions signed in to.
            single_logout: None,
        },
    )
    .await?;
    let (mut logout, deliveries, commands) =
        plan(tx, ctx, user, request, &report.sessions, now).await?;
    let api_tokens = if request.api_tokens && api_tokens::may_revoke(ctx) {
        Some(api_tokens::revoke(tx, ctx, user, now).await?)
    } else {
        None
    };
    for t in &mut logout.targets {
        let count = match t.target_type {
            TargetType::UloSessions => report.sessions.len() as i64,
            TargetType::OauthTokens => report
                .grants
                .iter()
                .map(|g| g.refresh_tokens + g.access_tokens)
                .sum(),
            TargetType::ApiTokens => match &api_tokens {
                Some((n, _)) => *n,
                None => continue,
            },
            TargetType::App | TargetType::Device => continue,
        };
        t.count = Some(count);
        t.status = TargetStatus::Succeeded;
        t.attempts = 1;
        t.completed_at = Some(now);
        if t.target_type == TargetType::ApiTokens
            && let Some(kept) = api_tokens.as_ref().and_then(|(_, p)| p.kept_message())
        {
            t.status = TargetStatus::Failed;
            t.last_http_status = Some(api_tokens::KEPT_STATUS);
            t.last_error = Some(kept);
        }
    }
    logout.settle(now);
    tx.insert_logout(&logout).await?;
    let app_ids: Vec<String> = logout
        .targets
        .iter()
        .filter(|t| t.target_type == TargetType::App && t.status != TargetStatus::Skipped)
        .filter_map(|t| t.id.clone())
        .collect();
    let ev = LogEvent::build(
        ctx,
        events::logout::UNIVERSAL_LOGOUT,
        now,
        format!("Universal Logout of {}", user.profile.login),
    )
    .target(Target::user(user))
    .debug("logoutId", logout.id.to_string())
    .debug("reason", logout.reason.clone())
    .debug("scope", logout.scope.as_str())
    .debug("AppInstanceIds", app_ids)
    .finish();
    tx.append_event(&ev).await?;
    let mut jobs = Vec::with_capacity(deliveries.len());
    for d in deliveries {
        let mut job = NewJob::new(
            DELIVER_JOB,
            serde_json::to_value(&d)
                .map_err(|e| DomainError::invalid("delivery", e.to_string()))?,
            now,
            deadlines.delivery,
        );
        job.id = d.job_id;
        jobs.push(job);
    }
    tx.enqueue_jobs(&jobs).await?;
    crate::device::issue_commands(tx, ctx, &logout, &commands, now, deadlines.device_command)
        .await?;
    if logout.is_final() {
        super::deliver::log_completed(tx, &logout, now).await?;
    }
    Ok(logout)
}
