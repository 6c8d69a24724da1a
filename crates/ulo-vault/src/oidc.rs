//! The vault as an OpenID Connect relying party of ulo: discovery, the authorization request
//! (code + PKCE + nonce), the code exchange, ID token verification against ulo's JWKS, and
//! access token introspection (asked each time, so a token ulo revoked stops working at once).

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;
use ulo_jose::{JoseError, VerifyOptions, verify_with_jwks};

use crate::error::VaultError;

/// Clock skew tolerated on ID token time claims.
const LEEWAY_SECS: u64 = 60;

/// What discovery tells about ulo.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    /// Must equal the configured issuer.
    pub issuer: String,
    /// Where browsers go to sign in.
    pub authorization_endpoint: String,
    /// Where codes become tokens.
    pub token_endpoint: String,
    /// ulo's public keys.
    pub jwks_uri: String,
    /// Where access tokens are checked.
    pub introspection_endpoint: Option<String>,
}

/// What the token endpoint answered.
#[derive(Debug, Clone, Deserialize)]
pub struct Tokens {
    /// The ID token.
    pub id_token: Option<String>,
    /// The access token (not kept by the vault).
    pub access_token: String,
}

/// What introspection says about a live token.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveToken {
    /// ulo's user id.
    pub sub: String,
    /// When it was issued (Unix seconds).
    pub iat: Option<i64>,
}

#[derive(Default)]
struct Cache {
    metadata: Option<Arc<Metadata>>,
    jwks: Option<Arc<Value>>,
    jwks_fetched: Option<tokio::time::Instant>,
}

/// ulo as seen by the vault.
pub struct RelyingParty {
    issuer: String,
    client_id: String,
    client_secret: String,
    http: reqwest::Client,
    cache: Mutex<Cache>,
}

impl RelyingParty {
    /// A relying party of `issuer` with the vault's client credentials.
    pub fn new(issuer: &str, client_id: &str, client_secret: &str) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(RelyingParty {
            issuer: issuer.trim_end_matches('/').to_string(),
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            http,
            cache: Mutex::new(Cache::default()),
        })
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The vault's client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// ulo's metadata (fetched once, then cached).
    pub async fn metadata(&self) -> Result<Arc<Metadata>, VaultError> {
        let mut cache = self.cache.lock().await;
        if let Some(m) = &cache.metadata {
            return Ok(m.clone());
        }
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        let m: Metadata = self.get_json(&url).await?;
        if m.issuer.trim_end_matches('/') != self.issuer {
            return Err(VaultError::Upstream(format!(
                "ulo's discovery document names issuer {:?}, not the configured {:?}",
                m.issuer, self.issuer
            )));
        }
        let m = Arc::new(m);
        cache.metadata = Some(m.clone());
        Ok(m)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, VaultError> {
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| VaultError::Upstream(format!("cannot reach ulo at {url}: {e}")))?;
        if !resp.status().is_success() {
            return Err(VaultError::Upstream(format!(
                "ulo answered HTTP {} for {url}",
                resp.status()
            )));
        }
        resp.json()
            .await
            .map_err(|e| VaultError::Upstream(format!("ulo's answer for {url} is not valid: {e}")))
    }

    async fn jwks(&self, refresh: bool) -> Result<Arc<Value>, VaultError> {
        let jwks_uri = self.metadata().await?.jwks_uri.clone();
        let mut cache = self.cache.lock().await;
        let recent = cache
            .jwks_fetched
            .is_some_and(|t| t.elapsed() < Duration::from_secs(10));
        if let Some(j) = &cache.jwks
            && (!refresh || recent)
        {
            return Ok(j.clone());
        }
        let doc: Value = self.get_json(&jwks_uri).await?;
        let doc = Arc::new(doc);
        cache.jwks = Some(doc.clone());
        cache.jwks_fetched = Some(tokio::time::Instant::now());
        Ok(doc)
    }

    /// The URL that starts a sign-in at ulo.
    pub async fn authorize_url(
        &self,
        redirect_uri: &str,
        state: &str,
        nonce: &str,
        challenge: &str,
    ) -> Result<String, VaultError> {
        let m = self.metadata().await?;
        let mut url = url::Url::parse(&m.authorization_endpoint).map_err(|e| {
            VaultError::Upstream(format!("ulo's authorization endpoint is not a URL: {e}"))
        })?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "openid profile email")
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    /// Exchanges an authorization code (client_secret_basic).
    pub async fn exchange(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<Tokens, VaultError> {
        let m = self.metadata().await?;
        let resp = self
            .http
            .post(&m.token_endpoint)
            .basic_auth(
                form_encode(&self.client_id),
                Some(form_encode(&self.client_secret)),
            )
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier),
            ])
            .send()
            .await
            .map_err(|e| VaultError::Upstream(format!("cannot reach ulo's token endpoint: {e}")))?;
        if !resp.status().is_success() {
            let status = resp.status();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            return Err(VaultError::Upstream(format!(
                "ulo refused the sign-in code (HTTP {status}): {}",
                body.get("error_description")
                    .or_else(|| body.get("error"))
                    .and_then(Value::as_str)
                    .unwrap_or("no reason given")
            )));
        }
        resp.json()
            .await
            .map_err(|e| VaultError::Upstream(format!("ulo's token answer is not valid: {e}")))
    }

    /// Verifies an ID token (signature, `iss`, `aud`, time claims, `nonce`); answers its claims.
    pub async fn verify_id_token(
        &self,
        token: &str,
        nonce: &str,
        now_unix: i64,
    ) -> Result<Value, VaultError> {
        let opts = VerifyOptions {
            expected_typ: None,
            issuer: Some(&self.issuer),
            audience: Some(&self.client_id),
            leeway_secs: LEEWAY_SECS,
            now_unix: Some(now_unix),
        };
        let bad = |e: JoseError| VaultError::Upstream(format!("ulo's ID token is not valid: {e}"));
        let claims = match verify_with_jwks(token, &*self.jwks(false).await?, &opts) {
            Ok((_, c)) => c,
            // ulo rotated its keys: fetch them again once.
            Err(JoseError::UnknownKid(_)) => {
                verify_with_jwks(token, &*self.jwks(true).await?, &opts)
                    .map_err(bad)?
                    .1
            }
            Err(e) => return Err(bad(e)),
        };
        if claims.get("exp").and_then(Value::as_i64).is_none() {
            return Err(VaultError::Upstream("ulo's ID token has no exp".into()));
        }
        if claims.get("nonce").and_then(Value::as_str) != Some(nonce) {
            return Err(VaultError::Upstream(
                "ulo's ID token does not carry this sign-in's nonce".into(),
            ));
        }
        Ok(claims)
    }

    /// Asks ulo whether an access token is live and issued to the vault.
    pub async fn introspect(&self, token: &str) -> Result<Option<LiveToken>, VaultError> {
        let m = self.metadata().await?;
        let endpoint = m.introspection_endpoint.clone().ok_or_else(|| {
            VaultError::Upstream("ulo publishes no introspection endpoint".into())
        })?;
        let resp = self
            .http
            .post(&endpoint)
            .basic_auth(
                form_encode(&self.client_id),
                Some(form_encode(&self.client_secret)),
            )
            .form(&[("token", token), ("token_type_hint", "access_token")])
            .send()
            .await
            .map_err(|e| VaultError::Upstream(format!("cannot reach ulo to check a token: {e}")))?;
        if !resp.status().is_success() {
            return Err(VaultError::Upstream(format!(
                "ulo's introspection answered HTTP {}",
                resp.status()
            )));
        }
        let v: Value = resp
            .json()
            .await
            .map_err(|e| VaultError::Upstream(format!("ulo's introspection answer: {e}")))?;
        let live = v.get("active").and_then(Value::as_bool) == Some(true)
            && v.get("client_id").and_then(Value::as_str) == Some(self.client_id.as_str());
        if !live {
            return Ok(None);
        }
        Ok(v.get("sub").and_then(Value::as_str).map(|sub| LiveToken {
            sub: sub.to_string(),
            iat: v.get("iat").and_then(Value::as_i64),
        }))
    }
}

/// RFC 6749 §2.3.1: client credentials are form-encoded before Basic encoding.
fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
