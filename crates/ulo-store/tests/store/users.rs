//! Conformance for users: round trips, unique logins, search, the row lock, and rollback.

use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;
use time::Duration;
use ulo_core::context::Context;
use ulo_core::ids::UserId;
use ulo_core::job::NewJob;
use ulo_core::log::{LogEvent, catalogue};
use ulo_core::store::{Page, StoreError, UserQuery};

use crate::fixtures::*;

on_every_backend!(users_round_trip_unique_and_search, |store| Box::pin(
    async move {
        let ada = user("ada@example.com", "Ada");
        insert_user(store.as_ref(), &ada).await;
        let mut tx = store.read().await.unwrap();
        assert_eq!(tx.get_user(ada.id).await.unwrap().as_ref(), Some(&ada));
        assert_eq!(
            tx.get_user_by_login("ADA@example.com")
                .await
                .unwrap()
                .map(|u| u.id),
            Some(ada.id)
        );
        assert_eq!(
            tx.password_hash(ada.id).await.unwrap().as_deref(),
            Some("phc")
        );
        drop(tx);

        // Logins are unique case-insensitively, and a failed insert leaves nothing behind.
        let mut tx = store.begin().await.unwrap();
        let dup = user("Ada@Example.com", "Other");
        assert!(matches!(
            tx.insert_user(&dup, None).await,
            Err(StoreError::Unique(_))
        ));
        drop(tx);
        let mut tx = store.read().await.unwrap();
        assert_eq!(tx.count_users().await.unwrap(), 1);
        drop(tx);

        for i in 0..5 {
            insert_user(
                store.as_ref(),
                &user(&format!("user{i}@example.com"), &format!("Bob{i}")),
            )
            .await;
        }
        let mut tx = store.read().await.unwrap();
        // Keyset paging visits every user once.
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = tx
                .list_users(&UserQuery {
                    q: None,
                    filter: None,
                    page: Page {
                        after: after.clone(),
                        limit: 2,
                    },
                    risk_at: None,
                })
                .await
                .unwrap();
            if page.is_empty() {
                break;
            }
            after = page.last().map(|u| u.id.to_string());
            seen.extend(page.into_iter().map(|u| u.id));
        }
        assert_eq!(seen.len(), 6);
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 6);
        let by_q = tx
            .list_users(&UserQuery {
                q: Some("bob".into()),
                filter: None,
                page: Page {
                    after: None,
                    limit: 50,
                },
                risk_at: None,
            })
            .await
            .unwrap();
        assert_eq!(by_q.len(), 5);
        let f =
            ulo_core::filter::parse(r#"profile.firstName eq "ada" or profile.login sw "user1""#)
                .unwrap();
        let by_f = tx
            .list_users(&UserQuery {
                q: None,
                filter: Some(f),
                page: Page {
                    after: None,
                    limit: 50,
                },
                risk_at: None,
            })
            .await
            .unwrap();
        assert_eq!(by_f.len(), 2);
        let f = ulo_core::filter::parse(
            r#"status eq "ACTIVE" and lastUpdated ge "2026-11-01T00:00:00Z""#,
        )
        .unwrap();
        let by_f = tx
            .list_users(&UserQuery {
                q: None,
                filter: Some(f),
                page: Page {
                    after: None,
                    limit: 50,
                },
                risk_at: None,
            })
            .await
            .unwrap();
        assert_eq!(by_f.len(), 6);
        let bad = ulo_core::filter::parse(r#"password eq "x""#).unwrap();
        assert!(matches!(
            tx.list_users(&UserQuery {
                q: None,
                filter: Some(bad),
                page: Page {
                    after: None,
                    limit: 5
                },
                risk_at: None,
            })
            .await,
            Err(StoreError::BadQuery(_))
        ));
    }
));

on_every_backend!(lock_user_serializes, |store| Box::pin(async move {
    use std::sync::atomic::{AtomicBool, Ordering};
    use ulo_core::oauth::SignInState;

    let u = user("locked@example.com", "Locked");
    insert_user(store.as_ref(), &u).await;
    let mut tx = store.begin().await.unwrap();
    assert!(!tx.lock_user(UserId::new()).await.unwrap());
    assert!(tx.lock_user(u.id).await.unwrap());
    let written = Arc::new(AtomicBool::new(false));
    let (other_store, other_written, id) = (store.clone(), written.clone(), u.id);
    // A second transaction locking the same user goes on only after the first committed,
    // so it reads the first one's write (the counter cannot lose an increment).
    let other = tokio::spawn(async move {
        let mut tx = other_store.begin().await.unwrap();
        assert!(tx.lock_user(id).await.unwrap());
        assert!(
            other_written.load(Ordering::SeqCst),
            "the lock did not wait"
        );
        let st = tx.sign_in_state(id).await.unwrap();
        tx.put_sign_in_state(
            id,
            &SignInState {
                failed_attempts: st.failed_attempts + 1,
                ..st
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    });
    let st = tx.sign_in_state(u.id).await.unwrap();
    tx.put_sign_in_state(
        u.id,
        &SignInState {
            failed_attempts: st.failed_attempts + 1,
            totp_last_step: Some(7),
            ..st
        },
    )
    .await
    .unwrap();
    written.store(true, Ordering::SeqCst);
    tx.commit().await.unwrap();
    other.await.unwrap();
    let mut tx = store.read().await.unwrap();
    let st = tx.sign_in_state(u.id).await.unwrap();
    assert_eq!((st.failed_attempts, st.totp_last_step), (2, Some(7)));
}));

on_every_backend!(rollback_leaves_nothing, |store| Box::pin(async move {
    let u = user("rolled@example.com", "Rolled");
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&u, None).await.unwrap();
    let ev = LogEvent::build(&Context::system("TEST"), catalogue::user::CREATE, t0(), "x").finish();
    tx.append_event(&ev).await.unwrap();
    tx.enqueue_job(&NewJob::new("webhook", json!({}), t0(), Duration::hours(1)))
        .await
        .unwrap();
    drop(tx);
    let mut tx = store.read().await.unwrap();
    assert!(tx.get_user(u.id).await.unwrap().is_none());
    assert!(tx.get_event(ev.uuid).await.unwrap().is_none());
    assert_eq!(tx.count_jobs(None).await.unwrap().queued, 0);
}));

on_every_backend!(users_update_and_password_change, |store| Box::pin(
    async move {
        let mut ada = user("ada@example.com", "Ada");
        insert_user(store.as_ref(), &ada).await;
        ada.profile.login = "ada.l@example.com".into();
        ada.profile.first_name = "Augusta".into();
        ada.status = ulo_core::user::UserStatus::Suspended;
        ada.status_changed = Some(t0() + time::Duration::minutes(1));
        ada.last_updated = t0() + time::Duration::minutes(1);
        let mut tx = store.begin().await.unwrap();
        tx.update_user(&ada).await.unwrap();
        tx.set_password_hash(ada.id, "phc2").await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.read().await.unwrap();
        assert_eq!(tx.get_user(ada.id).await.unwrap().as_ref(), Some(&ada));
        assert_eq!(
            tx.get_user_by_login("ADA.L@example.com")
                .await
                .unwrap()
                .map(|u| u.id),
            Some(ada.id),
            "the login key follows the new login"
        );
        assert!(
            tx.get_user_by_login("ada@example.com")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            tx.password_hash(ada.id).await.unwrap().as_deref(),
            Some("phc2")
        );
    }
));
