//! The sessions API (list, clear, with OAuth tokens), password reset, and a signed-in admin's
//! cookie on `/api/v1/api-tokens`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::Duration;
use ulo_core::ids::{AppId, GrantId, RefreshTokenId, UserId};
use ulo_core::oauth::{AccessTokenRecord, RefreshToken};
use ulo_testkit::TestServer;

use crate::signin::*;
use crate::support::*;

/// Issues one refresh token and one access token of `app` to `user`, as the token endpoint
/// would; answers (refresh token hash, access token jti).
async fn issue_tokens(s: &TestServer, app: &str, user: &str) -> (String, String) {
    let (app_id, user_id): (AppId, UserId) = (app.parse().unwrap(), user.parse().unwrap());
    let now = ulo_testkit::now();
    let grant = GrantId::new();
    let hash = format!("rt-{}", uuid::Uuid::now_v7().simple());
    let jti = format!("at-{}", uuid::Uuid::now_v7().simple());
    let store = s.store();
    let mut tx = store.begin().await.unwrap();
    tx.insert_refresh_token(&RefreshToken {
        id: RefreshTokenId::new(),
        grant_id: grant,
        token_hash: hash.clone(),
        app_id,
        user_id,
        session_id: None,
        scope: "openid offline_access".into(),
        auth_time: now,
        created: now,
        expires: now + Duration::days(30),
        rotated: None,
        revoked: None,
    })
    .await
    .unwrap();
    tx.insert_access_token(&AccessTokenRecord {
        jti: jti.clone(),
        app_id,
        user_id: Some(user_id),
        grant_id: Some(grant),
        scope: "openid".into(),
        created: now,
        expires: now + Duration::minutes(10),
        revoked: None,
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (hash, jti)
}

/// Whether the refresh token and the access token are revoked.
async fn revoked(s: &TestServer, tokens: &(String, String)) -> (bool, bool) {
    let store = s.store();
    let mut tx = store.read().await.unwrap();
    let rt = tx.find_refresh_token(&tokens.0).await.unwrap().unwrap();
    let at = tx.get_access_token(&tokens.1).await.unwrap().unwrap();
    (rt.revoked.is_some(), at.revoked.is_some())
}

#[tokio::test]
async fn the_sessions_api_lists_sessions_and_token_grants() {
    on_every_backend(async |s| {
        let uid = user_with_password(s, "kim@example.com").await;
        let app = create_app(s, "Portal").await;
        let aid = id(&app);
        let (b1, b2) = (browser(), browser());
        sign_in(&b1, s, "kim@example.com").await;
        sign_in(&b2, s, "kim@example.com").await;
        issue_tokens(s, &aid, &uid).await;
        issue_tokens(s, &aid, &uid).await;

        let v = sessions_of(s, &uid).await;
        assert_eq!(v["userId"], uid.as_str());
        assert_eq!(v["sessions"].as_array().unwrap().len(), 2, "{v}");
        assert_eq!(
            v["grants"],
            json!([{"appId": aid, "label": "Portal", "refreshTokens": 2, "accessTokens": 2}])
        );
        let (status, body) = s
            .get(&format!("/api/v1/users/{}/sessions", uuid::Uuid::now_v7()))
            .await;
        assert_error((status, &body), StatusCode::NOT_FOUND, "E0000007");
        let (status, v) = s.get("/api/v1/users/kim@example.com/sessions").await;
        assert_eq!(status, StatusCode::OK, "by login too: {v}");
    })
    .await;
}

#[tokio::test]
async fn clearing_sessions_ends_each_in_one_transaction() {
    on_every_backend(async |s| {
        let admin = admin_id(s).await;
        let uid = user_with_password(s, "leo@example.com").await;
        let app = create_app(s, "Portal").await;
        let tokens = issue_tokens(s, &id(&app), &uid).await;
        let (b1, b2) = (browser(), browser());
        sign_in(&b1, s, "leo@example.com").await;
        sign_in(&b2, s, "leo@example.com").await;

        let (status, _) = s.delete(&format!("/api/v1/users/{uid}/sessions")).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert!(!signed_in(&b1, s).await);
        assert!(!signed_in(&b2, s).await);
        let v = sessions_of(s, &uid).await;
        assert_eq!(v["sessions"], json!([]), "{v}");
        assert_eq!(
            revoked(s, &tokens).await,
            (false, false),
            "tokens stay without oauthTokens"
        );

        let clear = one_event(s, "user.session.clear", &uid).await;
        assert_attributed(&clear, &admin, &[&uid]);
        assert_eq!(clear["debugContext"]["debugData"]["sessionsEnded"], 2);
        let ended = events(s, "user.session.end", &uid).await;
        assert_eq!(ended.len(), 2, "{ended:?}");
        for e in &ended {
            assert_attributed(e, &admin, &[&uid]);
            assert_eq!(e["transaction"]["id"], clear["transaction"]["id"]);
            assert_eq!(e["debugContext"]["debugData"]["reason"], "ADMIN_CLEAR");
        }
        assert_ne!(
            ended[0]["debugContext"]["debugData"]["sessionId"],
            ended[1]["debugContext"]["debugData"]["sessionId"]
        );
        assert!(events(s, "app.oauth2.token.revoke", &uid).await.is_empty());

        // Nothing left to end: still answered, and logged.
        let (status, _) = s.delete(&format!("/api/v1/users/{uid}/sessions")).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, body) = s
            .delete(&format!("/api/v1/users/{uid}/sessions?oauthTokens=maybe"))
            .await;
        assert_error((status, &body), StatusCode::BAD_REQUEST, "E0000001");
        let (status, body) = s
            .delete(&format!(
                "/api/v1/users/{uid}/sessions?universalLogout=perhaps"
            ))
            .await;
        assert_error((status, &body), StatusCode::BAD_REQUEST, "E0000001");
    })
    .await;
}

#[tokio::test]
async fn clearing_with_oauth_tokens_revokes_every_token_at_once() {
    on_every_backend(async |s| {
        let admin = admin_id(s).await;
        let uid = user_with_password(s, "mia@example.com").await;
        let other = user_with_password(s, "ned@example.com").await;
        let (a1, a2) = (create_app(s, "Portal").await, create_app(s, "Wiki").await);
        let t1 = issue_tokens(s, &id(&a1), &uid).await;
        let t2 = issue_tokens(s, &id(&a2), &uid).await;
        let theirs = issue_tokens(s, &id(&a1), &other).await;
        let b = browser();
        sign_in(&b, s, "mia@example.com").await;

        let (status, _) = s
            .delete(&format!("/api/v1/users/{uid}/sessions?oauthTokens=true"))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(revoked(s, &t1).await, (true, true));
        assert_eq!(revoked(s, &t2).await, (true, true));
        assert_eq!(
            revoked(s, &theirs).await,
            (false, false),
            "only that user's"
        );
        assert!(!signed_in(&b, s).await);
        assert_eq!(sessions_of(s, &uid).await["grants"], json!([]));

        let clear = one_event(s, "user.session.clear", &uid).await;
        let revokes = events(s, "app.oauth2.token.revoke", &uid).await;
        assert_eq!(revokes.len(), 2, "one per app: {revokes:?}");
        for app in [&a1, &a2] {
            let aid = id(app);
            let e = revokes
                .iter()
                .find(|e| {
                    e["target"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|t| t["id"] == aid.as_str())
                })
                .unwrap_or_else(|| panic!("no revoke event for {aid}: {revokes:?}"));
            assert_attributed(e, &admin, &[&uid, &aid]);
            assert_eq!(e["transaction"]["id"], clear["transaction"]["id"]);
            assert_eq!(e["debugContext"]["debugData"]["refreshTokens"], 1);
            assert_eq!(e["debugContext"]["debugData"]["accessTokens"], 1);
        }
        assert_eq!(
            one_event(s, "user.session.end", &uid).await["transaction"]["id"],
            clear["transaction"]["id"]
        );
    })
    .await;
}

#[tokio::test]
async fn read_only_admins_may_list_sessions_but_not_clear_them() {
    on_every_backend(async |s| {
        let uid = user_with_password(s, "olga@example.com").await;
        let (_, token) = read_only_admin(s, "auditor@example.com").await;
        let b = browser();
        sign_in(&b, s, "olga@example.com").await;
        let path = format!("/api/v1/users/{uid}/sessions");
        let (status, v) = s.call_as(&token, Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["sessions"].as_array().unwrap().len(), 1);
        let (status, body) = s.call_as(&token, Method::DELETE, &path, None).await;
        assert_error((status, &body), StatusCode::FORBIDDEN, "E0000006");
        assert!(signed_in(&b, s).await);
        let (status, body) = s
            .call_as(
                &token,
                Method::POST,
                &format!("/api/v1/users/{uid}/credentials/reset_password"),
                Some(json!({"password": {"value": "another good password"}})),
            )
            .await;
        assert_error((status, &body), StatusCode::FORBIDDEN, "E0000006");
    })
    .await;
}

#[tokio::test]
async fn a_password_reset_ends_sessions_and_tokens() {
    on_every_backend(async |s| {
        let admin = admin_id(s).await;
        let uid = user_with_password(s, "pam@example.com").await;
        let app = create_app(s, "Portal").await;
        let tokens = issue_tokens(s, &id(&app), &uid).await;
        let b = browser();
        sign_in(&b, s, "pam@example.com").await;
        let path = format!("/api/v1/users/{uid}/credentials/reset_password");

        let (status, body) = s.post(&path, json!({"password": {"value": "short"}})).await;
        assert_error((status, &body), StatusCode::BAD_REQUEST, "E0000001");
        assert!(signed_in(&b, s).await, "a refused reset changes nothing");

        let (status, user) = s
            .post(
                &path,
                json!({"password": {"value": "a brand new passphrase"}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{user}");
        assert!(user["passwordChanged"].is_string());
        assert!(!signed_in(&b, s).await);
        assert_eq!(revoked(s, &tokens).await, (true, true));
        let reset = one_event(s, "user.account.reset_password", &uid).await;
        assert_attributed(&reset, &admin, &[&uid]);
        let ended = one_event(s, "user.session.end", &uid).await;
        assert_eq!(
            ended["debugContext"]["debugData"]["reason"],
            "PASSWORD_RESET"
        );
        assert_eq!(ended["transaction"]["id"], reset["transaction"]["id"]);
        assert!(
            !Value::Array(logged(s, r#"eventType sw "user.""#).await)
                .to_string()
                .contains("a brand new passphrase")
        );

        let old = post_login(
            &b,
            s,
            &[("username", "pam@example.com"), ("password", PASSWORD)],
        )
        .await;
        assert_eq!(old.status, StatusCode::UNAUTHORIZED);
        let new = post_login(
            &b,
            s,
            &[
                ("username", "pam@example.com"),
                ("password", "a brand new passphrase"),
            ],
        )
        .await;
        assert_eq!(new.status, StatusCode::SEE_OTHER);
    })
    .await;
}

/// Gives the super admin [`PASSWORD`] and signs them in on a new browser.
async fn signed_in_admin(s: &TestServer) -> reqwest::Client {
    let (status, body) = s
        .post(
            &format!("/api/v1/users/{ADMIN_LOGIN}/credentials/reset_password"),
            json!({"password": {"value": PASSWORD}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let b = browser();
    sign_in(&b, s, ADMIN_LOGIN).await;
    b
}

#[tokio::test]
async fn a_signed_in_admin_manages_their_api_tokens_with_the_cookie() {
    on_every_backend(async |s| {
        let admin = admin_id(s).await;
        let b = signed_in_admin(s).await;
        let url = format!("{}/api/v1/api-tokens", s.url);

        let no_origin = b
            .post(&url)
            .json(&json!({"name": "laptop"}))
            .send()
            .await
            .unwrap();
        assert_eq!(no_origin.status(), StatusCode::FORBIDDEN);
        let cross = b
            .post(&url)
            .header("Origin", "https://evil.example.com")
            .json(&json!({"name": "laptop"}))
            .send()
            .await
            .unwrap();
        assert_eq!(cross.status(), StatusCode::FORBIDDEN);

        let resp = b
            .post(&url)
            .header("Origin", &s.url)
            .json(&json!({"name": "laptop"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED);
        let created: Value = resp.json().await.unwrap();
        let secret = created["token"].as_str().expect("shown once").to_string();
        let tid = id(&created);
        assert_eq!(created["userId"], admin.as_str());
        let event = one_event(s, "system.api_token.create", &tid).await;
        assert_eq!(event["actor"]["id"], admin.as_str());

        let listed: Value = b.get(&url).send().await.unwrap().json().await.unwrap();
        assert!(
            listed
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["id"] == tid.as_str()),
            "{listed}"
        );
        let (status, _) = s
            .call_as(&secret, Method::GET, "/api/v1/api-tokens/current", None)
            .await;
        assert_eq!(status, StatusCode::OK, "the new token works");

        let no_origin = b.delete(format!("{url}/{tid}")).send().await.unwrap();
        assert_eq!(no_origin.status(), StatusCode::FORBIDDEN);
        let resp = b
            .delete(format!("{url}/{tid}"))
            .header("Origin", &s.url)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        let (status, _) = s
            .call_as(&secret, Method::GET, "/api/v1/api-tokens/current", None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // The cookie is for API tokens only; the rest of the admin API takes a token.
        let users = b
            .get(format!("{}/api/v1/users", s.url))
            .send()
            .await
            .unwrap();
        assert_eq!(users.status(), StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test]
async fn a_non_admins_session_cannot_use_the_admin_api() {
    on_every_backend(async |s| {
        user_with_password(s, "quinn@example.com").await;
        let b = browser();
        sign_in(&b, s, "quinn@example.com").await;
        let url = format!("{}/api/v1/api-tokens", s.url);
        let list = b.get(&url).send().await.unwrap();
        assert_eq!(list.status(), StatusCode::FORBIDDEN);
        let create = b
            .post(&url)
            .header("Origin", &s.url)
            .json(&json!({"name": "mine"}))
            .send()
            .await
            .unwrap();
        assert_eq!(create.status(), StatusCode::FORBIDDEN);
        let sessions = b
            .get(format!("{}/api/v1/users/quinn@example.com/sessions", s.url))
            .send()
            .await
            .unwrap();
        assert_eq!(sessions.status(), StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test]
async fn suspending_or_deactivating_ends_sessions_and_tokens_in_the_same_transaction() {
    on_every_backend(async |s| {
        for (login, op) in [
            ("sue@example.com", "suspend"),
            ("dee@example.com", "deactivate"),
        ] {
            let uid = user_with_password(s, login).await;
            let app = create_app(s, &format!("App for {op}")).await;
            let tokens = issue_tokens(s, &id(&app), &uid).await;
            let b = browser();
            sign_in(&b, s, login).await;
            let (status, _) = s
                .post(&format!("/api/v1/users/{uid}/lifecycle/{op}"), json!({}))
                .await;
            assert_eq!(status, StatusCode::OK);
            assert!(!signed_in(&b, s).await);
            assert_eq!(revoked(s, &tokens).await, (true, true));
            let (_, listed) = s.get(&format!("/api/v1/users/{uid}/sessions")).await;
            assert_eq!(
                listed["sessions"].as_array().map(Vec::len),
                Some(0),
                "{listed}"
            );
            let change = one_event(s, &format!("user.lifecycle.{op}"), &uid).await;
            let ended = one_event(s, "user.session.end", &uid).await;
            assert_eq!(ended["debugContext"]["debugData"]["reason"], "LIFECYCLE");
            assert_eq!(ended["transaction"]["id"], change["transaction"]["id"]);
            if op == "suspend" {
                // Unsuspending does not bring the old session back.
                let (status, _) = s
                    .post(
                        &format!("/api/v1/users/{uid}/lifecycle/unsuspend"),
                        json!({}),
                    )
                    .await;
                assert_eq!(status, StatusCode::OK);
                assert!(!signed_in(&b, s).await);
            }
        }
    })
    .await;
}
