//! Conformance for sign-in, sessions and OAuth: which apps a session signed in to, finding (and
//! claiming, once) the sessions whose time is up, OAuth codes and token families, and the memory
//! of one-time JWT ids.

use time::Duration;
use ulo_core::ids::UserId;
use ulo_core::store::Store;

use crate::fixtures::*;
use ulo_core::ids::SessionId;
use ulo_core::session::{IDLE_TIMEOUT, Session};

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

on_every_backend!(sessions_codes_and_token_families, |store| Box::pin(
    async move {
        use ulo_core::ids::{GrantId, RefreshTokenId, SessionId};
        use ulo_core::oauth::{AccessTokenRecord, AuthCode, RefreshToken, SignInState};
        use ulo_core::session::Session;

        let u = user("oidc@example.com", "Oidc");
        insert_user(store.as_ref(), &u).await;
        let a = app("Portal");
        let session = Session {
            id: SessionId::new(),
            user_id: u.id,
            created: t0(),
            last_used: t0(),
            expires: t0() + Duration::hours(12),
            ip_address: Some("203.0.113.9".into()),
            user_agent: Some("test-agent".into()),
            amr: vec!["pwd".into(), "otp".into()],
            ended: None,
            end_reason: None,
            secret_hash: "cookie-hash".into(),
        };
        let grant = GrantId::new();
        let code = AuthCode {
            code_hash: "code-hash".into(),
            app_id: a.id,
            user_id: u.id,
            session_id: session.id,
            redirect_uri: "https://portal.example.com/cb".into(),
            scope: "openid offline_access".into(),
            nonce: Some("n".into()),
            code_challenge: Some("c".into()),
            code_challenge_method: Some("S256".into()),
            auth_time: t0(),
            created: t0(),
            expires: t0() + Duration::minutes(1),
            used: None,
            grant_id: grant,
        };
        let rt = |hash: &str| RefreshToken {
            id: RefreshTokenId::new(),
            grant_id: grant,
            token_hash: hash.into(),
            app_id: a.id,
            user_id: u.id,
            session_id: Some(session.id),
            scope: "openid offline_access".into(),
            auth_time: t0(),
            created: t0(),
            expires: t0() + Duration::days(30),
            rotated: None,
            revoked: None,
        };
        let first = rt("rt-1");
        let second = rt("rt-2");
        let at = AccessTokenRecord {
            jti: "jti-1".into(),
            app_id: a.id,
            user_id: Some(u.id),
            grant_id: Some(grant),
            scope: "openid".into(),
            created: t0(),
            expires: t0() + Duration::minutes(5),
            revoked: None,
        };

        let mut tx = store.begin().await.unwrap();
        tx.insert_app(&a).await.unwrap();
        tx.insert_session(&session).await.unwrap();
        tx.insert_auth_code(&code).await.unwrap();
        tx.insert_refresh_token(&first).await.unwrap();
        tx.insert_refresh_token(&second).await.unwrap();
        tx.insert_access_token(&at).await.unwrap();
        let st = SignInState {
            totp_sealed: Some("v1.x".into()),
            totp_verified: Some(t0()),
            failed_attempts: 2,
            locked_until: None,
            totp_last_step: Some(59_000_000),
        };
        tx.put_sign_in_state(u.id, &st).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.find_session("cookie-hash").await.unwrap().as_ref(),
            Some(&session)
        );
        assert_eq!(tx.sign_in_state(u.id).await.unwrap(), st);
        assert_eq!(
            tx.sign_in_state(UserId::new()).await.unwrap(),
            SignInState::default()
        );
        // A code is redeemed once; the second redemption sees it used.
        assert_eq!(
            tx.redeem_auth_code("code-hash", t0())
                .await
                .unwrap()
                .unwrap()
                .used,
            None
        );
        assert!(
            tx.redeem_auth_code("code-hash", t0())
                .await
                .unwrap()
                .unwrap()
                .used
                .is_some()
        );
        assert!(tx.redeem_auth_code("nope", t0()).await.unwrap().is_none());
        // Rotation is compare-and-set.
        assert!(tx.rotate_refresh_token(first.id, t0()).await.unwrap());
        assert!(!tx.rotate_refresh_token(first.id, t0()).await.unwrap());
        let grants = tx.list_grants(u.id, t0()).await.unwrap();
        assert_eq!(
            (
                grants.len(),
                grants[0].refresh_tokens,
                grants[0].access_tokens
            ),
            (1, 1, 1)
        );
        // Revoking the family kills the live refresh token and the access token.
        assert_eq!(tx.revoke_grant(grant, t0()).await.unwrap(), 2);
        assert!(
            tx.find_refresh_token("rt-1")
                .await
                .unwrap()
                .unwrap()
                .revoked
                .is_some()
        );
        assert!(
            tx.get_access_token("jti-1")
                .await
                .unwrap()
                .unwrap()
                .revoked
                .is_some()
        );
        assert!(tx.list_grants(u.id, t0()).await.unwrap().is_empty());
        assert!(tx.end_session(session.id, "LOGOUT", t0()).await.unwrap());
        assert!(!tx.end_session(session.id, "LOGOUT", t0()).await.unwrap());
        assert!(tx.list_open_sessions(u.id).await.unwrap().is_empty());
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        let third = RefreshToken {
            grant_id: GrantId::new(),
            ..rt("rt-3")
        };
        tx.insert_refresh_token(&third).await.unwrap();
        tx.insert_access_token(&AccessTokenRecord {
            jti: "jti-2".into(),
            grant_id: None,
            ..at.clone()
        })
        .await
        .unwrap();
        let revoked = tx.revoke_user_tokens(u.id, t0()).await.unwrap();
        assert_eq!(
            (revoked[0].refresh_tokens, revoked[0].access_tokens),
            (1, 1)
        );
        assert!(tx.list_grants(u.id, t0()).await.unwrap().is_empty());
        assert!(!tx.revoke_access_token("jti-2", t0()).await.unwrap());
        tx.commit().await.unwrap();
    }
));

on_every_backend!(remember_jti_refuses_replays_until_expiry, |store| Box::pin(
    async move {
        let now = t0();
        let mut tx = store.begin().await.unwrap();
        let until = now + Duration::minutes(5);
        assert!(
            tx.remember_jti("client-assertion:a", "j1", until, now)
                .await
                .unwrap()
        );
        assert!(
            !tx.remember_jti("client-assertion:a", "j1", until, now)
                .await
                .unwrap(),
            "a replay"
        );
        // Namespaces are apart.
        assert!(
            tx.remember_jti("client-assertion:b", "j1", until, now)
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert!(
            !tx.remember_jti(
                "client-assertion:a",
                "j1",
                until,
                now + Duration::minutes(4)
            )
            .await
            .unwrap()
        );
        // Once expired, the entry is forgotten (the JWT's own exp refuses it by then).
        let later = now + Duration::minutes(5);
        assert!(
            tx.remember_jti(
                "client-assertion:a",
                "j1",
                later + Duration::minutes(5),
                later
            )
            .await
            .unwrap()
        );
        tx.commit().await.unwrap();
    }
));

on_every_backend!(
    remembering_a_jti_outside_a_transaction_admits_it_once,
    |store| {
        Box::pin(async move {
            let now = t0();
            let until = now + Duration::minutes(2);
            // Concurrent callers with the same jti (group-committed together on SQLite): exactly
            // one is first; callers with other jtis are all first.
            let mut set = tokio::task::JoinSet::new();
            for i in 0..64 {
                let store = store.clone();
                set.spawn(async move {
                    let jti = if i % 2 == 0 {
                        "same".to_string()
                    } else {
                        format!("j{i}")
                    };
                    let first = store
                        .remember_jti("device:a", &jti, until, now)
                        .await
                        .unwrap();
                    (jti, first)
                });
            }
            let answers = set.join_all().await;
            let same = answers.iter().filter(|(j, first)| j == "same" && *first);
            assert_eq!(same.count(), 1, "{answers:?}");
            assert!(
                answers.iter().all(|(j, first)| j == "same" || *first),
                "{answers:?}"
            );
            // A replay, later, on either path; another namespace is apart.
            assert!(
                !store
                    .remember_jti("device:a", "j1", until, now)
                    .await
                    .unwrap()
            );
            let mut tx = store.begin().await.unwrap();
            assert!(
                !tx.remember_jti("device:a", "same", until, now)
                    .await
                    .unwrap()
            );
            tx.commit().await.unwrap();
            assert!(
                store
                    .remember_jti("device:b", "same", until, now)
                    .await
                    .unwrap()
            );
            // Expired, it may be used again (the JWT's own exp refuses it by then).
            assert!(
                store
                    .remember_jti("device:a", "same", until + Duration::minutes(2), until)
                    .await
                    .unwrap()
            );
            assert!(
                !store
                    .remember_jti("device:a", "same", until + Duration::minutes(2), until)
                    .await
                    .unwrap()
            );
        })
    }
);

on_every_backend!(purging_jtis_forgets_only_expired_ones, |store| Box::pin(
    async move {
        let now = t0();
        for (jti, life) in [("old", 1), ("young", 10)] {
            assert!(
                store
                    .remember_jti("ns", jti, now + Duration::minutes(life), now)
                    .await
                    .unwrap()
            );
        }
        let later = now + Duration::minutes(5);
        assert_eq!(store.purge_jtis(later).await.unwrap(), 1);
        assert_eq!(store.purge_jtis(later).await.unwrap(), 0);
        // The unexpired one is still remembered.
        assert!(
            !store
                .remember_jti("ns", "young", later + Duration::minutes(10), later)
                .await
                .unwrap()
        );
    }
));

on_every_backend!(touching_a_session_records_its_last_use, |store| {
    Box::pin(async move {
        let u = user("touch@example.com", "Touch");
        insert_user(store.as_ref(), &u).await;
        let s = session(u.id, t0(), "ht");
        insert_sessions(store.as_ref(), &[&s]).await;
        let later = t0() + time::Duration::minutes(7);
        let mut tx = store.begin().await.unwrap();
        tx.touch_session(s.id, later).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        let got = tx.get_session(s.id).await.unwrap().expect("stored");
        assert_eq!(got.last_used, later);
        assert_eq!(
            Session {
                last_used: s.last_used,
                ..got
            },
            s,
            "nothing else changed"
        );
    })
});
