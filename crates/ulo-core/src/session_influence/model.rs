//! The context a use of a session or refresh-token family happens in, and the settings.

use std::net::IpAddr;
use std::str::FromStr;

use time::OffsetDateTime;

use crate::ids::{GrantId, SessionId, UserId};
use crate::network::{IpRanges, network_prefix};

/// What session influence does (`ULO_SESSION_INFLUENCE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Nothing is compared or recorded.
    Off,
    /// A change is logged (`user.session.context_change`), no detection is recorded.
    Monitor,
    /// A change is logged and recorded as a `SESSION_INFLUENCED_USER_RISK` detection.
    #[default]
    On,
}

impl Mode {
    /// `off`, `monitor` or `on`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Monitor => "monitor",
            Mode::On => "on",
        }
    }
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "off" | "false" | "0" => Ok(Mode::Off),
            "monitor" => Ok(Mode::Monitor),
            "on" | "true" | "1" => Ok(Mode::On),
            other => Err(format!("{other:?} is not off, monitor or on")),
        }
    }
}

/// Session influence settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Off, monitor or on (default on).
    pub mode: Mode,
    /// Addresses in these ranges never count as a change of network
    /// (`ULO_SESSION_INFLUENCE_EXEMPT`; default none).
    pub exempt: IpRanges,
}

/// Whose context: a sign-in session or a refresh-token family (a grant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UseSubject {
    /// A ulo sign-in session (its cookie).
    Session(SessionId),
    /// Every refresh token descending from one authorization.
    Grant(GrantId),
}

impl UseSubject {
    /// `SESSION` or `GRANT`, as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            UseSubject::Session(_) => "SESSION",
            UseSubject::Grant(_) => "GRANT",
        }
    }

    /// The session's or grant's id.
    pub fn id(&self) -> String {
        match self {
            UseSubject::Session(id) => id.to_string(),
            UseSubject::Grant(id) => id.to_string(),
        }
    }

    /// For people: "session …" or "refresh-token family …".
    pub fn describe(&self) -> String {
        match self {
            UseSubject::Session(id) => format!("session {id}"),
            UseSubject::Grant(id) => format!("refresh-token family {id}"),
        }
    }
}

/// Where a use came from: the client's address and `User-Agent`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Use {
    /// The client's address (behind trusted proxies).
    pub address: Option<IpAddr>,
    /// The raw `User-Agent`.
    pub user_agent: Option<String>,
}

impl Use {
    /// A use from `address` (text, as the System Log keeps it) with `user_agent`.
    pub fn new(address: Option<&str>, user_agent: Option<&str>) -> Self {
        Use {
            address: address.and_then(|a| a.parse().ok()),
            user_agent: user_agent.map(str::to_string),
        }
    }
}

/// One context a session or refresh-token family was used in: the one it began in (`origin`)
/// or a later, different one (recorded once, when first seen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UseContext {
    /// Whose.
    pub subject: UseSubject,
    /// The person.
    pub user_id: UserId,
    /// The address, when known.
    pub address: Option<String>,
    /// The network prefix (IPv4 /24, IPv6 /64) of the address, when known.
    pub network: Option<String>,
    /// The client family (`Chrome on macOS`, `curl`).
    pub client: String,
    /// Whether this is the context the session or family began in.
    pub origin: bool,
    /// When first seen.
    pub seen: OffsetDateTime,
}

impl UseContext {
    /// The context of `u`.
    pub fn of(
        subject: UseSubject,
        user_id: UserId,
        u: &Use,
        origin: bool,
        now: OffsetDateTime,
    ) -> Self {
        UseContext {
            subject,
            user_id,
            address: u.address.map(|a| a.to_canonical().to_string()),
            network: u.address.map(network_prefix),
            client: super::client_family(u.user_agent.as_deref()),
            origin,
            seen: now,
        }
    }

    /// Same network and same client family.
    pub fn same_place(&self, other: &UseContext) -> bool {
        self.network == other.network && self.client == other.client
    }

    /// `203.0.113.0/24 (203.0.113.7)`, or `an unknown address`.
    pub fn where_from(&self) -> String {
        match (&self.network, &self.address) {
            (Some(n), Some(a)) => format!("{n} ({a})"),
            _ => "an unknown address".into(),
        }
    }
}

/// How a later use differs from the context its session or family began in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The network changed (neither address unknown, the new one not exempt).
    pub network: bool,
    /// The client family changed.
    pub client: bool,
}

impl Change {
    /// How `now` differs from `origin`; `None` when it does not count.
    pub fn between(origin: &UseContext, now: &UseContext, exempt: &IpRanges) -> Option<Change> {
        let now_exempt = now
            .address
            .as_deref()
            .and_then(|a| a.parse::<IpAddr>().ok())
            .is_some_and(|a| exempt.contains(a));
        let network = origin.network.is_some()
            && now.network.is_some()
            && origin.network != now.network
            && !now_exempt;
        let client = origin.client != now.client;
        (network || client).then_some(Change { network, client })
    }

    /// The reasons a detection carries: what it was and what it is (never a token).
    pub fn reasons(&self, origin: &UseContext, now: &UseContext) -> Vec<String> {
        let mut r = Vec::new();
        if self.network {
            r.push(format!(
                "{} began on network {} and was used from network {}",
                origin.subject.describe(),
                origin.where_from(),
                now.where_from()
            ));
        }
        if self.client {
            r.push(format!(
                "{} began in client {} and was used from client {}",
                origin.subject.describe(),
                origin.client,
                now.client
            ));
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ip: Option<&str>, ua: &str, origin: bool) -> UseContext {
        UseContext::of(
            UseSubject::Session(SessionId::new()),
            UserId::new(),
            &Use::new(ip, Some(ua)),
            origin,
            OffsetDateTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn changes_of_network_and_client() {
        let none = IpRanges::none();
        let chrome = "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/131.0 Safari/537.36";
        let began = at(Some("203.0.113.5"), chrome, true);
        // Same /24, same family: nothing.
        assert_eq!(
            Change::between(&began, &at(Some("203.0.113.200"), chrome, false), &none),
            None
        );
        let moved = at(Some("198.51.100.1"), chrome, false);
        assert_eq!(
            Change::between(&began, &moved, &none),
            Some(Change {
                network: true,
                client: false
            })
        );
        // An exempt new address is no change of network; the client still counts.
        let exempt: IpRanges = "198.51.100.0/24".parse().unwrap();
        assert_eq!(Change::between(&began, &moved, &exempt), None);
        let curl = at(Some("198.51.100.1"), "curl/8", false);
        assert_eq!(
            Change::between(&began, &curl, &exempt),
            Some(Change {
                network: false,
                client: true
            })
        );
        // An unknown address cannot tell a network apart.
        assert_eq!(
            Change::between(&began, &at(None, chrome, false), &none),
            None
        );
        let reasons = Change::between(&began, &curl, &none)
            .unwrap()
            .reasons(&began, &curl);
        assert_eq!(reasons.len(), 2);
        assert!(reasons[0].contains("203.0.113.0/24 (203.0.113.5)"));
        assert!(reasons[1].contains("Chrome on Windows") && reasons[1].contains("curl"));
        assert_eq!("Monitor".parse::<Mode>().unwrap(), Mode::Monitor);
        assert!("loud".parse::<Mode>().is_err());
    }
}
