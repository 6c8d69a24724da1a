//! Scenario `devices`: Device Logout's agent protocol against one `ulo serve`, with the agents
//! simulated in this process by the agent's own code (`ulo-agent`): each enrolls through ulo's
//! device CA with its own P-256 key, pins ulo's keys, and signs every request; requests in
//! flight each hold their own connection. It measures:
//!
//! * connected agents: how many agents (10,000 by default) hold a long-poll at once, how long
//!   they took to connect, and the memory (RSS) of `ulo serve` with them;
//! * pickup latency: commands (1,000 by default) issued by *Log Out All Devices* to one more
//!   agent holding a long-poll, while the others hold theirs; the time from sending the logout
//!   until that agent's poll answer brings the command, verified against the keys it pinned
//!   (target: p99 ≤ 1 s);
//! * polls per second: agents polling without waiting, back to back, for a fixed time, while the
//!   long-polls stay connected (target: ≥ 5,000/s).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use ulo_agent::client::AgentClient;
use ulo_agent::clock::ServerClock;
use ulo_agent::enroll::{EnrollOptions, enroll};
use ulo_agent::state::{Enrolled, StateDir};

use crate::api::Api;
use crate::cpu::{Meter, Usage};
use crate::stats::{Summary, ms, round};

/// Agents that start their long-poll together, and how often a wave starts (10,000/s).
const CONNECT_WAVE: usize = 500;
const CONNECT_WAVE_EVERY: Duration = Duration::from_millis(50);

/// What to run.
pub struct Config {
    /// Commands whose pickup is timed.
    pub commands: usize,
    /// Agents holding a long-poll meanwhile.
    pub agents: usize,
    /// Enrollments in flight while setting up.
    pub enroll_concurrency: usize,
    /// Agents polling back to back in the polls-per-second phase.
    pub poll_concurrency: usize,
    /// How long the polls-per-second phase runs.
    pub poll_duration: Duration,
    /// How long after the timed agent's long-poll went out each command is issued (so the poll
    /// is waiting on the server, as a real agent's almost always is).
    pub think: Duration,
    /// The pickup p99 to meet.
    pub target_p99: Duration,
    /// The polls per second to meet.
    pub target_polls: f64,
    /// How long setup or one pickup may take before the run fails.
    pub timeout: Duration,
}

/// The scenario's result.
pub struct Report {
    /// Agents asked to hold a long-poll.
    pub agents: usize,
    /// Long-polls in flight once all had connected (the least seen during the pickup phase).
    pub connected: usize,
    /// Enrolling every agent.
    pub enroll: Duration,
    /// From the first long-poll sent until all were in flight.
    pub connect: Duration,
    /// Send of the logout to the command in the agent's hands.
    pub pickup: Summary,
    /// Send of the logout to its 202.
    pub accepted: Summary,
    /// Polls answered per second in the polls-per-second phase.
    pub polls_per_s: f64,
    /// Polls answered in that phase.
    pub polls: u64,
    /// Polling agents in that phase.
    pub poll_concurrency: usize,
    /// Each poll's round trip in that phase.
    pub poll_latency: Summary,
    /// CPU used during that phase, and its wall time.
    pub poll_cpu: (Usage, Duration),
    /// Long-polls or polls that failed (any is a problem: the first error is printed).
    pub errors: u64,
    /// RSS of `ulo serve`, KiB: before the agents, with them all connected, and its peak.
    pub rss_kib: Rss,
    /// CPU used during the pickup phase, and its wall time.
    pub cpu: Usage,
    /// Wall time of the pickup phase.
    pub wall: Duration,
    /// Targets.
    pub target_p99: Duration,
    /// Targets.
    pub target_polls: f64,
    /// Agents the issue asks one server to hold.
    pub target_agents: usize,
}

/// Memory of `ulo serve`, KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rss {
    /// Before any agent enrolled.
    pub before: u64,
    /// With every agent connected.
    pub connected: u64,
    /// The peak over the run (`VmHWM`).
    pub peak: u64,
}

/// The goal of the issue: agents one server holds.
const TARGET_AGENTS: usize = 10_000;
/// How long an agent's long-poll waits on the server (as `ulo agent run`).
pub(crate) const LONG_POLL: u64 = 55;

impl Report {
    /// Whether every target is met.
    pub fn meets_target(&self) -> bool {
        self.pickup.p99 <= ms(self.target_p99)
            && self.connected >= self.target_agents.min(self.agents)
            && self.agents >= self.target_agents
            && self.polls_per_s >= self.target_polls
            && self.errors == 0
    }

    /// Human-readable lines.
    pub fn text(&self, backend: &str) -> String {
        let mib = |k: u64| k as f64 / 1024.0;
        format!(
            "devices [{backend}]: {} agents holding a long-poll, 1 more timed\n\
             \x20 enroll {:.1} s, connect {:.1} s; long-polls in flight: {} (least seen)\n\
             \x20 pickup (logout sent -> command in the agent's hands): {} p99 {:.1} ms\n\
             \x20 logout -> 202: {}\n\
             \x20 polls: {:.0}/s ({} polls by {} agents back to back), round trip {} p99 {:.1} ms\n\
             \x20   {}\n\
             \x20 ulo RSS: {:.1} MiB before, {:.1} MiB with the agents connected, peak {:.1} MiB\n\
             \x20 errors: {}\n\
             \x20 {}\n\
             \x20 targets: pickup p99 <= {} ms, >= {} agents, >= {:.0} polls/s: {}\n",
            self.agents,
            self.enroll.as_secs_f64(),
            self.connect.as_secs_f64(),
            self.connected,
            self.pickup.line(),
            self.pickup.p99,
            self.accepted.line(),
            self.polls_per_s,
            self.polls,
            self.poll_concurrency,
            self.poll_latency.line(),
            self.poll_latency.p99,
            self.poll_cpu.0.line(self.poll_cpu.1),
            mib(self.rss_kib.before),
            mib(self.rss_kib.connected),
            mib(self.rss_kib.peak),
            self.errors,
            self.cpu.line(self.wall),
            self.target_p99.as_millis(),
            self.target_agents,
            self.target_polls,
            if self.meets_target() { "MET" } else { "MISSED" }
        )
    }

    /// The machine-readable line.
    pub fn json(&self, backend: &str) -> Value {
        json!({
            "scenario": "devices",
            "backend": backend,
            "agents": self.agents,
            "connected": self.connected,
            "enrollS": round(self.enroll.as_secs_f64()),
            "connectS": round(self.connect.as_secs_f64()),
            "pickupMs": self.pickup.json(),
            "acceptedMs": self.accepted.json(),
            "pollsPerS": round(self.polls_per_s),
            "polls": self.polls,
            "pollConcurrency": self.poll_concurrency,
            "pollMs": self.poll_latency.json(),
            "pollCpu": self.poll_cpu.0.json(self.poll_cpu.1),
            "errors": self.errors,
            "uloRssKiB": {"before": self.rss_kib.before, "connected": self.rss_kib.connected, "peak": self.rss_kib.peak},
            "cpu": self.cpu.json(self.wall),
            "targetP99Ms": self.target_p99.as_millis() as u64,
            "targetAgents": self.target_agents,
            "targetPollsPerS": self.target_polls,
            "met": self.meets_target(),
        })
    }
}

/// A `/proc/<pid>/status` field in KiB (0 where there is no `/proc`).
fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The soft limit on open files of this process (`None` where unknown).
fn open_files_limit() -> Option<u64> {
    std::fs::read_to_string("/proc/self/limits")
        .ok()?
        .lines()
        .find(|l| l.starts_with("Max open files"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()
}

/// One simulated agent.
pub(crate) struct Agent {
    pub(crate) client: AgentClient,
    pub(crate) report: Value,
}

impl Agent {
    pub(crate) fn pinned(&self) -> &Enrolled {
        self.client.enrolled()
    }
}

/// Enrolls one agent (state under `dir`) with the agent's own code; `console_user` is what it
/// reports on each poll.
pub(crate) async fn enroll_agent(
    api: &Api,
    server: &str,
    dir: &Path,
    http: &reqwest::Client,
    console_user: Option<&str>,
) -> Result<Agent> {
    let token = api.enrollment_token().await?;
    let opts = EnrollOptions {
        server: server.to_string(),
        token,
        state_dir: dir.to_path_buf(),
        agent_version: ulo_agent::VERSION.to_string(),
    };
    let enrolled = enroll(&opts).await.context("enroll an agent")?;
    let key = StateDir::open(dir)?.key()?;
    let report = json!({
        "consoleUser": console_user,
        "agentVersion": ulo_agent::VERSION,
        "pinnedKids": ulo_agent::keyset::kids(&enrolled.jwks),
    });
    let client = AgentClient::with_http(
        enrolled,
        &key,
        Arc::new(ServerClock::default()),
        http.clone(),
    )?;
    Ok(Agent { client, report })
}

/// Counters shared by the agents' tasks.
#[derive(Default)]
struct Counters {
    in_flight: AtomicUsize,
    errors: AtomicU64,
    first_error: std::sync::Mutex<Option<String>>,
}

impl Counters {
    fn error(&self, e: impl std::fmt::Display) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_error.lock().unwrap_or_else(|e| e.into_inner());
        if first.is_none() {
            *first = Some(e.to_string());
        }
    }
}

/// Holds a long-poll, again and again (as `ulo agent run` does).
async fn hold_long_poll(agent: Arc<Agent>, counters: Arc<Counters>) {
    loop {
        counters.in_flight.fetch_add(1, Ordering::Relaxed);
        let r = agent.client.poll(LONG_POLL, &agent.report).await;
        counters.in_flight.fetch_sub(1, Ordering::Relaxed);
        match r {
            Ok(_) => {}
            Err(e) => {
                counters.error(format!("long-poll: {e}"));
                // As the agent does after a failure (without its growth: a bench has no outage).
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// What the timed agent tells the harness.
enum Event {
    /// Its long-poll went out.
    Polling,
    /// A poll answer brought verified commands, at this instant.
    Got(Instant, usize),
    /// It failed.
    Failed(String),
}

/// The timed agent: long-polls, verifies what comes against its pinned keys, acknowledges.
async fn timed_agent(agent: Agent, events: mpsc::Sender<Event>) {
    loop {
        if events.send(Event::Polling).await.is_err() {
            return;
        }
        let polled = match agent.client.poll(LONG_POLL, &agent.report).await {
            Ok(p) => p,
            Err(e) => {
                let _ = events.send(Event::Failed(e.to_string())).await;
                return;
            }
        };
        let at = Instant::now();
        if polled.commands.is_empty() {
            continue;
        }
        let now = agent.client.clock().now().unix_timestamp();
        let mut ids = Vec::new();
        for c in &polled.commands {
            match ulo_agent::command::verify(agent.pinned(), c, now) {
                Ok(s) => ids.push(s.id),
                Err(why) => {
                    let _ = events.send(Event::Failed(why)).await;
                    return;
                }
            }
        }
        if events.send(Event::Got(at, ids.len())).await.is_err() {
            return;
        }
        for id in ids {
            if let Err(e) = agent.client.ack(&id, true, "bench").await {
                let _ = events.send(Event::Failed(format!("ack: {e}"))).await;
                return;
            }
        }
    }
}

/// Waits for the next event that is not [`Event::Polling`] (or, with `polling`, for that one).
async fn next_event(
    events: &mut mpsc::Receiver<Event>,
    polling: bool,
    timeout: Duration,
) -> Result<Option<(Instant, usize)>> {
    loop {
        let ev = tokio::time::timeout(timeout, events.recv())
            .await
            .context("the timed agent went quiet")?
            .context("the timed agent stopped")?;
        match ev {
            Event::Polling if polling => return Ok(None),
            Event::Polling => {}
            Event::Got(at, n) if !polling => return Ok(Some((at, n))),
            Event::Got(_, n) => bail!("the timed agent got {n} commands nobody issued"),
            Event::Failed(why) => bail!("the timed agent failed: {why}"),
        }
    }
}

/// Runs the scenario against the server at `server` (process `pid`).
pub async fn run(api: &Api, server: &str, pid: u32, cfg: &Config, meter: &Meter) -> Result<Report> {
    // Each connected agent is a socket here and one in the server.
    if let Some(limit) = open_files_limit()
        && limit < (cfg.agents + cfg.poll_concurrency + 256) as u64
    {
        bail!(
            "{} agents need more open files than this process may have ({limit}): raise it \
             (e.g. `ulimit -n {}`) or pass fewer --device-agents",
            cfg.agents,
            cfg.agents + cfg.poll_concurrency + 1024
        );
    }
    let rss_before = status_kib(pid, "VmRSS:");
    api.enable_device_logout().await?;
    let user = api.create_user("device.bench@example.com").await?;
    let dirs = tempfile::Builder::new()
        .prefix("ulo-bench-agents-")
        .tempdir()
        .context("creating the agents' state directories")?;
    let http = ulo_agent::client::http_client(Duration::from_secs(LONG_POLL + 35))?;

    eprintln!(
        "devices: enrolling {} agents ({} at a time)",
        cfg.agents + 1,
        cfg.enroll_concurrency
    );
    let started = Instant::now();
    let timed = enroll_agent(
        api,
        server,
        &dirs.path().join("timed"),
        &http,
        Some("device.bench@example.com"),
    )
    .await?;
    let agents: Vec<Arc<Agent>> = futures::stream::iter(0..cfg.agents)
        .map(|n| {
            let dir = dirs.path().join(n.to_string());
            let http = http.clone();
            async move {
                enroll_agent(api, server, &dir, &http, None)
                    .await
                    .map(Arc::new)
            }
        })
        .buffer_unordered(cfg.enroll_concurrency.max(1))
        .try_collect()
        .await?;
    let enroll_time = started.elapsed();

    eprintln!("devices: {} agents connecting", cfg.agents);
    let counters = Arc::new(Counters::default());
    let mut holders = JoinSet::new();
    let connecting = Instant::now();
    // In waves, as a fleet arrives (agents poll with jitter), rather than 10,000 connects in
    // one instant (which can overflow the kernel's SYN queue, `tcp_max_syn_backlog`).
    for wave in agents.chunks(CONNECT_WAVE) {
        for a in wave {
            holders.spawn(hold_long_poll(a.clone(), counters.clone()));
        }
        tokio::time::sleep(CONNECT_WAVE_EVERY).await;
    }
    // Connected: every long-poll sent and not answered (a refused one returns at once and
    // counts as an error; one that ran its 55 s is sent again at once).
    let deadline = Instant::now() + cfg.timeout;
    while counters.in_flight.load(Ordering::Relaxed) < cfg.agents {
        if counters.errors.load(Ordering::Relaxed) > 0 || Instant::now() > deadline {
            bail!(
                "only {} of {} agents connected; first error: {:?}",
                counters.in_flight.load(Ordering::Relaxed),
                cfg.agents,
                counters
                    .first_error
                    .lock()
                    .map(|e| e.clone())
                    .unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let connect_time = connecting.elapsed();
    let rss_connected = status_kib(pid, "VmRSS:");
    eprintln!(
        "devices: {} long-polls held after {:.1} s; ulo RSS {:.1} MiB",
        cfg.agents,
        connect_time.as_secs_f64(),
        rss_connected as f64 / 1024.0
    );

    let (tx, mut events) = mpsc::channel(4);
    let timed_task = tokio::spawn(timed_agent(timed, tx));
    // Its first poll links the device to the user.
    next_event(&mut events, true, cfg.timeout).await?;
    wait_linked(api, &user, cfg.timeout).await?;

    eprintln!("devices: timing the pickup of {} commands", cfg.commands);
    let mut pickup = Vec::with_capacity(cfg.commands);
    let mut accepted = Vec::with_capacity(cfg.commands);
    let mut least_connected = usize::MAX;
    let cpu_start = meter.snapshot();
    let measured = Instant::now();
    for i in 0..cfg.commands {
        if i > 0 {
            next_event(&mut events, true, cfg.timeout).await?;
        }
        tokio::time::sleep(cfg.think).await;
        least_connected = least_connected.min(counters.in_flight.load(Ordering::Relaxed));
        let sent = Instant::now();
        api.log_out_devices(&user).await?;
        accepted.push(sent.elapsed());
        let (at, n) = next_event(&mut events, false, cfg.timeout)
            .await?
            .context("no command")?;
        if n != 1 {
            bail!("the timed agent got {n} commands for one logout");
        }
        pickup.push(at.saturating_duration_since(sent));
        if (i + 1) % 200 == 0 {
            eprintln!("devices: {} commands picked up", i + 1);
        }
    }
    let wall = measured.elapsed();
    let cpu = meter.since(cpu_start);
    timed_task.abort();

    eprintln!(
        "devices: {} agents polling back to back for {:.0} s",
        cfg.poll_concurrency.min(agents.len()),
        cfg.poll_duration.as_secs_f64()
    );
    let poll_cpu_start = meter.snapshot();
    let polling = Instant::now();
    let (polls, poll_latency, rate) =
        polls_per_second(&agents, cfg.poll_concurrency, cfg.poll_duration, &counters).await;
    let poll_cpu = (meter.since(poll_cpu_start), polling.elapsed());
    let rss_peak = status_kib(pid, "VmHWM:");
    holders.abort_all();
    if let Some(e) = counters.first_error.lock().ok().and_then(|e| e.clone()) {
        eprintln!(
            "devices: {} errors; the first: {e}",
            counters.errors.load(Ordering::Relaxed)
        );
    }
    Ok(Report {
        agents: cfg.agents,
        connected: least_connected.min(cfg.agents),
        enroll: enroll_time,
        connect: connect_time,
        pickup: Summary::of(&pickup).context("no commands")?,
        accepted: Summary::of(&accepted).context("no commands")?,
        polls_per_s: rate,
        polls,
        poll_concurrency: cfg.poll_concurrency.min(agents.len()),
        poll_latency: Summary::of(&poll_latency).unwrap_or(Summary {
            count: 0,
            min: 0.0,
            median: 0.0,
            p95: 0.0,
            p99: 0.0,
            max: 0.0,
            mean: 0.0,
        }),
        poll_cpu,
        errors: counters.errors.load(Ordering::Relaxed),
        rss_kib: Rss {
            before: rss_before,
            connected: rss_connected,
            peak: rss_peak,
        },
        cpu,
        wall,
        target_p99: cfg.target_p99,
        target_polls: cfg.target_polls,
        target_agents: TARGET_AGENTS,
    })
}

/// Waits until the user's device list shows the timed agent's device.
pub(crate) async fn wait_linked(api: &Api, user: &str, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if !api.user_devices(user).await?.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the timed agent's device was never linked to the user");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `concurrency` agents poll without waiting, back to back, for `duration`: answers the polls
/// answered, their round trips, and polls per second.
async fn polls_per_second(
    agents: &[Arc<Agent>],
    concurrency: usize,
    duration: Duration,
    counters: &Arc<Counters>,
) -> (u64, Vec<Duration>, f64) {
    let end = Instant::now() + duration;
    let started = Instant::now();
    let mut set = JoinSet::new();
    for a in agents.iter().take(concurrency.max(1)) {
        let a = a.clone();
        let counters = counters.clone();
        set.spawn(async move {
            let mut rtts = Vec::new();
            while Instant::now() < end {
                let t = Instant::now();
                match a.client.poll(0, &a.report).await {
                    Ok(_) => rtts.push(t.elapsed()),
                    Err(e) => counters.error(format!("poll: {e}")),
                }
            }
            rtts
        });
    }
    let mut all = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Ok(rtts) = r {
            all.extend(rtts);
        }
    }
    let elapsed = started.elapsed().as_secs_f64().max(1e-9);
    let n = all.len() as u64;
    (n, all, n as f64 / elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_memory_and_limits_of_this_process() {
        assert!(status_kib(std::process::id(), "VmRSS:") > 0);
        assert!(open_files_limit().is_some_and(|l| l > 0));
    }

    #[test]
    fn targets_need_every_figure() {
        let s = Summary::of_ms(&[10.0, 20.0]).unwrap();
        let mut r = Report {
            agents: 10_000,
            connected: 10_000,
            enroll: Duration::ZERO,
            connect: Duration::ZERO,
            pickup: s,
            accepted: s,
            polls_per_s: 6000.0,
            polls: 1,
            poll_concurrency: 1,
            poll_latency: s,
            poll_cpu: (Usage::default(), Duration::from_secs(1)),
            errors: 0,
            rss_kib: Rss::default(),
            cpu: Usage::default(),
            wall: Duration::from_secs(1),
            target_p99: Duration::from_secs(1),
            target_polls: 5000.0,
            target_agents: TARGET_AGENTS,
        };
        assert!(r.meets_target());
        r.errors = 1;
        assert!(!r.meets_target());
        r.errors = 0;
        r.agents = 100;
        r.connected = 100;
        assert!(!r.meets_target(), "fewer agents than the goal");
        assert_eq!(r.json("sqlite")["scenario"], "devices");
    }
}
