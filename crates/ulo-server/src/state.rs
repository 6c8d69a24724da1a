//! What every handler shares.

use std::sync::{Arc, RwLock};

use ulo_core::app::OutboundPolicy;
use ulo_core::clock::Clock;
use ulo_core::directory::{Directory, Sealer};
use ulo_core::store::Store;
use ulo_jose::KeyRing;

/// Server settings handlers need.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The issuer URL (no trailing slash): base of every absolute link.
    pub issuer: String,
    /// Which outbound URLs admins may configure.
    pub outbound: OutboundPolicy,
    /// A session's end also notifies the person's other logout-enabled apps
    /// (`ULO_SINGLE_LOGOUT_ALL_APPS`).
    pub single_logout_all_apps: bool,
    /// How long each Universal Logout delivery is retried before it is FAILED.
    pub logout_deadline: time::Duration,
    /// Minimum agent version and how long device commands wait for an answer.
    pub device: ulo_core::device::DeviceSettings,
    /// Whether SCIM clients see admin accounts in lists and reads (`ULO_SCIM_SHOW_ADMINS`);
    /// they never change them.
    pub scim_shows_admins: bool,
    /// Security events providers: key fetching, the SET intake's `iat` window and limits.
    pub security_events: crate::security_events::SecurityEventsSettings,
    /// How long a risk detection counts (`ULO_RISK_DETECTION_TTL`).
    pub risk_detection_ttl: time::Duration,
    /// Proxies whose `X-Forwarded-For` is believed (`ULO_TRUSTED_PROXIES`; default none).
    pub trusted_proxies: ulo_core::network::IpRanges,
    /// Session influence: mode and exempt ranges (`ULO_SESSION_INFLUENCE[_EXEMPT]`).
    pub session_influence: ulo_core::session_influence::Settings,
}

impl ServerConfig {
    /// How long a Universal Logout waits on apps and on devices.
    pub fn logout_deadlines(&self) -> ulo_core::logout::Deadlines {
        ulo_core::logout::Deadlines {
            delivery: self.logout_deadline,
            device_command: self.device.command_ttl,
        }
    }

    /// Detection lifetime and the deadlines of policy-started logouts.
    pub fn risk_settings(&self) -> ulo_core::risk::RiskSettings {
        ulo_core::risk::RiskSettings {
            ttl: self.risk_detection_ttl,
            deadlines: self.logout_deadlines(),
        }
    }

    /// How the end of a session reaches apps.
    pub fn single_logout(&self) -> ulo_core::logout::SingleLogout {
        ulo_core::logout::SingleLogout {
            deadlines: self.logout_deadlines(),
            all_apps: self.single_logout_all_apps,
        }
    }
}

/// Shared state, cheap to clone. Handlers read its parts as fields (`state.store`,
/// `state.config`…) through [`Deref`](std::ops::Deref) to [`Inner`].
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Inner {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Settings.
    pub config: ServerConfig,
    /// Seals secrets at rest.
    pub sealer: Arc<dyn Sealer>,
    /// Signing keys; replaced on rotation.
    pub keys: RwLock<Arc<KeyRing>>,
    /// Failed sign-ins per (address, account) and per address; only sign-in endpoints read it.
    pub sign_ins: ulo_core::throttle::SignInThrottle,
    /// Failed machine credentials (admin API tokens, SCIM credentials) per address; never
    /// counts failed passwords, and a valid credential passes whatever it says.
    pub credential_failures: ulo_core::throttle::FixedWindow<std::net::IpAddr>,
    /// Refused callers of ulo's Global Token Revocation endpoint, per address.
    pub gtr_refusals: ulo_core::throttle::Refusals,
    /// Refused senders of SETs to the security events intake, per address.
    pub set_refusals: ulo_core::throttle::Refusals,
    /// Security events providers' keys, fetched and cached per provider.
    pub remote_jwks: crate::security_events::ProviderKeys,
    /// Turns true when the server shuts down; long-lived responses (live tails) end then.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// Ids of logout receipts this process just changed (live receipt streams listen).
    pub receipts: tokio::sync::broadcast::Sender<ulo_core::ids::LogoutId>,
    /// The device CA (certifies enrolling agents' keys).
    pub device_ca: Arc<dyn ulo_core::device::DeviceCa>,
    /// Device keys read so far (agent request signatures).
    pub device_keys: crate::agent_auth::DeviceKeys,
    /// The operator's threat list in force (`ULO_THREAT_LIST_FILE`; empty without one).
    pub threat_list: RwLock<Arc<ulo_core::risk::ThreatList>>,
}

impl AppState {
    /// Builds the state.
    pub fn new(
        shutdown: tokio::sync::watch::Receiver<bool>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: ServerConfig,
        sealer: Arc<dyn Sealer>,
        keys: KeyRing,
        device_ca: Arc<dyn ulo_core::device::DeviceCa>,
    ) -> Self {
        let se = config.security_events;
        // A client that cannot be built (no TLS roots) fetches nothing: every SET is then
        // refused with invalid_key, saying why.
        let fetcher = ulo_delivery::http::client(config.outbound, se.fetch_timeout).unwrap_or_else(|e| {
            tracing::error!(error = %e, "could not build the HTTP client for security events providers' keys");
            reqwest::Client::new()
        });
        AppState(Arc::new(Inner {
            set_refusals: ulo_core::throttle::Refusals::new(
                se.refusal_limit,
                time::Duration::minutes(1),
            ),
            remote_jwks: crate::security_events::ProviderKeys(ulo_jose::RemoteJwks::new(
                fetcher,
                se.jwks_min_refetch,
            )),
            store,
            clock,
            config,
            sealer,
            keys: RwLock::new(Arc::new(keys)),
            sign_ins: Default::default(),
            credential_failures: ulo_core::throttle::FixedWindow::new(
                30,
                time::Duration::minutes(1),
            ),
            gtr_refusals: Default::default(),
            shutdown,
            receipts: tokio::sync::broadcast::channel(1024).0,
            device_ca,
            device_keys: Default::default(),
            threat_list: Default::default(),
        }))
    }

    /// Records the tallies of refused requests whose windows ended (all of them when `all`,
    /// at shutdown), one counted System Log event per address and window.
    pub async fn record_refusal_tallies(&self, all: bool) {
        for (refusals, path) in [
            (
                &self.gtr_refusals,
                crate::routes::oauth2::GLOBAL_TOKEN_REVOCATION_PATH,
            ),
            (
                &self.set_refusals,
                crate::routes::security_events::INTAKE_PATH,
            ),
        ] {
            let summaries = if all {
                refusals.drain()
            } else {
                refusals.closed(self.clock.now())
            };
            if let Err(e) = ulo_core::throttle::record_summaries(
                self.store.as_ref(),
                self.clock.as_ref(),
                path,
                &summaries,
            )
            .await
            {
                tracing::warn!(error = %e, count = summaries.len(), "could not record refused-request tallies");
            }
        }
    }

    /// The security events provider registry.
    pub fn providers(&self) -> ulo_core::security_events::Providers<'_> {
        ulo_core::security_events::Providers {
            store: self.store.as_ref(),
            clock: self.clock.as_ref(),
            outbound: self.config.outbound,
            discovery: &self.remote_jwks,
        }
    }

    /// The SET intake.
    pub fn intake(&self) -> ulo_core::security_events::Intake<'_> {
        ulo_core::security_events::Intake {
            store: self.store.as_ref(),
            issuer: self.issuer(),
            settings: self.config.security_events.intake,
            risk: self.config.risk_settings(),
            session_influence: self.config.session_influence.clone(),
        }
    }

    /// The directory service over this state.
    pub fn directory(&self) -> Directory<'_> {
        Directory {
            store: self.store.as_ref(),
            clock: self.clock.as_ref(),
            outbound: self.config.outbound,
            sealer: self.sealer.as_ref(),
            logout_deadlines: self.config.logout_deadlines(),
        }
    }

    /// Universal Logouts, as an admin starts and reads them.
    pub fn logouts(&self) -> ulo_core::logout::Logouts<'_> {
        ulo_core::logout::Logouts {
            store: self.0.store.as_ref(),
            clock: self.0.clock.as_ref(),
            deadlines: self.0.config.logout_deadlines(),
        }
    }

    /// Workflows, as an admin registers and tests them.
    pub fn workflows(&self) -> ulo_core::workflow::Workflows<'_> {
        ulo_core::workflow::Workflows {
            store: self.0.store.as_ref(),
            clock: self.0.clock.as_ref(),
            outbound: self.0.config.outbound,
            sealer: self.0.sealer.as_ref(),
        }
    }

    /// Users' entity risk, as admins read and set it.
    pub fn risks(&self) -> ulo_core::risk::Risks<'_> {
        ulo_core::risk::Risks {
            store: self.0.store.as_ref(),
            clock: self.0.clock.as_ref(),
            settings: self.0.config.risk_settings(),
        }
    }

    /// The Entity Risk Policy, as admins read and change it.
    pub fn policies(&self) -> ulo_core::policy::Policies<'_> {
        ulo_core::policy::Policies {
            store: self.0.store.as_ref(),
            clock: self.0.clock.as_ref(),
            deadlines: self.0.config.logout_deadlines(),
        }
    }

    /// Enrolled devices, as an admin sees and acts on them.
    pub fn devices(&self) -> ulo_core::device::Devices<'_> {
        ulo_core::device::Devices {
            store: self.0.store.as_ref(),
            clock: self.0.clock.as_ref(),
            command_ttl: self.0.config.device.command_ttl,
        }
    }

    /// The current key ring.
    pub fn keys(&self) -> Arc<KeyRing> {
        self.0
            .keys
            .read()
            .map(|k| k.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Replaces the key ring (after rotation).
    pub fn set_keys(&self, ring: KeyRing) {
        let mut guard = self.keys.write().unwrap_or_else(|e| e.into_inner());
        *guard = Arc::new(ring);
    }

    /// The threat list in force.
    pub fn threat_list(&self) -> Arc<ulo_core::risk::ThreatList> {
        self.0
            .threat_list
            .read()
            .map(|l| l.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Puts a newly loaded threat list in force.
    pub fn set_threat_list(&self, list: ulo_core::risk::ThreatList) {
        let mut guard = self.threat_list.write().unwrap_or_else(|e| e.into_inner());
        *guard = Arc::new(list);
    }

    /// Tells live receipt streams that a receipt changed.
    pub fn receipt_changed(&self, id: ulo_core::ids::LogoutId) {
        // Nobody listening is fine.
        let _ = self.receipts.send(id);
    }

    /// Shorthand for the issuer.
    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }
}
