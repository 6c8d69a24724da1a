//! Conformance for groups and their members.

use ulo_core::store::Page;

use crate::fixtures::*;

on_every_backend!(groups_update_members_and_delete, |store| Box::pin(
    async move {
        let ada = user("ada@example.com", "Ada");
        let bob = user("bob@example.com", "Bob");
        insert_user(store.as_ref(), &ada).await;
        insert_user(store.as_ref(), &bob).await;
        let mut g = group("Engineering");
        let mut tx = store.begin().await.unwrap();
        tx.insert_group(&g).await.unwrap();
        assert!(tx.add_member(g.id, ada.id, t0()).await.unwrap());
        assert!(tx.add_member(g.id, bob.id, t0()).await.unwrap());
        tx.commit().await.unwrap();

        g.profile.name = "Platform".into();
        g.profile.description = Some("Runs ulo".into());
        g.last_updated = t0() + time::Duration::minutes(1);
        g.last_membership_updated = t0() + time::Duration::minutes(1);
        let mut tx = store.begin().await.unwrap();
        tx.update_group(&g).await.unwrap();
        assert!(tx.remove_member(g.id, bob.id).await.unwrap());
        assert!(
            !tx.remove_member(g.id, bob.id).await.unwrap(),
            "no longer a member"
        );
        tx.commit().await.unwrap();

        let page = Page {
            after: None,
            limit: 10,
        };
        let mut tx = store.read().await.unwrap();
        assert_eq!(tx.get_group(g.id).await.unwrap().as_ref(), Some(&g));
        assert_eq!(
            tx.list_members(g.id, &page)
                .await
                .unwrap()
                .iter()
                .map(|u| u.id)
                .collect::<Vec<_>>(),
            vec![ada.id]
        );
        assert!(tx.list_user_groups(bob.id).await.unwrap().is_empty());
        drop(tx);

        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_group(g.id).await.unwrap());
        assert!(!tx.delete_group(g.id).await.unwrap(), "already gone");
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        assert!(tx.get_group(g.id).await.unwrap().is_none());
        assert!(
            tx.list_user_groups(ada.id).await.unwrap().is_empty(),
            "its memberships went with it"
        );
        assert!(tx.get_user(ada.id).await.unwrap().is_some());
    }
));
