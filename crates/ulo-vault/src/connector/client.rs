//! The vault's side of the connector: signed requests to a managed app.

use std::time::Duration;

use ulo_http::{GuardError, OutboundPolicy};

use super::{Action, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};

/// Why a connector call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConnectorFailure {
    /// The app's HTTP status, if it answered.
    pub status: Option<u16>,
    /// What went wrong, for the audit log and admins (never a secret).
    pub message: String,
    /// Whether trying again later may help (network errors, 408, 429, 5xx).
    pub retryable: bool,
}

/// Calls managed apps' connectors through ulo's guarded HTTP client.
#[derive(Debug, Clone)]
pub struct ConnectorClient {
    http: reqwest::Client,
    policy: OutboundPolicy,
}

impl ConnectorClient {
    /// A client whose calls give up after `timeout`, reach only addresses `policy` allows (the
    /// name is resolved and checked by the client itself) and follow no redirects: a connector
    /// URL is where the secret-bearing request goes, and nowhere else.
    pub fn new(policy: OutboundPolicy, timeout: Duration) -> Result<Self, GuardError> {
        let http = ulo_http::client(policy, timeout)?;
        Ok(ConnectorClient { http, policy })
    }

    /// Sends `action` to `url`, signed with `secret` at Unix time `now`.
    pub async fn call(
        &self,
        url: &str,
        secret: &str,
        action: &Action,
        now: i64,
    ) -> Result<u16, ConnectorFailure> {
        let body = serde_json::to_vec(action).map_err(|e| ConnectorFailure {
            status: None,
            message: format!("encoding the request: {e}"),
            retryable: false,
        })?;
        // Checked again at send time: the policy may be stricter than when the app was made,
        // and reqwest does not resolve (so cannot check) literal addresses itself.
        let target = ulo_http::check_url(&self.policy, url).map_err(|e| ConnectorFailure {
            status: None,
            message: format!("the connector was not called: {e}"),
            retryable: false,
        })?;
        let signature = sign(secret, now, &body);
        let sent = self
            .http
            .post(target)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, now.to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => {
                return Err(ConnectorFailure {
                    status: None,
                    message: format!("the connector at {url} could not be reached: {}", short(&e)),
                    retryable: true,
                });
            }
        };
        let status = resp.status().as_u16();
        if resp.status().is_success() {
            return Ok(status);
        }
        let peer = resp.remote_addr();
        let text = resp.text().await.unwrap_or_default();
        Err(ConnectorFailure {
            status: Some(status),
            message: format!(
                "the connector answered HTTP {status}: {}",
                ulo_http::shown_body(&self.policy, peer, &text)
            ),
            retryable: matches!(status, 408 | 429) || status >= 500,
        })
    }
}

/// The error without reqwest's URL repetition.
fn short(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        s = format!("{s}: {inner}");
        source = inner.source();
    }
    s
}
