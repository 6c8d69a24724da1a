//! One sign-in attempt: decide, update the lockout state, start the session and log it, all in
//! one transaction. The slow password check runs before that transaction, never inside it.

use crate::log::catalogue as events;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{
    FailureReason, LOCKOUT, SignIn, end_reason, lockout, matched_step, totp_purpose, user_context,
};
use crate::clock::to_millis;
use crate::context::Context;
use crate::error::DomainError;
use crate::ids::{SessionId, UserId};
use crate::log::{Actor, LogEvent, Outcome, Severity, Target};
use crate::oauth::SignInState;
use crate::session::{MAX_LIFETIME, Session};
use crate::store::StoreTx;
use crate::user::{User, UserStatus};

/// Longest user agent kept with a session or event.
const MAX_USER_AGENT: usize = 512;
/// Longest attempted login written to the System Log for an unknown user.
const MAX_LOGGED_LOGIN: usize = 256;

/// The first factor of a sign-in.
#[derive(Debug, Clone)]
pub enum FirstFactor {
    /// A login and password, checked now.
    Password {
        /// What the user typed as username.
        login: String,
        /// What the user typed as password.
        password: String,
    },
    /// The password was checked earlier in this sign-in (the server carried this in a signed,
    /// short-lived token while asking for the TOTP code).
    Pending(PendingSignIn),
}

/// Proof that a user's password was checked, valid until their password changes or they
/// complete a sign-in (which makes it single-use without storing it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSignIn {
    /// Who.
    pub user_id: UserId,
    /// The user's `passwordChanged` then, in Unix milliseconds.
    pub password_changed: Option<i64>,
    /// The user's `lastLogin` then, in Unix milliseconds.
    pub last_login: Option<i64>,
}

impl PendingSignIn {
    fn of(user: &User) -> Self {
        PendingSignIn {
            user_id: user.id,
            password_changed: user.password_changed.map(to_millis),
            last_login: user.last_login.map(to_millis),
        }
    }
}

/// A sign-in attempt.
#[derive(Debug, Clone)]
pub struct SignInRequest {
    /// Password, or a pending sign-in whose password was checked.
    pub first: FirstFactor,
    /// The TOTP code, when sent.
    pub totp: Option<String>,
    /// SHA-256 hex of the cookie secret the new session will answer to.
    pub secret_hash: String,
    /// The browser's current session, ended (reason `REPLACED`) when this sign-in succeeds.
    pub replaces: Option<SessionId>,
}

/// What came of an attempt (every attempt is in the System Log).
#[derive(Debug, Clone)]
pub enum SignInResult {
    /// Signed in: a new session.
    SignedIn {
        /// The session.
        session: Box<Session>,
        /// Its user.
        user: Box<User>,
    },
    /// The password was right; a TOTP code is needed to finish.
    TotpRequired(PendingSignIn),
    /// Refused.
    Failed(FailureReason),
}

/// What the password check before the transaction found.
struct Checked {
    user: Option<User>,
    /// The hash the password matched, when it matched.
    matched_hash: Option<String>,
}

impl SignIn<'_> {
    /// Runs one sign-in attempt from a browser in `ctx` (see [`super::anonymous_context`]).
    pub async fn sign_in(
        &self,
        ctx: &Context,
        req: SignInRequest,
    ) -> Result<SignInResult, DomainError> {
        let checked = self.check_first_factor(&req.first).await?;
        let mut tx = self.store.begin().await?;
        let result = self.decide(tx.as_mut(), ctx, &req, checked).await?;
        tx.commit().await?;
        Ok(result)
    }

    /// Looks the user up and checks the password (slow) outside any write transaction.
    async fn check_first_factor(&self, first: &FirstFactor) -> Result<Checked, DomainError> {
        let mut tx = self.store.read().await?;
        let (user, hash) = match first {
            FirstFactor::Password { login, .. } => {
                match tx.get_user_by_login(login.trim()).await? {
                    Some(u) => {
                        let h = tx.password_hash(u.id).await?;
                        (Some(u), h)
                    }
                    None => (None, None),
                }
            }
            FirstFactor::Pending(p) => (tx.get_user(p.user_id).await?, None),
        };
        drop(tx);
        let matched_hash = match first {
            FirstFactor::Password { password, .. } => {
                // Unknown users get a check as slow as a real one: timing tells nothing.
                let ok = self
                    .verifier
                    .password_matches(password, hash.as_deref())
                    .await;
                hash.filter(|_| ok)
            }
            FirstFactor::Pending(_) => None,
        };
        Ok(Checked { user, matched_hash })
    }

    async fn decide(
        &self,
        tx: &mut dyn StoreTx,
        ctx: &Context,
        req: &SignInRequest,
        checked: Checked,
    ) -> Result<SignInResult, DomainError> {
        let now = self.clock.now();
        // Re-read under the user's lock: concurrent attempts must not lose a failure count, and a
        // password reset between the check and now must win.
        let user = match &checked.user {
            Some(u) if tx.lock_user(u.id).await? => tx.get_user(u.id).await?,
            _ => None,
        };
        let Some(mut user) = user else {
            let login = match &req.first {
                FirstFactor::Password { login, .. } => login.trim().to_string(),
                FirstFactor::Pending(p) => p.user_id.to_string(),
            };
            let ev = unknown_user_event(ctx, &login, now);
            tx.append_event(&ev).await?;
            return Ok(SignInResult::Failed(FailureReason::InvalidCredentials));
        };
        let ctx = user_context(ctx, &user);
        let mut state = tx.sign_in_state(user.id).await?;
        if lockout::is_locked(&mut state, now) {
            // While locked nothing is checked, so guessing learns nothing.
            log_start(tx, &ctx, &user, now, Some(FailureReason::LockedOut)).await?;
            return Ok(SignInResult::Failed(FailureReason::LockedOut));
        }

        let first_ok = match &req.first {
            FirstFactor::Password { .. } => {
                let current = tx.password_hash(user.id).await?;
                checked.matched_hash.is_some() && current == checked.matched_hash
            }
            FirstFactor::Pending(p) => *p == PendingSignIn::of(&user),
        };
        if !first_ok {
            return self
                .fail(
                    tx,
                    &ctx,
                    &user,
                    state,
                    now,
                    FailureReason::InvalidCredentials,
                )
                .await;
        }
        let status_refusal = match user.status {
            UserStatus::Active => None,
            UserStatus::Suspended => Some(FailureReason::UserSuspended),
            UserStatus::Deprovisioned => Some(FailureReason::UserDeprovisioned),
            UserStatus::Staged => Some(FailureReason::UserNotActivated),
        };
        if let Some(reason) = status_refusal {
            tx.put_sign_in_state(user.id, &state).await?;
            log_start(tx, &ctx, &user, now, Some(reason)).await?;
            return Ok(SignInResult::Failed(reason));
        }

        let mut amr = vec!["pwd".to_string()];
        if let (Some(sealed), Some(_)) = (&state.totp_sealed, state.totp_verified) {
            let Some(code) = req.totp.as_deref().filter(|c| !c.trim().is_empty()) else {
                tx.put_sign_in_state(user.id, &state).await?;
                log_start(tx, &ctx, &user, now, Some(FailureReason::TotpRequired)).await?;
                self.detect_listed_address(tx, &ctx, &user, now).await?;
                return Ok(SignInResult::TotpRequired(PendingSignIn::of(&user)));
            };
            let secret = self
                .sealer
                .open(sealed, &totp_purpose(user.id))
                .map_err(|e| {
                    crate::store::StoreError::Corrupt(format!("TOTP secret of {}: {e}", user.id))
                })?;
            let step = matched_step(self.verifier, &secret, code, now, state.totp_last_step);
            let Some(step) = step else {
                return self
                    .fail(tx, &ctx, &user, state, now, FailureReason::InvalidTotp)
                    .await;
            };
            state.totp_last_step = Some(step);
            amr.push("otp".into());
        }

        state.failed_attempts = 0;
        state.locked_until = None;
        tx.put_sign_in_state(user.id, &state).await?;
        user.last_login = Some(now);
        tx.update_user(&user).await?;
        let session = Session {
            id: SessionId::new(),
            user_id: user.id,
            created: now,
            last_used: now,
            expires: now + MAX_LIFETIME,
            ip_address: ctx.client.ip_address.clone(),
            user_agent: ctx
                .client
                .user_agent
                .as_ref()
                .map(|ua| truncate(&ua.raw_user_agent, MAX_USER_AGENT)),
            amr,
            ended: None,
            end_reason: None,
            secret_hash: req.secret_hash.clone(),
        };
        if let Some(old) = req.replaces {
            self.end_replaced(tx, &ctx, old, now).await?;
        }
        tx.insert_session(&session).await?;
        let ev = LogEvent::build(&ctx, events::session::START, now, "User login to ulo")
            .target(Target::user(&user))
            .debug("sessionId", session.id.to_string())
            .debug("amr", session.amr.clone())
            .finish();
        tx.append_event(&ev).await?;
        // After the session exists: a rule that logs the person out ends this one too.
        self.detect_listed_address(tx, &ctx, &user, now).await?;
        Ok(SignInResult::SignedIn {
            session: Box::new(session),
            user: Box::new(user),
        })
    }

    /// Records the threat-list detection when the attempt comes from a listed address. Called
    /// only once the password was right: anyone can type a login, and a wrong password from a
    /// listed address says nothing about the person (nor may it raise their risk).
    async fn detect_listed_address(
        &self,
        tx: &mut dyn StoreTx,
        ctx: &Context,
        user: &User,
        now: OffsetDateTime,
    ) -> Result<(), DomainError> {
        let Some(ip) = ctx
            .client
            .ip_address
            .as_deref()
            .and_then(|i| i.parse().ok())
        else {
            return Ok(());
        };
        crate::risk::sources::threat_address_in(
            tx,
            ctx,
            user,
            &self.threat_list,
            ip,
            crate::risk::sources::CriticalAction::SignIn,
            &self.risk,
            now,
        )
        .await?;
        Ok(())
    }

    /// Counts a failure, locking the user at the threshold, and logs it.
    async fn fail(
        &self,
        tx: &mut dyn StoreTx,
        ctx: &Context,
        user: &User,
        mut state: SignInState,
        now: OffsetDateTime,
        reason: FailureReason,
    ) -> Result<SignInResult, DomainError> {
        let locks = lockout::record_failure(&mut state, now);
        tx.put_sign_in_state(user.id, &state).await?;
        log_start(tx, ctx, user, now, Some(reason)).await?;
        if locks {
            let ev = LogEvent::build(
                ctx,
                events::user::LOCK,
                now,
                format!(
                    "Lock user {} after {} failed sign-ins",
                    user.profile.login, state.failed_attempts
                ),
            )
            .target(Target::user(user))
            .outcome(Outcome::success())
            .severity(Severity::Warn)
            .debug("failedAttempts", state.failed_attempts)
            .debug("lockedMinutes", LOCKOUT.whole_minutes())
            .finish();
            tx.append_event(&ev).await?;
            // Once per lockout (`locks` is true only for the failure that locks), with it.
            crate::risk::sources::brute_force_in(
                tx,
                ctx,
                user,
                state.failed_attempts,
                &self.risk,
                now,
            )
            .await?;
        }
        Ok(SignInResult::Failed(reason))
    }

    /// Ends the session a re-authentication replaces, with its single logout: the apps hold
    /// its `sid`, which no longer names a live session.
    async fn end_replaced(
        &self,
        tx: &mut dyn StoreTx,
        ctx: &Context,
        old: SessionId,
        now: OffsetDateTime,
    ) -> Result<(), DomainError> {
        let Some(session) = tx.get_session(old).await? else {
            return Ok(());
        };
        let Some(owner) = tx.get_user(session.user_id).await? else {
            return Ok(());
        };
        crate::logout::end_sessions_in(
            tx,
            ctx,
            &owner,
            std::slice::from_ref(&session),
            &crate::logout::SessionEnd::new(end_reason::REPLACED),
            Some(self.single_logout),
            now,
        )
        .await?;
        Ok(())
    }
}

/// Logs `user.session.start`: success when `failure` is `None`; a TOTP challenge as CHALLENGE.
async fn log_start(
    tx: &mut dyn StoreTx,
    ctx: &Context,
    user: &User,
    now: OffsetDateTime,
    failure: Option<FailureReason>,
) -> Result<(), DomainError> {
    let (message, outcome) = match failure {
        None => ("User login to ulo", Outcome::success()),
        Some(FailureReason::TotpRequired) => (
            "User login to ulo: TOTP code required",
            Outcome {
                result: "CHALLENGE".into(),
                reason: Some(FailureReason::TotpRequired.as_str().into()),
            },
        ),
        Some(r) => ("User login to ulo failed", Outcome::failure(r.as_str())),
    };
    let ev = LogEvent::build(ctx, events::session::START, now, message)
        .target(Target::user(user))
        .outcome(outcome)
        .finish();
    tx.append_event(&ev).await?;
    Ok(())
}

/// `user.session.start` FAILURE for a login nobody has: the actor is named by what was typed.
fn unknown_user_event(ctx: &Context, login: &str, now: OffsetDateTime) -> LogEvent {
    let mut ctx = ctx.clone();
    ctx.actor = Actor {
        id: "unknown".into(),
        actor_type: "User".into(),
        alternate_id: truncate(login, MAX_LOGGED_LOGIN),
        display_name: "Unknown user".into(),
    };
    LogEvent::build(
        &ctx,
        events::session::START,
        now,
        "User login to ulo failed",
    )
    .outcome(Outcome::failure(FailureReason::InvalidCredentials.as_str()))
    .finish()
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}
