//! Conformance for the single-logout part of sessions: which apps a session signed in to, and
//! finding (and claiming, once) the sessions whose time is up.

use time::Duration;
use ulo_core::ids::SessionId;
use ulo_core::session::{IDLE_TIMEOUT, Session};
use ulo_core::store::Store;

use crate::conformance::{app, insert_user, t0, user};

fn session(user: ulo_core::ids::UserId, created: time::OffsetDateTime, hash: &str) -> Session {
    Session {
        id: SessionId::new(),
        user_id: user,
        created,
        last_used: created,
        expires: created + Duration::hours(12),
        ip_address: None,
        user_agent: None,
        amr: vec!["pwd".into()],
        ended: None,
        end_reason: None,
        secret_hash: hash.into(),
    }
}

async fn insert_sessions(store: &dyn Store, sessions: &[&Session]) {
    let mut tx = store.begin().await.unwrap();
    for s in sessions {
        tx.insert_session(s).await.unwrap();
    }
    tx.commit().await.unwrap();
}

on_every_backend!(a_session_remembers_each_app_it_signed_in_to_once, |store| {
    Box::pin(async move {
        let u = user("slo@example.com", "Slo");
        insert_user(store.as_ref(), &u).await;
        let (wiki, chat) = (app("Wiki"), app("Chat"));
        let s1 = session(u.id, t0(), "h1");
        let s2 = session(u.id, t0(), "h2");
        let mut tx = store.begin().await.unwrap();
        tx.insert_app(&wiki).await.unwrap();
        tx.insert_app(&chat).await.unwrap();
        tx.commit().await.unwrap();
        insert_sessions(store.as_ref(), &[&s1, &s2]).await;

        let mut tx = store.begin().await.unwrap();
        tx.record_session_app(s1.id, chat.id, t0()).await.unwrap();
        tx.record_session_app(s1.id, wiki.id, t0() + Duration::seconds(1))
            .await
            .unwrap();
        // Signing in to the same app again in the session changes nothing.
        tx.record_session_app(s1.id, chat.id, t0() + Duration::seconds(2))
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.read().await.unwrap();
        assert_eq!(
            tx.list_session_apps(s1.id).await.unwrap(),
            vec![chat.id, wiki.id],
            "first sign-in first, each app once"
        );
        assert!(tx.list_session_apps(s2.id).await.unwrap().is_empty());
        assert!(
            tx.list_session_apps(SessionId::new())
                .await
                .unwrap()
                .is_empty()
        );
        drop(tx);

        // A deleted app is no longer listed.
        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_app(chat.id).await.unwrap());
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        assert_eq!(tx.list_session_apps(s1.id).await.unwrap(), vec![wiki.id]);
    })
});

on_every_backend!(
    expired_and_idle_sessions_are_found_and_ended_ones_are_not,
    |store| {
        Box::pin(async move {
            let u = user("sweep@example.com", "Sweep");
            insert_user(store.as_ref(), &u).await;
            let now = t0() + Duration::hours(20);
            // Signed in 13 h ago and used a minute ago: past its absolute end.
            let mut past_end = session(u.id, now - Duration::hours(13), "end");
            past_end.last_used = now - Duration::minutes(1);
            // Signed in 3 h ago, last used 2 h ago: idle.
            let mut idle = session(u.id, now - Duration::hours(3), "idle");
            idle.last_used = now - IDLE_TIMEOUT;
            // Used a second before the idle cutoff would pass: live.
            let mut live = session(u.id, now - Duration::hours(3), "live");
            live.last_used = now - IDLE_TIMEOUT + Duration::seconds(1);
            // Expired long ago but already ended: not found again.
            let mut ended = session(u.id, now - Duration::hours(19), "ended");
            ended.ended = Some(now - Duration::hours(8));
            ended.end_reason = Some("LOGOUT".into());
            insert_sessions(store.as_ref(), &[&past_end, &idle, &live, &ended]).await;

            let cutoff = now - IDLE_TIMEOUT;
            let mut tx = store.read().await.unwrap();
            assert!(tx.any_expired_sessions(now, cutoff).await.unwrap());
            assert!(
                !tx.any_expired_sessions(
                    now - Duration::hours(8),
                    now - Duration::hours(8) - IDLE_TIMEOUT
                )
                .await
                .unwrap(),
                "nothing had expired eight hours earlier"
            );
            drop(tx);

            let mut tx = store.begin().await.unwrap();
            let found = tx.claim_expired_sessions(now, cutoff, 100).await.unwrap();
            let ids: Vec<SessionId> = found.iter().map(|s| s.id).collect();
            assert_eq!(ids, vec![past_end.id, idle.id], "oldest first: {found:?}");
            assert_eq!(
                tx.claim_expired_sessions(now, cutoff, 1)
                    .await
                    .unwrap()
                    .len(),
                1,
                "at most the limit"
            );
            // Ending one: the next look no longer finds it.
            assert!(tx.end_session(past_end.id, "EXPIRED", now).await.unwrap());
            let found = tx.claim_expired_sessions(now, cutoff, 100).await.unwrap();
            assert_eq!(
                found.iter().map(|s| s.id).collect::<Vec<_>>(),
                vec![idle.id]
            );
            tx.commit().await.unwrap();
        })
    }
);

on_every_backend!(two_sweeps_at_once_never_claim_the_same_session, |store| {
    Box::pin(async move {
        if store.backend() != "postgres" {
            // SQLite has one writer: a second sweep waits for the first to commit, and by then
            // the sessions it ended are no longer open (the test above shows that).
            return;
        }
        let u = user("nodes@example.com", "Nodes");
        insert_user(store.as_ref(), &u).await;
        let now = t0() + Duration::hours(20);
        let a = session(u.id, now - Duration::hours(13), "a");
        let b = session(u.id, now - Duration::hours(14), "b");
        insert_sessions(store.as_ref(), &[&a, &b]).await;
        let cutoff = now - IDLE_TIMEOUT;

        // Two nodes' transactions, open at once: each gets a session the other did not.
        let mut first = store.begin().await.unwrap();
        let got_first = first.claim_expired_sessions(now, cutoff, 1).await.unwrap();
        let mut second = store.begin().await.unwrap();
        let got_second = second
            .claim_expired_sessions(now, cutoff, 10)
            .await
            .unwrap();
        assert_eq!(got_first.len(), 1);
        assert_eq!(
            got_second.len(),
            1,
            "the locked one is skipped, not waited for"
        );
        assert_ne!(got_first[0].id, got_second[0].id);
        assert!(
            first
                .end_session(got_first[0].id, "EXPIRED", now)
                .await
                .unwrap()
        );
        assert!(
            second
                .end_session(got_second[0].id, "EXPIRED", now)
                .await
                .unwrap()
        );
        first.commit().await.unwrap();
        second.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        assert!(!tx.any_expired_sessions(now, cutoff).await.unwrap());
    })
});

on_every_backend!(
    concurrent_sweeps_end_each_session_once_with_one_single_logout,
    |store| {
        Box::pin(async move {
            use ulo_core::app::LogoutProtocol;
            use ulo_core::clock::ManualClock;
            use ulo_core::log::{EventQuery, SortOrder};
            use ulo_core::logout::{SingleLogout, sweep_expired_sessions};

            let u = user("two-nodes@example.com", "Nodes");
            insert_user(store.as_ref(), &u).await;
            let mut bc = app("Back-channel");
            bc.oidc = Some(
                serde_json::from_value(serde_json::json!({
                    "clientId": "bc-client", "redirectUris": [], "postLogoutRedirectUris": [],
                    "tokenEndpointAuthMethod": "client_secret_basic",
                    "backchannelLogoutSessionRequired": true
                }))
                .unwrap(),
            );
            bc.logout.protocol = Some(LogoutProtocol::OidcBackchannel);
            bc.logout.endpoint = Some("https://bc.example.com/logout".into());
            let now = t0() + Duration::hours(20);
            let sessions: Vec<Session> = (0..20)
                .map(|i| session(u.id, now - Duration::hours(13), &format!("n{i}")))
                .collect();
            let mut tx = store.begin().await.unwrap();
            tx.insert_app(&bc).await.unwrap();
            for s in &sessions {
                tx.insert_session(s).await.unwrap();
                tx.record_session_app(s.id, bc.id, s.created).await.unwrap();
            }
            tx.commit().await.unwrap();

            // Two nodes sweep at the same moment.
            let clock = ManualClock::new(now);
            let settings = SingleLogout::default();
            let (a, b) = tokio::join!(
                sweep_expired_sessions(store.as_ref(), &clock, settings),
                sweep_expired_sessions(store.as_ref(), &clock, settings)
            );
            let ((ended_a, receipts_a), (ended_b, receipts_b)) = (a.unwrap(), b.unwrap());
            assert_eq!(ended_a + ended_b, 20, "{ended_a} + {ended_b}");
            assert_eq!(receipts_a.len() + receipts_b.len(), 20);

            // Each session: ended once, one user.session.end, one receipt, one delivery job.
            let mut tx = store.read().await.unwrap();
            for s in &sessions {
                let got = tx.get_session(s.id).await.unwrap().unwrap();
                assert_eq!(got.ended, Some(now));
                // Unused since sign-in: idle two hours in, before its absolute end.
                assert_eq!(got.end_reason.as_deref(), Some("IDLE_TIMEOUT"));
            }
            let events = tx
                .query_events(&EventQuery {
                    since: None,
                    until: None,
                    after: None,
                    filter: None,
                    keywords: vec![],
                    sort: SortOrder::Ascending,
                    limit: 1000,
                })
                .await
                .unwrap();
            let ends: Vec<_> = events
                .iter()
                .filter(|e| e.event_type == "user.session.end")
                .collect();
            assert_eq!(ends.len(), 20);
            let sids: std::collections::HashSet<_> = ends
                .iter()
                .map(|e| e.debug_context.debug_data["sessionId"].clone())
                .collect();
            assert_eq!(sids.len(), 20, "no session ended twice");
            let jobs = tx.count_jobs(Some("logout.deliver")).await.unwrap();
            assert_eq!(jobs.queued, 20);
            drop(tx);
            assert_eq!(
                sweep_expired_sessions(store.as_ref(), &clock, settings)
                    .await
                    .unwrap()
                    .0,
                0,
                "nothing left to end"
            );
        })
    }
);
