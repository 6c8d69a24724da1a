//! Conformance for Universal Logout receipts (with their targets) and the upstream identity
//! providers whose logouts ulo accepts.

use serde_json::json;
use ulo_core::ids::LogoutId;
use ulo_core::log::Actor;
use ulo_core::logout::upstream::UpstreamIdp;
use ulo_core::logout::{Logout, LogoutScope, LogoutStatus, LogoutTarget, TargetStatus, TargetType};
use ulo_core::store::{Page, StoreError};
use ulo_core::user::User;

use crate::fixtures::*;

fn target(name: &str) -> LogoutTarget {
    LogoutTarget {
        target_type: TargetType::App,
        id: Some(name.into()),
        display_name: name.into(),
        protocol: None,
        status: TargetStatus::Pending,
        reason: "assigned".into(),
        count: None,
        attempts: 0,
        last_http_status: None,
        last_error: None,
        completed_at: None,
        delivery_id: None,
        command_id: None,
    }
}

fn receipt(u: &User, targets: Vec<LogoutTarget>) -> Logout {
    Logout {
        id: LogoutId::new(),
        user_id: u.id,
        user_login: u.profile.login.clone(),
        reason: "conformance".into(),
        scope: LogoutScope::AllApps,
        status: LogoutStatus::InProgress,
        created: t0(),
        completed: None,
        transaction_id: "t".into(),
        initiated_by: Actor::system(),
        targets,
    }
}

/// Ids newest first, as receipts are listed (ids are stored as text).
fn newest_first(ids: &[LogoutId]) -> Vec<LogoutId> {
    let mut ids = ids.to_vec();
    ids.sort_by_key(|id| std::cmp::Reverse(id.to_string()));
    ids
}

fn ids(logouts: Vec<Logout>) -> Vec<LogoutId> {
    logouts.into_iter().map(|l| l.id).collect()
}

on_every_backend!(receipts_round_trip_settle_and_page_newest_first, |store| {
    Box::pin(async move {
        let ada = user("ada@example.com", "Ada");
        let bob = user("bob@example.com", "Bob");
        insert_user(store.as_ref(), &ada).await;
        insert_user(store.as_ref(), &bob).await;
        let first = receipt(&ada, vec![target("Wiki"), target("Chat")]);
        let second = receipt(&bob, Vec::new());
        let third = receipt(&ada, vec![target("Mail")]);
        let mut tx = store.begin().await.unwrap();
        for l in [&first, &second, &third] {
            tx.insert_logout(l).await.unwrap();
        }
        tx.commit().await.unwrap();

        let all = Page {
            after: None,
            limit: 10,
        };
        let mut tx = store.read().await.unwrap();
        assert_eq!(
            tx.get_logout(first.id).await.unwrap().as_ref(),
            Some(&first)
        );
        assert_eq!(
            tx.get_logout(second.id).await.unwrap().as_ref(),
            Some(&second),
            "a receipt without targets"
        );
        assert!(tx.get_logout(LogoutId::new()).await.unwrap().is_none());
        let everyone = newest_first(&[first.id, second.id, third.id]);
        assert_eq!(
            ids(tx.list_logouts(None, None, &all).await.unwrap()),
            everyone
        );
        let page = Page {
            after: None,
            limit: 2,
        };
        assert_eq!(
            ids(tx.list_logouts(None, None, &page).await.unwrap()),
            everyone[..2]
        );
        let page = Page {
            after: Some(everyone[1].to_string()),
            limit: 2,
        };
        assert_eq!(
            ids(tx.list_logouts(None, None, &page).await.unwrap()),
            everyone[2..],
            "paging continues below `after`"
        );
        // Headers only: a user's receipts in one status, newest first, without targets.
        let bare = |l: &Logout| Logout {
            targets: Vec::new(),
            ..l.clone()
        };
        assert_eq!(
            tx.list_logout_headers(ada.id, LogoutStatus::InProgress, 10)
                .await
                .unwrap(),
            newest_first(&[first.id, third.id])
                .iter()
                .map(|id| bare(if *id == first.id { &first } else { &third }))
                .collect::<Vec<_>>()
        );
        assert_eq!(
            ids(tx
                .list_logout_headers(ada.id, LogoutStatus::InProgress, 1)
                .await
                .unwrap()),
            newest_first(&[first.id, third.id])[..1]
        );
        assert!(
            tx.list_logout_headers(ada.id, LogoutStatus::Completed, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let adas = tx.list_logouts(Some(ada.id), None, &all).await.unwrap();
        assert_eq!(ids(adas.clone()), newest_first(&[first.id, third.id]));
        assert!(
            adas.contains(&first) && adas.contains(&third),
            "listed receipts carry their targets"
        );
        drop(tx);

        // Targets answer one by one under the receipt's lock, then the receipt settles.
        let mut tx = store.begin().await.unwrap();
        let mut l = tx
            .get_logout_for_update(first.id)
            .await
            .unwrap()
            .expect("stored");
        assert_eq!(l, first);
        assert!(
            tx.get_logout_for_update(LogoutId::new())
                .await
                .unwrap()
                .is_none()
        );
        l.targets[1].status = TargetStatus::Succeeded;
        l.targets[1].attempts = 1;
        l.targets[1].last_http_status = Some(204);
        l.targets[1].completed_at = Some(t0());
        tx.update_logout_target(first.id, 1, &l.targets[1])
            .await
            .unwrap();
        l.targets[0].status = TargetStatus::Failed;
        l.targets[0].attempts = 3;
        l.targets[0].last_error = Some("connection refused".into());
        l.targets[0].completed_at = Some(t0());
        tx.update_logout_target(first.id, 0, &l.targets[0])
            .await
            .unwrap();
        l.status = LogoutStatus::CompletedWithFailures;
        l.completed = Some(t0());
        tx.update_logout(&l).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.read().await.unwrap();
        assert_eq!(tx.get_logout(first.id).await.unwrap().as_ref(), Some(&l));
        assert_eq!(
            ids(tx
                .list_logouts(None, Some(LogoutStatus::CompletedWithFailures), &all)
                .await
                .unwrap()),
            vec![first.id]
        );
        assert_eq!(
            ids(tx
                .list_logouts(Some(ada.id), Some(LogoutStatus::InProgress), &all)
                .await
                .unwrap()),
            vec![third.id]
        );
    })
});

on_every_backend!(upstream_idps_register_once_per_issuer_and_remove, |store| {
    Box::pin(async move {
        let idp = |id: &str, issuer: &str| UpstreamIdp {
            id: id.into(),
            name: format!("IdP {id}"),
            issuer: issuer.into(),
            jwks: json!({"keys": []}),
            created: t0(),
        };
        let (a, b) = (
            idp("a", "https://a.example.com"),
            idp("b", "https://b.example.com"),
        );
        let mut tx = store.begin().await.unwrap();
        tx.insert_upstream_idp(&a).await.unwrap();
        tx.insert_upstream_idp(&b).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        assert!(
            matches!(
                tx.insert_upstream_idp(&idp("c", "https://a.example.com"))
                    .await,
                Err(StoreError::Unique(_))
            ),
            "one registration per issuer"
        );
        drop(tx);

        let mut tx = store.read().await.unwrap();
        assert_eq!(
            tx.list_upstream_idps().await.unwrap(),
            vec![a.clone(), b.clone()]
        );
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_upstream_idp("a").await.unwrap());
        assert!(!tx.delete_upstream_idp("a").await.unwrap(), "already gone");
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        assert_eq!(tx.list_upstream_idps().await.unwrap(), vec![b]);
    })
});

on_every_backend!(
    a_receipt_with_many_targets_is_stored_and_updated_in_parts,
    |store| {
        Box::pin(async move {
            let ada = user("ada@example.com", "Ada");
            insert_user(store.as_ref(), &ada).await;
            // More targets than one multi-row insert takes.
            let mut l = receipt(&ada, (0..12).map(|n| target(&format!("App {n}"))).collect());
            let mut tx = store.begin().await.unwrap();
            tx.insert_logout(&l).await.unwrap();
            assert_eq!(tx.get_logout(l.id).await.unwrap().as_ref(), Some(&l));
            tx.commit().await.unwrap();
            let mut tx = store.begin().await.unwrap();
            assert!(matches!(
                tx.insert_logout(&l).await,
                Err(StoreError::Unique(_))
            ));
            drop(tx);

            // Two targets (one named twice), without the header.
            let mut tx = store.begin().await.unwrap();
            let mut got = tx.get_logout_for_update(l.id).await.unwrap().unwrap();
            assert_eq!(got, l);
            for p in [0, 11] {
                got.targets[p].status = TargetStatus::Succeeded;
                got.targets[p].attempts = 1;
                got.targets[p].completed_at = Some(t0());
            }
            tx.update_logout_parts(&got, &[0, 11, 0], false)
                .await
                .unwrap();
            assert_eq!(tx.get_logout(l.id).await.unwrap().as_ref(), Some(&got));
            tx.commit().await.unwrap();
            l = got;

            // The rest, with the header.
            let mut tx = store.begin().await.unwrap();
            for t in &mut l.targets[1..11] {
                t.status = TargetStatus::Failed;
                t.attempts = 2;
                t.last_error = Some("refused".into());
            }
            l.status = LogoutStatus::CompletedWithFailures;
            l.completed = Some(t0());
            let rest: Vec<usize> = (1..11).collect();
            tx.update_logout_parts(&l, &rest, true).await.unwrap();
            tx.commit().await.unwrap();
            let mut tx = store.read().await.unwrap();
            assert_eq!(tx.get_logout(l.id).await.unwrap().as_ref(), Some(&l));
            assert_eq!(
                ids(tx
                    .list_logouts(
                        Some(ada.id),
                        Some(LogoutStatus::CompletedWithFailures),
                        &Page {
                            after: None,
                            limit: 10
                        }
                    )
                    .await
                    .unwrap()),
                vec![l.id]
            );
            drop(tx);

            // Only the header.
            let mut tx = store.begin().await.unwrap();
            l.status = LogoutStatus::Completed;
            tx.update_logout_parts(&l, &[], true).await.unwrap();
            tx.commit().await.unwrap();
            let mut tx = store.read().await.unwrap();
            assert_eq!(tx.get_logout(l.id).await.unwrap().as_ref(), Some(&l));
        })
    }
);
