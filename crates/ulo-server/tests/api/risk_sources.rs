//! The risk sources ulo observes itself, over real HTTP on every backend: a lockout is a
//! BRUTE_FORCE_ATTACK detection; a sign-in or an admin API call from an address on the operator's
//! threat list (`ULO_THREAT_LIST_FILE`, reloaded when it changes) is an
//! ENTITY_CRITICAL_ACTION_FROM_HIGH_THREAT_IP detection, once per person and address an hour.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use ulo_testkit::{Database, TestServer, backends, wait_for};

use crate::signin::{
    PASSWORD, browser, logged, post_login, sign_in, signed_in, user_with_password,
};
use crate::support::*;

const WAIT: Duration = Duration::from_secs(30);
const THREAT: &str = "ENTITY_CRITICAL_ACTION_FROM_HIGH_THREAT_IP";

/// The user's active detections of `detection_type`.
async fn detections(s: &TestServer, uid: &str, detection_type: &str) -> Vec<Value> {
    let (status, risk) = s.get(&format!("/api/v1/users/{uid}/risk")).await;
    assert_eq!(status, StatusCode::OK, "{risk}");
    risk["detections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["type"] == detection_type)
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_lockout_is_one_brute_force_detection_in_its_transaction_and_ends_no_session() {
    on_every_backend(async |s| {
        let uid = user_with_password(s, "dora@example.com").await;
        let signed = browser();
        sign_in(&signed, s, "dora@example.com").await;
        let guesser = browser();
        for n in 1..=10 {
            let a = post_login(
                &guesser,
                s,
                &[("username", "dora@example.com"), ("password", "guess")],
            )
            .await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED);
            if n < 10 {
                assert!(
                    detections(s, &uid, "BRUTE_FORCE_ATTACK").await.is_empty(),
                    "after {n} failures"
                );
            }
        }
        let found = detections(s, &uid, "BRUTE_FORCE_ATTACK").await;
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0]["level"], "MEDIUM");
        assert_eq!(found[0]["source"], "SIGN_IN");
        let reason = found[0]["reasons"][0].as_str().unwrap();
        assert!(
            reason.contains("locked out after 10 failed sign-ins") && reason.contains("127.0.0.1"),
            "{reason}"
        );
        let lock = one_event(s, "user.account.lock", &uid).await;
        let detect = one_event(s, "user.risk.detect", &uid).await;
        assert_eq!(detect["transaction"]["id"], lock["transaction"]["id"]);
        assert_eq!(detect["debugContext"]["debugData"]["level"], "MEDIUM");
        let evaluate = one_event(s, "policy.entity_risk.evaluate", &uid).await;
        assert_eq!(evaluate["transaction"]["id"], lock["transaction"]["id"]);

        // Attempts while locked are no new lockout: still one detection.
        let locked = post_login(
            &guesser,
            s,
            &[("username", "dora@example.com"), ("password", PASSWORD)],
        )
        .await;
        assert_eq!(locked.status, StatusCode::UNAUTHORIZED);
        assert_eq!(detections(s, &uid, "BRUTE_FORCE_ATTACK").await.len(), 1);
        assert_eq!(events(s, "user.risk.detect", &uid).await.len(), 1);
        // A lockout by itself ends no session (the default rule only logs).
        assert!(signed_in(&signed, s).await);
    })
    .await;
}

/// Runs `test` on every backend against a server whose threat list file is `initial`.
async fn with_threat_list(initial: &str, test: impl AsyncFn(&TestServer, &Path)) {
    for backend in backends() {
        let db = Database::new(backend).await.expect("database");
        let file: PathBuf = db.dir().join("threats.txt");
        std::fs::write(&file, initial).unwrap();
        let path = file.clone();
        let mut s =
            TestServer::start_configured(db, Arc::new(ulo_server::clock::SystemClock), move |o| {
                o.threat_list_file = Some(path);
            })
            .await
            .expect("start");
        s.http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .build()
            .unwrap();
        let outcome =
            futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(test(&s, &file))).await;
        s.stop().await;
        if let Err(panic) = outcome {
            eprintln!("the test failed on {backend:?}");
            std::panic::resume_unwind(panic);
        }
    }
}

/// Replaces the file's content at once (a new file renamed over it), so the server never reads
/// it half written.
fn replace(file: &Path, text: &str) {
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, file).unwrap();
}

/// The `system.threat_list.reload` events, oldest first, once there are `n`.
async fn reloads(s: &TestServer, n: usize) -> Vec<Value> {
    wait_for(
        &format!("{n} system.threat_list.reload events"),
        WAIT,
        || async {
            let found = logged(s, r#"eventType eq "system.threat_list.reload""#).await;
            (found.len() >= n).then_some(found)
        },
    )
    .await
}

#[tokio::test]
async fn sign_ins_and_admin_calls_from_a_listed_address_are_detections_once_an_hour() {
    with_threat_list(
        "# loopback, for the test\n127.0.0.0/8\n",
        async |s, file| {
            let loaded = reloads(s, 1).await;
            assert_eq!(loaded[0]["outcome"]["result"], "SUCCESS", "{loaded:?}");
            assert_eq!(loaded[0]["debugContext"]["debugData"]["ranges"], 1);

            let uid = user_with_password(s, "eve@example.com").await;
            sign_in(&browser(), s, "eve@example.com").await;
            let found = detections(s, &uid, THREAT).await;
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!(found[0]["level"], "HIGH");
            let reason = found[0]["reasons"][0].as_str().unwrap();
            assert!(
                reason.contains("a sign-in from 127.0.0.1") && reason.contains("127.0.0.0/8"),
                "{reason}"
            );
            let detect = one_event(s, "user.risk.detect", &uid).await;
            let start = events(s, "user.session.start", &uid).await;
            assert_eq!(
                detect["transaction"]["id"],
                start.last().unwrap()["transaction"]["id"]
            );
            // Again from the same address within the hour: still one.
            sign_in(&browser(), s, "eve@example.com").await;
            assert_eq!(detections(s, &uid, THREAT).await.len(), 1);
            assert_eq!(events(s, "user.risk.detect", &uid).await.len(), 1);
            // A wrong password from a listed address says nothing about the person.
            let guessed = user_with_password(s, "gus@example.com").await;
            let a = post_login(
                &browser(),
                s,
                &[("username", "gus@example.com"), ("password", "guess")],
            )
            .await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED);
            assert!(detections(s, &guessed, THREAT).await.is_empty());

            // The admin calling the API from the listed address: one detection, however many calls.
            let admin = admin_id(s).await;
            let found = detections(s, &admin, THREAT).await;
            assert_eq!(found.len(), 1, "{found:?}");
            assert!(
                found[0]["reasons"][0]
                    .as_str()
                    .unwrap()
                    .contains("an admin API call"),
                "{found:?}"
            );

            // The file changes: the new list is in force (loopback is no longer listed).
            replace(file, "10.0.0.0/8\n192.0.2.0/24\n");
            let loaded = reloads(s, 2).await;
            assert_eq!(loaded[1]["outcome"]["result"], "SUCCESS", "{loaded:?}");
            assert_eq!(loaded[1]["debugContext"]["debugData"]["ranges"], 2);
            let frank = user_with_password(s, "frank@example.com").await;
            sign_in(&browser(), s, "frank@example.com").await;
            assert!(detections(s, &frank, THREAT).await.is_empty());

            // A bad line: an error naming it, and the previous list stays (loopback still unlisted,
            // though the bad file's first line lists it).
            replace(file, "127.0.0.0/8\n10.0.0.0/8 # fine\nten.0.0.0/8\n");
            let loaded = reloads(s, 3).await;
            let failed = &loaded[2];
            assert_eq!(failed["outcome"]["result"], "FAILURE", "{failed}");
            assert_eq!(failed["severity"], "ERROR", "{failed}");
            assert_eq!(failed["debugContext"]["debugData"]["line"], 3, "{failed}");
            assert_eq!(
                failed["debugContext"]["debugData"]["text"], "ten.0.0.0/8",
                "{failed}"
            );
            let grace = user_with_password(s, "grace@example.com").await;
            sign_in(&browser(), s, "grace@example.com").await;
            assert!(detections(s, &grace, THREAT).await.is_empty());

            // Fixed: loaded, and loopback is listed again.
            replace(file, "127.0.0.1\n");
            let loaded = reloads(s, 4).await;
            assert_eq!(loaded[3]["outcome"]["result"], "SUCCESS", "{loaded:?}");
            sign_in(&browser(), s, "grace@example.com").await;
            assert_eq!(detections(s, &grace, THREAT).await.len(), 1);

            // The file gone: said once, and the list in force stays.
            std::fs::remove_file(file).unwrap();
            let loaded = reloads(s, 5).await;
            assert_eq!(loaded[4]["outcome"]["result"], "FAILURE", "{loaded:?}");
            assert_eq!(loaded[4]["outcome"]["reason"], "unreadable", "{loaded:?}");
            let henry = user_with_password(s, "henry@example.com").await;
            sign_in(&browser(), s, "henry@example.com").await;
            assert_eq!(detections(s, &henry, THREAT).await.len(), 1);
            assert_eq!(
                logged(s, r#"eventType eq "system.threat_list.reload""#)
                    .await
                    .len(),
                5
            );
        },
    )
    .await;
}

#[tokio::test]
async fn a_missing_or_bad_threat_list_stops_the_start() {
    let db = Database::new(ulo_testkit::Backend::Sqlite)
        .await
        .expect("database");
    let bad = db.dir().join("bad.txt");
    std::fs::write(&bad, "203.0.113.0/24\n203.0.113.0/33\n").unwrap();
    let missing = db.dir().join("missing.txt");
    for (file, says) in [(bad, "line 2"), (missing, "missing.txt")] {
        let db = Database::new(ulo_testkit::Backend::Sqlite)
            .await
            .expect("database");
        let err = TestServer::start_configured(db, Arc::new(ulo_server::clock::SystemClock), |o| {
            o.threat_list_file = Some(file.clone());
        })
        .await
        .err()
        .expect("the start fails");
        let err = err.to_string();
        assert!(
            err.contains("ULO_THREAT_LIST_FILE") && err.contains(says),
            "{err}"
        );
    }
}
