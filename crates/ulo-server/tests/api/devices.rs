//! Device Logout over real HTTP on every backend: agents enrolled with the real agent code (a
//! CSR, a P-256 device key), then requests signed here with that key so each refusal can be
//! provoked exactly — forged, replayed, bound to another request, from an unknown, revoked or
//! too old agent — and commands that expire unacknowledged, or that a Universal Logout naming the
//! desktop-mfa app issues. Also the real agent client on a laptop whose clock is off.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use ulo_agent::client::AgentClient;
use ulo_agent::clock::ServerClock;
use ulo_agent::enroll::{EnrollOptions, enroll};
use ulo_agent::state::{Enrolled, StateDir};
use ulo_core::clock::{Clock, ManualClock};
use ulo_core::device::{AgentVersion, DeviceSettings};
use ulo_jose::{KeyAlg, KeyRing, SigningKey, generate_key};
use ulo_testkit::{Database, TestServer, backends, wait_for};

use crate::support::*;

const WAIT: Duration = Duration::from_secs(30);
const POLL: &str = "/api/v1/agent/poll";

/// An enrolled agent whose requests the test signs itself, with the device key.
pub(crate) struct TestAgent {
    pub(crate) enrolled: Enrolled,
    key: KeyRing,
    /// Its state directory (key, enrollment), for running the real agent.
    dir: tempfile::TempDir,
}

/// A key ring with one ES256 key, `kid` as given, from PKCS#8 DER.
fn ring(kid: &str, der: &[u8]) -> KeyRing {
    let key = SigningKey::from_pkcs8_der(kid.to_string(), KeyAlg::ES256, der).expect("key");
    let public = vec![key.public_jwk()];
    KeyRing::new(vec![key], public).expect("ring")
}

/// A fresh ES256 key that ulo never certified, calling itself `kid`.
fn foreign_key(kid: &str) -> KeyRing {
    ring(kid, &generate_key(KeyAlg::ES256).unwrap().private_pkcs8_der)
}

fn pem_der(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("PEM")
}

fn random_jti() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// Creates an enrollment token (answers its secret).
async fn enrollment_token(s: &TestServer, expires_in: Option<i64>) -> String {
    let body = match expires_in {
        Some(secs) => json!({"expiresInSeconds": secs}),
        None => json!({}),
    };
    let (status, t) = s.post("/api/v1/device-enrollment-tokens", body).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    t["token"].as_str().unwrap().to_string()
}

/// Enrolls with the real agent code, reporting `version`.
async fn try_enroll(s: &TestServer, token: &str, version: &str) -> Result<TestAgent, String> {
    let dir = tempfile::tempdir().unwrap();
    let opts = EnrollOptions {
        server: s.url.clone(),
        token: token.to_string(),
        state_dir: dir.path().to_path_buf(),
        agent_version: version.to_string(),
    };
    let enrolled = enroll(&opts).await.map_err(|e| e.to_string())?;
    let pem = StateDir::open(dir.path()).unwrap().key().unwrap();
    let key = ring(&enrolled.device_id, &pem_der(&pem));
    Ok(TestAgent { enrolled, key, dir })
}

pub(crate) async fn enroll_agent(s: &TestServer) -> TestAgent {
    let token = enrollment_token(s, None).await;
    try_enroll(s, &token, ulo_agent::VERSION)
        .await
        .expect("enroll")
}

impl TestAgent {
    pub(crate) fn id(&self) -> &str {
        &self.enrolled.device_id
    }

    /// The claims of a well-formed request for `method` `path` at `now`.
    fn claims(&self, method: &str, path: &str, now: OffsetDateTime) -> Value {
        let iat = now.unix_timestamp();
        json!({
            "iss": self.id(), "aud": self.enrolled.agent_api, "htm": method, "htu": path,
            "jti": random_jti(), "iat": iat, "exp": iat + 50,
        })
    }

    fn sign(&self, claims: &Value) -> String {
        self.key
            .sign(KeyAlg::ES256, "ulo-agent+jwt", claims)
            .unwrap()
    }

    /// A signed request token for `method` `path` at `now`.
    fn token(&self, method: &str, path: &str, now: OffsetDateTime) -> String {
        self.sign(&self.claims(method, path, now))
    }

    /// Polls at `now` reporting `console_user`.
    pub(crate) async fn poll(
        &self,
        s: &TestServer,
        now: OffsetDateTime,
        console_user: &str,
    ) -> (StatusCode, Value) {
        let token = self.token("POST", POLL, now);
        call(s, POLL, &token, json!({"consoleUser": console_user})).await
    }

    /// Acknowledges `command` at `now`.
    pub(crate) async fn ack(
        &self,
        s: &TestServer,
        command: &str,
        success: bool,
        now: OffsetDateTime,
    ) -> (StatusCode, Value) {
        let path = format!("/api/v1/agent/commands/{command}/ack");
        let token = self.token("POST", &path, now);
        let result = if success { "SUCCESS" } else { "FAILURE" };
        call(
            s,
            &path,
            &token,
            json!({"result": result, "detail": "signed out"}),
        )
        .await
    }
}

/// POSTs `body` to the agent API `path` with `token`.
async fn call(s: &TestServer, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    let (status, _, body) = send(
        anonymous(s, reqwest::Method::POST, path)
            .bearer_auth(token)
            .json(&body),
    )
    .await;
    (status, body)
}

/// Asserts an error answer with `status` whose summary contains `why`.
fn refused(got: (StatusCode, Value), status: StatusCode, why: &str) {
    let (got_status, body) = got;
    assert_eq!(got_status, status, "{body}");
    let summary = body["errorSummary"].as_str().unwrap_or_default();
    assert!(summary.contains(why), "expected {why:?} in {body}");
}

/// Turns the feature on and creates Ada and the desktop-mfa app with Logout on; answers their
/// ids.
pub(crate) async fn set_up(s: &TestServer) -> (String, String) {
    let (status, body) = s
        .post("/api/v1/features/device-logout/enable", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ada = create_user(s, "ada@example.com").await;
    let (status, app) = s
        .post(
            "/api/v1/apps",
            json!({"label": "Managed computers", "type": "desktop-mfa", "logout": {"enabled": true}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{app}");
    (id(&ada), id(&app))
}

/// An agent enrolled and seen with Ada at the console.
pub(crate) async fn ada_agent(s: &TestServer, now: OffsetDateTime) -> TestAgent {
    let agent = enroll_agent(s).await;
    let (status, body) = agent.poll(s, now, "ada").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    agent
}

async fn device(s: &TestServer, id: &str) -> Value {
    let (status, d) = s.get(&format!("/api/v1/devices/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{d}");
    d
}

/// *Log Out All Devices* for `user`; answers the receipt.
async fn log_out_devices(s: &TestServer, user: &str) -> Value {
    let (status, receipt) = s
        .post(&format!("/api/v1/users/{user}/devices/logout"), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{receipt}");
    receipt
}

async fn receipt(s: &TestServer, id: &Value) -> Value {
    let (status, r) = s
        .get(&format!("/api/v1/logouts/{}", id.as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    r
}

async fn final_receipt(s: &TestServer, id: &Value) -> Value {
    wait_for("the receipt to settle", WAIT, || async {
        let r = receipt(s, id).await;
        (r["status"] != "IN_PROGRESS").then_some(r)
    })
    .await
}

/// Runs `test` on every backend against a server whose clock the test moves, configured by
/// `settings`.
async fn with_clock(settings: DeviceSettings, test: impl AsyncFn(&TestServer, &ManualClock)) {
    for backend in backends() {
        let db = Database::new(backend).await.expect("database");
        let clock = Arc::new(ManualClock::new(ulo_testkit::now()));
        let device = settings.clone();
        let s = TestServer::start_configured(db, clock.clone(), move |o| o.device = device)
            .await
            .expect("start");
        let outcome =
            futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(test(&s, &clock))).await;
        s.stop().await;
        if let Err(panic) = outcome {
            eprintln!("the test failed on {backend:?}");
            std::panic::resume_unwind(panic);
        }
    }
}

#[tokio::test]
async fn forged_agent_requests_are_refused() {
    on_every_backend(async |s| {
        set_up(s).await;
        let now = ulo_testkit::now();
        let agent = ada_agent(s, now).await;
        let other = enroll_agent(s).await;
        let seen = device(s, agent.id()).await["lastSeen"].clone();
        let claims = agent.claims("POST", POLL, now);

        // Signed by a key ulo never certified, claiming to be the device.
        let forged = foreign_key(agent.id()).sign(KeyAlg::ES256, "ulo-agent+jwt", &claims);
        let forged = forged.unwrap();
        refused(
            call(s, POLL, &forged, json!({})).await,
            StatusCode::UNAUTHORIZED,
            "the signature or claims do not verify",
        );
        // Another enrolled device, signing with its own key, naming this device.
        let mut as_this = other.claims("POST", POLL, now);
        as_this["iss"] = json!(agent.id());
        refused(
            call(s, POLL, &other.sign(&as_this), json!({})).await,
            StatusCode::UNAUTHORIZED,
            "the signature or claims do not verify",
        );
        // A device ulo does not know.
        let unknown = ulo_core::ids::DeviceId::new().to_string();
        let token = foreign_key(&unknown)
            .sign(KeyAlg::ES256, "ulo-agent+jwt", &claims)
            .unwrap();
        refused(
            call(s, POLL, &token, json!({})).await,
            StatusCode::UNAUTHORIZED,
            "Unknown device",
        );
        // Signed for the poll, sent to acknowledge: the method/path binding refuses it.
        let ack_path = format!(
            "/api/v1/agent/commands/{}/ack",
            ulo_core::ids::DeviceCommandId::new()
        );
        let token = agent.token("POST", POLL, now);
        refused(
            call(s, &ack_path, &token, json!({"result": "SUCCESS"})).await,
            StatusCode::UNAUTHORIZED,
            "htm/htu must name this request",
        );
        let token = agent.token("GET", POLL, now);
        refused(
            call(s, POLL, &token, json!({})).await,
            StatusCode::UNAUTHORIZED,
            "htm/htu must name this request",
        );
        // The binding edited after signing: the signature no longer matches.
        let token = agent.token("POST", POLL, now);
        let tampered = edit_payload(&token, |c| c["htu"] = json!(ack_path));
        refused(
            call(s, &ack_path, &tampered, json!({"result": "SUCCESS"})).await,
            StatusCode::UNAUTHORIZED,
            "the signature or claims do not verify",
        );
        // Another typ, or no token at all.
        let token = agent.key.sign(KeyAlg::ES256, "JWT", &claims).unwrap();
        refused(
            call(s, POLL, &token, json!({})).await,
            StatusCode::UNAUTHORIZED,
            "the signature or claims do not verify",
        );
        let (status, _, body) =
            send(anonymous(s, reqwest::Method::POST, POLL).json(&json!({}))).await;
        refused(
            (status, body),
            StatusCode::UNAUTHORIZED,
            "Authorization: Bearer",
        );
        // None of it counted as the device calling.
        assert_eq!(device(s, agent.id()).await["lastSeen"], seen);
        // The genuine request still works.
        let (status, body) = call(s, POLL, &agent.sign(&claims), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    })
    .await;
}

/// `token` with its payload edited and the original signature kept.
fn edit_payload(token: &str, edit: impl FnOnce(&mut Value)) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let mut claims: Value = serde_json::from_slice(&b64.decode(&parts[1]).unwrap()).unwrap();
    edit(&mut claims);
    parts[1] = b64.encode(serde_json::to_vec(&claims).unwrap());
    parts.join(".")
}

#[tokio::test]
async fn a_replayed_agent_request_is_refused() {
    on_every_backend(async |s| {
        let (ada, _) = set_up(s).await;
        let now = ulo_testkit::now();
        let agent = ada_agent(s, now).await;
        let token = agent.token("POST", POLL, now);
        let (status, body) = call(s, POLL, &token, json!({"consoleUser": "ada"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        refused(
            call(s, POLL, &token, json!({"consoleUser": "ada"})).await,
            StatusCode::UNAUTHORIZED,
            "Replayed agent request",
        );

        // A replayed acknowledgement is refused too, and changes nothing.
        let started = log_out_devices(s, &ada).await;
        let (status, polled) = agent.poll(s, now, "ada").await;
        assert_eq!(status, StatusCode::OK, "{polled}");
        let command = polled["commands"][0]["id"].as_str().unwrap().to_string();
        let path = format!("/api/v1/agent/commands/{command}/ack");
        let ack = agent.token("POST", &path, now);
        let (status, body) = call(s, &path, &ack, json!({"result": "FAILURE"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        refused(
            call(s, &path, &ack, json!({"result": "SUCCESS"})).await,
            StatusCode::UNAUTHORIZED,
            "Replayed agent request",
        );
        let done = final_receipt(s, &started["id"]).await;
        assert_eq!(done["targets"][0]["status"], "FAILED", "{done}");
    })
    .await;
}

#[tokio::test]
async fn polls_that_change_nothing_write_last_seen_once_a_minute() {
    with_clock(DeviceSettings::default(), async |s, clock| {
        set_up(s).await;
        let agent = ada_agent(s, clock.now()).await;
        let first = device(s, agent.id()).await;
        assert_eq!(first["consoleUser"], "ada", "{first}");
        clock.advance(time::Duration::seconds(30));
        let (status, body) = agent.poll(s, clock.now(), "ada").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(device(s, agent.id()).await["lastSeen"], first["lastSeen"]);
        // A changed report is recorded at once, with the call's time.
        let token = agent.token("POST", POLL, clock.now());
        let (status, body) = call(
            s,
            POLL,
            &token,
            json!({"consoleUser": "ada", "osVersion": "14.6"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let changed = device(s, agent.id()).await;
        assert_eq!(changed["osVersion"], "14.6", "{changed}");
        assert_ne!(changed["lastSeen"], first["lastSeen"], "{changed}");
        // Unchanged, but a minute on: last seen moves.
        clock.advance(time::Duration::seconds(61));
        let token = agent.token("POST", POLL, clock.now());
        let (status, body) = call(
            s,
            POLL,
            &token,
            json!({"consoleUser": "ada", "osVersion": "14.6"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let later = device(s, agent.id()).await;
        assert_ne!(later["lastSeen"], changed["lastSeen"], "{later}");
        assert_eq!(
            later["lastSeen"],
            json!(ulo_core::clock::rfc3339(clock.now()))
        );
    })
    .await;
}

#[tokio::test]
async fn a_command_issued_during_a_long_poll_is_answered_at_once() {
    on_every_backend(async |s| {
        let (ada, _) = set_up(s).await;
        let now = ulo_testkit::now();
        let agent = ada_agent(s, now).await;
        let token = agent.token("POST", POLL, now);
        let long_poll = format!("{POLL}?wait=50");
        let started = std::time::Instant::now();
        let (polled, receipt) = tokio::join!(
            call(s, &long_poll, &token, json!({"consoleUser": "ada"})),
            log_out_devices(s, &ada),
        );
        let (status, polled) = polled;
        assert_eq!(status, StatusCode::OK, "{polled}");
        assert_eq!(polled["commands"].as_array().unwrap().len(), 1, "{polled}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "answered before its wait ran out"
        );
        assert_eq!(receipt["targets"][0]["status"], "PENDING", "{receipt}");
        // The same signed poll cannot be replayed to take it again.
        refused(
            call(s, POLL, &token, json!({"consoleUser": "ada"})).await,
            StatusCode::UNAUTHORIZED,
            "Replayed agent request",
        );
    })
    .await;
}

/// Agents on laptops whose clocks are ten minutes off, behind and ahead: a request signed with
/// the laptop's time is refused, but the real agent client corrects its clock from the answer's
/// `Date` and signs again, then polls, verifies and acknowledges a sign-out.
#[tokio::test]
async fn agents_whose_clocks_are_ten_minutes_off_still_sign_out() {
    on_every_backend(async |s| {
        let (ada, _) = set_up(s).await;
        let mut clients = Vec::new();
        for skew in [-600, 600] {
            let agent = enroll_agent(s).await;
            let laptop = ulo_testkit::now() + time::Duration::seconds(skew);
            refused(
                agent.poll(s, laptop, "ada").await,
                StatusCode::UNAUTHORIZED,
                "the signature or claims do not verify",
            );
            let clock = Arc::new(ServerClock::with_local(move || {
                ulo_testkit::now() + time::Duration::seconds(skew)
            }));
            let pem = StateDir::open(agent.dir.path()).unwrap().key().unwrap();
            let client = AgentClient::new(agent.enrolled.clone(), &pem, clock.clone()).unwrap();
            client
                .poll(0, &json!({"consoleUser": "ada"}))
                .await
                .unwrap_or_else(|e| panic!("a laptop {skew} s off polls: {e}"));
            assert!(
                (clock.offset() + skew).abs() <= 2,
                "corrected by {} s for a clock {skew} s off",
                clock.offset()
            );
            clients.push((agent, client));
        }

        let started = log_out_devices(s, &ada).await;
        for (agent, client) in &clients {
            let polled = client
                .poll(0, &json!({"consoleUser": "ada"}))
                .await
                .expect("poll");
            assert_eq!(polled.commands.len(), 1, "{:?}", polled.commands);
            let now = client.clock().now().unix_timestamp();
            let command = ulo_agent::command::verify(&agent.enrolled, &polled.commands[0], now)
                .expect("the command verifies at the server's time");
            assert_eq!(command.login, "ada");
            client
                .ack(&command.id, true, "signed out ada")
                .await
                .expect("the acknowledgement is accepted");
        }
        let done = final_receipt(s, &started["id"]).await;
        assert_eq!(done["status"], "COMPLETED", "{done}");
        let devices: Vec<&Value> = done["targets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["type"] == "DEVICE")
            .collect();
        assert_eq!(devices.len(), 2, "{done}");
        assert!(devices.iter().all(|t| t["status"] == "SUCCEEDED"), "{done}");
    })
    .await;
}

#[tokio::test]
async fn an_expired_enrollment_token_is_refused() {
    with_clock(DeviceSettings::default(), async |s, clock| {
        set_up(s).await;
        let token = enrollment_token(s, Some(60)).await;
        clock.advance(time::Duration::seconds(61));
        let err = try_enroll(s, &token, ulo_agent::VERSION)
            .await
            .err()
            .expect("an expired token enrolls nothing");
        assert!(err.contains("(401)"), "{err}");
        assert!(err.contains("The enrollment token expired at"), "{err}");
        let (_, devices) = s.get("/api/v1/devices").await;
        assert_eq!(devices, json!([]));
        // A token still in its life enrolls.
        let token = enrollment_token(s, Some(60)).await;
        clock.advance(time::Duration::seconds(59));
        try_enroll(s, &token, ulo_agent::VERSION)
            .await
            .expect("enroll within the token's life");
    })
    .await;
}

#[tokio::test]
async fn an_agent_below_the_minimum_version_is_refused() {
    let settings = DeviceSettings {
        min_agent_version: Some(AgentVersion(9, 46, 1)),
        ..DeviceSettings::default()
    };
    with_clock(settings, async |s, clock| {
        set_up(s).await;
        let token = enrollment_token(s, None).await;
        let err = try_enroll(s, &token, "9.46.0")
            .await
            .err()
            .expect("refused");
        assert!(err.contains("(403)"), "{err}");
        assert!(err.contains("9.46.1 or later"), "{err}");
        // The refusal did not use the token up.
        let agent = try_enroll(s, &token, "9.46.1").await.expect("enroll");
        // An enrolled agent that reports an older version is refused on its calls, and the
        // version it reported is not recorded.
        let claims = agent.claims("POST", POLL, clock.now());
        let (status, body) = call(
            s,
            POLL,
            &agent.sign(&claims),
            json!({"agentVersion": "9.45.9"}),
        )
        .await;
        refused((status, body), StatusCode::FORBIDDEN, "9.46.1 or later");
        assert_eq!(device(s, agent.id()).await["agentVersion"], "9.46.1");
        let claims = agent.claims("POST", POLL, clock.now());
        let (status, body) = call(
            s,
            POLL,
            &agent.sign(&claims),
            json!({"agentVersion": "10.0.0"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(device(s, agent.id()).await["agentVersion"], "10.0.0");
    })
    .await;
}

#[tokio::test]
async fn a_revoked_device_is_refused_and_its_commands_fail() {
    on_every_backend(async |s| {
        let (ada, _) = set_up(s).await;
        let now = ulo_testkit::now();
        let agent = ada_agent(s, now).await;
        let started = log_out_devices(s, &ada).await;
        let (status, polled) = agent.poll(s, now, "ada").await;
        assert_eq!(status, StatusCode::OK, "{polled}");
        let command = polled["commands"][0]["id"].as_str().unwrap().to_string();

        let (status, body) = s
            .post(
                &format!("/api/v1/devices/{}/lifecycle/revoke", agent.id()),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "REVOKED");
        refused(
            agent.poll(s, now, "ada").await,
            StatusCode::FORBIDDEN,
            "was revoked",
        );
        refused(
            agent.ack(s, &command, true, now).await,
            StatusCode::FORBIDDEN,
            "was revoked",
        );
        let done = final_receipt(s, &started["id"]).await;
        assert_eq!(done["status"], "COMPLETED_WITH_FAILURES", "{done}");
        let t = &done["targets"][0];
        assert_eq!(t["status"], "FAILED", "{done}");
        assert!(
            t["lastError"].as_str().unwrap().contains("revoked"),
            "{done}"
        );
        // A revoked device gets no more commands.
        let again = log_out_devices(s, &ada).await;
        assert_eq!(again["targets"][0]["status"], "SKIPPED", "{again}");
        assert!(
            again["targets"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("no enrolled devices"),
            "{again}"
        );
    })
    .await;
}

#[tokio::test]
async fn an_unacknowledged_sign_out_expires_failed_on_the_receipt() {
    with_clock(DeviceSettings::default(), async |s, clock| {
        let (ada, _) = set_up(s).await;
        let agent = ada_agent(s, clock.now()).await;
        let started = log_out_devices(s, &ada).await;
        let command = started["targets"][0]["commandId"]
            .as_str()
            .unwrap()
            .to_string();
        // Picked up, never answered.
        let (status, polled) = agent.poll(s, clock.now(), "ada").await;
        assert_eq!(status, StatusCode::OK, "{polled}");
        assert_eq!(polled["commands"][0]["id"], command.as_str());

        // Not before its time.
        clock.advance(time::Duration::hours(24) - time::Duration::seconds(1));
        drain(s).await;
        assert_eq!(receipt(s, &started["id"]).await["status"], "IN_PROGRESS");

        clock.advance(time::Duration::seconds(2));
        drain(s).await;
        let done = final_receipt(s, &started["id"]).await;
        assert_eq!(done["status"], "COMPLETED_WITH_FAILURES", "{done}");
        let t = &done["targets"][0];
        assert_eq!(t["type"], "DEVICE");
        assert_eq!(t["status"], "FAILED", "{done}");
        let why = t["lastError"].as_str().unwrap();
        assert!(
            why.contains("did not acknowledge the command by")
                && why.contains("picked it up but never answered"),
            "{done}"
        );
        let completed = one_event(s, "device.desktop_mfa.device_logout.completed", &ada).await;
        assert_eq!(completed["outcome"]["result"], "FAILURE", "{completed}");
        assert_eq!(completed["outcome"]["reason"], why, "{completed}");
        assert_eq!(
            completed["debugContext"]["debugData"]["commandStatus"],
            "EXPIRED"
        );
        assert_eq!(
            completed["transaction"]["id"], done["transactionId"],
            "{completed}"
        );
        let started_ev = one_event(s, "device.desktop_mfa.device_logout.started", &ada).await;
        assert_eq!(started_ev["transaction"]["id"], done["transactionId"]);

        // Too late to answer now; and it is not handed out again.
        refused(
            agent.ack(s, &command, true, clock.now()).await,
            StatusCode::CONFLICT,
            "expired at",
        );
        let (status, polled) = agent.poll(s, clock.now(), "ada").await;
        assert_eq!(status, StatusCode::OK, "{polled}");
        assert_eq!(polled["commands"], json!([]));
    })
    .await;
}

/// A command issued by a Universal Logout waits `ULO_DEVICE_COMMAND_TTL_SECONDS` for its
/// acknowledgement, as one from *Log Out All Devices* does, not the apps' delivery deadline.
#[tokio::test]
async fn a_universal_logout_command_expires_after_the_device_command_ttl() {
    let settings = DeviceSettings {
        command_ttl: time::Duration::hours(2),
        ..DeviceSettings::default()
    };
    with_clock(settings, async |s, clock| {
        let (ada, app) = set_up(s).await;
        ada_agent(s, clock.now()).await;
        let (status, started) = s
            .post(
                &format!("/api/v1/users/{ada}/logout"),
                json!({"scope": "SPECIFIED_APPS", "appIds": [app]}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{started}");
        let issued = one_event(s, "device.desktop_mfa.device_logout.started", &ada).await;
        let expires_at = OffsetDateTime::parse(
            issued["debugContext"]["debugData"]["expiresAt"]
                .as_str()
                .unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        // Times in the log are to the millisecond.
        assert!(
            (expires_at - clock.now() - time::Duration::hours(2)).abs()
                < time::Duration::milliseconds(1),
            "{issued}"
        );

        clock.advance(time::Duration::hours(2) - time::Duration::seconds(1));
        drain(s).await;
        assert_eq!(receipt(s, &started["id"]).await["status"], "IN_PROGRESS");
        clock.advance(time::Duration::seconds(2));
        drain(s).await;
        let done = final_receipt(s, &started["id"]).await;
        let device = done["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == "DEVICE")
            .unwrap();
        assert_eq!(device["status"], "FAILED", "{done}");
        assert!(
            device["lastError"]
                .as_str()
                .unwrap()
                .contains("did not acknowledge the command by"),
            "{done}"
        );
    })
    .await;
}

/// Runs the due jobs (the server's own worker may take some first: callers wait on the result).
async fn drain(s: &TestServer) {
    let worker = s.running.as_ref().unwrap().worker.clone().unwrap();
    worker.drain().await.expect("drain the job queue");
}

#[tokio::test]
async fn universal_logout_naming_the_desktop_mfa_app_signs_out_each_device() {
    on_every_backend(async |s| {
        let (ada, app) = set_up(s).await;
        let now = ulo_testkit::now();
        let laptop = ada_agent(s, now).await;
        let desktop = ada_agent(s, now).await;
        let logout = async || {
            let (status, started) = s
                .post(
                    &format!("/api/v1/users/{ada}/logout"),
                    json!({"scope": "SPECIFIED_APPS", "appIds": [app]}),
                )
                .await;
            assert_eq!(status, StatusCode::ACCEPTED, "{started}");
            started
        };
        let started = logout().await;
        let targets: Vec<&Value> = started["targets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["type"] == "DEVICE")
            .collect();
        let mut ids: Vec<&str> = targets.iter().map(|t| t["id"].as_str().unwrap()).collect();
        ids.sort();
        let mut want = vec![laptop.id(), desktop.id()];
        want.sort();
        assert_eq!(ids, want, "one DEVICE target per device: {started}");
        assert!(targets.iter().all(|t| t["status"] == "PENDING"), "{started}");

        for agent in [&laptop, &desktop] {
            let (status, polled) = agent.poll(s, now, "ada").await;
            assert_eq!(status, StatusCode::OK, "{polled}");
            let commands = polled["commands"].as_array().unwrap();
            assert_eq!(commands.len(), 1, "{polled}");
            // What the agent would run: signed for this device by the keys it pinned.
            let verified =
                ulo_agent::command::verify(&agent.enrolled, &commands[0], now.unix_timestamp())
                    .expect("the command verifies against the pinned keys");
            assert_eq!(verified.login, "ada");
            assert_eq!(verified.user_login, "ada@example.com");
            assert_eq!(receipt(s, &started["id"]).await["status"], "IN_PROGRESS");
            let (status, body) = agent.ack(s, &verified.id, true, now).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let done = final_receipt(s, &started["id"]).await;
        assert_eq!(done["status"], "COMPLETED", "{done}");
        let completed = events(s, "device.desktop_mfa.device_logout.completed", &ada).await;
        assert_eq!(completed.len(), 2);
        for e in &completed {
            assert_eq!(e["outcome"]["result"], "SUCCESS", "{e}");
            assert_eq!(e["transaction"]["id"], done["transactionId"], "{e}");
        }

        // The app's Logout setting off: the app is SKIPPED, saying why; no command is issued.
        let (status, body) = s
            .put(
                &format!("/api/v1/apps/{app}"),
                Some(json!({"label": "Managed computers", "type": "desktop-mfa", "logout": {"enabled": false}})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let skipped = logout().await;
        assert_skipped(&skipped, &app, "logout is not enabled for this app");

        // The feature off: SKIPPED, saying so.
        let (status, body) = s
            .put(
                &format!("/api/v1/apps/{app}"),
                Some(json!({"label": "Managed computers", "type": "desktop-mfa", "logout": {"enabled": true}})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = s
            .post("/api/v1/features/device-logout/disable", json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let skipped = logout().await;
        assert_skipped(&skipped, &app, "the Device Logout feature is off");
        for agent in [&laptop, &desktop] {
            let (status, body) = agent.poll(s, now, "ada").await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["commands"], json!([]), "{body}");
        }
    })
    .await;
}

/// Asserts the receipt's only target is the app, SKIPPED for `why`, and nothing is pending.
fn assert_skipped(receipt: &Value, app: &str, why: &str) {
    let targets: Vec<&Value> = receipt["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["type"] == "APP" || t["type"] == "DEVICE")
        .collect();
    assert_eq!(targets.len(), 1, "{receipt}");
    assert_eq!(targets[0]["id"], app, "{receipt}");
    assert_eq!(targets[0]["status"], "SKIPPED", "{receipt}");
    let reason = targets[0]["reason"].as_str().unwrap();
    assert!(reason.contains(why), "expected {why:?} in {receipt}");
}

/// A sign-out command for tests: writes who it signed out to a marker file.
fn marker_script(dir: &std::path::Path) -> (String, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let marker = dir.join("signed-out");
    let script = dir.join("signout.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", marker.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script.display().to_string(), marker)
}

/// Runs the real agent for one poll as Ada's machine.
async fn run_agent_once(agent: &TestAgent, signout: &str) {
    let opts = ulo_agent::run::RunOptions {
        state_dir: agent.dir.path().to_path_buf(),
        poll_interval: 1,
        long_poll: false,
        once: true,
        signout_command: signout.to_string(),
        console_user: Some("ada".into()),
    };
    ulo_agent::run::run(opts, std::future::pending())
        .await
        .expect("the agent polls");
}

/// The kids the agent pins now (from its state directory).
fn pinned_kids(agent: &TestAgent) -> Vec<String> {
    let enrolled = StateDir::open(agent.dir.path())
        .unwrap()
        .enrolled()
        .unwrap()
        .unwrap();
    ulo_agent::keyset::kids(&enrolled.jwks)
}

/// Reloads the server's key ring now (running servers do every 30 s).
async fn reload_keys(s: &TestServer) {
    let state = &s.running.as_ref().unwrap().state;
    let ring = ulo_server::keys::load_ring(state.store.as_ref(), state.sealer.as_ref())
        .await
        .expect("load the key ring");
    state.set_keys(ring);
}

#[tokio::test]
async fn after_a_key_rotation_the_agent_pins_the_new_keys_and_still_runs_commands() {
    on_every_backend(async |s| {
        let (ada, _) = set_up(s).await;
        let agent = enroll_agent(s).await;
        let (script, marker) = marker_script(agent.dir.path());
        run_agent_once(&agent, &script).await;
        let enrolled_kids = pinned_kids(&agent);
        assert_eq!(enrolled_kids, ulo_agent::keyset::kids(&agent.enrolled.jwks));

        // `ulo keys rotate --alg ES256`, picked up by the server.
        let state = &s.running.as_ref().unwrap().state;
        let ctx = ulo_core::context::Context::system("TEST");
        let (store, sealer, clock) = (
            state.store.as_ref(),
            state.sealer.as_ref(),
            state.clock.as_ref(),
        );
        let old = state.keys().active_kid(KeyAlg::ES256).unwrap().to_string();
        let new = ulo_server::keys::rotate(store, sealer, clock, &ctx, KeyAlg::ES256)
            .await
            .expect("rotate")
            .kid;
        reload_keys(s).await;
        assert!(!enrolled_kids.contains(&new));

        // The command is signed with the new key: the keys pinned at enrollment refuse it.
        let started = log_out_devices(s, &ada).await;
        let now = ulo_testkit::now();
        let (status, polled) = agent.poll(s, now, "ada").await;
        assert_eq!(status, StatusCode::OK, "{polled}");
        assert!(
            polled.get("keyset").is_none(),
            "no pinnedKids reported, no keyset: {polled}"
        );
        let command = &polled["commands"][0];
        let header =
            ulo_jose::jsonwebtoken::decode_header(command["token"].as_str().unwrap()).unwrap();
        assert_eq!(header.kid.as_deref(), Some(new.as_str()));
        let err =
            ulo_agent::command::verify(&agent.enrolled, command, now.unix_timestamp()).unwrap_err();
        assert!(err.contains("pinned"), "{err}");

        // The real agent takes the rollover (signed by the old key it pins) and runs it.
        run_agent_once(&agent, &script).await;
        assert_eq!(std::fs::read_to_string(&marker).unwrap(), "ada");
        let done = final_receipt(s, &started["id"]).await;
        assert_eq!(done["status"], "COMPLETED", "{done}");
        assert_eq!(done["targets"][0]["status"], "SUCCEEDED", "{done}");
        let kids = pinned_kids(&agent);
        assert!(kids.contains(&new) && kids.contains(&old), "{kids:?}");
        let log = std::fs::read_to_string(agent.dir.path().join("agent.log")).unwrap();
        assert!(log.contains("pinned ulo keys updated"), "{log}");

        // `ulo keys retire <old>`: the next poll drops it from the pinned keys.
        ulo_server::keys::retire(store, clock, &ctx, &old)
            .await
            .expect("retire");
        reload_keys(s).await;
        run_agent_once(&agent, &script).await;
        let kids = pinned_kids(&agent);
        assert!(kids.contains(&new) && !kids.contains(&old), "{kids:?}");

        // A keyset signed by a key the agent does not pin is refused.
        let mut pinned = StateDir::open(agent.dir.path())
            .unwrap()
            .enrolled()
            .unwrap()
            .unwrap();
        let forged = foreign_key(&new)
            .sign(
                KeyAlg::ES256,
                ulo_agent::keyset::KEYSET_TYP,
                &json!({"iss": pinned.issuer, "aud": agent.id(), "iat": now.unix_timestamp(),
                        "exp": now.unix_timestamp() + 300, "jwks": {"keys": []}}),
            )
            .unwrap();
        let before = pinned.clone();
        let state_dir = StateDir::open(agent.dir.path()).unwrap();
        assert!(!ulo_agent::keyset::apply(
            &state_dir,
            &mut pinned,
            &forged,
            now.unix_timestamp()
        ));
        assert_eq!(pinned, before);
        assert_eq!(pinned_kids(&agent), kids);
    })
    .await;
}
