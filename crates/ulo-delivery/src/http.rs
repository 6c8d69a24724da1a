//! The outbound HTTP client for admin-entered URLs is `ulo-http`'s guarded client (shared with
//! the vault); this module adapts it to the job worker: string errors and classified answers.

use std::net::IpAddr;
use std::time::Duration;

use ulo_core::app::OutboundPolicy;

/// Builds the guarded client.
pub fn client(policy: OutboundPolicy, timeout: Duration) -> Result<reqwest::Client, String> {
    ulo_http::client(policy, timeout).map_err(|e| e.to_string())
}

/// Whether ulo may connect to `ip` under `policy`.
pub fn allowed_ip(policy: &OutboundPolicy, ip: IpAddr) -> bool {
    ulo_http::allowed_ip(policy, ip)
}

/// Checks a URL before a request: scheme and literal addresses (names are checked at resolution).
pub fn check_url(policy: &OutboundPolicy, url: &str) -> Result<reqwest::Url, String> {
    ulo_http::check_url(policy, url).map_err(|e| e.to_string())
}

/// A short excerpt of a response body for error messages (never more than 200 characters).
pub fn excerpt(body: &str) -> String {
    ulo_http::excerpt(body)
}

/// What the far side answered to one request.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status, when it answered at all.
    pub status: Option<u16>,
    /// What the attempt came to (2xx done; 408, 429, 5xx and network errors retried, honouring
    /// `Retry-After`; other statuses failed).
    pub attempt: crate::Attempt,
    /// The response body (empty without an answer).
    pub body: String,
}

/// Sends `req` and classifies the answer; error messages quote the body only as `policy` and
/// the answering address allow ([`ulo_http::shown_body`]).
pub async fn send(policy: &OutboundPolicy, req: reqwest::RequestBuilder) -> Answer {
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
                attempt: crate::Attempt::Retry {
                    error: format!("{what}: {}", error_chain(&e)),
                    retry_after: None,
                },
                body: String::new(),
            }
        }
        Ok(resp) => {
            let status = resp.status().as_u16();
            let peer = resp.remote_addr();
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = resp.text().await.unwrap_or_default();
            Answer {
                status: Some(status),
                // Errors quote the body only when a public address answered.
                attempt: crate::webhook::classify(
                    status,
                    retry_after.as_deref(),
                    &ulo_http::shown_body(policy, peer, &body),
                ),
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
