//! The one outbound HTTP client for admin-entered URLs, shared by ulo's delivery worker and the
//! vault's connector calls. It resolves names itself and connects only to the addresses it
//! checked (so DNS rebinding cannot point a call at an internal service), refuses what
//! [`OutboundPolicy`] refuses (link-local and metadata, unspecified, odd IPv6 forms of internal
//! IPv4 addresses, and loopback unless the operator allows it), ignores proxy environment
//! variables (a proxy would resolve the name instead of us) and follows no redirects.
//!
//! Reqwest does not resolve literal addresses, so callers check every URL with [`check_url`]
//! right before sending; names are checked by the resolver.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

pub mod signature;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
pub use ulo_core::outbound::{AddressKind, OutboundPolicy, classify, is_public};

/// Why a call was not made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// The URL or its address is not one we call.
    #[error("{0}")]
    Refused(String),
    /// The client could not be built.
    #[error("building the HTTP client: {0}")]
    Build(String),
}

/// Builds the guarded client: every name it resolves is checked against `policy`.
pub fn client(policy: OutboundPolicy, timeout: Duration) -> Result<reqwest::Client, GuardError> {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver { policy }))
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("ulo/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| GuardError::Build(e.to_string()))
}

/// Whether the guarded client may connect to `ip` under `policy`.
pub fn allowed_ip(policy: &OutboundPolicy, ip: IpAddr) -> bool {
    policy.allows_ip(ip)
}

/// Checks a URL right before a request: scheme, credentials and literal addresses (names are
/// checked when the client resolves them).
pub fn check_url(policy: &OutboundPolicy, url: &str) -> Result<reqwest::Url, GuardError> {
    policy
        .check_url("url", url)
        .map_err(|e| GuardError::Refused(format!("refusing to call {url}: {e}")))?;
    reqwest::Url::parse(url).map_err(|e| GuardError::Refused(format!("{url}: {e}")))
}

struct GuardedResolver {
    policy: OutboundPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let allowed: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| policy.allows_ip(a.ip()))
                .collect();
            if allowed.is_empty() {
                // Which internal addresses a name has is not for the admin's eyes.
                let msg = format!(
                    "{host} resolves only to addresses that are not called (loopback, link-local, metadata or unspecified)"
                );
                return Err(msg.into());
            }
            let it: Addrs = Box::new(allowed.into_iter());
            Ok(it)
        })
    }
}

/// A short excerpt of a response body for error messages (never more than 200 characters).
pub fn excerpt(body: &str) -> String {
    let t: String = body.chars().take(200).collect();
    t.replace(['\n', '\r'], " ").trim().to_string()
}

/// What an error message shown to admins may say about a response body from `peer`: an excerpt
/// when the answer came from a public address (or from loopback while the operator allows
/// loopback for development), otherwise nothing of it — an internal service's page must not
/// leak through an error message.
pub fn shown_body(policy: &OutboundPolicy, peer: Option<SocketAddr>, body: &str) -> String {
    let quotable = peer.is_some_and(|p| match classify(p.ip()) {
        AddressKind::Public => true,
        AddressKind::Loopback => policy.allow_http_loopback,
        AddressKind::Private | AddressKind::Forbidden(_) => false,
    });
    if quotable {
        excerpt(body)
    } else {
        "(the body is not shown: the answer came from an internal address)".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_addresses() {
        let strict = OutboundPolicy::default();
        let dev = OutboundPolicy {
            allow_http_loopback: true,
        };
        assert!(check_url(&strict, "https://127.0.0.1/x").is_err());
        assert!(check_url(&dev, "http://127.0.0.1:8/x").is_ok());
        assert!(check_url(&dev, "https://169.254.169.254/latest/meta-data").is_err());
        assert!(check_url(&dev, "https://[::ffff:127.0.0.1]/x").is_err());
        assert!(check_url(&strict, "https://[::ffff:127.0.0.1]/x").is_err());
        assert!(allowed_ip(&strict, "10.1.2.3".parse().unwrap()));
        assert!(!allowed_ip(&strict, "::1".parse().unwrap()));
    }

    #[test]
    fn bodies_are_quoted_only_from_public_addresses() {
        let strict = OutboundPolicy::default();
        let dev = OutboundPolicy {
            allow_http_loopback: true,
        };
        let public: SocketAddr = "93.184.216.34:443".parse().unwrap();
        let lo: SocketAddr = "127.0.0.1:80".parse().unwrap();
        assert_eq!(shown_body(&strict, Some(public), "nope\n"), "nope");
        assert_eq!(
            shown_body(&dev, Some(lo), "dev app says no"),
            "dev app says no"
        );
        for internal in [
            "10.0.0.5:443",
            "192.168.1.10:80",
            "[fd00::5]:443",
            "100.64.1.1:80",
        ] {
            let peer: SocketAddr = internal.parse().unwrap();
            for policy in [&strict, &dev] {
                let shown = shown_body(policy, Some(peer), "secret admin page");
                assert!(!shown.contains("secret"), "{internal}: {shown}");
                assert!(shown.contains("not shown"), "{internal}: {shown}");
            }
        }
        assert!(!shown_body(&strict, Some(lo), "secret").contains("secret"));
        assert!(!shown_body(&dev, None, "secret").contains("secret"));
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused_without_connecting() {
        // A plain non-blocking listener: `accept` answers at once whether a connection came.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let strict = client(OutboundPolicy::default(), Duration::from_secs(5)).unwrap();
        // https: the URL check passes for a name, the resolver is what refuses it.
        let err = strict
            .get(format!("https://localhost:{port}/x"))
            .send()
            .await
            .expect_err("refused");
        assert!(format!("{:?}", err).contains("not called"), "{err:?}");
        // The refusal happened before any connection: nothing is waiting to be accepted.
        let accepted = listener.accept().map_err(|e| e.kind());
        assert_eq!(
            accepted.err(),
            Some(std::io::ErrorKind::WouldBlock),
            "a connection reached the listener"
        );
    }
}
