//! Conformance for policies: one per type (a second insert of the type does nothing), rules
//! stored with their JSON conditions and actions and read in priority order, priorities unique
//! and reordered at once, rules changed and deleted, and the policy row locked.

use time::Duration;
use ulo_core::ids::{PolicyId, PolicyRuleId};
use ulo_core::policy::{
    ActionKind, AppSelectionMode, DetectionTypesCondition, EntityRiskPolicy, LevelCondition,
    PolicyRule, RuleAction, RuleActions, RuleConditions, RuleMode, RuleStatus, Slo,
};
use ulo_core::risk::DetectionType;
use ulo_core::store::StoreError;

use crate::fixtures::*;

fn policy() -> EntityRiskPolicy {
    EntityRiskPolicy {
        id: PolicyId::new(),
        policy_type: "ENTITY_RISK".into(),
        name: "Entity Risk Policy".into(),
        status: "ACTIVE".into(),
        priority: 1,
        system: true,
        created: t0(),
        last_updated: t0(),
        rules: Vec::new(),
    }
}

fn rule(name: &str, priority: u32) -> PolicyRule {
    PolicyRule {
        id: PolicyRuleId::new(),
        rule_type: "ENTITY_RISK".into(),
        name: name.into(),
        priority,
        status: RuleStatus::Active,
        mode: RuleMode::Enforce,
        system: false,
        conditions: RuleConditions::default(),
        actions: RuleActions::default(),
        created: t0(),
        last_updated: t0(),
    }
}

fn names(p: &EntityRiskPolicy) -> Vec<(String, u32)> {
    p.rules
        .iter()
        .map(|r| (r.name.clone(), r.priority))
        .collect()
}

on_every_backend!(policies_and_rules_round_trip_in_priority_order, |store| {
    Box::pin(async move {
        let p = policy();
        let mut default = rule("Default Rule", 99);
        default.system = true;
        let mut a = rule("a", 2);
        a.mode = RuleMode::Monitor;
        a.conditions.entity_risk.level = LevelCondition::High;
        a.conditions.risk_detection_types = Some(DetectionTypesCondition {
            include: vec![DetectionType::AdminReportedUserRisk],
            exclude: vec![],
        });
        a.conditions.people.users.exclude = vec!["someone".into()];
        a.actions.entity_risk.actions = vec![RuleAction {
            action: ActionKind::TerminateAllSessions,
            slo: Some(Slo {
                app_selection_mode: AppSelectionMode::Specific,
                app_instance_ids: vec!["app1".into()],
            }),
            workflow: None,
        }];
        let b = rule("b", 1);
        let mut tx = store.begin().await.unwrap();
        assert!(tx.insert_policy(&p).await.unwrap());
        let mut twin = policy();
        twin.name = "another".into();
        assert!(!tx.insert_policy(&twin).await.unwrap(), "one per type");
        for r in [&default, &a, &b] {
            tx.insert_policy_rule(p.id, r).await.unwrap();
        }
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        assert!(matches!(
            tx.insert_policy_rule(p.id, &rule("taken", 1)).await,
            Err(StoreError::Unique(_))
        ));
        drop(tx);

        let mut tx = store.read().await.unwrap();
        let got = tx.get_policy(p.id).await.unwrap().unwrap();
        let want = EntityRiskPolicy {
            rules: vec![b.clone(), a.clone(), default.clone()],
            ..p.clone()
        };
        assert_eq!(got, want);
        assert_eq!(tx.list_policies("ENTITY_RISK").await.unwrap(), vec![want]);
        assert!(tx.list_policies("OKTA_SIGN_ON").await.unwrap().is_empty());
        assert!(tx.get_policy(PolicyId::new()).await.unwrap().is_none());
    })
});

on_every_backend!(
    rules_are_reordered_changed_and_deleted_under_the_lock,
    |store| {
        Box::pin(async move {
            let p = policy();
            let rules: Vec<PolicyRule> = ["a", "b", "c"]
                .iter()
                .zip(1..)
                .map(|(n, i)| rule(n, i))
                .collect();
            let mut tx = store.begin().await.unwrap();
            tx.insert_policy(&p).await.unwrap();
            for r in &rules {
                tx.insert_policy_rule(p.id, r).await.unwrap();
            }
            tx.commit().await.unwrap();

            // Insert "d" at 1: the others shift down, written before "d" takes its place.
            let later = t0() + Duration::minutes(5);
            let d = rule("d", 1);
            let mut tx = store.begin().await.unwrap();
            assert!(tx.lock_policy(p.id).await.unwrap());
            assert!(!tx.lock_policy(PolicyId::new()).await.unwrap());
            tx.set_rule_priorities(
                p.id,
                &[(rules[0].id, 2), (rules[1].id, 3), (rules[2].id, 4)],
            )
            .await
            .unwrap();
            tx.insert_policy_rule(p.id, &d).await.unwrap();
            tx.touch_policy(p.id, later).await.unwrap();
            tx.commit().await.unwrap();
            let mut tx = store.read().await.unwrap();
            let got = tx.get_policy(p.id).await.unwrap().unwrap();
            assert_eq!(
                names(&got),
                vec![
                    ("d".into(), 1),
                    ("a".into(), 2),
                    ("b".into(), 3),
                    ("c".into(), 4)
                ]
            );
            assert_eq!(got.last_updated, later);
            drop(tx);

            // A swap (each to the other's place) and a change that keeps the priority.
            let mut changed = rules[2].clone();
            changed.name = "c2".into();
            changed.status = RuleStatus::Inactive;
            changed.mode = RuleMode::Monitor;
            changed.priority = 77; // ignored: update keeps the priority
            changed.last_updated = later;
            let mut tx = store.begin().await.unwrap();
            tx.set_rule_priorities(p.id, &[(rules[0].id, 3), (rules[1].id, 2)])
                .await
                .unwrap();
            assert!(tx.update_policy_rule(p.id, &changed).await.unwrap());
            assert!(
                !tx.update_policy_rule(PolicyId::new(), &changed)
                    .await
                    .unwrap()
            );
            assert!(tx.delete_policy_rule(p.id, d.id).await.unwrap());
            assert!(!tx.delete_policy_rule(p.id, d.id).await.unwrap());
            tx.commit().await.unwrap();
            let mut tx = store.read().await.unwrap();
            let got = tx.get_policy(p.id).await.unwrap().unwrap();
            assert_eq!(
                names(&got),
                vec![("b".into(), 2), ("a".into(), 3), ("c2".into(), 4)]
            );
            let c = &got.rules[2];
            assert_eq!(
                (c.status, c.mode, c.last_updated, c.created),
                (RuleStatus::Inactive, RuleMode::Monitor, later, t0())
            );
        })
    }
);

on_every_backend!(
    two_transactions_creating_the_policy_store_it_once,
    |store| {
        Box::pin(async move {
            // On PostgreSQL the second insert waits for the first transaction, then does nothing;
            // on SQLite the second transaction begins only after the first commits.
            let (a, b) = (policy(), policy());
            let s1 = store.clone();
            let first = tokio::spawn(async move {
                let mut tx = s1.begin().await.unwrap();
                let stored = tx.insert_policy(&a).await.unwrap();
                tx.commit().await.unwrap();
                stored
            });
            let s2 = store.clone();
            let second = tokio::spawn(async move {
                let mut tx = s2.begin().await.unwrap();
                let stored = tx.insert_policy(&b).await.unwrap();
                tx.commit().await.unwrap();
                stored
            });
            let (x, y) = (first.await.unwrap(), second.await.unwrap());
            assert!(x ^ y, "exactly one stored it: {x} {y}");
            let mut tx = store.read().await.unwrap();
            assert_eq!(tx.list_policies("ENTITY_RISK").await.unwrap().len(), 1);
        })
    }
);

/// Two nodes (two stores on one database) starting at once create the Entity Risk Policy and
/// its default rule once, and both answer that one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_starting_at_once_create_one_policy() {
    for backend in ulo_testkit::backends() {
        let db = ulo_testkit::Database::new(backend).await.expect("database");
        let nodes = [db.open().await.unwrap(), db.open().await.unwrap()];
        let starts = nodes.iter().cloned().map(|store| {
            tokio::spawn(async move { ulo_core::policy::ensure(store.as_ref(), t0()).await })
        });
        let mut answered = Vec::new();
        for start in starts.collect::<Vec<_>>() {
            answered.push(start.await.unwrap().unwrap());
        }
        assert_eq!(answered[0], answered[1]);
        let mut tx = nodes[0].read().await.unwrap();
        let all = tx.list_policies("ENTITY_RISK").await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(names(&all[0]), vec![("Default Rule".into(), 99)]);
        drop(tx);
        drop(nodes);
        db.cleanup().await;
    }
}
