//! Universal Logout survives `kill -9`: 1,000 app deliveries (100 users × 10 apps) are in flight
//! when `ulo serve` is SIGKILLed; a restarted process on the same SQLite data dir, or a second
//! process on the same PostgreSQL database, finishes them. Every delivery completes, none is
//! lost, and none is sent again after ulo recorded it as succeeded.
//!
//! The apps are one fake server in the test that records every request it receives (the
//! `Idempotency-Key`, which is the delivery job's id, the app, the email in the body and the JWT's
//! `jti`) and answers 204 after 200–500 ms, so that the worker always has deliveries in flight.
//! While the test waits it keeps reading the receipts, and notes for every delivery the first
//! moment a receipt showed it SUCCEEDED.
//!
//! What is asserted, and why it is sound:
//!
//! 1. Nothing lost: every receipt ends COMPLETED with all 10 app targets SUCCEEDED, every delivery
//!    job is DONE (none DEAD, QUEUED or RUNNING), the requests' keys are exactly the receipts'
//!    delivery ids, each key only ever named its own (email, app) pair, the 1,000 pairs are all
//!    there, and the last request of every key was answered 204.
//! 2. Nothing sent after it succeeded: ulo writes a delivery's result into the receipt in the
//!    transaction that marks its job DONE, so when a receipt read shows a target SUCCEEDED, the
//!    job was DONE before that response reached the test. Any request for that key which reaches
//!    the fake app afterwards was sent after ulo had recorded the success: that is the bug the
//!    issue forbids, with no timing margin on our side (the observation is taken when the
//!    response headers arrive, which is after the server read the committed row).
//!    The receipt reads only catch what the test happened to see in time; a delivery recorded
//!    just before the kill could be re-sent unseen. So also: every delivery job's final attempt
//!    count (each claim is one attempt) equals the attempt the receipt recorded as the success,
//!    i.e. no process claimed it again once its success was recorded (the receipt keeps the first
//!    final answer and a DONE job is never claimed), and its key got at most that many requests
//!    (one per claim at most).
//! 3. Every attempt is sent once: all `jti`s are distinct (ulo makes one per attempt).
//! 4. Repeats come only from the kill: a delivery may legitimately go out twice only if the killed
//!    process had sent it but not yet committed its result (at-least-once). Such a first request
//!    was sent before the process died; a second one can only be sent by a process that claimed
//!    the job again, which needs the dead process's lease to expire: at least
//!    `lease − lease/3` ≈ 1.33 s after the kill with `ULO_WORKER_LEASE_SECONDS=2` (the lease is
//!    renewed every lease/3 while an attempt runs). So every request of a key except its last
//!    must have been received before `kill + KILL_GRACE` (1 s, which only has to cover the fake
//!    app reading a request the dead process had already written to the socket), and there are
//!    at most as many repeats as the killed process runs deliveries at once
//!    (`ULO_WORKER_CONCURRENCY`): a job holds its worker slot until its result is committed.
//!    A repeat for any other reason (a live process re-sending, e.g. after losing a lease or
//!    failing to record a result) fails the test too: with nothing but the kill going wrong,
//!    repeats must be confined to what the kill interrupted.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use ulo_core::store::Store;
use ulo_testkit::{Backend, Database, PG_ENV, wait_for};

use crate::procs::{Serve, serve};

const TOKEN: &str = "ulo_cli_test_token_0123456789abcdefgh";
const USERS: usize = 100;
const APPS: usize = 10;
const DELIVERIES: usize = USERS * APPS;
/// Requests the test sends to ulo at once while setting up.
const PARALLEL: usize = 8;
/// How long a request to the dead process may still take to be read by the fake app.
const KILL_GRACE: Duration = Duration::from_secs(1);
const WAIT: Duration = Duration::from_secs(60);

fn env(master_key: &str, concurrency: usize) -> Vec<(&'static str, String)> {
    vec![
        ("ULO_MASTER_KEY", master_key.to_string()),
        ("ULO_BOOTSTRAP_TOKEN", TOKEN.to_string()),
        ("ULO_OUTBOUND_ALLOW_HTTP_LOOPBACK", "1".to_string()),
        ("ULO_WORKER_CONCURRENCY", concurrency.to_string()),
        ("ULO_WORKER_LEASE_SECONDS", "2".to_string()),
    ]
}

/// One request a fake app received.
#[derive(Debug, Clone)]
struct Request {
    key: String,
    app: String,
    email: String,
    jti: String,
    received: Instant,
    /// When the 204 was sent; `None` while held, or when the sender went away first.
    answered: Option<Instant>,
}

/// The fake apps: `POST /apps/{n}` records the request and answers 204 after 200–500 ms.
#[derive(Clone, Default)]
struct FakeApps(Arc<Mutex<Vec<Request>>>);

impl FakeApps {
    async fn start(&self) -> String {
        let app = Router::new()
            .route("/apps/{n}", post(receive))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/apps")
    }

    fn requests(&self) -> Vec<Request> {
        self.0.lock().unwrap().clone()
    }

    /// (received, received but not answered yet).
    fn counts(&self) -> (usize, usize) {
        let r = self.0.lock().unwrap();
        (r.len(), r.iter().filter(|q| q.answered.is_none()).count())
    }
}

async fn receive(
    State(apps): State<FakeApps>,
    Path(app): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let received = Instant::now();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let jti = header("authorization")
        .strip_prefix("Bearer ")
        .and_then(jwt_claims)
        .and_then(|c| c["jti"].as_str().map(str::to_string))
        .unwrap_or_default();
    let email = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b["sub_id"]["email"].as_str().map(str::to_string))
        .unwrap_or_default();
    let i = {
        let mut r = apps.0.lock().unwrap();
        r.push(Request {
            key: header("idempotency-key"),
            app,
            email,
            jti,
            received,
            answered: None,
        });
        r.len() - 1
    };
    tokio::time::sleep(Duration::from_millis(200 + (i as u64 % 7) * 50)).await;
    apps.0.lock().unwrap()[i].answered = Some(Instant::now());
    StatusCode::NO_CONTENT
}

/// The claims of a compact JWT (not verified: the API tests do that).
fn jwt_claims(jwt: &str) -> Option<Value> {
    let payload = jwt.split('.').nth(1)?;
    let mut bytes = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in payload.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    serde_json::from_slice(&bytes).ok()
}

/// The admin API of one `ulo serve`.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    url: String,
}

impl Api {
    fn new(s: &Serve) -> Api {
        Api {
            http: reqwest::Client::new(),
            url: s.url.clone(),
        }
    }

    /// POSTs `body`; panics unless ulo answers 2xx.
    async fn post(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .header("Authorization", format!("SSWS {TOKEN}"))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        assert!(status.is_success(), "POST {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Every receipt, following `Link rel="next"`; also notes in `seen` when each delivery was
    /// first seen SUCCEEDED. `None` when ulo cannot answer (e.g. it was just killed).
    async fn receipts(&self, seen: &Seen) -> Option<Vec<Value>> {
        let mut all = Vec::new();
        let mut path = "/api/v1/logouts?limit=200".to_string();
        loop {
            let r = self
                .http
                .get(format!("{}{path}", self.url))
                .header("Authorization", format!("SSWS {TOKEN}"))
                .send()
                .await
                .ok()?;
            // The receipt was read from committed rows before these headers were sent.
            let at = Instant::now();
            if !r.status().is_success() {
                return None;
            }
            let next = r
                .headers()
                .get_all("link")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .find(|l| l.contains("rel=\"next\""))
                .and_then(|l| Some(l[l.find("/api/v1/logouts")?..l.find('>')?].to_string()));
            let page: Vec<Value> = r.json().await.ok()?;
            {
                let mut seen = seen.lock().unwrap();
                for t in page.iter().flat_map(app_targets) {
                    if t["status"] == "SUCCEEDED"
                        && let Some(key) = t["deliveryId"].as_str()
                    {
                        seen.entry(key.to_string()).or_insert(at);
                    }
                }
            }
            all.extend(page);
            match next {
                Some(p) => path = p,
                None => return Some(all),
            }
        }
    }
}

/// When the test first saw each delivery (by job id) SUCCEEDED in a receipt.
type Seen = Arc<Mutex<HashMap<String, Instant>>>;

fn app_targets(receipt: &Value) -> Vec<&Value> {
    receipt["targets"]
        .as_array()
        .map(|ts| ts.iter().filter(|t| t["type"] == "APP").collect())
        .unwrap_or_default()
}

/// Runs `jobs` with at most `parallel` at once; answers their results in order.
async fn in_parallel<T, F>(parallel: usize, jobs: Vec<F>) -> Vec<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    fn unwrap<T>(r: Result<(usize, T), tokio::task::JoinError>) -> (usize, T) {
        r.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }
    let mut out: Vec<Option<T>> = jobs.iter().map(|_| None).collect();
    let mut set = JoinSet::new();
    for (i, job) in jobs.into_iter().enumerate() {
        if set.len() >= parallel
            && let Some(r) = set.join_next().await
        {
            let (j, v) = unwrap(r);
            out[j] = Some(v);
        }
        set.spawn(async move { (i, job.await) });
    }
    while let Some(r) = set.join_next().await {
        let (j, v) = unwrap(r);
        out[j] = Some(v);
    }
    out.into_iter().map(Option::unwrap).collect()
}

/// What the test set up and when it killed.
struct Run {
    /// (user id, email).
    users: Vec<(String, String)>,
    /// App ids; app `n` listens on `/apps/{n}`.
    apps: Vec<String>,
    /// The instant just before SIGKILL was sent.
    kill: Instant,
    /// Requests received when the kill was sent, and how many of them were unanswered.
    at_kill: (usize, usize),
    setup: Duration,
}

/// Creates 10 logout-enabled apps and 100 users assigned to all of them (through `nodes[0]`),
/// starts one ALL_APPS logout per user (through `nodes` in turn), and SIGKILLs `victim` once
/// deliveries are flowing, some are recorded SUCCEEDED and many are still to come.
async fn start_logouts_and_kill(
    victim: &mut Serve,
    nodes: &[Api],
    fake: &FakeApps,
    endpoint: &str,
    seen: &Seen,
) -> Run {
    let started = Instant::now();
    let api = &nodes[0];
    let apps = in_parallel(
        PARALLEL,
        (0..APPS)
            .map(|n| {
                let api = api.clone();
                let body = json!({
                    "label": format!("Durability app {n}"),
                    "type": "oidc",
                    "oidc": {
                        "redirectUris": ["https://app.example.com/cb"],
                        "tokenEndpointAuthMethod": "client_secret_basic"
                    },
                    "logout": {
                        "enabled": true,
                        "protocol": "global-token-revocation",
                        "endpoint": format!("{endpoint}/{n}"),
                        "subjectFormat": "email"
                    }
                });
                async move {
                    let app = api.post("/api/v1/apps", body).await;
                    app["id"].as_str().expect("app id").to_string()
                }
            })
            .collect(),
    )
    .await;
    let users = in_parallel(
        PARALLEL,
        (0..USERS)
            .map(|i| {
                let api = api.clone();
                let email = format!("durable{i}@example.com");
                async move {
                    let body = json!({"profile": {
                        "login": email, "email": email,
                        "firstName": "Durable", "lastName": format!("User{i}")
                    }});
                    let u = api.post("/api/v1/users?activate=true", body).await;
                    (u["id"].as_str().expect("user id").to_string(), email)
                }
            })
            .collect(),
    )
    .await;
    in_parallel(
        PARALLEL,
        users
            .iter()
            .flat_map(|(user, _)| apps.iter().map(move |app| (user.clone(), app.clone())))
            .map(|(user, app)| {
                let api = api.clone();
                async move {
                    api.post(&format!("/api/v1/apps/{app}/users"), json!({"id": user}))
                        .await;
                }
            })
            .collect(),
    )
    .await;
    let setup = started.elapsed();

    let receipts = in_parallel(
        PARALLEL,
        users
            .iter()
            .enumerate()
            .map(|(i, (user, _))| {
                let api = nodes[i % nodes.len()].clone();
                let path = format!("/api/v1/users/{user}/logout");
                async move { api.post(&path, json!({"scope": "ALL_APPS"})).await }
            })
            .collect(),
    )
    .await;
    for r in &receipts {
        assert_eq!(app_targets(r).len(), APPS, "every app is a target: {r}");
    }

    wait_for("deliveries to be in flight, some recorded", WAIT, || {
        let (api, seen, fake) = (api.clone(), seen.clone(), fake.clone());
        async move {
            api.receipts(&seen).await?;
            let recorded = seen.lock().unwrap().len();
            (fake.counts().0 >= DELIVERIES / 4 && recorded >= DELIVERIES / 10).then_some(())
        }
    })
    .await;
    let at_kill = fake.counts();
    let kill = Instant::now();
    victim.child.kill().await.unwrap();
    assert!(
        at_kill.0 < DELIVERIES * 4 / 5,
        "the kill must land mid-way, but {} requests had been received",
        at_kill.0
    );
    assert!(at_kill.1 > 0, "deliveries must be in flight at the kill");
    Run {
        users,
        apps,
        kill,
        at_kill,
        setup,
    }
}

/// Fails when an app received a delivery after the test had seen it SUCCEEDED in a receipt.
fn none_sent_after_success(fake: &FakeApps, seen: &Seen) {
    let seen = seen.lock().unwrap().clone();
    let after_success: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|q| seen.get(&q.key).is_some_and(|at| q.received > *at))
        .map(|q| {
            let since = q.received - seen[&q.key];
            (q, since)
        })
        .collect();
    assert!(
        after_success.is_empty(),
        "{} requests were sent after their delivery was seen SUCCEEDED \
         (request, how long after): {after_success:#?}",
        after_success.len()
    );
}

/// Waits until every logout is final and every delivery job DONE, then checks the requests.
async fn finish_and_check(
    api: &Api,
    store: &dyn Store,
    fake: &FakeApps,
    seen: &Seen,
    run: &Run,
    killed_concurrency: usize,
) {
    let receipts = wait_for("every logout to finish", WAIT, || {
        let (api, seen, fake) = (api.clone(), seen.clone(), fake.clone());
        async move {
            let all = api.receipts(&seen).await?;
            none_sent_after_success(&fake, &seen);
            (all.len() == USERS && all.iter().all(|r| r["status"] != "IN_PROGRESS")).then_some(all)
        }
    })
    .await;
    let jobs = wait_for("every delivery job to be done", WAIT, || async {
        none_sent_after_success(fake, seen);
        let c = store
            .read()
            .await
            .ok()?
            .count_jobs(Some(ulo_core::logout::DELIVER_JOB))
            .await
            .ok()?;
        (c.queued == 0 && c.running == 0).then_some(c)
    })
    .await;
    assert_eq!(
        (jobs.done, jobs.dead),
        (DELIVERIES as i64, 0),
        "every delivery job is DONE, none DEAD: {jobs:?}"
    );
    let finished = run.kill.elapsed();

    // 1. Nothing lost: the receipts say every delivery succeeded, and the apps got them all.
    let email_of: HashMap<&str, &str> = run
        .users
        .iter()
        .map(|(id, email)| (id.as_str(), email.as_str()))
        .collect();
    let app_of: HashMap<&str, String> = run
        .apps
        .iter()
        .enumerate()
        .map(|(n, id)| (id.as_str(), n.to_string()))
        .collect();
    // delivery id → (email, app n)
    let mut expected: HashMap<String, (String, String)> = HashMap::new();
    // delivery id → the attempt the receipt recorded as the success
    let mut recorded_attempt: HashMap<String, i64> = HashMap::new();
    for r in &receipts {
        assert_eq!(r["status"], "COMPLETED", "{r:#}");
        let email = email_of[r["userId"].as_str().expect("userId")];
        for t in app_targets(r) {
            assert_eq!(t["status"], "SUCCEEDED", "{t:#}");
            let key = t["deliveryId"].as_str().expect("deliveryId").to_string();
            let app = app_of[t["id"].as_str().expect("app id")].clone();
            recorded_attempt.insert(key.clone(), t["attempts"].as_i64().expect("attempts"));
            assert!(
                expected.insert(key, (email.to_string(), app)).is_none(),
                "one job per delivery"
            );
        }
    }
    let pairs: HashSet<&(String, String)> = expected.values().collect();
    assert_eq!(expected.len(), DELIVERIES);
    assert_eq!(
        pairs.len(),
        DELIVERIES,
        "every (user, app) pair is a target"
    );

    let requests = fake.requests();
    let mut by_key: HashMap<&str, Vec<&Request>> = HashMap::new();
    for q in &requests {
        by_key.entry(q.key.as_str()).or_default().push(q);
    }
    let keys: HashSet<&str> = by_key.keys().copied().collect();
    let expected_keys: HashSet<&str> = expected.keys().map(String::as_str).collect();
    assert_eq!(
        keys, expected_keys,
        "the apps got every delivery, and nothing else"
    );
    for (key, qs) in &mut by_key {
        qs.sort_by_key(|q| q.received);
        let (email, app) = &expected[*key];
        for q in qs.iter() {
            assert_eq!((&q.email, &q.app), (email, app), "{q:?}");
        }
        let last = qs.last().expect("one request at least");
        assert!(last.answered.is_some(), "the delivery was answered: {qs:?}");
    }

    // 2. Nothing sent after ulo had recorded it SUCCEEDED.
    none_sent_after_success(fake, seen);
    let seen = seen.lock().unwrap().clone();

    // ... nor claimed again after it, and never more requests than claims.
    let mut tx = store.read().await.unwrap();
    for (key, recorded) in &recorded_attempt {
        let job = tx
            .get_job(key.parse().expect("a job id"))
            .await
            .unwrap()
            .expect("the delivery job exists");
        let sent = by_key[key.as_str()].len() as i64;
        assert!(
            job.attempts == *recorded && sent <= job.attempts,
            "delivery {key}: the receipt recorded attempt {recorded} as the success, the job \
             was claimed {} times, the app got {sent} requests: {:#?}",
            job.attempts,
            by_key[key.as_str()]
        );
    }
    drop(tx);

    // 3. Every attempt goes out once.
    let jtis: HashSet<&str> = requests.iter().map(|q| q.jti.as_str()).collect();
    assert!(!jtis.contains(""), "every request carries a jti");
    assert_eq!(jtis.len(), requests.len(), "a jti was sent twice");

    // 4. Repeats: only what the killed process had in flight.
    let repeated: Vec<&Vec<&Request>> = by_key.values().filter(|qs| qs.len() > 1).collect();
    let repeats: usize = repeated.iter().map(|qs| qs.len() - 1).sum();
    let late: Vec<_> = repeated
        .iter()
        .filter(|qs| {
            qs[..qs.len() - 1]
                .iter()
                .any(|q| q.received >= run.kill + KILL_GRACE)
        })
        .collect();
    assert!(
        late.is_empty(),
        "deliveries repeated that were not in flight at the kill: {late:#?}"
    );
    assert!(
        repeats <= killed_concurrency,
        "{repeats} repeated deliveries, more than the {killed_concurrency} the killed process \
         could have in flight: {repeated:#?}"
    );
    eprintln!(
        "setup {:?}; at the kill {} requests received, {} unanswered, {} seen SUCCEEDED; \
         {} requests in all, {} repeated deliveries; all done {:?} after the kill",
        run.setup,
        run.at_kill.0,
        run.at_kill.1,
        seen.values().filter(|at| **at < run.kill).count(),
        requests.len(),
        repeats,
        finished,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_kill_9_mid_logouts_then_restart_delivers_each_once() {
    const CONCURRENCY: usize = 32;
    let dir = tempfile::tempdir().unwrap();
    let env = env(&ulo_jose::MasterKey::generate().to_base64(), CONCURRENCY);
    let fake = FakeApps::default();
    let endpoint = fake.start().await;
    let seen = Seen::default();
    let mut a = serve(dir.path(), &env).await.unwrap();
    let nodes = [Api::new(&a)];
    let run = start_logouts_and_kill(&mut a, &nodes, &fake, &endpoint, &seen).await;

    let b = serve(dir.path(), &env).await.unwrap();
    let store = ulo_store::open(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("ulo.db").display()
    ))
    .await
    .unwrap();
    finish_and_check(
        &Api::new(&b),
        store.as_ref(),
        &fake,
        &seen,
        &run,
        CONCURRENCY,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_kill_9_of_one_node_mid_logouts_the_other_delivers_each_once() {
    const CONCURRENCY: usize = 16;
    if std::env::var(PG_ENV).is_err() {
        eprintln!("skipped: set {PG_ENV} to run the multi-node test");
        return;
    }
    let db = Database::new(Backend::Postgres).await.unwrap();
    let mut env = env(&ulo_jose::MasterKey::generate().to_base64(), CONCURRENCY);
    env.push(("ULO_DATABASE_URL", db.url.clone()));
    let fake = FakeApps::default();
    let endpoint = fake.start().await;
    let seen = Seen::default();
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let mut a = serve(dir_a.path(), &env).await.unwrap();
    let b = serve(dir_b.path(), &env).await.unwrap();
    let nodes = [Api::new(&a), Api::new(&b)];
    let run = start_logouts_and_kill(&mut a, &nodes, &fake, &endpoint, &seen).await;

    let store = db.open().await.unwrap();
    finish_and_check(&nodes[1], store.as_ref(), &fake, &seen, &run, CONCURRENCY).await;
    db.cleanup().await;
}
