//! Starting ulo: open the store, check the master key, make keys, bootstrap, start the worker
//! and the HTTP server. The CLI and the test kit both start ulo through here.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use ulo_core::app::OutboundPolicy;
use ulo_core::clock::Clock;
use ulo_core::directory::Sealer;
use ulo_delivery::{Worker, WorkerConfig};

use crate::bootstrap::{Bootstrapped, bootstrap};
use crate::state::{AppState, ServerConfig};

/// Why ulo could not start.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

fn err(context: &str) -> impl Fn(String) -> StartError + '_ {
    move |e| StartError(format!("{context}: {e}"))
}

/// How to start.
pub struct Options {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// Public base URL; `None` → `http://<bound address>`.
    pub issuer: Option<String>,
    /// Seals secrets at rest.
    pub sealer: Arc<dyn Sealer>,
    /// Fingerprint of the master key, checked against the one the store was created with.
    pub master_key_fingerprint: String,
    /// Outbound URL rules.
    pub outbound: OutboundPolicy,
    /// Login of the first admin.
    pub bootstrap_admin: String,
    /// Token of the first admin (else random).
    pub bootstrap_token: Option<String>,
    /// Concurrent jobs; 0 runs no worker.
    pub worker_concurrency: usize,
    /// How long a claimed job stays leased before another node may take it over.
    pub worker_lease: Duration,
    /// How long one delivery attempt to an app may take.
    pub delivery_timeout: Duration,
    /// How long a Universal Logout delivery is retried before it is FAILED.
    pub logout_deadline: Duration,
    /// How long a risk detection counts before it expires (`ULO_RISK_DETECTION_TTL`).
    pub risk_detection_ttl: Duration,
    /// A session's end also notifies the person's other logout-enabled apps, each by its own
    /// logout protocol (`ULO_SINGLE_LOGOUT_ALL_APPS`); otherwise only the back-channel apps the
    /// session signed in to.
    pub single_logout_all_apps: bool,
    /// How often sessions past their absolute end or idle timeout are looked for and ended.
    pub session_sweep_interval: Duration,
    /// Minimum agent version, and how long a *Log Out All Devices* command waits for its
    /// acknowledgement.
    pub device: ulo_core::device::DeviceSettings,
    /// Whether SCIM clients see admin accounts (they never change them).
    pub scim_shows_admins: bool,
    /// Security events providers: key fetching, the SET intake's `iat` window and limits.
    pub security_events: crate::security_events::SecurityEventsSettings,
    /// Proxies whose `X-Forwarded-For` is believed (`ULO_TRUSTED_PROXIES`).
    pub trusted_proxies: ulo_core::network::IpRanges,
    /// Session influence: mode and exempt ranges.
    pub session_influence: ulo_core::session_influence::Settings,
    /// The operator's threat list file (`ULO_THREAT_LIST_FILE`): CIDR ranges whose sign-ins and
    /// admin calls are detections; none by default.
    pub threat_list_file: Option<std::path::PathBuf>,
    /// How often the threat list file is checked for changes.
    pub threat_list_check_interval: Duration,
    /// Time source.
    pub clock: Arc<dyn Clock>,
}

/// A running ulo.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its issuer.
    pub issuer: String,
    /// Shared state (store, keys…).
    pub state: AppState,
    /// What bootstrap created, on first start only.
    pub bootstrapped: Option<Bootstrapped>,
    /// The job worker, if one runs.
    pub worker: Option<Arc<Worker>>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    server: JoinHandle<std::io::Result<()>>,
}

const MASTER_KEY_SETTING: &str = "master_key_fingerprint";

/// Starts ulo on `listener`.
pub async fn start(
    opts: Options,
    listener: tokio::net::TcpListener,
) -> Result<Running, StartError> {
    let addr = listener
        .local_addr()
        .map_err(|e| StartError(e.to_string()))?;
    let issuer = opts
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_string();
    // A threat list that cannot be read stops the start before anything is touched.
    let threat_list = match &opts.threat_list_file {
        Some(path) => Some(
            crate::threat_list::read_at_start(path)
                .await
                .map_err(StartError)?,
        ),
        None => None,
    };
    let store = ulo_store::open(&opts.database_url)
        .await
        .map_err(|e| err("opening the store")(e.to_string()))?;
    let clock = opts.clock.clone();

    // A store sealed with one master key cannot be read with another: say so plainly.
    let mut tx = store.begin().await.map_err(|e| StartError(e.to_string()))?;
    match tx
        .get_setting(MASTER_KEY_SETTING)
        .await
        .map_err(|e| StartError(e.to_string()))?
    {
        Some(v) if v.as_str() != Some(opts.master_key_fingerprint.as_str()) => {
            return Err(StartError(format!(
                "this store was sealed with another master key (fingerprint {}, this one is {}); start with the master key it was created with",
                v.as_str().unwrap_or("?"),
                opts.master_key_fingerprint
            )));
        }
        Some(_) => drop(tx),
        None => {
            tx.put_setting(
                MASTER_KEY_SETTING,
                &json!(opts.master_key_fingerprint),
                clock.now(),
            )
            .await
            .map_err(|e| StartError(e.to_string()))?;
            tx.commit().await.map_err(|e| StartError(e.to_string()))?;
        }
    }

    crate::keys::ensure_keys(store.as_ref(), opts.sealer.as_ref(), clock.as_ref())
        .await
        .map_err(|e| err("creating signing keys")(e.to_string()))?;
    let ring = crate::keys::load_ring(store.as_ref(), opts.sealer.as_ref())
        .await
        .map_err(|e| err("loading signing keys")(e.to_string()))?;
    let device_ca =
        crate::device_ca::ensure_ca(store.as_ref(), opts.sealer.as_ref(), clock.as_ref())
            .await
            .map_err(err("creating the device CA"))?;
    let bootstrapped = bootstrap(
        store.as_ref(),
        clock.as_ref(),
        &opts.bootstrap_admin,
        opts.bootstrap_token.clone(),
    )
    .await
    .map_err(|e| err("bootstrap")(e.to_string()))?;
    // The Entity Risk Policy and its default rule exist from the first start (idempotent).
    ulo_core::policy::ensure(store.as_ref(), clock.now())
        .await
        .map_err(|e| err("creating the Entity Risk Policy")(e.to_string()))?;

    let config = ServerConfig {
        issuer: issuer.clone(),
        outbound: opts.outbound,
        single_logout_all_apps: opts.single_logout_all_apps,
        logout_deadline: time::Duration::try_from(opts.logout_deadline)
            .unwrap_or(time::Duration::days(1)),
        device: opts.device.clone(),
        scim_shows_admins: opts.scim_shows_admins,
        security_events: opts.security_events,
        risk_detection_ttl: time::Duration::try_from(opts.risk_detection_ttl)
            .unwrap_or(time::Duration::days(7)),
        trusted_proxies: opts.trusted_proxies.clone(),
        session_influence: opts.session_influence.clone(),
    };
    let (shutdown, rx) = watch::channel(false);
    let state = AppState::new(
        rx.clone(),
        store.clone(),
        clock.clone(),
        config,
        opts.sealer.clone(),
        ring,
        Arc::new(device_ca),
    );
    let mut tasks = Vec::new();
    if let (Some(path), Some(at_start)) = (&opts.threat_list_file, threat_list) {
        // In force before the server answers; then watched for changes.
        let seen = crate::threat_list::put_in_force(&state, path, at_start).await;
        tasks.push(tokio::spawn(crate::threat_list::watch(
            state.clone(),
            path.clone(),
            opts.threat_list_check_interval,
            seen,
            rx.clone(),
        )));
    }

    let worker = if opts.worker_concurrency > 0 {
        let owner = format!("{}-{}", std::process::id(), uuid::Uuid::now_v7().simple());
        let mut wc = WorkerConfig::new(owner);
        wc.concurrency = opts.worker_concurrency;
        wc.lease =
            time::Duration::try_from(opts.worker_lease).unwrap_or(time::Duration::seconds(30));
        let webhook = ulo_delivery::webhook::Webhook::new(opts.outbound, Duration::from_secs(10))
            .map_err(err("building the HTTP client"))?;
        let scim_push = ulo_delivery::scim_push::ScimPush::new(
            opts.outbound,
            Duration::from_secs(10),
            store.clone(),
            opts.sealer.clone(),
        )
        .map_err(err("building the HTTP client"))?;
        let workflow_run = ulo_delivery::workflow::WorkflowRun::new(
            opts.outbound,
            opts.delivery_timeout,
            store.clone(),
            opts.sealer.clone(),
            clock.clone(),
        )
        .map_err(err("building the HTTP client"))?;
        let keys_state = state.clone();
        let receipts = state.clone();
        let expired = state.clone();
        let expiry = ulo_delivery::device_expiry::DeviceCommandExpiry::default()
            .with_listener(Arc::new(move |id| expired.receipt_changed(id)));
        let ssf_keys = state.clone();
        let ssf = Arc::new(
            ulo_delivery::ssf::SsfTransmitter::new(
                opts.outbound,
                opts.delivery_timeout,
                issuer.clone(),
                Arc::new(move || ssf_keys.keys()),
                store.clone(),
                opts.sealer.clone(),
                clock.clone(),
            )
            .map_err(err("building the HTTP client"))?,
        );
        let logout = ulo_delivery::logout_delivery::LogoutDelivery::new(
            opts.outbound,
            opts.delivery_timeout,
            issuer.clone(),
            Arc::new(move || keys_state.keys()),
            clock.clone(),
        )
        .map_err(err("building the HTTP client"))?
        .with_listener(Arc::new(move |id| receipts.receipt_changed(id)))
        .with_ssf(ssf.clone());
        let w = Arc::new(
            Worker::new(store.clone(), clock.clone(), wc)
                .register(Arc::new(webhook))
                .register(Arc::new(scim_push))
                .register(Arc::new(logout))
                .register(ssf)
                .register(Arc::new(expiry))
                .register(Arc::new(workflow_run)),
        );
        let run = w.clone();
        let rx = rx.clone();
        tasks.push(tokio::spawn(async move { run.run(rx).await }));
        Some(w)
    } else {
        None
    };

    // Keys rotated by `ulo keys rotate` (or another node) are picked up without a restart.
    tasks.push(tokio::spawn(reload_keys(state.clone(), rx.clone())));
    tasks.push(tokio::spawn(purge_jtis(state.clone(), rx.clone())));
    tasks.push(tokio::spawn(sweep_risk(state.clone(), rx.clone())));
    tasks.push(tokio::spawn(sweep_sessions(
        state.clone(),
        opts.session_sweep_interval,
        rx.clone(),
    )));
    tasks.push(tokio::spawn(record_refusals(state.clone(), rx.clone())));

    let mut srx = rx.clone();
    let server = tokio::spawn(crate::serve(
        listener,
        crate::router(state.clone()),
        async move {
            let _ = srx.wait_for(|stop| *stop).await;
        },
    ));
    Ok(Running {
        addr,
        issuer,
        state,
        bootstrapped,
        worker,
        shutdown,
        tasks,
        server,
    })
}

async fn reload_keys(state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        match crate::keys::load_ring(state.store.as_ref(), state.sealer.as_ref()).await {
            Ok(ring) => state.set_keys(ring),
            Err(e) => tracing::warn!(error = %e, "reloading signing keys failed"),
        }
    }
}

/// Forgets expired one-time `jti`s now and then (remembering one never purges, to keep agent
/// calls to one statement). Every node may run it: the delete is idempotent.
async fn purge_jtis(state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(15)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let now = state.clock.now();
        if let Err(e) = state.store.purge_jtis(now).await {
            tracing::warn!(error = %e, "purging expired jtis failed");
        }
    }
}

/// Now and then lowers the stored risk level of users whose detections expired (reads that
/// answer a level compute it anyway) and deletes detections that stopped counting long ago.
/// Every node may run it: both are idempotent.
async fn sweep_risk(state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        if let Err(e) = ulo_core::risk::sweep(state.store.as_ref(), state.clock.now()).await {
            tracing::warn!(error = %e, "sweeping risk detections failed");
        }
    }
}

/// Ends sessions past their absolute end or idle timeout now and then, with their single logout.
/// Every node may run it: each expired session is claimed by one node's transaction only.
async fn sweep_sessions(state: AppState, every: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        // A full batch means more may be waiting: sweep again at once.
        loop {
            match ulo_core::logout::sweep_expired_sessions(
                state.store.as_ref(),
                state.clock.as_ref(),
                state.config.single_logout(),
            )
            .await
            {
                Ok((ended, receipts)) => {
                    for id in receipts {
                        state.receipt_changed(id);
                    }
                    if ended < ulo_core::logout::single::SWEEP_BATCH as usize {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "ending expired sessions failed");
                    break;
                }
            }
        }
    }
}

/// Records refused-request tallies whose windows ended, now and then.
async fn record_refusals(state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(15)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        state.record_refusal_tallies(false).await;
    }
}

impl Running {
    /// Stops accepting requests, finishes in-flight ones and running jobs, and returns.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        match self.server.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "server ended with an error"),
            Err(e) => tracing::warn!(error = %e, "server task failed"),
            Ok(Ok(())) => {}
        }
        for t in self.tasks {
            let _ = t.await;
        }
        // Nothing counted is lost at a graceful stop.
        self.state.record_refusal_tallies(true).await;
    }
}
