//! The receiver: verifies tokens against ulo's JWKS (cached) and calls the hook.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, header};
use serde_json::Value;
use ulo_jose::{JoseError, VerifyOptions, verify_with_jwks};

use crate::claims::{
    bearer_token, check_logout_token_claims, check_required_claims, parse_backchannel_request,
    parse_request,
};
use crate::{
    HookOutcome, LogoutHook, LogoutRequest, MemoryReplayStore, ReceiverConfig, ReceiverError,
    ReplayStore,
};

/// JWKS cache: fetched on first use, refetched on an unknown `kid` at most once per interval.
struct JwksCache {
    jwks: tokio::sync::Mutex<JwksState>,
    http: reqwest::Client,
}

struct JwksState {
    doc: Option<Arc<Value>>,
    last_fetch: Option<tokio::time::Instant>,
}

/// A Universal Logout receiver: verifies requests and calls the hook.
#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Inner>,
}

struct Inner {
    config: ReceiverConfig,
    hook: Arc<dyn LogoutHook>,
    jwks: JwksCache,
    replay: Arc<dyn ReplayStore>,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// The configuration this receiver checks requests with.
    pub(crate) fn config(&self) -> &ReceiverConfig {
        &self.inner.config
    }

    /// Builds a receiver from its configuration and the app's hook.
    pub fn new(config: ReceiverConfig, hook: impl LogoutHook + 'static) -> Self {
        Self::with_shared_hook(config, Arc::new(hook))
    }

    /// Like [`Receiver::new`] with an already shared hook.
    pub fn with_shared_hook(config: ReceiverConfig, hook: Arc<dyn LogoutHook>) -> Self {
        let replay = Arc::new(MemoryReplayStore::new(config.replay_cache_capacity));
        Self::with_replay_store(config, hook, replay)
    }

    /// Like [`Receiver::with_shared_hook`], remembering `jti`s in `replay` instead of in memory
    /// (then [`ReceiverConfig::replay_cache_capacity`] is not used).
    pub fn with_replay_store(
        config: ReceiverConfig,
        hook: Arc<dyn LogoutHook>,
        replay: Arc<dyn ReplayStore>,
    ) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.jwks_fetch_timeout)
            .build()
            .unwrap_or_default();
        let doc = config.static_jwks.clone().map(Arc::new);
        Self {
            inner: Arc::new(Inner {
                config,
                hook,
                jwks: JwksCache {
                    jwks: tokio::sync::Mutex::new(JwksState {
                        doc,
                        last_fetch: None,
                    }),
                    http,
                },
                replay,
            }),
        }
    }

    /// Handles one request given its headers and body; the answer is 204 or an error.
    pub async fn handle(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), ReceiverError> {
        let token = bearer_token(headers)?;
        let config = &self.inner.config;
        let claims = self
            .verify_token(
                token,
                ulo_jose::typ::GLOBAL_TOKEN_REVOCATION,
                &config.audience,
            )
            .await?;
        check_required_claims(&claims)?;
        let sub = claims.get("sub").and_then(Value::as_str);
        if sub != Some(self.inner.config.client_id.as_str()) {
            return Err(ReceiverError::Forbidden(
                "the token was not issued for this app".into(),
            ));
        }
        let subject = parse_request(headers, body)?;
        let jti = claims
            .get("jti")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .unwrap_or_default();
        self.remember(jti, exp).await?;
        let request = LogoutRequest {
            subject: subject.clone(),
            jti: jti.to_owned(),
        };
        match self.inner.hook.logout_request(&request).await {
            HookOutcome::Done => {
                tracing::info!(?subject, jti, "universal logout done");
                Ok(())
            }
            HookOutcome::UnknownUser => {
                tracing::info!(?subject, jti, "universal logout: unknown user");
                Err(ReceiverError::UnknownUser)
            }
            HookOutcome::Failed(why) => {
                tracing::warn!(?subject, jti, %why, "universal logout failed");
                Err(ReceiverError::LogoutFailed(why))
            }
        }
    }

    /// Handles one OIDC Back-Channel Logout request given its headers and body; the
    /// answer is 200 or an error (see [`backchannel_handler`] for the mapping).
    pub async fn handle_backchannel(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), ReceiverError> {
        let token = parse_backchannel_request(headers, body)?;
        let config = &self.inner.config;
        let claims = self
            .verify_token(&token, ulo_jose::typ::LOGOUT, &config.client_id)
            .await?;
        let logout = check_logout_token_claims(&claims)?;
        let jti = claims
            .get("jti")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .unwrap_or_default();
        self.remember(jti, exp).await?;
        match self.inner.hook.backchannel_logout(&logout).await {
            HookOutcome::Done => {
                tracing::info!(?logout, jti, "back-channel logout done");
                Ok(())
            }
            HookOutcome::UnknownUser => {
                tracing::info!(?logout, jti, "back-channel logout: no such user or session");
                Ok(())
            }
            HookOutcome::Failed(why) => {
                tracing::warn!(?logout, jti, %why, "back-channel logout failed");
                Err(ReceiverError::LogoutFailed(why))
            }
        }
    }

    /// Records the verified token's `jti`; a replay is 401, a failing store 503.
    async fn remember(&self, jti: &str, exp: i64) -> Result<(), ReceiverError> {
        let config = &self.inner.config;
        // The token stays acceptable until `exp` plus the leeway, so its jti is kept as long.
        let leeway = i64::try_from(config.leeway.as_secs()).unwrap_or(i64::MAX);
        let expires = exp.saturating_add(leeway);
        match self
            .inner
            .replay
            .remember(jti, expires, config.clock.now_unix())
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(ReceiverError::InvalidToken(
                "token jti was already used".into(),
            )),
            Err(e) => Err(ReceiverError::Unavailable(e.0)),
        }
    }

    /// Verifies the JWT (signature, `typ`, `iss`, `aud`, time claims) and returns its claims.
    async fn verify_token(
        &self,
        token: &str,
        typ: &str,
        audience: &str,
    ) -> Result<Value, ReceiverError> {
        let config = &self.inner.config;
        let opts = VerifyOptions {
            expected_typ: Some(typ),
            issuer: Some(&config.issuer),
            audience: Some(audience),
            leeway_secs: config.leeway.as_secs(),
            now_unix: Some(config.clock.now_unix()),
        };
        let jwks = self.jwks(false).await?;
        let claims = match verify_with_jwks(token, &jwks, &opts) {
            Ok((_, claims)) => claims,
            Err(JoseError::UnknownKid(kid)) if config.static_jwks.is_none() => {
                // Key rotation at ulo: refetch (rate-limited) and try once more.
                let fresh = self.jwks(true).await?;
                if Arc::ptr_eq(&fresh, &jwks) {
                    return Err(ReceiverError::InvalidToken(format!(
                        "unknown key id {kid:?}"
                    )));
                }
                verify_with_jwks(token, &fresh, &opts)
                    .map_err(|e| ReceiverError::InvalidToken(e.to_string()))?
                    .1
            }
            Err(e) => return Err(ReceiverError::InvalidToken(e.to_string())),
        };
        Ok(claims)
    }

    /// The JWKS: cached, fetched when absent, refetched when `refresh` and the interval passed.
    async fn jwks(&self, refresh: bool) -> Result<Arc<Value>, ReceiverError> {
        let config = &self.inner.config;
        let mut state = self.inner.jwks.jwks.lock().await;
        if let Some(doc) = &state.doc {
            let may_refetch = refresh
                && config.static_jwks.is_none()
                && state
                    .last_fetch
                    .is_none_or(|t| t.elapsed() >= config.jwks_refetch_interval);
            if !may_refetch {
                return Ok(doc.clone());
            }
        } else if state
            .last_fetch
            .is_some_and(|t| t.elapsed() < config.jwks_refetch_interval.min(Duration::from_secs(5)))
        {
            return Err(ReceiverError::Unavailable(
                "the issuer's JWKS could not be fetched recently".into(),
            ));
        }
        state.last_fetch = Some(tokio::time::Instant::now());
        let doc = self.fetch_jwks().await.map_err(|e| {
            tracing::warn!(uri = %config.jwks_uri, error = %e, "JWKS fetch failed");
            ReceiverError::Unavailable(format!("cannot fetch the issuer's JWKS: {e}"))
        });
        match doc {
            Ok(doc) => {
                let doc = Arc::new(doc);
                state.doc = Some(doc.clone());
                Ok(doc)
            }
            // Keep serving the cached set if a refetch fails.
            Err(e) => state.doc.clone().ok_or(e),
        }
    }

    /// Fetches and minimally validates the JWKS document.
    async fn fetch_jwks(&self) -> Result<Value, String> {
        let response = self
            .inner
            .jwks
            .http
            .get(&self.inner.config.jwks_uri)
            .header(header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status()));
        }
        let doc: Value = response.json().await.map_err(|e| e.to_string())?;
        if !doc.get("keys").is_some_and(Value::is_array) {
            return Err("document has no \"keys\" array".into());
        }
        Ok(doc)
    }
}
