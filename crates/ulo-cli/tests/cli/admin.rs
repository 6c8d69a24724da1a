//! Operator commands (`ulo keys`, `ulo tokens`) and health, against real processes.

use std::time::Duration as StdDuration;

use serde_json::Value;
use ulo_testkit::{Backend, Database, PG_ENV, wait_for};

use crate::procs::serve;

fn ulo(data_dir: &std::path::Path, key: &str, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ulo"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("ULO_MASTER_KEY", key)
        .env("ULO_LOG", "warn")
        .output()
        .expect("run ulo");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn jwks_kids(url: &str) -> Vec<String> {
    let v: Value = reqwest::get(format!("{url}/oauth2/v1/keys"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_and_retire_change_the_published_jwks() {
    let dir = tempfile::tempdir().unwrap();
    let key = ulo_jose::MasterKey::generate().to_base64();
    let env = vec![("ULO_MASTER_KEY", key.clone())];
    let mut first = serve(dir.path(), &env).await.unwrap();
    let before = jwks_kids(&first.url).await;
    assert_eq!(before.len(), 2, "one ES256 and one RS256 key");
    first.child.kill().await.unwrap();

    let (ok, out, err) = ulo(dir.path(), &key, &["keys", "rotate", "--alg", "ES256"]);
    assert!(ok, "{err}");
    let new_kid = out
        .split_whitespace()
        .nth(4)
        .unwrap()
        .trim_end_matches(';')
        .to_string();
    let (ok, listing, _) = ulo(dir.path(), &key, &["keys", "list"]);
    assert!(ok);
    assert_eq!(listing.lines().count(), 3);
    let old_es = listing
        .lines()
        .find(|l| l.contains("ES256") && l.contains("PUBLISHED"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();

    let mut second = serve(dir.path(), &env).await.unwrap();
    let during = jwks_kids(&second.url).await;
    assert_eq!(during.len(), 3, "the old key stays published until retired");
    assert!(during.contains(&new_kid) && during.contains(&old_es));
    second.child.kill().await.unwrap();

    let (ok, _, err) = ulo(dir.path(), &key, &["keys", "retire", &new_kid]);
    assert!(
        !ok && err.contains("active"),
        "the active key cannot be retired: {err}"
    );
    let (ok, _, err) = ulo(dir.path(), &key, &["keys", "retire", &old_es]);
    assert!(ok, "{err}");
    let (ok, _, err) = ulo(dir.path(), &key, &["keys", "rotate", "--alg", "HS256"]);
    assert!(!ok && err.contains("HS256"), "{err}");

    let third = serve(dir.path(), &env).await.unwrap();
    let after = jwks_kids(&third.url).await;
    assert_eq!(after.len(), 2);
    assert!(!after.contains(&old_es));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_create_prints_a_working_token_for_an_admin_only() {
    let dir = tempfile::tempdir().unwrap();
    let key = ulo_jose::MasterKey::generate().to_base64();
    let mut s = serve(dir.path(), &[("ULO_MASTER_KEY", key.clone())])
        .await
        .unwrap();
    let url = s.url.clone();
    let (ok, out, err) = ulo(
        dir.path(),
        &key,
        &[
            "tokens",
            "create",
            "--login",
            "admin@ulo.example.com",
            "--name",
            "ops",
        ],
    );
    assert!(ok, "{err}");
    let token = out.trim();
    let r = reqwest::Client::new()
        .get(format!("{url}/api/v1/api-tokens/current"))
        .header("Authorization", format!("SSWS {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (ok, _, err) = ulo(
        dir.path(),
        &key,
        &["tokens", "create", "--login", "nobody@example.com"],
    );
    assert!(!ok && err.contains("nobody@example.com"), "{err}");
    s.child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_503_when_the_database_is_gone() {
    if std::env::var(PG_ENV).is_err() {
        eprintln!("skipped: set {PG_ENV}");
        return;
    }
    let db = Database::new(Backend::Postgres).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        ("ULO_DATABASE_URL", db.url.clone()),
        (
            "ULO_MASTER_KEY",
            ulo_jose::MasterKey::generate().to_base64(),
        ),
    ];
    let s = serve(dir.path(), &env).await.unwrap();
    let health = format!("{}/health", s.url);
    assert_eq!(reqwest::get(&health).await.unwrap().status(), 200);
    db.cleanup().await;
    wait_for(
        "health to report the lost store",
        StdDuration::from_secs(30),
        || async {
            let r = reqwest::get(&health).await.ok()?;
            (r.status() == 503).then_some(())
        },
    )
    .await;
}
