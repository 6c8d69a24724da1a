//! Recording results when a batch fails: the worker falls back to recording each attempt on its
//! own, and what each attempt learned (the app's HTTP status, the id a SCIM app gave the user,
//! "still pending" for a polled Shared Signals logout) must be recorded exactly as the batch
//! would have recorded it.
//!
//! A gate holds every recording transaction until every claimed attempt has run, so the
//! attempts finish together and are recorded in batches: on SQLite (one writer) the first to
//! finish alone and then all the others in one batch; on PostgreSQL (four writers) the first
//! four alone and the others together. A job kind that finishes last fails its part of the
//! first transaction that holds more than one attempt, so that batch rolls back and the
//! worker falls back. The same scenario without the failure gives the outcomes to compare.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use axum::Json;
use axum::Router;
use axum::http::StatusCode as AxStatus;
use axum::routing::post;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::Notify;
use ulo_core::app::OutboundPolicy;
use ulo_core::clock::Clock;
use ulo_core::ids::DeviceId;
use ulo_core::job::{Job, Lease, NewJob};
use ulo_core::store::{CommandWatch, Store, StoreError, StoreTx};
use ulo_delivery::logout_delivery::LogoutDelivery;
use ulo_delivery::scim_push::ScimPush;
use ulo_delivery::ssf::SsfTransmitter;
use ulo_delivery::{Attempt, Finished, JobKind, Ran, Worker, WorkerConfig};
use ulo_server::clock::SystemClock;
use ulo_testkit::{Backend, Database, TestServer, backends};

use crate::endpoint::Endpoint;

const SESSION_REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
const FAIL_ONCE: &str = "zz.test.fail-once";
/// The kinds whose attempts the gate counts.
const COUNTED: [&str; 4] = [
    ulo_delivery::logout_delivery::KIND,
    ulo_delivery::scim_push::KIND,
    ulo_delivery::ssf::KIND,
    FAIL_ONCE,
];
const OUTBOUND: OutboundPolicy = OutboundPolicy {
    allow_http_loopback: true,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_batch_records_each_attempt_as_the_batch_would_have() {
    for backend in backends() {
        let batch = scenario(backend, false).await;
        let fallback = scenario(backend, true).await;
        // What the attempts learned reached the store (checked on the batch path).
        let targets = batch["receipt"].as_array().unwrap();
        let status = |name: &str| {
            targets
                .iter()
                .find(|t| t["displayName"] == name)
                .unwrap_or_else(|| panic!("no target {name} in {targets:?}"))
                .clone()
        };
        for name in ["GTR 1", "GTR 2"] {
            assert_eq!(status(name)["status"], "SUCCEEDED", "{backend:?}");
            assert_eq!(status(name)["lastHttpStatus"], 204, "{backend:?}");
        }
        for name in ["Poll 1", "Poll 2"] {
            assert_eq!(
                status(name)["status"],
                "PENDING",
                "{backend:?}: a polled SET waits for the receiver"
            );
        }
        for link in batch["links"].as_array().unwrap() {
            assert_eq!(link["state"], "SYNCED", "{backend:?}");
            assert_eq!(link["lastStatus"], 201, "{backend:?}");
            assert!(
                link["remoteId"].as_str().unwrap().starts_with("remote-"),
                "{backend:?}: {link}"
            );
        }
        for part in ["receipt", "links", "events"] {
            assert_eq!(
                fallback[part], batch[part],
                "{backend:?}: the fallback recorded other {part} than the batch"
            );
        }
    }
}

/// Logs a user out of four apps (two answer a Universal Logout request with 204, two poll a
/// Shared Signals stream) and provisions two users to an app that speaks SCIM, runs the jobs
/// with the gate, and answers what was recorded. With `fail`, the first batch of several
/// attempts fails and the worker records them one by one.
async fn scenario(backend: Backend, fail: bool) -> Value {
    let db = Database::new(backend).await.unwrap();
    let s = TestServer::start_configured(db, Arc::new(SystemClock), |o| o.worker_concurrency = 0)
        .await
        .unwrap();
    let gtr = Endpoint::start(vec![], 204, StdDuration::ZERO).await;
    let scim = fake_scim().await;

    let user = create_user(&s, "leaving@example.com").await;
    for n in 1..=2 {
        let app = create_app(&s, &format!("GTR {n}"), "global-token-revocation", &gtr.url).await;
        assign(&s, &app, &user).await;
    }
    for n in 1..=2 {
        let app = create_app(&s, &format!("Poll {n}"), "ssf", "http://127.0.0.1:9/none").await;
        assign(&s, &app, &user).await;
        poll_stream(&s, &app).await;
    }
    let (status, started) = s
        .post(
            &format!("/api/v1/users/{user}/logout"),
            json!({"scope": "ALL_APPS"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    let logout = started["id"].as_str().unwrap().to_string();

    let mut body = app_body("SCIM", None);
    body["provisioning"] = json!({"scim": {"baseUrl": scim, "token": "scim-token-0123456789"}});
    let (status, app) = s.post("/api/v1/apps", body).await;
    assert_eq!(status, StatusCode::OK, "{app}");
    let scim_app = app["id"].as_str().unwrap().to_string();
    let mut provisioned = Vec::new();
    for login in ["ada@example.com", "grace@example.com"] {
        let u = create_user(&s, login).await;
        assign(&s, &scim_app, &u).await;
        provisioned.push(u);
    }

    let store = s.store();
    let now = SystemClock.now();
    let mut tx = store.begin().await.unwrap();
    tx.enqueue_job(&NewJob::new(
        FAIL_ONCE,
        json!({}),
        now,
        time::Duration::hours(1),
    ))
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let gate = Arc::new(Gate::default());
    let fail_once = Arc::new(FailOnce {
        gate: gate.clone(),
        armed: AtomicBool::new(fail),
        failed: AtomicUsize::new(0),
    });
    let worker = worker(&s, store.clone(), gate.clone(), fail_once.clone());
    worker.drain().await.unwrap();
    assert_eq!(
        fail_once.failed.load(Ordering::SeqCst),
        usize::from(fail),
        "{backend:?}: the first batch of several attempts failed (or none, without the failure)"
    );

    let (status, receipt) = s.get(&format!("/api/v1/logouts/{logout}")).await;
    assert_eq!(status, StatusCode::OK, "{receipt}");
    let mut targets: Vec<Value> = receipt["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            json!({
                "displayName": t["displayName"],
                "type": t["type"],
                "status": t["status"],
                "reason": t["reason"],
                "attempts": t["attempts"],
                "lastHttpStatus": t["lastHttpStatus"],
                "lastError": t["lastError"],
                "completed": !t["completedAt"].is_null(),
            })
        })
        .collect();
    targets.sort_by_key(|t| t.to_string());
    let mut links = Vec::new();
    for u in &provisioned {
        let (status, link) = s.get(&format!("/api/v1/apps/{scim_app}/users/{u}")).await;
        assert_eq!(status, StatusCode::OK, "{link}");
        let p = &link["provisioning"];
        links.push(json!({
            "state": p["state"],
            "desired": p["desired"],
            "remoteId": p["remoteId"],
            "lastStatus": p["lastStatus"],
            "lastError": p["lastError"],
        }));
    }
    let (status, log) = s.get("/api/v1/logs?limit=1000").await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let mut events: Vec<Value> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let debug = &e["debugContext"]["debugData"];
            let kept: serde_json::Map<String, Value> = [
                "httpStatus",
                "operation",
                "remoteId",
                "attempt",
                "willRetry",
                "status",
            ]
            .iter()
            .filter_map(|k| debug.get(*k).map(|v| (k.to_string(), v.clone())))
            .collect();
            let mut targets: Vec<String> = e["target"]
                .as_array()
                .map(|ts| {
                    ts.iter()
                        .map(|t| t["displayName"].to_string())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            targets.sort();
            json!({
                "eventType": e["eventType"],
                "result": e["outcome"]["result"],
                "reason": e["outcome"]["reason"],
                "targets": targets,
                "debug": kept,
            })
        })
        .collect();
    events.sort_by_key(|e| e.to_string());
    s.stop().await;
    json!({"receipt": targets, "links": links, "events": events})
}

/// A worker on `store` behind the gate, with the handlers the server registers (each counted
/// by the gate) and the failing kind.
fn worker(s: &TestServer, store: Arc<dyn Store>, gate: Arc<Gate>, fail: Arc<FailOnce>) -> Worker {
    let state = s.running.as_ref().unwrap().state.clone();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let keys = state.clone();
    let ssf_keys = state.clone();
    let ssf = Arc::new(
        SsfTransmitter::new(
            OUTBOUND,
            StdDuration::from_secs(10),
            s.url.clone(),
            Arc::new(move || ssf_keys.keys()),
            store.clone(),
            state.sealer.clone(),
            clock.clone(),
        )
        .unwrap(),
    );
    let logout = LogoutDelivery::new(
        OUTBOUND,
        StdDuration::from_secs(10),
        s.url.clone(),
        Arc::new(move || keys.keys()),
        clock.clone(),
    )
    .unwrap()
    .with_ssf(ssf.clone());
    let scim = ScimPush::new(
        OUTBOUND,
        StdDuration::from_secs(10),
        store.clone(),
        state.sealer.clone(),
    )
    .unwrap();
    let gated: Arc<dyn Store> = Arc::new(Gated {
        inner: store,
        gate: gate.clone(),
    });
    let mut cfg = WorkerConfig::new("recording-test".into());
    cfg.concurrency = 64;
    Worker::new(gated, clock, cfg)
        .register(counted(Arc::new(logout), &gate))
        .register(counted(Arc::new(scim), &gate))
        .register(counted(ssf, &gate))
        .register(fail)
}

fn counted<K>(inner: Arc<K>, gate: &Arc<Gate>) -> Arc<Counted<K>> {
    Arc::new(Counted {
        inner,
        gate: gate.clone(),
    })
}

/// Counts the attempts claimed and those that ran; opens when all claimed ones ran.
#[derive(Default)]
struct Gate {
    claimed: AtomicUsize,
    ran: AtomicUsize,
    changed: Notify,
}

impl Gate {
    fn ran(&self) {
        self.ran.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_waiters();
    }

    /// Waits until all but `others` of the claimed attempts ran.
    async fn wait(&self, others: usize) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.ran.load(Ordering::SeqCst) + others >= self.claimed.load(Ordering::SeqCst) {
                return;
            }
            changed.await;
        }
    }
}

/// A kind whose attempts the gate counts.
struct Counted<K> {
    inner: Arc<K>,
    gate: Arc<Gate>,
}

#[async_trait]
impl<K: JobKind<Queue = dyn Store>> JobKind for Counted<K> {
    const KIND: &'static str = K::KIND;
    type Queue = dyn Store;
    type Payload = K::Payload;
    type Outcome = K::Outcome;

    async fn run(&self, job: &Job, payload: &K::Payload) -> Ran<K::Outcome> {
        let ran = self.inner.run(job, payload).await;
        self.gate.ran();
        ran
    }

    async fn record(
        &self,
        tx: &mut (dyn StoreTx + 'static),
        finished: &[Finished<'_, Self>],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let finished: Vec<Finished<'_, K>> = finished
            .iter()
            .map(|f| Finished {
                job: f.job,
                payload: f.payload,
                attempt: f.attempt,
                outcome: f.outcome,
                result: f.result,
            })
            .collect();
        self.inner.record(tx, &finished, now).await
    }

    fn lock_key(&self, payload: &K::Payload) -> Option<String> {
        self.inner.lock_key(payload)
    }

    fn committed(&self, payload: &K::Payload, outcome: &K::Outcome) {
        self.inner.committed(payload, outcome)
    }
}

/// Finishes after every other claimed attempt, and (when armed) fails its part of the first
/// transaction it is recorded in: the whole batch rolls back.
struct FailOnce {
    gate: Arc<Gate>,
    armed: AtomicBool,
    failed: AtomicUsize,
}

#[async_trait]
impl JobKind for FailOnce {
    const KIND: &'static str = FAIL_ONCE;
    type Queue = dyn Store;
    type Payload = Value;
    type Outcome = ();

    async fn run(&self, _job: &Job, _payload: &Value) -> Ran<()> {
        self.gate.wait(1).await;
        self.gate.ran();
        Attempt::Done.into()
    }

    async fn record(
        &self,
        _tx: &mut (dyn StoreTx + 'static),
        _finished: &[Finished<'_, Self>],
        _now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        if self.armed.swap(false, Ordering::SeqCst) {
            self.failed.fetch_add(1, Ordering::SeqCst);
            return Err(StoreError::Invalid("injected failure".into()));
        }
        Ok(())
    }
}

/// The store, with recording transactions held until every claimed attempt ran.
struct Gated {
    inner: Arc<dyn Store>,
    gate: Arc<Gate>,
}

#[async_trait]
impl Store for Gated {
    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError> {
        self.gate.wait(0).await;
        self.inner.begin().await
    }
    async fn read(&self) -> Result<Box<dyn ulo_core::store::StoreRead>, StoreError> {
        self.inner.read().await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    async fn claim_jobs(
        &self,
        owner: &str,
        limit: u32,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<Vec<Job>, StoreError> {
        let jobs = self
            .inner
            .claim_jobs(owner, limit, now, lease_until)
            .await?;
        // Only attempts of the handlers that count them (another kind would keep the gate shut).
        let counted = jobs.iter().filter(|j| COUNTED.contains(&j.kind.as_str()));
        self.gate
            .claimed
            .fetch_add(counted.count(), Ordering::SeqCst);
        Ok(jobs)
    }
    async fn extend_lease(&self, lease: &Lease, until: OffsetDateTime) -> Result<bool, StoreError> {
        self.inner.extend_lease(lease, until).await
    }
    async fn wait_for_jobs(&self, timeout: StdDuration) {
        self.inner.wait_for_jobs(timeout).await
    }
    async fn watch_device(&self, device: DeviceId) -> Box<dyn CommandWatch> {
        self.inner.watch_device(device).await
    }
    async fn remember_jti(
        &self,
        namespace: &str,
        jti: &str,
        expires: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.inner.remember_jti(namespace, jti, expires, now).await
    }
    async fn purge_jtis(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.inner.purge_jtis(now).await
    }
}

fn app_body(label: &str, logout: Option<(&str, &str)>) -> Value {
    let logout = match logout {
        Some((protocol, endpoint)) => {
            json!({"enabled": true, "protocol": protocol, "endpoint": endpoint, "subjectFormat": "email"})
        }
        None => json!({"enabled": false, "subjectFormat": "email"}),
    };
    json!({
        "label": label,
        "type": "oidc",
        "oidc": {
            "redirectUris": ["https://app.example.com/callback"],
            "tokenEndpointAuthMethod": "client_secret_basic",
        },
        "logout": logout,
    })
}

async fn create_app(s: &TestServer, label: &str, protocol: &str, endpoint: &str) -> String {
    let (status, app) = s
        .post("/api/v1/apps", app_body(label, Some((protocol, endpoint))))
        .await;
    assert_eq!(status, StatusCode::OK, "{app}");
    app["id"].as_str().unwrap().to_string()
}

async fn create_user(s: &TestServer, login: &str) -> String {
    let (status, user) = s
        .post(
            "/api/v1/users?activate=true",
            json!({"profile": {"login": login, "email": login, "firstName": "Test", "lastName": "Person"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    user["id"].as_str().unwrap().to_string()
}

async fn assign(s: &TestServer, app: &str, user: &str) {
    let (status, body) = s
        .post(&format!("/api/v1/apps/{app}/users"), json!({"id": user}))
        .await;
    assert!(status.is_success(), "{body}");
}

/// Has `app`'s receiver create a stream it polls (RFC 8936) for `session-revoked`.
async fn poll_stream(s: &TestServer, app: &str) {
    let (status, c) = s
        .post(&format!("/api/v1/apps/{app}/ssf-credentials"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    let token = c["token"].as_str().unwrap();
    let resp = s
        .http
        .request(Method::POST, format!("{}/ssf/streams", s.url))
        .bearer_auth(token)
        .json(&json!({
            "events_requested": [SESSION_REVOKED],
            "delivery": {"method": "urn:ietf:rfc:8936"},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
}

/// A SCIM app that creates every user it is sent as `remote-{userName}`; answers its base URL.
async fn fake_scim() -> String {
    async fn create(Json(user): Json<Value>) -> (AxStatus, Json<Value>) {
        let name = user["userName"].as_str().unwrap_or_default();
        let mut created = user.clone();
        created["id"] = json!(format!("remote-{name}"));
        (AxStatus::CREATED, Json(created))
    }
    let app = Router::new().route("/scim/v2/Users", post(create));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/scim/v2")
}
