//! Conformance for apps and assignments (with the groups they reach users through).

use ulo_core::app::AppType;
use ulo_core::ids::AppId;
use ulo_core::store::{Page, StoreError};

use crate::fixtures::*;

on_every_backend!(groups_apps_assignments_and_cascades, |store| Box::pin(
    async move {
        let u = user("grace@example.com", "Grace");
        insert_user(store.as_ref(), &u).await;
        let g = group("Engineering");
        let a = app("Vault");
        let b = app("Wiki");
        let mut tx = store.begin().await.unwrap();
        tx.insert_group(&g).await.unwrap();
        assert!(matches!(
            tx.insert_group(&group("engineering")).await,
            Err(StoreError::Unique(_))
        ));
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        tx.insert_group(&g).await.unwrap();
        tx.insert_app(&a).await.unwrap();
        tx.insert_app(&b).await.unwrap();
        assert!(tx.add_member(g.id, u.id, t0()).await.unwrap());
        assert!(!tx.add_member(g.id, u.id, t0()).await.unwrap());
        assert!(tx.assign_user(a.id, u.id, t0()).await.unwrap());
        assert!(tx.assign_group(a.id, g.id, t0()).await.unwrap());
        assert!(tx.assign_group(b.id, g.id, t0()).await.unwrap());
        tx.commit().await.unwrap();

        let mut tx = store.read().await.unwrap();
        assert_eq!(
            tx.get_app(a.id).await.unwrap().as_ref(),
            Some(&a),
            "secrets and JSON parts survive"
        );
        assert_eq!(tx.get_desktop_mfa_app().await.unwrap(), None);
        // Several at once: those that exist, in any order.
        let mut both = tx.get_apps(&[b.id, AppId::new(), a.id]).await.unwrap();
        both.sort_by_key(|x| x.id.to_string());
        let mut want = vec![a.clone(), b.clone()];
        want.sort_by_key(|x| x.id.to_string());
        assert_eq!(both, want);
        assert!(tx.get_apps(&[]).await.unwrap().is_empty());
        let many: Vec<AppId> = (0..150).map(|_| AppId::new()).chain([a.id]).collect();
        assert_eq!(
            tx.get_apps(&many).await.unwrap(),
            vec![a.clone()],
            "over 100 ids"
        );
        drop(tx);
        let mut mfa = app("Managed computers");
        mfa.app_type = AppType::DesktopMfa;
        let mut tx = store.begin().await.unwrap();
        tx.insert_app(&mfa).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        assert_eq!(tx.get_desktop_mfa_app().await.unwrap(), Some(mfa.clone()));
        let links = tx.list_user_app_links(u.id).await.unwrap();
        assert_eq!(links.len(), 2);
        let la = links.iter().find(|l| l.app.id == a.id).unwrap();
        assert!(la.direct);
        assert_eq!(la.groups, vec![g.id]);
        let lb = links.iter().find(|l| l.app.id == b.id).unwrap();
        assert!(!lb.direct);
        assert_eq!(
            tx.list_members(
                g.id,
                &Page {
                    after: None,
                    limit: 10
                }
            )
            .await
            .unwrap()
            .len(),
            1
        );
        assert_eq!(tx.list_user_groups(u.id).await.unwrap().len(), 1);
        assert_eq!(
            tx.list_app_users(
                a.id,
                &Page {
                    after: None,
                    limit: 10
                }
            )
            .await
            .unwrap()
            .len(),
            1
        );
        assert_eq!(tx.list_app_groups(b.id).await.unwrap().len(), 1);
        assert_eq!(
            tx.list_groups(
                Some("eng"),
                &Page {
                    after: None,
                    limit: 10
                }
            )
            .await
            .unwrap()
            .len(),
            1
        );
        assert_eq!(
            tx.list_apps(
                Some("wi"),
                &Page {
                    after: None,
                    limit: 10
                }
            )
            .await
            .unwrap()
            .len(),
            1
        );
        drop(tx);

        // Deleting the user removes memberships and assignments with it.
        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_user(u.id).await.unwrap());
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        assert!(
            tx.list_members(
                g.id,
                &Page {
                    after: None,
                    limit: 10
                }
            )
            .await
            .unwrap()
            .is_empty()
        );
        assert!(
            tx.list_app_users(
                a.id,
                &Page {
                    after: None,
                    limit: 10
                }
            )
            .await
            .unwrap()
            .is_empty()
        );
    }
));

on_every_backend!(
    apps_update_find_by_client_id_and_unassign,
    |store| Box::pin(async move {
        let ada = user("ada@example.com", "Ada");
        insert_user(store.as_ref(), &ada).await;
        let g = group("Engineering");
        let mut a = app("Wiki");
        let mut tx = store.begin().await.unwrap();
        tx.insert_group(&g).await.unwrap();
        tx.insert_app(&a).await.unwrap();
        assert!(tx.assign_user(a.id, ada.id, t0()).await.unwrap());
        assert!(tx.assign_group(a.id, g.id, t0()).await.unwrap());
        tx.commit().await.unwrap();

        a.label = "Team wiki".into();
        a.status = ulo_core::app::AppStatus::Inactive;
        a.last_updated = t0() + time::Duration::minutes(1);
        a.oidc = Some(ulo_core::app::OidcClient {
            client_id: "wiki-client".into(),
            redirect_uris: vec!["https://wiki.example.com/cb".into()],
            post_logout_redirect_uris: Vec::new(),
            token_endpoint_auth_method: ulo_core::app::TokenEndpointAuthMethod::ClientSecretBasic,
            backchannel_logout_session_required: false,
            grant_types: vec![ulo_core::app::GrantType::AuthorizationCode],
            access_token_lifetime_seconds: 300,
            refresh_token_lifetime_seconds: 3600,
            id_token_signed_response_alg: Default::default(),
            jwks: None,
        });
        a.secrets.client_secret_hash = Some("h2".into());
        let mut tx = store.begin().await.unwrap();
        tx.update_app(&a).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.read().await.unwrap();
        assert_eq!(tx.get_app(a.id).await.unwrap().as_ref(), Some(&a));
        assert_eq!(
            tx.get_app_by_client_id("wiki-client")
                .await
                .unwrap()
                .as_ref(),
            Some(&a)
        );
        assert!(
            tx.get_app_by_client_id("other-client")
                .await
                .unwrap()
                .is_none()
        );
        drop(tx);

        let mut tx = store.begin().await.unwrap();
        assert!(tx.unassign_user(a.id, ada.id).await.unwrap());
        assert!(
            !tx.unassign_user(a.id, ada.id).await.unwrap(),
            "no longer assigned"
        );
        assert!(tx.unassign_group(a.id, g.id).await.unwrap());
        assert!(
            !tx.unassign_group(a.id, g.id).await.unwrap(),
            "no longer assigned"
        );
        tx.commit().await.unwrap();
        let page = Page {
            after: None,
            limit: 10,
        };
        let mut tx = store.read().await.unwrap();
        assert!(tx.list_app_users(a.id, &page).await.unwrap().is_empty());
        assert!(tx.list_app_groups(a.id).await.unwrap().is_empty());
        assert!(tx.list_user_app_links(ada.id).await.unwrap().is_empty());
    })
);
