//! `RemoteJwks` against a real HTTP server that counts how often its JWKS is fetched.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use futures::future::join_all;
use serde_json::{Value, json};
use ulo_jose::{GeneratedKey, JoseError, KeyAlg, RemoteJwks, generate_key, typ};

use super::{claims, opts, ring_of};

/// A JWKS server: what it serves (changeable) and how many times it was asked.
#[derive(Clone)]
struct Jwks {
    doc: Arc<Mutex<Value>>,
    hits: Arc<AtomicUsize>,
}

impl Jwks {
    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn serve(&self, keys: &[&GeneratedKey]) {
        *self.doc.lock().unwrap() =
            json!({"keys": keys.iter().map(|k| k.public_jwk.clone()).collect::<Vec<_>>()});
    }
}

async fn jwks(State(s): State<Jwks>) -> Json<Value> {
    s.hits.fetch_add(1, Ordering::SeqCst);
    Json(s.doc.lock().unwrap().clone())
}

async fn broken(State(s): State<Jwks>) -> axum::http::StatusCode {
    s.hits.fetch_add(1, Ordering::SeqCst);
    axum::http::StatusCode::SERVICE_UNAVAILABLE
}

/// Starts the server on an ephemeral port; returns it and its JWKS URL.
async fn server(keys: &[&GeneratedKey]) -> (Jwks, String) {
    let s = Jwks {
        doc: Arc::new(Mutex::new(Value::Null)),
        hits: Arc::new(AtomicUsize::new(0)),
    };
    s.serve(keys);
    let app = axum::Router::new()
        .route("/jwks", get(jwks))
        .route("/broken", get(broken))
        .with_state(s.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (s, format!("http://{addr}/jwks"))
}

fn signed(key: &GeneratedKey) -> String {
    ring_of(&[key])
        .sign(key.alg, typ::LOGOUT, &claims())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_verifications_share_one_fetch() {
    let key = generate_key(KeyAlg::ES256).unwrap();
    let (server, url) = server(&[&key]).await;
    let remote = RemoteJwks::new(reqwest::Client::new(), Duration::from_secs(60));
    let token = signed(&key);
    // join_all polls every verification once before any completes: the first one's fetch is in
    // flight while the other 49 ask for the same, uncached keys.
    let o = opts();
    let results = join_all((0..50).map(|_| remote.verify("p1", &url, &token, &o))).await;
    for r in &results {
        assert_eq!(r.as_ref().unwrap().1, claims());
    }
    assert_eq!(
        server.hits(),
        1,
        "one fetch for 50 concurrent first verifications"
    );
    // Cached from now on.
    remote.verify("p1", &url, &token, &opts()).await.unwrap();
    assert_eq!(server.hits(), 1);
    // Another owner has keys of its own.
    remote.verify("p2", &url, &token, &opts()).await.unwrap();
    assert_eq!(server.hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kid_refetch_stays_rate_limited() {
    let old = generate_key(KeyAlg::ES256).unwrap();
    let new = generate_key(KeyAlg::ES256).unwrap();
    let (server, url) = server(&[&old]).await;
    let remote = RemoteJwks::new(reqwest::Client::new(), Duration::from_secs(60));
    remote
        .verify("p", &url, &signed(&old), &opts())
        .await
        .unwrap();
    assert_eq!(server.hits(), 1);
    // The provider rotates, but its keys were fetched within the interval: tokens signed with
    // the new key are refused, concurrently or not, and the provider is not asked again.
    server.serve(&[&old, &new]);
    let token = signed(&new);
    let o = opts();
    let results = join_all((0..20).map(|_| remote.verify("p", &url, &token, &o))).await;
    for r in results {
        assert!(matches!(r, Err(JoseError::UnknownKid(_))), "{r:?}");
    }
    assert_eq!(server.hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refetches_on_an_unknown_kid_share_one_fetch() {
    let old = generate_key(KeyAlg::ES256).unwrap();
    let new = generate_key(KeyAlg::ES256).unwrap();
    let (server, url) = server(&[&old]).await;
    // No minimum interval: every unknown kid may refetch, so only the single flight keeps
    // 30 tokens with the new key from making 30 fetches.
    let remote = RemoteJwks::new(reqwest::Client::new(), Duration::ZERO);
    remote
        .verify("p", &url, &signed(&old), &opts())
        .await
        .unwrap();
    server.serve(&[&old, &new]);
    let token = signed(&new);
    let o = opts();
    let results = join_all((0..30).map(|_| remote.verify("p", &url, &token, &o))).await;
    for r in &results {
        assert_eq!(r.as_ref().unwrap().1, claims());
    }
    assert_eq!(server.hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_first_fetch_is_shared_and_not_retried_at_once() {
    let key = generate_key(KeyAlg::ES256).unwrap();
    let (server, url) = server(&[&key]).await;
    let broken = url.replace("/jwks", "/broken");
    let remote = RemoteJwks::new(reqwest::Client::new(), Duration::from_secs(60));
    let token = signed(&key);
    let o = opts();
    let results = join_all((0..10).map(|_| remote.verify("p", &broken, &token, &o))).await;
    for r in results {
        match r {
            Err(JoseError::Fetch(m)) => assert!(m.contains("HTTP 503"), "{m}"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(server.hits(), 1, "one fetch, its failure shared");
    // Not retried within the interval.
    assert!(remote.verify("p", &broken, &token, &opts()).await.is_err());
    assert_eq!(server.hits(), 1);
    // A new URL (the provider was edited) is fetched at once.
    remote.verify("p", &url, &token, &opts()).await.unwrap();
    assert_eq!(server.hits(), 2);
}
