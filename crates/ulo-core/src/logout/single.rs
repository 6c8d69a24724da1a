//! Single logout: every end of a ulo session — RP-initiated logout, the person's own sign-out,
//! expiry and idle timeout, an admin ending it, a sign-in that replaces it, a clear of all the
//! person's sessions — tells each back-channel app the session signed in to (OIDC Back-Channel
//! Logout 1.0: a logout token with `sub` and the session's `sid`).
//!
//! It goes through [`end_sessions_in`]: the sessions end, their `user.session.end` events are
//! written and the deliveries are enqueued on the durable job queue in the caller's transaction,
//! with a receipt (scope `SESSION_END`) the existing delivery worker fills in, attempt by attempt,
//! exactly as it does for a Universal Logout.

use crate::log::catalogue as events;
use std::collections::HashSet;

use serde_json::Value;
use time::OffsetDateTime;

use super::deliver::{Delivery, DeliverySubject};
use super::start::{Planned, plan_app};
use super::{DELIVER_JOB, Deadlines, Logout, LogoutScope, LogoutTarget, TargetStatus, TargetType};
use crate::app::{App, AppStatus, AppType, LogoutProtocol};
use crate::clock::Clock;
use crate::context::Context;
use crate::error::DomainError;
use crate::ids::{AppId, JobId, LogoutId, SessionId};
use crate::job::NewJob;
use crate::log::{LogEvent, Target};
use crate::session::{IDLE_TIMEOUT, Session};
use crate::store::{Store, StoreRead, StoreTx};
use crate::user::User;

/// Why the sweep ended a session (`Session::end_reason`, `debugData.reason`).
pub mod sweep_reason {
    /// Past its absolute end ([`crate::session::MAX_LIFETIME`] after sign-in).
    pub const EXPIRED: &str = "EXPIRED";
    /// Unused for [`crate::session::IDLE_TIMEOUT`].
    pub const IDLE_TIMEOUT: &str = "IDLE_TIMEOUT";
}

/// How many expired sessions one sweep transaction ends at most.
pub const SWEEP_BATCH: u32 = 100;

/// How the end of a session reaches apps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SingleLogout {
    /// How long each delivery is retried (`ULO_LOGOUT_DEADLINE_SECONDS`).
    pub deadlines: Deadlines,
    /// Also notify the person's other logout-enabled apps, each by its own logout protocol
    /// (`ULO_SINGLE_LOGOUT_ALL_APPS`).
    pub all_apps: bool,
}

/// Why sessions end and how their `user.session.end` events read.
#[derive(Debug, Clone)]
pub struct SessionEnd<'a> {
    /// Recorded on the session and as `debugData.reason` (see [`crate::signin::end_reason`]).
    pub reason: &'a str,
    /// The events' display message.
    pub message: &'a str,
    /// The app that asked (RP-initiated logout), added as a target.
    pub app: Option<&'a App>,
    /// More debug data for each event.
    pub debug: Vec<(&'static str, Value)>,
}

impl<'a> SessionEnd<'a> {
    /// Sessions ending for `reason`, logged as "User session ended".
    pub fn new(reason: &'a str) -> Self {
        SessionEnd {
            reason,
            message: "User session ended",
            app: None,
            debug: Vec::new(),
        }
    }
}

/// What [`end_sessions_in`] ended.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionsEnded {
    /// The sessions that ended here (not those that had ended already).
    pub sessions: Vec<SessionId>,
    /// The single-logout receipt, when some app is told.
    pub logout: Option<Logout>,
}

/// Ends `sessions` of `user` in the caller's transaction, writes one `user.session.end` per
/// session that ended here and, with `single_logout`, enqueues a back-channel logout to every
/// app those sessions signed in to (a receipt with scope `SESSION_END`, its id in each event's
/// `debugData.logoutId`). A session already ended is left alone, so of two callers ending one
/// session at once (two nodes, a sweep and a logout) only one logs and notifies. `None` leaves
/// the apps to the caller (a Universal Logout plans them into its own receipt). Checks no
/// permission: the caller did.
pub async fn end_sessions_in(
    tx: &mut dyn StoreTx,
    ctx: &Context,
    user: &User,
    sessions: &[Session],
    end: &SessionEnd<'_>,
    single_logout: Option<SingleLogout>,
    now: OffsetDateTime,
) -> Result<SessionsEnded, DomainError> {
    let mut ended = Vec::new();
    for s in sessions {
        if tx.end_session(s.id, end.reason, now).await? {
            ended.push(s.id);
        }
    }
    let logout = match single_logout {
        Some(settings) if !ended.is_empty() => {
            start(tx, ctx, user, &ended, end.reason, settings, now).await?
        }
        _ => None,
    };
    for sid in &ended {
        let mut ev = LogEvent::build(ctx, events::session::END, now, end.message)
            .target(Target::user(user))
            .debug("sessionId", sid.to_string())
            .debug("reason", end.reason);
        if let Some(app) = end.app {
            ev = ev.target(Target::app(app));
        }
        for (k, v) in &end.debug {
            ev = ev.debug(k, v.clone());
        }
        if let Some(l) = &logout {
            ev = ev.debug("logoutId", l.id.to_string()).debug(
                "AppInstanceIds",
                l.targets
                    .iter()
                    .filter(|t| t.target_type == TargetType::App)
                    .filter_map(|t| t.id.clone())
                    .collect::<Vec<_>>(),
            );
        }
        tx.append_event(&ev.finish()).await?;
    }
    Ok(SessionsEnded {
        sessions: ended,
        logout,
    })
}

/// Whether ulo can send `app` an OIDC Back-Channel Logout: an active OIDC app whose logout is
/// enabled with protocol `oidc-backchannel` and an endpoint.
pub fn is_backchannel_app(app: &App) -> bool {
    app.status == AppStatus::Active
        && app.oidc.is_some()
        && app.logout.enabled
        && app.logout.protocol == Some(LogoutProtocol::OidcBackchannel)
        && app.logout.endpoint.is_some()
}

/// The back-channel apps `sessions` signed in to, except those in `skip`: one target each, and
/// its delivery naming every one of those sessions that signed in there (`sid`), with `sub`.
pub(super) async fn plan_session_apps(
    tx: &mut dyn StoreRead,
    logout: LogoutId,
    transaction_id: &str,
    user: &User,
    sessions: &[SessionId],
    skip: &HashSet<AppId>,
) -> Result<Vec<Planned>, DomainError> {
    let mut by_app: Vec<(AppId, Vec<SessionId>)> = Vec::new();
    for s in sessions {
        for app in tx.list_session_apps(*s).await? {
            if skip.contains(&app) {
                continue;
            }
            match by_app.iter_mut().find(|(a, _)| *a == app) {
                Some((_, sids)) => sids.push(*s),
                None => by_app.push((app, vec![*s])),
            }
        }
    }
    let mut planned = Vec::new();
    for (app_id, sids) in by_app {
        let Some(app) = tx.get_app(app_id).await? else {
            continue;
        };
        let Some(oidc) = app.oidc.as_ref().filter(|_| is_backchannel_app(&app)) else {
            continue;
        };
        let mut target = LogoutTarget::local(
            TargetType::App,
            &app.label,
            "signed in to during the ended session",
        );
        target.id = Some(app.id.to_string());
        target.protocol = Some(LogoutProtocol::OidcBackchannel);
        let job = JobId::new();
        target.delivery_id = Some(job);
        // Always `sid` (with `sub`): the app must end that session only, not the person's
        // other sessions there, whether or not it requires `sid`.
        let delivery = Delivery {
            logout_id: logout,
            target: 0,
            app_id: app.id,
            app_label: app.label.clone(),
            client_id: Some(oidc.client_id.clone()),
            protocol: LogoutProtocol::OidcBackchannel,
            endpoint: app.logout.endpoint.clone(),
            subject: DeliverySubject::UserId(user.id.to_string()),
            sids: sids.iter().map(|s| s.to_string()).collect(),
            transaction_id: transaction_id.to_string(),
            job_id: job,
        };
        planned.push(Planned {
            target,
            delivery: Some(delivery),
            command: None,
        });
    }
    Ok(planned)
}

/// The person's other logout-enabled apps (`ULO_SINGLE_LOGOUT_ALL_APPS`), except `skip`: each
/// planned as a Universal Logout plans it, by its own protocol. Computers are not signed out.
async fn plan_other_apps(
    tx: &mut dyn StoreTx,
    logout: LogoutId,
    transaction_id: &str,
    user: &User,
    sessions: &[SessionId],
    skip: &HashSet<AppId>,
) -> Result<Vec<Planned>, DomainError> {
    let mut planned = Vec::new();
    for link in tx.list_user_app_links(user.id).await? {
        let app = link.app;
        if skip.contains(&app.id)
            || app.app_type == AppType::DesktopMfa
            || !app.logout.enabled
            || app.status != AppStatus::Active
        {
            continue;
        }
        let why = "logout-enabled app of the person (single logout to all apps)".to_string();
        planned.push(plan_app(tx, logout, transaction_id, user, &app, why, sessions).await?);
    }
    Ok(planned)
}

/// Starts the single logout of `sessions` (just ended): a receipt and one delivery job per app,
/// or `None` when no app is to be told.
async fn start(
    tx: &mut dyn StoreTx,
    ctx: &Context,
    user: &User,
    sessions: &[SessionId],
    reason: &str,
    settings: SingleLogout,
    now: OffsetDateTime,
) -> Result<Option<Logout>, DomainError> {
    let id = LogoutId::new();
    let transaction_id = ctx.transaction.id.clone();
    let mut planned =
        plan_session_apps(tx, id, &transaction_id, user, sessions, &HashSet::new()).await?;
    if settings.all_apps {
        let reached: HashSet<AppId> = planned
            .iter()
            .filter_map(|p| p.delivery.as_ref().map(|d| d.app_id))
            .collect();
        planned.extend(plan_other_apps(tx, id, &transaction_id, user, sessions, &reached).await?);
    }
    if planned.is_empty() {
        return Ok(None);
    }
    let mut local = LogoutTarget::local(TargetType::UloSessions, "ulo sessions", reason);
    local.count = Some(sessions.len() as i64);
    local.status = TargetStatus::Succeeded;
    local.attempts = 1;
    local.completed_at = Some(now);
    let mut targets = vec![local];
    let mut jobs = Vec::new();
    for p in planned {
        if let Some(mut d) = p.delivery {
            d.target = targets.len();
            jobs.push(delivery_job(&d, now, settings.deadlines)?);
        }
        targets.push(p.target);
    }
    let logout = Logout::new(
        id,
        user,
        LogoutScope::SessionEnd,
        reason.to_string(),
        ctx,
        now,
        targets,
    );
    tx.insert_logout(&logout).await?;
    tx.enqueue_jobs(&jobs).await?;
    if logout.is_final() {
        super::deliver::log_completed(tx, &logout, now).await?;
    }
    Ok(Some(logout))
}

/// The durable job that carries `delivery`, given up after `deadlines.delivery`.
pub(super) fn delivery_job(
    delivery: &Delivery,
    now: OffsetDateTime,
    deadlines: Deadlines,
) -> Result<NewJob, DomainError> {
    let payload = serde_json::to_value(delivery)
        .map_err(|e| DomainError::invalid("delivery", e.to_string()))?;
    let mut job = NewJob::new(DELIVER_JOB, payload, now, deadlines.delivery);
    job.id = delivery.job_id;
    Ok(job)
}

/// Why the sweep ends `session` at `now`: whichever of its two ends came first.
pub fn sweep_reason_of(session: &Session) -> &'static str {
    if session.expires <= session.last_used + IDLE_TIMEOUT {
        sweep_reason::EXPIRED
    } else {
        sweep_reason::IDLE_TIMEOUT
    }
}

/// Ends up to [`SWEEP_BATCH`] open sessions past their absolute end or idle timeout, each with
/// its events and single logout (one System Log transaction per session), in one store
/// transaction; answers the receipts started and how many sessions ended. Several nodes may
/// sweep at once: a session is ended, logged and notified by one of them only.
pub async fn sweep_expired_sessions(
    store: &dyn Store,
    clock: &dyn Clock,
    settings: SingleLogout,
) -> Result<(usize, Vec<LogoutId>), DomainError> {
    let now = clock.now();
    let idle_cutoff = now - IDLE_TIMEOUT;
    // Most sweeps find nothing: only then take SQLite's one write lock.
    if !store
        .read()
        .await?
        .any_expired_sessions(now, idle_cutoff)
        .await?
    {
        return Ok((0, Vec::new()));
    }
    let mut tx = store.begin().await?;
    let expired = tx
        .claim_expired_sessions(now, idle_cutoff, SWEEP_BATCH)
        .await?;
    if expired.is_empty() {
        return Ok((0, Vec::new()));
    }
    let mut count = 0;
    let mut receipts = Vec::new();
    for session in &expired {
        let Some(user) = tx.get_user(session.user_id).await? else {
            continue;
        };
        let reason = sweep_reason_of(session);
        let mut end = SessionEnd::new(reason);
        end.message = "User session expired";
        end.debug.push((
            "expiredAt",
            Value::String(crate::clock::rfc3339(crate::signin::idle_expires(session))),
        ));
        let done = end_sessions_in(
            tx.as_mut(),
            &Context::system("JOB"),
            &user,
            std::slice::from_ref(session),
            &end,
            Some(settings),
            now,
        )
        .await?;
        count += done.sessions.len();
        receipts.extend(done.logout.map(|l| l.id));
    }
    tx.commit().await?;
    Ok((count, receipts))
}
