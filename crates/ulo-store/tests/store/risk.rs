//! Conformance for risk detections: stored and read back, active ones told from expired and
//! ended ones, reset, pruned to a bounded history, purged, the level on the user's row, and the
//! users list answering and filtering `riskLevel` from the detections active at its time.

use time::Duration;
use ulo_core::ids::{DetectionId, UserId};
use ulo_core::risk::{Detection, DetectionType};
use ulo_core::store::{Page, StoreError, UserQuery};
use ulo_core::user::RiskLevel;

use crate::fixtures::*;

/// A detection about `user` made `at` minutes after t0, counting for `ttl` minutes.
fn detection(user: UserId, level: RiskLevel, at: i64, ttl: i64) -> Detection {
    let created = t0() + Duration::minutes(at);
    Detection {
        id: DetectionId::new(),
        user_id: user,
        detection_type: DetectionType::SecurityEventsProviderReportedRisk,
        level,
        source: "SECURITY_EVENTS_PROVIDER".into(),
        reasons: vec![format!("reason {at}"), "second".into()],
        issuer: Some("https://provider.example.com".into()),
        created,
        expires: created + Duration::minutes(ttl),
        ended: None,
    }
}

fn ids(ds: &[Detection]) -> Vec<DetectionId> {
    ds.iter().map(|d| d.id).collect()
}

on_every_backend!(detections_round_trip_expire_end_and_cascade, |store| {
    Box::pin(async move {
        let ada = user("ada@example.com", "Ada");
        let bob = user("bob@example.com", "Bob");
        insert_user(store.as_ref(), &ada).await;
        insert_user(store.as_ref(), &bob).await;
        let old = detection(ada.id, RiskLevel::High, 0, 10);
        let mut mid = detection(ada.id, RiskLevel::Medium, 5, 60);
        mid.issuer = None;
        mid.detection_type = DetectionType::BruteForceAttack;
        mid.source = "SIGN_IN".into();
        let new = detection(ada.id, RiskLevel::Low, 6, 60);
        let other = detection(bob.id, RiskLevel::High, 1, 60);
        let mut tx = store.begin().await.unwrap();
        for d in [&old, &mid, &new, &other] {
            tx.insert_detection(d).await.unwrap();
        }
        assert!(matches!(
            tx.insert_detection(&old).await,
            Err(StoreError::Unique(_))
        ));
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        for d in [&old, &mid, &new, &other] {
            tx.insert_detection(d).await.unwrap();
        }
        tx.commit().await.unwrap();

        let mut tx = store.read().await.unwrap();
        // Newest first; at +7 min all three count, at +10 min the first has expired.
        let at = |m| t0() + Duration::minutes(m);
        let active = tx.active_detections(ada.id, at(7)).await.unwrap();
        assert_eq!(active, vec![new.clone(), mid.clone(), old.clone()]);
        assert_eq!(
            ids(&tx.active_detections(ada.id, at(10)).await.unwrap()),
            vec![new.id, mid.id]
        );
        assert!(
            tx.active_detections(ada.id, at(66))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            ids(&tx.recent_detections(ada.id, 2).await.unwrap()),
            vec![new.id, mid.id]
        );
        assert_eq!(
            ids(&tx.recent_detections(ada.id, 10).await.unwrap()),
            vec![new.id, mid.id, old.id],
            "expired ones too"
        );
        drop(tx);

        // A reset ends the active ones only, and answers them.
        let mut tx = store.begin().await.unwrap();
        let mut ended = tx.end_detections(ada.id, at(20)).await.unwrap();
        ended.sort_by_key(|id| id.to_string());
        let mut want = vec![new.id, mid.id];
        want.sort_by_key(|id| id.to_string());
        assert_eq!(ended, want);
        assert!(tx.end_detections(ada.id, at(21)).await.unwrap().is_empty());
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        assert!(
            tx.active_detections(ada.id, at(20))
                .await
                .unwrap()
                .is_empty()
        );
        let recent = tx.recent_detections(ada.id, 10).await.unwrap();
        assert_eq!(recent[0].ended, Some(at(20)));
        assert_eq!(recent[1].ended, Some(at(20)));
        assert_eq!(recent[2].ended, None, "the expired one was not ended");
        assert_eq!(
            ids(&tx.active_detections(bob.id, at(20)).await.unwrap()),
            vec![other.id],
            "another user's stay"
        );
        drop(tx);

        // A user's detections go with the user.
        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_user(bob.id).await.unwrap());
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        assert!(tx.recent_detections(bob.id, 10).await.unwrap().is_empty());
    })
});

on_every_backend!(detections_are_pruned_and_purged, |store| {
    Box::pin(async move {
        let ada = user("ada@example.com", "Ada");
        let bob = user("bob@example.com", "Bob");
        insert_user(store.as_ref(), &ada).await;
        insert_user(store.as_ref(), &bob).await;
        // Ada: six expired by +100 min (made at 0..6, 10 min each), two active until +200.
        let expired: Vec<Detection> = (0..6)
            .map(|m| detection(ada.id, RiskLevel::Medium, m, 10))
            .collect();
        let active: Vec<Detection> = (50..52)
            .map(|m| detection(ada.id, RiskLevel::High, m, 150))
            .collect();
        let bobs = detection(bob.id, RiskLevel::Medium, 0, 10);
        let mut tx = store.begin().await.unwrap();
        for d in expired.iter().chain(&active).chain([&bobs]) {
            tx.insert_detection(d).await.unwrap();
        }
        tx.commit().await.unwrap();

        let at = |m| t0() + Duration::minutes(m);
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.prune_detections(ada.id, at(100), 2).await.unwrap(), 4);
        assert_eq!(tx.prune_detections(ada.id, at(100), 2).await.unwrap(), 0);
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        assert_eq!(
            ids(&tx.recent_detections(ada.id, 50).await.unwrap()),
            vec![active[1].id, active[0].id, expired[5].id, expired[4].id],
            "every active one and the two newest inactive ones"
        );
        assert_eq!(tx.recent_detections(bob.id, 50).await.unwrap().len(), 1);
        drop(tx);

        // Purging deletes what stopped counting before the horizon, of every user.
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.purge_detections(at(14)).await.unwrap(), 1, "bob's");
        assert_eq!(tx.purge_detections(at(16)).await.unwrap(), 2, "ada's two");
        assert_eq!(tx.purge_detections(at(16)).await.unwrap(), 0);
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        assert_eq!(
            ids(&tx.recent_detections(ada.id, 50).await.unwrap()),
            vec![active[1].id, active[0].id]
        );
        assert!(tx.recent_detections(bob.id, 50).await.unwrap().is_empty());
    })
});

on_every_backend!(
    risk_levels_are_stored_refreshed_listed_and_filtered,
    |store| {
        Box::pin(async move {
            let ada = user("ada@example.com", "Ada");
            let bob = user("bob@example.com", "Bob");
            let cy = user("cy@example.com", "Cy");
            for u in [&ada, &bob, &cy] {
                insert_user(store.as_ref(), u).await;
            }
            let at = |m| t0() + Duration::minutes(m);
            // Ada HIGH until +10, then MEDIUM until +60; Bob MEDIUM until +60; Cy nothing.
            let mut tx = store.begin().await.unwrap();
            tx.insert_detection(&detection(ada.id, RiskLevel::High, 0, 10))
                .await
                .unwrap();
            tx.insert_detection(&detection(ada.id, RiskLevel::Medium, 0, 60))
                .await
                .unwrap();
            tx.insert_detection(&detection(bob.id, RiskLevel::Medium, 0, 60))
                .await
                .unwrap();
            assert!(
                tx.set_user_risk_level(ada.id, RiskLevel::High)
                    .await
                    .unwrap()
            );
            assert!(
                tx.set_user_risk_level(bob.id, RiskLevel::Medium)
                    .await
                    .unwrap()
            );
            assert!(
                !tx.set_user_risk_level(UserId::new(), RiskLevel::High)
                    .await
                    .unwrap()
            );
            tx.commit().await.unwrap();

            let list = async |filter: Option<&str>, risk_at| {
                let mut tx = store.read().await.unwrap();
                let users = tx
                    .list_users(&UserQuery {
                        q: None,
                        filter: filter.map(|f| ulo_core::filter::parse(f).unwrap()),
                        page: Page {
                            after: None,
                            limit: 50,
                        },
                        risk_at,
                    })
                    .await
                    .unwrap();
                let mut out: Vec<(String, RiskLevel)> = users
                    .into_iter()
                    .map(|u| (u.profile.login, u.risk_level))
                    .collect();
                out.sort();
                out
            };
            let pair = |u: &ulo_core::user::User, l| (u.profile.login.clone(), l);
            // The stored level.
            let mut tx = store.read().await.unwrap();
            assert_eq!(
                tx.get_user(ada.id).await.unwrap().unwrap().risk_level,
                RiskLevel::High
            );
            drop(tx);
            assert_eq!(
                list(Some(r#"riskLevel eq "HIGH""#), None).await,
                vec![pair(&ada, RiskLevel::High)]
            );
            // At +20 min Ada's HIGH detection expired: the level from active detections says so,
            // answered and filtered alike, while the stored one has not caught up.
            assert_eq!(
                list(None, Some(at(20))).await,
                vec![
                    pair(&ada, RiskLevel::Medium),
                    pair(&bob, RiskLevel::Medium),
                    pair(&cy, RiskLevel::Low)
                ]
            );
            assert!(
                list(Some(r#"riskLevel eq "HIGH""#), Some(at(20)))
                    .await
                    .is_empty()
            );
            assert_eq!(
                list(Some(r#"riskLevel eq "MEDIUM""#), Some(at(20))).await,
                vec![pair(&ada, RiskLevel::Medium), pair(&bob, RiskLevel::Medium)]
            );
            assert_eq!(
                list(Some(r#"riskLevel eq "LOW""#), Some(at(61)))
                    .await
                    .len(),
                3
            );
            assert_eq!(
                list(Some(r#"riskLevel eq "HIGH""#), None).await,
                vec![pair(&ada, RiskLevel::High)],
                "still stored"
            );

            // The refresh brings stored levels up to date, and only changes stale ones.
            let mut tx = store.begin().await.unwrap();
            assert_eq!(tx.refresh_risk_levels(at(20)).await.unwrap(), vec![ada.id]);
            assert!(tx.refresh_risk_levels(at(20)).await.unwrap().is_empty());
            let mut both = vec![ada.id, bob.id];
            both.sort_by_key(|id| id.to_string());
            assert_eq!(tx.refresh_risk_levels(at(61)).await.unwrap(), both);
            tx.commit().await.unwrap();
            let mut tx = store.read().await.unwrap();
            for u in [&ada, &bob, &cy] {
                assert_eq!(
                    tx.get_user(u.id).await.unwrap().unwrap().risk_level,
                    RiskLevel::Low
                );
            }
            drop(tx);

            // Updating a user never writes back a level read before a detection.
            let mut stale = tx_user(store.as_ref(), cy.id).await;
            let mut tx = store.begin().await.unwrap();
            tx.set_user_risk_level(cy.id, RiskLevel::High)
                .await
                .unwrap();
            stale.profile.first_name = "Cyrus".into();
            tx.update_user(&stale).await.unwrap();
            tx.commit().await.unwrap();
            let got = tx_user(store.as_ref(), cy.id).await;
            assert_eq!(got.profile.first_name, "Cyrus");
            assert_eq!(got.risk_level, RiskLevel::High);
        })
    }
);

async fn tx_user(store: &dyn ulo_core::store::Store, id: UserId) -> ulo_core::user::User {
    let mut tx = store.read().await.unwrap();
    tx.get_user(id).await.unwrap().unwrap()
}

on_every_backend!(
    a_detection_is_recorded_with_the_level_and_the_pruning,
    |store| {
        Box::pin(async move {
            let ada = user("ada@example.com", "Ada");
            let bob = user("bob@example.com", "Bob");
            insert_user(store.as_ref(), &ada).await;
            insert_user(store.as_ref(), &bob).await;
            // Ada: three expired by +100 min, one active.
            let expired: Vec<Detection> = (0..3)
                .map(|m| detection(ada.id, RiskLevel::Medium, m, 10))
                .collect();
            let old_active = detection(ada.id, RiskLevel::Medium, 40, 150);
            let bobs = detection(bob.id, RiskLevel::Medium, 0, 10);
            let mut tx = store.begin().await.unwrap();
            for d in expired.iter().chain([&old_active, &bobs]) {
                tx.insert_detection(d).await.unwrap();
            }
            tx.commit().await.unwrap();

            let at = |m| t0() + Duration::minutes(m);
            let new = detection(ada.id, RiskLevel::High, 100, 60);
            let mut tx = store.begin().await.unwrap();
            tx.record_detection(&new, RiskLevel::High, at(100), 1)
                .await
                .unwrap();
            // The new row is there at once, in the same transaction.
            assert_eq!(
                ids(&tx.active_detections(ada.id, at(100)).await.unwrap()),
                vec![new.id, old_active.id]
            );
            tx.commit().await.unwrap();
            let mut tx = store.read().await.unwrap();
            assert_eq!(
                ids(&tx.recent_detections(ada.id, 50).await.unwrap()),
                vec![new.id, old_active.id, expired[2].id],
                "the active ones and the newest inactive one"
            );
            assert_eq!(
                tx_user(store.as_ref(), ada.id).await.risk_level,
                RiskLevel::High
            );
            assert_eq!(
                tx.recent_detections(bob.id, 50).await.unwrap().len(),
                1,
                "another user's are not pruned"
            );
            drop(tx);

            // The same level again changes nothing else; a lower one is written.
            let mut tx = store.begin().await.unwrap();
            let again = detection(ada.id, RiskLevel::High, 101, 60);
            tx.record_detection(&again, RiskLevel::High, at(101), 1)
                .await
                .unwrap();
            let low = detection(bob.id, RiskLevel::Low, 101, 60);
            tx.record_detection(&low, RiskLevel::Low, at(101), 50)
                .await
                .unwrap();
            // A taken id is refused, as by insert_detection.
            assert!(matches!(
                tx.record_detection(&again, RiskLevel::High, at(101), 1)
                    .await,
                Err(StoreError::Unique(_))
            ));
            drop(tx);
            let mut tx = store.begin().await.unwrap();
            tx.record_detection(&low, RiskLevel::Low, at(101), 50)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            assert_eq!(
                tx_user(store.as_ref(), ada.id).await.risk_level,
                RiskLevel::High
            );
            assert_eq!(
                tx_user(store.as_ref(), bob.id).await.risk_level,
                RiskLevel::Low
            );
            let mut tx = store.read().await.unwrap();
            assert_eq!(
                ids(&tx.recent_detections(bob.id, 50).await.unwrap()),
                vec![low.id, bobs.id]
            );
        })
    }
);
