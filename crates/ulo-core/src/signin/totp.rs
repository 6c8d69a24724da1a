//! TOTP (RFC 6238): which time steps a code may match, and enrolling, activating and removing
//! a user's TOTP factor. The HMAC lives behind [`CredentialVerifier::totp_matches`].

use crate::log::catalogue as events;
use rand::RngCore;
use serde::Serialize;
use time::OffsetDateTime;

use super::{
    CredentialVerifier, SignIn, load_user, may_manage_factor, require_read, require_write,
    totp_purpose,
};
use crate::context::Context;
use crate::error::DomainError;
use crate::log::{EventBuilder, LogEvent, Outcome, Target};
use crate::store::{StoreError, StoreTx};
use crate::user::User;

/// Seconds per time step.
pub const TOTP_PERIOD: i64 = 30;
/// Digits per code.
pub const TOTP_DIGITS: usize = 6;
/// Bytes of a new secret (160 bits, RFC 4226's recommendation).
const SECRET_LEN: usize = 20;
/// Steps of clock skew tolerated either way.
const SKEW: i64 = 1;
const FACTOR_TYPE: &str = "token:software:totp";

/// The time step `now` falls in.
pub fn time_step(now: OffsetDateTime) -> i64 {
    now.unix_timestamp().div_euclid(TOTP_PERIOD)
}

/// The step `code` matches within ±1 step of `now`, skipping steps at or before `last_used`
/// (a code is accepted once). Every candidate step is checked, so timing does not tell which.
pub fn matched_step(
    verifier: &dyn CredentialVerifier,
    secret: &[u8],
    code: &str,
    now: OffsetDateTime,
    last_used: Option<i64>,
) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != TOTP_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = time_step(now);
    let mut found = None;
    for step in current - SKEW..=current + SKEW {
        let fresh = last_used.is_none_or(|last| step > last);
        if verifier.totp_matches(secret, step, &code) && fresh && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// Where a user's TOTP factor is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TotpStatus {
    /// No secret.
    #[serde(rename = "NOT_SETUP")]
    NotSetUp,
    /// A secret was issued; a code must confirm it before sign-in requires it.
    PendingActivation,
    /// Required at sign-in.
    Active,
}

/// A user's TOTP factor as the API shows it (never the secret).
#[derive(Debug, Clone, PartialEq)]
pub struct TotpFactor {
    /// Whose.
    pub user: User,
    /// Where it is.
    pub status: TotpStatus,
    /// When it was activated.
    pub activated: Option<OffsetDateTime>,
}

fn status_of(st: &crate::oauth::SignInState) -> TotpStatus {
    match (&st.totp_sealed, st.totp_verified) {
        (None, _) => TotpStatus::NotSetUp,
        (Some(_), None) => TotpStatus::PendingActivation,
        (Some(_), Some(_)) => TotpStatus::Active,
    }
}

fn factor_event(
    ctx: &Context,
    event_type: crate::log::EventType,
    user: &User,
    now: OffsetDateTime,
    message: &str,
    status: TotpStatus,
) -> EventBuilder {
    LogEvent::build(ctx, event_type, now, message)
        .target(Target::user(user))
        .debug("factorType", FACTOR_TYPE)
        .debug(
            "factorStatus",
            serde_json::to_value(status).unwrap_or_default(),
        )
}

/// Appends the factor event `ev` and commits `tx`.
async fn log_and_commit(mut tx: Box<dyn StoreTx>, ev: EventBuilder) -> Result<(), DomainError> {
    tx.append_event(&ev.finish()).await?;
    tx.commit().await?;
    Ok(())
}

impl SignIn<'_> {
    /// A user's TOTP factor; admins and the user themselves may look.
    pub async fn totp_factor(&self, ctx: &Context, key: &str) -> Result<TotpFactor, DomainError> {
        let mut tx = self.store.read().await?;
        let user = load_user(tx.as_mut(), key).await?;
        if ctx.actor_user != Some(user.id) {
            require_read(ctx)?;
        }
        let st = tx.sign_in_state(user.id).await?;
        Ok(TotpFactor {
            status: status_of(&st),
            activated: st.totp_verified,
            user,
        })
    }

    /// Issues a new TOTP secret, PENDING_ACTIVATION until a code confirms it. With
    /// `reuse_pending`, a secret already pending is answered instead of replaced (so reloading
    /// the enrollment page keeps the secret the user may have scanned). An active factor must be
    /// removed first. Answers the user and the secret.
    pub async fn enroll_totp(
        &self,
        ctx: &Context,
        key: &str,
        reuse_pending: bool,
    ) -> Result<(User, Vec<u8>), DomainError> {
        let mut tx = self.store.begin().await?;
        let user = load_user(tx.as_mut(), key).await?;
        may_manage_factor(ctx, &user)?;
        tx.lock_user(user.id).await?;
        let mut st = tx.sign_in_state(user.id).await?;
        let purpose = totp_purpose(user.id);
        match (status_of(&st), &st.totp_sealed) {
            (TotpStatus::Active, _) => {
                return Err(DomainError::InvalidState(format!(
                    "TOTP is already active for {}; remove it first to enroll a new secret",
                    user.profile.login
                )));
            }
            (TotpStatus::PendingActivation, Some(sealed)) if reuse_pending => {
                let secret = self.open(sealed, &purpose, &user)?;
                return Ok((user, secret));
            }
            _ => {}
        }
        let mut secret = vec![0u8; SECRET_LEN];
        rand::rng().fill_bytes(&mut secret);
        st.totp_sealed = Some(
            self.sealer
                .seal(&secret, &purpose)
                .map_err(|e| StoreError::Invalid(format!("sealing a TOTP secret: {e}")))?,
        );
        st.totp_verified = None;
        st.totp_last_step = None;
        tx.put_sign_in_state(user.id, &st).await?;
        let now = self.clock.now();
        let ev = factor_event(
            ctx,
            events::user::FACTOR_UPDATE,
            &user,
            now,
            "Enroll TOTP factor (pending activation)",
            TotpStatus::PendingActivation,
        );
        log_and_commit(tx, ev).await?;
        Ok((user, secret))
    }

    /// Activates a pending factor with a code from the authenticator; `Ok(false)` (and a
    /// FAILURE event) when the code does not match.
    pub async fn activate_totp(
        &self,
        ctx: &Context,
        key: &str,
        code: &str,
    ) -> Result<bool, DomainError> {
        let mut tx = self.store.begin().await?;
        let user = load_user(tx.as_mut(), key).await?;
        may_manage_factor(ctx, &user)?;
        tx.lock_user(user.id).await?;
        let mut st = tx.sign_in_state(user.id).await?;
        let sealed = match (status_of(&st), &st.totp_sealed) {
            (TotpStatus::PendingActivation, Some(sealed)) => sealed.clone(),
            (TotpStatus::Active, _) => {
                return Err(DomainError::InvalidState(format!(
                    "TOTP is already active for {}",
                    user.profile.login
                )));
            }
            _ => {
                return Err(DomainError::InvalidState(format!(
                    "No TOTP enrollment is pending for {}; enroll first",
                    user.profile.login
                )));
            }
        };
        let secret = self.open(&sealed, &totp_purpose(user.id), &user)?;
        let now = self.clock.now();
        let step = matched_step(self.verifier, &secret, code, now, st.totp_last_step);
        let Some(step) = step else {
            let ev = factor_event(
                ctx,
                events::user::FACTOR_ACTIVATE,
                &user,
                now,
                "Activate TOTP factor failed",
                TotpStatus::PendingActivation,
            )
            .outcome(Outcome::failure("INVALID_TOTP"));
            log_and_commit(tx, ev).await?;
            return Ok(false);
        };
        st.totp_verified = Some(now);
        st.totp_last_step = Some(step);
        tx.put_sign_in_state(user.id, &st).await?;
        let ev = factor_event(
            ctx,
            events::user::FACTOR_ACTIVATE,
            &user,
            now,
            "Activate TOTP factor",
            TotpStatus::Active,
        );
        log_and_commit(tx, ev).await?;
        Ok(true)
    }

    /// Removes a user's TOTP factor (admins only: a stolen session must not be able to drop it).
    pub async fn remove_totp(&self, ctx: &Context, key: &str) -> Result<(), DomainError> {
        require_write(ctx)?;
        let mut tx = self.store.begin().await?;
        let user = load_user(tx.as_mut(), key).await?;
        tx.lock_user(user.id).await?;
        let mut st = tx.sign_in_state(user.id).await?;
        if st.totp_sealed.is_none() {
            return Err(DomainError::not_found(
                "TOTP factor",
                format!("of {}", user.profile.login),
            ));
        }
        st.totp_sealed = None;
        st.totp_verified = None;
        st.totp_last_step = None;
        tx.put_sign_in_state(user.id, &st).await?;
        let now = self.clock.now();
        let ev = factor_event(
            ctx,
            events::user::FACTOR_DEACTIVATE,
            &user,
            now,
            "Remove TOTP factor",
            TotpStatus::NotSetUp,
        );
        log_and_commit(tx, ev).await?;
        Ok(())
    }

    fn open(&self, sealed: &str, purpose: &str, user: &User) -> Result<Vec<u8>, DomainError> {
        self.sealer.open(sealed, purpose).map_err(|e| {
            DomainError::Store(StoreError::Corrupt(format!(
                "TOTP secret of {}: {e}",
                user.id
            )))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    /// A stand-in HMAC: the code of step `s` is `s` mod 10⁶, zero-padded.
    struct StepCodes;

    #[async_trait::async_trait]
    impl CredentialVerifier for StepCodes {
        async fn password_matches(&self, _: &str, _: Option<&str>) -> bool {
            false
        }
        fn totp_matches(&self, _: &[u8], step: i64, code: &str) -> bool {
            format!("{:06}", step.rem_euclid(1_000_000)) == code
        }
    }

    fn code(step: i64) -> String {
        format!("{:06}", step.rem_euclid(1_000_000))
    }

    #[test]
    fn steps_follow_the_clock() {
        let clock = crate::clock::ManualClock::new(datetime!(2026-11-21 07:30:00 UTC));
        use crate::clock::Clock;
        let s = time_step(clock.now());
        clock.advance(Duration::seconds(29));
        assert_eq!(time_step(clock.now()), s);
        clock.advance(Duration::seconds(1));
        assert_eq!(time_step(clock.now()), s + 1);
    }

    #[test]
    fn one_step_of_skew_either_way_and_no_more() {
        use crate::clock::Clock;
        let clock = crate::clock::ManualClock::new(datetime!(2026-11-21 07:30:10 UTC));
        let s = time_step(clock.now());
        for d in -1..=1 {
            assert_eq!(
                matched_step(&StepCodes, b"k", &code(s + d), clock.now(), None),
                Some(s + d)
            );
        }
        assert_eq!(
            matched_step(&StepCodes, b"k", &code(s + 2), clock.now(), None),
            None
        );
        assert_eq!(
            matched_step(&StepCodes, b"k", &code(s - 2), clock.now(), None),
            None
        );
        // A code read a minute ago is stale once the clock moves on.
        let old = code(s);
        clock.advance(Duration::seconds(60));
        assert_eq!(
            matched_step(&StepCodes, b"k", &old, clock.now(), None),
            None
        );
    }

    #[test]
    fn a_code_is_accepted_once() {
        let now = datetime!(2026-11-21 07:30:10 UTC);
        let s = time_step(now);
        assert_eq!(matched_step(&StepCodes, b"k", &code(s), now, Some(s)), None);
        assert_eq!(
            matched_step(&StepCodes, b"k", &code(s - 1), now, Some(s - 1)),
            None
        );
        assert_eq!(
            matched_step(&StepCodes, b"k", &code(s + 1), now, Some(s)),
            Some(s + 1)
        );
    }

    #[test]
    fn malformed_codes_never_match() {
        let now = datetime!(2026-11-21 07:30:10 UTC);
        let s = time_step(now);
        let good = code(s);
        assert_eq!(
            matched_step(&StepCodes, b"k", &format!(" {} ", &good), now, None),
            Some(s)
        );
        for bad in ["", "12345", "1234567", "12a456", "+12345", "１２３４５６"] {
            assert_eq!(
                matched_step(&StepCodes, b"k", bad, now, None),
                None,
                "{bad}"
            );
        }
    }
}
