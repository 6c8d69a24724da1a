//! Public keys published at a URL (a provider's `jwks_uri`), fetched on first use, cached per
//! owner, and fetched again when a token names a key id the cached set lacks — at most once per
//! owner in a minimum interval, so a flood of tokens with made-up `kid`s cannot make ulo hammer
//! the provider (or be used to).
//!
//! Fetches are single-flight per owner: when many tokens arrive at once before the keys are
//! cached (a provider's first burst of SETs), one request fetches and the others wait for it and
//! use its keys — none fetches on its own, and none is refused because another's fetch is still
//! in progress. The same holds for a refetch on an unknown `kid`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::Header;
use serde_json::Value;

use crate::error::JoseError;
use crate::verify::{VerifyOptions, verify_with_jwks};

/// The most a JWKS or configuration document may weigh.
const MAX_DOCUMENT: usize = 256 * 1024;

#[derive(Debug)]
struct Entry {
    url: String,
    jwks: Option<Arc<Value>>,
    last_fetch: Option<Instant>,
    /// Why the last fetch failed (cleared by a successful one).
    last_error: Option<String>,
    /// Held while this owner's keys are being fetched: the single flight.
    gate: Arc<tokio::sync::Mutex<()>>,
}

impl Entry {
    fn new(url: &str) -> Self {
        Entry {
            url: url.to_string(),
            jwks: None,
            last_fetch: None,
            last_error: None,
            gate: Arc::new(tokio::sync::Mutex::new(())),
        }
    }
}

/// A cache of remote JWKS documents, per owner (e.g. a provider's id).
#[derive(Debug)]
pub struct RemoteJwks {
    client: reqwest::Client,
    min_refetch: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

impl RemoteJwks {
    /// Fetches with `client` (give it its timeouts and outbound rules); refetches an owner's
    /// keys at most once per `min_refetch`.
    pub fn new(client: reqwest::Client, min_refetch: Duration) -> Self {
        RemoteJwks {
            client,
            min_refetch,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// GETs a JSON object at `url` (2xx, at most 256 KiB).
    pub async fn fetch_json(&self, url: &str) -> Result<Value, JoseError> {
        let fail = |m: String| JoseError::Fetch(format!("{url}: {m}"));
        let resp = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| {
                fail(if e.is_timeout() {
                    "timed out".into()
                } else {
                    format!("could not fetch ({e})")
                })
            })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(fail(format!("answered HTTP {}", status.as_u16())));
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| fail(format!("could not read the body ({e})")))?;
        if body.len() > MAX_DOCUMENT {
            return Err(fail("the document is over 256 KiB".into()));
        }
        let v: Value =
            serde_json::from_slice(&body).map_err(|_| fail("the body is not JSON".into()))?;
        if !v.is_object() {
            return Err(fail("the body is not a JSON object".into()));
        }
        Ok(v)
    }

    async fn fetch_jwks(&self, url: &str) -> Result<Value, JoseError> {
        let v = self.fetch_json(url).await?;
        if !v.get("keys").is_some_and(Value::is_array) {
            return Err(JoseError::Fetch(format!(
                "{url}: not a JWKS document (no \"keys\" array)"
            )));
        }
        Ok(v)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `owner`'s entry for `url` (a new one when the URL changed): its cached keys and its gate.
    fn entry(&self, owner: &str, url: &str) -> (Option<Arc<Value>>, Arc<tokio::sync::Mutex<()>>) {
        let mut entries = self.lock();
        let e = entries
            .entry(owner.to_string())
            .or_insert_with(|| Entry::new(url));
        if e.url != url {
            *e = Entry::new(url);
        }
        (e.jwks.clone(), e.gate.clone())
    }

    /// What a caller holding `owner`'s gate finds: the cached keys, and — when a fetch began
    /// within the minimum interval — why it failed (or `Some(None)` if it did not).
    fn state(&self, owner: &str, url: &str) -> (Option<Arc<Value>>, Option<Option<String>>) {
        let entries = self.lock();
        match entries.get(owner).filter(|e| e.url == url) {
            Some(e) => {
                let recent = e
                    .last_fetch
                    .is_some_and(|t| t.elapsed() < self.min_refetch)
                    .then(|| e.last_error.clone());
                (e.jwks.clone(), recent)
            }
            None => (None, None),
        }
    }

    /// Fetches `owner`'s keys at `url` (the caller holds the gate) and records the outcome.
    async fn fetch_locked(&self, owner: &str, url: &str) -> Result<Arc<Value>, JoseError> {
        let began = Instant::now();
        let fetched = self.fetch_jwks(url).await;
        let mut entries = self.lock();
        // Forgotten (or re-pointed) meanwhile: hand back what was fetched, cache nothing.
        let entry = entries.get_mut(owner).filter(|e| e.url == url);
        match fetched {
            Ok(jwks) => {
                let jwks = Arc::new(jwks);
                if let Some(e) = entry {
                    e.jwks = Some(jwks.clone());
                    e.last_fetch = Some(began);
                    e.last_error = None;
                }
                Ok(jwks)
            }
            Err(err) => {
                if let Some(e) = entry {
                    e.last_fetch = Some(began);
                    e.last_error = Some(err.to_string());
                }
                Err(err)
            }
        }
    }

    /// `owner`'s keys at `url`: cached, or fetched now when none are. Concurrent callers share
    /// one fetch; a failed first fetch is retried at most once per interval (meanwhile callers
    /// get its error).
    pub async fn keys(&self, owner: &str, url: &str) -> Result<Arc<Value>, JoseError> {
        let (cached, gate) = self.entry(owner, url);
        if let Some(k) = cached {
            return Ok(k);
        }
        let _flight = gate.lock().await;
        match self.state(owner, url) {
            (Some(k), _) => Ok(k),
            (None, Some(why)) => Err(JoseError::Fetch(why.unwrap_or_else(|| {
                format!("{url}: the keys could not be fetched recently; retrying later")
            }))),
            (None, None) => self.fetch_locked(owner, url).await,
        }
    }

    /// Fetches `owner`'s keys again because `seen` (the keys a token was checked against) lacks
    /// its key: the keys another caller fetched meanwhile, else a fetch now — unless one began
    /// within the minimum interval (`Ok(None)`).
    pub async fn refresh(
        &self,
        owner: &str,
        url: &str,
        seen: &Arc<Value>,
    ) -> Result<Option<Arc<Value>>, JoseError> {
        let (_, gate) = self.entry(owner, url);
        let _flight = gate.lock().await;
        match self.state(owner, url) {
            (Some(k), _) if !Arc::ptr_eq(&k, seen) => Ok(Some(k)),
            (_, Some(_)) => Ok(None),
            _ => self.fetch_locked(owner, url).await.map(Some),
        }
    }

    /// Forgets `owner`'s keys (its URL changed, or it was removed).
    pub fn forget(&self, owner: &str) {
        self.lock().remove(owner);
    }

    /// Verifies `token` with `owner`'s keys at `url` (see [`verify_with_jwks`]); a `kid` the
    /// cached keys lack fetches them again (rate-limited) before the token is refused.
    pub async fn verify(
        &self,
        owner: &str,
        url: &str,
        token: &str,
        opts: &VerifyOptions<'_>,
    ) -> Result<(Header, Value), JoseError> {
        let jwks = self.keys(owner, url).await?;
        match verify_with_jwks(token, &jwks, opts) {
            Err(e @ (JoseError::UnknownKid(_) | JoseError::MissingKid(_))) => {
                match self.refresh(owner, url, &jwks).await? {
                    Some(fresh) => verify_with_jwks(token, &fresh, opts),
                    None => Err(e),
                }
            }
            other => other,
        }
    }
}
