//! Provisioning to apps: ulo as a SCIM client pushing assigned users to a fake app that speaks
//! SCIM 2.0 (create, PatchOp, filter by externalId), including while it is down.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode as AxStatus};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use axum::{Json, Router};
use reqwest::StatusCode;
use serde_json::{Value, json};
use ulo_testkit::{TestServer, wait_for};

use crate::support::*;

const TOKEN: &str = "scim-bearer-token-0123456789-secret";
const WAIT: Duration = Duration::from_secs(30);

/// How the fake app answers.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Up,
    Unavailable,
    BadRequest,
}

#[derive(Clone, Debug)]
struct RemoteUser {
    id: String,
    external_id: String,
    user_name: String,
    given_name: String,
    active: bool,
}

struct Fake {
    mode: Mode,
    users: Vec<RemoteUser>,
    /// (method, path) of every request, in order.
    requests: Vec<(String, String)>,
    /// Requests that came without the right bearer token.
    unauthorized: usize,
}

/// A SCIM 2.0 service provider for Users, in memory.
#[derive(Clone)]
struct FakeScim(Arc<Mutex<Fake>>);

impl FakeScim {
    async fn start() -> (FakeScim, String) {
        let fake = FakeScim(Arc::new(Mutex::new(Fake {
            mode: Mode::Up,
            users: Vec::new(),
            requests: Vec::new(),
            unauthorized: 0,
        })));
        let app = Router::new()
            .route("/scim/v2/Users", post(create).get(search))
            .route("/scim/v2/Users/{id}", patch(update))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake SCIM");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (fake, format!("http://{addr}/scim/v2"))
    }

    fn set_mode(&self, mode: Mode) {
        self.0.lock().unwrap().mode = mode;
    }

    fn by_external_id(&self, external_id: &str) -> Option<RemoteUser> {
        let f = self.0.lock().unwrap();
        f.users
            .iter()
            .find(|u| u.external_id == external_id)
            .cloned()
    }

    fn count(&self, method: &str) -> usize {
        let f = self.0.lock().unwrap();
        f.requests.iter().filter(|(m, _)| m == method).count()
    }

    fn users(&self) -> usize {
        self.0.lock().unwrap().users.len()
    }

    /// Records the request; answers the failure the mode calls for, if any.
    fn gate(&self, method: &str, path: String, headers: &HeaderMap) -> Option<Response> {
        let mut f = self.0.lock().unwrap();
        f.requests.push((method.to_string(), path));
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if auth != format!("Bearer {TOKEN}") {
            f.unauthorized += 1;
            return Some(scim_error(AxStatus::UNAUTHORIZED, "bad token"));
        }
        match f.mode {
            Mode::Up => None,
            Mode::Unavailable => Some(
                (
                    AxStatus::SERVICE_UNAVAILABLE,
                    [("retry-after", "1")],
                    "down for maintenance",
                )
                    .into_response(),
            ),
            Mode::BadRequest => Some(scim_error(AxStatus::BAD_REQUEST, "invalidValue")),
        }
    }
}

fn scim_error(status: AxStatus, detail: &str) -> Response {
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": status.as_u16().to_string(), "detail": detail});
    (status, Json(body)).into_response()
}

fn resource(u: &RemoteUser) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": u.id, "externalId": u.external_id, "userName": u.user_name, "name": {"givenName": u.given_name}, "active": u.active})
}

async fn create(State(fake): State<FakeScim>, headers: HeaderMap, body: String) -> Response {
    if let Some(r) = fake.gate("POST", "/Users".into(), &headers) {
        return r;
    }
    let Ok(v) = serde_json::from_str::<Value>(&body) else {
        return scim_error(AxStatus::BAD_REQUEST, "invalidSyntax");
    };
    let mut f = fake.0.lock().unwrap();
    let user_name = v["userName"].as_str().unwrap_or_default().to_string();
    if f.users.iter().any(|u| u.user_name == user_name) {
        return scim_error(AxStatus::CONFLICT, "uniqueness");
    }
    let u = RemoteUser {
        id: uuid::Uuid::new_v4().to_string(),
        external_id: v["externalId"].as_str().unwrap_or_default().to_string(),
        user_name,
        given_name: v["name"]["givenName"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        active: v["active"].as_bool().unwrap_or(true),
    };
    f.users.push(u.clone());
    (AxStatus::CREATED, Json(resource(&u))).into_response()
}

async fn search(
    State(fake): State<FakeScim>,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = fake.gate("GET", "/Users".into(), &headers) {
        return r;
    }
    let filter = q
        .iter()
        .find(|(k, _)| k == "filter")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let (attr, value) = filter
        .split_once(" eq ")
        .map(|(a, v)| (a.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .unwrap_or_default();
    let f = fake.0.lock().unwrap();
    let found: Vec<Value> = f
        .users
        .iter()
        .filter(|u| match attr.as_str() {
            "externalId" => u.external_id == value,
            "userName" => u.user_name == value,
            _ => false,
        })
        .map(resource)
        .collect();
    Json(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": found.len(), "Resources": found})).into_response()
}

async fn update(
    State(fake): State<FakeScim>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(r) = fake.gate("PATCH", format!("/Users/{id}"), &headers) {
        return r;
    }
    let Ok(v) = serde_json::from_str::<Value>(&body) else {
        return scim_error(AxStatus::BAD_REQUEST, "invalidSyntax");
    };
    let mut f = fake.0.lock().unwrap();
    let Some(u) = f.users.iter_mut().find(|u| u.id == id) else {
        return scim_error(AxStatus::NOT_FOUND, "no such user");
    };
    for op in v["Operations"].as_array().cloned().unwrap_or_default() {
        let value = match op["path"].as_str() {
            Some(path) => {
                let mut m = serde_json::Map::new();
                m.insert(path.to_string(), op["value"].clone());
                Value::Object(m)
            }
            None => op["value"].clone(),
        };
        if let Some(a) = value["active"].as_bool() {
            u.active = a;
        }
        if let Some(n) = value["userName"].as_str() {
            u.user_name = n.to_string();
        }
        if let Some(g) = value["name"]["givenName"].as_str() {
            u.given_name = g.to_string();
        }
    }
    Json(resource(u)).into_response()
}

/// Creates an app that provisions to `base_url`.
async fn provisioned_app(s: &TestServer, label: &str, base_url: &str) -> String {
    let mut body = oidc_app_body(label);
    body["provisioning"] = json!({"scim": {"baseUrl": base_url, "token": TOKEN}});
    let (status, app) = s.post("/api/v1/apps", body).await;
    assert_eq!(status, StatusCode::OK, "{app}");
    id(&app)
}

async fn assign(s: &TestServer, app: &str, user: &str) {
    let (status, body) = s
        .post(&format!("/api/v1/apps/{app}/users"), json!({"id": user}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// The assignment once its provisioning state is `state` (polled).
async fn link_in_state(s: &TestServer, app: &str, user: &str, state: &str) -> Value {
    wait_for(&format!("link {app}/{user} in {state}"), WAIT, || async {
        let (status, body) = s.get(&format!("/api/v1/apps/{app}/users/{user}")).await;
        (status == StatusCode::OK && body["provisioning"]["state"] == state).then_some(body)
    })
    .await
}

#[tokio::test]
async fn assigning_creates_the_user_in_the_app_and_lifecycle_follows() {
    on_every_backend(async |s| {
        let (fake, base) = FakeScim::start().await;
        let app = provisioned_app(s, "Vault", &base).await;
        let user = create_user(s, "ada@example.com").await;
        let uid = id(&user);

        assign(s, &app, &uid).await;
        let linked = link_in_state(s, &app, &uid, "SYNCED").await;
        let remote = fake.by_external_id(&uid).expect("created with externalId");
        assert_eq!(remote.user_name, "ada@example.com");
        assert!(remote.active);
        assert_eq!(linked["scope"], "USER");
        assert_eq!(linked["provisioning"]["remoteId"], remote.id.as_str());
        assert_eq!(linked["provisioning"]["desired"], "ACTIVE");
        assert_eq!(linked["provisioning"]["lastStatus"], 201);
        let push = one_event(s, "application.provision.user.push", &uid).await;
        assert_eq!(push["outcome"]["result"], "SUCCESS");
        assert_eq!(push["debugContext"]["debugData"]["httpStatus"], 201);
        assert_eq!(push["debugContext"]["debugData"]["operation"], "create");
        assert!(
            push["target"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["id"] == app.as_str())
        );

        // A profile change is PATCHed to the same remote user.
        let patches = fake.count("PATCH");
        let (status, body) = s
            .post(
                &format!("/api/v1/users/{uid}"),
                json!({"profile": {"firstName": "Augusta"}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        wait_for("the new name in the app", WAIT, || async {
            (fake.by_external_id(&uid)?.given_name == "Augusta").then_some(())
        })
        .await;
        assert!(fake.count("PATCH") > patches);
        link_in_state(s, &app, &uid, "SYNCED").await;

        // Deactivating the user deactivates them in the app.
        let (status, body) = s
            .post(
                &format!("/api/v1/users/{uid}/lifecycle/deactivate"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let gone = link_in_state(s, &app, &uid, "DEACTIVATED").await;
        assert_eq!(gone["provisioning"]["desired"], "INACTIVE");
        assert!(!fake.by_external_id(&uid).unwrap().active);
        let deact = one_event(s, "application.provision.user.deactivate", &uid).await;
        assert_eq!(deact["outcome"]["result"], "SUCCESS");
        assert_eq!(fake.users(), 1, "never created twice");

        // The token never reaches the System Log.
        let (status, _, log) = get_with(s, "/api/v1/logs", &[("limit", "1000")]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!log.to_string().contains(TOKEN));
        assert_eq!(fake.0.lock().unwrap().unauthorized, 0);
    })
    .await;
}

#[tokio::test]
async fn group_assignment_unassignment_and_reassignment_keep_the_remote_id() {
    on_every_backend(async |s| {
        let (fake, base) = FakeScim::start().await;
        let app = provisioned_app(s, "Wiki", &base).await;
        let user = create_user(s, "bob@example.com").await;
        let uid = id(&user);
        let group = create_group(s, "Engineering").await;
        let gid = id(&group);
        let (status, body) = s
            .put(&format!("/api/v1/groups/{gid}/users/{uid}"), None)
            .await;
        assert!(status.is_success(), "{body}");

        let (status, body) = s
            .put(&format!("/api/v1/apps/{app}/groups/{gid}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let linked = link_in_state(s, &app, &uid, "SYNCED").await;
        assert_eq!(linked["scope"], "GROUP");
        let remote = fake
            .by_external_id(&uid)
            .expect("created through the group");
        assert_eq!(remote.user_name, "bob@example.com");

        // Leaving the group unassigns: active:false, same remote user.
        let (status, _) = s.delete(&format!("/api/v1/groups/{gid}/users/{uid}")).await;
        assert!(status.is_success());
        let gone = link_in_state(s, &app, &uid, "DEACTIVATED").await;
        assert_eq!(gone["scope"], "NONE");
        assert!(!fake.by_external_id(&uid).unwrap().active);

        // Assigned again directly: reactivated, not created again.
        assign(s, &app, &uid).await;
        let back = link_in_state(s, &app, &uid, "SYNCED").await;
        assert_eq!(back["provisioning"]["remoteId"], remote.id.as_str());
        assert!(fake.by_external_id(&uid).unwrap().active);
        assert_eq!(fake.users(), 1);

        // Direct unassignment deactivates too.
        let (status, _) = s.delete(&format!("/api/v1/apps/{app}/users/{uid}")).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        link_in_state(s, &app, &uid, "DEACTIVATED").await;
        assert!(!fake.by_external_id(&uid).unwrap().active);

        // A user never assigned has no link.
        let other = create_user(s, "carol@example.com").await;
        let (status, body) = s
            .get(&format!("/api/v1/apps/{app}/users/{}", id(&other)))
            .await;
        assert_error((status, &body), StatusCode::NOT_FOUND, "E0000007");
    })
    .await;
}

#[tokio::test]
async fn a_down_endpoint_is_retried_until_it_comes_back() {
    on_every_backend(async |s| {
        let (fake, base) = FakeScim::start().await;
        fake.set_mode(Mode::Unavailable);
        let app = provisioned_app(s, "Flaky", &base).await;
        let user = create_user(s, "dan@example.com").await;
        let uid = id(&user);
        assign(s, &app, &uid).await;

        let failures = wait_for("two failed attempts", WAIT, || async {
            let evs = events(s, "application.provision.user.push", &uid).await;
            (evs.len() >= 2).then_some(evs)
        })
        .await;
        for ev in &failures {
            assert_eq!(ev["outcome"]["result"], "FAILURE", "{ev}");
            assert_eq!(ev["debugContext"]["debugData"]["httpStatus"], 503);
        }
        let (_, pending) = s.get(&format!("/api/v1/apps/{app}/users/{uid}")).await;
        assert_eq!(pending["provisioning"]["state"], "PENDING");
        assert_eq!(pending["provisioning"]["lastStatus"], 503);

        fake.set_mode(Mode::Up);
        let linked = link_in_state(s, &app, &uid, "SYNCED").await;
        assert!(linked["provisioning"]["lastError"].is_null());
        let remote = fake
            .by_external_id(&uid)
            .expect("created once it came back");
        assert_eq!(linked["provisioning"]["remoteId"], remote.id.as_str());
        let evs = events(s, "application.provision.user.push", &uid).await;
        assert_eq!(evs.last().unwrap()["outcome"]["result"], "SUCCESS");
        assert!(evs.iter().any(|e| e["outcome"]["result"] == "FAILURE"));
    })
    .await;
}

#[tokio::test]
async fn a_rejected_push_is_an_error_and_resync_pushes_again() {
    on_every_backend(async |s| {
        let (fake, base) = FakeScim::start().await;
        fake.set_mode(Mode::BadRequest);
        let app = provisioned_app(s, "Strict", &base).await;
        let user = create_user(s, "eve@example.com").await;
        let uid = id(&user);
        assign(s, &app, &uid).await;

        let failed = link_in_state(s, &app, &uid, "ERROR").await;
        assert_eq!(failed["provisioning"]["lastStatus"], 400);
        assert!(
            failed["provisioning"]["lastError"]
                .as_str()
                .unwrap()
                .contains("400")
        );
        assert!(failed["provisioning"]["remoteId"].is_null());
        let ev = one_event(s, "application.provision.user.push", &uid).await;
        assert_eq!(ev["outcome"]["result"], "FAILURE");

        fake.set_mode(Mode::Up);
        let (status, queued) = s
            .post(&format!("/api/v1/apps/{app}/users/{uid}/resync"), json!({}))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
        assert_eq!(queued["provisioning"]["state"], "PENDING");
        link_in_state(s, &app, &uid, "SYNCED").await;
        assert!(fake.by_external_id(&uid).is_some());

        // A resync of a synced user re-pushes (PATCH) it.
        let patches = fake.count("PATCH");
        let (status, _) = s
            .post(&format!("/api/v1/apps/{app}/users/{uid}/resync"), json!({}))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        wait_for("the resync PATCH", WAIT, || async {
            (fake.count("PATCH") > patches).then_some(())
        })
        .await;
        link_in_state(s, &app, &uid, "SYNCED").await;

        // An app without provisioning cannot resync.
        let plain = create_app(s, "Plain").await;
        assign(s, &id(&plain), &uid).await;
        let (status, body) = s
            .post(
                &format!("/api/v1/apps/{}/users/{uid}/resync", id(&plain)),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        let (status, plain_link) = s
            .get(&format!("/api/v1/apps/{}/users/{uid}", id(&plain)))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(plain_link["provisioning"].is_null());
    })
    .await;
}

#[tokio::test]
async fn a_user_is_deleted_only_after_the_app_deactivated_them() {
    on_every_backend(async |s| {
        let (fake, base) = FakeScim::start().await;
        let app = provisioned_app(s, "Keeper", &base).await;
        let user = create_user(s, "del@example.com").await;
        let uid = id(&user);
        assign(s, &app, &uid).await;
        link_in_state(s, &app, &uid, "SYNCED").await;

        // The app is down while the person is deactivated: the push waits, so must the delete.
        fake.set_mode(Mode::Unavailable);
        let (status, _) = s
            .post(
                &format!("/api/v1/users/{uid}/lifecycle/deactivate"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = s.delete(&format!("/api/v1/users/{uid}")).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert!(
            body["errorSummary"]
                .as_str()
                .unwrap_or("")
                .contains("Keeper"),
            "{body}"
        );

        fake.set_mode(Mode::Up);
        link_in_state(s, &app, &uid, "DEACTIVATED").await;
        assert!(!fake.by_external_id(&uid).expect("exists remotely").active);
        let (status, body) = s.delete(&format!("/api/v1/users/{uid}")).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    })
    .await;
}
