//! Shared helpers: a server per backend, fixtures, System Log look-ups, error-shape checks.

use std::panic::{AssertUnwindSafe, resume_unwind};

use futures::FutureExt;
use reqwest::header::{HeaderMap, LINK};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use ulo_core::context::Context;
use ulo_testkit::{Backend, TestServer, backends};

/// Every request of the suite carries this, so events can be checked for the client's user agent.
pub const USER_AGENT: &str = "ulo-api-tests/1.0";

/// The login of the test server's super admin.
pub const ADMIN_LOGIN: &str = "admin@ulo.example.com";

/// Starts a server on `backend` whose client sends [`USER_AGENT`].
pub async fn start(backend: Backend) -> TestServer {
    let mut server = TestServer::start(backend).await.expect("start test server");
    server.http = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .build()
        .expect("HTTP client");
    server
}

/// Runs `test` against a fresh server on every backend; the server is stopped (and a PostgreSQL
/// scratch database dropped) even when the test fails.
pub async fn on_every_backend(test: impl AsyncFn(&TestServer)) {
    for backend in backends() {
        run_on(backend, &test).await;
    }
}

/// Runs `test` on SQLite only: for behaviour of the HTTP layer that no store affects.
pub async fn on_sqlite(test: impl AsyncFn(&TestServer)) {
    run_on(Backend::Sqlite, &test).await;
}

async fn run_on(backend: Backend, test: &impl AsyncFn(&TestServer)) {
    let server = start(backend).await;
    let outcome = AssertUnwindSafe(test(&server)).catch_unwind().await;
    server.stop().await;
    if let Err(panic) = outcome {
        eprintln!("the test failed on {backend:?}");
        resume_unwind(panic);
    }
}

/// A request to `path` with the super admin's token.
pub fn request(s: &TestServer, method: Method, path: &str) -> RequestBuilder {
    s.http
        .request(method, format!("{}{path}", s.url))
        .header("Authorization", format!("SSWS {}", s.token))
}

/// A request to `path` with no credentials.
pub fn anonymous(s: &TestServer, method: Method, path: &str) -> RequestBuilder {
    s.http.request(method, format!("{}{path}", s.url))
}

/// Sends `req`; answers status, headers and the body as JSON (Null when empty, a string when not JSON).
pub async fn send(req: RequestBuilder) -> (StatusCode, HeaderMap, Value) {
    let resp = req.send().await.expect("request failed to send");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("read response body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, headers, body)
}

/// GET `path` with query parameters, which are encoded here.
pub async fn get_with(
    s: &TestServer,
    path: &str,
    query: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Value) {
    send(request(s, Method::GET, path).query(query)).await
}

/// Asserts an Okta-shaped error answer: `status`, `errorCode`, a summary, an id and a causes list.
pub fn assert_error(got: (StatusCode, &Value), status: StatusCode, code: &str) {
    let (got_status, body) = got;
    assert_eq!(got_status, status, "status; body: {body}");
    assert_eq!(body["errorCode"], code, "errorCode; body: {body}");
    assert!(
        body["errorSummary"].as_str().is_some_and(|s| !s.is_empty()),
        "errorSummary; body: {body}"
    );
    assert!(
        body["errorId"].as_str().is_some_and(|s| !s.is_empty()),
        "errorId; body: {body}"
    );
    assert!(body["errorCauses"].is_array(), "errorCauses; body: {body}");
}

/// The summaries of an error's causes.
pub fn causes(body: &Value) -> Vec<String> {
    body["errorCauses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["errorSummary"].as_str().map(str::to_string))
        .collect()
}

/// The `id` of an object as a string.
pub fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

/// A create-user body for `login` (also the email).
pub fn user_body(login: &str) -> Value {
    json!({"profile": {"login": login, "email": login, "firstName": "Test", "lastName": "Person"}})
}

/// Creates an ACTIVE user.
pub async fn create_user(s: &TestServer, login: &str) -> Value {
    let (status, user) = s
        .post("/api/v1/users?activate=true", user_body(login))
        .await;
    assert_eq!(status, StatusCode::OK, "create user {login}: {user}");
    user
}

/// Creates a STAGED user.
pub async fn create_staged_user(s: &TestServer, login: &str) -> Value {
    let (status, user) = s
        .post("/api/v1/users?activate=false", user_body(login))
        .await;
    assert_eq!(status, StatusCode::OK, "create staged user {login}: {user}");
    user
}

/// Creates a group.
pub async fn create_group(s: &TestServer, name: &str) -> Value {
    let (status, group) = s
        .post(
            "/api/v1/groups",
            json!({"profile": {"name": name, "description": "made by a test"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "create group {name}: {group}");
    group
}

/// A create-app body for an OIDC app whose logout endpoint is on loopback (allowed in tests).
pub fn oidc_app_body(label: &str) -> Value {
    json!({
        "label": label,
        "type": "oidc",
        "oidc": {
            "redirectUris": ["https://app.example.com/callback"],
            "postLogoutRedirectUris": ["https://app.example.com/"],
            "tokenEndpointAuthMethod": "client_secret_basic",
            "backchannelLogoutSessionRequired": false
        },
        "logout": {"enabled": true, "protocol": "global-token-revocation", "endpoint": "http://127.0.0.1:9/gtr", "subjectFormat": "email"}
    })
}

/// Creates an ACTIVE OIDC app.
pub async fn create_app(s: &TestServer, label: &str) -> Value {
    let (status, app) = s.post("/api/v1/apps", oidc_app_body(label)).await;
    assert_eq!(status, StatusCode::OK, "create app {label}: {app}");
    app
}

/// The super admin's user id.
pub async fn admin_id(s: &TestServer) -> String {
    let (status, admin) = s.get(&format!("/api/v1/users/{ADMIN_LOGIN}")).await;
    assert_eq!(status, StatusCode::OK, "{admin}");
    id(&admin)
}

/// A READ_ONLY_ADMIN granted through the API, and an API token for them made in the directory.
pub async fn read_only_admin(s: &TestServer, login: &str) -> (Value, String) {
    let user = create_user(s, login).await;
    let (status, role) = s
        .post(
            &format!("/api/v1/users/{}/roles", id(&user)),
            json!({"type": "READ_ONLY_ADMIN"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    let running = s.running.as_ref().expect("server running");
    let owner = id(&user).parse().expect("user id");
    let created = running
        .state
        .directory()
        .create_api_token(
            &Context::system("TEST"),
            owner,
            "read-only test token",
            None,
            None,
        )
        .await
        .expect("create API token");
    (user, created.secret)
}

/// System Log events of `event_type` naming `target_id` among their targets, oldest first.
pub async fn events(s: &TestServer, event_type: &str, target_id: &str) -> Vec<Value> {
    let filter = format!(r#"eventType eq "{event_type}" and target.id eq "{target_id}""#);
    let (status, _, body) =
        get_with(s, "/api/v1/logs", &[("filter", &filter), ("limit", "1000")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array()
        .cloned()
        .unwrap_or_else(|| panic!("not an array: {body}"))
}

/// The one event of `event_type` naming `target_id`.
pub async fn one_event(s: &TestServer, event_type: &str, target_id: &str) -> Value {
    let mut found = events(s, event_type, target_id).await;
    assert_eq!(
        found.len(),
        1,
        "expected exactly one {event_type} event for {target_id}, got {found:?}"
    );
    found.remove(0)
}

/// Asserts an event is attributed to the super admin acting over HTTP from loopback with the
/// suite's user agent, succeeded, is in a WEB transaction, and names each of `targets`.
pub fn assert_attributed(event: &Value, admin_id: &str, targets: &[&str]) {
    assert_eq!(event["actor"]["id"], admin_id, "actor: {event}");
    assert_eq!(event["actor"]["type"], "User", "actor: {event}");
    assert_eq!(event["actor"]["alternateId"], ADMIN_LOGIN, "actor: {event}");
    assert_eq!(event["client"]["ipAddress"], "127.0.0.1", "client: {event}");
    assert_eq!(
        event["client"]["userAgent"]["rawUserAgent"], USER_AGENT,
        "client: {event}"
    );
    assert_eq!(event["outcome"]["result"], "SUCCESS", "outcome: {event}");
    assert!(
        event["transaction"]["id"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "transaction: {event}"
    );
    assert_eq!(event["transaction"]["type"], "WEB", "transaction: {event}");
    let named: Vec<&str> = event["target"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["id"].as_str())
        .collect();
    for t in targets {
        assert!(named.contains(t), "target {t} missing from {event}");
    }
}

/// What exists: users, groups and apps by id, and every System Log event by uuid.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    users: Vec<String>,
    groups: Vec<String>,
    apps: Vec<String>,
    events: Vec<String>,
    logouts: Vec<String>,
}

async fn ids_at(s: &TestServer, path: &str, limit: &str, key: &str) -> Vec<String> {
    let (status, _, body) = get_with(s, path, &[("limit", limit)]).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    let items = body
        .as_array()
        .unwrap_or_else(|| panic!("{path}: not an array: {body}"));
    // The fixtures of one test fit in one page; a full page would make the snapshot partial.
    assert!(
        items.len() < limit.parse().unwrap_or(0),
        "{path} needs paging"
    );
    items
        .iter()
        .map(|v| v[key].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Takes a [`Snapshot`], to show a refused request left nothing behind.
pub async fn snapshot(s: &TestServer) -> Snapshot {
    Snapshot {
        users: ids_at(s, "/api/v1/users", "200", "id").await,
        groups: ids_at(s, "/api/v1/groups", "200", "id").await,
        apps: ids_at(s, "/api/v1/apps", "200", "id").await,
        events: ids_at(s, "/api/v1/logs", "1000", "uuid").await,
        logouts: ids_at(s, "/api/v1/logouts", "200", "id").await,
    }
}

/// The URL of a `Link: <…>; rel="next"` header, if any.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    link(headers, "next")
}

/// The URL of the `Link` header with relation `rel`, if any.
pub fn link(headers: &HeaderMap, rel: &str) -> Option<String> {
    let wanted = format!("rel=\"{rel}\"");
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|l| {
            let (url, params) = l.trim().split_once(';')?;
            params.split(';').any(|p| p.trim() == wanted).then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
        })
}
