//! The storage conformance suite: every test runs on SQLite and, when configured, PostgreSQL.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::json;
use time::{Duration, OffsetDateTime};
use ulo_core::app::{App, AppSecrets, AppStatus, AppType, LogoutSettings, SubjectFormat};
use ulo_core::auth::{ApiToken, KeyState, SigningKeyRecord};
use ulo_core::context::Context;
use ulo_core::group::{Group, GroupProfile};
use ulo_core::ids::{AppId, GroupId, UserId};
use ulo_core::job::{JobResult, JobState, Lease, NewJob};
use ulo_core::log::{EventQuery, LogEvent, SortOrder, Target, catalogue};
use ulo_core::store::{Page, Store, StoreError, UserQuery};
use ulo_core::user::{AdminRole, ProvisionedBy, RiskLevel, User, UserProfile, UserStatus};

pub(crate) fn t0() -> OffsetDateTime {
    time::macros::datetime!(2026-11-01 12:00:00 UTC)
}

pub(crate) fn user(login: &str, first: &str) -> User {
    User {
        id: UserId::new(),
        status: UserStatus::Active,
        provisioned_by: ProvisionedBy::Api,
        risk_level: RiskLevel::Low,
        created: t0(),
        activated: Some(t0()),
        status_changed: None,
        last_updated: t0(),
        password_changed: None,
        last_login: None,
        profile: UserProfile {
            login: login.into(),
            email: login.into(),
            first_name: first.into(),
            last_name: "Tester".into(),
            ..Default::default()
        },
    }
}

fn group(name: &str) -> Group {
    Group {
        id: GroupId::new(),
        created: t0(),
        last_updated: t0(),
        last_membership_updated: t0(),
        profile: GroupProfile {
            name: name.into(),
            description: None,
        },
    }
}

pub(crate) fn app(label: &str) -> App {
    App {
        id: AppId::new(),
        label: label.into(),
        app_type: AppType::Oidc,
        status: AppStatus::Active,
        created: t0(),
        last_updated: t0(),
        oidc: None,
        logout: LogoutSettings {
            enabled: true,
            protocol: None,
            endpoint: Some("https://a.example.com/gtr".into()),
            subject_format: SubjectFormat::IssSub,
        },
        provisioning: None,
        secrets: AppSecrets {
            client_secret_hash: Some("h".into()),
            scim_token_sealed: Some("v1.sealed".into()),
        },
    }
}

pub(crate) async fn insert_user(store: &dyn Store, u: &User) {
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(u, Some("phc")).await.unwrap();
    tx.commit().await.unwrap();
}

on_every_backend!(users_round_trip_unique_and_search, |store| Box::pin(
    async move {
        let ada = user("ada@example.com", "Ada");
        insert_user(store.as_ref(), &ada).await;
        let mut tx = store.read().await.unwrap();
        assert_eq!(tx.get_user(ada.id).await.unwrap().as_ref(), Some(&ada));
        assert_eq!(
            tx.get_user_by_login("ADA@example.com")
                .await
                .unwrap()
                .map(|u| u.id),
            Some(ada.id)
        );
        assert_eq!(
            tx.password_hash(ada.id).await.unwrap().as_deref(),
            Some("phc")
        );
        drop(tx);

        // Logins are unique case-insensitively, and a failed insert leaves nothing behind.
        let mut tx = store.begin().await.unwrap();
        let dup = user("Ada@Example.com", "Other");
        assert!(matches!(
            tx.insert_user(&dup, None).await,
            Err(StoreError::Unique(_))
        ));
        drop(tx);
        let mut tx = store.read().await.unwrap();
        assert_eq!(tx.count_users().await.unwrap(), 1);
        drop(tx);

        for i in 0..5 {
            insert_user(
                store.as_ref(),
                &user(&format!("user{i}@example.com"), &format!("Bob{i}")),
            )
            .await;
        }
        let mut tx = store.read().await.unwrap();
        // Keyset paging visits every user once.
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = tx
                .list_users(&UserQuery {
                    q: None,
                    filter: None,
                    page: Page {
                        after: after.clone(),
                        limit: 2,
                    },
                })
                .await
                .unwrap();
            if page.is_empty() {
                break;
            }
            after = page.last().map(|u| u.id.to_string());
            seen.extend(page.into_iter().map(|u| u.id));
        }
        assert_eq!(seen.len(), 6);
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 6);
        let by_q = tx
            .list_users(&UserQuery {
                q: Some("bob".into()),
                filter: None,
                page: Page {
                    after: None,
                    limit: 50,
                },
            })
            .await
            .unwrap();
        assert_eq!(by_q.len(), 5);
        let f =
            ulo_core::filter::parse(r#"profile.firstName eq "ada" or profile.login sw "user1""#)
                .unwrap();
        let by_f = tx
            .list_users(&UserQuery {
                q: None,
                filter: Some(f),
                page: Page {
                    after: None,
                    limit: 50,
                },
            })
            .await
            .unwrap();
        assert_eq!(by_f.len(), 2);
        let f = ulo_core::filter::parse(
            r#"status eq "ACTIVE" and lastUpdated ge "2026-11-01T00:00:00Z""#,
        )
        .unwrap();
        let by_f = tx
            .list_users(&UserQuery {
                q: None,
                filter: Some(f),
                page: Page {
                    after: None,
                    limit: 50,
                },
            })
            .await
            .unwrap();
        assert_eq!(by_f.len(), 6);
        let bad = ulo_core::filter::parse(r#"password eq "x""#).unwrap();
        assert!(matches!(
            tx.list_users(&UserQuery {
                q: None,
                filter: Some(bad),
                page: Page {
                    after: None,
                    limit: 5
                }
            })
            .await,
            Err(StoreError::BadQuery(_))
        ));
    }
));

on_every_backend!(groups_apps_assignments_and_cascades, |store| Box::pin(
    async move {
        let u = user("grace@example.com", "Grace");
        insert_user(store.as_ref(), &u).await;
        let g = group("Engineering");
        let a = app("Vault");
        let b = app("Wiki");
        let mut tx = store.begin().await.unwrap();
        tx.insert_group(&g).await.unwrap();
        assert!(matches!(
            tx.insert_group(&group("engineering")).await,
            Err(StoreError::Unique(_))
        ));
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        tx.insert_group(&g).await.unwrap();
        tx.insert_app(&a).await.unwrap();
        tx.insert_app(&b).await.unwrap();
        assert!(tx.add_member(g.id, u.id, t0()).await.unwrap());
        assert!(!tx.add_member(g.id, u.id, t0()).await.unwrap());
        assert!(tx.assign_user(a.id, u.id, t0()).await.unwrap());
        assert!(tx.assign_group(a.id, g.id, t0()).await.unwrap());
        assert!(tx.assign_group(b.id, g.id, t0()).await.unwrap());
        tx.commit().await.unwrap();

        let mut tx = store.read().await.unwrap();
        assert_eq!(
            tx.get_app(a.id).await.unwrap().as_ref(),
            Some(&a),
            "secrets and JSON parts survive"
        );
        assert_eq!(tx.get_desktop_mfa_app().await.unwrap(), None);
        drop(tx);
        let mut mfa = app("Managed computers");
        mfa.app_type = AppType::DesktopMfa;
        let mut tx = store.begin().await.unwrap();
        tx.insert_app(&mfa).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        assert_eq!(tx.get_desktop_mfa_app().await.unwrap(), Some(mfa.clone()));
        let links = tx.list_user_app_links(u.id).await.unwrap();
        assert_eq!(links.len(), 2);
        let la = links.iter().find(|l| l.app.id == a.id).unwrap();
        assert!(la.direct);
        assert_eq!(la.groups, vec![g.id]);
        let lb = links.iter().find(|l| l.app.id == b.id).unwrap();
        assert!(!lb.direct);
        assert_eq!(
            tx.list_members(
                g.id,
                &Page {
                    after: None,
                    limit: 10
                }
            )
            .await
            .unwrap()
            .len(),
            1
        );
        assert_eq!(tx.list_user_groups(u.id).await.unwrap().len(), 1);
        assert_eq!(
            tx.list_app_users(
                a.id,
                &Page {
                    after: None,
                    limit: 10
                }
            )
            .await
            .unwrap()
            .len(),
            1
        );
        assert_eq!(tx.list_app_groups(b.id).await.unwrap().len(), 1);
        assert_eq!(
            tx.list_groups(
                Some("eng"),
                &Page {
                    after: None,
                    limit: 10
                }
            )
            .await
            .unwrap()
            .len(),
            1
        );
        assert_eq!(
            tx.list_apps(
                Some("wi"),
                &Page {
                    after: None,
                    limit: 10
                }
            )
            .await
            .unwrap()
            .len(),
            1
        );
        drop(tx);

        // Deleting the user removes memberships and assignments with it.
        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_user(u.id).await.unwrap());
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        assert!(
            tx.list_members(
                g.id,
                &Page {
                    after: None,
                    limit: 10
                }
            )
            .await
            .unwrap()
            .is_empty()
        );
        assert!(
            tx.list_app_users(
                a.id,
                &Page {
                    after: None,
                    limit: 10
                }
            )
            .await
            .unwrap()
            .is_empty()
        );
    }
));

on_every_backend!(rollback_leaves_nothing, |store| Box::pin(async move {
    let u = user("rolled@example.com", "Rolled");
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&u, None).await.unwrap();
    let ev = LogEvent::build(&Context::system("TEST"), catalogue::user::CREATE, t0(), "x").finish();
    tx.append_event(&ev).await.unwrap();
    tx.enqueue_job(&NewJob::new("webhook", json!({}), t0(), Duration::hours(1)))
        .await
        .unwrap();
    drop(tx);
    let mut tx = store.read().await.unwrap();
    assert!(tx.get_user(u.id).await.unwrap().is_none());
    assert!(tx.get_event(ev.uuid).await.unwrap().is_none());
    assert_eq!(tx.count_jobs(None).await.unwrap().queued, 0);
}));

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

on_every_backend!(job_queue_leases_fencing_and_retries, |store| Box::pin(
    async move {
        let job = NewJob::new("webhook", json!({"n": 1}), t0(), Duration::hours(1));
        let mut tx = store.begin().await.unwrap();
        tx.enqueue_job(&job).await.unwrap();
        // Not visible to workers before commit.
        assert!(
            store
                .claim_jobs("early", 10, t0(), t0() + Duration::seconds(30))
                .await
                .map(|v| v.is_empty())
                .unwrap_or(true)
        );
        tx.commit().await.unwrap();

        let claimed = store
            .claim_jobs("w1", 10, t0(), t0() + Duration::seconds(30))
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].attempts, 1);
        assert_eq!(claimed[0].state, JobState::Running);
        assert!(
            store
                .claim_jobs(
                    "w2",
                    10,
                    t0() + Duration::seconds(10),
                    t0() + Duration::seconds(40)
                )
                .await
                .unwrap()
                .is_empty(),
            "a live lease is not shared"
        );

        // The lease expires; another worker takes over, and the first can no longer record a result.
        let later = t0() + Duration::seconds(31);
        let reclaimed = store
            .claim_jobs("w2", 10, later, later + Duration::seconds(30))
            .await
            .unwrap();
        assert_eq!(reclaimed.len(), 1);
        assert_eq!(reclaimed[0].attempts, 2);
        let stale = Lease {
            job: job.id,
            owner: "w1".into(),
            attempt: 1,
        };
        assert!(
            !store
                .extend_lease(&stale, later + Duration::minutes(5))
                .await
                .unwrap()
        );
        let mut tx = store.begin().await.unwrap();
        assert!(
            !tx.finish_job(&stale, &JobResult::Done, later)
                .await
                .unwrap()
        );
        drop(tx);

        let current = Lease {
            job: job.id,
            owner: "w2".into(),
            attempt: 2,
        };
        assert!(
            store
                .extend_lease(&current, later + Duration::minutes(1))
                .await
                .unwrap()
        );
        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.finish_job(
                &current,
                &JobResult::Retry {
                    at: later + Duration::seconds(5),
                    error: "HTTP 503".into()
                },
                later
            )
            .await
            .unwrap()
        );
        tx.commit().await.unwrap();
        assert!(
            store
                .claim_jobs(
                    "w3",
                    10,
                    later + Duration::seconds(1),
                    later + Duration::seconds(31)
                )
                .await
                .unwrap()
                .is_empty(),
            "not due yet"
        );
        let again = store
            .claim_jobs(
                "w3",
                10,
                later + Duration::seconds(5),
                later + Duration::seconds(35),
            )
            .await
            .unwrap();
        assert_eq!(again[0].last_error.as_deref(), Some("HTTP 503"));
        let lease = Lease {
            job: job.id,
            owner: "w3".into(),
            attempt: 3,
        };
        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.finish_job(
                &lease,
                &JobResult::Dead {
                    error: "HTTP 400".into()
                },
                later
            )
            .await
            .unwrap()
        );
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        let j = tx.get_job(job.id).await.unwrap().unwrap();
        assert_eq!(j.state, JobState::Dead);
        assert_eq!(tx.count_jobs(Some("webhook")).await.unwrap().dead, 1);
    }
));

on_every_backend!(finishing_many_jobs_fences_each, |store| Box::pin(
    async move {
        // 120 jobs (more than one statement's worth), a third taken over by another worker.
        let jobs: Vec<NewJob> = (0..120)
            .map(|i| NewJob::new("webhook", json!({"i": i}), t0(), Duration::hours(1)))
            .collect();
        let mut tx = store.begin().await.unwrap();
        tx.enqueue_jobs(&jobs).await.unwrap();
        tx.commit().await.unwrap();
        let claimed = store
            .claim_jobs("w1", 200, t0(), t0() + Duration::seconds(30))
            .await
            .unwrap();
        assert_eq!(claimed.len(), 120);
        let later = t0() + Duration::seconds(31);
        let mut tx = store.begin().await.unwrap();
        let leases: Vec<Lease> = claimed
            .iter()
            .map(|j| Lease {
                job: j.id,
                owner: "w1".into(),
                attempt: j.attempts,
            })
            .collect();
        let results: Vec<JobResult> = (0..120)
            .map(|i| match i % 4 {
                3 => JobResult::Retry {
                    at: later + Duration::seconds(5),
                    error: "HTTP 503".into(),
                },
                _ => JobResult::Done,
            })
            .collect();
        // Every third job's lease moved to w2 (a later attempt) before w1 records.
        for j in claimed.iter().step_by(3) {
            tx.finish_job(
                &Lease {
                    job: j.id,
                    owner: "w1".into(),
                    attempt: j.attempts,
                },
                &JobResult::Retry {
                    at: t0(),
                    error: "taken over".into(),
                },
                t0(),
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        let taken = store
            .claim_jobs("w2", 200, t0() + Duration::seconds(1), later)
            .await
            .unwrap();
        assert_eq!(taken.len(), 40);
        let mut tx = store.begin().await.unwrap();
        let pairs: Vec<(&Lease, &JobResult)> = leases.iter().zip(results.iter()).collect();
        let current = tx.finish_jobs(&pairs, later).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        for (i, (j, ok)) in claimed.iter().zip(current).enumerate() {
            assert_eq!(ok, i % 3 != 0, "job {i}: fenced only when taken over");
            let stored = tx.get_job(j.id).await.unwrap().unwrap();
            let want = match (i % 3, i % 4) {
                (0, _) => JobState::Running,
                (_, 3) => JobState::Queued,
                _ => JobState::Done,
            };
            assert_eq!(stored.state, want, "job {i}");
        }
    }
));

on_every_backend!(concurrent_claimers_never_share_a_job, |store| Box::pin(
    async move {
        let mut tx = store.begin().await.unwrap();
        for i in 0..200 {
            tx.enqueue_job(&NewJob::new(
                "webhook",
                json!({"i": i}),
                t0(),
                Duration::hours(1),
            ))
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        let mut handles = Vec::new();
        for w in 0..4 {
            let store = store.clone();
            handles.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let jobs = store
                        .claim_jobs(&format!("w{w}"), 7, t0(), t0() + Duration::minutes(5))
                        .await
                        .unwrap();
                    if jobs.is_empty() {
                        return mine;
                    }
                    mine.extend(jobs.into_iter().map(|j| j.id));
                }
            }));
        }
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await.unwrap());
        }
        assert_eq!(all.len(), 200);
        assert_eq!(all.iter().collect::<HashSet<_>>().len(), 200);
    }
));

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

on_every_backend!(lock_user_serializes, |store| Box::pin(async move {
    use std::sync::atomic::{AtomicBool, Ordering};
    use ulo_core::oauth::SignInState;

    let u = user("locked@example.com", "Locked");
    insert_user(store.as_ref(), &u).await;
    let mut tx = store.begin().await.unwrap();
    assert!(!tx.lock_user(UserId::new()).await.unwrap());
    assert!(tx.lock_user(u.id).await.unwrap());
    let written = Arc::new(AtomicBool::new(false));
    let (other_store, other_written, id) = (store.clone(), written.clone(), u.id);
    // A second transaction locking the same user goes on only after the first committed,
    // so it reads the first one's write (the counter cannot lose an increment).
    let other = tokio::spawn(async move {
        let mut tx = other_store.begin().await.unwrap();
        assert!(tx.lock_user(id).await.unwrap());
        assert!(
            other_written.load(Ordering::SeqCst),
            "the lock did not wait"
        );
        let st = tx.sign_in_state(id).await.unwrap();
        tx.put_sign_in_state(
            id,
            &SignInState {
                failed_attempts: st.failed_attempts + 1,
                ..st
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    });
    let st = tx.sign_in_state(u.id).await.unwrap();
    tx.put_sign_in_state(
        u.id,
        &SignInState {
            failed_attempts: st.failed_attempts + 1,
            totp_last_step: Some(7),
            ..st
        },
    )
    .await
    .unwrap();
    written.store(true, Ordering::SeqCst);
    tx.commit().await.unwrap();
    other.await.unwrap();
    let mut tx = store.read().await.unwrap();
    let st = tx.sign_in_state(u.id).await.unwrap();
    assert_eq!((st.failed_attempts, st.totp_last_step), (2, Some(7)));
}));

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

on_every_backend!(scim_credentials_and_external_ids, |store| Box::pin(
    async move {
        use ulo_core::scim::ScimCredential;
        let now = t0();
        let c = ScimCredential {
            id: uuid::Uuid::now_v7().to_string(),
            name: "HR".into(),
            token_prefix: "ulo_abcd".into(),
            created: now,
            revoked: None,
            token_hash: "h1".into(),
        };
        let mut tx = store.begin().await.unwrap();
        tx.insert_scim_credential(&c).await.unwrap();
        tx.commit().await.unwrap();
        // A second credential with the same token hash is refused (its own transaction: a
        // failed statement aborts a PostgreSQL transaction).
        let mut tx = store.begin().await.unwrap();
        let dup = ScimCredential {
            id: uuid::Uuid::now_v7().to_string(),
            ..c.clone()
        };
        assert!(matches!(
            tx.insert_scim_credential(&dup).await,
            Err(StoreError::Unique(_))
        ));
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.find_scim_credential("h1").await.unwrap(),
            Some(c.clone())
        );
        assert_eq!(tx.find_scim_credential("nope").await.unwrap(), None);
        assert_eq!(tx.list_scim_credentials().await.unwrap(), vec![c.clone()]);
        assert!(tx.revoke_scim_credential(&c.id, now).await.unwrap());
        assert!(!tx.revoke_scim_credential(&c.id, now).await.unwrap());
        assert_eq!(tx.find_scim_credential("h1").await.unwrap(), None);
        assert_eq!(
            tx.list_scim_credentials().await.unwrap()[0].revoked,
            Some(now)
        );

        tx.put_scim_external_id("User", "u1", Some("e1"))
            .await
            .unwrap();
        tx.put_scim_external_id("User", "u1", Some("e2"))
            .await
            .unwrap();
        tx.put_scim_external_id("Group", "u1", Some("g"))
            .await
            .unwrap();
        assert_eq!(
            tx.list_scim_external_ids("User").await.unwrap(),
            vec![("u1".to_string(), "e2".to_string())]
        );
        assert_eq!(
            tx.get_scim_external_id("User", "u1")
                .await
                .unwrap()
                .as_deref(),
            Some("e2")
        );
        assert_eq!(
            tx.get_scim_external_id("Group", "u1")
                .await
                .unwrap()
                .as_deref(),
            Some("g")
        );
        tx.put_scim_external_id("User", "u1", None).await.unwrap();
        assert!(
            tx.get_scim_external_id("User", "u1")
                .await
                .unwrap()
                .is_none()
        );
        assert!(tx.list_scim_external_ids("User").await.unwrap().is_empty());
        assert_eq!(tx.list_scim_external_ids("Group").await.unwrap().len(), 1);

        let doc = serde_json::json!({"emails": [{"value": "a@b", "type": "x"}]});
        tx.put_scim_attributes("User", "u1", Some(&serde_json::json!({"a": 1})))
            .await
            .unwrap();
        tx.put_scim_attributes("User", "u1", Some(&doc))
            .await
            .unwrap();
        tx.put_scim_attributes("Group", "u1", Some(&serde_json::json!({})))
            .await
            .unwrap();
        assert_eq!(
            tx.list_scim_attributes("User").await.unwrap(),
            vec![("u1".to_string(), doc.clone())]
        );
        assert_eq!(
            tx.get_scim_attributes("User", "u1").await.unwrap(),
            Some(doc.clone())
        );
        tx.put_scim_attributes("User", "u1", None).await.unwrap();
        assert!(
            tx.get_scim_attributes("User", "u1")
                .await
                .unwrap()
                .is_none()
        );
        assert!(tx.list_scim_attributes("User").await.unwrap().is_empty());
        assert_eq!(tx.list_scim_attributes("Group").await.unwrap().len(), 1);
        tx.commit().await.unwrap();
    }
));

on_every_backend!(app_user_links_upsert_page_and_cascade, |store| Box::pin(
    async move {
        use ulo_core::provisioning::{AppUserLink, Desired, LinkState};
        let ada = user("links-ada@example.com", "Ada");
        let bob = user("links-bob@example.com", "Bob");
        insert_user(store.as_ref(), &ada).await;
        insert_user(store.as_ref(), &bob).await;
        let a = app("Provisioned");
        let mut tx = store.begin().await.unwrap();
        tx.insert_app(&a).await.unwrap();
        let link = |u: &User| AppUserLink {
            app_id: a.id,
            user_id: u.id,
            remote_id: None,
            state: LinkState::Pending,
            desired: Desired::Active,
            last_error: None,
            last_status: None,
            last_synced: None,
            created: t0(),
            updated: t0(),
        };
        tx.put_app_user_link(&link(&ada)).await.unwrap();
        tx.put_app_user_link(&link(&bob)).await.unwrap();
        let synced = AppUserLink {
            remote_id: Some("remote-1".into()),
            state: LinkState::Synced,
            last_status: Some(201),
            last_synced: Some(t0() + Duration::seconds(5)),
            updated: t0() + Duration::seconds(5),
            ..link(&ada)
        };
        tx.put_app_user_link(&synced).await.unwrap();
        assert_eq!(
            tx.get_app_user_link(a.id, ada.id).await.unwrap(),
            Some(synced.clone())
        );
        assert_eq!(
            tx.get_app_user_link(a.id, UserId::new()).await.unwrap(),
            None
        );
        let mut ids = [ada.id, bob.id];
        ids.sort();
        let first = tx
            .list_app_user_links(
                a.id,
                &Page {
                    after: None,
                    limit: 1,
                },
            )
            .await
            .unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].user_id, ids[0]);
        let rest = tx
            .list_app_user_links(
                a.id,
                &Page {
                    after: Some(ids[0].to_string()),
                    limit: 10,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            rest.iter().map(|l| l.user_id).collect::<Vec<_>>(),
            vec![ids[1]]
        );
        assert_eq!(
            tx.list_user_app_user_links(ada.id).await.unwrap(),
            vec![synced]
        );
        // Links go with their user and their app.
        tx.delete_user(bob.id).await.unwrap();
        assert!(
            tx.list_user_app_user_links(bob.id)
                .await
                .unwrap()
                .is_empty()
        );
        tx.delete_app(a.id).await.unwrap();
        assert_eq!(tx.get_app_user_link(a.id, ada.id).await.unwrap(), None);
        tx.commit().await.unwrap();
    }
));
