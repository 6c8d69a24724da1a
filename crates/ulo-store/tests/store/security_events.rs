//! Conformance for security events providers.

use ulo_core::security_events::{Provider, ProviderStatus};
use ulo_core::store::StoreError;

use crate::fixtures::*;

fn provider(id: &str, issuer: &str) -> Provider {
    Provider {
        id: id.into(),
        name: format!("Provider {id}"),
        status: ProviderStatus::Active,
        issuer: issuer.into(),
        jwks_url: format!("{issuer}/jwks"),
        well_known_url: None,
        created: t0(),
        last_updated: t0(),
    }
}

on_every_backend!(security_events_providers_by_id_and_issuer, |store| {
    Box::pin(async move {
        let a = provider("a", "https://a.example.com");
        let mut b = provider("b", "https://b.example.com");
        b.well_known_url = Some("https://b.example.com/.well-known/ssf-configuration".into());
        let mut tx = store.begin().await.unwrap();
        tx.insert_security_events_provider(&a).await.unwrap();
        tx.insert_security_events_provider(&b).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        let same_issuer = provider("c", "https://a.example.com");
        assert!(matches!(
            tx.insert_security_events_provider(&same_issuer).await,
            Err(StoreError::Unique(_))
        ));
        drop(tx);

        let mut r = store.read().await.unwrap();
        assert_eq!(
            r.list_security_events_providers().await.unwrap(),
            vec![a.clone(), b.clone()]
        );
        assert_eq!(
            r.get_security_events_provider("b").await.unwrap(),
            Some(b.clone())
        );
        assert_eq!(r.get_security_events_provider("zz").await.unwrap(), None);
        assert_eq!(
            r.find_security_events_provider("https://a.example.com")
                .await
                .unwrap(),
            Some(a.clone())
        );
        assert_eq!(
            r.find_security_events_provider("https://nobody.example.com")
                .await
                .unwrap(),
            None
        );
        drop(r);

        let mut changed = a.clone();
        changed.status = ProviderStatus::Inactive;
        changed.issuer = "https://a2.example.com".into();
        let mut tx = store.begin().await.unwrap();
        assert!(tx.update_security_events_provider(&changed).await.unwrap());
        assert!(
            !tx.update_security_events_provider(&provider("zz", "https://z"))
                .await
                .unwrap()
        );
        assert!(tx.delete_security_events_provider("b").await.unwrap());
        assert!(!tx.delete_security_events_provider("b").await.unwrap());
        tx.commit().await.unwrap();

        let mut r = store.read().await.unwrap();
        assert_eq!(
            r.list_security_events_providers().await.unwrap(),
            vec![changed.clone()]
        );
        assert_eq!(
            r.find_security_events_provider("https://a2.example.com")
                .await
                .unwrap(),
            Some(changed)
        );
        assert_eq!(
            r.find_security_events_provider("https://a.example.com")
                .await
                .unwrap(),
            None
        );
    })
});
