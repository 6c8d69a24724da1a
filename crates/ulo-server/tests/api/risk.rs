//! Entity risk over HTTP: an admin reports and resets a user's risk, detections expire, clearing
//! the user's sessions resets the level, and each step is in the System Log.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::json;
use ulo_core::clock::ManualClock;
use ulo_testkit::{Database, TestServer, backends};

use crate::support::*;

/// Runs `test` on every backend against a server whose clock the test moves.
async fn with_clock(test: impl AsyncFn(&TestServer, &ManualClock)) {
    for backend in backends() {
        let db = Database::new(backend).await.expect("database");
        let clock = Arc::new(ManualClock::new(ulo_testkit::now()));
        let s = TestServer::start_configured(db, clock.clone(), |o| {
            o.risk_detection_ttl = std::time::Duration::from_secs(3600);
        })
        .await
        .expect("start");
        let outcome =
            futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(test(&s, &clock))).await;
        s.stop().await;
        if let Err(panic) = outcome {
            eprintln!("the test failed on {backend:?}");
            std::panic::resume_unwind(panic);
        }
    }
}

#[tokio::test]
async fn admin_reports_reads_resets_and_detections_expire() {
    with_clock(async |s, clock| {
        let user = create_user(s, "risky@example.com").await;
        let uid = id(&user);
        let path = format!("/api/v1/users/{uid}/risk");
        let (status, risk) = s.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{risk}");
        assert_eq!(risk["riskLevel"], "NONE");
        assert_eq!(risk["detections"], json!([]));

        let (status, risk) = s
            .put(
                &path,
                Some(json!({"riskLevel": "MEDIUM", "reason": "odd travel"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{risk}");
        assert_eq!(risk["riskLevel"], "MEDIUM");
        assert_eq!(risk["reason"], "odd travel");
        assert_eq!(risk["detections"][0]["type"], "ADMIN_REPORTED_USER_RISK");
        let (_, risk) = s.put(&path, Some(json!({"riskLevel": "HIGH"}))).await;
        assert_eq!(risk["riskLevel"], "HIGH");
        assert_eq!(risk["detections"].as_array().unwrap().len(), 2);

        let detect = events(s, "user.risk.detect", &uid).await;
        assert_eq!(detect.len(), 2);
        let data = &detect[1]["debugContext"]["debugData"];
        assert_eq!(data["previousLevel"], "MEDIUM");
        assert_eq!(data["level"], "HIGH");
        assert_eq!(data["detection"]["type"], "ADMIN_REPORTED_USER_RISK");
        assert!(data["reasons"].is_array(), "{data}");

        // LOW resets: no active detection, a reset event.
        let (_, risk) = s.put(&path, Some(json!({"riskLevel": "LOW"}))).await;
        assert_eq!(risk["riskLevel"], "NONE");
        let reset = one_event(s, "user.risk.reset", &uid).await;
        assert_eq!(reset["debugContext"]["debugData"]["previousLevel"], "HIGH");

        // Detections expire after the TTL: the level is never stale.
        let (_, risk) = s.put(&path, Some(json!({"riskLevel": "HIGH"}))).await;
        assert_eq!(risk["riskLevel"], "HIGH");
        clock.advance(time::Duration::seconds(3601));
        let (_, risk) = s.get(&path).await;
        assert_eq!(risk["riskLevel"], "NONE", "{risk}");
        assert_eq!(risk["detections"], json!([]));
    })
    .await;
}

#[tokio::test]
async fn clearing_sessions_resets_the_level_and_bad_input_is_refused() {
    on_every_backend(async |s| {
        let user = create_user(s, "cleared@example.com").await;
        let uid = id(&user);
        let path = format!("/api/v1/users/{uid}/risk");
        let (_, risk) = s.put(&path, Some(json!({"riskLevel": "HIGH"}))).await;
        assert_eq!(risk["riskLevel"], "HIGH");
        let (status, _) = s.delete(&format!("/api/v1/users/{uid}/sessions")).await;
        assert!(status.is_success());
        let (_, risk) = s.get(&path).await;
        assert_eq!(risk["riskLevel"], "NONE");
        let reset = one_event(s, "user.risk.reset", &uid).await;
        assert_eq!(reset["debugContext"]["debugData"]["previousLevel"], "HIGH");

        let (status, body) = s.put(&path, Some(json!({"riskLevel": "SEVERE"}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let (status, body) = s
            .put(&path, Some(json!({"riskLevel": "HIGH", "reason": ""})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let (status, _) = s
            .put(
                "/api/v1/users/nobody@example.com/risk",
                Some(json!({"riskLevel": "HIGH"})),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // A read-only admin reads, and may not report.
        let (_, token) = read_only_admin(s, "reader@example.com").await;
        let read = |m: Method| {
            s.http
                .request(m, format!("{}{path}", s.url))
                .header("Authorization", format!("SSWS {token}"))
        };
        let (status, _, _) = send(read(Method::GET)).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, _) = send(read(Method::PUT).json(&json!({"riskLevel": "HIGH"}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    })
    .await;
}
