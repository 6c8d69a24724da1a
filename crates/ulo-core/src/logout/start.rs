//! Planning and starting a logout, and reading receipts.

use std::collections::HashSet;

use time::OffsetDateTime;

use super::api_tokens;
use super::deliver::{Delivery, DeliverySubject};
use super::{
    DELIVER_JOB, Logout, LogoutRequest, LogoutScope, LogoutStatus, LogoutTarget, TargetStatus,
    TargetType,
};
use crate::app::{App, AppStatus, AppType, LogoutProtocol, SubjectFormat};
use crate::clock::Clock;
use crate::context::{Context, require_read, require_write};
use crate::device::SignOut;
use crate::directory::load_user;
use crate::error::DomainError;
use crate::ids::{AppId, JobId, LogoutId, SessionId};
use crate::job::NewJob;
use crate::log::{LogEvent, Target};
use crate::signin::{ClearOptions, clear_sessions_in};
use crate::store::{AppLink, Page, Store, StoreRead, StoreTx};
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
            for id in &request.app_ids {
                if !seen.insert(*id) {
                    continue;
                }
                let app = tx
                    .get_app(*id)
                    .await?
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
async fn plan(
    tx: &mut dyn StoreRead,
    ctx: &Context,
    user: &User,
    request: &LogoutRequest,
    sessions: &[SessionId],
    now: OffsetDateTime,
) -> Result<(Logout, Vec<Delivery>, Vec<SignOut>), DomainError> {
    validate(request)?;
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
    let logout = Logout {
        id,
        user_id: user.id,
        user_login: user.profile.login.clone(),
        reason: request.reason.clone(),
        scope: request.scope,
        status: LogoutStatus::InProgress,
        created: now,
        completed: None,
        transaction_id,
        initiated_by: ctx.actor.clone(),
        targets,
    };
    Ok((logout, deliveries, commands))
}

fn validate(request: &LogoutRequest) -> Result<(), DomainError> {
    let mut p = crate::error::Problems::default();
    p.check(
        request.reason.trim().is_empty() || request.reason.chars().count() > 256,
        "reason: must be 1 to 256 characters",
    );
    p.check(
        request.scope == LogoutScope::SpecifiedApps && request.app_ids.is_empty(),
        "appIds: SPECIFIED_APPS needs at least one app id",
    );
    p.check(
        request.scope == LogoutScope::SessionEnd,
        "scope: SESSION_END receipts are made by ulo when sessions end; use ULO_ONLY, ALL_APPS or SPECIFIED_APPS",
    );
    p.check(
        request.scope == LogoutScope::Devices,
        "scope: DEVICES is Device Logout: POST /api/v1/users/{id}/devices/logout",
    );
    p.check(
        request.scope != LogoutScope::SpecifiedApps && !request.app_ids.is_empty(),
        "appIds: only allowed with scope SPECIFIED_APPS",
    );
    p.check(
        request.app_ids.len() > 1000,
        "appIds: at most 1,000 apps per logout",
    );
    p.finish("The logout request is not valid")
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
    validate(request)?;
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
        "user.authentication.universal_logout",
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

/// Starts a Universal Logout of the user named by `key` (id or login). Needs SUPER_ADMIN.
pub async fn start(
    store: &dyn Store,
    clock: &dyn Clock,
    ctx: &Context,
    key: &str,
    request: &LogoutRequest,
    deadlines: super::Deadlines,
) -> Result<Logout, DomainError> {
    require_write(ctx)?;
    validate(request)?;
    let mut tx = store.begin().await?;
    let user = load_user(tx.as_mut(), key).await?;
    let logout = start_in(tx.as_mut(), ctx, &user, request, deadlines, clock.now()).await?;
    tx.commit().await?;
    Ok(logout)
}

/// The receipt a logout would produce, changing nothing (dry run). Needs SUPER_ADMIN, like the
/// logout itself: it reveals which apps the user reaches and under which ids.
pub async fn preview(
    store: &dyn Store,
    clock: &dyn Clock,
    ctx: &Context,
    key: &str,
    request: &LogoutRequest,
) -> Result<Logout, DomainError> {
    require_write(ctx)?;
    let mut tx = store.read().await?;
    let user = load_user(tx.as_mut(), key).await?;
    let now = clock.now();
    let sessions: Vec<SessionId> = tx
        .list_open_sessions(user.id)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    let (mut logout, _, _) = plan(tx.as_mut(), ctx, &user, request, &sessions, now).await?;
    let live_grants = tx.list_grants(user.id, now).await?;
    let api_token_plan = api_tokens::plan(tx.as_mut(), &user).await?;
    for t in &mut logout.targets {
        t.count = match t.target_type {
            TargetType::UloSessions => Some(sessions.len() as i64),
            TargetType::OauthTokens => Some(
                live_grants
                    .iter()
                    .map(|g| g.refresh_tokens + g.access_tokens)
                    .sum(),
            ),
            TargetType::ApiTokens if t.status == TargetStatus::Skipped => None,
            TargetType::ApiTokens => {
                // What it would answer: the break-glass token stays.
                if let Some(kept) = api_token_plan.kept_message() {
                    t.last_http_status = Some(api_tokens::KEPT_STATUS);
                    t.last_error = Some(kept);
                }
                Some(api_token_plan.revoke.len() as i64)
            }
            TargetType::App | TargetType::Device => None,
        };
    }
    Ok(logout)
}

/// A receipt. Needs an admin role.
pub async fn get_logout(store: &dyn Store, ctx: &Context, id: &str) -> Result<Logout, DomainError> {
    require_read(ctx)?;
    let lid: LogoutId = id
        .parse()
        .map_err(|_| DomainError::not_found("logout", id))?;
    let mut tx = store.read().await?;
    tx.get_logout(lid)
        .await?
        .ok_or_else(|| DomainError::not_found("logout", id))
}

/// Receipts, newest first, optionally of one user (by id or login) and in one status. Needs an
/// admin role.
pub async fn list_logouts(
    store: &dyn Store,
    ctx: &Context,
    user: Option<&str>,
    status: Option<LogoutStatus>,
    page: &Page,
) -> Result<Vec<Logout>, DomainError> {
    require_read(ctx)?;
    let mut tx = store.read().await?;
    let user_id = match user {
        None => None,
        Some(key) => match key.parse() {
            Ok(id) => Some(id),
            // A login: the user must still exist to be named that way.
            Err(_) => Some(load_user(tx.as_mut(), key).await?.id),
        },
    };
    if let Some(after) = &page.after {
        after
            .parse::<LogoutId>()
            .map_err(|_| DomainError::invalid("after", "after: not a logout id"))?;
    }
    Ok(tx.list_logouts(user_id, status, page).await?)
}

/// The app ids a request names, parsed; unknown syntax is a validation error.
pub fn parse_app_ids(raw: &[String]) -> Result<Vec<AppId>, DomainError> {
    raw.iter()
        .map(|s| {
            s.parse().map_err(|_| {
                DomainError::invalid("appIds", format!("appIds: {s:?} is not an app id"))
            })
        })
        .collect()
}
