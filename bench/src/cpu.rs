//! CPU time spent during a measured phase, read from `/proc` (Linux; elsewhere it reads as
//! zero): by `ulo serve`, by this harness (fake apps and clients), and by the PostgreSQL backends
//! serving the run's database. With wall time it tells whether a phase was CPU-bound, and where
//! the CPU went.

use std::time::Duration;

use serde_json::{Value, json};

use crate::stats::round;

/// Kernel clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`; 100 on every
/// mainstream Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU time used so far, per party.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    ulo: f64,
    harness: f64,
    postgres: f64,
}

/// CPU used between two snapshots, in seconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// `ulo serve`.
    pub ulo: f64,
    /// This harness.
    pub harness: f64,
    /// The PostgreSQL backends connected to the run's database (not PostgreSQL's shared
    /// processes such as the WAL writer).
    pub postgres: f64,
}

/// Takes snapshots for the server with process id `ulo_pid`.
#[derive(Debug, Clone)]
pub struct Meter {
    ulo_pid: u32,
    database: Option<String>,
}

impl Meter {
    /// A meter for `ulo_pid`, and with PostgreSQL, the backends serving `database`.
    pub fn new(ulo_pid: u32, database: Option<String>) -> Meter {
        Meter { ulo_pid, database }
    }

    /// CPU used so far.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            ulo: process_seconds(&self.ulo_pid.to_string()).unwrap_or(0.0),
            harness: process_seconds("self").unwrap_or(0.0),
            postgres: self.database.as_deref().map_or(0.0, backend_seconds),
        }
    }

    /// CPU used since `start`.
    pub fn since(&self, start: Snapshot) -> Usage {
        let now = self.snapshot();
        Usage {
            ulo: now.ulo - start.ulo,
            harness: now.harness - start.harness,
            // Backends that exited in between take their time with them: never negative.
            postgres: (now.postgres - start.postgres).max(0.0),
        }
    }
}

impl Usage {
    /// As JSON, with each party's share of `wall` (1.0 = one core busy throughout).
    pub fn json(&self, wall: Duration) -> Value {
        let w = wall.as_secs_f64().max(1e-9);
        json!({
            "uloS": round(self.ulo),
            "harnessS": round(self.harness),
            "postgresS": round(self.postgres),
            "uloCores": round(self.ulo / w),
            "harnessCores": round(self.harness / w),
            "postgresCores": round(self.postgres / w),
        })
    }

    /// One line for the summary text.
    pub fn line(&self, wall: Duration) -> String {
        let w = wall.as_secs_f64().max(1e-9);
        format!(
            "CPU over {:.2} s: ulo {:.2} s ({:.2} cores), harness {:.2} s ({:.2}), postgres {:.2} s ({:.2})",
            w,
            self.ulo,
            self.ulo / w,
            self.harness,
            self.harness / w,
            self.postgres,
            self.postgres / w
        )
    }
}

/// User + system CPU seconds of `/proc/<pid>/stat`.
fn process_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat_seconds(&stat)
}

/// User + system CPU seconds from the text of a `/proc/<pid>/stat`.
fn stat_seconds(stat: &str) -> Option<f64> {
    // The command name is in parentheses and may hold spaces: fields count from after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3 of the file; utime and stime are fields 14 and 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

/// CPU seconds of the PostgreSQL backends connected to `database` (a backend's command line
/// reads `postgres: [CLUSTER: ]USER DATABASE HOST(PORT) STATE`; benchmark database names are
/// unique, so any word equal to it will do).
fn backend_seconds(database: &str) -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(|e| e.ok())
        .filter(|e| {
            std::fs::read(e.path().join("cmdline")).is_ok_and(|c| {
                let c = String::from_utf8_lossy(&c);
                c.starts_with("postgres: ") && c.split_whitespace().any(|w| w == database)
            })
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|stat| stat_seconds(&stat))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_utime_and_stime() {
        let stat = "1234 (ulo serve) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0";
        assert_eq!(stat_seconds(stat), Some(3.0));
    }

    #[test]
    fn reads_this_process() {
        assert!(process_seconds("self").is_some());
    }
}
