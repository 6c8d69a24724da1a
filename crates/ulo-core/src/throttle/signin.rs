//! Sign-in throttling: failed passwords and codes count per (address, account), with a looser
//! cap per address against spraying one password over many accounts. Nothing else reads these
//! counters, so machine clients (SCIM, SSF, admin API tokens) behind the same address are never
//! refused because of someone's failed sign-ins.

use std::net::IpAddr;

use time::{Duration, OffsetDateTime};

use super::FixedWindow;

/// Failed sign-ins per (address, account) and per address.
#[derive(Debug)]
pub struct SignInThrottle {
    per_account: FixedWindow<(IpAddr, String)>,
    per_address: FixedWindow<IpAddr>,
}

impl Default for SignInThrottle {
    /// 20 failures per account (above the account lockout's 10, which says LOCKED_OUT) and
    /// 100 per address, in 5-minute windows.
    fn default() -> Self {
        Self::new(20, 100, Duration::minutes(5))
    }
}

impl SignInThrottle {
    /// At most `per_account` failures for one account and `per_address` in all from one
    /// address, per `window`.
    pub fn new(per_account: u32, per_address: u32, window: Duration) -> Self {
        SignInThrottle {
            per_account: FixedWindow::new(per_account, window),
            per_address: FixedWindow::new(per_address, window),
        }
    }

    /// The account key: logins compare case-insensitively.
    fn key(ip: IpAddr, account: &str) -> (IpAddr, String) {
        (ip, account.trim().to_lowercase())
    }

    /// When a sign-in to `account` from `ip` must wait, how long.
    pub fn blocked(&self, ip: IpAddr, account: &str, now: OffsetDateTime) -> Option<Duration> {
        let a = self.per_account.blocked(&Self::key(ip, account), now);
        let b = self.per_address.blocked(&ip, now);
        a.max(b)
    }

    /// Records a failed sign-in to `account` from `ip`.
    pub fn fail(&self, ip: IpAddr, account: &str, now: OffsetDateTime) {
        self.per_account.fail(Self::key(ip, account), now);
        self.per_address.fail(ip, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn one_account_is_throttled_before_its_address() {
        let t = datetime!(2026-12-01 10:00:00 UTC);
        let th = SignInThrottle::new(2, 5, Duration::minutes(5));
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        th.fail(ip, "Ada@example.com", t);
        assert!(th.blocked(ip, "ada@example.com", t).is_none());
        th.fail(ip, "ada@example.com ", t);
        assert!(th.blocked(ip, "ADA@example.com", t).is_some());
        assert!(th.blocked(ip, "grace@example.com", t).is_none());
        assert!(th.blocked(other, "ada@example.com", t).is_none());
        for n in 0..3 {
            th.fail(ip, &format!("user{n}@example.com"), t);
        }
        assert!(
            th.blocked(ip, "grace@example.com", t).is_some(),
            "the address cap"
        );
        assert!(
            th.blocked(ip, "grace@example.com", t + Duration::minutes(5))
                .is_none()
        );
    }
}
