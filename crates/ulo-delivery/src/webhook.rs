//! The `webhook` job: POST a JSON body to a URL, with the job id as idempotency key.
//! Policies' RUN_WORKFLOW action and operator notifications use it.

use std::time::Duration as StdDuration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::Duration;
use ulo_core::app::OutboundPolicy;
use ulo_core::job::Job;
use ulo_core::store::Store;

use crate::http;
use crate::{Attempt, JobKind, Ran};

/// The job kind.
pub const KIND: &str = "webhook";

/// What a webhook job carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookPayload {
    /// Where to POST.
    pub url: String,
    /// JSON body.
    pub body: serde_json::Value,
}

/// Sends webhooks.
pub struct Webhook {
    client: reqwest::Client,
    policy: OutboundPolicy,
}

impl Webhook {
    /// A sender with a per-attempt `timeout`.
    pub fn new(policy: OutboundPolicy, timeout: StdDuration) -> Result<Self, String> {
        Ok(Webhook {
            client: http::client(policy, timeout)?,
            policy,
        })
    }
}

/// How an HTTP answer maps to an attempt: 2xx done; 408, 429 and 5xx retried (honouring
/// `Retry-After` in seconds); any other status is a permanent failure.
pub fn classify(status: u16, retry_after: Option<&str>, body: &str) -> Attempt {
    let after = retry_after
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(|s| Duration::seconds(s.clamp(0, 3600)));
    match status {
        200..=299 => Attempt::Done,
        408 | 429 | 500..=599 => Attempt::Retry {
            error: format!("HTTP {status}: {}", http::excerpt(body)),
            retry_after: after,
        },
        _ => Attempt::Fail {
            error: format!("HTTP {status}: {}", http::excerpt(body)),
        },
    }
}

#[async_trait]
impl JobKind for Webhook {
    const KIND: &'static str = KIND;
    type Queue = dyn Store;
    type Payload = WebhookPayload;
    type Outcome = ();

    async fn run(&self, job: &Job, payload: &WebhookPayload) -> Ran<()> {
        let url = match http::check_url(&self.policy, &payload.url) {
            Ok(u) => u,
            Err(e) => return Attempt::Fail { error: e }.into(),
        };
        let req = self
            .client
            .post(url)
            .header("Idempotency-Key", job.id.to_string())
            .json(&payload.body);
        http::send(&self.policy, req).await.attempt.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(classify(204, None, ""), Attempt::Done);
        assert!(
            matches!(classify(503, Some("7"), ""), Attempt::Retry { retry_after: Some(d), .. } if d == Duration::seconds(7))
        );
        assert!(matches!(
            classify(429, None, ""),
            Attempt::Retry {
                retry_after: None,
                ..
            }
        ));
        assert!(matches!(classify(408, None, ""), Attempt::Retry { .. }));
        assert!(matches!(classify(400, None, "bad"), Attempt::Fail { .. }));
        assert!(matches!(classify(404, None, ""), Attempt::Fail { .. }));
    }
}
