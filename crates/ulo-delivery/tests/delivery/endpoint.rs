//! A fake app endpoint speaking plain HTTP: answers from a script and records what it received.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

/// What the endpoint saw and will answer.
#[derive(Default)]
pub struct Script {
    /// Statuses to answer in order; after it runs out, `then`.
    pub answers: Vec<u16>,
    /// The status after the script.
    pub then: u16,
    /// Delay before answering.
    pub delay: Duration,
    /// Idempotency keys received, in order.
    pub received: Vec<String>,
}

/// A running fake endpoint.
#[derive(Clone)]
pub struct Endpoint {
    /// Its URL.
    pub url: String,
    /// Shared script and record.
    pub script: Arc<Mutex<Script>>,
}

impl Endpoint {
    /// Starts an endpoint answering `answers` then `then`.
    pub async fn start(answers: Vec<u16>, then: u16, delay: Duration) -> Endpoint {
        let script = Arc::new(Mutex::new(Script {
            answers,
            then,
            delay,
            received: Vec::new(),
        }));
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Endpoint {
            url: format!("http://{addr}/hook"),
            script,
        }
    }

    /// Keys received so far.
    pub fn received(&self) -> Vec<String> {
        self.script.lock().unwrap().received.clone()
    }

    /// How many times each key arrived.
    pub fn counts(&self) -> HashMap<String, usize> {
        let mut m = HashMap::new();
        for k in self.received() {
            *m.entry(k).or_insert(0) += 1;
        }
        m
    }
}

async fn hook(State(script): State<Arc<Mutex<Script>>>, headers: HeaderMap) -> StatusCode {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (status, delay) = {
        let mut s = script.lock().unwrap();
        s.received.push(key);
        let status = if s.answers.is_empty() {
            s.then
        } else {
            s.answers.remove(0)
        };
        (status, s.delay)
    };
    tokio::time::sleep(delay).await;
    StatusCode::from_u16(status).unwrap()
}
