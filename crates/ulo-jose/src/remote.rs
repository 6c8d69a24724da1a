//! Public keys published at a URL (a provider's `jwks_uri`), fetched on first use, cached per
//! owner, and fetched again when a token names a key id the cached set lacks — at most once per
//! owner in a minimum interval, so a flood of tokens with made-up `kid`s cannot make ulo hammer
//! the provider (or be used to).

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

    /// Marks a fetch of `owner`'s keys at `url` as begun, unless one began within the minimum
    /// interval (`force` ignores the interval: nothing is cached yet).
    fn claim_fetch(&self, owner: &str, url: &str, force: bool) -> bool {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let e = entries.entry(owner.to_string()).or_insert_with(|| Entry {
            url: url.to_string(),
            jwks: None,
            last_fetch: None,
        });
        if e.url != url {
            *e = Entry {
                url: url.to_string(),
                jwks: None,
                last_fetch: None,
            };
        }
        let recent = e.last_fetch.is_some_and(|t| t.elapsed() < self.min_refetch);
        if recent && !(force && e.jwks.is_none()) {
            return false;
        }
        e.last_fetch = Some(Instant::now());
        true
    }

    fn store(&self, owner: &str, url: &str, jwks: Value) -> Arc<Value> {
        let jwks = Arc::new(jwks);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = entries.get_mut(owner)
            && e.url == url
        {
            e.jwks = Some(jwks.clone());
        }
        jwks
    }

    fn cached(&self, owner: &str, url: &str) -> Option<Arc<Value>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(owner)
            .filter(|e| e.url == url)
            .and_then(|e| e.jwks.clone())
    }

    /// `owner`'s keys at `url`: cached, or fetched now when none are (a failed first fetch is
    /// retried at most once per interval).
    pub async fn keys(&self, owner: &str, url: &str) -> Result<Arc<Value>, JoseError> {
        if let Some(k) = self.cached(owner, url) {
            return Ok(k);
        }
        if !self.claim_fetch(owner, url, false) {
            return Err(JoseError::Fetch(format!(
                "{url}: the keys could not be fetched recently; retrying later"
            )));
        }
        let jwks = self.fetch_jwks(url).await?;
        Ok(self.store(owner, url, jwks))
    }

    /// Fetches `owner`'s keys again, unless they were fetched within the minimum interval
    /// (`Ok(None)`).
    pub async fn refresh(&self, owner: &str, url: &str) -> Result<Option<Arc<Value>>, JoseError> {
        if !self.claim_fetch(owner, url, false) {
            return Ok(None);
        }
        let jwks = self.fetch_jwks(url).await?;
        Ok(Some(self.store(owner, url, jwks)))
    }

    /// Forgets `owner`'s keys (its URL changed, or it was removed).
    pub fn forget(&self, owner: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(owner);
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
                match self.refresh(owner, url).await? {
                    Some(fresh) => verify_with_jwks(token, &fresh, opts),
                    None => Err(e),
                }
            }
            other => other,
        }
    }
}
