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

/// A running `ulo serve`.
pub struct Serve {
    /// The process.
    pub child: Child,
    /// Its base URL.
    pub url: String,
    /// Everything it printed on stdout before it was ready.
    pub banner: String,
}

/// Starts `ulo serve` with `envs` on an ephemeral port and waits until it listens.
pub async fn serve(data_dir: &Path, envs: &[(&str, String)]) -> Result<Serve, String> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ulo"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.env("ULO_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut stderr = child.stderr.take().ok_or("no stderr")?;
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
            tokio::spawn(async move {
                let mut sink = tokio::io::sink();
                let _ = tokio::io::copy(&mut stderr, &mut sink).await;
            });
            Ok(Serve { child, url, banner })
        }
        _ => {
            let _ = child.start_kill();
            let mut err = String::new();
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut err).await;
            Err(format!(
                "ulo serve did not start.\nstdout:\n{banner}\nstderr:\n{err}"
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
