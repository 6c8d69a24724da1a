//! Conformance for the System Log.

use time::Duration;
use ulo_core::context::Context;
use ulo_core::log::{EventQuery, LogEvent, SortOrder, Target, catalogue};

use crate::fixtures::*;

on_every_backend!(system_log_query, |store| Box::pin(async move {
    let ctx = Context::system("TEST");
    let u = user("eve@example.com", "Eve");
    let mut tx = store.begin().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..10 {
        let ty = if i % 2 == 0 {
            catalogue::user::CREATE
        } else {
            catalogue::group::ADD_MEMBER
        };
        let mut b = LogEvent::build(
            &ctx,
            ty,
            t0() + Duration::seconds(i),
            format!("event marker{i}"),
        )
        .target(Target::user(&u))
        .debug("n", i);
        if i == 9 {
            b = b.outcome(ulo_core::log::Outcome::failure("boom"));
        }
        let ev = b.finish();
        ids.push(ev.uuid);
        tx.append_event(&ev).await.unwrap();
    }
    tx.commit().await.unwrap();
    let base = EventQuery {
        since: None,
        until: None,
        after: None,
        filter: None,
        keywords: vec![],
        sort: SortOrder::Ascending,
        limit: 100,
    };
    let mut tx = store.read().await.unwrap();
    let all = tx.query_events(&base).await.unwrap();
    assert_eq!(all.iter().map(|e| e.uuid).collect::<Vec<_>>(), ids);
    let q = EventQuery {
        since: Some(t0() + Duration::seconds(3)),
        until: Some(t0() + Duration::seconds(6)),
        ..base.clone()
    };
    assert_eq!(tx.query_events(&q).await.unwrap().len(), 3);
    let q = EventQuery {
        after: Some((all[7].published, all[7].uuid)),
        ..base.clone()
    };
    assert_eq!(tx.query_events(&q).await.unwrap().len(), 2);
    let q = EventQuery {
        sort: SortOrder::Descending,
        limit: 3,
        ..base.clone()
    };
    let desc = tx.query_events(&q).await.unwrap();
    assert_eq!(desc[0].uuid, ids[9]);
    let q = EventQuery {
        sort: SortOrder::Descending,
        after: Some((desc[2].published, desc[2].uuid)),
        ..base.clone()
    };
    assert_eq!(tx.query_events(&q).await.unwrap().len(), 7);
    let q = EventQuery {
        keywords: vec!["EVENT".into(), "marker3".into()],
        ..base.clone()
    };
    assert_eq!(tx.query_events(&q).await.unwrap().len(), 1);
    let f = |s: &str| EventQuery {
        filter: Some(ulo_core::filter::parse(s).unwrap()),
        ..base.clone()
    };
    assert_eq!(
        tx.query_events(&f(r#"eventType eq "user.lifecycle.create""#))
            .await
            .unwrap()
            .len(),
        5
    );
    assert_eq!(
        tx.query_events(&f(&format!(r#"target.id eq "{}""#, u.id)))
            .await
            .unwrap()
            .len(),
        10
    );
    assert_eq!(
        tx.query_events(&f(
            r#"outcome.result eq "FAILURE" and not (eventType sw "user")"#
        ))
        .await
        .unwrap()
        .len(),
        1
    );
    assert_eq!(
        tx.query_events(&f("debugContext.debugData.n ge 8"))
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        tx.query_events(&f(r#"transaction.id pr"#))
            .await
            .unwrap()
            .len(),
        10
    );
}));
