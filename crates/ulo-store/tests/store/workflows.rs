//! Conformance for workflows: stored, read back with their sealed secret, listed by id, changed
//! and deleted.

use time::Duration;
use ulo_core::ids::WorkflowId;
use ulo_core::store::Page;
use ulo_core::workflow::{Workflow, WorkflowStatus};

use crate::fixtures::*;

fn workflow(name: &str) -> Workflow {
    Workflow {
        id: WorkflowId::new(),
        name: name.into(),
        url: format!("https://hooks.example.com/{name}"),
        status: WorkflowStatus::Active,
        created: t0(),
        last_updated: t0(),
        secret_sealed: format!("sealed-{name}"),
    }
}

on_every_backend!(workflows_round_trip_page_change_and_delete, |store| {
    Box::pin(async move {
        let a = workflow("a");
        let b = workflow("b");
        let c = workflow("c");
        let mut tx = store.begin().await.unwrap();
        for w in [&a, &b, &c] {
            tx.insert_workflow(w).await.unwrap();
        }
        tx.commit().await.unwrap();

        let mut tx = store.read().await.unwrap();
        assert_eq!(tx.get_workflow(a.id).await.unwrap(), Some(a.clone()));
        assert!(tx.get_workflow(WorkflowId::new()).await.unwrap().is_none());
        let first = tx
            .list_workflows(&Page {
                after: None,
                limit: 2,
            })
            .await
            .unwrap();
        assert_eq!(first, vec![a.clone(), b.clone()]);
        let rest = tx
            .list_workflows(&Page {
                after: Some(b.id.to_string()),
                limit: 2,
            })
            .await
            .unwrap();
        assert_eq!(rest, vec![c.clone()]);
        drop(tx);

        let mut changed = b.clone();
        changed.name = "renamed".into();
        changed.url = "https://other.example.com/hook".into();
        changed.status = WorkflowStatus::Inactive;
        changed.secret_sealed = "sealed-rotated".into();
        changed.last_updated = t0() + Duration::minutes(5);
        let mut tx = store.begin().await.unwrap();
        tx.update_workflow(&changed).await.unwrap();
        assert!(tx.delete_workflow(a.id).await.unwrap());
        assert!(!tx.delete_workflow(a.id).await.unwrap());
        tx.commit().await.unwrap();

        let mut tx = store.read().await.unwrap();
        assert_eq!(tx.get_workflow(b.id).await.unwrap(), Some(changed));
        assert!(tx.get_workflow(a.id).await.unwrap().is_none());
    })
});
