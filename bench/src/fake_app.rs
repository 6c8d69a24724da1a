//! A fake logout-enabled app, in process: `POST /apps/{n}` answers `204 No Content` after a fixed
//! delay, as a Global Token Revocation endpoint would, and counts what it was sent.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the fake app has seen; shared with its handler.
struct Seen {
    /// How long each answer waits.
    delay: Duration,
    /// Requests answered so far (every request, repeated deliveries included).
    requests: watch::Sender<u64>,
    /// Distinct `Idempotency-Key`s, to tell repeated deliveries of one job apart.
    keys: Mutex<HashSet<String>>,
    /// Requests without a bearer token (answered 400: not a logout ulo signed).
    rejected: Mutex<u64>,
}

/// A running fake app server; stops when dropped.
pub struct FakeApp {
    base: String,
    seen: Arc<Seen>,
    task: JoinHandle<()>,
}

impl FakeApp {
    /// Starts the server on an ephemeral loopback port; each request is answered after `delay`.
    pub async fn start(delay: Duration) -> Result<FakeApp> {
        let (requests, _) = watch::channel(0);
        let seen = Arc::new(Seen {
            delay,
            requests,
            keys: Mutex::new(HashSet::new()),
            rejected: Mutex::new(0),
        });
        let app = Router::new()
            .route("/apps/{n}", post(logout))
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the fake app server")?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("fake app server stopped: {e}");
            }
        });
        Ok(FakeApp {
            base: format!("http://{addr}"),
            seen,
            task,
        })
    }

    /// The logout endpoint of app number `n`.
    pub fn endpoint(&self, n: usize) -> String {
        format!("{}/apps/{n}", self.base)
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        *self.seen.requests.borrow()
    }

    /// Distinct deliveries (by `Idempotency-Key`) seen so far.
    pub fn distinct(&self) -> u64 {
        lock(&self.seen.keys).len() as u64
    }

    /// Requests refused for lack of a bearer token.
    pub fn rejected(&self) -> u64 {
        *lock(&self.seen.rejected)
    }

    /// Waits until at least `n` requests have been answered, or `timeout` passes; answers whether
    /// they were.
    pub async fn wait_for_requests(&self, n: u64, timeout: Duration) -> bool {
        let mut rx = self.seen.requests.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|seen| *seen >= n))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

impl Drop for FakeApp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn logout(State(seen): State<Arc<Seen>>, headers: HeaderMap) -> StatusCode {
    if !seen.delay.is_zero() {
        tokio::time::sleep(seen.delay).await;
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "));
    let status = if bearer {
        if let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) {
            lock(&seen.keys).insert(key.to_string());
        }
        StatusCode::NO_CONTENT
    } else {
        *lock(&seen.rejected) += 1;
        StatusCode::BAD_REQUEST
    };
    seen.requests.send_modify(|n| *n += 1);
    status
}
