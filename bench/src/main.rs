//! `ulo-bench`: benchmarks of ulo's Universal Logout engine against a real `ulo serve` process.
//!
//! For each storage backend it starts a fresh `ulo serve` (new data directory; for PostgreSQL a
//! new database), runs fake logout-enabled apps in process, and measures:
//!
//! * `latency`: one user × 100 apps answering after 50 ms; time from sending the logout until
//!   the receipt is COMPLETED (target: median ≤ 150 ms);
//! * `throughput`: 10,000 users × 3 apps answering at once; deliveries per second from the first
//!   logout sent until every receipt is COMPLETED (target: ≥ 2,000/s);
//! * `risk` (only when asked for): Identity Threat Protection — a provider's signed SET to the
//!   logout receipt COMPLETED (one person × 5 apps answering after 50 ms and one long-polling
//!   agent; target: median ≤ 250 ms), and SET intake (64 requests in flight; target ≥ 2,000
//!   accepted SETs/s);
//! * `devices` (only when asked for): Device Logout agents simulated in process — 10,000 holding
//!   a long-poll, the pickup latency of 1,000 commands (target: p99 ≤ 1 s), polls per second
//!   (target: ≥ 5,000/s), and the server's memory.
//!
//! Progress goes to stderr; stdout gets a readable summary and one JSON line per scenario and
//! backend (the lines that start with `{`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests and harnesses: a panic is a failure report

mod api;
mod cpu;
mod devices;
mod fake_app;
mod latency;
mod risk;
mod stats;
mod throughput;
mod ulo;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::{Parser, ValueEnum};
use serde_json::{Value, json};

use crate::api::Api;
use crate::ulo::{Backend, StartOptions, Ulo};

/// Benchmarks of ulo's Universal Logout engine and Device Logout agent protocol.
#[derive(Parser, Debug)]
#[command(name = "ulo-bench", version, about, long_about = None)]
struct Cli {
    /// The ulo binary [default: <target dir>/release/ulo, honouring CARGO_TARGET_DIR].
    #[arg(long)]
    ulo: Option<PathBuf>,
    /// Run `cargo build --release -p ulo-cli` first.
    #[arg(long)]
    build: bool,
    /// Storage backends to run on, each with a fresh `ulo serve`.
    #[arg(long, value_enum, default_value_t = BackendArg::Both)]
    backend: BackendArg,
    /// Scenarios to run.
    #[arg(long, value_enum, default_value_t = ScenarioArg::All)]
    scenario: ScenarioArg,
    /// PostgreSQL server on which a fresh database is created per run (and dropped after).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pg_url: String,
    /// Keep each run's data directory (with the server log) and database.
    #[arg(long)]
    keep: bool,
    /// Longest one logout (latency) or the measured part (throughput) may take, in seconds.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,

    /// latency: apps assigned to the user.
    #[arg(long, default_value_t = 100)]
    apps: usize,
    /// latency: how long each app takes to answer, in milliseconds.
    #[arg(long, default_value_t = 50)]
    app_delay_ms: u64,
    /// latency: measured repetitions per way of watching the receipt.
    #[arg(long, default_value_t = 20)]
    reps: usize,
    /// latency: unmeasured logouts first.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// latency: how to learn that a receipt is final (`both` measures the stream, then polling).
    #[arg(long, value_enum, default_value_t = WatchArg::Both)]
    watch: WatchArg,
    /// latency: interval between polls, in milliseconds.
    #[arg(long, default_value_t = 5)]
    poll_interval_ms: u64,
    /// latency: the median to meet, in milliseconds.
    #[arg(long, default_value_t = 150)]
    target_median_ms: u64,

    /// throughput: users logged out.
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    /// throughput: apps each user is assigned to.
    #[arg(long, default_value_t = 3)]
    apps_per_user: usize,
    /// throughput: how long each app takes to answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    throughput_delay_ms: u64,
    /// throughput: setup requests in flight.
    #[arg(long, default_value_t = 32)]
    setup_concurrency: usize,
    /// throughput: logout requests in flight.
    #[arg(long, default_value_t = 64)]
    trigger_concurrency: usize,
    /// throughput: the delivery rate to meet, per second.
    #[arg(long, default_value_t = 2000.0)]
    target_rate: f64,

    /// devices: commands whose pickup is timed.
    #[arg(long, default_value_t = 1000)]
    device_commands: usize,
    /// devices: agents holding a long-poll meanwhile (each a socket here and in ulo: mind
    /// `ulimit -n`).
    #[arg(long, default_value_t = 10_000)]
    device_agents: usize,
    /// devices: enrollments in flight while setting up.
    #[arg(long, default_value_t = 32)]
    device_enroll_concurrency: usize,
    /// devices: agents polling back to back in the polls-per-second phase.
    #[arg(long, default_value_t = 256)]
    device_poll_concurrency: usize,
    /// devices: how long the polls-per-second phase runs, in seconds.
    #[arg(long, default_value_t = 10)]
    device_poll_secs: u64,
    /// devices: delay between the timed agent's long-poll going out and the next command, in
    /// milliseconds (the poll is waiting on the server by then).
    #[arg(long, default_value_t = 20)]
    device_think_ms: u64,
    /// devices: the pickup p99 to meet, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    target_pickup_p99_ms: u64,
    /// devices: the polls per second to meet.
    #[arg(long, default_value_t = 5000.0)]
    target_polls: f64,

    /// risk: timed signals (SET posted → logout COMPLETED), one at a time.
    #[arg(long, default_value_t = 200)]
    risk_signals: usize,
    /// risk: logout-enabled apps the person is assigned to (the rule logs them out of all).
    #[arg(long, default_value_t = 5)]
    risk_apps: usize,
    /// risk: how long each app takes to answer, in milliseconds.
    #[arg(long, default_value_t = 50)]
    risk_app_delay_ms: u64,
    /// risk: SETs posted in the intake phase.
    #[arg(long, default_value_t = 4000)]
    risk_intake_sets: usize,
    /// risk: people the intake phase's SETs are about (round robin).
    #[arg(long, default_value_t = 200)]
    risk_intake_people: usize,
    /// risk: SET requests in flight in the intake phase.
    #[arg(long, default_value_t = 64)]
    risk_intake_concurrency: usize,
    /// risk: deactivate the seed's rule for the intake phase (measures the intake without the
    /// logouts it starts).
    #[arg(long)]
    risk_intake_log_only: bool,
    /// risk: the median signal → COMPLETED to meet, in milliseconds.
    #[arg(long, default_value_t = 250)]
    risk_target_median_ms: u64,
    /// risk: the accepted SETs per second to meet.
    #[arg(long, default_value_t = 2000.0)]
    risk_target_rate: f64,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum BackendArg {
    Sqlite,
    Postgres,
    Both,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ScenarioArg {
    Latency,
    Throughput,
    /// Device Logout's agents (not part of `all`).
    Devices,
    /// Identity Threat Protection: risk signal → logout, and SET intake (not part of `all`).
    Risk,
    /// latency and throughput.
    All,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum WatchArg {
    Sse,
    Poll,
    Both,
}

/// One scenario's result on one backend.
enum Outcome {
    Latency(latency::Report),
    Throughput(throughput::Report),
    Devices(devices::Report),
    Risk(risk::Report),
}

impl Outcome {
    fn text(&self, backend: &str) -> String {
        match self {
            Outcome::Latency(r) => r.text(backend),
            Outcome::Throughput(r) => r.text(backend),
            Outcome::Devices(r) => r.text(backend),
            Outcome::Risk(r) => r.text(backend),
        }
    }

    fn json(&self, backend: &str) -> Value {
        match self {
            Outcome::Latency(r) => r.json(backend),
            Outcome::Throughput(r) => r.json(backend),
            Outcome::Devices(r) => r.json(backend),
            Outcome::Risk(r) => r.json(backend),
        }
    }

    fn meets_target(&self) -> bool {
        match self {
            Outcome::Latency(r) => r.meets_target(),
            Outcome::Throughput(r) => r.meets_target(),
            Outcome::Devices(r) => r.meets_target(),
            Outcome::Risk(r) => r.meets_target(),
        }
    }
}

impl Cli {
    fn backends(&self) -> Vec<Backend> {
        match self.backend {
            BackendArg::Sqlite => vec![Backend::Sqlite],
            BackendArg::Postgres => vec![Backend::Postgres],
            BackendArg::Both => vec![Backend::Sqlite, Backend::Postgres],
        }
    }

    fn latency(&self) -> Option<latency::Config> {
        if !matches!(self.scenario, ScenarioArg::Latency | ScenarioArg::All) {
            return None;
        }
        let watches = match self.watch {
            WatchArg::Sse => vec![latency::Watch::Stream],
            WatchArg::Poll => vec![latency::Watch::Poll],
            WatchArg::Both => vec![latency::Watch::Stream, latency::Watch::Poll],
        };
        Some(latency::Config {
            apps: self.apps,
            app_delay: Duration::from_millis(self.app_delay_ms),
            reps: self.reps,
            warmup: self.warmup,
            watches,
            poll_interval: Duration::from_millis(self.poll_interval_ms),
            target_median: Duration::from_millis(self.target_median_ms),
            timeout: Duration::from_secs(self.timeout_secs),
        })
    }

    fn throughput(&self) -> Option<throughput::Config> {
        if !matches!(self.scenario, ScenarioArg::Throughput | ScenarioArg::All) {
            return None;
        }
        Some(throughput::Config {
            users: self.users,
            apps_per_user: self.apps_per_user,
            app_delay: Duration::from_millis(self.throughput_delay_ms),
            setup_concurrency: self.setup_concurrency.max(1),
            trigger_concurrency: self.trigger_concurrency.max(1),
            timeout: Duration::from_secs(self.timeout_secs),
            target_rate: self.target_rate,
        })
    }

    fn devices(&self) -> Option<devices::Config> {
        if !matches!(self.scenario, ScenarioArg::Devices) {
            return None;
        }
        Some(devices::Config {
            commands: self.device_commands,
            agents: self.device_agents,
            enroll_concurrency: self.device_enroll_concurrency.max(1),
            poll_concurrency: self.device_poll_concurrency.max(1),
            poll_duration: Duration::from_secs(self.device_poll_secs.max(1)),
            think: Duration::from_millis(self.device_think_ms),
            target_p99: Duration::from_millis(self.target_pickup_p99_ms),
            target_polls: self.target_polls,
            timeout: Duration::from_secs(self.timeout_secs),
        })
    }

    fn risk(&self) -> Option<risk::Config> {
        if !matches!(self.scenario, ScenarioArg::Risk) {
            return None;
        }
        Some(risk::Config {
            signals: self.risk_signals.max(1),
            apps: self.risk_apps.max(1),
            app_delay: Duration::from_millis(self.risk_app_delay_ms),
            intake_sets: self.risk_intake_sets.max(1),
            intake_people: self.risk_intake_people.max(1),
            intake_concurrency: self.risk_intake_concurrency.max(1),
            intake_log_only: self.risk_intake_log_only,
            target_median: Duration::from_millis(self.risk_target_median_ms),
            target_rate: self.risk_target_rate,
            timeout: Duration::from_secs(self.timeout_secs),
        })
    }

    fn check(&self) -> Result<()> {
        if self.device_commands == 0 || self.device_agents == 0 {
            bail!("--device-commands and --device-agents must be at least 1");
        }
        if self.reps == 0 || self.apps == 0 || self.users == 0 || self.apps_per_user == 0 {
            bail!("--reps, --apps, --users and --apps-per-user must be at least 1");
        }
        Ok(())
    }
}

/// Ctrl-C stopped the run.
#[derive(Debug)]
struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// Facts about the run that every JSON line carries.
fn context(bin: &std::path::Path, ulo: &Ulo) -> Value {
    json!({
        "ulo": bin.display().to_string(),
        "uloPid": ulo.pid,
        "workerConcurrency": std::env::var("ULO_WORKER_CONCURRENCY").ok(),
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
    })
}

/// Runs the chosen scenarios on one fresh server; prints each result as it comes.
async fn run_backend(
    cli: &Cli,
    bin: &std::path::Path,
    backend: Backend,
    results: &mut Vec<(Backend, Outcome)>,
) -> Result<()> {
    eprintln!("== {}: starting {}", backend.name(), bin.display());
    let server = Ulo::start(StartOptions {
        bin,
        backend,
        pg_url: &cli.pg_url,
        keep: cli.keep,
    })
    .await?;
    eprintln!(
        "== {}: ulo serve (pid {}) on {}, log {}",
        backend.name(),
        server.pid,
        server.url,
        server.log_path().display()
    );
    let run = async {
        let api = Api::new(&server.url, ulo::TOKEN)?;
        let meter = cpu::Meter::new(server.pid, server.database().map(str::to_string));
        let ctx = context(bin, &server);
        if let Some(cfg) = cli.latency() {
            let r = latency::run(&api, &cfg, &meter).await?;
            report(backend, Outcome::Latency(r), &ctx, results);
        }
        if let Some(cfg) = cli.throughput() {
            let r = throughput::run(&api, &cfg, &meter).await?;
            report(backend, Outcome::Throughput(r), &ctx, results);
        }
        if let Some(cfg) = cli.devices() {
            let r = devices::run(&api, &server.url, server.pid, &cfg, &meter).await?;
            report(backend, Outcome::Devices(r), &ctx, results);
        }
        if let Some(cfg) = cli.risk() {
            let r = risk::run(&api, &server.url, &cfg, &meter).await?;
            report(backend, Outcome::Risk(r), &ctx, results);
        }
        Ok::<_, anyhow::Error>(())
    };
    let outcome = tokio::select! {
        r = run => r,
        _ = tokio::signal::ctrl_c() => Err(Interrupted.into()),
    };
    let problems = server.log_problems();
    if !problems.is_empty() {
        eprintln!(
            "== {}: the server logged {} warnings or errors; the first ones:",
            backend.name(),
            problems.len()
        );
        for line in problems.iter().take(5) {
            eprintln!("   {line}");
        }
    }
    let stopped = server.stop().await;
    outcome?;
    stopped
}

/// Prints one result: the summary text, then its JSON line.
fn report(backend: Backend, outcome: Outcome, ctx: &Value, results: &mut Vec<(Backend, Outcome)>) {
    let mut line = outcome.json(backend.name());
    if let (Some(l), Some(c)) = (line.as_object_mut(), ctx.as_object()) {
        l.extend(c.clone());
    }
    println!("{}", outcome.text(backend.name()));
    println!("{line}");
    results.push((backend, outcome));
}

async fn main_async(cli: Cli) -> Result<bool> {
    cli.check()?;
    if cli.build {
        ulo::build()?;
    }
    let bin = ulo::locate(cli.ulo.clone())?;
    let mut results = Vec::new();
    let mut failed = false;
    for backend in cli.backends() {
        if let Err(e) = run_backend(&cli, &bin, backend, &mut results).await {
            eprintln!("== {}: failed: {e:#}", backend.name());
            failed = true;
            if e.is::<Interrupted>() {
                break;
            }
        }
    }
    println!("== Summary");
    for (backend, outcome) in &results {
        let verdict = if outcome.meets_target() {
            "MET"
        } else {
            "MISSED"
        };
        let line = outcome.json(backend.name());
        let figure = match outcome {
            Outcome::Latency(_) => format!("median {} ms", line["medianMs"]),
            Outcome::Throughput(_) => format!("{} deliveries/s", line["deliveriesPerS"]),
            Outcome::Devices(_) => format!(
                "pickup p99 {} ms, {} agents, {} polls/s",
                line["pickupMs"]["p99"], line["connected"], line["pollsPerS"]
            ),
            Outcome::Risk(_) => format!(
                "median {} ms, p99 {} ms, {} SETs/s",
                line["medianMs"], line["p99Ms"], line["setsPerS"]
            ),
        };
        println!(
            "{:<10} {:<8} {figure:<28} target {verdict}",
            line["scenario"].as_str().unwrap_or(""),
            backend.name(),
        );
    }
    Ok(!failed)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(main_async(cli)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
