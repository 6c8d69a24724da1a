//! Which addresses ulo and the vault call when an admin enters a URL: the address policy the
//! guarded HTTP client (`ulo-http`) applies when it resolves a name and before it connects.
//!
//! Private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) are allowed: self-hosted
//! apps live there. Loopback is allowed only when the operator says so (development). Never:
//! unspecified (`0.0.0.0/8`, `::`), link-local (`169.254/16` with the cloud metadata address,
//! `fe80::/10`), known metadata addresses, multicast, broadcast and reserved ranges, and any
//! IPv4 address written in an IPv6 form (mapped, compatible, NAT64, 6to4) that is not public —
//! those forms exist to sneak an internal address past a check that only reads the literal.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The environment variable (and setting) that allows loopback calls for development.
pub const ALLOW_LOOPBACK_ENV: &str = "ULO_OUTBOUND_ALLOW_HTTP_LOOPBACK";

/// What kind of host an address is, for outbound calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    /// Globally routable.
    Public,
    /// A private or shared range of the operator's own network.
    Private,
    /// This machine (127/8, `::1`).
    Loopback,
    /// Never called; the reason says what it is.
    Forbidden(&'static str),
}

/// Classifies `ip` for an outbound call.
pub fn classify(ip: IpAddr) -> AddressKind {
    match ip {
        IpAddr::V4(a) => classify_v4(a),
        IpAddr::V6(a) => classify_v6(a),
    }
}

fn classify_v4(a: Ipv4Addr) -> AddressKind {
    let [o0, o1, ..] = a.octets();
    if o0 == 0 {
        AddressKind::Forbidden("an unspecified address (0.0.0.0/8 reaches this machine)")
    } else if a.is_loopback() {
        AddressKind::Loopback
    } else if a.is_link_local() {
        AddressKind::Forbidden(
            "a link-local address (169.254.0.0/16, home of the cloud metadata service)",
        )
    } else if a == Ipv4Addr::new(100, 100, 100, 200) {
        AddressKind::Forbidden("a cloud metadata address")
    } else if a.is_multicast() {
        AddressKind::Forbidden("a multicast address")
    } else if o0 >= 240 {
        AddressKind::Forbidden("a broadcast or reserved address (240.0.0.0/4)")
    } else if a.is_private() || (o0 == 100 && (o1 & 0xc0) == 64) {
        AddressKind::Private
    } else {
        AddressKind::Public
    }
}

/// The IPv4 address an IPv6 address carries, and the name of the form, when it is one of the
/// forms that embed one.
fn embedded_v4(a: Ipv6Addr) -> Option<(Ipv4Addr, &'static str)> {
    let s = a.segments();
    let low = Ipv4Addr::new(
        (s[6] >> 8) as u8,
        (s[6] & 0xff) as u8,
        (s[7] >> 8) as u8,
        (s[7] & 0xff) as u8,
    );
    if let Some(v4) = a.to_ipv4_mapped() {
        return Some((v4, "IPv4-mapped"));
    }
    if s[..6] == [0; 6] && a != Ipv6Addr::UNSPECIFIED && a != Ipv6Addr::LOCALHOST {
        return Some((low, "IPv4-compatible"));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) {
        return Some((low, "NAT64"));
    }
    if s[0] == 0x2002 {
        let v4 = Ipv4Addr::new(
            (s[1] >> 8) as u8,
            (s[1] & 0xff) as u8,
            (s[2] >> 8) as u8,
            (s[2] & 0xff) as u8,
        );
        return Some((v4, "6to4"));
    }
    None
}

fn classify_v6(a: Ipv6Addr) -> AddressKind {
    if a.is_unspecified() {
        return AddressKind::Forbidden("an unspecified address (:: reaches this machine)");
    }
    if a.is_loopback() {
        return AddressKind::Loopback;
    }
    if let Some((v4, _)) = embedded_v4(a) {
        return match classify_v4(v4) {
            AddressKind::Public => AddressKind::Public,
            _ => AddressKind::Forbidden(
                "an internal IPv4 address written in an IPv6 form (mapped, compatible, NAT64 or 6to4); write the IPv4 address itself",
            ),
        };
    }
    let s0 = a.segments()[0];
    if (s0 & 0xffc0) == 0xfe80 {
        AddressKind::Forbidden("a link-local address (fe80::/10)")
    } else if a == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        AddressKind::Forbidden("a cloud metadata address")
    } else if a.is_multicast() {
        AddressKind::Forbidden("a multicast address")
    } else if (s0 & 0xfe00) == 0xfc00 || (s0 & 0xffc0) == 0xfec0 {
        AddressKind::Private
    } else {
        AddressKind::Public
    }
}

/// Addresses never called, whatever the operator allows.
pub fn is_forbidden_ip(ip: IpAddr) -> bool {
    matches!(classify(ip), AddressKind::Forbidden(_))
}

/// Whether `ip` is globally routable: only then may an error shown to an admin quote what the
/// far side answered (an internal service's page must not leak through a delivery error).
pub fn is_public(ip: IpAddr) -> bool {
    classify(ip) == AddressKind::Public
}

/// Which outbound URLs an operator allows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    /// Plain `http` to loopback addresses (development and tests only).
    pub allow_http_loopback: bool,
}

impl OutboundPolicy {
    /// Why ulo may not connect to `ip`, if it may not.
    pub fn refuse_ip(&self, ip: IpAddr) -> Option<String> {
        match classify(ip) {
            AddressKind::Public | AddressKind::Private => None,
            AddressKind::Loopback if self.allow_http_loopback => None,
            AddressKind::Loopback => Some(format!(
                "{ip} is a loopback address; allowed only when the operator sets {ALLOW_LOOPBACK_ENV}=1 (development)"
            )),
            AddressKind::Forbidden(what) => Some(format!("{ip} is {what}, which is never called")),
        }
    }

    /// Whether ulo may connect to `ip`.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        self.refuse_ip(ip).is_none()
    }

    /// Checks an admin-entered URL ulo will call: https (or http to loopback when allowed), no
    /// credentials in it, and a literal address only when [`OutboundPolicy::allows_ip`]. Names
    /// are checked again when they are resolved, before connecting.
    pub fn check_url(&self, field: &str, raw: &str) -> Result<(), String> {
        let url = url::Url::parse(raw).map_err(|e| format!("{field}: not a valid URL ({e})"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("{field}: must not contain credentials"));
        }
        if url.fragment().is_some() {
            return Err(format!("{field}: must not contain a fragment"));
        }
        let host = url
            .host()
            .ok_or_else(|| format!("{field}: must have a host"))?;
        // The URL parser already turned `2130706433`, `0x7f.1` and `017700000001` into
        // 127.0.0.1, so odd spellings are judged as the address they are.
        let ip = match &host {
            url::Host::Ipv4(a) => Some(IpAddr::V4(*a)),
            url::Host::Ipv6(a) => Some(IpAddr::V6(*a)),
            url::Host::Domain(_) => None,
        };
        if let Some(why) = ip.and_then(|ip| self.refuse_ip(ip)) {
            return Err(format!("{field}: {why}"));
        }
        let loopback = match (&host, ip) {
            (_, Some(ip)) => classify(ip) == AddressKind::Loopback,
            (url::Host::Domain(d), None) => {
                let d = d.trim_end_matches('.');
                d.eq_ignore_ascii_case("localhost")
                    || d.to_ascii_lowercase().ends_with(".localhost")
            }
            _ => false,
        };
        if loopback && ip.is_none() && !self.allow_http_loopback {
            return Err(format!(
                "{field}: {host} names this machine (loopback); allowed only when the operator sets {ALLOW_LOOPBACK_ENV}=1 (development)"
            ));
        }
        match url.scheme() {
            "https" => Ok(()),
            "http" if loopback && self.allow_http_loopback => Ok(()),
            "http" if loopback => Err(format!(
                "{field}: plain http is allowed only to loopback addresses when the operator sets {ALLOW_LOOPBACK_ENV}=1"
            )),
            "http" => Err(format!("{field}: must use https")),
            other => Err(format!(
                "{field}: scheme {other:?} is not allowed; use https"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_are_classified() {
        for public in [
            "93.184.216.34",
            "2606:2800:220:1::1",
            "::ffff:93.184.216.34",
            "64:ff9b::5db8:d822",
        ] {
            assert_eq!(classify(ip(public)), AddressKind::Public, "{public}");
        }
        for private in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "fd12::1",
        ] {
            assert_eq!(classify(ip(private)), AddressKind::Private, "{private}");
        }
        for lo in ["127.0.0.1", "127.1.2.3", "::1"] {
            assert_eq!(classify(ip(lo)), AddressKind::Loopback, "{lo}");
        }
        for bad in [
            "0.0.0.0",
            "0.1.2.3",
            "::",
            "169.254.169.254",
            "169.254.0.1",
            "100.100.100.200",
            "fe80::1",
            "fd00:ec2::254",
            "224.0.0.1",
            "ff02::1",
            "255.255.255.255",
            "240.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:0.0.0.0",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "::169.254.169.254",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::a9fe:a9fe",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
        ] {
            assert!(
                matches!(classify(ip(bad)), AddressKind::Forbidden(_)),
                "{bad}"
            );
        }
    }

    #[test]
    fn outbound_urls() {
        let strict = OutboundPolicy::default();
        let dev = OutboundPolicy {
            allow_http_loopback: true,
        };
        assert!(strict.check_url("f", "https://app.example.com/gtr").is_ok());
        assert!(strict.check_url("f", "https://10.0.0.1/gtr").is_ok());
        assert!(strict.check_url("f", "http://app.example.com/gtr").is_err());
        assert!(strict.check_url("f", "http://127.0.0.1:9000/gtr").is_err());
        assert!(strict.check_url("f", "https://127.0.0.1:9000/gtr").is_err());
        assert!(strict.check_url("f", "https://localhost:9000/gtr").is_err());
        assert!(strict.check_url("f", "https://app.localhost./gtr").is_err());
        assert!(dev.check_url("f", "http://127.0.0.1:9000/gtr").is_ok());
        assert!(dev.check_url("f", "http://localhost:9000/gtr").is_ok());
        assert!(dev.check_url("f", "http://[::1]:9000/gtr").is_ok());
        assert!(dev.check_url("f", "http://10.0.0.1/gtr").is_err());
        for never in [
            "https://169.254.169.254/latest",
            "http://169.254.169.254/latest",
            "https://[fe80::1]/x",
            "https://[::ffff:169.254.169.254]/x",
            "http://[::ffff:169.254.169.254]/x",
            "http://[::ffff:127.0.0.1]:9000/x",
            "http://[::127.0.0.1]:9000/x",
            "http://[64:ff9b::7f00:1]:9000/x",
            "http://0.0.0.0:9000/x",
            "http://0:9000/x",
            "http://[::]:9000/x",
            "https://224.0.0.1/x",
            "https://255.255.255.255/x",
        ] {
            let e = dev.check_url("f", never).expect_err(never);
            assert!(e.contains("never called"), "{never}: {e}");
        }
        // Odd spellings of 127.0.0.1 are loopback: refused unless the operator allows loopback.
        for odd in [
            "http://2130706433:9000/x",
            "http://0x7f.1:9000/x",
            "http://017700000001:9000/x",
            "http://127.1:9000/x",
            "http://0x7f000001:9000/x",
        ] {
            assert!(strict.check_url("f", odd).is_err(), "{odd}");
            assert!(
                strict
                    .check_url("f", &odd.replace("http:", "https:"))
                    .is_err(),
                "{odd}"
            );
            assert!(dev.check_url("f", odd).is_ok(), "{odd}");
        }
        assert!(dev.check_url("f", "https://user:pw@example.com/x").is_err());
        assert!(dev.check_url("f", "ftp://example.com/x").is_err());
        assert!(dev.check_url("f", "not a url").is_err());
    }
}
