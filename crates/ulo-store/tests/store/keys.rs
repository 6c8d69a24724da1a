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
