//! The admin console's own sessions. An admin who is signed in to ulo (password, then TOTP when
//! enrolled) opens the console: it begins a session of its own, for the same person, with
//! shorter timeouts than a sign-in session, a cookie scoped to `/admin`, and its own
//! `user.session.access_admin_app` event. It is an ordinary session otherwise: Clear User
//! Sessions, a Universal Logout or the sign-in session's end take it too.

use time::{Duration, OffsetDateTime};

use crate::context::Context;
use crate::error::DomainError;
use crate::ids::SessionId;
use crate::log::catalogue as events;
use crate::log::{LogEvent, Target};
use crate::logout::{SessionEnd, SessionsEnded, end_sessions_in};
use crate::session::Session;
use crate::store::StoreTx;
use crate::user::{User, UserStatus};

/// A console session unused this long has ended.
pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// A console session lasts at most this long (and never beyond its sign-in session).
pub const MAX_LIFETIME: Duration = Duration::hours(8);
/// `client.id` of every System Log event caused from the console.
pub const CLIENT_ID: &str = "ulo-admin-console";

/// Whether console session `s` may still be used at `now`: live, and used within
/// [`IDLE_TIMEOUT`].
pub fn is_live(s: &Session, now: OffsetDateTime) -> bool {
    s.is_live(now) && now < s.last_used + IDLE_TIMEOUT
}

/// Why the console refuses someone who is signed in to ulo.
pub const NOT_AN_ADMIN: &str =
    "ulo's admin console is for admins: this account holds no admin role";

/// Opens a console session for `user`, who holds an admin role (`ctx.roles`) and is signed in to
/// ulo with `sign_in` (a live session): a new session whose cookie secret hashes to
/// `secret_hash`, ending no later than `sign_in` does, and its `user.session.access_admin_app`
/// event, in the caller's transaction.
pub async fn open_in(
    tx: &mut dyn StoreTx,
    ctx: &Context,
    user: &User,
    sign_in: &Session,
    secret_hash: &str,
    now: OffsetDateTime,
) -> Result<Session, DomainError> {
    if ctx.roles.is_empty() {
        return Err(DomainError::Forbidden(NOT_AN_ADMIN.into()));
    }
    if user.status != UserStatus::Active || !sign_in.is_live(now) || sign_in.user_id != user.id {
        return Err(DomainError::Unauthorized(
            "Sign in to ulo first: there is no live sign-in session".into(),
        ));
    }
    let session = Session {
        id: SessionId::new(),
        user_id: user.id,
        created: now,
        last_used: now,
        expires: sign_in.expires.min(now + MAX_LIFETIME),
        ip_address: ctx.client.ip_address.clone(),
        user_agent: ctx
            .client
            .user_agent
            .as_ref()
            .map(|ua| ua.raw_user_agent.chars().take(512).collect()),
        amr: sign_in.amr.clone(),
        ended: None,
        end_reason: None,
        secret_hash: secret_hash.to_string(),
    };
    tx.insert_session(&session).await?;
    let ev = LogEvent::build(
        ctx,
        events::session::ACCESS_ADMIN_APP,
        now,
        "User accessing ulo admin console",
    )
    .target(Target::user(user))
    .debug("sessionId", session.id.to_string())
    .debug("signInSessionId", sign_in.id.to_string())
    .debug("amr", session.amr.clone())
    .finish();
    tx.append_event(&ev).await?;
    Ok(session)
}

/// Signs `user` out of the console: ends the console session and the sign-in session it came
/// from (when still live; `sign_in`), each with its `user.session.end` (reason `LOGOUT`), in the
/// caller's transaction. Apps the sign-in session reached get their back-channel logout through
/// `single_logout`, as a sign-out at ulo's end-session endpoint would.
pub async fn close_in(
    tx: &mut dyn StoreTx,
    ctx: &Context,
    user: &User,
    sessions: &[Session],
    single_logout: Option<crate::logout::SingleLogout>,
    now: OffsetDateTime,
) -> Result<SessionsEnded, DomainError> {
    end_sessions_in(
        tx,
        ctx,
        user,
        sessions,
        &SessionEnd::new(crate::oidc::SIGN_OUT_REASON),
        single_logout,
        now,
    )
    .await
}
