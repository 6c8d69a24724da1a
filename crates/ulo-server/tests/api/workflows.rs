//! Workflows: CRUD, the secret shown once, URL rules, roles, and delivery of signed calls to a
//! real receiver (retries and a deadline), each attempt in the System Log.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxStatus};
use axum::routing::post;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ulo_core::clock::ManualClock;
use ulo_testkit::{Database, TestServer, backends, wait_for};

use crate::support::*;

/// One call the receiver got.
#[derive(Clone)]
struct Call {
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Default)]
struct Inbox {
    /// Statuses to answer, in order; the last one repeats (200 when empty).
    script: Vec<u16>,
    calls: Vec<Call>,
}

/// A workflow receiver on a loopback port.
#[derive(Clone)]
struct Receiver(Arc<Mutex<Inbox>>);

impl Receiver {
    async fn start(script: &[u16]) -> (Receiver, String) {
        let r = Receiver(Arc::new(Mutex::new(Inbox {
            script: script.to_vec(),
            calls: Vec::new(),
        })));
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (r, format!("http://{addr}/hook"))
    }

    fn calls(&self) -> Vec<Call> {
        self.0.lock().unwrap().calls.clone()
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> AxStatus {
    let mut inbox = r.0.lock().unwrap();
    inbox.calls.push(Call { headers, body });
    let n = inbox.calls.len();
    let status = inbox
        .script
        .get((n - 1).min(inbox.script.len().saturating_sub(1)))
        .copied()
        .unwrap_or(200);
    AxStatus::from_u16(status).unwrap()
}

/// Whether `call` is signed with `secret` (the receiver's check).
fn signed_with(call: &Call, secret: &str) -> bool {
    let ts: i64 = call.headers["ulo-workflow-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let sig = call.headers["ulo-workflow-signature"].to_str().unwrap();
    let hex = sig.strip_prefix("v1=").expect("v1=<hex>");
    ulo_http::signature::matches(secret, ts, hex, &call.body)
}

async fn create(s: &TestServer, name: &str, url: &str) -> Value {
    let (status, w) = s
        .post("/api/v1/workflows", json!({"name": name, "url": url}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{w}");
    w
}

/// The `workflow.run.delivery` events of a workflow, oldest first, once there are `n`.
async fn deliveries(s: &TestServer, wid: &str, n: usize) -> Vec<Value> {
    wait_for(
        &format!("{n} workflow.run.delivery events"),
        Duration::from_secs(20),
        || async {
            let found = events(s, "workflow.run.delivery", wid).await;
            (found.len() >= n).then_some(found)
        },
    )
    .await
}

#[tokio::test]
async fn workflows_are_created_read_changed_and_deleted_with_the_secret_shown_once() {
    on_every_backend(async |s| {
        let w = create(s, "Lock account", "https://hooks.example.com/lock").await;
        let wid = id(&w);
        assert_eq!(w["status"], "ACTIVE");
        assert_eq!(w["url"], "https://hooks.example.com/lock");
        let secret = w["secret"].as_str().unwrap().to_string();
        assert!(secret.len() >= 40, "{secret}");

        // Never again: not on a read, a list or a change.
        let (status, got) = s.get(&format!("/api/v1/workflows/{wid}")).await;
        assert_eq!(status, StatusCode::OK, "{got}");
        assert!(got.get("secret").is_none(), "{got}");
        assert_eq!(got["name"], "Lock account");
        let (status, list) = s.get("/api/v1/workflows").await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert!(list[0].get("secret").is_none(), "{list}");
        assert!(!list.to_string().contains(&secret));

        let (status, changed) = s
            .put(
                &format!("/api/v1/workflows/{wid}"),
                Some(json!({"name": "Lock it"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!(changed["name"], "Lock it");
        assert_eq!(changed["url"], "https://hooks.example.com/lock");
        assert!(changed.get("secret").is_none());

        let (status, off) = s
            .post(
                &format!("/api/v1/workflows/{wid}/lifecycle/deactivate"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{off}");
        assert_eq!(off["status"], "INACTIVE");
        let (status, on) = s
            .post(
                &format!("/api/v1/workflows/{wid}/lifecycle/activate"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{on}");
        assert_eq!(on["status"], "ACTIVE");

        let (status, rotated) = s
            .post(&format!("/api/v1/workflows/{wid}/secret"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{rotated}");
        let new_secret = rotated["secret"].as_str().unwrap();
        assert_ne!(new_secret, secret);
        let (_, got) = s.get(&format!("/api/v1/workflows/{wid}")).await;
        assert!(got.get("secret").is_none(), "{got}");

        one_event(s, "workflow.lifecycle.create", &wid).await;
        one_event(s, "workflow.lifecycle.update", &wid).await;
        one_event(s, "workflow.secret.rotate", &wid).await;

        let (status, _) = s
            .call(Method::DELETE, &format!("/api/v1/workflows/{wid}"), None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, body) = s.get(&format!("/api/v1/workflows/{wid}")).await;
        assert_error((status, &body), StatusCode::NOT_FOUND, "E0000007");
        one_event(s, "workflow.lifecycle.delete", &wid).await;
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field() {
    on_sqlite(async |s| {
        for (body, field) in [
            (
                json!({"name": "x", "url": "http://hooks.example.com/x"}),
                "url",
            ),
            (json!({"name": "x", "url": "not a url"}), "url"),
            (
                json!({"name": "x", "url": "https://169.254.169.254/x"}),
                "url",
            ),
            (
                json!({"name": "", "url": "https://hooks.example.com/x"}),
                "name",
            ),
            (json!({"url": "https://hooks.example.com/x"}), "name"),
            (json!({"name": "x"}), "url"),
        ] {
            let (status, err) = s.post("/api/v1/workflows", body.clone()).await;
            assert_error((status, &err), StatusCode::BAD_REQUEST, "E0000001");
            assert!(
                causes(&err)
                    .iter()
                    .any(|c| c.starts_with(&format!("{field}:"))),
                "{body} -> {err}"
            );
        }
        let (status, list) = s.get("/api/v1/workflows").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list, json!([]), "nothing half-written");
        let (status, err) = s
            .post(
                "/api/v1/workflows",
                json!({"name": "x", "url": "https://a.example.com", "extra": 1}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        let (status, err) = s.get("/api/v1/workflows/not-a-uuid").await;
        assert_error((status, &err), StatusCode::NOT_FOUND, "E0000007");
    })
    .await;
}

#[tokio::test]
async fn read_only_admins_read_and_a_logout_only_token_changes_nothing() {
    on_every_backend(async |s| {
        let w = create(s, "Notify", "https://hooks.example.com/n").await;
        let wid = id(&w);
        let (_, ro) = read_only_admin(s, "ro@example.com").await;
        let (status, got) = s
            .call_as(&ro, Method::GET, &format!("/api/v1/workflows/{wid}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{got}");
        assert!(got.get("secret").is_none());
        let (status, _) = s.call_as(&ro, Method::GET, "/api/v1/workflows", None).await;
        assert_eq!(status, StatusCode::OK);
        for (method, path, body) in [
            (
                Method::POST,
                "/api/v1/workflows".to_string(),
                Some(json!({"name": "x", "url": "https://a.example.com"})),
            ),
            (
                Method::PUT,
                format!("/api/v1/workflows/{wid}"),
                Some(json!({"name": "y"})),
            ),
            (
                Method::POST,
                format!("/api/v1/workflows/{wid}/secret"),
                None,
            ),
            (Method::POST, format!("/api/v1/workflows/{wid}/test"), None),
            (
                Method::POST,
                format!("/api/v1/workflows/{wid}/lifecycle/deactivate"),
                None,
            ),
            (Method::DELETE, format!("/api/v1/workflows/{wid}"), None),
        ] {
            let (status, err) = s.call_as(&ro, method.clone(), &path, body.clone()).await;
            assert_error((status, &err), StatusCode::FORBIDDEN, "E0000006");
        }

        let (status, t) = s
            .post(
                "/api/v1/api-tokens",
                json!({"name": "logout only", "scopes": ["ulo.universalLogout.manage"]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{t}");
        let scoped = t["token"].as_str().unwrap().to_string();
        let (status, _) = s
            .call_as(
                &scoped,
                Method::POST,
                "/api/v1/workflows",
                Some(json!({"name": "x", "url": "https://a.example.com"})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = s
            .call_as(
                &scoped,
                Method::POST,
                &format!("/api/v1/workflows/{wid}/secret"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (_, list) = s.get("/api/v1/workflows").await;
        assert_eq!(list.as_array().unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_test_call_is_signed_with_the_secret_from_the_create_answer() {
    on_every_backend(async |s| {
        let (receiver, url) = Receiver::start(&[200]).await;
        let w = create(s, "Receiver check", &url).await;
        let wid = id(&w);
        let secret = w["secret"].as_str().unwrap().to_string();
        let (status, queued) = s
            .post(&format!("/api/v1/workflows/{wid}/test"), json!({}))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{queued}");

        let ev = deliveries(s, &wid, 1).await;
        assert_eq!(ev[0]["outcome"]["result"], "SUCCESS", "{}", ev[0]);
        assert_eq!(ev[0]["debugContext"]["debugData"]["httpStatus"], 200);
        let calls = receiver.calls();
        assert_eq!(calls.len(), 1);
        assert!(
            signed_with(&calls[0], &secret),
            "signed with the shown secret"
        );
        assert!(!signed_with(&calls[0], "some other secret"));
        let body: Value = serde_json::from_slice(&calls[0].body).unwrap();
        assert_eq!(body["workflowId"], wid.as_str());
        assert_eq!(body["eventType"], "workflow.test");
        assert!(body["transactionId"].is_string(), "{body}");

        // After a rotation only the new secret verifies.
        let (_, rotated) = s
            .post(&format!("/api/v1/workflows/{wid}/secret"), json!({}))
            .await;
        let new_secret = rotated["secret"].as_str().unwrap().to_string();
        s.post(&format!("/api/v1/workflows/{wid}/test"), json!({}))
            .await;
        deliveries(s, &wid, 2).await;
        let calls = receiver.calls();
        assert!(signed_with(&calls[1], &new_secret));
        assert!(!signed_with(&calls[1], &secret));
    })
    .await;
}

/// Runs `test` on every backend against a server whose clock the test moves.
async fn with_manual_clock(test: impl AsyncFn(&TestServer, &ManualClock)) {
    for backend in backends() {
        let db = Database::new(backend).await.expect("database");
        let clock = Arc::new(ManualClock::new(ulo_testkit::now()));
        let s = TestServer::start_on(db, clock.clone())
            .await
            .expect("start");
        test(&s, &clock).await;
        s.stop().await;
    }
}

#[tokio::test]
async fn a_failed_call_is_retried_and_each_attempt_logged() {
    with_manual_clock(async |s, clock| {
        let (receiver, url) = Receiver::start(&[500, 200]).await;
        let w = create(s, "Flaky", &url).await;
        let wid = id(&w);
        let secret = w["secret"].as_str().unwrap().to_string();
        s.post(&format!("/api/v1/workflows/{wid}/test"), json!({}))
            .await;
        let first = deliveries(s, &wid, 1).await;
        assert_eq!(first[0]["outcome"]["result"], "FAILURE", "{}", first[0]);
        assert_eq!(first[0]["debugContext"]["debugData"]["httpStatus"], 500);
        assert_eq!(first[0]["debugContext"]["debugData"]["willRetry"], true);
        // The retry is due after its backoff.
        clock.advance(time::Duration::minutes(10));
        let both = deliveries(s, &wid, 2).await;
        assert_eq!(both[1]["outcome"]["result"], "SUCCESS", "{}", both[1]);
        assert_eq!(both[1]["debugContext"]["debugData"]["httpStatus"], 200);
        let calls = receiver.calls();
        assert_eq!(calls.len(), 2);
        assert!(calls.iter().all(|c| signed_with(c, &secret)));
    })
    .await;
}

#[tokio::test]
async fn a_call_past_its_deadline_fails_and_is_logged() {
    with_manual_clock(async |s, clock| {
        let (_receiver, url) = Receiver::start(&[503]).await;
        let w = create(s, "Down", &url).await;
        let wid = id(&w);
        s.post(&format!("/api/v1/workflows/{wid}/test"), json!({}))
            .await;
        let first = deliveries(s, &wid, 1).await;
        assert_eq!(first[0]["outcome"]["result"], "FAILURE");
        // Past the one-hour deadline: the next claim gives up, with one last event.
        clock.advance(time::Duration::hours(2));
        let all = wait_for(
            "the deadline's FAILURE",
            Duration::from_secs(20),
            || async {
                let found = events(s, "workflow.run.delivery", &wid).await;
                found
                    .iter()
                    .any(|e| e["debugContext"]["debugData"]["willRetry"] == false)
                    .then_some(found)
            },
        )
        .await;
        let last = all.last().unwrap();
        assert_eq!(last["outcome"]["result"], "FAILURE", "{last}");
    })
    .await;
}

/// The Entity Risk Policy's RUN_WORKFLOW: a detection that matches the rule sends the workflow a
/// signed call naming the person, the rule and the level, under the detection's transaction id.
#[tokio::test]
async fn a_rule_that_runs_a_workflow_sends_it_a_signed_call_on_a_detection() {
    on_every_backend(async |s| {
        let (receiver, url) = Receiver::start(&[200]).await;
        let w = create(s, "Risk responder", &url).await;
        let wid = id(&w);
        let secret = w["secret"].as_str().unwrap().to_string();
        let (status, _, list) = get_with(s, "/api/v1/policies", &[("type", "ENTITY_RISK")]).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let pid = id(&list[0]);
        let (status, rule) = s
            .post(
                &format!("/api/v1/policies/{pid}/rules"),
                json!({"name": "Call the responder", "priority": 1,
                    "actions": {"entityRisk": {"actions": [
                        {"action": "RUN_WORKFLOW", "workflow": {"id": wid}}]}}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{rule}");
        let uid = id(&create_user(s, "grace@example.com").await);
        let (status, risk) = s
            .put(
                &format!("/api/v1/users/{uid}/risk"),
                Some(json!({"riskLevel": "HIGH", "reason": "token seen in a paste"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{risk}");

        let ev = deliveries(s, &wid, 1).await;
        assert_eq!(ev[0]["outcome"]["result"], "SUCCESS", "{}", ev[0]);
        let calls = receiver.calls();
        assert_eq!(calls.len(), 1);
        assert!(signed_with(&calls[0], &secret));
        let body: Value = serde_json::from_slice(&calls[0].body).unwrap();
        assert_eq!(body["workflowId"], wid.as_str());
        assert_eq!(body["user"]["id"], uid.as_str(), "{body}");
        assert_eq!(body["user"]["login"], "grace@example.com", "{body}");
        assert_eq!(body["rule"]["name"], "Call the responder", "{body}");
        assert_eq!(body["level"], "HIGH", "{body}");
        let action = events(s, "policy.entity_risk.action", &uid).await;
        assert_eq!(action.len(), 1, "{action:?}");
        assert_eq!(action[0]["outcome"]["result"], "SUCCESS", "{}", action[0]);
        assert_eq!(
            body["transactionId"], action[0]["transaction"]["id"],
            "{body}"
        );
    })
    .await;
}
