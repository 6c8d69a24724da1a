//! `ulo vault` as processes: its own flags and defaults, and the README's demo end to end.

use std::process::Command;

fn ulo(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ulo"))
        .args(args)
        .env("ULO_LOG", "warn")
        .env_remove("ULO_VAULT_LISTEN")
        .env_remove("ULO_VAULT_DATA_DIR")
        .env_remove("ULO_VAULT_DEMO_LISTEN")
        .output()
        .expect("run ulo");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The help text of the flag `--name` (up to the next flag).
fn flag_help<'a>(help: &'a str, name: &str) -> &'a str {
    let start = help
        .find(&format!("  --{name} "))
        .unwrap_or_else(|| panic!("no --{name} in:\n{help}"));
    let rest = &help[start + 2..];
    let end = rest[2..].find("  --").map_or(rest.len(), |i| i + 2);
    &rest[..end]
}

#[test]
fn vault_help_shows_the_vaults_own_flags_and_defaults_and_ulo_serve_keeps_its_own() {
    let (ok, help, err) = ulo(&["vault", "serve", "--help"]);
    assert!(ok, "{err}");
    let listen = flag_help(&help, "listen");
    assert!(listen.contains("ULO_VAULT_LISTEN"), "{listen}");
    assert!(listen.contains("[default: 127.0.0.1:8300]"), "{listen}");
    let data_dir = flag_help(&help, "data-dir");
    assert!(data_dir.contains("ULO_VAULT_DATA_DIR"), "{data_dir}");
    assert!(
        data_dir.contains("[default: ./ulo-vault-data]"),
        "{data_dir}"
    );
    assert!(flag_help(&help, "database-url").contains("ULO_VAULT_DATABASE_URL"));
    for (flag, env) in [
        ("idp-issuer", "ULO_VAULT_IDP_ISSUER"),
        ("client-id", "ULO_VAULT_CLIENT_ID"),
        ("client-secret", "ULO_VAULT_CLIENT_SECRET"),
    ] {
        assert!(flag_help(&help, flag).contains(env), "--{flag}: {help}");
    }
    for ulo_only in [
        "8080",
        "./ulo-data",
        "ULO_LISTEN",
        "ULO_DATA_DIR",
        "--issuer",
        "--config",
    ] {
        assert!(!help.contains(ulo_only), "{ulo_only} in:\n{help}");
    }

    let (ok, help, err) = ulo(&["vault", "demo-app", "--help"]);
    assert!(ok, "{err}");
    let listen = flag_help(&help, "listen");
    assert!(listen.contains("ULO_VAULT_DEMO_LISTEN"), "{listen}");
    assert!(listen.contains("[default: 127.0.0.1:8400]"), "{listen}");

    let (ok, help, err) = ulo(&["serve", "--help"]);
    assert!(ok, "{err}");
    for ulo_flag in ["--config", "--data-dir", "--database-url", "--issuer"] {
        assert!(help.contains(ulo_flag), "{ulo_flag} in:\n{help}");
    }
    assert!(
        flag_help(&help, "listen").contains("[default: 127.0.0.1:8080]"),
        "{help}"
    );
    assert!(!help.contains("ULO_VAULT"), "{help}");
}

#[test]
fn ulos_flags_before_vault_are_refused_with_where_to_put_them() {
    let (ok, _, err) = ulo(&[
        "--listen",
        "127.0.0.1:1",
        "vault",
        "serve",
        "--idp-issuer",
        "http://127.0.0.1:9",
        "--client-id",
        "c",
        "--client-secret",
        "s",
        "--admin-token",
        "a",
        "--scim-token",
        "b",
    ]);
    assert!(!ok);
    assert!(err.contains("ulo vault serve --listen ADDR"), "{err}");
}
