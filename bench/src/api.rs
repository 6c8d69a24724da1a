//! The parts of ulo's admin API the benchmarks call, and reading a live receipt (server-sent
//! events).

use anyhow::{Context, Result, bail};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// An admin API client for one `ulo serve`.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    auth: String,
}

/// A receipt's `status`, or `""` when it has none.
pub fn status(receipt: &Value) -> &str {
    receipt["status"].as_str().unwrap_or("")
}

/// Whether a receipt is final (no longer `IN_PROGRESS`).
pub fn is_final(receipt: &Value) -> bool {
    let s = status(receipt);
    !s.is_empty() && s != "IN_PROGRESS"
}

/// A receipt's `id`.
pub fn id(v: &Value) -> Result<String> {
    v["id"]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("no id in {v}"))
}

impl Api {
    /// A client for the server at `base` (e.g. `http://127.0.0.1:41234`) with an admin token.
    pub fn new(base: &str, token: &str) -> Result<Api> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .context("building the HTTP client")?;
        Ok(Api {
            http,
            base: base.trim_end_matches('/').to_string(),
            auth: format!("SSWS {token}"),
        })
    }

    /// The base URL (ulo's issuer).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The HTTP client (unauthenticated requests, e.g. a provider's SETs).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// An admin call: `method path` with an optional JSON body, expecting 2xx; answers the JSON.
    pub async fn call(
        &self,
        what: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let mut req = self.request(method, path);
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.expect(what, req, None).await
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", &self.auth)
    }

    /// Sends `req`, expects the status `want` (any 2xx when `None`), answers the JSON body.
    async fn expect(
        &self,
        what: &str,
        req: reqwest::RequestBuilder,
        want: Option<StatusCode>,
    ) -> Result<Value> {
        let resp = req.send().await.with_context(|| format!("{what}: send"))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .with_context(|| format!("{what}: read body"))?;
        let ok = match want {
            Some(w) => status == w,
            None => status.is_success(),
        };
        if !ok {
            bail!("{what}: expected {want:?}, got {status}: {text}");
        }
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).with_context(|| format!("{what}: not JSON: {text}"))
    }

    /// Creates an active user whose login and email are `login`; answers its id.
    pub async fn create_user(&self, login: &str) -> Result<String> {
        let body = json!({"profile": {
            "login": login, "email": login, "firstName": "Bench", "lastName": "User"
        }});
        let v = self
            .expect(
                "create user",
                self.request(reqwest::Method::POST, "/api/v1/users?activate=true")
                    .json(&body),
                None,
            )
            .await?;
        id(&v)
    }

    /// Creates an OIDC app with Global Token Revocation logout (email subject) to `endpoint`;
    /// answers its id.
    pub async fn create_app(&self, label: &str, endpoint: &str) -> Result<String> {
        let body = json!({
            "label": label,
            "type": "oidc",
            "oidc": {
                "redirectUris": ["https://app.example.com/cb"],
                "tokenEndpointAuthMethod": "client_secret_basic"
            },
            "logout": {
                "enabled": true,
                "protocol": "global-token-revocation",
                "endpoint": endpoint,
                "subjectFormat": "email"
            }
        });
        let v = self
            .expect(
                "create app",
                self.request(reqwest::Method::POST, "/api/v1/apps")
                    .json(&body),
                None,
            )
            .await?;
        id(&v)
    }

    /// Assigns a user to an app directly.
    pub async fn assign(&self, app_id: &str, user_id: &str) -> Result<()> {
        self.expect(
            "assign user",
            self.request(
                reqwest::Method::POST,
                &format!("/api/v1/apps/{app_id}/users"),
            )
            .json(&json!({"id": user_id})),
            None,
        )
        .await?;
        Ok(())
    }

    /// Starts a Universal Logout of the user from every app; answers the receipt of the 202.
    pub async fn start_logout(&self, user_id: &str) -> Result<Value> {
        self.expect(
            "start logout",
            self.request(
                reqwest::Method::POST,
                &format!("/api/v1/users/{user_id}/logout"),
            )
            .json(&json!({"scope": "ALL_APPS"})),
            Some(StatusCode::ACCEPTED),
        )
        .await
    }

    /// Turns on the Device Logout feature and creates the desktop-mfa app with Logout on.
    pub async fn enable_device_logout(&self) -> Result<()> {
        self.expect(
            "enable device logout",
            self.request(
                reqwest::Method::POST,
                "/api/v1/features/device-logout/enable",
            ),
            Some(StatusCode::OK),
        )
        .await?;
        let body = json!({"label": "Managed computers", "type": "desktop-mfa", "logout": {"enabled": true}});
        self.expect(
            "create the desktop-mfa app",
            self.request(reqwest::Method::POST, "/api/v1/apps")
                .json(&body),
            None,
        )
        .await?;
        Ok(())
    }

    /// A single-use device enrollment token.
    pub async fn enrollment_token(&self) -> Result<String> {
        let v = self
            .expect(
                "create an enrollment token",
                self.request(reqwest::Method::POST, "/api/v1/device-enrollment-tokens")
                    .json(&json!({})),
                Some(StatusCode::CREATED),
            )
            .await?;
        v["token"]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("no token in {v}"))
    }

    /// The devices a user is seen on.
    pub async fn user_devices(&self, user_id: &str) -> Result<Vec<Value>> {
        let v = self
            .expect(
                "list a user's devices",
                self.request(
                    reqwest::Method::GET,
                    &format!("/api/v1/users/{user_id}/devices"),
                ),
                Some(StatusCode::OK),
            )
            .await?;
        v.as_array()
            .cloned()
            .with_context(|| format!("not a list: {v}"))
    }

    /// *Log Out All Devices* of a user; answers the receipt of the 202.
    pub async fn log_out_devices(&self, user_id: &str) -> Result<Value> {
        self.expect(
            "log out all devices",
            self.request(
                reqwest::Method::POST,
                &format!("/api/v1/users/{user_id}/devices/logout"),
            ),
            Some(StatusCode::ACCEPTED),
        )
        .await
    }

    /// A receipt.
    pub async fn receipt(&self, id: &str) -> Result<Value> {
        self.expect(
            "get receipt",
            self.request(reqwest::Method::GET, &format!("/api/v1/logouts/{id}")),
            Some(StatusCode::OK),
        )
        .await
    }

    /// One page of receipts, newest first.
    pub async fn receipts_page(&self, after: Option<&str>, limit: u32) -> Result<Vec<Value>> {
        let mut path = format!("/api/v1/logouts?limit={limit}");
        if let Some(a) = after {
            path.push_str("&after=");
            path.push_str(a);
        }
        let v = self
            .expect(
                "list receipts",
                self.request(reqwest::Method::GET, &path),
                Some(StatusCode::OK),
            )
            .await?;
        match v {
            Value::Array(items) => Ok(items),
            other => bail!("list receipts: expected an array, got {other}"),
        }
    }

    /// Whether any receipt is still IN_PROGRESS (one small read: `?status=IN_PROGRESS&limit=1`).
    pub async fn any_in_progress(&self) -> Result<bool> {
        let v = self
            .expect(
                "list receipts in progress",
                self.request(
                    reqwest::Method::GET,
                    "/api/v1/logouts?status=IN_PROGRESS&limit=1",
                ),
                Some(StatusCode::OK),
            )
            .await?;
        match v {
            Value::Array(items) => Ok(!items.is_empty()),
            other => bail!("list receipts: expected an array, got {other}"),
        }
    }

    /// Every receipt, paging with `after` until a short page.
    pub async fn all_receipts(&self) -> Result<Vec<Value>> {
        const LIMIT: u32 = 200;
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.receipts_page(after.as_deref(), LIMIT).await?;
            let short = page.len() < LIMIT as usize;
            after = page.last().map(id).transpose()?;
            all.extend(page);
            if short || after.is_none() {
                return Ok(all);
            }
        }
    }

    /// Follows the live receipt (`GET /api/v1/logouts/{id}/stream`) until a final one arrives;
    /// answers it.
    pub async fn follow(&self, id: &str) -> Result<Value> {
        let mut resp = self
            .request(
                reqwest::Method::GET,
                &format!("/api/v1/logouts/{id}/stream"),
            )
            .header("Accept", "text/event-stream")
            .send()
            .await
            .context("open receipt stream")?;
        if resp.status() != StatusCode::OK {
            let status = resp.status();
            let text = resp.text().await.unwrap_or_default();
            bail!("open receipt stream: expected 200, got {status}: {text}");
        }
        let mut events = SseParser::default();
        let mut last: Option<Value> = None;
        while let Some(chunk) = resp.chunk().await.context("read receipt stream")? {
            for ev in events.push(&chunk) {
                if ev.event != "receipt" {
                    continue;
                }
                let receipt: Value = serde_json::from_str(&ev.data)
                    .with_context(|| format!("receipt event is not JSON: {}", ev.data))?;
                if is_final(&receipt) {
                    return Ok(receipt);
                }
                last = Some(receipt);
            }
        }
        bail!(
            "the receipt stream ended before a final receipt; last status {:?}",
            last.as_ref().map(status)
        )
    }
}

/// `completed - created` of a final receipt, in milliseconds.
pub fn server_ms(receipt: &Value) -> Result<f64> {
    let created = timestamp(receipt, "created")?;
    let completed = timestamp(receipt, "completed")?;
    Ok((completed - created).as_seconds_f64() * 1000.0)
}

/// A receipt timestamp.
pub fn timestamp(receipt: &Value, field: &str) -> Result<time::OffsetDateTime> {
    let s = receipt[field]
        .as_str()
        .with_context(|| format!("receipt has no {field}: {receipt}"))?;
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .with_context(|| format!("receipt {field} {s:?} is not RFC 3339"))
}

/// One server-sent event.
#[derive(Debug, PartialEq)]
pub struct SseEvent {
    /// `event:` (`message` when absent).
    pub event: String,
    /// The `data:` lines, joined with newlines.
    pub data: String,
}

/// Splits a byte stream into server-sent events.
#[derive(Default)]
pub struct SseParser {
    buf: Vec<u8>,
}

impl SseParser {
    /// Adds bytes; answers the events they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        // Line ends may be CRLF; JSON data never holds a raw CR, so dropping them is safe.
        self.buf
            .extend(bytes.iter().copied().filter(|b| *b != b'\r'));
        let mut out = Vec::new();
        while let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
            let block: Vec<u8> = self.buf.drain(..end + 2).collect();
            let text = String::from_utf8_lossy(&block[..end]);
            let mut event = String::from("message");
            let mut data: Vec<&str> = Vec::new();
            let mut any = false;
            for line in text.lines() {
                let (field, value) = match line.split_once(':') {
                    Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                    None => (line, ""),
                };
                match field {
                    "event" => event = value.to_string(),
                    "data" => {
                        data.push(value);
                        any = true;
                    }
                    // Comments (keep-alives, an empty field name) and ids are of no use here.
                    _ => {}
                }
            }
            if any {
                out.push(SseEvent {
                    event,
                    data: data.join("\n"),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events_split_across_chunks() {
        let mut p = SseParser::default();
        assert!(p.push(b"event: receipt\r\ndata: {\"a\"").is_empty());
        let evs = p.push(b":1}\r\n\r\n: keep-alive\n\nevent: receipt\ndata: x\ndata: y\n\n");
        assert_eq!(
            evs,
            vec![
                SseEvent {
                    event: "receipt".into(),
                    data: "{\"a\":1}".into()
                },
                SseEvent {
                    event: "receipt".into(),
                    data: "x\ny".into()
                },
            ]
        );
    }

    #[test]
    fn tells_final_receipts() {
        assert!(!is_final(&json!({"status": "IN_PROGRESS"})));
        assert!(is_final(&json!({"status": "COMPLETED"})));
        assert!(is_final(&json!({"status": "COMPLETED_WITH_FAILURES"})));
        assert!(!is_final(&json!({})));
    }
}
