//! Risk signals survive `kill -9`: a provider whose keys ulo has not fetched yet pushes 200 SETs (150 people: 100 get one, 50 get
//! two, the second after the first was accepted), each answered 202, and `ulo serve` is
//! SIGKILLed right after the last 202 while the logouts the Entity Risk Policy started are still
//! being delivered (the app holds every request until the kill). A restarted `ulo serve` on the
//! same data finishes them.
//!
//! What is asserted: every accepted SET has its `security.events.provider.receive_event`, its
//! detection and its evaluation, exactly once; every person has exactly one logout, COMPLETED,
//! started in the transaction of their first SET; a person's second SET, arriving while their
//! logout is in progress, is coalesced into it (the documented rule: a policy logout of a person
//! by the same rule with the same scope still IN_PROGRESS takes the new detection instead of a
//! new logout) — so the app gets exactly the 150 logouts' deliveries and nothing else.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::task::JoinSet;
use ulo_testkit::{Backend, Database, PG_ENV, wait_for};

use crate::devices::{Admin, TOKEN};
use crate::procs::serve;
use crate::risk_seed::{LogoutApps, Provider, add_seed_rule, debug, gtr_app, log, push};

/// People; the first `ONCE` get one SET, the rest two.
const PEOPLE: usize = 150;
const ONCE: usize = 100;
const SETS: usize = ONCE + 2 * (PEOPLE - ONCE);
/// SETs in flight at once.
const CONCURRENCY: usize = 64;
const WAIT: Duration = Duration::from_secs(90);

fn env(extra: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let mut env = vec![
        (
            "ULO_MASTER_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_string(),
        ),
        ("ULO_BOOTSTRAP_TOKEN", TOKEN.to_string()),
        ("ULO_OUTBOUND_ALLOW_HTTP_LOOPBACK", "1".to_string()),
        // A claimed delivery of the dead process is claimed again 2 s after the kill.
        ("ULO_WORKER_LEASE_SECONDS", "2".to_string()),
        // At most 16 held deliveries: the rest are still queued at the kill.
        ("ULO_WORKER_CONCURRENCY", "16".to_string()),
        // The held requests must not time out before the kill.
        ("ULO_DELIVERY_TIMEOUT_SECONDS", "120".to_string()),
    ];
    env.extend(extra.iter().cloned());
    env
}

fn email(i: usize) -> String {
    format!("risky{i}@example.com")
}

/// The user a System Log event is about.
fn user_of(e: &Value) -> String {
    e["target"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["type"] == "User"))
        .and_then(|t| t["id"].as_str())
        .unwrap_or_else(|| panic!("no user target: {e}"))
        .to_string()
}

/// Every receipt (at most 200 here).
async fn receipts(admin: &Admin) -> Option<Vec<Value>> {
    let r = admin
        .http
        .get(format!("{}/api/v1/logouts?limit=200", admin.url))
        .header("Authorization", format!("SSWS {TOKEN}"))
        .send()
        .await
        .ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.json().await.ok()
}

async fn kill_9_after_a_burst_of_sets(extra: &[(&'static str, String)]) {
    let dir = tempfile::tempdir().unwrap();
    let env = env(extra);
    let mut first = serve(dir.path(), &env).await.expect("ulo serve");
    let admin = Admin {
        url: first.url.clone(),
        http: reqwest::Client::new(),
    };

    // The people, one logout-enabled app (holding requests), the provider and the seed's rule.
    let (apps, base) = LogoutApps::start(false, Duration::ZERO).await;
    let app = gtr_app(&admin, "Vault", &format!("{base}/vault")).await;
    let mut ids: Vec<String> = Vec::new();
    let mut set = JoinSet::new();
    for i in 0..PEOPLE {
        let (http, url) = (admin.http.clone(), admin.url.clone());
        set.spawn(async move {
            let r = http
                .post(format!("{url}/api/v1/users?activate=true"))
                .header("Authorization", format!("SSWS {TOKEN}"))
                .json(&json!({"profile": {"login": email(i), "email": email(i),
                                          "firstName": "Risky", "lastName": format!("P{i}")}}))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
            let u: Value = r.json().await.unwrap();
            (i, u["id"].as_str().unwrap().to_string())
        });
        if set.len() >= 8 {
            let (i, id) = set.join_next().await.unwrap().unwrap();
            ids.push(format!("{i}:{id}"));
        }
    }
    while let Some(r) = set.join_next().await {
        let (i, id) = r.unwrap();
        ids.push(format!("{i}:{id}"));
    }
    let user_of_email: HashMap<String, String> = ids
        .iter()
        .map(|s| {
            let (i, id) = s.split_once(':').unwrap();
            (email(i.parse().unwrap()), id.to_string())
        })
        .collect();
    let provider = Provider::start().await;
    provider.register(&admin).await;
    let rule = add_seed_rule(&admin, &[&app]).await;

    // The burst: a person's second SET only after their first was accepted.
    let mut sent: HashMap<String, Vec<String>> = HashMap::new();
    let mut bursts = JoinSet::new();
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    for i in 0..PEOPLE {
        let n = if i < ONCE { 1 } else { 2 };
        let sets: Vec<(String, String)> = (0..n)
            .map(|k| {
                let jti = format!("burst-{i}-{k}");
                let level = if k == 0 { "HIGH" } else { "MEDIUM" };
                let set = provider.risk_set(&admin.url, &jti, &email(i), level);
                (jti, set)
            })
            .collect();
        sent.insert(
            email(i),
            sets.iter().map(|(j, _)| j.clone()).collect::<Vec<_>>(),
        );
        let (http, url, gate) = (admin.http.clone(), admin.url.clone(), gate.clone());
        bursts.spawn(async move {
            for (jti, set) in sets {
                let _slot = gate.acquire().await.unwrap();
                let (status, body) = push(&http, &url, set).await;
                assert_eq!(status, 202, "{jti}: {body}");
            }
        });
    }
    while let Some(r) = bursts.join_next().await {
        r.unwrap();
    }
    // Every SET was accepted: kill -9 at once.
    first.child.kill().await.unwrap();
    // The burst began with the provider's keys not cached yet: 64 first SETs at once shared
    // one fetch (and none was refused while it ran).
    assert_eq!(provider.fetches(), 1, "one JWKS fetch for the whole burst");
    assert_eq!(sent.values().map(Vec::len).sum::<usize>(), SETS);
    let before = apps.received().len();
    assert!(
        before < PEOPLE,
        "deliveries must still be outstanding at the kill ({before} sent)"
    );
    apps.open();

    // The same data, a new process.
    let second = serve(dir.path(), &env).await.expect("ulo serve again");
    let admin = Admin {
        url: second.url.clone(),
        http: reqwest::Client::new(),
    };
    let receipts = wait_for("every logout to complete", WAIT, || async {
        let all = receipts(&admin).await?;
        (all.len() >= PEOPLE && all.iter().all(|r| r["status"] != "IN_PROGRESS")).then_some(all)
    })
    .await;

    // Every SET: received once, one detection, one evaluation.
    let received = log(
        &admin,
        "eventType eq \"security.events.provider.receive_event\"",
    )
    .await;
    let jtis: Vec<&str> = received
        .iter()
        .map(|e| debug(e, "jti").as_str().unwrap())
        .collect();
    let unique: HashSet<&str> = jtis.iter().copied().collect();
    assert_eq!(jtis.len(), SETS, "one receive_event per SET");
    let expected: HashSet<&str> = sent.values().flatten().map(String::as_str).collect();
    assert_eq!(unique, expected);
    let tx_of_jti: HashMap<&str, &str> = received
        .iter()
        .map(|e| {
            (
                debug(e, "jti").as_str().unwrap(),
                e["transaction"]["id"].as_str().unwrap(),
            )
        })
        .collect();
    let per_user = |events: &[Value]| {
        let mut m: HashMap<String, Vec<Value>> = HashMap::new();
        for e in events {
            m.entry(user_of(e)).or_default().push(e.clone());
        }
        m
    };
    let detections = per_user(&log(&admin, "eventType eq \"user.risk.detect\"").await);
    let evaluations = per_user(&log(&admin, "eventType eq \"policy.entity_risk.evaluate\"").await);
    let actions = per_user(&log(&admin, "eventType eq \"policy.entity_risk.action\"").await);
    let by_user: HashMap<&str, &Value> = receipts
        .iter()
        .map(|r| (r["userId"].as_str().unwrap(), r))
        .collect();
    assert_eq!(receipts.len(), PEOPLE, "one logout per person");
    assert_eq!(by_user.len(), PEOPLE, "one logout per person");

    let mut deliveries: HashMap<String, (String, i64)> = HashMap::new();
    for (mail, jtis) in &sent {
        let user = &user_of_email[mail];
        let n = jtis.len();
        assert_eq!(detections[user].len(), n, "{mail}: detections");
        assert_eq!(evaluations[user].len(), n, "{mail}: evaluations");
        for e in &evaluations[user] {
            assert_eq!(debug(e, "rule"), &rule["id"], "{e:#}");
        }
        let acts = &actions[user];
        assert_eq!(acts.len(), n, "{mail}: actions");
        let receipt = by_user[user.as_str()];
        assert_eq!(receipt["status"], "COMPLETED", "{receipt:#}");
        // The logout began in the first SET's transaction, with its detection.
        let first_tx = tx_of_jti[jtis[0].as_str()];
        assert_eq!(receipt["transactionId"], first_tx, "{receipt:#}");
        assert_eq!(detections[user][0]["transaction"]["id"], first_tx);
        assert_eq!(debug(&acts[0], "logoutId"), &receipt["id"]);
        assert_eq!(acts[0]["outcome"]["result"], "SUCCESS", "{:#}", acts[0]);
        if n == 2 {
            // The second, while the first logout was in progress: coalesced into it.
            assert_eq!(acts[1]["transaction"]["id"], tx_of_jti[jtis[1].as_str()]);
            assert_eq!(acts[1]["outcome"]["reason"], "coalesced", "{:#}", acts[1]);
            assert_eq!(debug(&acts[1], "logoutId"), &receipt["id"]);
        }
        let targets = receipt["targets"].as_array().unwrap();
        let app_targets: Vec<&Value> = targets.iter().filter(|t| t["type"] == "APP").collect();
        assert_eq!(app_targets.len(), 1, "{receipt:#}");
        assert_eq!(app_targets[0]["status"], "SUCCEEDED", "{receipt:#}");
        deliveries.insert(
            app_targets[0]["deliveryId"].as_str().unwrap().to_string(),
            (mail.clone(), app_targets[0]["attempts"].as_i64().unwrap()),
        );
    }

    // The app got every logout's delivery, for the right person, and nothing else; a delivery
    // repeats only when the killed process had sent it (one request per attempt at most).
    let requests = apps.received();
    let mut by_key: HashMap<&str, Vec<&str>> = HashMap::new();
    for q in &requests {
        by_key
            .entry(q.key.as_str())
            .or_default()
            .push(q.email.as_str());
    }
    let keys: HashSet<&str> = by_key.keys().copied().collect();
    let expected_keys: HashSet<&str> = deliveries.keys().map(String::as_str).collect();
    assert_eq!(keys, expected_keys, "every delivery, nothing else");
    for (key, emails) in &by_key {
        let (mail, attempts) = &deliveries[*key];
        assert!(emails.iter().all(|e| e == mail), "{key}: {emails:?}");
        assert!(
            emails.len() as i64 <= *attempts,
            "{key}: {} requests for {attempts} attempts",
            emails.len()
        );
    }
    eprintln!(
        "{SETS} SETs accepted; {before} deliveries sent before the kill; {} requests in all",
        requests.len()
    );
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_kill_9_right_after_200_accepted_sets_then_restart_finishes_each_once() {
    kill_9_after_a_burst_of_sets(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_kill_9_right_after_200_accepted_sets_then_restart_finishes_each_once() {
    if std::env::var(PG_ENV).is_err() {
        eprintln!("skipped: set {PG_ENV} to run the crash test on PostgreSQL");
        return;
    }
    let db = Database::new(Backend::Postgres).await.unwrap();
    kill_9_after_a_burst_of_sets(&[("ULO_DATABASE_URL", db.url.clone())]).await;
    db.cleanup().await;
}
