//! Conformance for SCIM credentials, externalIds and attributes, and provisioning links to apps.

use time::Duration;
use ulo_core::ids::UserId;
use ulo_core::store::{Page, StoreError};
use ulo_core::user::User;

use crate::fixtures::*;

on_every_backend!(scim_credentials_and_external_ids, |store| Box::pin(
    async move {
        use ulo_core::scim::ScimCredential;
        let now = t0();
        let c = ScimCredential {
            id: uuid::Uuid::now_v7().to_string(),
            name: "HR".into(),
            token_prefix: "ulo_abcd".into(),
            created: now,
            revoked: None,
            token_hash: "h1".into(),
        };
        let mut tx = store.begin().await.unwrap();
        tx.insert_scim_credential(&c).await.unwrap();
        tx.commit().await.unwrap();
        // A second credential with the same token hash is refused (its own transaction: a
        // failed statement aborts a PostgreSQL transaction).
        let mut tx = store.begin().await.unwrap();
        let dup = ScimCredential {
            id: uuid::Uuid::now_v7().to_string(),
            ..c.clone()
        };
        assert!(matches!(
            tx.insert_scim_credential(&dup).await,
            Err(StoreError::Unique(_))
        ));
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.find_scim_credential("h1").await.unwrap(),
            Some(c.clone())
        );
        assert_eq!(tx.find_scim_credential("nope").await.unwrap(), None);
        assert_eq!(tx.list_scim_credentials().await.unwrap(), vec![c.clone()]);
        assert!(tx.revoke_scim_credential(&c.id, now).await.unwrap());
        assert!(!tx.revoke_scim_credential(&c.id, now).await.unwrap());
        assert_eq!(tx.find_scim_credential("h1").await.unwrap(), None);
        assert_eq!(
            tx.list_scim_credentials().await.unwrap()[0].revoked,
            Some(now)
        );

        tx.put_scim_external_id("User", "u1", Some("e1"))
            .await
            .unwrap();
        tx.put_scim_external_id("User", "u1", Some("e2"))
            .await
            .unwrap();
        tx.put_scim_external_id("Group", "u1", Some("g"))
            .await
            .unwrap();
        assert_eq!(
            tx.list_scim_external_ids("User").await.unwrap(),
            vec![("u1".to_string(), "e2".to_string())]
        );
        assert_eq!(
            tx.get_scim_external_id("User", "u1")
                .await
                .unwrap()
                .as_deref(),
            Some("e2")
        );
        assert_eq!(
            tx.get_scim_external_id("Group", "u1")
                .await
                .unwrap()
                .as_deref(),
            Some("g")
        );
        tx.put_scim_external_id("User", "u1", None).await.unwrap();
        assert!(
            tx.get_scim_external_id("User", "u1")
                .await
                .unwrap()
                .is_none()
        );
        assert!(tx.list_scim_external_ids("User").await.unwrap().is_empty());
        assert_eq!(tx.list_scim_external_ids("Group").await.unwrap().len(), 1);

        let doc = serde_json::json!({"emails": [{"value": "a@b", "type": "x"}]});
        tx.put_scim_attributes("User", "u1", Some(&serde_json::json!({"a": 1})))
            .await
            .unwrap();
        tx.put_scim_attributes("User", "u1", Some(&doc))
            .await
            .unwrap();
        tx.put_scim_attributes("Group", "u1", Some(&serde_json::json!({})))
            .await
            .unwrap();
        assert_eq!(
            tx.list_scim_attributes("User").await.unwrap(),
            vec![("u1".to_string(), doc.clone())]
        );
        assert_eq!(
            tx.get_scim_attributes("User", "u1").await.unwrap(),
            Some(doc.clone())
        );
        tx.put_scim_attributes("User", "u1", None).await.unwrap();
        assert!(
            tx.get_scim_attributes("User", "u1")
                .await
                .unwrap()
                .is_none()
        );
        assert!(tx.list_scim_attributes("User").await.unwrap().is_empty());
        assert_eq!(tx.list_scim_attributes("Group").await.unwrap().len(), 1);
        tx.commit().await.unwrap();
    }
));

on_every_backend!(app_user_links_upsert_page_and_cascade, |store| Box::pin(
    async move {
        use ulo_core::provisioning::{AppUserLink, Desired, LinkState};
        let ada = user("links-ada@example.com", "Ada");
        let bob = user("links-bob@example.com", "Bob");
        insert_user(store.as_ref(), &ada).await;
        insert_user(store.as_ref(), &bob).await;
        let a = app("Provisioned");
        let mut tx = store.begin().await.unwrap();
        tx.insert_app(&a).await.unwrap();
        let link = |u: &User| AppUserLink {
            app_id: a.id,
            user_id: u.id,
            remote_id: None,
            state: LinkState::Pending,
            desired: Desired::Active,
            last_error: None,
            last_status: None,
            last_synced: None,
            created: t0(),
            updated: t0(),
        };
        tx.put_app_user_link(&link(&ada)).await.unwrap();
        tx.put_app_user_link(&link(&bob)).await.unwrap();
        let synced = AppUserLink {
            remote_id: Some("remote-1".into()),
            state: LinkState::Synced,
            last_status: Some(201),
            last_synced: Some(t0() + Duration::seconds(5)),
            updated: t0() + Duration::seconds(5),
            ..link(&ada)
        };
        tx.put_app_user_link(&synced).await.unwrap();
        assert_eq!(
            tx.get_app_user_link(a.id, ada.id).await.unwrap(),
            Some(synced.clone())
        );
        assert_eq!(
            tx.get_app_user_link(a.id, UserId::new()).await.unwrap(),
            None
        );
        let mut ids = [ada.id, bob.id];
        ids.sort();
        let first = tx
            .list_app_user_links(
                a.id,
                &Page {
                    after: None,
                    limit: 1,
                },
            )
            .await
            .unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].user_id, ids[0]);
        let rest = tx
            .list_app_user_links(
                a.id,
                &Page {
                    after: Some(ids[0].to_string()),
                    limit: 10,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            rest.iter().map(|l| l.user_id).collect::<Vec<_>>(),
            vec![ids[1]]
        );
        assert_eq!(
            tx.list_user_app_user_links(ada.id).await.unwrap(),
            vec![synced]
        );
        // Links go with their user and their app.
        tx.delete_user(bob.id).await.unwrap();
        assert!(
            tx.list_user_app_user_links(bob.id)
                .await
                .unwrap()
                .is_empty()
        );
        tx.delete_app(a.id).await.unwrap();
        assert_eq!(tx.get_app_user_link(a.id, ada.id).await.unwrap(), None);
        tx.commit().await.unwrap();
    }
));
