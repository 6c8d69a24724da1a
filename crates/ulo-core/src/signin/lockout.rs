//! Lockout: [`MAX_FAILED_ATTEMPTS`] consecutive failures lock a user for [`LOCKOUT`]; when it
//! runs out the count starts afresh.

use time::OffsetDateTime;

use super::{LOCKOUT, MAX_FAILED_ATTEMPTS};
use crate::oauth::SignInState;

/// Whether `state` is locked at `now`; a lockout that ran out is cleared (with its count).
pub fn is_locked(state: &mut SignInState, now: OffsetDateTime) -> bool {
    match state.locked_until {
        Some(until) if until > now => true,
        Some(_) => {
            state.failed_attempts = 0;
            state.locked_until = None;
            false
        }
        None => false,
    }
}

/// Counts a failure at `now`; true when this one locks the user.
pub fn record_failure(state: &mut SignInState, now: OffsetDateTime) -> bool {
    state.failed_attempts += 1;
    let locks = state.failed_attempts >= MAX_FAILED_ATTEMPTS && state.locked_until.is_none();
    if locks {
        state.locked_until = Some(now + LOCKOUT);
    }
    locks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};
    use time::Duration;
    use time::macros::datetime;

    #[test]
    fn ten_failures_lock_for_fifteen_minutes_then_the_count_restarts() {
        let clock = ManualClock::new(datetime!(2026-11-21 07:30:00 UTC));
        let mut st = SignInState::default();
        for n in 1..MAX_FAILED_ATTEMPTS {
            assert!(!is_locked(&mut st, clock.now()));
            assert!(!record_failure(&mut st, clock.now()), "failure {n} locked");
            clock.advance(Duration::seconds(5));
        }
        assert!(!is_locked(&mut st, clock.now()));
        let locked_at = clock.now();
        assert!(record_failure(&mut st, locked_at));
        assert_eq!(st.locked_until, Some(locked_at + LOCKOUT));
        clock.set(locked_at + LOCKOUT - Duration::seconds(1));
        assert!(is_locked(&mut st, clock.now()));
        clock.set(locked_at + LOCKOUT);
        assert!(!is_locked(&mut st, clock.now()));
        assert_eq!((st.failed_attempts, st.locked_until), (0, None));
        // A fresh count: one failure does not lock again.
        assert!(!record_failure(&mut st, clock.now()));
        assert!(!is_locked(&mut st, clock.now()));
    }

    #[test]
    fn failures_are_consecutive_only() {
        let now = datetime!(2026-11-21 07:30:00 UTC);
        let mut st = SignInState::default();
        for _ in 0..MAX_FAILED_ATTEMPTS - 1 {
            record_failure(&mut st, now);
        }
        // What a success does.
        st.failed_attempts = 0;
        assert!(!record_failure(&mut st, now));
        assert!(!is_locked(&mut st, now));
    }
}
