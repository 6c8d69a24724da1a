//! Starting the vault: open the store, build the routes, serve, and run the job worker.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use ulo_core::outbound::OutboundPolicy;
use ulo_jose::MasterKey;
use ulo_receiver::{Receiver, ReceiverConfig};

use crate::clock::Clock;
use crate::connector::ConnectorClient;
use crate::error::VaultError;
use crate::jobs::Worker;
use crate::oidc::RelyingParty;
use crate::replay::SeenJtis;
use crate::seal::Sealer;
use crate::vault::{RetryPolicy, Settings, Vault};
use crate::{api, logout, scim, store, web};

/// Largest request body accepted.
const MAX_BODY: usize = 256 * 1024;

/// How to run a vault.
pub struct Options {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// The public base URL; default `http://<bound address>`.
    pub public_url: Option<String>,
    /// ulo's issuer.
    pub idp_issuer: String,
    /// ulo's JWKS; default `<issuer>/oauth2/v1/keys`.
    pub idp_jwks_uri: Option<String>,
    /// The vault's client id at ulo.
    pub client_id: String,
    /// The vault's client secret at ulo.
    pub client_secret: String,
    /// The admin API token.
    pub admin_token: String,
    /// The SCIM token.
    pub scim_token: String,
    /// Seals secrets at rest.
    pub master_key: MasterKey,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Job retries.
    pub retry: RetryPolicy,
    /// How often the worker looks for due jobs when nothing woke it.
    pub poll: Duration,
    /// Longest vault session.
    pub session_lifetime: Duration,
    /// Time limit of one connector call.
    pub connector_timeout: Duration,
    /// Which connector URLs may be called: loopback only when allowed (development and tests).
    pub outbound: OutboundPolicy,
    /// Run the job worker (tests may drain the queue by hand instead).
    pub run_worker: bool,
}

impl Options {
    /// Options with defaults for everything but what only the operator knows.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        database_url: impl Into<String>,
        idp_issuer: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        admin_token: impl Into<String>,
        scim_token: impl Into<String>,
        master_key: MasterKey,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Options {
            database_url: database_url.into(),
            public_url: None,
            idp_issuer: idp_issuer.into(),
            idp_jwks_uri: None,
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            admin_token: admin_token.into(),
            scim_token: scim_token.into(),
            master_key,
            clock,
            retry: RetryPolicy::default(),
            poll: Duration::from_secs(1),
            session_lifetime: Duration::from_secs(12 * 3600),
            connector_timeout: Duration::from_secs(10),
            outbound: OutboundPolicy::default(),
            run_worker: true,
        }
    }
}

/// Shortest accepted admin or SCIM token.
pub const MIN_TOKEN_LEN: usize = 20;

/// A running vault.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Its public base URL.
    pub url: String,
    /// Its state (tests look inside).
    pub vault: Arc<Vault>,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    sweeper: JoinHandle<()>,
    worker: Option<JoinHandle<()>>,
}

impl Running {
    /// Stops serving (in-flight requests finish) and stops the worker after its current batch.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.server.await;
        let _ = self.sweeper.await;
        if let Some(w) = self.worker {
            let _ = w.await;
        }
        // Nothing counted is lost at a graceful stop.
        self.vault.audit_refusal_tallies(true).await;
    }
}

/// Starts the vault on `listener`.
pub async fn start(
    opts: Options,
    listener: tokio::net::TcpListener,
) -> Result<Running, VaultError> {
    for (name, t) in [("admin", &opts.admin_token), ("SCIM", &opts.scim_token)] {
        if t.len() < MIN_TOKEN_LEN {
            return Err(VaultError::invalid(format!(
                "the {name} token must be at least {MIN_TOKEN_LEN} characters"
            )));
        }
    }
    let addr = listener
        .local_addr()
        .map_err(|e| VaultError::Internal(format!("listener address: {e}")))?;
    let public_url = opts
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_string();
    let issuer = opts.idp_issuer.trim_end_matches('/').to_string();
    let store = store::open(&opts.database_url).await?;
    let rp = RelyingParty::new(&issuer, &opts.client_id, &opts.client_secret)
        .map_err(VaultError::Internal)?;
    let connector = ConnectorClient::new(opts.outbound, opts.connector_timeout)
        .map_err(|e| VaultError::Internal(e.to_string()))?;
    let vault = Arc::new(Vault {
        store,
        clock: opts.clock.clone(),
        sealer: Sealer::new(opts.master_key),
        settings: Settings {
            public_url: public_url.clone(),
            idp_issuer: issuer.clone(),
            client_id: opts.client_id.clone(),
            client_secret: opts.client_secret,
            admin_token: opts.admin_token,
            scim_token: opts.scim_token,
            session_lifetime: opts.session_lifetime,
            retry: opts.retry,
            outbound: opts.outbound,
        },
        rp,
        connector,
        refusals: Default::default(),
    });

    let clock = opts.clock.clone();
    let receiver_config = ReceiverConfig::new(
        issuer.clone(),
        vault.gtr_endpoint(),
        opts.client_id,
        opts.idp_jwks_uri
            .unwrap_or_else(|| format!("{issuer}/oauth2/v1/keys")),
    )
    .with_clock(ulo_receiver::Clock::from_fn(move || {
        clock.now().unix_timestamp()
    }));
    let receiver = Receiver::with_replay_store(
        receiver_config,
        Arc::new(logout::Hook(vault.clone())),
        Arc::new(SeenJtis::new(vault.store.clone())),
    );

    let app = Router::new()
        .merge(api::router())
        .merge(web::router())
        .route("/health", get(health))
        .with_state(vault.clone())
        .merge(scim::router(vault.clone()))
        .merge(
            Router::new()
                .route("/global-token-revocation", post(logout::endpoint))
                .with_state((vault.clone(), receiver)),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY));

    let (stop, stopped) = watch::channel(false);
    let mut shutdown = stopped.clone();
    let server = tokio::spawn(async move {
        // The peer address is what refused requests are counted by.
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|s| *s).await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "the vault's HTTP server failed");
        }
    });
    let sweeper = tokio::spawn(audit_refusal_tallies(vault.clone(), stopped.clone()));
    let worker = opts.run_worker.then(|| {
        let w = Worker::new(vault.clone(), opts.poll);
        tokio::spawn(w.run(stopped))
    });
    Ok(Running {
        addr,
        url: public_url,
        vault,
        stop,
        server,
        sweeper,
        worker,
    })
}

/// Audits the tallies of refused requests whose windows ended, now and then.
async fn audit_refusal_tallies(vault: Arc<Vault>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(15)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        vault.audit_refusal_tallies(false).await;
    }
}

async fn health(State(vault): State<Arc<Vault>>) -> (StatusCode, Json<serde_json::Value>) {
    match vault.read().await {
        Ok(_) => (
            StatusCode::OK,
            Json(json!({"status": "ok", "store": vault.store.backend()})),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "message": e.public_message()})),
        ),
    }
}
