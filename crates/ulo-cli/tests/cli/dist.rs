//! The service files shipped in `dist/`: the systemd unit and the launchd daemon run `ulo agent
//! run` with flags the real binary has, on the state directory the README (and the unit's
//! comment) tell people to enroll into. The plist is read with the `plist` crate; the unit with
//! the subset of systemd's syntax it uses.

use std::collections::BTreeMap;
use std::process::Stdio;

use tokio::process::Command;

use crate::devices::agent;

const UNIT: &str = include_str!("../../../../dist/ulo-agent.service");
const PLIST: &str = include_str!("../../../../dist/com.ulo.agent.plist");
const README: &str = include_str!("../../../../README.md");

/// Where both files expect the binary.
const BINARY: &str = "/usr/local/bin/ulo";

#[tokio::test]
async fn the_systemd_unit_runs_an_agent_command_line_ulo_accepts() {
    let entries = unit_entries(UNIT);
    let sections: Vec<&str> = entries.iter().map(|(s, _, _)| s.as_str()).collect();
    for wanted in ["Unit", "Service", "Install"] {
        assert!(sections.contains(&wanted), "no [{wanted}] section");
    }
    let exec = one(&entries, "Service", "ExecStart");
    // A plain line, so splitting on whitespace is how systemd reads it.
    assert!(
        !exec.contains(['"', '\'', '\\', '%', '$']),
        "ExecStart uses quoting, specifiers or variables: teach this test systemd's rules first: {exec}"
    );
    let words: Vec<String> = exec.split_whitespace().map(str::to_string).collect();
    assert_eq!(words[0], BINARY, "an absolute path, no prefix");
    let state_dir = check_agent_run(&words[1..], &flags("run").await);
    assert_eq!(state_dir, "/var/lib/ulo-agent");
    // systemd creates the state directory (mode 0700) before the agent starts.
    assert_eq!(
        format!("/var/lib/{}", one(&entries, "Service", "StateDirectory")),
        state_dir
    );
    assert_eq!(one(&entries, "Service", "StateDirectoryMode"), "0700");
    assert_eq!(one(&entries, "Service", "Restart"), "always");
    assert_eq!(one(&entries, "Service", "Environment"), "ULO_LOG=info");
    assert_eq!(one(&entries, "Install", "WantedBy"), "multi-user.target");
    runs_until_the_state_dir(&words[1..], &state_dir).await;

    // The enrollment the unit's comment shows uses `enroll`'s flags and the same directory.
    let shown = UNIT
        .lines()
        .find_map(|l| {
            l.trim_start_matches(['#', ' '])
                .strip_prefix("ulo agent enroll ")
        })
        .expect("the unit shows how to enroll");
    let words: Vec<String> = shown.split_whitespace().map(str::to_string).collect();
    let enroll_flags = flags("enroll").await;
    let given = given_flags(&words, &enroll_flags);
    assert_eq!(
        given.get("state-dir").map(String::as_str),
        Some(&*state_dir)
    );
    for required in ["server", "token"] {
        assert!(given.contains_key(required), "{shown}");
    }

    assert!(
        readme().contains(&format!("--state-dir {state_dir}")),
        "the README's install steps enroll into {state_dir}"
    );
    verify_with_systemd_analyze().await;
}

#[tokio::test]
async fn the_launchd_daemon_runs_an_agent_command_line_ulo_accepts() {
    let daemon = plist::Value::from_reader_xml(PLIST.as_bytes()).expect("the plist parses");
    let daemon = daemon.as_dictionary().expect("the plist holds a dict");
    // launchd.plist(5) keys: a misspelt one is silently ignored by launchd.
    const KNOWN: [&str; 12] = [
        "Label",
        "ProgramArguments",
        "RunAtLoad",
        "KeepAlive",
        "StandardErrorPath",
        "StandardOutPath",
        "EnvironmentVariables",
        "WorkingDirectory",
        "ThrottleInterval",
        "ProcessType",
        "UserName",
        "ExitTimeOut",
    ];
    for k in daemon.keys() {
        assert!(KNOWN.contains(&k.as_str()), "unexpected launchd key {k}");
    }
    let get = |key: &str| daemon.get(key).unwrap_or_else(|| panic!("no {key}"));
    assert_eq!(get("Label").as_string(), Some("com.ulo.agent"));
    let args: Vec<String> = get("ProgramArguments")
        .as_array()
        .expect("ProgramArguments is an array")
        .iter()
        .map(|a| {
            a.as_string()
                .unwrap_or_else(|| panic!("an argument that is not a string: {a:?}"))
                .to_string()
        })
        .collect();
    assert_eq!(args[0], BINARY);
    let state_dir = check_agent_run(&args[1..], &flags("run").await);
    assert_eq!(state_dir, "/Library/Application Support/ulo-agent");
    assert_eq!(get("RunAtLoad").as_boolean(), Some(true));
    assert_eq!(get("KeepAlive").as_boolean(), Some(true));
    let env = get("EnvironmentVariables")
        .as_dictionary()
        .expect("EnvironmentVariables is a dict");
    assert_eq!(env.len(), 1, "{env:?}");
    assert_eq!(env.get("ULO_LOG").and_then(|v| v.as_string()), Some("info"));
    runs_until_the_state_dir(&args[1..], &state_dir).await;
    assert!(
        readme().contains(&format!("--state-dir \"{state_dir}\"")),
        "the README's install steps enroll into {state_dir}"
    );
}

#[test]
fn the_readme_names_the_shipped_files_and_where_they_run_ulo_from() {
    for file in ["dist/ulo-agent.service", "dist/com.ulo.agent.plist"] {
        assert!(readme().contains(&format!("`cp {file} ")), "{file}");
    }
    assert!(
        readme().contains(BINARY),
        "the README says where to put ulo"
    );
}

/// The README with its line breaks and indentation as single spaces (it wraps mid-sentence).
fn readme() -> String {
    README.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The long flags `ulo agent <sub> --help` lists, and whether each takes a value.
async fn flags(sub: &str) -> BTreeMap<String, bool> {
    let (ok, help, err) = agent(&[sub, "--help"]).await;
    assert!(ok, "{err}");
    let mut flags = BTreeMap::new();
    for line in help.lines() {
        // Flags are indented a little, their descriptions more.
        let indent = line.len() - line.trim_start().len();
        let line = line.trim_start();
        if indent > 6 || !line.starts_with('-') {
            continue;
        }
        // The flag column ends at two spaces (a description may follow on the same line).
        let column = line.split("  ").next().unwrap_or(line);
        let long = column.split(", ").last().unwrap_or(column);
        if let Some(rest) = long.strip_prefix("--") {
            let mut words = rest.split_whitespace();
            let name = words.next().unwrap().to_string();
            let takes_value = words.next().is_some_and(|w| w.starts_with('<'));
            flags.insert(name, takes_value);
        }
    }
    assert!(flags.contains_key("state-dir"), "{help}");
    flags
}

/// The flags in `words` (after the subcommand) and their values; panics on a flag `flags` does
/// not have, a value missing, or a positional argument.
fn given_flags(words: &[String], flags: &BTreeMap<String, bool>) -> BTreeMap<String, String> {
    let mut given = BTreeMap::new();
    let mut words = words.iter();
    while let Some(w) = words.next() {
        let flag = w
            .strip_prefix("--")
            .unwrap_or_else(|| panic!("{w:?} is not a flag (no positional arguments)"));
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        let takes_value = *flags
            .get(name)
            .unwrap_or_else(|| panic!("--{name} is not a flag of ulo agent (has: {flags:?})"));
        let value = match (takes_value, inline) {
            (true, Some(v)) => v,
            (true, None) => words
                .next()
                .unwrap_or_else(|| panic!("--{name} needs a value"))
                .clone(),
            (false, None) => String::new(),
            (false, Some(_)) => panic!("--{name} takes no value"),
        };
        assert!(
            given.insert(name.to_string(), value).is_none(),
            "--{name} twice"
        );
    }
    given
}

/// Checks `args` (after the binary) are `agent run` with flags it has; answers the state
/// directory.
fn check_agent_run(args: &[String], flags: &BTreeMap<String, bool>) -> String {
    assert_eq!(args[..2], ["agent", "run"], "{args:?}");
    let given = given_flags(&args[2..], flags);
    assert!(
        !given.contains_key("once"),
        "a service keeps running: {args:?}"
    );
    given.get("state-dir").expect("--state-dir").clone()
}

/// Runs the real `ulo` with `args` (after the binary), the state directory swapped for an empty
/// one: it gets past the command line and stops at the missing enrollment.
async fn runs_until_the_state_dir(args: &[String], state_dir: &str) {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("state");
    let args: Vec<&str> = args
        .iter()
        .map(|a| {
            if a == state_dir {
                empty.to_str().unwrap()
            } else {
                a.as_str()
            }
        })
        .collect();
    assert_eq!(args[0], "agent");
    let (ok, _, err) = agent(&args[1..]).await;
    assert!(!ok);
    assert!(
        err.contains("holds no enrollment: run `ulo agent enroll` first"),
        "{err}"
    );
}

/// `systemd-analyze verify` on the unit, run on the binary just built (where installed).
async fn verify_with_systemd_analyze() {
    let present = Command::new("systemd-analyze")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success());
    if !present {
        eprintln!("skipped: systemd-analyze is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("ulo-agent.service");
    std::fs::write(&unit, UNIT.replace(BINARY, env!("CARGO_BIN_EXE_ulo"))).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .await
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
}

/// A unit file's entries, `(section, key, value)` in order; comments skipped, continuation
/// lines joined.
fn unit_entries(text: &str) -> Vec<(String, String, String)> {
    let mut entries = Vec::new();
    let mut section = String::new();
    let mut pending = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with(['#', ';']) || (pending.is_empty() && line.is_empty()) {
            continue;
        }
        if let Some(start) = line.strip_suffix('\\') {
            pending.push_str(start);
            pending.push(' ');
            continue;
        }
        let line = std::mem::take(&mut pending) + line;
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        assert!(!section.is_empty(), "an entry before any section: {line}");
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not key=value: {line}"));
        entries.push((
            section.clone(),
            key.trim().to_string(),
            value.trim().to_string(),
        ));
    }
    assert!(pending.is_empty(), "a continuation at the end");
    entries
}

/// The one value of `key` in `section`.
fn one<'a>(entries: &'a [(String, String, String)], section: &str, key: &str) -> &'a str {
    let values: Vec<&str> = entries
        .iter()
        .filter(|(s, k, _)| s == section && k == key)
        .map(|(_, _, v)| v.as_str())
        .collect();
    assert_eq!(values.len(), 1, "[{section}] {key}: {values:?}");
    values[0]
}
