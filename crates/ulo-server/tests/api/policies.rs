//! The Entity Risk Policy over HTTP: the default policy, rule CRUD and priority order,
//! validation, each condition branch, each action scope, MONITOR, simulate, coalescing, roles,
//! and one transaction id from detection to logout.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::logout::{FakeApps, final_receipt, logout_app};
use crate::support::*;

/// The Entity Risk Policy's id.
async fn policy_id(s: &ulo_testkit::TestServer) -> String {
    let (status, _, list) = get_with(s, "/api/v1/policies", &[("type", "ENTITY_RISK")]).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["type"], "ENTITY_RISK");
    id(&list[0])
}

async fn add_rule(s: &ulo_testkit::TestServer, pid: &str, rule: Value) -> Value {
    let (status, body) = s.post(&format!("/api/v1/policies/{pid}/rules"), rule).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn rules(s: &ulo_testkit::TestServer, pid: &str) -> Vec<(String, u64)> {
    let (_, list) = s.get(&format!("/api/v1/policies/{pid}/rules")).await;
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["priority"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn named(v: &[(&str, u64)]) -> Vec<(String, u64)> {
    v.iter().map(|(n, p)| (n.to_string(), *p)).collect()
}

async fn report(s: &ulo_testkit::TestServer, uid: &str, level: &str) -> Value {
    let (status, risk) = s
        .put(
            &format!("/api/v1/users/{uid}/risk"),
            Some(json!({"riskLevel": level})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{risk}");
    risk
}

/// The rule named by the user's last `policy.entity_risk.evaluate`.
async fn matched(s: &ulo_testkit::TestServer, uid: &str) -> Value {
    let ev = events(s, "policy.entity_risk.evaluate", uid).await;
    ev.last().unwrap()["debugContext"]["debugData"]["ruleName"].clone()
}

fn terminate(mode: &str, apps: &[&str]) -> Value {
    json!({"entityRisk": {"actions": [{"action": "TERMINATE_ALL_SESSIONS",
        "slo": {"appSelectionMode": mode, "appInstanceIds": apps}}]}})
}

#[tokio::test]
async fn default_policy_priorities_and_validation() {
    on_every_backend(async |s| {
        let pid = policy_id(s).await;
        let (status, p) = s.get(&format!("/api/v1/policies/{pid}")).await;
        assert_eq!(status, StatusCode::OK, "{p}");
        assert_eq!(rules(s, &pid).await, named(&[("Default Rule", 99)]));
        let (_, list) = s.get(&format!("/api/v1/policies/{pid}/rules")).await;
        let default_id = id(&list[0]);
        assert_eq!(list[0]["actions"]["entityRisk"]["actions"], json!([]));

        // Priority: inserting at a taken priority shifts the others down.
        add_rule(s, &pid, json!({"name": "a"})).await;
        add_rule(s, &pid, json!({"name": "b"})).await;
        let c = add_rule(s, &pid, json!({"name": "c", "priority": 1})).await;
        assert_eq!(c["priority"], 1);
        let names = rules(s, &pid).await;
        assert_eq!(
            names,
            named(&[("c", 1), ("a", 2), ("b", 3), ("Default Rule", 99)])
        );
        let (status, _) = s.delete(&format!("/api/v1/policies/{pid}/rules/{}", id(&c))).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(rules(s, &pid).await[0], ("a".to_string(), 1u64));

        // The default rule cannot be changed or deleted.
        let (status, _) = s.delete(&format!("/api/v1/policies/{pid}/rules/{default_id}")).await;
        assert_eq!(status, StatusCode::CONFLICT);
        let (status, _) = s
            .post(&format!("/api/v1/policies/{pid}/rules/{default_id}/lifecycle/deactivate"), json!({}))
            .await;
        assert_eq!(status, StatusCode::CONFLICT);

        // Validation: 400 naming the field.
        let bad = [
            (json!({"name": "x", "conditions": {"riskDetectionTypes": {"include": ["BRUTE_FORCE_ATTACK"], "exclude": ["BRUTE_FORCE_ATTACK"]}}}), "conditions.riskDetectionTypes"),
            (json!({"name": "x", "conditions": {"riskDetectionTypes": {"include": ["BRUTE_FORCE_ATTACK"]}, "entityRisk": {"level": "HIGH"}}}), "conditions.entityRisk.level"),
            (json!({"name": "x", "conditions": {"people": {"groups": {"include": ["00000000-0000-7000-8000-000000000000"]}}}}), "conditions.people.groups.include"),
            (json!({"name": "x", "conditions": {"people": {"users": {"exclude": ["nope"]}}}}), "conditions.people.users.exclude"),
            (json!({"name": "x", "actions": terminate("SPECIFIC", &[])}), "appInstanceIds"),
            (json!({"name": "x", "actions": terminate("SPECIFIC", &["00000000-0000-7000-8000-000000000000"])}), "appInstanceIds"),
            (json!({"name": "x", "actions": {"entityRisk": {"actions": [{"action": "RUN_WORKFLOW"}]}}}), "workflow.id"),
            (json!({"name": ""}), "name"),
        ];
        for (rule, field) in bad {
            let (status, body) = s.post(&format!("/api/v1/policies/{pid}/rules"), rule.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{rule}: {body}");
            assert!(causes(&body).iter().any(|c| c.contains(field)), "{field}: {body}");
        }
        let (status, _, _) = get_with(s, "/api/v1/policies", &[("type", "OKTA_SIGN_ON")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // A read-only admin reads and may not write.
        let (_, token) = read_only_admin(s, "reader@example.com").await;
        let as_reader = |m: Method, path: String| {
            s.http
                .request(m, format!("{}{path}", s.url))
                .header("Authorization", format!("SSWS {token}"))
        };
        let (status, _, _) = send(as_reader(Method::GET, format!("/api/v1/policies/{pid}/rules"))).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, _) = send(
            as_reader(Method::POST, format!("/api/v1/policies/{pid}/rules")).json(&json!({"name": "r"})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    })
    .await;
}

#[tokio::test]
async fn conditions_pick_the_first_active_match() {
    on_every_backend(async |s| {
        let pid = policy_id(s).await;
        let user = create_user(s, "in@example.com").await;
        let other = create_user(s, "out@example.com").await;
        let (uid, oid) = (id(&user), id(&other));
        let group = create_group(s, "Finance").await;
        let gid = id(&group);
        let (status, _) = s.put(&format!("/api/v1/groups/{gid}/users/{uid}"), None).await;
        assert!(status.is_success());

        let inactive = add_rule(s, &pid, json!({"name": "inactive", "status": "INACTIVE"})).await;
        assert_eq!(inactive["status"], "INACTIVE");
        add_rule(s, &pid, json!({"name": "excluded user", "conditions": {"people": {"users": {"exclude": [uid.clone()]}}, "entityRisk": {"level": "MEDIUM"}}})).await;
        add_rule(s, &pid, json!({"name": "finance high", "conditions": {"people": {"groups": {"include": [gid.clone()]}}, "entityRisk": {"level": "HIGH"}}})).await;
        add_rule(s, &pid, json!({"name": "not finance", "conditions": {"people": {"groups": {"exclude": [gid.clone()]}}, "riskDetectionTypes": {"exclude": ["BRUTE_FORCE_ATTACK"]}}})).await;
        add_rule(s, &pid, json!({"name": "admin only", "conditions": {"riskDetectionTypes": {"include": ["ADMIN_REPORTED_USER_RISK"]}}})).await;

        report(s, &uid, "HIGH").await;
        assert_eq!(matched(s, &uid).await, "finance high");
        report(s, &uid, "LOW").await;
        report(s, &uid, "MEDIUM").await;
        // Excluded from "excluded user", not HIGH for "finance high", in Finance: "admin only".
        assert_eq!(matched(s, &uid).await, "admin only");
        report(s, &oid, "MEDIUM").await;
        assert_eq!(matched(s, &oid).await, "excluded user");
        report(s, &oid, "LOW").await;
        report(s, &oid, "HIGH").await;
        assert_eq!(matched(s, &oid).await, "not finance");

        // Activating the first rule makes it win.
        let (status, _) = s
            .post(&format!("/api/v1/policies/{pid}/rules/{}/lifecycle/activate", id(&inactive)), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK);
        report(s, &oid, "HIGH").await;
        assert_eq!(matched(s, &oid).await, "inactive");
    })
    .await;
}

#[tokio::test]
async fn actions_log_out_monitor_and_coalesce_under_one_transaction() {
    on_every_backend(async |s| {
        let pid = policy_id(s).await;
        let (fake, base) = FakeApps::start().await;
        let user = create_user(s, "target@example.com").await;
        let uid = id(&user);
        let app = logout_app(
            s,
            "Vault",
            "global-token-revocation",
            &format!("{base}/vault"),
            "email",
            &uid,
        )
        .await;
        let aid = id(&app);

        // MONITOR: logs what it would do, does nothing.
        let monitor = add_rule(
            s,
            &pid,
            json!({"name": "watch", "mode": "MONITOR", "actions": terminate("ALL", &[])}),
        )
        .await;
        report(s, &uid, "HIGH").await;
        let action = events(s, "policy.entity_risk.action", &uid).await;
        assert_eq!(action.len(), 1);
        assert_eq!(action[0]["outcome"]["result"], "SKIPPED");
        let (_, _, logouts) = get_with(s, "/api/v1/logouts", &[("userId", uid.as_str())]).await;
        assert_eq!(logouts, json!([]));
        s.delete(&format!("/api/v1/policies/{pid}/rules/{}", id(&monitor)))
            .await;

        // Simulate changes nothing and previews the logout.
        let rule = add_rule(
            s,
            &pid,
            json!({"name": "out", "actions": terminate("SPECIFIC", &[aid.as_str()])}),
        )
        .await;
        let (status, sim) = s
            .post(
                &format!("/api/v1/policies/{pid}/simulate"),
                json!({"userId": uid, "detection": "ADMIN_REPORTED_USER_RISK", "level": "HIGH"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{sim}");
        assert_eq!(sim["rule"]["name"], "out");
        assert!(
            sim["logout"]["targets"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["id"] == aid.as_str()),
            "{sim}"
        );
        let (_, _, logouts) = get_with(s, "/api/v1/logouts", &[("userId", uid.as_str())]).await;
        assert_eq!(logouts, json!([]));

        // ENFORCE with SPECIFIC: the app gets its logout; one transaction id from detection to
        // delivery.
        fake.script("vault", &[503, 503, 503, 503, 503, 503]);
        report(s, &uid, "HIGH").await;
        let action = events(s, "policy.entity_risk.action", &uid).await;
        let last = action.last().unwrap();
        let logout_id = last["debugContext"]["debugData"]["logoutId"]
            .as_str()
            .unwrap()
            .to_string();
        let tx = last["transaction"]["id"].clone();
        for t in [
            "user.risk.detect",
            "policy.entity_risk.evaluate",
            "user.authentication.universal_logout",
        ] {
            let ev = events(s, t, &uid).await;
            assert_eq!(ev.last().unwrap()["transaction"]["id"], tx, "{t}");
        }
        // While it is in progress (the app answers 503), another detection coalesces.
        report(s, &uid, "MEDIUM").await;
        let action = events(s, "policy.entity_risk.action", &uid).await;
        let last = action.last().unwrap();
        assert_eq!(last["outcome"]["reason"], "coalesced", "{last}");
        assert_eq!(
            last["debugContext"]["debugData"]["logoutId"],
            logout_id.as_str()
        );
        let (_, _, logouts) = get_with(s, "/api/v1/logouts", &[("userId", uid.as_str())]).await;
        assert_eq!(logouts.as_array().unwrap().len(), 1, "{logouts}");
        fake.script("vault", &[204]);
        let receipt = final_receipt(s, &logout_id).await;
        assert_eq!(
            receipt["reason"].as_str().unwrap(),
            format!("POLICY: Entity Risk Policy rule {}", id(&rule))
        );
        assert!(!fake.received("vault").is_empty());

        // NONE: ulo only.
        s.put(
            &format!("/api/v1/policies/{pid}/rules/{}", id(&rule)),
            Some(json!({"name": "out", "actions": terminate("NONE", &[])})),
        )
        .await;
        report(s, &uid, "HIGH").await;
        let (_, _, logouts) = get_with(s, "/api/v1/logouts", &[("userId", uid.as_str())]).await;
        assert_eq!(logouts[0]["scope"], "ULO_ONLY", "{logouts}");
    })
    .await;
}

#[tokio::test]
async fn rules_created_at_once_at_one_priority_all_find_a_place() {
    on_every_backend(async |s| {
        let pid = policy_id(s).await;
        // Each insert at 1 shifts the others under the policy's lock: whatever the order, the
        // priorities end 1..n without a gap or a twin, the default rule still last.
        let adds = (0..6).map(|i| {
            let pid = pid.clone();
            async move {
                s.post(
                    &format!("/api/v1/policies/{pid}/rules"),
                    json!({"name": format!("r{i}"), "priority": 1}),
                )
                .await
            }
        });
        for (status, body) in futures::future::join_all(adds).await {
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let got = rules(s, &pid).await;
        let priorities: Vec<u64> = got.iter().map(|(_, p)| *p).collect();
        assert_eq!(priorities, vec![1, 2, 3, 4, 5, 6, 99], "{got:?}");
        let mut names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        names.sort();
        assert_eq!(
            names,
            vec!["Default Rule", "r0", "r1", "r2", "r3", "r4", "r5"]
        );
    })
    .await;
}

#[tokio::test]
async fn run_workflow_names_a_workflow_that_exists_when_the_rule_is_saved() {
    on_every_backend(async |s| {
        let pid = policy_id(s).await;
        let run = |wid: &str| json!({"entityRisk": {"actions": [{"action": "RUN_WORKFLOW", "workflow": {"id": wid}}]}});
        let field = "actions.entityRisk.actions[0].workflow.id";
        for unknown in ["00000000-0000-7000-8000-000000000000", "not-a-uuid"] {
            let (status, body) = s
                .post(&format!("/api/v1/policies/{pid}/rules"), json!({"name": "wf", "actions": run(unknown)}))
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{unknown}: {body}");
            assert!(causes(&body).iter().any(|c| c.contains(field) && c.contains(unknown)), "{body}");
        }
        let (status, w) = s
            .post("/api/v1/workflows", json!({"name": "Notify SOC", "url": "http://127.0.0.1:9/hook"}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{w}");
        let wid = id(&w);
        let rule = add_rule(s, &pid, json!({"name": "wf", "actions": run(&wid)})).await;
        assert_eq!(rule["actions"]["entityRisk"]["actions"][0]["workflow"]["id"], wid.as_str());
        // An update naming an unknown workflow is refused the same way and changes nothing.
        let path = format!("/api/v1/policies/{pid}/rules/{}", id(&rule));
        let (status, body) = s
            .put(&path, Some(json!({"name": "wf", "actions": run("00000000-0000-7000-8000-000000000001")})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(causes(&body).iter().any(|c| c.contains(field)), "{body}");
        let (_, kept) = s.get(&path).await;
        assert_eq!(kept["actions"]["entityRisk"]["actions"][0]["workflow"]["id"], wid.as_str());
        // A paused workflow may still be named (activating it again needs no rule edit).
        let (status, _) = s
            .post(&format!("/api/v1/workflows/{wid}/lifecycle/deactivate"), json!({}))
            .await;
        assert!(status.is_success());
        let (status, body) = s
            .put(&path, Some(json!({"name": "wf renamed", "actions": run(&wid)})))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    })
    .await;
}

#[tokio::test]
async fn specific_with_the_desktop_mfa_app_signs_the_device_out_and_not_the_apps() {
    on_every_backend(async |s| {
        let pid = policy_id(s).await;
        let (ada, desktop_mfa) = crate::devices::set_up(s).await;
        let (fake, base) = FakeApps::start().await;
        let app = logout_app(
            s,
            "Vault",
            "global-token-revocation",
            &format!("{base}/vault"),
            "email",
            &ada,
        )
        .await;
        let now = ulo_testkit::now();
        let laptop = crate::devices::ada_agent(s, now).await;
        add_rule(
            s,
            &pid,
            json!({"name": "devices", "actions": terminate("SPECIFIC", &[desktop_mfa.as_str()])}),
        )
        .await;

        report(s, &ada, "HIGH").await;
        let action = events(s, "policy.entity_risk.action", &ada).await;
        let logout_id = action.last().unwrap()["debugContext"]["debugData"]["logoutId"]
            .as_str()
            .unwrap_or_else(|| panic!("no logout: {action:?}"))
            .to_string();
        let started = crate::logout::receipt(s, &logout_id).await;
        let targets = started["targets"].as_array().unwrap();
        assert!(
            targets
                .iter()
                .any(|t| t["type"] == "DEVICE" && t["id"] == laptop.id()),
            "a DEVICE target for the laptop: {started}"
        );
        assert!(
            targets.iter().all(|t| t["id"] != id(&app).as_str()),
            "the app is not a target: {started}"
        );

        // The agent gets the SIGN_OUT command, signed for it, and acknowledges it.
        let (status, polled) = laptop.poll(s, now, "ada").await;
        assert_eq!(status, StatusCode::OK, "{polled}");
        let commands = polled["commands"].as_array().unwrap();
        assert_eq!(commands.len(), 1, "{polled}");
        let cmd = ulo_agent::command::verify(&laptop.enrolled, &commands[0], now.unix_timestamp())
            .expect("the command verifies against the pinned keys");
        assert_eq!(cmd.user_login, "ada@example.com");
        let (status, body) = laptop.ack(s, &cmd.id, true, now).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let done = final_receipt(s, &logout_id).await;
        assert_eq!(done["status"], "COMPLETED", "{done}");
        assert!(
            fake.received("vault").is_empty(),
            "the app received a logout"
        );
    })
    .await;
}

#[tokio::test]
async fn specific_with_one_app_logs_out_that_app_only() {
    on_every_backend(async |s| {
        let pid = policy_id(s).await;
        let (fake, base) = FakeApps::start().await;
        let user = create_user(s, "two-apps@example.com").await;
        let uid = id(&user);
        let chosen = logout_app(
            s,
            "Chosen",
            "global-token-revocation",
            &format!("{base}/chosen"),
            "email",
            &uid,
        )
        .await;
        let other = logout_app(
            s,
            "Other",
            "global-token-revocation",
            &format!("{base}/other"),
            "email",
            &uid,
        )
        .await;
        add_rule(
            s,
            &pid,
            json!({"name": "one app", "actions": terminate("SPECIFIC", &[id(&chosen).as_str()])}),
        )
        .await;

        report(s, &uid, "HIGH").await;
        let action = events(s, "policy.entity_risk.action", &uid).await;
        let logout_id = action.last().unwrap()["debugContext"]["debugData"]["logoutId"]
            .as_str()
            .unwrap_or_else(|| panic!("no logout: {action:?}"))
            .to_string();
        let done = final_receipt(s, &logout_id).await;
        assert_eq!(done["status"], "COMPLETED", "{done}");
        assert_eq!(
            crate::logout::target(&done, &id(&chosen))["status"],
            "SUCCEEDED",
            "{done}"
        );
        assert!(
            done["targets"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["id"] != id(&other).as_str()),
            "the other app is not a target: {done}"
        );
        assert_eq!(fake.received("chosen").len(), 1);
        assert!(
            fake.received("other").is_empty(),
            "the other app received a logout"
        );
    })
    .await;
}
