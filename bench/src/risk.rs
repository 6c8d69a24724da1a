//! Scenario `risk`: Identity Threat Protection end to end against one `ulo serve`. A security
//! events provider (in process: a real ES256 key pair, its JWKS served over HTTP) is registered,
//! and the second seed's Entity Risk Policy rule is added (any group, include a provider's
//! detection, any level, TERMINATE_ALL_SESSIONS with the desktop-mfa app and the apps). Then:
//!
//! * signal → COMPLETED: one person assigned to logout-enabled apps (5 by default) answering
//!   after 50 ms, with one enrolled agent long-polling for them (the agent's own code: it
//!   verifies each sign-out command against its pinned keys and acknowledges it). Each signal is
//!   a signed `risk-level-change` SET posted to the intake; timed from sending it until the
//!   logout it started (the person's newest receipt) is COMPLETED, watched on the live receipt
//!   (target: median ≤ 250 ms);
//! * SET intake: SETs (signed beforehand) about many people posted by 64 concurrent requests;
//!   accepted (202) SETs per second (target: ≥ 2,000/s). Every accepted SET commits its receipt
//!   event, its detection, the level, the policy's evaluation and the rule's action (a logout,
//!   or coalescing into the one in progress) before its 202.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::{StreamExt, TryStreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use ulo_jose::{GeneratedKey, KeyAlg, KeyRing, SigningKey, generate_key, typ};

use crate::api::{self, Api};
use crate::cpu::{Meter, Usage};
use crate::devices::{Agent, LONG_POLL, enroll_agent, wait_linked};
use crate::fake_app::FakeApp;
use crate::stats::{Summary, ms, round};

const RISK_LEVEL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/risk-level-change";
const INTAKE: &str = "/security/api/v1/security-events";

/// What to run.
pub struct Config {
    /// Timed signals.
    pub signals: usize,
    /// Logout-enabled apps the person is assigned to.
    pub apps: usize,
    /// How long each app takes to answer.
    pub app_delay: Duration,
    /// SETs posted in the intake phase.
    pub intake_sets: usize,
    /// People the intake phase's SETs are about.
    pub intake_people: usize,
    /// SET requests in flight in the intake phase.
    pub intake_concurrency: usize,
    /// Deactivate the seed's rule for the intake phase (the default rule only logs): measures
    /// the intake without the logouts it starts.
    pub intake_log_only: bool,
    /// The median signal → COMPLETED to meet.
    pub target_median: Duration,
    /// The intake rate to meet, per second.
    pub target_rate: f64,
    /// How long one signal, or the intake phase, may take.
    pub timeout: Duration,
}

/// The scenario's result.
pub struct Report {
    apps: usize,
    app_delay: Duration,
    /// Send of the SET → the logout's receipt COMPLETED.
    total: Summary,
    /// Send of the SET → its 202.
    accepted: Summary,
    /// The receipt's own `completed - created`.
    server: Summary,
    warmup_ms: Vec<f64>,
    signal_cpu: (Usage, Duration),
    intake_sets: usize,
    intake_people: usize,
    intake_concurrency: usize,
    intake_log_only: bool,
    intake_wall: Duration,
    intake_latency: Summary,
    /// Logouts the intake phase started (the others coalesced into one in progress).
    intake_logouts: u64,
    intake_cpu: Usage,
    jwks_fetches: usize,
    target_median: Duration,
    target_rate: f64,
}

impl Report {
    fn rate(&self) -> f64 {
        self.intake_sets as f64 / self.intake_wall.as_secs_f64()
    }

    /// Both targets met.
    pub fn meets_target(&self) -> bool {
        self.total.median <= ms(self.target_median) && self.rate() >= self.target_rate
    }

    /// Human-readable lines.
    pub fn text(&self, backend: &str) -> String {
        let verdict = |ok: bool| if ok { "MET" } else { "MISSED" };
        format!(
            "risk [{backend}]: signal (SET posted) -> logout COMPLETED, 1 person x {} apps answering after {} ms + 1 long-polling agent\n\
             \x20 SET -> COMPLETED: {} p99 {:.1} ms\n\
             \x20 SET -> 202:       {}\n\
             \x20 server completed-created: {}\n\
             \x20 warm-up: {:?} ms\n\
             \x20 {}\n\
             \x20 target: median <= {} ms: {}\n\
             risk [{backend}]: SET intake, {} SETs about {} people, {} in flight{}\n\
             \x20 {:.0} accepted SETs/s ({} in {:.2} s); each {}\n\
             \x20 logouts started {} (the rest coalesced); JWKS fetched {} time(s)\n\
             \x20 {}\n\
             \x20 target: >= {:.0}/s: {}\n",
            self.apps,
            self.app_delay.as_millis(),
            self.total.line(),
            self.total.p99,
            self.accepted.line(),
            self.server.line(),
            self.warmup_ms,
            self.signal_cpu.0.line(self.signal_cpu.1),
            self.target_median.as_millis(),
            verdict(self.total.median <= ms(self.target_median)),
            self.intake_sets,
            self.intake_people,
            self.intake_concurrency,
            if self.intake_log_only {
                " (the seed's rule off: log only)"
            } else {
                ""
            },
            self.rate(),
            self.intake_sets,
            self.intake_wall.as_secs_f64(),
            self.intake_latency.line(),
            self.intake_logouts,
            self.jwks_fetches,
            self.intake_cpu.line(self.intake_wall),
            self.target_rate,
            verdict(self.rate() >= self.target_rate),
        )
    }

    /// The machine-readable line.
    pub fn json(&self, backend: &str) -> Value {
        json!({
            "scenario": "risk",
            "backend": backend,
            "apps": self.apps,
            "appDelayMs": self.app_delay.as_millis() as u64,
            "medianMs": round(self.total.median),
            "p99Ms": round(self.total.p99),
            "signalToCompletedMs": self.total.json(),
            "signalToAcceptedMs": self.accepted.json(),
            "serverMs": self.server.json(),
            "warmupMs": self.warmup_ms.iter().map(|m| round(*m)).collect::<Vec<_>>(),
            "signalCpu": self.signal_cpu.0.json(self.signal_cpu.1),
            "intakeSets": self.intake_sets,
            "intakePeople": self.intake_people,
            "intakeConcurrency": self.intake_concurrency,
            "intakeLogOnly": self.intake_log_only,
            "setsPerS": round(self.rate()),
            "intakeMs": self.intake_latency.json(),
            "intakeLogouts": self.intake_logouts,
            "intakeCpu": self.intake_cpu.json(self.intake_wall),
            "jwksFetches": self.jwks_fetches,
            "targetMedianMs": self.target_median.as_millis() as u64,
            "targetSetsPerS": self.target_rate,
            "meetsTarget": self.meets_target(),
        })
    }
}

/// The provider: a key pair, and its JWKS on a local HTTP server that counts fetches.
struct Provider {
    issuer: String,
    key: GeneratedKey,
    ring: KeyRing,
    fetches: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Provider {
    async fn start() -> Result<Provider> {
        let key = generate_key(KeyAlg::ES256)?;
        let signing = SigningKey::from_pkcs8_der(key.kid.clone(), key.alg, &key.private_pkcs8_der)?;
        let ring = KeyRing::new(vec![signing], vec![key.public_jwk.clone()])?;
        let jwks = json!({"keys": [key.public_jwk.clone()]});
        let fetches = Arc::new(AtomicUsize::new(0));
        let counter = fetches.clone();
        let app = axum::Router::new().route(
            "/jwks",
            axum::routing::get(move || {
                counter.fetch_add(1, Ordering::Relaxed);
                let jwks = jwks.clone();
                async move { axum::Json(jwks) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the provider's JWKS server")?;
        let issuer = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Provider {
            issuer,
            key,
            ring,
            fetches,
            task,
        })
    }

    /// A signed SET for ulo at `aud`: `email`'s risk is now `level`.
    #[allow(clippy::disallowed_methods)] // a provider stamps its SETs with its own clock
    fn set(&self, aud: &str, jti: &str, email: &str, level: &str) -> Result<String> {
        let claims = json!({
            "iss": self.issuer,
            "aud": aud,
            "iat": time::OffsetDateTime::now_utc().unix_timestamp(),
            "jti": jti,
            "sub_id": {"format": "email", "email": email},
            "events": {RISK_LEVEL_CHANGE: {
                "principal": "USER", "current_level": level, "previous_level": "LOW"
            }},
        });
        Ok(self.ring.sign_as(&self.key.kid, typ::SECEVENT, &claims)?)
    }
}

/// Posts a SET; fails unless ulo answers 202.
async fn push(api: &Api, set: String) -> Result<()> {
    let resp = api
        .http()
        .post(format!("{}{INTAKE}", api.base()))
        .header("Content-Type", "application/secevent+jwt")
        .body(set)
        .send()
        .await
        .context("post a SET")?;
    let status = resp.status();
    if status != reqwest::StatusCode::ACCEPTED {
        let text = resp.text().await.unwrap_or_default();
        bail!("the SET was not accepted: {status}: {text}");
    }
    Ok(())
}

/// Long-polls as `ulo agent run` does; verifies and acknowledges each sign-out command.
async fn acking_agent(agent: Agent, failed: Arc<std::sync::Mutex<Option<String>>>) {
    let fail = |why: String| {
        if let Ok(mut f) = failed.lock() {
            *f = Some(why);
        }
    };
    loop {
        let polled = match agent.client.poll(LONG_POLL, &agent.report).await {
            Ok(p) => p,
            Err(e) => return fail(format!("poll: {e}")),
        };
        let now = agent.client.clock().now().unix_timestamp();
        for c in &polled.commands {
            let id = match ulo_agent::command::verify(agent.pinned(), c, now) {
                Ok(s) => s.id,
                Err(why) => return fail(why),
            };
            if let Err(e) = agent.client.ack(&id, true, "bench: signed out").await {
                return fail(format!("ack: {e}"));
            }
        }
    }
}

/// The person's newest receipt id, if any.
async fn newest_receipt(api: &Api, user: &str) -> Result<Option<String>> {
    let page = api
        .call(
            "list a person's receipts",
            Method::GET,
            &format!("/api/v1/logouts?userId={user}&limit=1"),
            None,
        )
        .await?;
    Ok(page
        .as_array()
        .and_then(|p| p.first())
        .and_then(|r| r["id"].as_str())
        .map(str::to_string))
}

struct Sample {
    total: Duration,
    accepted: Duration,
    server_ms: f64,
}

/// One signal: post the SET, find the logout it started, follow it until final.
async fn signal(
    api: &Api,
    provider: &Provider,
    user: &str,
    email: &str,
    jti: &str,
    previous: &mut Option<String>,
    cfg: &Config,
) -> Result<Sample> {
    let set = provider.set(api.base(), jti, email, "HIGH")?;
    let t0 = Instant::now();
    push(api, set).await?;
    let accepted = t0.elapsed();
    // The logout commits with the detection, before the 202.
    let id = newest_receipt(api, user)
        .await?
        .filter(|id| Some(id) != previous.as_ref())
        .with_context(|| format!("SET {jti} started no logout"))?;
    let receipt = tokio::time::timeout(cfg.timeout, api.follow(&id))
        .await
        .with_context(|| format!("logout {id} was not final within {:?}", cfg.timeout))??;
    let total = t0.elapsed();
    let ok = |t: &Value| t["status"] == "SUCCEEDED";
    let targets = receipt["targets"].as_array().cloned().unwrap_or_default();
    let apps = targets
        .iter()
        .filter(|t| t["type"] == "APP" && ok(t))
        .count();
    let devices = targets
        .iter()
        .filter(|t| t["type"] == "DEVICE" && ok(t))
        .count();
    if api::status(&receipt) != "COMPLETED" || apps != cfg.apps || devices != 1 {
        bail!("logout {id} ended without every app and the device: {receipt}");
    }
    *previous = Some(id);
    Ok(Sample {
        total,
        accepted,
        server_ms: api::server_ms(&receipt)?,
    })
}

/// Runs the scenario against the server at `server`.
pub async fn run(api: &Api, server: &str, cfg: &Config, meter: &Meter) -> Result<Report> {
    let fake = FakeApp::start(cfg.app_delay).await?;
    let provider = Provider::start().await?;
    eprintln!(
        "risk: 1 person, {} apps, the desktop-mfa app, 1 agent, a provider, the seed's rule",
        cfg.apps
    );
    api.enable_device_logout().await?;
    let email = "risk.bench@example.com";
    let user = api.create_user(email).await?;
    let apps: Vec<String> = futures::stream::iter(0..cfg.apps)
        .map(|n| {
            let endpoint = fake.endpoint(n);
            async move { api.create_app(&format!("Risk app {n}"), &endpoint).await }
        })
        .buffered(8)
        .try_collect()
        .await?;
    for app in &apps {
        api.assign(app, &user).await?;
    }
    let all_apps = api
        .call("list apps", Method::GET, "/api/v1/apps", None)
        .await?;
    let desktop = all_apps
        .as_array()
        .and_then(|a| a.iter().find(|a| a["type"] == "desktop-mfa"))
        .and_then(|a| a["id"].as_str())
        .context("no desktop-mfa app")?
        .to_string();
    api.call(
        "register the provider",
        Method::POST,
        "/api/v1/security-events-providers",
        Some(json!({"name": "Bench risk vendor", "type": "security_events_provider",
                    "settings": {"issuer": provider.issuer, "jwks_url": format!("{}/jwks", provider.issuer)}})),
    )
    .await?;
    let policies = api
        .call(
            "the Entity Risk Policy",
            Method::GET,
            "/api/v1/policies?type=ENTITY_RISK",
            None,
        )
        .await?;
    let policy = api::id(&policies[0])?;
    let mut targets = vec![desktop];
    targets.extend(apps.iter().cloned());
    let rule = api.call(
        "add the seed's rule",
        Method::POST,
        &format!("/api/v1/policies/{policy}/rules"),
        Some(json!({
            "type": "ENTITY_RISK", "name": "Sign risky people out of apps and devices", "priority": 1,
            "conditions": {"people": {"groups": {"include": []}}, "entityRisk": {"level": "ANY"},
                           "riskDetectionTypes": {"include": ["SECURITY_EVENTS_PROVIDER_REPORTED_RISK"]}},
            "actions": {"entityRisk": {"actions": [{"action": "TERMINATE_ALL_SESSIONS",
                "slo": {"appSelectionMode": "SPECIFIC", "appInstanceIds": targets}}]}}
        })),
    )
    .await?;

    let dirs = tempfile::Builder::new()
        .prefix("ulo-bench-risk-agent-")
        .tempdir()
        .context("creating the agent's state directory")?;
    let http = ulo_agent::client::http_client(Duration::from_secs(LONG_POLL + 35))?;
    let agent = enroll_agent(api, server, dirs.path(), &http, Some(email)).await?;
    let agent_failed = Arc::new(std::sync::Mutex::new(None));
    let agent_task = tokio::spawn(acking_agent(agent, agent_failed.clone()));
    wait_linked(api, &user, cfg.timeout).await?;

    let mut previous = None;
    let mut warmup_ms = Vec::new();
    for n in 0..2 {
        let s = signal(
            api,
            &provider,
            &user,
            email,
            &format!("warm-{n}"),
            &mut previous,
            cfg,
        )
        .await?;
        warmup_ms.push(round(ms(s.total)));
    }
    eprintln!("risk: {} signals, one at a time", cfg.signals);
    let cpu_start = meter.snapshot();
    let measured = Instant::now();
    let mut samples = Vec::new();
    for n in 0..cfg.signals {
        let jti = format!("signal-{n}");
        match signal(api, &provider, &user, email, &jti, &mut previous, cfg).await {
            Ok(s) => samples.push(s),
            Err(e) => {
                let agent = agent_failed.lock().ok().and_then(|f| f.clone());
                return Err(e.context(format!("signal {n} (agent: {agent:?})")));
            }
        }
    }
    let signal_wall = measured.elapsed();
    let signal_cpu = meter.since(cpu_start);
    agent_task.abort();
    let total: Vec<Duration> = samples.iter().map(|s| s.total).collect();
    let accepted: Vec<Duration> = samples.iter().map(|s| s.accepted).collect();
    let server_ms: Vec<f64> = samples.iter().map(|s| s.server_ms).collect();

    // Intake: many people, SETs signed beforehand, 64 requests in flight.
    eprintln!(
        "risk: intake: {} people, {} SETs signed beforehand",
        cfg.intake_people, cfg.intake_sets
    );
    let people: Vec<String> = futures::stream::iter(0..cfg.intake_people)
        .map(|n| async move {
            let login = format!("intake{n}@example.com");
            api.create_user(&login).await.map(|_| login)
        })
        .buffered(16)
        .try_collect()
        .await?;
    if cfg.intake_log_only {
        let rule = api::id(&rule)?;
        api.call(
            "deactivate the seed's rule",
            Method::POST,
            &format!("/api/v1/policies/{policy}/rules/{rule}/lifecycle/deactivate"),
            None,
        )
        .await?;
    }
    let receipts_before = count_receipts(api).await?;
    let sets: Vec<String> = (0..cfg.intake_sets)
        .map(|n| {
            provider.set(
                api.base(),
                &format!("intake-{n}"),
                &people[n % people.len()],
                "HIGH",
            )
        })
        .collect::<Result<_>>()?;
    let sets = Arc::new(sets);
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    eprintln!(
        "risk: intake: posting {} SETs, {} in flight",
        cfg.intake_sets, cfg.intake_concurrency
    );
    let cpu_start = meter.snapshot();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..cfg.intake_concurrency {
        let (api, sets, next, failures) =
            (api.clone(), sets.clone(), next.clone(), failures.clone());
        tasks.spawn(async move {
            let mut times = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let Some(set) = sets.get(n) else {
                    return Ok::<_, anyhow::Error>(times);
                };
                let t0 = Instant::now();
                if let Err(e) = push(&api, set.clone()).await {
                    failures.fetch_add(1, Ordering::Relaxed);
                    return Err(e);
                }
                times.push(t0.elapsed());
            }
        });
    }
    let mut latencies = Vec::new();
    let deadline = tokio::time::Instant::now() + cfg.timeout;
    while let Some(r) = tokio::time::timeout_at(deadline, tasks.join_next())
        .await
        .context("the intake phase ran out of time")?
    {
        latencies.extend(r.context("an intake task panicked")??);
    }
    let intake_wall = started.elapsed();
    let intake_cpu = meter.since(cpu_start);
    let intake_logouts = count_receipts(api).await? - receipts_before;

    Ok(Report {
        apps: cfg.apps,
        app_delay: cfg.app_delay,
        total: Summary::of(&total).context("no signals")?,
        accepted: Summary::of(&accepted).context("no signals")?,
        server: Summary::of_ms(&server_ms).context("no signals")?,
        warmup_ms,
        signal_cpu: (signal_cpu, signal_wall),
        intake_sets: cfg.intake_sets,
        intake_people: cfg.intake_people,
        intake_concurrency: cfg.intake_concurrency,
        intake_log_only: cfg.intake_log_only,
        intake_wall,
        intake_latency: Summary::of(&latencies).context("no SETs")?,
        intake_logouts,
        intake_cpu,
        jwks_fetches: provider.fetches.load(Ordering::Relaxed),
        target_median: cfg.target_median,
        target_rate: cfg.target_rate,
    })
}

/// How many receipts there are.
async fn count_receipts(api: &Api) -> Result<u64> {
    Ok(api.all_receipts().await?.len() as u64)
}
