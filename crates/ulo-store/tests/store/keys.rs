//! Conformance for signing keys and server settings (the admin test stores one of each too).

use serde_json::json;
use ulo_core::auth::{KeyState, SigningKeyRecord};

use crate::fixtures::*;

on_every_backend!(
    signing_keys_move_through_states_and_settings_overwrite,
    |store| {
        Box::pin(async move {
            let key = |kid: &str, minutes: i64| SigningKeyRecord {
                kid: kid.into(),
                alg: "ES256".into(),
                state: KeyState::Active,
                private_sealed: format!("v1.{kid}"),
                public_jwk: json!({ "kid": kid }),
                created: t0() + time::Duration::minutes(minutes),
                state_changed: None,
            };
            let (old, new) = (key("k-old", 0), key("k-new", 1));
            let mut tx = store.begin().await.unwrap();
            tx.insert_signing_key(&old).await.unwrap();
            tx.insert_signing_key(&new).await.unwrap();
            tx.put_setting("feature.x", &json!(true), t0())
                .await
                .unwrap();
            tx.commit().await.unwrap();

            let changed = t0() + time::Duration::hours(1);
            let mut tx = store.begin().await.unwrap();
            assert!(
                tx.set_signing_key_state("k-old", KeyState::Retired, changed)
                    .await
                    .unwrap()
            );
            assert!(
                !tx.set_signing_key_state("k-unknown", KeyState::Retired, changed)
                    .await
                    .unwrap(),
                "an unknown key"
            );
            tx.put_setting("feature.x", &json!(false), changed)
                .await
                .unwrap();
            tx.commit().await.unwrap();

            let mut tx = store.read().await.unwrap();
            let keys = tx.list_signing_keys().await.unwrap();
            assert_eq!(
                keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
                vec!["k-old", "k-new"],
                "oldest first"
            );
            assert_eq!(keys[0].state, KeyState::Retired);
            assert_eq!(keys[0].state_changed, Some(changed));
            assert_eq!(keys[1], new);
            assert_eq!(
                tx.get_setting("feature.x").await.unwrap(),
                Some(json!(false))
            );
            assert_eq!(tx.get_setting("feature.y").await.unwrap(), None);
        })
    }
);

on_every_backend!(settings_are_listed_by_exact_prefix_and_deleted, |store| {
    Box::pin(async move {
        let mut tx = store.begin().await.unwrap();
        for key in [
            "risk.detections.b",
            "risk.detections.a",
            "Risk.Detections.c",
            "risk.x",
        ] {
            tx.put_setting(key, &json!({ "k": key }), t0())
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();

        let mut tx = store.read().await.unwrap();
        let found = tx.settings_with_prefix("risk.detections.").await.unwrap();
        assert_eq!(
            found,
            vec![
                (
                    "risk.detections.a".to_string(),
                    json!({ "k": "risk.detections.a" })
                ),
                (
                    "risk.detections.b".to_string(),
                    json!({ "k": "risk.detections.b" })
                ),
            ],
            "in key order, case-sensitive"
        );
        assert!(
            tx.settings_with_prefix("nothing.")
                .await
                .unwrap()
                .is_empty()
        );
        drop(tx);

        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_setting("risk.detections.a").await.unwrap());
        assert!(!tx.delete_setting("risk.detections.a").await.unwrap());
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        assert_eq!(tx.get_setting("risk.detections.a").await.unwrap(), None);
        assert_eq!(
            tx.settings_with_prefix("risk.").await.unwrap().len(),
            2,
            "the others stay"
        );
    })
});
