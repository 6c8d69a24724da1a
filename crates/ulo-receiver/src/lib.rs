//! ulo-receiver: what a Rust web app embeds to become *logout-enabled*.
//!
//! It accepts ulo's Universal Logout request (the IETF Global Token Revocation draft as
//! Okta uses it): a `POST` with `Content-Type: application/json`, a body
//! `{"sub_id": {...}}` (the older key `subject` is accepted too) holding an RFC 9493
//! subject identifier of format `email` or `iss_sub`, and an
//! `Authorization: Bearer <JWT>` header whose JWT has `typ: global-token-revocation+jwt`,
//! an asymmetric `alg`, a `kid` from ulo's JWKS, and the claims `iss` (ulo's issuer),
//! `sub` (this app's client id), `aud` (this exact endpoint URL), `jti`, `iat`, `exp`
//! (at most 5 minutes after `iat`) and optionally `nbf`.
//!
//! Answers:
//!
//! | status | when |
//! |---|---|
//! | 204 | the hook logged the user out (or began to) |
//! | 400 | malformed body, wrong content type, unsupported subject format |
//! | 401 | missing or invalid token (signature, alg, typ, iss, aud, time claims, unknown kid, lifetime over 5 minutes) **and replayed `jti`** |
//! | 403 | valid token whose `sub` is not this app's client id |
//! | 404 | the hook does not know the user |
//! | 422 | the hook could not log the user out |
//! | 503 | ulo's JWKS could not be fetched, or the replay store is full or unavailable |
//!
//! A replayed `jti` is answered 401 `invalid_token`: a replayed token is no longer a
//! valid credential. `jti`s are remembered until the token's `exp` plus the leeway, by
//! default in memory; an app that restarts or runs several processes should share a
//! [`ReplayStore`] ([`Receiver::with_replay_store`]). Errors are JSON `{"error": ..., "error_description": ...}`; 401
//! answers also carry `WWW-Authenticate: Bearer error="invalid_token"`.
//!
//! # OIDC Back-Channel Logout
//!
//! When [`ReceiverConfig::backchannel_path`] is set, [`router`] also serves OpenID Connect
//! Back-Channel Logout 1.0 at that path: a `POST` with
//! `Content-Type: application/x-www-form-urlencoded` and a body `logout_token=<JWT>`. The
//! logout token must have `typ: logout+jwt`, an asymmetric `alg` and a `kid` from ulo's
//! JWKS (the same cache as above), and the claims `iss` (ulo's issuer), `aud` (this app's
//! client id, alone or in an array), integer `iat` and `exp`, a `jti` not seen before,
//! `events` holding the member `http://schemas.openid.net/event/backchannel-logout` whose
//! value is a JSON object, `sub` and/or `sid`, and no `nonce`. The hook's
//! [`LogoutHook::backchannel_logout`] is then called with the `sub`/`sid`.
//!
//! | status | when |
//! |---|---|
//! | 200 | the hook ended the sessions, or knows none to end (`Cache-Control: no-store`) |
//! | 400 | `invalid_request`: any invalid request or logout token (including a replayed `jti`), or the hook failed |
//! | 503 | ulo's JWKS could not be fetched, or the replay store is full or unavailable |
//!
//! # Example
//!
//! ```no_run
//! use ulo_receiver::{HookOutcome, LogoutHook, ReceiverConfig, Subject, router};
//!
//! struct MyApp;
//!
//! #[async_trait::async_trait]
//! impl LogoutHook for MyApp {
//!     async fn logout(&self, subject: &Subject) -> HookOutcome {
//!         match subject {
//!             Subject::Email { email } => { /* end sessions, revoke tokens */ HookOutcome::Done }
//!             Subject::IssSub { .. } => HookOutcome::UnknownUser,
//!         }
//!     }
//! }
//!
//! # async fn run() {
//! let config = ReceiverConfig::new(
//!     "https://ulo.example.com",                      // ulo issuer
//!     "https://app.example.com/global-logout",        // this endpoint's exact URL (aud)
//!     "0oa-my-client-id",                             // this app's client id (sub)
//!     "https://ulo.example.com/oauth2/v1/keys",       // ulo's JWKS
//! );
//! let app = axum::Router::new().merge(router(config, MyApp)); // serves POST /global-logout
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```

#![warn(missing_docs)]

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;
use ulo_jose::{JoseError, VerifyOptions, verify_with_jwks};

/// Largest request body accepted, in bytes (a subject identifier is tiny).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Longest allowed token lifetime (`exp - iat`), in seconds, per the protocol.
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 300;

/// A source of the current Unix time in seconds; injectable for deterministic tests.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> i64 + Send + Sync>);

impl Clock {
    /// The system clock (via jsonwebtoken's timestamp, the same clock ulo-jose uses).
    pub fn system() -> Self {
        Self(Arc::new(|| {
            i64::try_from(ulo_jose::jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX)
        }))
    }

    /// A clock frozen at `unix` seconds.
    pub fn fixed(unix: i64) -> Self {
        Self(Arc::new(move || unix))
    }

    /// A clock backed by any function returning Unix seconds.
    pub fn from_fn(f: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// The current Unix time in seconds.
    pub fn now_unix(&self) -> i64 {
        (self.0)()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Clock").field(&self.now_unix()).finish()
    }
}

/// How the receiver checks requests.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// ulo's issuer; the token's `iss` must equal it.
    pub issuer: String,
    /// The exact URL of this endpoint; the token's `aud` must equal (or contain) it.
    /// [`router`] serves the path of this URL.
    pub audience: String,
    /// This app's client id at ulo; the token's `sub` must equal it (else 403).
    pub client_id: String,
    /// Where ulo publishes its JWKS.
    pub jwks_uri: String,
    /// Clock skew tolerated for `exp`, `nbf` and `iat`.
    pub leeway: Duration,
    /// Minimum time between two JWKS fetches triggered by an unknown `kid`.
    pub jwks_refetch_interval: Duration,
    /// Timeout of a JWKS fetch.
    pub jwks_fetch_timeout: Duration,
    /// A fixed JWKS to use instead of fetching `jwks_uri` (tests, pinned keys).
    pub static_jwks: Option<Value>,
    /// Maximum number of unexpired `jti`s the default in-memory [`ReplayStore`] remembers;
    /// when full, new requests get 503.
    pub replay_cache_capacity: usize,
    /// The clock used for token time checks and replay-cache expiry.
    pub clock: Clock,
    /// Path (e.g. `/backchannel-logout`) at which [`router`] serves OIDC Back-Channel
    /// Logout; `None` (the default) serves no such route. It must differ from the path of
    /// [`ReceiverConfig::audience`].
    pub backchannel_path: Option<String>,
}

impl ReceiverConfig {
    /// A configuration with defaults: 60 s leeway, JWKS refetch at most every 30 s,
    /// 10 s fetch timeout, 100 000 remembered `jti`s, the system clock.
    pub fn new(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        client_id: impl Into<String>,
        jwks_uri: impl Into<String>,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            client_id: client_id.into(),
            jwks_uri: jwks_uri.into(),
            leeway: Duration::from_secs(60),
            jwks_refetch_interval: Duration::from_secs(30),
            jwks_fetch_timeout: Duration::from_secs(10),
            static_jwks: None,
            replay_cache_capacity: 100_000,
            clock: Clock::system(),
            backchannel_path: None,
        }
    }

    /// Also serves OIDC Back-Channel Logout at `path` (see [`ReceiverConfig::backchannel_path`]).
    pub fn with_backchannel_path(mut self, path: impl Into<String>) -> Self {
        self.backchannel_path = Some(path.into());
        self
    }

    /// Uses `jwks` instead of fetching `jwks_uri`.
    pub fn with_static_jwks(mut self, jwks: Value) -> Self {
        self.static_jwks = Some(jwks);
        self
    }

    /// Uses `clock` for time checks.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }
}

/// The user a Universal Logout request is about (RFC 9493 subject identifier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// Format `email`.
    Email {
        /// The user's email address.
        email: String,
    },
    /// Format `iss_sub`: `sub` is the user's id in this app as linked by SCIM.
    IssSub {
        /// The issuer (ulo).
        iss: String,
        /// The user's id in this app.
        sub: String,
    },
}

/// What the app's logout hook reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookOutcome {
    /// The user's sessions and tokens were ended (or ending began): 204.
    Done,
    /// The app does not know this user: 404.
    UnknownUser,
    /// The app could not log the user out: 422 with this description.
    Failed(String),
}

/// A verified Universal Logout request: who is logged out, and the token's `jti` (unique per
/// request, so an app can correlate what it does with ulo's delivery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutRequest {
    /// The user.
    pub subject: Subject,
    /// The request token's `jti`.
    pub jti: String,
}

/// Who an OIDC Back-Channel Logout token is about: at least one of the two is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackchannelLogout {
    /// The `sub` claim: the user's subject identifier at ulo.
    pub sub: Option<String>,
    /// The `sid` claim: the ulo session whose app sessions end.
    pub sid: Option<String>,
}

/// The app's side of Universal Logout: end every session and token of `subject`.
#[async_trait::async_trait]
pub trait LogoutHook: Send + Sync {
    /// Logs `subject` out of the app and reports the outcome.
    async fn logout(&self, subject: &Subject) -> HookOutcome;

    /// Handles a verified Universal Logout request. The default calls [`LogoutHook::logout`]
    /// with its subject; override it to see the request's `jti` too.
    async fn logout_request(&self, request: &LogoutRequest) -> HookOutcome {
        self.logout(&request.subject).await
    }

    /// Handles a verified OIDC Back-Channel Logout token: ends the sessions of
    /// `logout.sub` (all of them) or of `logout.sid` (that ulo session), as the app can.
    ///
    /// [`HookOutcome::Done`] and [`HookOutcome::UnknownUser`] are answered 200,
    /// [`HookOutcome::Failed`] 400. The default refuses, for apps that only use
    /// Universal Logout.
    async fn backchannel_logout(&self, logout: &BackchannelLogout) -> HookOutcome {
        let _ = logout;
        HookOutcome::Failed("this app does not implement back-channel logout".into())
    }
}

/// Why a request was refused; maps to the HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum ReceiverError {
    /// 400: the request is malformed.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 401: the token is missing, invalid or replayed.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// 403: the token is valid but not meant for this app.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 404: the hook does not know the user.
    #[error("unknown user")]
    UnknownUser,
    /// 422: the hook could not log the user out.
    #[error("logout failed: {0}")]
    LogoutFailed(String),
    /// 503: the receiver cannot check requests right now.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
}

impl ReceiverError {
    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::UnknownUser => StatusCode::NOT_FOUND,
            Self::LogoutFailed(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The `error` code in the JSON answer.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "invalid_request",
            Self::InvalidToken(_) => "invalid_token",
            Self::Forbidden(_) => "access_denied",
            Self::UnknownUser => "unknown_user",
            Self::LogoutFailed(_) => "logout_failed",
            Self::Unavailable(_) => "temporarily_unavailable",
        }
    }

    /// The `error_description` in the JSON answer.
    pub fn description(&self) -> String {
        match self {
            Self::BadRequest(d)
            | Self::InvalidToken(d)
            | Self::Forbidden(d)
            | Self::LogoutFailed(d)
            | Self::Unavailable(d) => d.clone(),
            Self::UnknownUser => "the user is not known to this app".into(),
        }
    }
}

impl IntoResponse for ReceiverError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": self.code(),
            "error_description": self.description(),
        });
        let mut response = (self.status(), axum::Json(body)).into_response();
        if matches!(self, Self::InvalidToken(_)) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        response
    }
}

/// JWKS cache: fetched on first use, refetched on an unknown `kid` at most once per interval.
struct JwksCache {
    jwks: tokio::sync::Mutex<JwksState>,
    http: reqwest::Client,
}

struct JwksState {
    doc: Option<Arc<Value>>,
    last_fetch: Option<tokio::time::Instant>,
}

/// A [`ReplayStore`] could not record a `jti` (answered 503: accepting the request then could
/// let a replay through).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ReplayStoreError(pub String);

/// Where a receiver remembers the `jti`s it accepted, so that each token is accepted once.
///
/// The default, [`MemoryReplayStore`], forgets everything when the process ends: an app that
/// restarts, or runs several processes behind one endpoint, should use a store they share
/// (a database table whose primary key is the `jti`), or a request captured within its
/// lifetime could be accepted again.
#[async_trait::async_trait]
pub trait ReplayStore: Send + Sync {
    /// Records `jti` until `expires` (Unix seconds); `now` is the receiver's clock. Answers
    /// `true` the first time, `false` when `jti` is already remembered and not yet expired.
    /// Of two concurrent calls with the same `jti`, at most one may answer `true`.
    async fn remember(&self, jti: &str, expires: i64, now: i64) -> Result<bool, ReplayStoreError>;
}

/// The in-memory [`ReplayStore`]: at most `capacity` unexpired `jti`s, in this process only.
#[derive(Debug)]
pub struct MemoryReplayStore {
    seen: Mutex<HashMap<String, i64>>,
    capacity: usize,
}

impl MemoryReplayStore {
    /// A store remembering at most `capacity` (at least 1) unexpired `jti`s.
    pub fn new(capacity: usize) -> Self {
        Self {
            seen: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }
}

#[async_trait::async_trait]
impl ReplayStore for MemoryReplayStore {
    async fn remember(&self, jti: &str, expires: i64, now: i64) -> Result<bool, ReplayStoreError> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.get(jti).is_some_and(|&e| e > now) {
            return Ok(false);
        }
        if seen.len() >= self.capacity {
            seen.retain(|_, e| *e > now);
        }
        if seen.len() >= self.capacity {
            // Evicting a live entry would allow a replay, so refuse instead.
            return Err(ReplayStoreError("replay cache is full".into()));
        }
        seen.insert(jti.to_owned(), expires);
        Ok(true)
    }
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

/// Extracts the bearer token from `Authorization`.
fn bearer_token(headers: &HeaderMap) -> Result<&str, ReceiverError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ReceiverError::InvalidToken("missing Authorization header".into()))?
        .to_str()
        .map_err(|_| ReceiverError::InvalidToken("malformed Authorization header".into()))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| ReceiverError::InvalidToken("expected a Bearer token".into()))?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(ReceiverError::InvalidToken(
            "expected a Bearer token".into(),
        ));
    }
    Ok(token)
}

/// Checks the claims ulo-jose treats as optional but this protocol requires.
fn check_required_claims(claims: &Value) -> Result<(), ReceiverError> {
    let invalid = |m: &str| ReceiverError::InvalidToken(m.to_owned());
    let int = |name: &str| claims.get(name).and_then(Value::as_i64);
    if claims
        .get("jti")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(invalid("token has no jti"));
    }
    if claims.get("sub").and_then(Value::as_str).is_none() {
        return Err(invalid("token has no sub"));
    }
    let iat = int("iat").ok_or_else(|| invalid("token has no integer iat"))?;
    let exp = int("exp").ok_or_else(|| invalid("token has no integer exp"))?;
    if exp.saturating_sub(iat) > MAX_TOKEN_LIFETIME_SECS {
        return Err(invalid("token lifetime exceeds 5 minutes"));
    }
    if claims.get("nbf").is_some() && int("nbf").is_none() {
        return Err(invalid("nbf is not an integer"));
    }
    Ok(())
}

/// The event a logout token's `events` claim must hold.
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Checks the Back-Channel Logout claims and returns who is logged out.
fn check_logout_token_claims(claims: &Value) -> Result<BackchannelLogout, ReceiverError> {
    let invalid = |m: &str| ReceiverError::InvalidToken(m.to_owned());
    let string = |name: &str| -> Result<Option<String>, ReceiverError> {
        match claims.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(_) => Err(invalid(&format!("token {name} is not a non-empty string"))),
        }
    };
    if string("jti")?.is_none() {
        return Err(invalid("token has no jti"));
    }
    if claims.get("iat").and_then(Value::as_i64).is_none() {
        return Err(invalid("token has no integer iat"));
    }
    if claims.get("exp").and_then(Value::as_i64).is_none() {
        return Err(invalid("token has no integer exp"));
    }
    if claims.get("nbf").is_some() && claims.get("nbf").and_then(Value::as_i64).is_none() {
        return Err(invalid("nbf is not an integer"));
    }
    let events = claims
        .get("events")
        .ok_or_else(|| invalid("token has no events claim"))?
        .as_object()
        .ok_or_else(|| invalid("token events claim is not an object"))?;
    match events.get(BACKCHANNEL_LOGOUT_EVENT) {
        Some(Value::Object(_)) => {}
        Some(_) => return Err(invalid("back-channel logout event is not an object")),
        None => return Err(invalid("token events lack the back-channel logout event")),
    }
    if claims.get("nonce").is_some() {
        return Err(invalid("logout token must not contain a nonce"));
    }
    let sub = string("sub")?;
    let sid = string("sid")?;
    if sub.is_none() && sid.is_none() {
        return Err(invalid("logout token has neither sub nor sid"));
    }
    Ok(BackchannelLogout { sub, sid })
}

/// Extracts `logout_token` from a form-encoded Back-Channel Logout body.
fn parse_backchannel_request(headers: &HeaderMap, body: &[u8]) -> Result<String, ReceiverError> {
    let bad = |m: &str| ReceiverError::BadRequest(m.to_owned());
    if media_type(headers) != "application/x-www-form-urlencoded" {
        return Err(bad(
            "Content-Type must be application/x-www-form-urlencoded",
        ));
    }
    let mut token = None;
    for (name, value) in form_urlencoded::parse(body) {
        if name == "logout_token" {
            if token.is_some() {
                return Err(bad("logout_token is repeated"));
            }
            token = Some(value.into_owned());
        }
    }
    token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad("body has no logout_token"))
}

/// The lowercased media type of `Content-Type`, without parameters.
fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Parses the JSON body into a [`Subject`].
fn parse_request(headers: &HeaderMap, body: &[u8]) -> Result<Subject, ReceiverError> {
    let bad = |m: String| ReceiverError::BadRequest(m);
    if media_type(headers) != "application/json" {
        return Err(bad("Content-Type must be application/json".into()));
    }
    let doc: Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("body is not JSON: {e}")))?;
    let subject = doc
        .get("sub_id")
        .or_else(|| doc.get("subject"))
        .ok_or_else(|| bad("body has no sub_id".into()))?;
    parse_subject(subject)
}

/// Parses an RFC 9493 subject identifier of format `email` or `iss_sub`.
pub fn parse_subject(subject: &Value) -> Result<Subject, ReceiverError> {
    let bad = |m: &str| ReceiverError::BadRequest(m.to_owned());
    let member = |name: &str| {
        subject
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if !subject.is_object() {
        return Err(bad("sub_id is not an object"));
    }
    match subject.get("format").and_then(Value::as_str) {
        Some("email") => Ok(Subject::Email {
            email: member("email").ok_or_else(|| bad("email subject has no email"))?,
        }),
        Some("iss_sub") => Ok(Subject::IssSub {
            iss: member("iss").ok_or_else(|| bad("iss_sub subject has no iss"))?,
            sub: member("sub").ok_or_else(|| bad("iss_sub subject has no sub"))?,
        }),
        Some(other) => Err(ReceiverError::BadRequest(format!(
            "unsupported subject format {other:?}"
        ))),
        None => Err(bad("sub_id has no format")),
    }
}

/// The path part of an absolute URL (`/` when it has none).
fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    match rest.find('/') {
        Some(i) => rest[i..].to_owned(),
        None => "/".to_owned(),
    }
}

/// axum handler for a [`Receiver`] in state.
pub async fn handler(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match receiver.handle(&headers, &body).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// axum handler for OIDC Back-Channel Logout with a [`Receiver`] in state: 200 with
/// `Cache-Control: no-store` on success, 503 when the JWKS or replay store is unavailable,
/// else 400 `invalid_request`.
pub async fn backchannel_handler(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let no_store = [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))];
    match receiver.handle_backchannel(&headers, &body).await {
        Ok(()) => (StatusCode::OK, no_store).into_response(),
        Err(e @ ReceiverError::Unavailable(_)) => (no_store, e).into_response(),
        Err(e) => {
            let body = serde_json::json!({
                "error": "invalid_request",
                "error_description": e.description(),
            });
            (StatusCode::BAD_REQUEST, no_store, axum::Json(body)).into_response()
        }
    }
}

/// A router serving `POST` at the path of `config.audience` and, when
/// `config.backchannel_path` is set, OIDC Back-Channel Logout there, answering as
/// documented above.
pub fn router(config: ReceiverConfig, hook: impl LogoutHook + 'static) -> Router {
    receiver_router(Receiver::new(config, hook))
}

/// Like [`router`] for an already built [`Receiver`] (e.g. one with its own [`ReplayStore`]).
pub fn receiver_router(receiver: Receiver) -> Router {
    let config = &receiver.inner.config;
    let path = url_path(&config.audience);
    let backchannel = config.backchannel_path.clone();
    let mut router = Router::new().route(&path, post(handler));
    if let Some(bcl) = backchannel {
        router = router.route(&bcl, post(backchannel_handler));
    }
    router
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(receiver)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(url_path("https://a.example/x/y?q=1"), "/x/y");
        assert_eq!(url_path("https://a.example"), "/");
        assert_eq!(url_path("http://127.0.0.1:8080/logout"), "/logout");
    }
}
