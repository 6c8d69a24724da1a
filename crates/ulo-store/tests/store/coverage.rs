//! The suite calls every store method: a method added to one of ulo-core's store traits
//! (`crates/ulo-core/src/store/`) without a conformance test that calls it fails here.

use std::path::Path;

/// The `.rs` files of a folder, as (file name, text).
fn sources(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// Every method the store traits declare (`Store`, `CommandWatch`, and each area's read and
/// write parts), as (file, name).
fn store_methods() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ulo-core/src/store");
    let mut methods = Vec::new();
    for (file, text) in sources(&dir) {
        for line in text.lines() {
            let line = line.trim_start();
            let Some(rest) = line
                .strip_prefix("async fn ")
                .or_else(|| line.strip_prefix("fn "))
            else {
                continue;
            };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            methods.push((file.clone(), name));
        }
    }
    methods
}

/// The store methods no conformance test calls (`.name(` appears nowhere in the suite).
fn uncalled() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/store");
    let suite: String = sources(&dir)
        .into_iter()
        .filter(|(name, _)| name != "coverage.rs")
        .map(|(_, text)| text)
        .collect();
    store_methods()
        .into_iter()
        .filter(|(_, name)| !suite.contains(&format!(".{name}(")))
        .map(|(file, name)| format!("{file}: {name}"))
        .collect()
}

#[test]
fn the_store_traits_are_read() {
    let methods = store_methods();
    assert!(
        methods.len() > 100,
        "found only {} store methods: is the trait folder still crates/ulo-core/src/store?",
        methods.len()
    );
    for name in [
        "begin",
        "read",
        "insert_user",
        "get_user",
        "commit",
        "ack_ssf_set",
    ] {
        assert!(methods.iter().any(|(_, m)| m == name), "{name} not found");
    }
}

#[test]
fn the_conformance_suite_calls_every_store_method() {
    let missing = uncalled();
    assert!(
        missing.is_empty(),
        "store methods the conformance suite never calls (add a test in tests/store/):\n{}",
        missing.join("\n")
    );
}
