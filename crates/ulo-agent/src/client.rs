//! Signed calls to ulo: each request carries a fresh JWT signed by the device key (`typ:
//! ulo-agent+jwt`, `kid` = device id, `aud` = the agent API, `htm`/`htu` = this request, a
//! random `jti`, valid 50 s from the server's time). Every answer's `Date` corrects that time; a
//! request refused while the correction moved far is signed again with the corrected time, once.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde::Serialize;
use serde_json::{Value, json};
use ulo_jose::{KeyAlg, KeyRing, SigningKey};

use crate::AgentError;
use crate::clock::ServerClock;
use crate::state::Enrolled;

/// The `typ` of the agent's request JWTs.
pub const AGENT_TYP: &str = "ulo-agent+jwt";

/// A clock correction this large may be why a request was refused (ulo tolerates 60 s of skew
/// on a request valid for 50 s): such a refusal is retried once, signed with the new time.
const CLOCK_RETRY_SECS: i64 = 30;

/// What a poll brought.
#[derive(Debug, Clone, Default)]
pub struct PollAnswer {
    /// Commands, still to verify (`{id, type, token}`).
    pub commands: Vec<Value>,
    /// ulo's current keys, signed by a key this agent pins, when it pins others (still to
    /// verify: see [`crate::keyset`]).
    pub keyset: Option<String>,
}

/// A client for one enrolled device.
pub struct AgentClient {
    http: reqwest::Client,
    enrolled: Enrolled,
    key: KeyRing,
    clock: Arc<ServerClock>,
}

#[derive(Serialize)]
struct RequestClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    htm: &'a str,
    htu: &'a str,
    jti: String,
    iat: i64,
    exp: i64,
}

/// A random `jti`.
fn jti() -> String {
    let bytes: [u8; 18] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The error summary of an error answer, or the body.
pub(crate) fn summary(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["errorSummary"].as_str().map(str::to_string))
        .unwrap_or_else(|| body.chars().take(300).collect())
}

/// An HTTP client for the agent; `timeout` bounds each request (long-polls included).
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, AgentError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        // No TCP keepalive probes: every request (a long-poll included) is bounded by
        // `timeout`, which is what finds a dead connection. With reqwest's default (probes
        // after 15 s idle, 3 × 15 s) the benchmark saw ~2,000 of 10,000 loopback connections
        // torn down with "Connection timed out" while their long-polls were healthy.
        .tcp_keepalive(None)
        .user_agent(format!("ulo-agent/{}", crate::VERSION))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| AgentError::local("building the HTTP client", e))
}

impl AgentClient {
    /// A client signing with `key_pem` (the device key, PKCS#8).
    pub fn new(
        enrolled: Enrolled,
        key_pem: &str,
        clock: Arc<ServerClock>,
    ) -> Result<Self, AgentError> {
        Self::with_http(
            enrolled,
            key_pem,
            clock,
            http_client(Duration::from_secs(90))?,
        )
    }

    /// The same over a given HTTP client (one shared by many simulated agents, as in the
    /// benchmark: each request still gets its own connection while in flight). Its timeout
    /// must exceed the long-poll.
    pub fn with_http(
        enrolled: Enrolled,
        key_pem: &str,
        clock: Arc<ServerClock>,
        http: reqwest::Client,
    ) -> Result<Self, AgentError> {
        let der = pem_body(key_pem)?;
        let key = SigningKey::from_pkcs8_der(enrolled.device_id.clone(), KeyAlg::ES256, &der)
            .map_err(|e| AgentError::local("loading the device key", e))?;
        let public = vec![key.public_jwk()];
        let key = KeyRing::new(vec![key], public)
            .map_err(|e| AgentError::local("loading the device key", e))?;
        Ok(AgentClient {
            http,
            enrolled,
            key,
            clock,
        })
    }

    /// What enrollment returned.
    pub fn enrolled(&self) -> &Enrolled {
        &self.enrolled
    }

    /// The clock this client signs with.
    pub fn clock(&self) -> &ServerClock {
        &self.clock
    }

    /// A request JWT for `method` on `path`.
    pub fn sign(&self, method: &str, path: &str) -> Result<String, AgentError> {
        let iat = self.clock.now().unix_timestamp();
        let claims = RequestClaims {
            iss: &self.enrolled.device_id,
            aud: &self.enrolled.agent_api,
            htm: method,
            htu: path,
            jti: jti(),
            iat,
            exp: iat + 50,
        };
        self.key
            .sign(KeyAlg::ES256, AGENT_TYP, &claims)
            .map_err(|e| AgentError::local("signing a request", e))
    }

    /// POSTs `body` to `path` (with `query`), signed; answers the JSON body of a 2xx.
    pub async fn post(&self, path: &str, query: &str, body: &Value) -> Result<Value, AgentError> {
        let (mut status, mut text, moved) = self.send(path, query, body).await?;
        if status == reqwest::StatusCode::UNAUTHORIZED && moved.abs() >= CLOCK_RETRY_SECS {
            // Refused, and the answer's `Date` moved the clock: the request was signed with this
            // machine's wrong time. Signed again with the server's, it can pass (once: a refusal
            // for another reason stays one).
            (status, text, _) = self.send(path, query, body).await?;
        }
        if status.is_success() {
            return serde_json::from_str(&text)
                .map_err(|e| AgentError::Unavailable(format!("unreadable answer: {e}")));
        }
        if status.is_client_error() && status.as_u16() != 408 && status.as_u16() != 429 {
            return Err(AgentError::Refused {
                status: status.as_u16(),
                message: summary(&text),
            });
        }
        Err(AgentError::Unavailable(format!(
            "{status}: {}",
            summary(&text)
        )))
    }

    /// One signed POST: the answer's status and body, and how far its `Date` moved the clock.
    async fn send(
        &self,
        path: &str,
        query: &str,
        body: &Value,
    ) -> Result<(reqwest::StatusCode, String, i64), AgentError> {
        let token = self.sign("POST", path)?;
        let url = format!(
            "{}{path}{query}",
            self.enrolled.server.trim_end_matches('/')
        );
        let resp = self
            .http
            .post(url)
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .map_err(|e| AgentError::Unavailable(with_causes(&e)))?;
        let moved = resp
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .map_or(0, |date| {
                self.clock.observe(time::OffsetDateTime::from(date))
            });
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        Ok((status, text, moved))
    }

    /// Polls for commands, waiting up to `wait` seconds for one (0: answer at once).
    pub async fn poll(&self, wait: u64, report: &Value) -> Result<PollAnswer, AgentError> {
        let query = if wait > 0 {
            format!("?wait={wait}")
        } else {
            String::new()
        };
        let v = self.post("/api/v1/agent/poll", &query, report).await?;
        Ok(PollAnswer {
            commands: v["commands"].as_array().cloned().unwrap_or_default(),
            keyset: v["keyset"].as_str().map(str::to_string),
        })
    }

    /// Acknowledges a command.
    pub async fn ack(
        &self,
        command_id: &str,
        success: bool,
        detail: &str,
    ) -> Result<(), AgentError> {
        let body = json!({
            "result": if success { "SUCCESS" } else { "FAILURE" },
            "detail": detail,
        });
        self.post(
            &format!("/api/v1/agent/commands/{command_id}/ack"),
            "",
            &body,
        )
        .await
        .map(|_| ())
    }
}

/// The DER inside a PEM document.
fn pem_body(pem: &str) -> Result<Vec<u8>, AgentError> {
    use base64::Engine;
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| AgentError::local("the device key is not PEM", e))
}

/// An error with its causes (reqwest's own message hides why a request could not be sent).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}
