//! What a logout must end: a user's ulo sessions and, optionally, every OAuth token issued to
//! them, with one System Log event per ended session and per app, in the caller's transaction.

use crate::log::catalogue as events;
use time::OffsetDateTime;

use super::{end_reason, load_user, require_read, require_write};
use crate::clock::Clock;
use crate::context::Context;
use crate::error::DomainError;
use crate::ids::{LogoutId, SessionId};
use crate::log::{LogEvent, Target};
use crate::logout::{SessionEnd, SessionsEnded, SingleLogout, end_sessions_in};
use crate::session::{GrantSummary, IDLE_TIMEOUT, Session};
use crate::store::{Store, StoreTx};
use crate::user::User;

/// What to end besides the user's ulo sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClearOptions {
    /// Also revoke every refresh and access token issued to the user.
    pub oauth_tokens: bool,
    /// Why, recorded on each session (see [`end_reason`]).
    pub reason: &'static str,
    /// Tell the back-channel apps the sessions signed in to (see [`crate::logout::single`]);
    /// `None` when the caller plans the apps itself (a Universal Logout).
    pub single_logout: Option<SingleLogout>,
}

impl Default for ClearOptions {
    fn default() -> Self {
        ClearOptions {
            oauth_tokens: false,
            reason: end_reason::ADMIN_CLEAR,
            single_logout: None,
        }
    }
}

/// What a clear ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ClearReport {
    /// The user.
    pub user: User,
    /// Sessions ended.
    pub sessions: Vec<SessionId>,
    /// Tokens revoked, per app (only with `oauth_tokens`).
    pub grants: Vec<GrantSummary>,
    /// The single-logout receipt, when apps the sessions signed in to are told.
    pub single_logout: Option<LogoutId>,
}

/// A user's live sessions and token grants, for the sessions API.
#[derive(Debug, Clone, PartialEq)]
pub struct UserSessions {
    /// The user.
    pub user: User,
    /// Sessions still usable, oldest first.
    pub sessions: Vec<Session>,
    /// Live tokens per app, with the app's label when it still exists.
    pub grants: Vec<(GrantSummary, Option<String>)>,
}

/// When a session stops being usable if nothing uses it.
pub fn idle_expires(session: &Session) -> OffsetDateTime {
    (session.last_used + IDLE_TIMEOUT).min(session.expires)
}

/// Ends every open session of the user named by `key` (id or login) and, with
/// `opts.oauth_tokens`, revokes their tokens; all in one transaction under `ctx`'s
/// transaction id. Needs SUPER_ADMIN.
pub async fn clear_sessions(
    store: &dyn Store,
    clock: &dyn Clock,
    ctx: &Context,
    key: &str,
    opts: ClearOptions,
) -> Result<ClearReport, DomainError> {
    require_write(ctx)?;
    let mut tx = store.begin().await?;
    let user = load_user(tx.as_mut(), key).await?;
    let now = clock.now();
    let report = clear_sessions_in(tx.as_mut(), ctx, &user, now, opts).await?;
    // An admin clearing the sessions resets the entity risk level (SPEC §3).
    crate::risk::reset_if_risky_in(
        tx.as_mut(),
        ctx,
        &user,
        "an admin cleared the sessions",
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}

/// [`clear_sessions`] inside the caller's transaction, for operations that end sessions as one
/// of their steps (password reset, Universal Logout). Checks no permission: the caller did.
/// Writes `user.session.clear`, then one `user.session.end` per session and one
/// `app.oauth2.token.revoke` per app whose tokens were live.
pub async fn clear_sessions_in(
    tx: &mut dyn StoreTx,
    ctx: &Context,
    user: &User,
    now: OffsetDateTime,
    opts: ClearOptions,
) -> Result<ClearReport, DomainError> {
    // A sign-in committing between listing and ending would leave a session open.
    tx.lock_user(user.id).await?;
    let open = tx.list_open_sessions(user.id).await?;
    let ended = end_sessions_in(
        tx,
        ctx,
        user,
        &open,
        &SessionEnd::new(opts.reason),
        opts.single_logout,
        now,
    )
    .await?;
    let grants = if opts.oauth_tokens {
        tx.revoke_user_tokens(user.id, now).await?
    } else {
        Vec::new()
    };
    let (refresh, access) = grants.iter().fold((0, 0), |(r, a), g| {
        (r + g.refresh_tokens, a + g.access_tokens)
    });
    let clear = LogEvent::build(
        ctx,
        events::session::CLEAR,
        now,
        format!("Clear user sessions of {}", user.profile.login),
    )
    .target(Target::user(user))
    .debug("reason", opts.reason)
    .debug("sessionsEnded", ended.sessions.len() as i64)
    .debug("oauthTokens", opts.oauth_tokens)
    .debug("refreshTokensRevoked", refresh)
    .debug("accessTokensRevoked", access)
    .finish();
    tx.append_event(&clear).await?;
    for g in &grants {
        let app = tx.get_app(g.app_id).await?;
        let app_target = match &app {
            Some(a) => Target::app(a),
            None => Target::new("AppInstance", g.app_id, "", ""),
        };
        let ev = LogEvent::build(
            ctx,
            events::oauth::TOKEN_REVOKE,
            now,
            "Revoke the user's OAuth tokens at the app",
        )
        .target(Target::user(user))
        .target(app_target)
        .debug("reason", opts.reason)
        .debug("refreshTokens", g.refresh_tokens)
        .debug("accessTokens", g.access_tokens)
        .finish();
        tx.append_event(&ev).await?;
    }
    Ok(ClearReport {
        user: user.clone(),
        sessions: ended.sessions,
        grants,
        single_logout: ended.logout.map(|l| l.id),
    })
}

impl super::SignIn<'_> {
    /// A user's live sessions and live token grants per app. Needs an admin role.
    pub async fn list_sessions(
        &self,
        ctx: &Context,
        key: &str,
    ) -> Result<UserSessions, DomainError> {
        require_read(ctx)?;
        let now = self.clock.now();
        let mut tx = self.store.read().await?;
        let user = load_user(tx.as_mut(), key).await?;
        let sessions = tx
            .list_open_sessions(user.id)
            .await?
            .into_iter()
            .filter(|s| s.is_live(now))
            .collect();
        let mut grants = Vec::new();
        for g in tx.list_grants(user.id, now).await? {
            let label = tx.get_app(g.app_id).await?.map(|a| a.label);
            grants.push((g, label));
        }
        Ok(UserSessions {
            user,
            sessions,
            grants,
        })
    }

    /// Ends one session (by id), optionally only if it belongs to the user named by `user_key`
    /// (id or login), with its `user.session.end` event and single logout in one transaction.
    /// Unknown, already ended, or another person's: not found. Needs SUPER_ADMIN.
    pub async fn end_session(
        &self,
        ctx: &Context,
        user_key: Option<&str>,
        session_id: &str,
    ) -> Result<SessionsEnded, DomainError> {
        require_write(ctx)?;
        let not_found = || DomainError::not_found("session", session_id);
        let id: SessionId = session_id.parse().map_err(|_| not_found())?;
        let mut tx = self.store.begin().await?;
        let owner = match user_key {
            Some(key) => Some(load_user(tx.as_mut(), key).await?),
            None => None,
        };
        let session = tx.get_session(id).await?.ok_or_else(not_found)?;
        if session.ended.is_some() || owner.as_ref().is_some_and(|u| u.id != session.user_id) {
            return Err(not_found());
        }
        let user = match owner {
            Some(u) => u,
            None => tx.get_user(session.user_id).await?.ok_or_else(not_found)?,
        };
        let done = end_sessions_in(
            tx.as_mut(),
            ctx,
            &user,
            std::slice::from_ref(&session),
            &SessionEnd::new(end_reason::ADMIN_END),
            Some(self.single_logout),
            self.clock.now(),
        )
        .await?;
        if done.sessions.is_empty() {
            // Ended by someone else since it was read.
            return Err(not_found());
        }
        tx.commit().await?;
        Ok(done)
    }

    /// Sets a new password chosen by an admin (hashed by the caller), lifts a lockout, and runs
    /// a Universal Logout (reason `LIFECYCLE`): `user.account.reset_password` and the logout's
    /// events in one transaction.
    pub async fn reset_password(
        &self,
        ctx: &Context,
        key: &str,
        hash: &str,
    ) -> Result<crate::logout::Logout, DomainError> {
        require_write(ctx)?;
        let mut tx = self.store.begin().await?;
        let mut user = load_user(tx.as_mut(), key).await?;
        tx.lock_user(user.id).await?;
        let now = self.clock.now();
        tx.set_password_hash(user.id, hash).await?;
        user.password_changed = Some(now);
        user.last_updated = now;
        tx.update_user(&user).await?;
        let mut st = tx.sign_in_state(user.id).await?;
        let was_locked = st.locked_until.is_some_and(|t| t > now);
        if st.failed_attempts != 0 || st.locked_until.is_some() {
            st.failed_attempts = 0;
            st.locked_until = None;
            tx.put_sign_in_state(user.id, &st).await?;
        }
        let ev = LogEvent::build(
            ctx,
            events::user::RESET_PASSWORD,
            now,
            format!("Admin reset the password of {}", user.profile.login),
        )
        .target(Target::user(&user))
        .debug("unlocked", was_locked)
        .finish();
        tx.append_event(&ev).await?;
        crate::ssf::credential_changed(tx.as_mut(), &user, now).await?;
        let mut request =
            crate::logout::LogoutRequest::everything(crate::logout::reason::LIFECYCLE);
        // A new password is about sign-in: the person's admin API tokens are another credential.
        request.api_tokens = false;
        request.session_end_reason = end_reason::PASSWORD_RESET;
        let logout = crate::logout::start_in(
            tx.as_mut(),
            ctx,
            &user,
            &request,
            self.logout_deadlines,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(logout)
    }
}
