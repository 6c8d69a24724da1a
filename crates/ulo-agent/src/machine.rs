//! What the agent reports about the machine: platform, OS version, host name, console user.

use std::process::Command;

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

/// `macos` or `linux` (what ulo enrolls).
pub fn platform() -> &'static str {
    if cfg!(target_os = "macos") {
        "macos"
    } else {
        "linux"
    }
}

/// The OS version: `sw_vers` on macOS, `/etc/os-release` on Linux.
pub fn os_version() -> String {
    if cfg!(target_os = "macos") {
        return output("sw_vers", &["-productVersion"])
            .map(|v| format!("macOS {v}"))
            .unwrap_or_else(|| "macOS".into());
    }
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "Linux".into())
}

/// The host name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| output("hostname", &[]))
        .unwrap_or_else(|| "unknown-host".into())
}

/// Who is signed in at the console: the owner of `/dev/console` on macOS, the user of seat0's
/// session on Linux (systemd-logind); `None` when nobody is.
pub fn console_user() -> Option<String> {
    if cfg!(target_os = "macos") {
        return output("stat", &["-f", "%Su", "/dev/console"]).filter(|u| u != "root");
    }
    let sessions = output("loginctl", &["list-sessions", "--no-legend"])?;
    sessions.lines().find_map(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        // SESSION UID USER SEAT …
        (cols.len() >= 4 && cols[3] == "seat0").then(|| cols[2].to_string())
    })
}
