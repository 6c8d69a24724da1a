//! The vault's shared state: store, clock, sealer, configuration and clients.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::connector::ConnectorClient;
use crate::error::VaultError;
use crate::oidc::RelyingParty;
use crate::seal::Sealer;
use crate::store::{Store, Tx};

/// How the job worker retries: exponential backoff from `base` up to `cap`, with ±25% jitter,
/// until a job's deadline.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Delay after the first failed attempt.
    pub base: Duration,
    /// Longest delay between attempts.
    pub cap: Duration,
    /// How long a job is retried before it is given up.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(300),
            deadline: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// Everything the vault is configured with.
#[derive(Clone)]
pub struct Settings {
    /// The vault's public base URL (no trailing slash), e.g. `http://127.0.0.1:8300`.
    pub public_url: String,
    /// ulo's issuer URL.
    pub idp_issuer: String,
    /// The vault's OIDC client id at ulo.
    pub client_id: String,
    /// The vault's OIDC client secret at ulo.
    pub client_secret: String,
    /// The admin API's bearer token.
    pub admin_token: String,
    /// The SCIM API's bearer token.
    pub scim_token: String,
    /// How long a vault session lasts at most.
    pub session_lifetime: Duration,
    /// Job retries.
    pub retry: RetryPolicy,
    /// Which connector URLs the vault calls (loopback only when the operator allows it).
    pub outbound: ulo_core::outbound::OutboundPolicy,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets stay out of debug output and logs.
        f.debug_struct("Settings")
            .field("public_url", &self.public_url)
            .field("idp_issuer", &self.idp_issuer)
            .field("client_id", &self.client_id)
            .field("session_lifetime", &self.session_lifetime)
            .field("retry", &self.retry)
            .field("outbound", &self.outbound)
            .finish_non_exhaustive()
    }
}

/// The vault: shared by every request handler and the job worker.
pub struct Vault {
    /// Its store.
    pub store: Arc<dyn Store>,
    /// Its clock.
    pub clock: Arc<dyn Clock>,
    /// Seals secrets at rest.
    pub sealer: Sealer,
    /// Its configuration.
    pub settings: Settings,
    /// ulo, as the vault's OpenID provider.
    pub rp: RelyingParty,
    /// Calls managed apps' connectors.
    pub connector: ConnectorClient,
    /// Refused Universal Logout requests per source address (the tallies not yet audited).
    pub refusals: ulo_core::throttle::Refusals,
}

impl Vault {
    /// A read-write transaction.
    pub async fn begin(&self) -> Result<Box<dyn Tx>, VaultError> {
        Ok(self.store.begin().await?)
    }

    /// A read-only transaction.
    pub async fn read(&self) -> Result<Box<dyn Tx>, VaultError> {
        Ok(self.store.read().await?)
    }

    /// The vault's Universal Logout endpoint URL (the `aud` ulo signs for).
    pub fn gtr_endpoint(&self) -> String {
        format!("{}/global-token-revocation", self.settings.public_url)
    }

    /// Where ulo sends people back after sign-in.
    pub fn redirect_uri(&self) -> String {
        format!("{}/oidc/callback", self.settings.public_url)
    }
}
