//! Conformance for the Shared Signals transmitter: receiver credentials, streams, subjects and
//! SETs queued for polling.

use serde_json::json;
use ulo_core::ssf::{SsfCredential, SsfStream, StreamDelivery, StreamStatus};

use crate::fixtures::*;

on_every_backend!(ssf_credentials_streams_subjects_and_polled_sets, |store| {
    Box::pin(async move {
        let a = app("Receiver");
        let cred = SsfCredential {
            id: "c1".into(),
            app_id: a.id,
            token_prefix: "ulo_ssf_ab".into(),
            created: t0(),
            token_hash: "hash1".into(),
        };
        let mut stream = SsfStream {
            stream_id: "s1".into(),
            app_id: a.id,
            aud: "https://receiver.example.com".into(),
            events_requested: vec![
                "https://schemas.openid.net/secevent/caep/event-type/session-revoked".into(),
            ],
            delivery: StreamDelivery {
                method: "urn:ietf:rfc:8936".into(),
                endpoint_url: None,
                authorization_header_sealed: None,
            },
            description: Some("poll".into()),
            status: StreamStatus::Enabled,
            status_reason: None,
            created: t0(),
            updated: t0(),
        };
        let delivery = json!({"logoutId": "l1", "target": 0});
        let mut tx = store.begin().await.unwrap();
        tx.insert_app(&a).await.unwrap();
        tx.insert_ssf_credential(&cred).await.unwrap();
        tx.put_ssf_stream(&stream).await.unwrap();
        tx.put_ssf_subject(a.id, "sub-out", false).await.unwrap();
        tx.put_ssf_subject(a.id, "sub-in", true).await.unwrap();
        tx.enqueue_ssf_set(a.id, "j1", "set1", Some(&delivery), t0())
            .await
            .unwrap();
        tx.enqueue_ssf_set(a.id, "j2", "set2", None, t0())
            .await
            .unwrap();
        tx.enqueue_ssf_set(a.id, "j1", "set1 again", None, t0())
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.read().await.unwrap();
        assert_eq!(tx.find_ssf_credential("hash1").await.unwrap(), Some(cred));
        assert!(tx.find_ssf_credential("other").await.unwrap().is_none());
        assert_eq!(
            tx.get_ssf_stream(a.id).await.unwrap().as_ref(),
            Some(&stream)
        );
        assert!(tx.ssf_subject_excluded(a.id, "sub-out").await.unwrap());
        assert!(!tx.ssf_subject_excluded(a.id, "sub-in").await.unwrap());
        assert!(
            !tx.ssf_subject_excluded(a.id, "sub-unknown").await.unwrap(),
            "a subject nobody removed is included"
        );
        let set = |jti: &str, set: &str| (jti.to_string(), set.to_string());
        assert_eq!(
            tx.poll_ssf_sets(a.id, 10).await.unwrap(),
            vec![set("j1", "set1"), set("j2", "set2")],
            "oldest first, a jti queued once"
        );
        assert_eq!(
            tx.poll_ssf_sets(a.id, 1).await.unwrap(),
            vec![set("j1", "set1")]
        );
        drop(tx);

        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.ack_ssf_set(a.id, "j1").await.unwrap(),
            Some(Some(delivery))
        );
        assert_eq!(tx.ack_ssf_set(a.id, "j2").await.unwrap(), Some(None));
        assert_eq!(
            tx.ack_ssf_set(a.id, "j1").await.unwrap(),
            None,
            "acknowledged once"
        );
        stream.status = StreamStatus::Paused;
        stream.status_reason = Some("maintenance".into());
        tx.put_ssf_stream(&stream).await.unwrap();
        tx.put_ssf_subject(a.id, "sub-out", true).await.unwrap();
        tx.enqueue_ssf_set(a.id, "j3", "set3", None, t0())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        assert_eq!(
            tx.get_ssf_stream(a.id).await.unwrap().as_ref(),
            Some(&stream)
        );
        assert!(!tx.ssf_subject_excluded(a.id, "sub-out").await.unwrap());
        assert_eq!(
            tx.poll_ssf_sets(a.id, 10).await.unwrap(),
            vec![set("j3", "set3")]
        );
        drop(tx);

        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_ssf_stream(a.id).await.unwrap());
        assert!(!tx.delete_ssf_stream(a.id).await.unwrap(), "already gone");
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        assert!(tx.get_ssf_stream(a.id).await.unwrap().is_none());
        assert!(
            tx.poll_ssf_sets(a.id, 10).await.unwrap().is_empty(),
            "its queued SETs went with it"
        );
    })
});
