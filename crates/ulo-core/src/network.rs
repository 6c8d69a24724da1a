//! Network addresses as ulo reasons about them: lists of CIDR ranges an operator configures
//! (trusted proxies, session-influence exemptions), the client address behind trusted proxies,
//! and the network prefix two uses are compared by.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// A list of CIDR ranges (`10.0.0.0/8,2001:db8::/32`); a bare address is a range of one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpRanges(Vec<IpNet>);

impl IpRanges {
    /// No range at all (the default of every such setting).
    pub fn none() -> Self {
        IpRanges(Vec::new())
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` lies in one of the ranges (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The ranges, as written back (`10.0.0.0/8`).
    pub fn ranges(&self) -> impl Iterator<Item = String> + '_ {
        self.0.iter().map(|n| n.trunc().to_string())
    }
}

impl FromStr for IpRanges {
    type Err = String;

    /// Comma- or whitespace-separated ranges; empty is none. A range with host bits set
    /// (`10.1.2.3/8`) means its network. An entry that is neither a range nor an address is
    /// refused, naming it.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for part in s.split([',', ' ', '\n', '\t']).map(str::trim) {
            if part.is_empty() {
                continue;
            }
            let net = match part.parse::<IpNet>() {
                Ok(n) => n.trunc(),
                Err(_) => match part.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip.to_canonical()),
                    Err(_) => {
                        return Err(format!(
                            "{part:?} is not a CIDR range (e.g. 10.0.0.0/8 or 2001:db8::/32) or an IP address"
                        ));
                    }
                },
            };
            nets.push(net);
        }
        Ok(IpRanges(nets))
    }
}

/// One entry of an `X-Forwarded-For` chain: an address, maybe with a port (`1.2.3.4:5`,
/// `[2001:db8::1]:5`) or in brackets.
fn forwarded_entry(entry: &str) -> Option<IpAddr> {
    let e = entry.trim();
    if let Ok(ip) = e.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(sa) = e.parse::<std::net::SocketAddr>() {
        return Some(sa.ip().to_canonical());
    }
    e.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|r| r.parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy; then the right-most
/// address of the `X-Forwarded-For` chain (`forwarded_for`: the header values in order) that is
/// not itself trusted. Each trusted hop vouches only for the address it appended, so walking
/// from the right stops at the first address no trusted proxy is; a malformed entry stops the
/// walk at the last trusted hop. A chain made only of trusted addresses answers its left-most.
pub fn client_address(peer: IpAddr, forwarded_for: &[&str], trusted: &IpRanges) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return peer;
    }
    let mut client = peer;
    for entry in forwarded_for
        .iter()
        .flat_map(|v| v.split(','))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        let Some(ip) = forwarded_entry(entry) else {
            break;
        };
        client = ip;
        if !trusted.contains(ip) {
            break;
        }
    }
    client
}

/// The network an address belongs to, as uses are compared: its IPv4 /24 or its IPv6 /64
/// (`203.0.113.0/24`, `2001:db8:1:2::/64`). Addresses within one prefix count as one network.
pub fn network_prefix(ip: IpAddr) -> String {
    let ip = ip.to_canonical();
    let len = if ip.is_ipv4() { 24 } else { 64 };
    IpNet::new(ip, len)
        .map(|n| n.trunc().to_string())
        .unwrap_or_else(|_| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_parse_and_match() {
        let r: IpRanges = "10.0.0.0/8, 192.168.1.7 ,2001:db8::/32\n100.64.0.0/10"
            .parse()
            .unwrap();
        assert!(r.contains(ip("10.200.3.4")));
        assert!(r.contains(ip("::ffff:10.1.1.1")));
        assert!(r.contains(ip("192.168.1.7")));
        assert!(!r.contains(ip("192.168.1.8")));
        assert!(r.contains(ip("2001:db8:ffff::1")));
        assert!(r.contains(ip("100.127.255.255")));
        assert!(!r.contains(ip("100.128.0.0")));
        assert!("".parse::<IpRanges>().unwrap().is_empty());
        let e = "10.0.0.0/8,office".parse::<IpRanges>().unwrap_err();
        assert!(e.contains("\"office\""), "{e}");
        assert!("10.0.0.0/33".parse::<IpRanges>().is_err());
        let r: IpRanges = "10.1.2.3/8".parse().unwrap();
        assert_eq!(r.ranges().collect::<Vec<_>>(), ["10.0.0.0/8"]);
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_peers() {
        let trusted: IpRanges = "10.0.0.0/8".parse().unwrap();
        // An untrusted peer's header is ignored whatever it says.
        assert_eq!(
            client_address(ip("198.51.100.7"), &["203.0.113.9"], &trusted),
            ip("198.51.100.7")
        );
        // From a trusted proxy: the right-most untrusted address.
        assert_eq!(
            client_address(ip("10.0.0.2"), &["203.0.113.9"], &trusted),
            ip("203.0.113.9")
        );
        // A forged left part of the chain is skipped: the client can write anything there.
        assert_eq!(
            client_address(
                ip("10.0.0.2"),
                &["1.1.1.1, 203.0.113.9", "10.0.0.5"],
                &trusted
            ),
            ip("203.0.113.9")
        );
        // Ports and brackets; a malformed entry stops at the last trusted hop.
        assert_eq!(
            client_address(ip("10.0.0.2"), &["[2001:db8::1]:443"], &trusted),
            ip("2001:db8::1")
        );
        assert_eq!(
            client_address(ip("10.0.0.2"), &["203.0.113.9, junk, 10.0.0.7"], &trusted),
            ip("10.0.0.7")
        );
        assert_eq!(
            client_address(ip("10.0.0.2"), &[], &trusted),
            ip("10.0.0.2")
        );
        // No trusted proxies: the peer, always.
        assert_eq!(
            client_address(ip("10.0.0.2"), &["203.0.113.9"], &IpRanges::none()),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn prefixes_are_ipv4_24_and_ipv6_64() {
        assert_eq!(network_prefix(ip("203.0.113.77")), "203.0.113.0/24");
        assert_eq!(network_prefix(ip("::ffff:203.0.113.77")), "203.0.113.0/24");
        assert_eq!(
            network_prefix(ip("2001:db8:1:2:3:4:5:6")),
            "2001:db8:1:2::/64"
        );
    }
}
