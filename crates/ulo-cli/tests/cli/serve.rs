//! `ulo serve` as a process: first start, shutdown, master-key checks, and no job lost when a
//! process is killed with SIGKILL.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use serde_json::json;
use time::Duration;
use ulo_core::clock::Clock;
use ulo_core::ids::JobId;
use ulo_core::job::NewJob;
use ulo_core::store::Store;
use ulo_server::clock::SystemClock;
use ulo_testkit::{Backend, Database, PG_ENV, wait_for};

use crate::procs::{Counter, endpoint, serve};

const TOKEN: &str = "ulo_cli_test_token_0123456789abcdefgh";

fn common_env(master_key: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ULO_MASTER_KEY", master_key.to_string()),
        ("ULO_BOOTSTRAP_TOKEN", TOKEN.to_string()),
        ("ULO_OUTBOUND_ALLOW_HTTP_LOOPBACK", "1".to_string()),
        ("ULO_WORKER_CONCURRENCY", "8".to_string()),
        ("ULO_WORKER_LEASE_SECONDS", "2".to_string()),
    ]
}

async fn enqueue(store: &dyn Store, url: &str, n: usize) -> Vec<JobId> {
    let now = SystemClock.now();
    let mut tx = store.begin().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let job = NewJob::new(
            "webhook",
            json!({"url": url, "body": {"n": i}}),
            now,
            Duration::hours(1),
        );
        ids.push(job.id);
        tx.enqueue_job(&job).await.unwrap();
    }
    tx.commit().await.unwrap();
    ids
}

async fn all_done(store: &dyn Store, n: i64) -> Option<()> {
    let c = store
        .read()
        .await
        .ok()?
        .count_jobs(Some("webhook"))
        .await
        .ok()?;
    assert_eq!(c.dead, 0, "no job may die");
    (c.done == n).then_some(())
}

fn check_deliveries(counter: &Counter, ids: &[JobId], killed_concurrency: usize) {
    let seen = counter.seen.lock().unwrap();
    let keys: HashSet<String> = ids.iter().map(|i| i.to_string()).collect();
    assert_eq!(
        seen.keys().cloned().collect::<HashSet<_>>(),
        keys,
        "every job was delivered, and nothing else"
    );
    let repeats: usize = seen.values().map(|n| n - 1).sum();
    // Only a job in flight on the killed process at the moment of the kill may go out twice
    // (at-least-once); every other job is delivered exactly once.
    assert!(
        repeats <= killed_concurrency,
        "{repeats} repeated deliveries, more than the {killed_concurrency} that were in flight"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_prints_the_token_once_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let key = ulo_jose::MasterKey::generate().to_base64();
    let mut env = common_env(&key);
    env.retain(|(k, _)| *k != "ULO_BOOTSTRAP_TOKEN");
    let mut first = serve(dir.path(), &env).await.unwrap();
    assert!(
        first
            .banner
            .contains("First start: created super admin admin@ulo.example.com"),
        "{}",
        first.banner
    );
    let printed = |label: &str| {
        first
            .banner
            .lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(label))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("{label} printed: {}", first.banner))
    };
    let token = printed("API token:");
    assert!(token.starts_with("ulo_"), "{token}");
    assert!(
        first
            .banner
            .contains(&format!("console:    {}/admin", first.url)),
        "{}",
        first.banner
    );
    // The printed password signs the admin in to the console through ulo's sign-in page.
    let password = printed("password:");
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = browser
        .get(format!("{}/login", first.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "name=\"csrf\" value=\"";
    let at = form.find(marker).expect("csrf field") + marker.len();
    let csrf = &form[at..at + form[at..].find('"').unwrap()];
    let signed_in = browser
        .post(format!("{}/login", first.url))
        .form(&[
            ("username", "admin@ulo.example.com"),
            ("password", password.as_str()),
            ("csrf", csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let opened = browser
        .get(format!("{}/admin/signin", first.url))
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 303);
    assert_eq!(opened.headers()["location"], "/admin");
    let console = browser
        .get(format!("{}/admin/people", first.url))
        .send()
        .await
        .unwrap();
    assert_eq!(console.status(), 200);
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{}/api/v1/users", first.url))
        .header("Authorization", format!("SSWS {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        http.get(format!("{}/health", first.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let pid = first.child.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(StdDuration::from_secs(30), first.child.wait())
        .await
        .expect("exits after SIGTERM")
        .unwrap();
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");

    let second = serve(dir.path(), &env).await.unwrap();
    assert!(
        !second.banner.contains("First start"),
        "the token is never printed again"
    );
    assert!(!second.banner.contains(&token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_refuses_a_different_master_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = serve(
        dir.path(),
        &common_env(&ulo_jose::MasterKey::generate().to_base64()),
    )
    .await
    .unwrap();
    first.child.kill().await.unwrap();
    let err = match serve(
        dir.path(),
        &common_env(&ulo_jose::MasterKey::generate().to_base64()),
    )
    .await
    {
        Ok(_) => panic!("started with the wrong master key"),
        Err(e) => e,
    };
    assert!(err.contains("sealed with another master key"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_kill_9_then_restart_loses_no_job() {
    let dir = tempfile::tempdir().unwrap();
    let env = common_env(&ulo_jose::MasterKey::generate().to_base64());
    let counter = Counter::default();
    let url = endpoint(counter.clone(), StdDuration::from_millis(20)).await;
    let mut a = serve(dir.path(), &env).await.unwrap();
    let store = ulo_store::open(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("ulo.db").display()
    ))
    .await
    .unwrap();
    let ids = enqueue(store.as_ref(), &url, 300).await;
    wait_for(
        "deliveries to start",
        StdDuration::from_secs(30),
        || async { (counter.total() >= 40).then_some(()) },
    )
    .await;
    a.child.kill().await.unwrap();
    let delivered_at_kill = counter.total();
    assert!(delivered_at_kill < 300, "the kill must land mid-way");

    let _b = serve(dir.path(), &env).await.unwrap();
    wait_for("every job to be done", StdDuration::from_secs(90), || {
        all_done(store.as_ref(), 300)
    })
    .await;
    check_deliveries(&counter, &ids, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_postgres_share_the_queue_and_survive_a_kill_9() {
    if std::env::var(PG_ENV).is_err() {
        eprintln!("skipped: set {PG_ENV} to run the multi-node test");
        return;
    }
    let db = Database::new(Backend::Postgres).await.unwrap();
    let mut env = common_env(&ulo_jose::MasterKey::generate().to_base64());
    env.push(("ULO_DATABASE_URL", db.url.clone()));
    let counter = Counter::default();
    let url = endpoint(counter.clone(), StdDuration::from_millis(20)).await;
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let mut a = serve(dir_a.path(), &env).await.unwrap();
    let _b = serve(dir_b.path(), &env).await.unwrap();
    let store: Arc<dyn Store> = db.open().await.unwrap();
    let ids = enqueue(store.as_ref(), &url, 400).await;
    wait_for(
        "deliveries to start",
        StdDuration::from_secs(30),
        || async { (counter.total() >= 60).then_some(()) },
    )
    .await;
    a.child.kill().await.unwrap();
    assert!(counter.total() < 400, "the kill must land mid-way");

    wait_for("every job to be done", StdDuration::from_secs(90), || {
        all_done(store.as_ref(), 400)
    })
    .await;
    check_deliveries(&counter, &ids, 8);
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_intake_settings_and_a_bad_threat_list_stop_the_start_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let key = ulo_jose::MasterKey::generate().to_base64();
    let with = |extra: &[(&'static str, &str)]| {
        let mut env = common_env(&key);
        env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        env
    };
    let refused =
        async |env: Vec<(&'static str, String)>, says: &str| match serve(dir.path(), &env).await {
            Ok(mut s) => {
                s.child.kill().await.unwrap();
                panic!("started despite {env:?}");
            }
            Err(e) => assert!(e.contains(says), "expected {says:?} in {e}"),
        };
    refused(
        with(&[("ULO_SECURITY_EVENTS_MAX_AGE_SECONDS", "0")]),
        "ULO_SECURITY_EVENTS_MAX_AGE_SECONDS: must be 1 to 604800 seconds, found 0",
    )
    .await;
    refused(
        with(&[("ULO_SECURITY_EVENTS_FETCH_TIMEOUT_SECONDS", "soon")]),
        "SECURITY_EVENTS_FETCH_TIMEOUT_SECONDS",
    )
    .await;
    let threats = dir.path().join("threats.txt");
    std::fs::write(&threats, "203.0.113.0/24\n203.0.113.0/33\n").unwrap();
    let file = threats.display().to_string();
    refused(with(&[("ULO_THREAT_LIST_FILE", &file)]), "line 2").await;

    // Fixed, with changed intake settings: it starts.
    std::fs::write(&threats, "203.0.113.0/24\n").unwrap();
    let mut s = serve(
        dir.path(),
        &with(&[
            ("ULO_THREAT_LIST_FILE", &file),
            ("ULO_SECURITY_EVENTS_MAX_AGE_SECONDS", "120"),
        ]),
    )
    .await
    .unwrap();
    s.child.kill().await.unwrap();
}
