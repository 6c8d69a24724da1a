//! Conformance for admin roles and API tokens (the same test stores a signing key and a setting).

use serde_json::json;
use ulo_core::auth::{ApiToken, KeyState, SigningKeyRecord};
use ulo_core::user::AdminRole;

use crate::fixtures::*;

on_every_backend!(tokens_roles_keys_settings, |store| Box::pin(async move {
    let u = user("admin@example.com", "Admin");
    insert_user(store.as_ref(), &u).await;
    let tok = ApiToken::new(u.id, "ci", "ulo_secret_value_0123456789", t0());
    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.grant_role(u.id, AdminRole::ReadOnlyAdmin, t0())
            .await
            .unwrap()
    );
    assert!(
        !tx.grant_role(u.id, AdminRole::ReadOnlyAdmin, t0())
            .await
            .unwrap()
    );
    tx.insert_api_token(&tok).await.unwrap();
    tx.insert_signing_key(&SigningKeyRecord {
        kid: "k1".into(),
        alg: "ES256".into(),
        state: KeyState::Active,
        private_sealed: "v1.x".into(),
        public_jwk: json!({"kid":"k1"}),
        created: t0(),
        state_changed: None,
    })
    .await
    .unwrap();
    tx.put_setting("s", &json!({"a": 1}), t0()).await.unwrap();
    tx.put_setting("s", &json!({"a": 2}), t0()).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.list_roles(u.id).await.unwrap(),
        vec![AdminRole::ReadOnlyAdmin]
    );
    let holders = tx.role_holders(AdminRole::ReadOnlyAdmin).await.unwrap();
    assert_eq!(holders.iter().map(|h| h.id).collect::<Vec<_>>(), vec![u.id]);
    assert!(
        tx.role_holders(AdminRole::SuperAdmin)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        tx.find_api_token(&tok.token_hash)
            .await
            .unwrap()
            .map(|t| t.id),
        Some(tok.id)
    );
    // Authentication reads the token, its owner and the owner's roles at once.
    tx.grant_role(u.id, AdminRole::SuperAdmin, t0())
        .await
        .unwrap();
    let (found, owner, roles) = tx
        .find_api_token_owner(&tok.token_hash)
        .await
        .unwrap()
        .expect("a live token is found with its owner");
    assert_eq!((found.id, found.name.as_str()), (tok.id, tok.name.as_str()));
    assert_eq!(found.token_prefix, tok.token_prefix);
    assert_eq!(found.scopes, tok.scopes);
    assert_eq!(owner.id, u.id);
    assert_eq!(owner.profile.login, u.profile.login);
    assert_eq!(roles, vec![AdminRole::ReadOnlyAdmin, AdminRole::SuperAdmin]);
    assert!(
        tx.find_api_token_owner("no such hash")
            .await
            .unwrap()
            .is_none()
    );
    assert!(tx.revoke_api_token(tok.id, t0()).await.unwrap());
    assert!(
        tx.find_api_token_owner(&tok.token_hash)
            .await
            .unwrap()
            .is_none(),
        "revoked tokens do not authenticate"
    );
    assert!(!tx.revoke_api_token(tok.id, t0()).await.unwrap());
    assert!(
        tx.find_api_token(&tok.token_hash).await.unwrap().is_none(),
        "revoked tokens are not found"
    );
    assert!(
        tx.set_signing_key_state("k1", KeyState::Published, t0())
            .await
            .unwrap()
    );
    assert_eq!(
        tx.list_signing_keys().await.unwrap()[0].state,
        KeyState::Published
    );
    assert_eq!(tx.get_setting("s").await.unwrap(), Some(json!({"a": 2})));
    assert_eq!(tx.get_setting("missing").await.unwrap(), None);
    tx.commit().await.unwrap();
}));

on_every_backend!(roles_revoke_and_tokens_list_and_touch, |store| Box::pin(
    async move {
        let u = user("admin@example.com", "Admin");
        insert_user(store.as_ref(), &u).await;
        let first = ApiToken::new(u.id, "ci", "ulo_secret_value_0123456789", t0());
        let second = ApiToken::new(
            u.id,
            "deploy",
            "ulo_secret_value_9876543210",
            t0() + time::Duration::minutes(1),
        );
        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.grant_role(u.id, AdminRole::SuperAdmin, t0())
                .await
                .unwrap()
        );
        tx.insert_api_token(&first).await.unwrap();
        tx.insert_api_token(&second).await.unwrap();
        tx.commit().await.unwrap();

        let used = t0() + time::Duration::minutes(5);
        let mut tx = store.begin().await.unwrap();
        assert!(tx.revoke_role(u.id, AdminRole::SuperAdmin).await.unwrap());
        assert!(
            !tx.revoke_role(u.id, AdminRole::SuperAdmin).await.unwrap(),
            "no longer held"
        );
        tx.touch_api_token(first.id, used).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.read().await.unwrap();
        assert!(tx.list_roles(u.id).await.unwrap().is_empty());
        let got = tx.get_api_token(first.id).await.unwrap().expect("stored");
        assert_eq!(got.last_used, Some(used));
        assert_eq!((got.id, got.name.as_str()), (first.id, "ci"));
        assert_eq!(
            tx.list_api_tokens(u.id)
                .await
                .unwrap()
                .iter()
                .map(|t| t.id)
                .collect::<Vec<_>>(),
            vec![first.id, second.id],
            "newest last"
        );
        assert!(
            tx.get_api_token(ulo_core::ids::ApiTokenId::new())
                .await
                .unwrap()
                .is_none()
        );
    }
));
