//! Conformance for use contexts: a session's or family's beginning comes first, each other
//! context is recorded once (a second insert of the same network and client answers false),
//! one beginning per subject, subjects apart, and a deleted person takes theirs.

use time::Duration;
use ulo_core::ids::{GrantId, SessionId};
use ulo_core::session_influence::{Use, UseContext, UseSubject};

use crate::fixtures::*;

on_every_backend!(use_contexts_record_each_context_once, |store| {
    Box::pin(async move {
        let ada = user("ada@example.com", "Ada");
        insert_user(store.as_ref(), &ada).await;
        let session = UseSubject::Session(SessionId::new());
        let grant = UseSubject::Grant(GrantId::new());
        let chrome = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
        let begun = UseContext::of(
            session,
            ada.id,
            &Use::new(Some("203.0.113.7"), Some(chrome)),
            true,
            t0(),
        );
        let moved = UseContext::of(
            session,
            ada.id,
            &Use::new(Some("198.51.100.9"), Some(chrome)),
            false,
            t0() + Duration::minutes(1),
        );
        let unknown = UseContext::of(
            session,
            ada.id,
            &Use::new(None, Some("curl/8.5.0")),
            false,
            t0() + Duration::minutes(2),
        );
        let mut tx = store.begin().await.unwrap();
        // Seen later, stored first: the beginning still lists first.
        assert!(tx.insert_use_context(&moved).await.unwrap());
        assert!(tx.insert_use_context(&begun).await.unwrap());
        assert!(tx.insert_use_context(&unknown).await.unwrap());
        // The same network and client again, and a second beginning: nothing.
        let again = UseContext {
            address: Some("198.51.100.200".into()),
            seen: t0() + Duration::minutes(9),
            ..moved.clone()
        };
        assert!(!tx.insert_use_context(&again).await.unwrap());
        let second_origin = UseContext::of(
            session,
            ada.id,
            &Use::new(Some("192.0.2.1"), Some("curl/8")),
            true,
            t0(),
        );
        assert!(!tx.insert_use_context(&second_origin).await.unwrap());
        // Another subject is apart, even with the same id text space.
        let family = UseContext::of(
            grant,
            ada.id,
            &Use::new(Some("203.0.113.7"), None),
            true,
            t0(),
        );
        assert!(tx.insert_use_context(&family).await.unwrap());
        tx.commit().await.unwrap();

        let mut read = store.read().await.unwrap();
        assert_eq!(
            read.list_use_contexts(session).await.unwrap(),
            vec![begun.clone(), moved.clone(), unknown.clone()]
        );
        assert_eq!(unknown.network, None);
        assert_eq!(begun.network.as_deref(), Some("203.0.113.0/24"));
        assert_eq!(
            read.list_use_contexts(grant).await.unwrap(),
            vec![family.clone()]
        );
        assert!(
            read.list_use_contexts(UseSubject::Session(SessionId::new()))
                .await
                .unwrap()
                .is_empty()
        );
        drop(read);

        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_user(ada.id).await.unwrap());
        tx.commit().await.unwrap();
        let mut read = store.read().await.unwrap();
        assert!(read.list_use_contexts(session).await.unwrap().is_empty());
    })
});
