//! Device Logout as a new user would do it, with real processes: `ulo serve`, `ulo agent enroll`
//! and `ulo agent run` with a sign-out command that writes a marker file; *Log Out All Devices*;
//! the System Log and the receipt. Also the refusals an agent meets on the command line.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::process::{Child, Command};
use ulo_testkit::{Backend, Database, PG_ENV, wait_for};

use crate::procs::{Serve, serve};

pub(crate) const TOKEN: &str = "ulo_cli_device_token_0123456789abcdefg";

/// An admin client for a running `ulo serve`.
pub(crate) struct Admin {
    pub(crate) url: String,
    pub(crate) http: reqwest::Client,
}

impl Admin {
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("Authorization", format!("SSWS {TOKEN}"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub(crate) async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// Enables the feature, makes Ada and the desktop-mfa app (Logout on); answers Ada's id.
    pub(crate) async fn set_up(&self) -> String {
        let (s, _) = self
            .post("/api/v1/features/device-logout/enable", json!({}))
            .await;
        assert_eq!(s, StatusCode::OK);
        let (s, ada) = self
            .post(
                "/api/v1/users?activate=true",
                json!({"profile": {"login": "ada@example.com", "email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace"}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{ada}");
        let (s, app) = self
            .post(
                "/api/v1/apps",
                json!({"label": "Managed computers", "type": "desktop-mfa", "logout": {"enabled": true}}),
            )
            .await;
        assert!(s.is_success(), "{app}");
        ada["id"].as_str().unwrap().to_string()
    }

    async fn enrollment_token(&self) -> String {
        let (s, t) = self
            .post("/api/v1/device-enrollment-tokens", json!({}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        t["token"].as_str().unwrap().to_string()
    }

    /// *Log Out All Devices* for `user`; answers the receipt's location.
    async fn log_out_devices(&self, user: &str) -> String {
        let resp = self
            .http
            .post(format!("{}/api/v1/users/{user}/devices/logout", self.url))
            .header("Authorization", format!("SSWS {TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::ACCEPTED);
        resp.headers()["location"].to_str().unwrap().to_string()
    }

    /// Waits until the receipt at `location` is no longer in progress; answers it.
    pub(crate) async fn settled(&self, location: &str) -> Value {
        wait_for(
            "the receipt to complete",
            Duration::from_secs(20),
            || async {
                let (_, r) = self.get(location).await;
                (r["status"] != "IN_PROGRESS").then_some(r)
            },
        )
        .await
    }

    /// The `device_logout.completed` event's `detail` (the agent's acknowledgement).
    async fn completed_detail(&self) -> String {
        let events = self
            .events("device.desktop_mfa.device_logout.completed")
            .await;
        assert_eq!(events.len(), 1, "{events:?}");
        events[0]["debugContext"]["debugData"]["detail"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub(crate) async fn events(&self, prefix: &str) -> Vec<Value> {
        let filter = format!("eventType sw \"{prefix}\"");
        let resp = self
            .http
            .get(format!("{}/api/v1/logs", self.url))
            .query(&[("filter", filter.as_str()), ("limit", "100")])
            .header("Authorization", format!("SSWS {TOKEN}"))
            .send()
            .await
            .unwrap();
        resp.json::<Vec<Value>>().await.unwrap()
    }
}

/// The settings every test server starts with (a restart must use the same ones).
pub(crate) fn serve_env() -> Vec<(&'static str, String)> {
    vec![
        (
            "ULO_MASTER_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_string(),
        ),
        ("ULO_BOOTSTRAP_TOKEN", TOKEN.to_string()),
    ]
}

/// Enrolls an agent with `admin`'s server (a fresh enrollment token); answers its state
/// directory, under `dir`.
pub(crate) async fn enroll(admin: &Admin, dir: &Path) -> PathBuf {
    let token = admin.enrollment_token().await;
    let state = dir.join("agent");
    let (ok, out, err) = agent(&[
        "enroll",
        "--server",
        &admin.url,
        "--token",
        &token,
        "--state-dir",
        state.to_str().unwrap(),
    ])
    .await;
    assert!(ok, "enroll failed: {out}{err}");
    state
}

/// Waits until `admin`'s server links one device to `user` (the agent's first poll does).
pub(crate) async fn wait_linked(admin: &Admin, user: &str) {
    wait_for(
        "the device linked to Ada",
        Duration::from_secs(20),
        || async {
            let (_, devices) = admin.get(&format!("/api/v1/users/{user}/devices")).await;
            (devices.as_array().is_some_and(|d| d.len() == 1)).then_some(())
        },
    )
    .await;
}

/// Starts `ulo serve` with its data in `dir`.
pub(crate) async fn start_serve(dir: &Path, extra: &[(&str, String)]) -> (Serve, Admin) {
    let mut env = serve_env();
    env.extend(extra.iter().cloned());
    let s = serve(&dir.join("data"), &env).await.expect("ulo serve");
    let admin = Admin {
        url: s.url.clone(),
        http: reqwest::Client::new(),
    };
    (s, admin)
}

/// `ulo agent …` to completion: exit status, stdout, stderr.
pub(crate) async fn agent(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ulo"))
        .arg("agent")
        .args(args)
        .env("ULO_LOG", "warn")
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0")
        .output()
        .await
        .expect("run ulo agent");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A sign-out "command" for tests: appends who it was told to sign out to a marker file, one
/// line per completed run (read it with [`signed_out`]).
pub(crate) fn marker_script(dir: &Path) -> (PathBuf, PathBuf) {
    marker_script_with(dir, "")
}

/// [`marker_script`] running the shell lines `first` before it records anything.
fn marker_script_with(dir: &Path, first: &str) -> (PathBuf, PathBuf) {
    let marker = dir.join("signed-out");
    let script = dir.join("signout.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n{first}\nprintf '%s\\n' \"$1\" >> '{}'\necho \"signed out $1\"\n",
            marker.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    (script, marker)
}

/// The accounts the marker script signed out, one per completed run; `None` until one run
/// has completed (a line being written is not counted).
pub(crate) fn signed_out(marker: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(marker).ok()?;
    let complete = &text[..text.rfind('\n')? + 1];
    Some(complete.lines().map(str::to_string).collect())
}

/// Waits for the marker script's first completed run; answers the accounts signed out so far.
pub(crate) async fn wait_signed_out(marker: &Path, what: &str) -> Vec<String> {
    wait_for(what, Duration::from_secs(40), || async {
        signed_out(marker)
    })
    .await
}

/// Starts `ulo serve` again at `admin`'s address with the data in `dir` (as [`start_serve`]
/// left them), after the previous process died.
async fn restart_serve(admin: &Admin, dir: &Path) -> Serve {
    let listen = admin.url.trim_start_matches("http://").to_string();
    let data = dir.join("data");
    crate::procs::ulo(
        &[
            "serve",
            "--listen",
            &listen,
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &serve_env(),
    )
    .await
    .expect("ulo serve again at the same address")
}

/// Sends `signal` (e.g. `KILL`, `STOP`) to process `pid`, one the test started.
async fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .await
        .expect("kill");
    assert!(status.success(), "kill -{signal} {pid}");
}

pub(crate) fn run_agent(state: &Path, script: &Path, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ulo"))
        .args(["agent", "run", "--state-dir"])
        .arg(state)
        .arg("--signout-command")
        .arg(script)
        .args(["--console-user", "ada@example.com"])
        .args(extra)
        .env("ULO_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("ulo agent run")
}

/// Enrolls an agent, runs it with `run_args`, logs Ada out of all devices, and checks the
/// marker, the System Log and the receipt; answers how long the command took to run.
async fn device_logout_end_to_end(run_args: &[&str]) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let (mut serve, admin) = start_serve(dir.path(), &[]).await;
    let ada = admin.set_up().await;
    let state = enroll(&admin, dir.path()).await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(state.join("device-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the device key is private");
    }
    let (script, marker) = marker_script(dir.path());
    let mut run = run_agent(&state, &script, run_args);
    // The agent's first poll links the device to Ada.
    wait_linked(&admin, &ada).await;

    let started = Instant::now();
    let resp = admin
        .http
        .post(format!("{}/api/v1/users/{ada}/devices/logout", admin.url))
        .header("Authorization", format!("SSWS {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let receipt: Value = resp.json().await.unwrap();
    assert_eq!(receipt["scope"], "DEVICES");
    let targets = receipt["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{receipt}");
    assert_eq!(targets[0]["type"], "DEVICE");
    assert_eq!(
        location,
        format!("/api/v1/logouts/{}", receipt["id"].as_str().unwrap())
    );

    let accounts = wait_signed_out(&marker, "the sign-out command to run").await;
    let took = started.elapsed();
    assert_eq!(accounts, ["ada@example.com"], "the command gets the login");

    let done = admin.settled(&location).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(done["targets"][0]["status"], "SUCCEEDED", "{done}");

    let events = admin.events("device.desktop_mfa.device_logout.").await;
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["eventType"].as_str().unwrap(),
                e["outcome"]["result"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("device.desktop_mfa.device_logout.started", "SUCCESS"),
            ("device.desktop_mfa.device_logout.completed", "SUCCESS"),
        ]
    );
    for e in &events {
        assert_eq!(
            e["transaction"]["id"], done["transactionId"],
            "one transaction"
        );
    }
    let _ = run.start_kill();
    let _ = run.wait().await;
    let _ = serve.child.start_kill();
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_out_all_devices_reaches_a_long_polling_agent_in_seconds() {
    let took = device_logout_end_to_end(&[]).await;
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_long_poll_the_periodic_poll_still_delivers() {
    device_logout_end_to_end(&["--no-long-poll", "--poll-interval", "1"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_rides_out_a_server_outage_and_still_signs_out() {
    let dir = tempfile::tempdir().unwrap();
    let (mut serve, admin) = start_serve(dir.path(), &[]).await;
    let ada = admin.set_up().await;
    let state = enroll(&admin, dir.path()).await;
    let (script, marker) = marker_script(dir.path());
    let mut run = run_agent(&state, &script, &[]);
    wait_linked(&admin, &ada).await;

    // The server goes away under the agent's long-poll; the agent logs the failure and backs off.
    let _ = serve.child.start_kill();
    let _ = serve.child.wait().await;
    let agent_log = state.join("agent.log");
    wait_for(
        "the agent to notice the outage",
        Duration::from_secs(20),
        || async {
            std::fs::read_to_string(&agent_log)
                .ok()
                .filter(|l| l.contains("poll failed"))
                .map(|_| ())
        },
    )
    .await;
    assert!(!marker.exists());

    // The server comes back at the same address; a logout issued now still reaches the agent.
    let mut back = restart_serve(&admin, dir.path()).await;
    let location = admin.log_out_devices(&ada).await;
    let accounts = wait_signed_out(&marker, "the sign-out after the outage").await;
    assert_eq!(accounts, ["ada@example.com"]);
    let done = admin.settled(&location).await;
    assert_eq!(done["targets"][0]["status"], "SUCCEEDED", "{done}");
    let _ = run.start_kill();
    let _ = run.wait().await;
    let _ = back.child.start_kill();
}

/// The agent is killed after the sign-out ran and its acknowledgement was saved, before ulo had
/// it (the sign-out script kills ulo first): restarted, it sends the saved acknowledgement and
/// does not run the sign-out again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_agent_resends_a_saved_acknowledgement_without_running_the_sign_out_again() {
    let dir = tempfile::tempdir().unwrap();
    let (mut serve, admin) = start_serve(dir.path(), &[]).await;
    let ada = admin.set_up().await;
    let state = enroll(&admin, dir.path()).await;
    let serve_pid = serve.child.id().unwrap();
    let (script, marker) = marker_script_with(dir.path(), &format!("kill -KILL {serve_pid}"));
    let mut run = run_agent(&state, &script, &[]);
    wait_linked(&admin, &ada).await;

    let location = admin.log_out_devices(&ada).await;
    let accounts = wait_signed_out(&marker, "the sign-out command to run").await;
    assert_eq!(accounts, ["ada@example.com"]);
    let _ = serve.child.wait().await;
    // The acknowledgement is saved, and sending it failed: ulo is gone.
    let agent_log = state.join("agent.log");
    wait_for(
        "the agent to fail to deliver the acknowledgement",
        Duration::from_secs(20),
        || async {
            std::fs::read_to_string(&agent_log)
                .ok()
                .filter(|l| l.contains("poll failed"))
        },
    )
    .await;
    run.start_kill().unwrap();
    run.wait().await.unwrap();
    let pending: Vec<PathBuf> = std::fs::read_dir(state.join("pending-acks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(pending.len(), 1, "{pending:?}");
    let ack: Value = serde_json::from_slice(&std::fs::read(&pending[0]).unwrap()).unwrap();
    assert_eq!(ack["success"], true, "{ack}");
    assert!(
        !state.join("running.json").exists(),
        "no command is left running once its outcome is saved"
    );

    // ulo comes back at the same address, then the agent with the same state directory.
    let mut back = restart_serve(&admin, dir.path()).await;
    let mut run = run_agent(&state, &script, &[]);
    let done = admin.settled(&location).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(done["targets"][0]["type"], "DEVICE", "{done}");
    assert_eq!(done["targets"][0]["status"], "SUCCEEDED", "{done}");
    assert_eq!(
        signed_out(&marker).unwrap(),
        ["ada@example.com"],
        "the sign-out ran exactly once"
    );
    wait_for(
        "the delivered acknowledgement to be forgotten",
        Duration::from_secs(20),
        || async {
            (std::fs::read_dir(state.join("pending-acks"))
                .unwrap()
                .count()
                == 0)
                .then_some(())
        },
    )
    .await;
    let detail = admin.completed_detail().await;
    assert_eq!(
        detail,
        "signed out ada@example.com: signed out ada@example.com"
    );
    let log = std::fs::read_to_string(&agent_log).unwrap();
    assert!(!log.contains("interrupted"), "{log}");
    let _ = run.start_kill();
    let _ = run.wait().await;
    let _ = back.child.start_kill();
}

/// The agent is killed while its sign-out command runs (before the outcome is known): restarted,
/// it gets the still unacknowledged command again and runs it again to completion, saying so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_out_interrupted_by_a_restart_runs_again() {
    let dir = tempfile::tempdir().unwrap();
    let (mut serve, admin) = start_serve(dir.path(), &[]).await;
    let ada = admin.set_up().await;
    let state = enroll(&admin, dir.path()).await;
    // The first run records its pid and hangs (as a sign-out stuck on a busy machine); later
    // runs go through.
    let started = dir.path().join("started");
    let (script, marker) = marker_script_with(
        dir.path(),
        &format!(
            "if [ ! -e '{s}' ]; then echo $$ > '{s}.tmp'; mv '{s}.tmp' '{s}'; exec sleep 300; fi",
            s = started.display()
        ),
    );
    let mut run = run_agent(&state, &script, &[]);
    wait_linked(&admin, &ada).await;

    let location = admin.log_out_devices(&ada).await;
    let pid: u32 = wait_for(
        "the sign-out command to start",
        Duration::from_secs(20),
        || async {
            std::fs::read_to_string(&started)
                .ok()
                .and_then(|p| p.trim().parse().ok())
        },
    )
    .await;
    // The agent recorded the command as running, privately, before starting it.
    let running = state.join("running.json");
    let record: Value = serde_json::from_slice(&std::fs::read(&running).unwrap()).unwrap();
    let command = record["commandId"].as_str().unwrap().to_string();
    assert_eq!(record["login"], "ada@example.com", "{record}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&running).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the running record is private");
    }
    run.start_kill().unwrap();
    run.wait().await.unwrap();
    // The killed agent's sign-out process is orphaned, not finished: end it.
    signal(pid, "KILL").await;
    assert_eq!(signed_out(&marker), None, "the first run never completed");
    let (_, pending) = admin.get(&location).await;
    assert_eq!(pending["targets"][0]["status"], "PENDING", "{pending}");

    let mut run = run_agent(&state, &script, &[]);
    let accounts = wait_signed_out(&marker, "the sign-out to run again").await;
    assert_eq!(accounts, ["ada@example.com"]);
    let done = admin.settled(&location).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(done["targets"][0]["status"], "SUCCEEDED", "{done}");
    assert_eq!(
        done["targets"][0]["attempts"], 2,
        "handed out twice: {done}"
    );
    let log = std::fs::read_to_string(state.join("agent.log")).unwrap();
    assert!(
        log.contains(&format!(
            "command {command} was interrupted by a restart; running it again"
        )),
        "{log}"
    );
    let detail = admin.completed_detail().await;
    assert!(
        detail.starts_with("signed out ada@example.com")
            && detail.contains("run again: a restart of the agent interrupted an earlier run"),
        "{detail}"
    );
    assert!(!running.exists(), "forgotten once the outcome is saved");
    let _ = run.start_kill();
    let _ = run.wait().await;
    let _ = serve.child.start_kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (mut serve, admin) = start_serve(
        dir.path(),
        &[("ULO_DEVICE_MIN_AGENT_VERSION", "99.0.0".to_string())],
    )
    .await;
    let server = admin.url.clone();
    let enroll = |token: String, state: PathBuf| {
        let server = server.clone();
        async move {
            agent(&[
                "enroll",
                "--server",
                &server,
                "--token",
                &token,
                "--state-dir",
                state.to_str().unwrap(),
            ])
            .await
        }
    };
    // Feature off: refused, saying so.
    let (ok, _, err) = enroll("ulo_enroll_x".into(), dir.path().join("a")).await;
    assert!(!ok);
    assert!(
        err.contains("Device Logout is an early-access feature and it is off"),
        "{err}"
    );
    admin.set_up().await;
    // Below the minimum version: refused naming the minimum; the token is not used up.
    let token = admin.enrollment_token().await;
    let (ok, _, err) = enroll(token.clone(), dir.path().join("b")).await;
    assert!(!ok);
    assert!(err.contains("99.0.0 or later"), "{err}");
    let _ = serve.child.start_kill();
    let _ = serve.child.wait().await;

    // The same data directory without a minimum: the token enrolls once, then is refused.
    let (mut serve, admin) = start_serve(dir.path(), &[]).await;
    let server = admin.url.clone();
    let state = dir.path().join("c");
    let (ok, out, err) = agent(&[
        "enroll",
        "--server",
        &server,
        "--token",
        &token,
        "--state-dir",
        state.to_str().unwrap(),
    ])
    .await;
    assert!(ok, "{out}{err}");
    let (ok, _, err) = agent(&[
        "enroll",
        "--server",
        &server,
        "--token",
        &token,
        "--state-dir",
        dir.path().join("d").to_str().unwrap(),
    ])
    .await;
    assert!(!ok);
    assert!(err.contains("already used"), "{err}");

    // A revoked device: `--once` exits non-zero with the reason.
    let device: Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("device.json")).unwrap()).unwrap();
    let id = device["deviceId"].as_str().unwrap();
    let (ok, out, err) = agent(&[
        "run",
        "--state-dir",
        state.to_str().unwrap(),
        "--once",
        "--console-user",
        "ada",
    ])
    .await;
    assert!(ok, "an active device polls: {out}{err}");
    let (s, _) = admin
        .post(&format!("/api/v1/devices/{id}/lifecycle/revoke"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (ok, _, err) = agent(&["run", "--state-dir", state.to_str().unwrap(), "--once"]).await;
    assert!(!ok);
    assert!(err.contains("was revoked"), "{err}");
    let _ = serve.child.start_kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_logout_on_one_node_reaches_an_agent_long_polling_the_other() {
    if std::env::var(PG_ENV).is_err() {
        eprintln!("skipped: set {PG_ENV} to run the two-node device test");
        return;
    }
    let db = Database::new(Backend::Postgres).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let shared = [("ULO_DATABASE_URL", db.url.clone())];
    let (mut node_a, a) = start_serve(&dir.path().join("a"), &shared).await;
    let (mut node_b, b) = start_serve(&dir.path().join("b"), &shared).await;
    let ada = a.set_up().await;
    let state = enroll(&a, dir.path()).await;
    let (script, marker) = marker_script(dir.path());
    // The agent long-polls node A only.
    let mut run = run_agent(&state, &script, &[]);
    // Its first long-poll links the device to Ada, then waits on A.
    wait_linked(&b, &ada).await;

    // The logout is issued on node B: A's waiting long-poll must hear of it (LISTEN/NOTIFY).
    let started = Instant::now();
    let (status, receipt) = b
        .post(&format!("/api/v1/users/{ada}/devices/logout"), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{receipt}");
    // Well under the 55 s the long-poll would otherwise hold before polling again.
    let accounts = wait_signed_out(&marker, "the sign-out command to run").await;
    let took = started.elapsed();
    assert_eq!(accounts, ["ada@example.com"]);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let location = format!("/api/v1/logouts/{}", receipt["id"].as_str().unwrap());
    let done = b.settled(&location).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(done["targets"][0]["status"], "SUCCEEDED", "{done}");

    let _ = run.start_kill();
    let _ = run.wait().await;
    let _ = node_a.child.start_kill();
    let _ = node_b.child.start_kill();
    let _ = node_a.child.wait().await;
    let _ = node_b.child.wait().await;
    db.cleanup().await;
}
