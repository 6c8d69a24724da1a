//! The store on both backends: uniqueness, shares through groups, and the job lease.

use std::time::Duration;

use serde_json::json;
use ulo_core::job::JobResult;
use ulo_vault::clock::{Clock, SystemClock};
use ulo_vault::model::*;
use ulo_vault::password::Policy;
use ulo_vault::store::{self, StoreError};

use crate::support::VaultDb;

fn person(name: &str, ext: &str) -> Person {
    let now = SystemClock.now();
    Person {
        id: new_id(),
        user_name: name.into(),
        external_id: Some(ext.into()),
        active: true,
        provisioned_by: Provisioning::Scim,
        attributes: json!({"emails": [{"value": name, "primary": true}]}),
        tokens_not_before: None,
        created: now,
        updated: now,
    }
}

#[tokio::test]
async fn the_store_behaves_the_same_on_every_backend() {
    for backend in ulo_testkit::backends() {
        let db = VaultDb::new(backend).await;
        let s = store::open(&db.url).await.expect("open");
        // The store keeps milliseconds.
        let now = ulo_core::clock::from_millis(ulo_core::clock::to_millis(SystemClock.now()));
        let ada = person("Ada@example.com", "u1");
        let mut tx = s.begin().await.unwrap();
        tx.insert_person(&ada).await.unwrap();
        let clash = tx.insert_person(&person("ada@EXAMPLE.com", "u2")).await;
        assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");
        drop(tx); // rolled back: a failed statement aborts a PostgreSQL transaction
        let mut tx = s.begin().await.unwrap();
        tx.insert_person(&ada).await.unwrap();
        let app = ManagedApp {
            id: new_id(),
            name: "Demo".into(),
            sign_in_url: "http://demo.example".into(),
            connector_type: "http".into(),
            connector_url: "http://demo.example/connector".into(),
            connector_secret_sealed: "sealed".into(),
            created: now,
            updated: now,
        };
        tx.insert_app(&app).await.unwrap();
        let account = Account {
            id: new_id(),
            app_id: app.id.clone(),
            username: "team".into(),
            password_sealed: "sealed".into(),
            candidate_sealed: None,
            policy: Policy::default(),
            status: AccountStatus::Ok,
            rotated_at: None,
            rotation_error: None,
            created: now,
            updated: now,
        };
        tx.insert_account(&account).await.unwrap();
        let group = Group {
            id: new_id(),
            display_name: "Team".into(),
            external_id: None,
            created: now,
            updated: now,
        };
        tx.insert_group(&group).await.unwrap();
        tx.add_group_member(&group.id, &ada.id).await.unwrap();
        assert!(
            tx.put_share(&account.id, &Principal::Group(group.id.clone()), now)
                .await
                .unwrap()
        );
        assert!(
            !tx.put_share(&account.id, &Principal::Group(group.id.clone()), now)
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();

        let mut r = s.read().await.unwrap();
        assert_eq!(
            r.person_by_user_name("ADA@example.com")
                .await
                .unwrap()
                .unwrap()
                .id,
            ada.id
        );
        assert_eq!(
            r.person_by_external_id("u1").await.unwrap().unwrap().id,
            ada.id
        );
        assert_eq!(r.people_by_email("ada@example.com").await.unwrap().len(), 1);
        let shared = r.accounts_for_person(&ada.id).await.unwrap();
        assert_eq!(shared.len(), 1);
        assert_eq!(shared[0], account);
        drop(r);

        // Jobs: claimed once, lease checked at finish, reclaimed after the lease expires.
        let job = Job {
            id: new_id(),
            kind: "account.rotate".into(),
            subject: account.id.clone(),
            payload: serde_json::to_value(ulo_vault::jobs::AccountJob {
                account_id: account.id.clone(),
                jti: None,
            })
            .unwrap(),
            state: JobState::Queued,
            attempts: 0,
            run_at: now,
            deadline: now + Duration::from_secs(60),
            last_error: None,
            created: now,
        };
        let mut tx = s.begin().await.unwrap();
        tx.enqueue(&job).await.unwrap();
        tx.commit().await.unwrap();
        let lease = Duration::from_secs(30);
        let claimed = s.claim_jobs("w1", 10, now, now + lease).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].attempts, 1);
        assert!(
            s.claim_jobs("w2", 10, now, now + lease)
                .await
                .unwrap()
                .is_empty()
        );
        let later = now + lease + Duration::from_secs(1);
        let taken_over = s.claim_jobs("w2", 10, later, later + lease).await.unwrap();
        assert_eq!(taken_over[0].attempts, 2);
        let mut tx = s.begin().await.unwrap();
        assert!(
            !tx.finish_jobs(&[(&claimed[0], "w1", &JobResult::Done)], now)
                .await
                .unwrap()[0],
            "lost lease"
        );
        assert!(
            tx.finish_jobs(&[(&taken_over[0], "w2", &JobResult::Done)], now)
                .await
                .unwrap()[0]
        );
        assert!(
            tx.open_job("account.rotate", &account.id)
                .await
                .unwrap()
                .is_none()
        );
        tx.commit().await.unwrap();
        db.cleanup().await;
    }
}

#[tokio::test]
async fn logout_request_jtis_are_remembered_once_until_they_expire_on_every_backend() {
    for backend in ulo_testkit::backends() {
        let db = VaultDb::new(backend).await;
        let s = store::open(&db.url).await.expect("open");
        let now = SystemClock.now();
        let minute = Duration::from_secs(60);
        let mut tx = s.begin().await.unwrap();
        assert!(tx.remember_jti("j1", now + minute, now).await.unwrap());
        assert!(!tx.remember_jti("j1", now + minute, now).await.unwrap());
        assert!(tx.remember_jti("j2", now + minute * 2, now).await.unwrap());
        tx.commit().await.unwrap();

        // Another connection (another vault process) sees the committed jti.
        let other = store::open(&db.url).await.expect("open again");
        let mut tx = other.begin().await.unwrap();
        assert!(!tx.remember_jti("j1", now + minute, now).await.unwrap());
        // Once expired, a record no longer counts and is taken over.
        let later = now + minute;
        assert!(
            tx.remember_jti("j1", later + minute * 5, later)
                .await
                .unwrap()
        );
        assert!(
            !tx.remember_jti("j1", later + minute * 5, later)
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();

        // The purge forgets only expired jtis.
        let mut tx = s.begin().await.unwrap();
        assert_eq!(tx.purge_jtis(now + minute).await.unwrap(), 0);
        assert_eq!(tx.purge_jtis(now + minute * 2).await.unwrap(), 1, "j2");
        assert!(!tx.remember_jti("j1", now, now + minute * 2).await.unwrap());
        assert!(tx.remember_jti("j2", now, now + minute * 2).await.unwrap());
        tx.commit().await.unwrap();
        db.cleanup().await;
    }
}

#[tokio::test]
async fn audit_events_are_selected_in_sql_by_keyset_on_every_backend() {
    use ulo_vault::audit;
    use ulo_vault::store::EventCondition::{self, *};
    for backend in ulo_testkit::backends() {
        let db = VaultDb::new(backend).await;
        let s = store::open(&db.url).await.expect("open");
        let now = SystemClock.now();
        let actor = Actor::system();
        let target = AuditTarget {
            kind: "account".into(),
            id: "acc-1".into(),
            display_name: "team @ Demo".into(),
        };
        let e1 = audit::event("person.universal_logout", &actor, now).jti(Some("ABC-1"));
        let e2 = audit::event("account.password.rotate", &actor, now)
            .jti(Some("other"))
            .target(target);
        let e3 = audit::event("account.password.reveal", &actor, now);
        let mut tx = s.begin().await.unwrap();
        for e in [&e1, &e2, &e3] {
            tx.append_event(e).await.unwrap();
        }
        tx.commit().await.unwrap();

        let mut r = s.read().await.unwrap();
        let mut ids = async |c: &EventCondition, after: Option<&str>, limit: i64| -> Vec<String> {
            r.events(c, after, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.id)
                .collect()
        };
        assert_eq!(
            ids(&True, None, 10).await,
            [e1.id.as_str(), e2.id.as_str(), e3.id.as_str()]
        );
        // Strings compare ignoring ASCII case, as the filter does.
        assert_eq!(
            ids(&Eq(EventColumn::Jti, "abc-1".into()), None, 10).await,
            [e1.id.as_str()]
        );
        let either = Or(vec![
            Eq(EventColumn::Jti, "abc-1".into()),
            Eq(EventColumn::TargetId, "ACC-1".into()),
        ]);
        assert_eq!(
            ids(&either, None, 10).await,
            [e1.id.as_str(), e2.id.as_str()]
        );
        // Keyset paging: after the first match, at most `limit`.
        assert_eq!(ids(&either, Some(&e1.id), 10).await, [e2.id.as_str()]);
        assert_eq!(ids(&True, None, 1).await, [e1.id.as_str()]);
        assert_eq!(ids(&True, Some(&e1.id), 1).await, [e2.id.as_str()]);
        let both = And(vec![
            Eq(EventColumn::Type, "account.password.rotate".into()),
            Eq(EventColumn::Jti, "abc-1".into()),
        ]);
        assert!(ids(&both, None, 10).await.is_empty());
        // Values are bound, never spliced into the SQL.
        let sneaky = Eq(EventColumn::Jti, "x') OR 1=1 OR ('".into());
        assert!(ids(&sneaky, None, 10).await.is_empty());
        drop(r);
        db.cleanup().await;
    }
}
