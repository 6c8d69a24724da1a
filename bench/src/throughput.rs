//! Scenario `throughput`: many users (10,000 by default), each assigned directly to the same few
//! logout-enabled apps (3 by default) whose endpoints answer at once. Every user is logged out,
//! many logouts in flight at a time, and the clock runs from the first logout sent until every
//! receipt is COMPLETED. Setup (users, apps, assignments) is not measured.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use crate::api::{self, Api};
use crate::cpu::{Meter, Usage};
use crate::fake_app::FakeApp;
use crate::stats::{Summary, round};

/// What to run.
pub struct Config {
    /// Users logged out.
    pub users: usize,
    /// Apps each user is assigned to (the same apps for everyone).
    pub apps_per_user: usize,
    /// How long each app takes to answer.
    pub app_delay: Duration,
    /// Setup requests in flight.
    pub setup_concurrency: usize,
    /// Logout requests in flight.
    pub trigger_concurrency: usize,
    /// How long the measured part may take before the run fails.
    pub timeout: Duration,
    /// The delivery rate the scenario should meet, per second.
    pub target_rate: f64,
}

/// The scenario's result.
pub struct Report {
    /// Users logged out.
    pub users: usize,
    /// Apps per user.
    pub apps_per_user: usize,
    /// App answer delay.
    pub app_delay: Duration,
    /// Setup time (not part of the rate).
    pub setup: Duration,
    /// First logout sent to the last 202.
    pub triggered: Duration,
    /// First logout sent until the apps had answered every delivery.
    pub delivered: Duration,
    /// First logout sent until the server listed no receipt IN_PROGRESS (every receipt is then
    /// read back and checked, untimed).
    pub confirmed: Duration,
    /// Server clock: first receipt `created` to last receipt `completed`.
    pub server_span: Duration,
    /// Send of each logout to its 202.
    pub accepted: Summary,
    /// Receipts by final status.
    pub statuses: BTreeMap<String, usize>,
    /// Requests the apps answered.
    pub app_requests: u64,
    /// Distinct deliveries (`Idempotency-Key`s) the apps saw.
    pub distinct_deliveries: u64,
    /// Requests the apps refused (no bearer token); should be none.
    pub app_rejected: u64,
    /// The target rate.
    pub target_rate: f64,
    /// CPU used from the first logout sent until every receipt was confirmed.
    pub cpu: Usage,
}

impl Report {
    fn deliveries(&self) -> f64 {
        (self.users * self.apps_per_user) as f64
    }

    /// Deliveries per second, first logout sent until every receipt COMPLETED (harness clock,
    /// polling `?status=IN_PROGRESS` every 20 ms: within 20 ms of the true figure, below it).
    pub fn rate(&self) -> f64 {
        self.deliveries() / self.confirmed.as_secs_f64()
    }

    /// Deliveries per second until the apps had answered all of them.
    pub fn delivered_rate(&self) -> f64 {
        self.deliveries() / self.delivered.as_secs_f64()
    }

    /// Deliveries per second over the receipts' own span (server clock).
    pub fn server_rate(&self) -> f64 {
        self.deliveries() / self.server_span.as_secs_f64().max(0.001)
    }

    /// Whether the rate meets the target.
    pub fn meets_target(&self) -> bool {
        self.rate() >= self.target_rate
    }

    fn completed(&self) -> usize {
        self.statuses.get("COMPLETED").copied().unwrap_or(0)
    }

    /// Human-readable lines.
    pub fn text(&self, backend: &str) -> String {
        format!(
            "throughput [{backend}]: {} users x {} apps = {} deliveries, apps answer after {} ms\n\
             \x20 setup (not measured): {:.1} s\n\
             \x20 all logouts accepted:  {:.2} s   (logout -> 202: {})\n\
             \x20 all deliveries seen:   {:.2} s   {:.0} deliveries/s\n\
             \x20 no receipt IN_PROGRESS (confirmed): {:.2} s   {:.0} deliveries/s\n\
             \x20 server span, first created -> last completed: {:.2} s   {:.0} deliveries/s\n\
             \x20 {}\n\
             \x20 receipts: {:?}; app requests {} ({} distinct, {} refused)\n\
             \x20 target: >= {:.0} deliveries/s: {}\n",
            self.users,
            self.apps_per_user,
            self.deliveries(),
            self.app_delay.as_millis(),
            self.setup.as_secs_f64(),
            self.triggered.as_secs_f64(),
            self.accepted.line(),
            self.delivered.as_secs_f64(),
            self.delivered_rate(),
            self.confirmed.as_secs_f64(),
            self.rate(),
            self.server_span.as_secs_f64(),
            self.server_rate(),
            self.cpu.line(self.confirmed),
            self.statuses,
            self.app_requests,
            self.distinct_deliveries,
            self.app_rejected,
            self.target_rate,
            if self.meets_target() { "MET" } else { "MISSED" },
        )
    }

    /// The machine-readable line.
    pub fn json(&self, backend: &str) -> Value {
        json!({
            "scenario": "throughput",
            "backend": backend,
            "users": self.users,
            "appsPerUser": self.apps_per_user,
            "deliveries": self.users * self.apps_per_user,
            "appDelayMs": self.app_delay.as_millis() as u64,
            "setupS": round(self.setup.as_secs_f64()),
            "triggeredS": round(self.triggered.as_secs_f64()),
            "deliveredS": round(self.delivered.as_secs_f64()),
            "confirmedS": round(self.confirmed.as_secs_f64()),
            "serverSpanS": round(self.server_span.as_secs_f64()),
            "deliveriesPerS": round(self.rate()),
            "deliveredPerS": round(self.delivered_rate()),
            "serverPerS": round(self.server_rate()),
            "acceptedMs": self.accepted.json(),
            "receipts": self.statuses,
            "completed": self.completed(),
            "appRequests": self.app_requests,
            "distinctDeliveries": self.distinct_deliveries,
            "appRejected": self.app_rejected,
            "targetPerS": self.target_rate,
            "meetsTarget": self.meets_target(),
            "cpu": self.cpu.json(self.confirmed),
        })
    }
}

/// Runs the scenario against the server `api` talks to.
pub async fn run(api: &Api, cfg: &Config, meter: &Meter) -> Result<Report> {
    let fake = FakeApp::start(cfg.app_delay).await?;
    let setup_start = Instant::now();
    let users = setup(api, &fake, cfg).await?;
    let setup = setup_start.elapsed();
    eprintln!("throughput: setup took {:.1} s", setup.as_secs_f64());

    let total = (cfg.users * cfg.apps_per_user) as u64;
    let before = fake.requests();
    eprintln!(
        "throughput: logging out {} users ({} in flight)",
        cfg.users, cfg.trigger_concurrency
    );
    let cpu_start = meter.snapshot();
    let t0 = Instant::now();
    let deadline = t0 + cfg.timeout;
    let started: Vec<(String, Duration)> = futures::stream::iter(&users)
        .map(|user| async move {
            let sent = Instant::now();
            let r = api.start_logout(user).await?;
            Ok::<_, anyhow::Error>((api::id(&r)?, sent.elapsed()))
        })
        .buffer_unordered(cfg.trigger_concurrency)
        .try_collect()
        .await?;
    let triggered = t0.elapsed();

    let remaining = deadline.saturating_duration_since(Instant::now());
    if !fake.wait_for_requests(before + total, remaining).await {
        bail!(
            "only {} of {total} deliveries reached the apps within {:?}",
            fake.requests() - before,
            cfg.timeout
        );
    }
    let delivered = t0.elapsed();

    // Timed: until the server lists no receipt IN_PROGRESS. Then (not timed) every receipt is
    // read back and checked: all of ours, each final.
    while api.any_in_progress().await? {
        if Instant::now() >= deadline {
            bail!("receipts still IN_PROGRESS at the deadline");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let confirmed = t0.elapsed();
    let cpu = meter.since(cpu_start);
    let ids: HashSet<&str> = started.iter().map(|(id, _)| id.as_str()).collect();
    let receipts = confirm(api, &ids, deadline).await?;

    let mut statuses = BTreeMap::new();
    let mut first_created = None;
    let mut last_completed = None;
    for r in &receipts {
        *statuses.entry(api::status(r).to_string()).or_insert(0) += 1;
        let created = api::timestamp(r, "created")?;
        let completed = api::timestamp(r, "completed")?;
        first_created =
            Some(first_created.map_or(created, |c: time::OffsetDateTime| c.min(created)));
        last_completed =
            Some(last_completed.map_or(completed, |c: time::OffsetDateTime| c.max(completed)));
    }
    let server_span = match (first_created, last_completed) {
        (Some(a), Some(b)) => Duration::try_from(b - a).unwrap_or_default(),
        _ => Duration::ZERO,
    };
    let accepted: Vec<Duration> = started.iter().map(|(_, d)| *d).collect();
    Ok(Report {
        users: cfg.users,
        apps_per_user: cfg.apps_per_user,
        app_delay: cfg.app_delay,
        setup,
        triggered,
        delivered,
        confirmed,
        server_span,
        accepted: Summary::of(&accepted).context("no logouts")?,
        statuses,
        app_requests: fake.requests() - before,
        distinct_deliveries: fake.distinct(),
        app_rejected: fake.rejected(),
        target_rate: cfg.target_rate,
        cpu,
    })
}

/// Creates the apps and the users, each user assigned to every app; answers the user ids.
async fn setup(api: &Api, fake: &FakeApp, cfg: &Config) -> Result<Vec<String>> {
    eprintln!(
        "throughput: creating {} apps and {} users ({} requests in flight)",
        cfg.apps_per_user, cfg.users, cfg.setup_concurrency
    );
    let mut apps = Vec::new();
    for n in 0..cfg.apps_per_user {
        apps.push(
            api.create_app(&format!("Throughput app {n}"), &fake.endpoint(n))
                .await?,
        );
    }
    let done = AtomicUsize::new(0);
    let apps = &apps;
    let done = &done;
    // Each user is one create and `apps_per_user` assignments in a row; `setup_concurrency`
    // users are set up at once.
    futures::stream::iter(0..cfg.users)
        .map(|n| async move {
            let user = api
                .create_user(&format!("tp{n:06}.bench@example.com"))
                .await?;
            for app in apps {
                api.assign(app, &user).await?;
            }
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            if d.is_multiple_of(2000) {
                eprintln!("throughput: {d} users set up");
            }
            Ok::<_, anyhow::Error>(user)
        })
        .buffer_unordered(cfg.setup_concurrency)
        .try_collect()
        .await
}

/// Pages through the receipts until every one in `ids` is final, or `deadline`; answers them.
async fn confirm(api: &Api, ids: &HashSet<&str>, deadline: Instant) -> Result<Vec<Value>> {
    loop {
        let ours: Vec<Value> = api
            .all_receipts()
            .await?
            .into_iter()
            .filter(|r| r["id"].as_str().is_some_and(|id| ids.contains(id)))
            .collect();
        let done = ours.iter().filter(|r| api::is_final(r)).count();
        if ours.len() == ids.len() && done == ours.len() {
            return Ok(ours);
        }
        if Instant::now() >= deadline {
            bail!(
                "{done} of {} receipts final at the deadline ({} listed)",
                ids.len(),
                ours.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
