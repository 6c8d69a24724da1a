//! The operator's threat list (`ULO_THREAT_LIST_FILE`): CIDR ranges, one a line, `#` comments.
//! Parsing and matching only; the server reads the file and reloads it when it changes.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

/// One CIDR range, e.g. `203.0.113.0/24` or `2001:db8::/32`; a bare address is a /32 (/128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange(IpNet);

impl IpRange {
    /// Whether `ip` is in the range. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is matched
    /// as the IPv4 address it carries.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.0.prefix_len()
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for IpRange {
    type Err = String;

    /// `address` or `address/prefix`; host bits must be zero (`10.0.0.1/8` is refused: it is
    /// most likely a typo for a narrower range). Stricter than [`crate::network::IpRanges`],
    /// which takes such a range as its network: a threat list is a file to be fixed, not a
    /// setting to be read kindly.
    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let network = addr
            .parse::<IpAddr>()
            .map_err(|_| format!("{addr:?} is not an IP address"))?
            .to_canonical();
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= bits && !p.starts_with('+') => n,
                _ => return Err(format!("the prefix {p:?} is not a number from 0 to {bits}")),
            },
        };
        let net = IpNet::new(network, prefix).map_err(|e| e.to_string())?;
        if net.trunc() != net {
            return Err(format!(
                "{net} has bits set past the prefix (the range starts at {})",
                net.trunc()
            ));
        }
        Ok(IpRange(net))
    }
}

/// The parsed threat list: the ranges whose addresses count as high-threat.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreatList {
    ranges: Vec<IpRange>,
}

/// A line of a threat list that is not a range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} ({text:?}): {reason}")]
pub struct ThreatListError {
    /// Its number, from 1.
    pub line: usize,
    /// What it says (trimmed, at most 100 characters).
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ThreatList {
    /// Parses a threat list: one range a line; blank lines and everything after `#` are ignored.
    /// The first bad line is an error naming it (a list is taken whole or not at all).
    pub fn parse(text: &str) -> Result<ThreatList, ThreatListError> {
        let mut ranges = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let range = if line.contains(char::is_whitespace) {
                Err("one range a line".to_string())
            } else {
                line.parse::<IpRange>()
            };
            let range = range.map_err(|reason| ThreatListError {
                line: n + 1,
                text: line.chars().take(100).collect(),
                reason,
            })?;
            ranges.push(range);
        }
        Ok(ThreatList { ranges })
    }

    /// The first range holding `ip`, if any.
    pub fn find(&self, ip: IpAddr) -> Option<IpRange> {
        self.ranges.iter().copied().find(|r| r.contains(ip))
    }

    /// How many ranges it has.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Whether it has no range.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_comments_and_blank_lines() {
        let list = ThreatList::parse(
            "# known bad\n203.0.113.0/24\n\n  198.51.100.7   # one host\n2001:db8::/32\n0.0.0.0/0 # everything\n",
        )
        .unwrap();
        assert_eq!(list.len(), 4);
        assert_eq!(
            list.find(ip("203.0.113.200")).unwrap().to_string(),
            "203.0.113.0/24"
        );
        assert!(list.find(ip("198.51.100.7")).is_some());
        assert_eq!(list.find(ip("198.51.100.8")).map(|r| r.prefix()), Some(0));
        let narrow = ThreatList::parse("198.51.100.7\n2001:db8::/32\n10.0.0.0/8").unwrap();
        assert!(narrow.find(ip("198.51.100.8")).is_none());
        assert!(narrow.find(ip("2001:db8:1::5")).is_some());
        assert!(narrow.find(ip("2001:db9::1")).is_none());
        // An IPv4-mapped IPv6 client address is its IPv4 address.
        assert!(narrow.find(ip("::ffff:10.1.2.3")).is_some());
        assert!(narrow.find(ip("11.0.0.1")).is_none());
        assert!(ThreatList::parse("# nothing\n\n").unwrap().is_empty());
        let all6 = ThreatList::parse("::/0").unwrap();
        assert!(all6.find(ip("::1")).is_some());
        assert!(all6.find(ip("127.0.0.1")).is_none());
    }

    #[test]
    fn a_bad_line_is_named() {
        for (text, line, reason) in [
            ("10.0.0.0/8\nnot-an-address\n", 2, "not an IP address"),
            ("10.0.0.0/33", 1, "prefix"),
            ("10.0.0.0/", 1, "prefix"),
            ("10.0.0.0/+8", 1, "prefix"),
            (
                "# c\n\n10.0.0.1/8",
                3,
                "bits set past the prefix (the range starts at 10.0.0.0/8)",
            ),
            ("2001:db8::/129", 1, "prefix"),
            ("10.0.0.0/8 11.0.0.0/8", 1, "one range a line"),
        ] {
            let err = ThreatList::parse(text).unwrap_err();
            assert_eq!(err.line, line, "{text}: {err}");
            assert!(err.reason.contains(reason), "{text}: {err}");
        }
    }
}
