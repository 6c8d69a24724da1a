//! How a receiver checks requests: its configuration and clock.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

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
