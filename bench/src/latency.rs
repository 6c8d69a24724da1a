//! Scenario `latency`: one user assigned to many logout-enabled apps (100 by default) whose
//! endpoints answer after a delay (50 ms by default). Each repetition logs the same user out of
//! every app and times it from sending `POST /api/v1/users/{id}/logout` until the receipt is
//! COMPLETED, watched either on the live receipt (server-sent events, opened right after the 202)
//! or by polling `GET /api/v1/logouts/{id}`.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use crate::api::{self, Api};
use crate::cpu::{Meter, Usage};
use crate::fake_app::FakeApp;
use crate::stats::{Summary, ms, round};

/// How the harness learns that a receipt is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watch {
    /// The live receipt, `GET /api/v1/logouts/{id}/stream`.
    Stream,
    /// `GET /api/v1/logouts/{id}` every poll interval.
    Poll,
}

impl Watch {
    fn name(self) -> &'static str {
        match self {
            Watch::Stream => "sse",
            Watch::Poll => "poll",
        }
    }
}

/// What to run.
pub struct Config {
    /// Apps assigned to the user.
    pub apps: usize,
    /// How long each app takes to answer.
    pub app_delay: Duration,
    /// Measured repetitions per way of watching.
    pub reps: usize,
    /// Unmeasured logouts first (connections to the apps get opened, caches warm).
    pub warmup: usize,
    /// The ways of watching to measure, each for `reps` repetitions.
    pub watches: Vec<Watch>,
    /// Interval between polls with [`Watch::Poll`].
    pub poll_interval: Duration,
    /// The median the scenario should meet.
    pub target_median: Duration,
    /// How long one logout may take before the run fails.
    pub timeout: Duration,
}

/// Timings of one way of watching.
pub struct Series {
    /// The way of watching.
    pub watch: Watch,
    /// Send of the logout to a COMPLETED receipt seen by the harness.
    pub total: Summary,
    /// Send of the logout to its 202.
    pub accepted: Summary,
    /// The receipt's own `completed - created` (server clock, millisecond resolution).
    pub server: Summary,
}

/// The scenario's result.
pub struct Report {
    /// Apps per logout.
    pub apps: usize,
    /// App answer delay.
    pub app_delay: Duration,
    /// One series per way of watching.
    pub series: Vec<Series>,
    /// Warm-up logouts, milliseconds.
    pub warmup_ms: Vec<f64>,
    /// Requests the fake apps answered (should be `apps × logouts`).
    pub app_requests: u64,
    /// Requests the fake apps refused (no bearer token); should be none.
    pub app_rejected: u64,
    /// Logouts run, warm-up included.
    pub logouts: usize,
    /// The target median.
    pub target_median: Duration,
    /// CPU used by the measured repetitions.
    pub cpu: Usage,
    /// Wall time of the measured repetitions.
    pub wall: Duration,
}

impl Report {
    /// Whether the median of the first series (the preferred way of watching) meets the target.
    pub fn meets_target(&self) -> bool {
        self.series
            .first()
            .is_some_and(|s| s.total.median <= ms(self.target_median))
    }

    /// Human-readable lines.
    pub fn text(&self, backend: &str) -> String {
        let mut out = format!(
            "latency [{backend}]: 1 user x {} apps answering after {} ms\n",
            self.apps,
            self.app_delay.as_millis()
        );
        for s in &self.series {
            out.push_str(&format!(
                "  {:<4} logout -> COMPLETED: {}\n",
                s.watch.name(),
                s.total.line()
            ));
            out.push_str(&format!(
                "       logout -> 202:       {}\n       server completed-created: {}\n",
                s.accepted.line(),
                s.server.line()
            ));
        }
        if !self.warmup_ms.is_empty() {
            let w: Vec<String> = self.warmup_ms.iter().map(|m| format!("{m:.1}")).collect();
            out.push_str(&format!("  warm-up: {} ms\n", w.join(", ")));
        }
        out.push_str(&format!("  {}\n", self.cpu.line(self.wall)));
        out.push_str(&format!(
            "  target: median <= {} ms: {}\n",
            self.target_median.as_millis(),
            if self.meets_target() { "MET" } else { "MISSED" }
        ));
        out
    }

    /// The machine-readable line.
    pub fn json(&self, backend: &str) -> Value {
        let mut series = serde_json::Map::new();
        for s in &self.series {
            series.insert(
                s.watch.name().into(),
                json!({
                    "totalMs": s.total.json(),
                    "acceptedMs": s.accepted.json(),
                    "serverMs": s.server.json(),
                }),
            );
        }
        json!({
            "scenario": "latency",
            "backend": backend,
            "apps": self.apps,
            "appDelayMs": self.app_delay.as_millis() as u64,
            "medianMs": self.series.first().map(|s| round(s.total.median)),
            "series": series,
            "warmupMs": self.warmup_ms.iter().map(|m| round(*m)).collect::<Vec<_>>(),
            "logouts": self.logouts,
            "appRequests": self.app_requests,
            "appRejected": self.app_rejected,
            "targetMedianMs": self.target_median.as_millis() as u64,
            "meetsTarget": self.meets_target(),
            "cpu": self.cpu.json(self.wall),
        })
    }
}

/// One measured logout.
struct Sample {
    total: Duration,
    accepted: Duration,
    server_ms: f64,
}

/// Runs the scenario against the server `api` talks to.
pub async fn run(api: &Api, cfg: &Config, meter: &Meter) -> Result<Report> {
    let fake = FakeApp::start(cfg.app_delay).await?;
    eprintln!("latency: creating 1 user and {} apps", cfg.apps);
    let user = api.create_user("latency.bench@example.com").await?;
    let apps: Vec<String> = futures::stream::iter(0..cfg.apps)
        .map(|n| {
            let endpoint = fake.endpoint(n);
            async move { api.create_app(&format!("Latency app {n}"), &endpoint).await }
        })
        .buffered(16)
        .try_collect()
        .await?;
    futures::stream::iter(&apps)
        .map(|app| api.assign(app, &user))
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await?;

    let mut logouts = 0;
    let mut warmup_ms = Vec::new();
    for _ in 0..cfg.warmup {
        let s = once(api, &user, cfg, Watch::Stream).await?;
        warmup_ms.push(ms(s.total));
        logouts += 1;
    }
    let mut series = Vec::new();
    let cpu_start = meter.snapshot();
    let measured = Instant::now();
    for &watch in &cfg.watches {
        eprintln!(
            "latency: {} repetitions watched by {}",
            cfg.reps,
            watch.name()
        );
        let mut samples = Vec::new();
        for _ in 0..cfg.reps {
            samples.push(once(api, &user, cfg, watch).await?);
            logouts += 1;
        }
        let total: Vec<Duration> = samples.iter().map(|s| s.total).collect();
        let accepted: Vec<Duration> = samples.iter().map(|s| s.accepted).collect();
        let server: Vec<f64> = samples.iter().map(|s| s.server_ms).collect();
        series.push(Series {
            watch,
            total: Summary::of(&total).context("no repetitions")?,
            accepted: Summary::of(&accepted).context("no repetitions")?,
            server: Summary::of_ms(&server).context("no repetitions")?,
        });
    }
    let wall = measured.elapsed();
    let cpu = meter.since(cpu_start);
    let expected = (cfg.apps * logouts) as u64;
    // Every receipt was COMPLETED, so every app had answered: the count is final already.
    let app_requests = fake.requests();
    if app_requests != expected {
        eprintln!(
            "latency: the apps answered {app_requests} requests, expected {expected} \
             ({} distinct deliveries)",
            fake.distinct()
        );
    }
    Ok(Report {
        apps: cfg.apps,
        app_delay: cfg.app_delay,
        series,
        warmup_ms,
        app_requests,
        app_rejected: fake.rejected(),
        logouts,
        target_median: cfg.target_median,
        cpu,
        wall,
    })
}

/// One logout of `user`, watched by `watch`, checked to have reached every app.
async fn once(api: &Api, user: &str, cfg: &Config, watch: Watch) -> Result<Sample> {
    let t0 = Instant::now();
    let started = api.start_logout(user).await?;
    let accepted = t0.elapsed();
    let id = api::id(&started)?;
    let receipt = if api::is_final(&started) {
        started
    } else {
        let wait = async {
            match watch {
                Watch::Stream => api.follow(&id).await,
                Watch::Poll => loop {
                    let r = api.receipt(&id).await?;
                    if api::is_final(&r) {
                        break Ok(r);
                    }
                    tokio::time::sleep(cfg.poll_interval).await;
                },
            }
        };
        tokio::time::timeout(cfg.timeout, wait)
            .await
            .with_context(|| format!("logout {id} was not final within {:?}", cfg.timeout))??
    };
    let total = t0.elapsed();
    check(&receipt, cfg.apps)?;
    Ok(Sample {
        total,
        accepted,
        server_ms: api::server_ms(&receipt)?,
    })
}

/// A final receipt must be COMPLETED with every app target SUCCEEDED.
fn check(receipt: &Value, apps: usize) -> Result<()> {
    let succeeded = receipt["targets"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .filter(|t| t["type"] == "APP" && t["status"] == "SUCCEEDED")
                .count()
        })
        .unwrap_or(0);
    if api::status(receipt) != "COMPLETED" || succeeded != apps {
        bail!(
            "receipt {} is {} with {succeeded} of {apps} apps succeeded: {receipt}",
            receipt["id"],
            api::status(receipt)
        );
    }
    Ok(())
}
