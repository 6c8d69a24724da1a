//! Entity risk over HTTP: an admin reports and resets a user's risk, detections expire, clearing
//! the user's sessions resets the level, and each step is in the System Log.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ulo_core::clock::{Clock, ManualClock};
use ulo_core::user::RiskLevel;
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

/// The user's `riskLevel` on the user object and whether the riskLevel filter finds them.
async fn user_level(s: &TestServer, uid: &str, level: &str) -> (String, bool) {
    let (status, user) = s.get(&format!("/api/v1/users/{uid}")).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    let filter = format!("riskLevel eq \"{level}\"");
    let (status, _, list) = get_with(s, "/api/v1/users", &[("filter", filter.as_str())]).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let found = list.as_array().unwrap().iter().any(|u| u["id"] == uid);
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["riskLevel"] == level);
    assert!(listed, "the filter answers only {level} users: {list}");
    (user["riskLevel"].as_str().unwrap().to_string(), found)
}

/// The level on the user's row (`users.risk_level`), as internal reads see it.
async fn stored_level(s: &TestServer, uid: &str) -> RiskLevel {
    let store = &s.running.as_ref().unwrap().state.store;
    let mut tx = store.read().await.unwrap();
    let user = tx.get_user(uid.parse().unwrap()).await.unwrap().unwrap();
    user.risk_level
}

#[tokio::test]
async fn the_user_object_and_the_risk_level_filter_follow_detections() {
    with_clock(async |s, clock| {
        let user = create_user(s, "level@example.com").await;
        let uid = id(&user);
        let calm = id(&create_user(s, "calm@example.com").await);
        assert_eq!(user["riskLevel"], "LOW");
        let path = format!("/api/v1/users/{uid}/risk");

        let (_, risk) = s.put(&path, Some(json!({"riskLevel": "HIGH"}))).await;
        assert_eq!(risk["riskLevel"], "HIGH");
        assert_eq!(stored_level(s, &uid).await, RiskLevel::High);
        assert_eq!(user_level(s, &uid, "HIGH").await, ("HIGH".into(), true));
        assert_eq!(user_level(s, &calm, "HIGH").await, ("LOW".into(), false));
        assert_eq!(user_level(s, &uid, "LOW").await, ("HIGH".into(), false));

        let (_, risk) = s.put(&path, Some(json!({"riskLevel": "LOW"}))).await;
        assert_eq!(risk["riskLevel"], "NONE");
        assert_eq!(stored_level(s, &uid).await, RiskLevel::Low);
        assert_eq!(user_level(s, &uid, "LOW").await, ("LOW".into(), true));
        assert_eq!(user_level(s, &uid, "HIGH").await, ("LOW".into(), false));

        // A detection that expires changes no row, and the level follows all the same.
        s.put(&path, Some(json!({"riskLevel": "MEDIUM"}))).await;
        assert_eq!(user_level(s, &uid, "MEDIUM").await, ("MEDIUM".into(), true));
        assert_eq!(stored_level(s, &uid).await, RiskLevel::Medium);
        clock.advance(time::Duration::seconds(3601));
        assert_eq!(user_level(s, &uid, "MEDIUM").await, ("LOW".into(), false));
        assert_eq!(user_level(s, &uid, "LOW").await, ("LOW".into(), true));
        // The stored level catches up at the server's sweep.
        assert_eq!(stored_level(s, &uid).await, RiskLevel::Medium);
        let state = &s.running.as_ref().unwrap().state;
        let swept = ulo_core::risk::sweep(state.store.as_ref(), clock.now())
            .await
            .unwrap();
        assert_eq!(swept.levels_lowered, 1);
        assert_eq!(stored_level(s, &uid).await, RiskLevel::Low);
    })
    .await;
}

#[tokio::test]
async fn an_upgrade_imports_the_interim_documents_and_deletes_them() {
    use ulo_core::ids::{DetectionId, PolicyId, PolicyRuleId, UserId};
    use ulo_core::policy::{EntityRiskPolicy, PolicyRule, RuleMode, RuleStatus};
    use ulo_core::risk::{Detection, DetectionType};
    use ulo_core::user::{ProvisionedBy, User, UserProfile, UserStatus};

    for backend in backends() {
        let db = Database::new(backend).await.expect("database");
        // Whole milliseconds: what both the documents and the tables keep.
        let now = ulo_core::clock::from_millis(ulo_core::clock::to_millis(ulo_testkit::now()));
        let clock = Arc::new(ManualClock::new(now));
        // What the interim version left behind: a user, their detections and the policy with a
        // custom rule, as settings documents.
        let user = User {
            id: UserId::new(),
            status: UserStatus::Active,
            provisioned_by: ProvisionedBy::Api,
            risk_level: RiskLevel::Low,
            created: now,
            activated: Some(now),
            status_changed: None,
            last_updated: now,
            password_changed: None,
            last_login: None,
            profile: UserProfile {
                login: "upgraded@example.com".into(),
                email: "upgraded@example.com".into(),
                first_name: "Up".into(),
                last_name: "Graded".into(),
                ..Default::default()
            },
        };
        let detection = |level, minutes_ago: i64, ended| {
            let created = now - time::Duration::minutes(minutes_ago);
            Detection {
                id: DetectionId::new(),
                user_id: user.id,
                detection_type: DetectionType::AdminReportedUserRisk,
                level,
                source: "ADMIN".into(),
                reasons: vec![format!("reported {minutes_ago} minutes ago")],
                issuer: Some("admin@ulo.example.com".into()),
                created,
                expires: created + time::Duration::days(7),
                ended,
            }
        };
        let active = detection(RiskLevel::High, 5, None);
        let ended = detection(
            RiskLevel::Medium,
            10,
            Some(now - time::Duration::minutes(8)),
        );
        let rule = |name: &str, priority, system| PolicyRule {
            id: PolicyRuleId::new(),
            rule_type: "ENTITY_RISK".into(),
            name: name.into(),
            priority,
            status: RuleStatus::Active,
            mode: RuleMode::Monitor,
            system,
            conditions: Default::default(),
            actions: Default::default(),
            created: now,
            last_updated: now,
        };
        let custom = rule("watch everyone", 1, false);
        let default = rule("Default Rule", 99, true);
        let policy = EntityRiskPolicy {
            id: PolicyId::new(),
            policy_type: "ENTITY_RISK".into(),
            name: "Entity Risk Policy".into(),
            status: "ACTIVE".into(),
            priority: 1,
            system: true,
            created: now,
            last_updated: now,
            rules: vec![custom.clone(), default.clone()],
        };
        let gone_user = UserId::new();
        {
            let store = db.open().await.expect("store");
            // The first admin, as the interim version's first start made it.
            ulo_server::bootstrap::bootstrap(
                store.as_ref(),
                clock.as_ref(),
                ADMIN_LOGIN,
                Some(ulo_testkit::ADMIN_TOKEN.into()),
            )
            .await
            .unwrap();
            let mut tx = store.begin().await.unwrap();
            tx.insert_user(&user, None).await.unwrap();
            let docs = [
                (
                    format!("risk.detections.{}", user.id),
                    serde_json::to_value([&ended, &active]).unwrap(),
                ),
                (
                    format!("risk.detections.{gone_user}"),
                    serde_json::to_value([detection(RiskLevel::High, 1, None)]).unwrap(),
                ),
                (
                    "policy.entity_risk".to_string(),
                    serde_json::to_value(&policy).unwrap(),
                ),
            ];
            for (key, value) in &docs {
                tx.put_setting(key, value, now).await.unwrap();
            }
            tx.commit().await.unwrap();
        }

        let s = TestServer::start_on(db, clock.clone())
            .await
            .expect("start");
        let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(async {
            let uid = user.id.to_string();
            let (status, _, list) =
                get_with(&s, "/api/v1/policies", &[("type", "ENTITY_RISK")]).await;
            assert_eq!(status, StatusCode::OK, "{list}");
            assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
            assert_eq!(list[0]["id"], policy.id.to_string());
            let (_, rules) = s
                .get(&format!("/api/v1/policies/{}/rules", policy.id))
                .await;
            let got: Vec<(Value, Value, Value)> = rules
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (r["id"].clone(), r["priority"].clone(), r["mode"].clone()))
                .collect();
            assert_eq!(
                got,
                vec![
                    (json!(custom.id.to_string()), json!(1), json!("MONITOR")),
                    (json!(default.id.to_string()), json!(99), json!("MONITOR")),
                ],
                "{rules}"
            );

            let (_, risk) = s.get(&format!("/api/v1/users/{uid}/risk")).await;
            assert_eq!(risk["riskLevel"], "HIGH", "{risk}");
            let ids: Vec<&Value> = risk["detections"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| &d["id"])
                .collect();
            assert_eq!(ids, vec![&json!(active.id.to_string())]);
            let (_, u) = s.get(&format!("/api/v1/users/{uid}")).await;
            assert_eq!(u["riskLevel"], "HIGH");

            let store = &s.running.as_ref().unwrap().state.store;
            let mut tx = store.read().await.unwrap();
            let recent = ulo_core::risk::recent_detections_in(tx.as_mut(), user.id, 10)
                .await
                .unwrap();
            assert_eq!(recent, vec![active.clone(), ended.clone()]);
            assert!(
                tx.settings_with_prefix("risk.detections.")
                    .await
                    .unwrap()
                    .is_empty()
            );
            assert_eq!(tx.get_setting("policy.entity_risk").await.unwrap(), None);
        }))
        .await;
        s.stop().await;
        if let Err(panic) = outcome {
            eprintln!("the test failed on {backend:?}");
            std::panic::resume_unwind(panic);
        }
    }
}
