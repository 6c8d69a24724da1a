//! The service files shipped in `dist/`: the systemd unit and the launchd daemon run `ulo agent
//! run` with flags the real binary has, on the state directory the README (and the unit's
//! comment) tell people to enroll into. The plist is read with a small XML reader made for it
//! (no plist crate in the tree); the unit with the subset of systemd's syntax it uses.

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
    let Plist::Dict(daemon) = plist(&parse_xml(PLIST)) else {
        panic!("the plist holds a dict");
    };
    let mut keys: Vec<&str> = daemon.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), daemon.len(), "a key twice: {daemon:?}");
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
    for k in &keys {
        assert!(KNOWN.contains(k), "unexpected launchd key {k}");
    }
    let get = |key: &str| {
        daemon
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no {key}"))
    };
    assert_eq!(get("Label"), &Plist::String("com.ulo.agent".into()));
    let Plist::Array(args) = get("ProgramArguments") else {
        panic!("ProgramArguments is an array");
    };
    let args: Vec<String> = args
        .iter()
        .map(|a| match a {
            Plist::String(s) => s.clone(),
            other => panic!("an argument that is not a string: {other:?}"),
        })
        .collect();
    assert_eq!(args[0], BINARY);
    let state_dir = check_agent_run(&args[1..], &flags("run").await);
    assert_eq!(state_dir, "/Library/Application Support/ulo-agent");
    assert_eq!(get("RunAtLoad"), &Plist::Bool(true));
    assert_eq!(get("KeepAlive"), &Plist::Bool(true));
    assert_eq!(
        get("EnvironmentVariables"),
        &Plist::Dict(vec![("ULO_LOG".into(), Plist::String("info".into()))])
    );
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

/// An XML element (name, children) or text (entities decoded).
#[derive(Debug)]
enum Xml {
    Element(String, Vec<Xml>),
    Text(String),
}

/// A property list value (the kinds the shipped file uses, and integers).
#[derive(Debug, PartialEq)]
enum Plist {
    Dict(Vec<(String, Plist)>),
    Array(Vec<Plist>),
    String(String),
    Bool(bool),
    Integer(i64),
}

/// Parses an XML document: a prolog (declaration, DOCTYPE, comments), then one element. Panics
/// on what a property list does not contain (CDATA, processing instructions in the body) and on
/// anything malformed (unclosed or mismatched tags, bad entities, bad attributes).
fn parse_xml(text: &str) -> Xml {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("<?xml") {
            rest = after(r, "?>");
        } else if let Some(r) = rest.strip_prefix("<!--") {
            rest = after(r, "-->");
        } else if let Some(r) = rest.strip_prefix("<!DOCTYPE") {
            rest = after(r, ">");
        } else {
            break;
        }
    }
    let (root, mut rest) = element(rest);
    loop {
        rest = rest.trim_start();
        match rest.strip_prefix("<!--") {
            Some(r) => rest = after(r, "-->"),
            None => break,
        }
    }
    assert!(rest.is_empty(), "text after the root element: {rest:?}");
    root
}

/// What follows the first `end` in `s`.
fn after<'a>(s: &'a str, end: &str) -> &'a str {
    let at = s.find(end).unwrap_or_else(|| panic!("no {end:?}"));
    &s[at + end.len()..]
}

/// One element at the start of `s`; answers it and what follows.
fn element(s: &str) -> (Xml, &str) {
    let s = s.strip_prefix('<').expect("an element");
    let end = tag_end(s);
    let (tag, mut rest) = (&s[..end], &s[end + 1..]);
    let (tag, empty) = match tag.strip_suffix('/') {
        Some(t) => (t, true),
        None => (tag, false),
    };
    let name = tag.split_whitespace().next().expect("an element name");
    assert!(
        name.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)),
        "element name {name:?}"
    );
    check_attributes(&tag[name.len()..]);
    let name = name.to_string();
    if empty {
        return (Xml::Element(name, Vec::new()), rest);
    }
    let mut children = Vec::new();
    loop {
        if let Some(r) = rest.strip_prefix("<!--") {
            rest = after(r, "-->");
        } else if let Some(r) = rest.strip_prefix("</") {
            let end = r.find('>').expect("a closing tag");
            assert_eq!(r[..end].trim_end(), name, "the closing tag");
            return (Xml::Element(name, children), &r[end + 1..]);
        } else if rest.starts_with("<!") || rest.starts_with("<?") {
            panic!("unexpected markup: {}", &rest[..rest.len().min(40)]);
        } else if rest.starts_with('<') {
            let (child, r) = element(rest);
            children.push(child);
            rest = r;
        } else {
            let end = rest
                .find('<')
                .unwrap_or_else(|| panic!("<{name}> is not closed"));
            if !rest[..end].trim().is_empty() {
                children.push(Xml::Text(unescape(&rest[..end])));
            }
            rest = &rest[end..];
        }
    }
}

/// Where a tag ends (its `>`, outside attribute quotes).
fn tag_end(s: &str) -> usize {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return i,
            (None, '<') => panic!("'<' inside a tag"),
            _ => {}
        }
    }
    panic!("a tag is not closed")
}

/// Checks `name="value"` pairs (the plist's `version="1.0"`).
fn check_attributes(mut s: &str) {
    loop {
        s = s.trim_start();
        if s.is_empty() {
            return;
        }
        let (name, rest) = s.split_once('=').expect("attribute=value");
        assert!(
            name.trim()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_:".contains(c)),
            "attribute name {name:?}"
        );
        let rest = rest.trim_start();
        let q = rest.chars().next().expect("an attribute value");
        assert!(q == '"' || q == '\'', "unquoted attribute value");
        let end = rest[1..].find(q).expect("an attribute value closed");
        unescape(&rest[1..1 + end]);
        s = &rest[end + 2..];
    }
}

/// Decodes XML's entities and character references; panics on a bare `&` or an unknown one.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let end = rest[at..].find(';').expect("an entity ends with ;") + at;
        let entity = &rest[at + 1..end];
        let c = match entity {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = entity.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = entity.strip_prefix('#') {
                    dec.parse().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32)
                    .unwrap_or_else(|| panic!("unknown entity &{entity};"))
            }
        };
        out.push(c);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The property list an XML document holds (its root `<plist>` holds one value).
fn plist(root: &Xml) -> Plist {
    let Xml::Element(name, children) = root else {
        panic!("no root element");
    };
    assert_eq!(name, "plist");
    assert_eq!(children.len(), 1, "one value in <plist>");
    value(&children[0])
}

fn value(x: &Xml) -> Plist {
    let Xml::Element(name, children) = x else {
        panic!("text where a value belongs: {x:?}");
    };
    let text = || match children.as_slice() {
        [] => String::new(),
        [Xml::Text(t)] => t.clone(),
        other => panic!("<{name}> holds {other:?}"),
    };
    match name.as_str() {
        "dict" => {
            assert!(children.len() % 2 == 0, "<dict> holds key/value pairs");
            Plist::Dict(
                children
                    .chunks(2)
                    .map(|pair| match &pair[0] {
                        Xml::Element(k, text) if k == "key" => match text.as_slice() {
                            [Xml::Text(key)] => (key.clone(), value(&pair[1])),
                            other => panic!("a <key> holding {other:?}"),
                        },
                        other => panic!("{other:?} where a <key> belongs"),
                    })
                    .collect(),
            )
        }
        "array" => Plist::Array(children.iter().map(value).collect()),
        "string" => Plist::String(text()),
        "integer" => Plist::Integer(text().trim().parse().expect("an integer")),
        "true" | "false" => {
            assert!(children.is_empty(), "<{name}/> is empty");
            Plist::Bool(name == "true")
        }
        other => panic!("unexpected plist element <{other}>"),
    }
}

#[test]
fn the_plist_reader_refuses_what_it_does_not_understand() {
    let ok = parse_xml(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE plist>\n<plist version=\"1.0\"><dict><key>A &amp; B</key><string>x&#x3c;y</string><key>N</key><integer>5</integer></dict></plist>\n",
    );
    assert_eq!(
        plist(&ok),
        Plist::Dict(vec![
            ("A & B".into(), Plist::String("x<y".into())),
            ("N".into(), Plist::Integer(5)),
        ])
    );
    for bad in [
        "<plist><dict><key>A</key></dict></plist>",
        "<plist><dict><key>A</key><string>x</dict></plist>",
        "<plist><string>a & b</string></plist>",
        "<plist><string><![CDATA[x]]></string></plist>",
        "<plist><date>2026-01-01T00:00:00Z</date></plist>",
        "<plist><string>x</string></plist> trailing",
    ] {
        let outcome = std::panic::catch_unwind(|| plist(&parse_xml(bad)));
        assert!(outcome.is_err(), "accepted {bad}");
    }
}
