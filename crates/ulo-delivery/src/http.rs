//! The outbound HTTP client for admin-entered URLs: it resolves names itself and refuses
//! forbidden addresses (link-local, cloud metadata, and loopback unless the operator allows it),
//! so DNS rebinding cannot point a delivery at an internal service. Redirects are not followed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use ulo_core::app::{OutboundPolicy, is_forbidden_ip};

/// Builds the guarded client.
pub fn client(policy: OutboundPolicy, timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver { policy }))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("ulo/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())
}

/// Whether ulo may connect to `ip` under `policy`.
pub fn allowed_ip(policy: &OutboundPolicy, ip: IpAddr) -> bool {
    // `::ffff:127.0.0.1` is loopback too: judge the address it really is.
    let ip = ip.to_canonical();
    !is_forbidden_ip(ip) && (!ip.is_loopback() || policy.allow_http_loopback)
}

/// Checks a URL before a request: scheme and literal addresses (names are checked at resolution).
pub fn check_url(policy: &OutboundPolicy, url: &str) -> Result<reqwest::Url, String> {
    policy.check_url("url", url)?;
    let parsed = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
    let literal = match parsed.host() {
        Some(url::Host::Ipv4(a)) => Some(IpAddr::V4(a)),
        Some(url::Host::Ipv6(a)) => Some(IpAddr::V6(a)),
        _ => None,
    };
    if let Some(ip) = literal
        && !allowed_ip(policy, ip)
    {
        return Err(format!(
            "refusing to call {ip}: loopback needs ULO_OUTBOUND_ALLOW_HTTP_LOOPBACK=1; link-local and metadata addresses are never called"
        ));
    }
    Ok(parsed)
}

struct GuardedResolver {
    policy: OutboundPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| allowed_ip(&policy, a.ip()))
                .collect();
            if allowed.is_empty() {
                let msg =
                    format!("{host} resolves only to addresses ulo does not call ({addrs:?})");
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
    t.replace(['\n', '\r'], " ")
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
        assert!(check_url(&dev, "https://[::ffff:127.0.0.1]/x").is_ok());
        assert!(check_url(&strict, "https://[::ffff:127.0.0.1]/x").is_err());
        assert!(allowed_ip(&strict, "10.1.2.3".parse().unwrap()));
        assert!(!allowed_ip(&strict, "::1".parse().unwrap()));
    }
}

/// What the far side answered to one request.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status, when it answered at all.
    pub status: Option<u16>,
    /// What the attempt came to (2xx done; 408, 429, 5xx and network errors retried, honouring
    /// `Retry-After`; other statuses failed).
    pub attempt: crate::worker::Attempt,
    /// The response body (empty without an answer).
    pub body: String,
}

/// Sends `req` and classifies the answer.
pub async fn send(req: reqwest::RequestBuilder) -> Answer {
    match req.send().await {
        Err(e) => {
            let what = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "could not connect"
            } else {
                "network error"
            };
            Answer {
                status: None,
                attempt: crate::worker::Attempt::Retry {
                    error: format!("{what}: {}", error_chain(&e)),
                    retry_after: None,
                },
                body: String::new(),
            }
        }
        Ok(resp) => {
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = resp.text().await.unwrap_or_default();
            Answer {
                status: Some(status),
                attempt: crate::webhook::classify(status, retry_after.as_deref(), &body),
                body,
            }
        }
    }
}

/// An error and its causes, e.g. "error sending request: connection refused".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
