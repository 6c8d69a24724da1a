//! Test harness: real servers on ephemeral ports with a fresh database each, an admin client,
//! and waiting for conditions with a deadline (never sleeping a fixed time).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests and harnesses: a panic is a failure report

#[cfg(feature = "browser")]
pub mod browser;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use ulo_core::app::OutboundPolicy;
use ulo_core::clock::Clock;
use ulo_core::store::Store;
use ulo_jose::MasterKey;
use ulo_server::app::{Options, Running, start};
use ulo_server::clock::SystemClock;
use ulo_server::sealer::MasterKeySealer;

/// The environment variable naming a PostgreSQL server for tests.
pub const PG_ENV: &str = "ULO_TEST_DATABASE_URL";

/// A storage backend to test on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A scratch database on the server named by `ULO_TEST_DATABASE_URL`.
    Postgres,
}

/// SQLite always; PostgreSQL too when `ULO_TEST_DATABASE_URL` is set.
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    if std::env::var(PG_ENV).is_ok_and(|u| !u.is_empty()) {
        v.push(Backend::Postgres);
    }
    v
}

/// A database owned by one test; removed when dropped (PostgreSQL: dropped by [`Database::cleanup`]).
pub struct Database {
    /// Its URL.
    pub url: String,
    /// Which backend.
    pub backend: Backend,
    dir: tempfile::TempDir,
    pg_base: Option<String>,
}

impl Database {
    /// A new, empty database.
    pub async fn new(backend: Backend) -> anyhow::Result<Database> {
        let dir = tempfile::tempdir()?;
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("ulo.db").display());
                Ok(Database {
                    url,
                    backend,
                    dir,
                    pg_base: None,
                })
            }
            Backend::Postgres => {
                let base = std::env::var(PG_ENV)?;
                let url = ulo_store::scratch::create_postgres_database(&base).await?;
                Ok(Database {
                    url,
                    backend,
                    dir,
                    pg_base: Some(base),
                })
            }
        }
    }

    /// A temporary directory that lives as long as the database.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Opens a store on it.
    pub async fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        Ok(ulo_store::open(&self.url).await?)
    }

    /// Drops a PostgreSQL scratch database.
    pub async fn cleanup(self) {
        if let Some(base) = &self.pg_base {
            let _ = ulo_store::scratch::drop_postgres_database(base, &self.url).await;
        }
    }
}

/// A running server with an admin token.
pub struct TestServer {
    /// Base URL, e.g. `http://127.0.0.1:43121`.
    pub url: String,
    /// The super admin's API token.
    pub token: String,
    /// HTTP client.
    pub http: reqwest::Client,
    /// The running server.
    pub running: Option<Running>,
    /// Its database.
    pub db: Option<Database>,
}

/// A fixed token the test server's first admin gets.
pub const ADMIN_TOKEN: &str = "ulo_test_bootstrap_token_0123456789abcdef";

impl TestServer {
    /// Starts a server on a fresh database of `backend`.
    pub async fn start(backend: Backend) -> anyhow::Result<TestServer> {
        let db = Database::new(backend).await?;
        Self::start_on(db, Arc::new(SystemClock)).await
    }

    /// Starts a server on `db` with `clock`.
    pub async fn start_on(db: Database, clock: Arc<dyn Clock>) -> anyhow::Result<TestServer> {
        Self::start_configured(db, clock, |_| {}).await
    }

    /// Starts a server on `db` with `clock`, the test's options changed by `configure` first
    /// (e.g. a minimum agent version).
    pub async fn start_configured(
        db: Database,
        clock: Arc<dyn Clock>,
        configure: impl FnOnce(&mut Options),
    ) -> anyhow::Result<TestServer> {
        let key = MasterKey::generate();
        let mut opts = Options {
            database_url: db.url.clone(),
            issuer: None,
            master_key_fingerprint: key.fingerprint(),
            sealer: Arc::new(MasterKeySealer(key)),
            outbound: OutboundPolicy {
                allow_http_loopback: true,
            },
            bootstrap_admin: "admin@ulo.example.com".into(),
            bootstrap_token: Some(ADMIN_TOKEN.into()),
            worker_concurrency: 16,
            single_logout_all_apps: false,
            // Tests move a manual clock and wait for the sweep: keep the wait short.
            session_sweep_interval: std::time::Duration::from_millis(100),
            worker_lease: std::time::Duration::from_secs(30),
            delivery_timeout: std::time::Duration::from_secs(10),
            logout_deadline: std::time::Duration::from_secs(86_400),
            risk_detection_ttl: std::time::Duration::from_secs(7 * 86_400),
            device: ulo_core::device::DeviceSettings::default(),
            scim_shows_admins: false,
            security_events: Default::default(),
            trusted_proxies: Default::default(),
            session_influence: Default::default(),
            threat_list_file: None,
            // Tests change the file and wait for the reload: keep the wait short.
            threat_list_check_interval: std::time::Duration::from_millis(100),
            clock,
        };
        configure(&mut opts);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let running = start(opts, listener).await?;
        Ok(TestServer {
            url: running.issuer.clone(),
            token: ADMIN_TOKEN.into(),
            http: reqwest::Client::new(),
            running: Some(running),
            db: Some(db),
        })
    }

    /// Sends a request with the admin token; answers status and JSON body (Null when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_as(&self.token.clone(), method, path, body).await
    }

    /// Sends a request with `token`.
    pub async fn call_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("Authorization", format!("SSWS {token}"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request failed to send");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, json)
    }

    /// GET.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    /// PUT with an optional JSON body.
    pub async fn put(&self, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(Method::PUT, path, body).await
    }

    /// DELETE.
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// The store behind the server.
    pub fn store(&self) -> Arc<dyn Store> {
        self.running
            .as_ref()
            .map(|r| r.state.store.clone())
            .expect("server not running")
    }

    /// Stops the server and drops its database.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        if let Some(db) = self.db.take() {
            db.cleanup().await;
        }
    }
}

/// Polls `check` until it yields `Some`, failing after `deadline`.
pub async fn wait_for<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    let mut delay = Duration::from_millis(5);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(200));
    }
}

/// Today's time, for tests that build domain objects.
pub fn now() -> time::OffsetDateTime {
    SystemClock.now()
}
