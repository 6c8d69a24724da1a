//! Running the system under test: finding the release `ulo` binary, starting `ulo serve` on a
//! fresh store (a new data directory, and for PostgreSQL a new database), and stopping it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use sqlx::{AssertSqlSafe, Connection};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The first admin's API token in every benchmark server.
pub const TOKEN: &str = "ulo_bench_bootstrap_token_0123456789abcdef";

/// How long `ulo serve` may take to print "Ready." and answer `/health`.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How long `ulo serve` may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// Environment variables that would point the server somewhere else than the benchmark's
/// fresh store, or give it another identity; never passed on. Tuning variables (such as
/// `ULO_WORKER_CONCURRENCY`) are.
const SCRUBBED_ENV: &[&str] = &[
    "ULO_CONFIG",
    "ULO_DATABASE_URL",
    "ULO_DATA_DIR",
    "ULO_LISTEN",
    "ULO_ISSUER",
    "ULO_MASTER_KEY",
    "ULO_MASTER_KEY_FILE",
    "ULO_BOOTSTRAP_TOKEN_FILE",
];

/// A storage backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in the data directory.
    Sqlite,
    /// A new database on the PostgreSQL server given by `--pg-url`.
    Postgres,
}

impl Backend {
    /// Its name in output.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The workspace root (this crate lives in `<root>/bench`).
fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// The cargo target directory in effect: `CARGO_TARGET_DIR` (relative to the workspace when
/// relative), else `<workspace>/target`.
fn target_dir() -> PathBuf {
    let root = workspace_root();
    match std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// The `ulo` binary to benchmark: `explicit`, else the release build in the target directory.
pub fn locate(explicit: Option<PathBuf>) -> Result<PathBuf> {
    let path = explicit.unwrap_or_else(|| target_dir().join("release").join("ulo"));
    if !path.is_file() {
        bail!(
            "no ulo binary at {}; build it first with `cargo build --release -p ulo-cli` \
             (with the same CARGO_TARGET_DIR), pass --build, or pass --ulo PATH",
            path.display()
        );
    }
    Ok(path)
}

/// Runs `cargo build --release -p ulo-cli` in the workspace (inheriting `CARGO_TARGET_DIR`).
pub fn build() -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["build", "--release", "-p", "ulo-cli"])
        .current_dir(workspace_root())
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --release -p ulo-cli failed: {status}");
    }
    Ok(())
}

/// A PostgreSQL database made for one run, dropped by [`Ulo::stop`].
struct PgDatabase {
    /// The server's maintenance URL the database was created from.
    admin_url: String,
    /// The database's name.
    name: String,
    /// Its URL.
    url: String,
}

impl PgDatabase {
    async fn create(admin_url: &str) -> Result<PgDatabase> {
        let name = format!("ulo_bench_{:016x}", rand::random::<u64>());
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .with_context(|| format!("connecting to {admin_url}"))?;
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .with_context(|| format!("creating database {name}"))?;
        conn.close().await.ok();
        let mut url = url::Url::parse(admin_url).context("--pg-url")?;
        url.set_path(&format!("/{name}"));
        Ok(PgDatabase {
            admin_url: admin_url.to_string(),
            name,
            url: url.to_string(),
        })
    }

    async fn drop_database(&self) -> Result<()> {
        let mut conn = sqlx::PgConnection::connect(&self.admin_url).await?;
        sqlx::query(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut conn)
        .await
        .with_context(|| format!("dropping database {}", self.name))?;
        conn.close().await.ok();
        Ok(())
    }
}

/// How to start a server.
pub struct StartOptions<'a> {
    /// The `ulo` binary.
    pub bin: &'a Path,
    /// Which store.
    pub backend: Backend,
    /// The PostgreSQL server to create a database on.
    pub pg_url: &'a str,
    /// Keep the data directory (with the server's log) and the database afterwards.
    pub keep: bool,
}

/// A running `ulo serve` on a fresh store.
pub struct Ulo {
    child: Child,
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// Process id (for `perf` and friends).
    pub pid: u32,
    data_dir: tempfile::TempDir,
    pg: Option<PgDatabase>,
    keep: bool,
}

impl Ulo {
    /// Starts `ulo serve` on an ephemeral port with a fresh store; waits (with a deadline) until
    /// it prints "Ready." and `/health` answers 200.
    pub async fn start(opts: StartOptions<'_>) -> Result<Ulo> {
        let data_dir = tempfile::Builder::new()
            .prefix("ulo-bench-")
            .tempdir()
            .context("creating a data directory")?;
        let pg = match opts.backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(PgDatabase::create(opts.pg_url).await?),
        };
        let log_path = data_dir.path().join("ulo.log");
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;
        let mut cmd = Command::new(opts.bin);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir.path());
        if let Some(pg) = &pg {
            cmd.args(["--database-url", &pg.url]);
        }
        for k in SCRUBBED_ENV {
            cmd.env_remove(k);
        }
        if std::env::var_os("ULO_LOG").is_none() {
            cmd.env("ULO_LOG", "warn");
        }
        cmd.env("ULO_BOOTSTRAP_TOKEN", TOKEN)
            .env("ULO_OUTBOUND_ALLOW_HTTP_LOOPBACK", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {}", opts.bin.display()))?;
        let pid = child.id().context("ulo exited at once")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + START_TIMEOUT;
        let mut banner = String::new();
        let ready = tokio::time::timeout_at(deadline.into(), async {
            while let Ok(Some(line)) = lines.next_line().await {
                banner.push_str(&line);
                banner.push('\n');
                if line.starts_with("Ready.") {
                    return banner
                        .lines()
                        .find_map(|l| l.split("is listening on ").nth(1))
                        .map(|u| u.trim().to_string());
                }
            }
            None
        })
        .await;
        let url = match ready {
            Ok(Some(url)) => url,
            _ => {
                let _ = child.kill().await;
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                if let Some(pg) = &pg {
                    let _ = pg.drop_database().await;
                }
                bail!("ulo serve did not become ready.\nstdout:\n{banner}\nstderr:\n{log}");
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let ulo = Ulo {
            child,
            url,
            pid,
            data_dir,
            pg,
            keep: opts.keep,
        };
        ulo.wait_healthy(deadline).await?;
        Ok(ulo)
    }

    /// Polls `/health` until it answers 200, or `deadline`.
    async fn wait_healthy(&self, deadline: Instant) -> Result<()> {
        let http = reqwest::Client::new();
        loop {
            let ok = http
                .get(format!("{}/health", self.url))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!("{}/health did not answer 200 in time", self.url);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The PostgreSQL database's name (`None` on SQLite).
    pub fn database(&self) -> Option<&str> {
        self.pg.as_ref().map(|p| p.name.as_str())
    }

    /// Where the server's stderr goes.
    pub fn log_path(&self) -> PathBuf {
        self.data_dir.path().join("ulo.log")
    }

    /// Lines of the server log at WARN or above (the server logs at warn unless `ULO_LOG` says
    /// otherwise), without terminal colours.
    pub fn log_problems(&self) -> Vec<String> {
        std::fs::read_to_string(self.log_path())
            .unwrap_or_default()
            .lines()
            .map(strip_ansi)
            .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
            .collect()
    }

    /// Stops the server (SIGTERM, then SIGKILL after a grace period), then removes its data
    /// directory and database unless asked to keep them.
    pub async fn stop(mut self) -> Result<()> {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        if tokio::time::timeout(STOP_TIMEOUT, self.child.wait())
            .await
            .is_err()
        {
            eprintln!("ulo did not exit within {STOP_TIMEOUT:?} of SIGTERM; killing it");
            let _ = self.child.kill().await;
        }
        if self.keep {
            let dir = self.data_dir.keep();
            eprintln!("kept the data directory {}", dir.display());
            if let Some(pg) = &self.pg {
                eprintln!("kept the database {}", pg.url);
            }
            return Ok(());
        }
        if let Some(pg) = &self.pg {
            pg.drop_database().await?;
        }
        Ok(())
    }
}

/// `line` without ANSI escape sequences (`ESC [ … letter`): tracing colours its output even
/// into a file.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_colours() {
        assert_eq!(
            strip_ansi("\u{1b}[2mtime\u{1b}[0m \u{1b}[33m WARN\u{1b}[0m slow"),
            "time  WARN slow"
        );
    }
}
