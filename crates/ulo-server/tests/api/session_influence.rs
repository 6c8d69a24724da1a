//! Trusted proxies and session influence over HTTP: a forged `X-Forwarded-For` from an
//! untrusted peer is ignored and believed from a trusted one; a session cookie or refresh token
//! used from another network or client family is one MEDIUM detection per new context, never
//! one for the same network and client; modes off and monitor; exempt ranges.

use reqwest::StatusCode;
use reqwest::header::{COOKIE, HeaderMap, HeaderValue, USER_AGENT};
use serde_json::Value;
use ulo_core::session_influence::Mode;
use ulo_testkit::{Database, TestServer, backends};

use crate::oauth2::{basic, post_form, signed_in_user, tokens};
use crate::signin::{PASSWORD, post_login, sessions_of, user_with_password};
use crate::support::*;

const CHROME_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// Runs `test` on every backend with loopback as a trusted proxy (every test request comes from
/// it, so `X-Forwarded-For` says where the client is), `mode` and `exempt` ranges.
async fn with_proxy(mode: Mode, exempt: &str, test: impl AsyncFn(&TestServer)) {
    for backend in backends() {
        let db = Database::new(backend).await.expect("database");
        let s = TestServer::start_configured(
            db,
            std::sync::Arc::new(ulo_server::clock::SystemClock),
            |o| {
                o.trusted_proxies = "127.0.0.0/8, ::1".parse().unwrap();
                o.session_influence.mode = mode;
                o.session_influence.exempt = exempt.parse().unwrap();
            },
        )
        .await
        .expect("start");
        let outcome =
            futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(test(&s))).await;
        s.stop().await;
        if let Err(panic) = outcome {
            eprintln!("the test failed on {backend:?}");
            std::panic::resume_unwind(panic);
        }
    }
}

/// A browser whose requests say they come from `ip` (through the trusted proxy).
fn browser_at(ip: &str) -> reqwest::Client {
    let mut h = HeaderMap::new();
    h.insert("x-forwarded-for", HeaderValue::from_str(ip).unwrap());
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(CHROME_MAC)
        .default_headers(h)
        .build()
        .unwrap()
}

/// Signs `login` in from `ip` with Chrome on macOS; answers the cookie (`ulo_session=…`).
async fn sign_in_at(s: &TestServer, login: &str, ip: &str) -> String {
    let b = browser_at(ip);
    let a = post_login(&b, s, &[("username", login), ("password", PASSWORD)]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "sign in: {}", a.body);
    let set = a.session_cookie().expect("a session cookie");
    set.split(';').next().unwrap().to_string()
}

/// Uses the session cookie from `ip` with `ua`.
async fn use_cookie(s: &TestServer, cookie: &str, ip: &str, ua: &str) {
    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/login/done", s.url))
        .header(COOKIE, cookie)
        .header("x-forwarded-for", ip)
        .header(USER_AGENT, ua)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success() || resp.status().is_redirection());
}

/// The user's active detections of the session-influence type.
async fn influence_detections(s: &TestServer, uid: &str) -> Vec<Value> {
    let (status, risk) = s.get(&format!("/api/v1/users/{uid}/risk")).await;
    assert_eq!(status, StatusCode::OK, "{risk}");
    risk["detections"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|d| d["type"] == "SESSION_INFLUENCED_USER_RISK")
        .collect()
}

#[tokio::test]
async fn a_forged_forwarded_for_from_an_untrusted_peer_is_ignored() {
    on_every_backend(async |s| {
        let uid = user_with_password(s, "forger@example.com").await;
        sign_in_at(s, "forger@example.com", "203.0.113.5").await;
        let sessions = sessions_of(s, &uid).await;
        assert_eq!(
            sessions["sessions"][0]["ipAddress"], "127.0.0.1",
            "{sessions}"
        );
        let start = &events(s, "user.session.start", &uid).await[0];
        assert_eq!(start["client"]["ipAddress"], "127.0.0.1", "{start}");
    })
    .await;
}

#[tokio::test]
async fn a_trusted_proxy_s_forwarded_for_names_the_client() {
    with_proxy(Mode::On, "", async |s| {
        let uid = user_with_password(s, "proxied@example.com").await;
        // The left part is whatever the client wrote; the proxy appended the real peer.
        sign_in_at(s, "proxied@example.com", "1.1.1.1, 203.0.113.5").await;
        let sessions = sessions_of(s, &uid).await;
        assert_eq!(
            sessions["sessions"][0]["ipAddress"], "203.0.113.5",
            "{sessions}"
        );
        let start = &events(s, "user.session.start", &uid).await[0];
        assert_eq!(start["client"]["ipAddress"], "203.0.113.5", "{start}");
    })
    .await;
}

#[tokio::test]
async fn a_session_used_from_another_network_or_client_is_one_detection_per_context() {
    with_proxy(Mode::On, "", async |s| {
        let uid = user_with_password(s, "roamer@example.com").await;
        let cookie = sign_in_at(s, "roamer@example.com", "203.0.113.5").await;
        // Same network (/24), same client family (a newer Chrome): nothing.
        use_cookie(s, &cookie, "203.0.113.77", CHROME_MAC).await;
        use_cookie(
            s,
            &cookie,
            "203.0.113.5",
            &CHROME_MAC.replace("131.0.0.0", "132.0.0.0"),
        )
        .await;
        assert!(influence_detections(s, &uid).await.is_empty());
        // Another network: one detection, and only one however often.
        use_cookie(s, &cookie, "198.51.100.9", CHROME_MAC).await;
        use_cookie(s, &cookie, "198.51.100.10", CHROME_MAC).await;
        let found = influence_detections(s, &uid).await;
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0]["level"], "MEDIUM");
        let reasons = found[0]["reasons"].to_string();
        assert!(reasons.contains("203.0.113.0/24"), "{reasons}");
        assert!(reasons.contains("198.51.100.0/24"), "{reasons}");
        assert!(!reasons.contains(cookie.trim_start_matches("ulo_session=")));
        // Another client family on the first network: a second one.
        use_cookie(s, &cookie, "203.0.113.5", "curl/8.5.0").await;
        use_cookie(s, &cookie, "203.0.113.6", "curl/8.6.0").await;
        let found = influence_detections(s, &uid).await;
        assert_eq!(found.len(), 2, "{found:?}");
        let reasons = found[0]["reasons"].to_string();
        assert!(
            reasons.contains("Chrome on macOS") && reasons.contains("curl"),
            "{reasons}"
        );
        let (_, risk) = s.get(&format!("/api/v1/users/{uid}/risk")).await;
        assert_eq!(risk["riskLevel"], "MEDIUM");
        assert_eq!(
            events(s, "user.session.context_change", &uid).await.len(),
            2
        );
    })
    .await;
}

#[tokio::test]
async fn monitor_logs_without_a_detection_and_off_does_nothing() {
    for mode in [Mode::Monitor, Mode::Off] {
        with_proxy(mode, "", async |s| {
            let uid = user_with_password(s, "watched@example.com").await;
            let cookie = sign_in_at(s, "watched@example.com", "203.0.113.5").await;
            use_cookie(s, &cookie, "198.51.100.9", "curl/8.5.0").await;
            assert!(influence_detections(s, &uid).await.is_empty());
            let logged = events(s, "user.session.context_change", &uid).await;
            if mode == Mode::Monitor {
                assert_eq!(logged.len(), 1, "{logged:?}");
                assert_eq!(logged[0]["debugContext"]["debugData"]["mode"], "monitor");
            } else {
                assert!(logged.is_empty(), "{logged:?}");
            }
        })
        .await;
    }
}

#[tokio::test]
async fn an_exempt_range_never_counts_as_a_change_of_network() {
    with_proxy(Mode::On, "10.0.0.0/8, 100.64.0.0/10", async |s| {
        let uid = user_with_password(s, "office@example.com").await;
        let cookie = sign_in_at(s, "office@example.com", "10.1.2.3").await;
        use_cookie(s, &cookie, "10.200.0.4", CHROME_MAC).await;
        use_cookie(s, &cookie, "100.64.9.9", CHROME_MAC).await;
        assert!(influence_detections(s, &uid).await.is_empty());
        // Out of the exempt ranges it counts.
        use_cookie(s, &cookie, "198.51.100.9", CHROME_MAC).await;
        assert_eq!(influence_detections(s, &uid).await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_refresh_token_family_used_from_another_network_is_a_detection() {
    with_proxy(Mode::On, "", async |s| {
        let (rp, uid, cookie, _) = signed_in_user(s, "native@example.com").await;
        let t = tokens(s, &rp, &cookie, "openid offline_access").await;
        let mut refresh = t["refresh_token"]
            .as_str()
            .expect("refresh token")
            .to_string();
        // The family began at the code exchange (loopback, no user agent): a refresh from
        // there is nothing.
        let (status, _, body) = post_form(
            s,
            "/oauth2/v1/token",
            basic(&rp),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        refresh = body["refresh_token"].as_str().unwrap().to_string();
        assert!(influence_detections(s, &uid).await.is_empty());
        // From another network: one detection; the refresh still works (the default rule
        // only logs).
        let (id, secret) = (&rp.client_id, rp.secret.as_deref().unwrap());
        let resp = anonymous(s, reqwest::Method::POST, "/oauth2/v1/token")
            .basic_auth(id, Some(secret))
            .header("x-forwarded-for", "198.51.100.9")
            .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let found = influence_detections(s, &uid).await;
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0]["reasons"]
                .to_string()
                .contains("refresh-token family")
        );
        assert!(!found[0]["reasons"].to_string().contains(&refresh));
    })
    .await;
}

/// Adds a rule that logs the person out of ulo on a session-influence detection.
async fn logout_on_influence(s: &TestServer) {
    let (status, _, list) = get_with(s, "/api/v1/policies", &[("type", "ENTITY_RISK")]).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let pid = id(&list[0]);
    let (status, body) = s
        .post(
            &format!("/api/v1/policies/{pid}/rules"),
            serde_json::json!({
                "type": "ENTITY_RISK", "name": "Log out on influence", "priority": 1,
                "conditions": {"riskDetectionTypes": {"include": ["SESSION_INFLUENCED_USER_RISK"]},
                               "entityRisk": {"level": "ANY"}},
                "actions": {"entityRisk": {"actions": [{"action": "TERMINATE_ALL_SESSIONS",
                    "slo": {"appSelectionMode": "NONE", "appInstanceIds": []}}]}}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_rule_on_influence_ends_the_session_and_refuses_the_refresh_at_once() {
    with_proxy(Mode::On, "", async |s| {
        logout_on_influence(s).await;
        // A cookie used from another network: the same request already finds it ended.
        let uid = user_with_password(s, "stolen@example.com").await;
        let cookie = sign_in_at(s, "stolen@example.com", "203.0.113.5").await;
        let page = reqwest::Client::new()
            .get(format!("{}/login/done", s.url))
            .header(COOKIE, &cookie)
            .header("x-forwarded-for", "198.51.100.9")
            .header(USER_AGENT, CHROME_MAC)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!page.contains("You are signed in as"), "{page}");
        assert_eq!(influence_detections(s, &uid).await.len(), 1);
        let sessions = sessions_of(s, &uid).await;
        assert!(
            sessions["sessions"].as_array().unwrap().is_empty(),
            "{sessions}"
        );

        // A refresh token used from another network: refused, its tokens revoked.
        let (rp, uid, cookie, _) = signed_in_user(s, "native@example.com").await;
        let t = tokens(s, &rp, &cookie, "openid offline_access").await;
        let refresh = t["refresh_token"].as_str().unwrap().to_string();
        let (id, secret) = (&rp.client_id, rp.secret.as_deref().unwrap());
        let resp = anonymous(s, reqwest::Method::POST, "/oauth2/v1/token")
            .basic_auth(id, Some(secret))
            .header("x-forwarded-for", "198.51.100.9")
            .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "invalid_grant", "{body}");
        assert_eq!(influence_detections(s, &uid).await.len(), 1);
        let i = crate::oauth2::introspect(s, &rp, &refresh).await;
        assert_eq!(i["active"], false, "{i}");
    })
    .await;
}
