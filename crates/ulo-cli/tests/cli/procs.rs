//! Starting real `ulo serve` processes, and a fake webhook endpoint that counts deliveries.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running `ulo` process (`ulo serve`, `ulo vault serve`, `ulo vault demo-app`); killed when
/// dropped, so a failing test leaves nothing behind.
pub struct Serve {
    /// The process.
    pub child: Child,
    /// Its base URL.
    pub url: String,
    /// Everything it printed on stdout before it was ready.
    pub banner: String,
    /// What it printed on stderr (its log) so far.
    pub log: Arc<Mutex<String>>,
}

impl Serve {
    /// Its log so far, for a failure message.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

/// Starts `ulo serve` with `envs` on an ephemeral port and waits until it listens.
pub async fn serve(data_dir: &Path, envs: &[(&str, String)]) -> Result<Serve, String> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ulo"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    start(cmd).await
}

/// Starts `ulo args…` with `envs` (and no `ULO_VAULT_*` variables of the test's own
/// environment) and waits until it prints that it is ready.
pub async fn ulo(args: &[&str], envs: &[(&str, String)]) -> Result<Serve, String> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ulo"));
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("ULO_VAULT_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    start(cmd).await
}

/// Spawns `cmd` and reads its stdout until a `Ready.` line after an `… is listening on URL`
/// line (at most 60 s).
async fn start(mut cmd: Command) -> Result<Serve, String> {
    cmd.env("ULO_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let log = Arc::new(Mutex::new(String::new()));
    let sink = log.clone();
    let mut drained = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    let mut lines = BufReader::new(stdout).lines();
    let mut banner = String::new();
    let ready = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            banner.push_str(&line);
            banner.push('\n');
            if line.starts_with("Ready.")
                && let Some(url) = banner
                    .lines()
                    .find_map(|l| l.split("is listening on ").nth(1))
            {
                return Some(url.trim().to_string());
            }
        }
        None
    })
    .await;
    match ready {
        Ok(Some(url)) => {
            // Keep draining stdout so the process never blocks on a full pipe.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            Ok(Serve {
                child,
                url,
                banner,
                log,
            })
        }
        _ => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            // The process is gone: its stderr ends, so this wait is short.
            let _ = tokio::time::timeout(Duration::from_secs(5), &mut drained).await;
            let err = log.lock().unwrap().clone();
            Err(format!(
                "the process did not start.\nstdout:\n{banner}\nstderr:\n{err}"
            ))
        }
    }
}

/// Counts webhook deliveries per idempotency key; answers 204 after `delay`.
#[derive(Clone, Default)]
pub struct Counter {
    /// Deliveries per key.
    pub seen: Arc<Mutex<HashMap<String, usize>>>,
}

impl Counter {
    /// Total deliveries.
    pub fn total(&self) -> usize {
        self.seen.lock().unwrap().values().sum()
    }
}

/// Starts the endpoint; answers its URL.
pub async fn endpoint(counter: Counter, delay: Duration) -> String {
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state((counter, delay));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/hook")
}

async fn hook(
    State((counter, delay)): State<(Counter, Duration)>,
    headers: HeaderMap,
) -> StatusCode {
    tokio::time::sleep(delay).await;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    *counter.seen.lock().unwrap().entry(key).or_insert(0) += 1;
    StatusCode::NO_CONTENT
}
