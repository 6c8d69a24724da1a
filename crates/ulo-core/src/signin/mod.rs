//! Sign-in and what a logout must end: password and TOTP sign-in with lockout, TOTP factor
//! enrollment, and clearing a user's sessions and tokens. Crypto (argon2, HMAC) stays with the
//! caller behind [`CredentialVerifier`]; time comes from a [`Clock`].

mod attempt;
mod clear;
pub mod console;
pub mod lockout;
mod totp;

pub use attempt::{FirstFactor, PendingSignIn, SignInRequest, SignInResult};
pub use clear::{
    ClearOptions, ClearReport, UserSessions, clear_sessions, clear_sessions_in, idle_expires,
};
pub use totp::{TOTP_DIGITS, TOTP_PERIOD, TotpFactor, TotpStatus, matched_step, time_step};

use async_trait::async_trait;
use time::Duration;

use crate::clock::Clock;
use crate::context::{Context, new_transaction, require_read, require_write};
use crate::directory::Sealer;
use crate::error::DomainError;
use crate::ids::UserId;
use crate::log::{Actor, Client, UserAgent};
use crate::store::{Store, StoreRead};
use crate::user::User;

/// Consecutive failed sign-ins that lock a user out.
pub const MAX_FAILED_ATTEMPTS: i64 = 10;
/// How long a lockout lasts.
pub const LOCKOUT: Duration = Duration::minutes(15);

/// Why a session ended (`Session::end_reason`, and `debugData.reason` of `user.session.end`).
pub mod end_reason {
    /// An admin cleared the user's sessions.
    pub const ADMIN_CLEAR: &str = "ADMIN_CLEAR";
    /// An admin ended this one session.
    pub const ADMIN_END: &str = "ADMIN_END";
    /// An admin reset the user's password.
    pub const PASSWORD_RESET: &str = "PASSWORD_RESET";
    /// The browser signed in again (re-authentication); the new session replaces it.
    pub const REPLACED: &str = "REPLACED";
    /// The user was suspended or deactivated.
    pub const LIFECYCLE: &str = "LIFECYCLE";
    /// A Universal Logout ended it (see the logout's receipt for why).
    pub const UNIVERSAL_LOGOUT: &str = "UNIVERSAL_LOGOUT";
}

/// Why a sign-in did not succeed: `outcome.reason` of `user.session.start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureReason {
    /// Unknown login or wrong password (the two are never told apart).
    InvalidCredentials,
    /// Too many consecutive failures; locked for [`LOCKOUT`].
    LockedOut,
    /// The user is SUSPENDED.
    UserSuspended,
    /// The user is DEPROVISIONED.
    UserDeprovisioned,
    /// The user is STAGED (never activated).
    UserNotActivated,
    /// The TOTP code is wrong, outside the window, or already used.
    InvalidTotp,
    /// The password was right; the user has TOTP and must send a code.
    TotpRequired,
}

crate::user::str_enum!(FailureReason {
    InvalidCredentials => "INVALID_CREDENTIALS",
    LockedOut => "LOCKED_OUT",
    UserSuspended => "USER_SUSPENDED",
    UserDeprovisioned => "USER_DEPROVISIONED",
    UserNotActivated => "USER_NOT_ACTIVATED",
    InvalidTotp => "INVALID_TOTP",
    TotpRequired => "TOTP_REQUIRED",
});

/// Checks credentials. Implemented where the crypto lives (argon2, HMAC-SHA1).
#[async_trait]
pub trait CredentialVerifier: Send + Sync {
    /// Whether `password` matches the PHC string `hash`. With no hash (unknown user, or no
    /// password set) it must spend as long as a real check and answer false, so timing does
    /// not tell whether a login exists.
    async fn password_matches(&self, password: &str, hash: Option<&str>) -> bool;
    /// Whether `code` is the TOTP code of `secret` at time step `step`, compared in constant time.
    fn totp_matches(&self, secret: &[u8], step: i64, code: &str) -> bool;
}

/// Sign-in, TOTP factors and session listing over a store.
pub struct SignIn<'a> {
    /// Where everything is kept.
    pub store: &'a dyn Store,
    /// What time it is.
    pub clock: &'a dyn Clock,
    /// Seals TOTP secrets.
    pub sealer: &'a dyn Sealer,
    /// Checks passwords and codes.
    pub verifier: &'a dyn CredentialVerifier,
    /// How long the Universal Logout a password reset starts waits on each target.
    pub logout_deadlines: crate::logout::Deadlines,
    /// How a session's end reaches apps (a sign-in that replaces a session, a clear).
    pub single_logout: crate::logout::SingleLogout,
    /// How the detections sign-in records (a lockout, a listed address) count.
    pub risk: crate::risk::RiskSettings,
    /// The operator's threat list: a sign-in from a listed address is a detection.
    pub threat_list: std::sync::Arc<crate::risk::ThreatList>,
}

/// The context of an anonymous browser request (a sign-in before anyone is known).
pub fn anonymous_context(ip: Option<String>, user_agent: Option<String>) -> Context {
    Context {
        authority: crate::context::Authority::Full,
        actor: Actor {
            id: "anonymous".into(),
            actor_type: "User".into(),
            alternate_id: "anonymous".into(),
            display_name: "Anonymous".into(),
        },
        actor_user: None,
        roles: Vec::new(),
        client: Client {
            ip_address: ip,
            user_agent: user_agent.map(|raw_user_agent| UserAgent { raw_user_agent }),
            id: None,
        },
        transaction: new_transaction("WEB"),
    }
}

/// The context of `user` acting for themselves (signing in, managing their own factor).
pub fn user_context(base: &Context, user: &User) -> Context {
    Context::user(
        user,
        base.roles.clone(),
        base.client.clone(),
        base.transaction.clone(),
    )
}

/// The sealing purpose of a user's TOTP secret: a sealed secret cannot be moved to another user.
pub fn totp_purpose(user: UserId) -> String {
    format!("totp:{user}")
}

/// Loads a user by id or, when `key` is not a UUID, by login.
async fn load_user(tx: &mut dyn StoreRead, key: &str) -> Result<User, DomainError> {
    let found = match key.parse::<UserId>() {
        Ok(id) => tx.get_user(id).await?,
        Err(_) => tx.get_user_by_login(key).await?,
    };
    found.ok_or_else(|| DomainError::not_found("user", key))
}

fn may_manage_factor(ctx: &Context, user: &User) -> Result<(), DomainError> {
    if ctx.actor_user == Some(user.id) {
        Ok(())
    } else {
        require_write(ctx)
    }
}
