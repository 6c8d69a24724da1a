//! The vault's connector calls go through ulo's guarded HTTP client: internal addresses are
//! refused when an admin registers a connector URL (400, saying why) and again when a job would
//! call it (the job fails for good, and no connection is ever made).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ulo_core::outbound::OutboundPolicy;
use ulo_vault::model::{ManagedApp, new_id};
use ulo_vault::seal::Purpose;

use crate::support::*;

/// A listener nothing should reach: `accept` on it answers at once whether anything did.
fn silent_listener() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let port = listener.local_addr().expect("address").port();
    (listener, port)
}

fn assert_never_connected(listener: &std::net::TcpListener) {
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Ok((_, peer)) => panic!("the connector listener got a connection from {peer}"),
        Err(e) => panic!("accept failed: {e}"),
    }
}

/// Refused connector URLs aimed at a listener on 127.0.0.1:`port`, whatever the operator allows.
fn never_called(port: u16) -> Vec<String> {
    vec![
        format!("http://0.0.0.0:{port}/connector"),
        format!("http://0:{port}/connector"),
        format!("http://[::]:{port}/connector"),
        format!("http://[::ffff:127.0.0.1]:{port}/connector"),
        format!("http://[::127.0.0.1]:{port}/connector"),
        format!("http://[64:ff9b::7f00:1]:{port}/connector"),
        "http://169.254.169.254/latest/meta-data/".into(),
        "https://169.254.169.254/latest/meta-data/".into(),
        "http://[::ffff:169.254.169.254]/latest/meta-data/".into(),
        "http://[fe80::1]/connector".into(),
        "http://[fd00:ec2::254]/latest/meta-data/".into(),
    ]
}

/// Loopback in all its spellings: refused unless the operator allows loopback.
fn loopback_forms(port: u16) -> Vec<String> {
    vec![
        format!("http://127.0.0.1:{port}/connector"),
        format!("https://127.0.0.1:{port}/connector"),
        format!("http://localhost:{port}/connector"),
        format!("https://localhost:{port}/connector"),
        format!("http://[::1]:{port}/connector"),
        format!("http://2130706433:{port}/connector"),
        format!("http://0x7f.1:{port}/connector"),
        format!("http://017700000001:{port}/connector"),
        format!("https://127.1:{port}/connector"),
    ]
}

async fn create_app(h: &Harness, name: &str, url: &str) -> (StatusCode, Value) {
    h.admin(
        Method::POST,
        "/api/apps",
        Some(
            json!({"name": name, "signInUrl": "https://app.example.com/",
                    "connector": {"type": "http", "url": url, "secret": CONNECTOR_SECRET}}),
        ),
    )
    .await
}

/// Puts an app with `url` straight into the store, as an older vault (which accepted any http
/// URL) left it, and adds an account to it; answers the account id.
async fn legacy_account(h: &Harness, n: usize, url: &str) -> String {
    let vault = &h.vault.vault;
    let id = new_id();
    let now = ulo_testkit::now();
    let app = ManagedApp {
        connector_secret_sealed: vault
            .sealer
            .seal(CONNECTOR_SECRET, Purpose::ConnectorSecret(&id))
            .unwrap(),
        id,
        name: format!("Legacy {n}"),
        sign_in_url: "https://app.example.com/".into(),
        connector_type: "http".into(),
        connector_url: url.into(),
        created: now,
        updated: now,
    };
    let mut tx = vault.store.begin().await.unwrap();
    tx.insert_app(&app).await.unwrap();
    tx.commit().await.unwrap();
    let (status, account) = h
        .admin(
            Method::POST,
            "/api/accounts",
            Some(json!({"appId": app.id, "username": "team", "password": "initial-Passw0rd"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{account}");
    account["id"].as_str().unwrap().to_string()
}

/// Asks for a rotation of each account and waits until each attempt failed; answers the errors.
async fn failed_rotations(h: &Harness, accounts: &[String]) -> Vec<String> {
    let mut errors = Vec::new();
    for id in accounts {
        let (status, body) = h
            .admin(Method::POST, &format!("/api/accounts/{id}/rotate"), None)
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    for id in accounts {
        let a = ulo_testkit::wait_for("the refused rotation attempt", WAIT, || async {
            let (_, a) = h
                .admin(Method::GET, &format!("/api/accounts/{id}"), None)
                .await;
            a["rotationError"].is_string().then_some(a)
        })
        .await;
        assert_eq!(a["status"], "ROTATION_PENDING", "{a}");
        errors.push(a["rotationError"].as_str().unwrap().to_string());
    }
    // Given up at once: no retry is scheduled for an address that is never called.
    let failures = h
        .audit("type eq \"account.password.rotate\" and outcome eq \"FAILURE\"")
        .await;
    assert_eq!(failures.len(), accounts.len(), "{failures:#?}");
    for f in &failures {
        assert_eq!(f["detail"]["willRetry"], false, "{f}");
    }
    errors
}

#[tokio::test]
async fn internal_connector_urls_are_refused_at_create_and_send_time_even_with_loopback_allowed() {
    for backend in ulo_testkit::backends() {
        // The tests' (and the demo's) setting: plain http to loopback allowed.
        let h = Harness::start(backend).await;
        let (listener, port) = silent_listener();
        for url in never_called(port) {
            let (status, body) = create_app(&h, "Internal", &url).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {body}");
            let msg = body["message"].as_str().unwrap_or_default();
            assert!(
                msg.starts_with("connector.url: ") && msg.contains("never called"),
                "{url}: {msg}"
            );
        }
        let (_, apps) = h.admin(Method::GET, "/api/apps", None).await;
        assert_eq!(apps, json!([]), "nothing was created");

        let mut accounts = Vec::new();
        for (n, url) in never_called(port).iter().enumerate() {
            accounts.push(legacy_account(&h, n, url).await);
        }
        for e in failed_rotations(&h, &accounts).await {
            assert!(
                e.starts_with("the connector was not called: refusing to call"),
                "{e}"
            );
            assert!(e.contains("never called"), "{e}");
        }
        assert_never_connected(&listener);
        h.stop().await;
    }
}

#[tokio::test]
async fn loopback_connector_urls_are_refused_unless_the_operator_allows_loopback() {
    for backend in ulo_testkit::backends() {
        let h = Harness::start_with(backend, |o| o.outbound = OutboundPolicy::default()).await;
        let (listener, port) = silent_listener();
        for url in loopback_forms(port) {
            let (status, body) = create_app(&h, "Loopback", &url).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {body}");
            let msg = body["message"].as_str().unwrap_or_default();
            assert!(
                msg.contains("loopback") && msg.contains("ULO_OUTBOUND_ALLOW_HTTP_LOOPBACK=1"),
                "{url}: {msg}"
            );
        }
        // Plain http elsewhere would carry new passwords in the clear.
        let (status, body) = create_app(&h, "Plain", "http://app.example.com/connector").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("must use https"),
            "{body}"
        );
        let (_, apps) = h.admin(Method::GET, "/api/apps", None).await;
        assert_eq!(apps, json!([]), "nothing was created");

        let mut accounts = Vec::new();
        for (n, url) in loopback_forms(port).iter().enumerate() {
            accounts.push(legacy_account(&h, n, url).await);
        }
        for e in failed_rotations(&h, &accounts).await {
            assert!(e.starts_with("the connector was not called"), "{e}");
            assert!(e.contains("loopback"), "{e}");
        }
        assert_never_connected(&listener);
        h.stop().await;
    }
}
