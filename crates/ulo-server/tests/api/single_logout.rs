//! Single logout end to end: a person signs in through the real sign-in form and authorize flow
//! (a cookie jar), two back-channel apps get codes in that session; each way the session ends —
//! RP-initiated logout, the person's own sign-out, an admin ending it, idle timeout on a driven
//! clock, an admin clearing all sessions — delivers a valid OIDC Back-Channel Logout token
//! (verified against ulo's JWKS with a JWT library that is not ulo's code) to both, and nothing
//! to an app the session did not sign in to.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, resume_unwind};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use futures::FutureExt;
use reqwest::header::LOCATION;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ulo_core::clock::{Clock, ManualClock};
use ulo_server::app::Options;
use ulo_testkit::{Database, TestServer, backends, wait_for};

use crate::logout::{FakeApps, final_receipt, receipt, target, verify};
use crate::oauth2::{Auth, POST_LOGOUT_URI, REDIRECT_URI, param, pkce_pair, post_form};
use crate::signin::{answer, browser, sign_in, signed_in, user_with_password};
use crate::support::*;

const WAIT: StdDuration = StdDuration::from_secs(30);
const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// A back-channel app registered through the admin API, at `<fake apps>/<name>`.
struct App {
    name: String,
    id: String,
    client_id: String,
    secret: String,
}

/// Creates an OIDC app whose logout is `oidc-backchannel` at `<base>/<name>`, assigned to `user`.
async fn backchannel_app(
    s: &TestServer,
    base: &str,
    name: &str,
    session_required: bool,
    user: &str,
) -> App {
    let (status, app) = s
        .post(
            "/api/v1/apps",
            json!({
                "label": name, "type": "oidc",
                "oidc": {"redirectUris": [REDIRECT_URI], "postLogoutRedirectUris": [POST_LOGOUT_URI],
                         "tokenEndpointAuthMethod": "client_secret_basic",
                         "backchannelLogoutSessionRequired": session_required},
                "logout": {"enabled": true, "protocol": "oidc-backchannel",
                           "endpoint": format!("{base}/{name}"), "subjectFormat": "email"}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{app}");
    let (status, body) = s
        .post(
            &format!("/api/v1/apps/{}/users", id(&app)),
            json!({"id": user}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    App {
        name: name.into(),
        id: id(&app),
        client_id: app["oidc"]["clientId"].as_str().unwrap().into(),
        secret: app["oidc"]["clientSecret"].as_str().unwrap().into(),
    }
}

/// Runs the code flow for `app` in the browser's session; answers the ID token.
async fn sign_in_to(s: &TestServer, b: &reqwest::Client, app: &App) -> String {
    let (verifier, challenge) = pkce_pair();
    let resp = b
        .get(format!("{}/oauth2/v1/authorize", s.url))
        .query(&[
            ("client_id", app.client_id.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "st"),
            ("nonce", "n"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .expect("authorize");
    assert_eq!(resp.status(), StatusCode::FOUND);
    let location = resp.headers()[LOCATION].to_str().unwrap().to_string();
    let code = param(&location, "code").unwrap_or_else(|| panic!("no code in {location}"));
    let (status, _, tokens) = post_form(
        s,
        "/oauth2/v1/token",
        Auth::Basic(&app.client_id, &app.secret),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens["id_token"].as_str().unwrap().to_string()
}

/// A person signed in through the form, with two back-channel apps (one requiring `sid`)
/// signed in to in that session, and a third assigned back-channel app never signed in to.
struct Scene {
    fake: FakeApps,
    uid: String,
    browser: reqwest::Client,
    apps: [App; 2],
    untouched: App,
    /// The `sid` of the ID tokens of this session.
    sid: String,
    /// Wiki's ID token.
    id_token: String,
}

async fn scene(s: &TestServer, login: &str) -> Scene {
    let (fake, base) = FakeApps::start().await;
    let uid = user_with_password(s, login).await;
    let wiki = backchannel_app(s, &base, "wiki", true, &uid).await;
    let chat = backchannel_app(s, &base, "chat", false, &uid).await;
    let untouched = backchannel_app(s, &base, "mail", true, &uid).await;
    fake.script("chat", &[200]);
    let b = browser();
    sign_in(&b, s, login).await;
    let id_token = sign_in_to(s, &b, &wiki).await;
    let chat_token = sign_in_to(s, &b, &chat).await;
    let (_, wiki_claims) = verify(s, &id_token, &wiki.client_id).await;
    let (_, chat_claims) = verify(s, &chat_token, &chat.client_id).await;
    let sid = wiki_claims["sid"]
        .as_str()
        .expect("sid in the ID token")
        .to_string();
    assert_eq!(chat_claims["sid"], sid.as_str(), "one session, one sid");
    Scene {
        fake,
        uid,
        browser: b,
        apps: [wiki, chat],
        untouched,
        sid,
        id_token,
    }
}

/// The logout tokens `app` received, each verified: signature against ulo's JWKS, `iss`, `aud` =
/// the client id, `typ: logout+jwt`, the event, `sub`, no `nonce`, a short life.
async fn logout_tokens(s: &TestServer, fake: &FakeApps, app: &App, uid: &str) -> Vec<Value> {
    let mut tokens = Vec::new();
    for got in fake.received(&app.name) {
        assert_eq!(
            got.headers["content-type"].to_str().unwrap(),
            "application/x-www-form-urlencoded"
        );
        let form: HashMap<String, String> = url::form_urlencoded::parse(&got.body)
            .into_owned()
            .collect();
        let (header, claims) = verify(s, &form["logout_token"], &app.client_id).await;
        assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
        assert_eq!(claims["aud"], app.client_id.as_str());
        assert_eq!(claims["sub"], uid);
        assert_eq!(claims["events"], json!({ EVENT: {} }));
        assert!(claims.get("nonce").is_none(), "{claims}");
        assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
        let life = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
        assert!((1..=300).contains(&life), "{claims}");
        tokens.push(claims);
    }
    tokens
}

/// Waits until both apps got their token, then checks each names the session, that the app the
/// session did not sign in to got nothing, and the receipt and System Log of the single logout;
/// answers the `user.session.end` event.
async fn assert_single_logout(s: &TestServer, sc: &Scene, reason: &str) -> Value {
    let end = wait_for("the user.session.end event", WAIT, || async {
        events(s, "user.session.end", &sc.uid).await.pop()
    })
    .await;
    let debug = &end["debugContext"]["debugData"];
    assert_eq!(debug["sessionId"], sc.sid.as_str(), "{end}");
    assert_eq!(debug["reason"], reason, "{end}");
    let logout = debug["logoutId"].as_str().expect("logoutId").to_string();
    let done = final_receipt(s, &logout).await;
    assert_eq!(done["status"], "COMPLETED", "{done:#}");
    assert_eq!(done["scope"], "SESSION_END");
    assert_eq!(done["reason"], reason);
    assert_eq!(done["targets"].as_array().unwrap().len(), 3, "{done:#}");
    assert_eq!(done["targets"][0]["type"], "ULO_SESSIONS");
    for app in &sc.apps {
        let t = target(&done, &app.id);
        assert_eq!(t["status"], "SUCCEEDED", "{t}");
        assert_eq!(t["protocol"], "oidc-backchannel");
        let tokens = logout_tokens(s, &sc.fake, app, &sc.uid).await;
        assert_eq!(tokens.len(), 1, "{} got {tokens:?}", app.name);
        assert_eq!(tokens[0]["sid"], sc.sid.as_str(), "{}", app.name);
    }
    assert!(
        sc.fake.received(&sc.untouched.name).is_empty(),
        "an app the session did not sign in to hears nothing"
    );
    // The end, the deliveries and the completion are one transaction in the System Log.
    let tx = done["transactionId"].as_str().unwrap();
    assert_eq!(end["transaction"]["id"], tx);
    let filter = format!("transaction.id eq \"{tx}\"");
    let (status, _, logged) =
        get_with(s, "/api/v1/logs", &[("filter", &filter), ("limit", "1000")]).await;
    assert_eq!(status, StatusCode::OK, "{logged}");
    let count = |t: &str| {
        logged
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["eventType"] == t)
            .count()
    };
    assert_eq!(count("user.session.end"), 1, "{logged:#}");
    assert_eq!(count("app.universal_logout.delivery"), 2, "{logged:#}");
    assert_eq!(count("user.session.universal_logout"), 1, "{logged:#}");
    let completed = logged
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["eventType"] == "user.session.universal_logout")
        .unwrap();
    assert!(
        completed["displayMessage"]
            .as_str()
            .unwrap()
            .starts_with("Single logout of"),
        "{completed}"
    );
    end
}

/// Runs `test` on every backend against a server started with `configure` on `clock`.
async fn on_every_backend_with(
    clock: impl Fn() -> Arc<dyn Clock>,
    configure: impl Fn(&mut Options),
    test: impl AsyncFn(&TestServer),
) {
    for backend in backends() {
        let db = Database::new(backend).await.expect("database");
        let s = TestServer::start_configured(db, clock(), &configure)
            .await
            .expect("start");
        let outcome = AssertUnwindSafe(test(&s)).catch_unwind().await;
        s.stop().await;
        if let Err(panic) = outcome {
            eprintln!("the test failed on {backend:?}");
            resume_unwind(panic);
        }
    }
}

#[tokio::test]
async fn rp_initiated_logout_sends_logout_tokens_to_every_app_the_session_signed_in_to() {
    on_every_backend(async |s| {
        let sc = scene(s, "rp@example.com").await;
        let resp = sc
            .browser
            .get(format!("{}/oauth2/v1/logout", s.url))
            .query(&[
                ("id_token_hint", sc.id_token.as_str()),
                ("post_logout_redirect_uri", POST_LOGOUT_URI),
            ])
            .send()
            .await
            .expect("logout");
        assert_eq!(resp.status(), StatusCode::FOUND);
        let end = assert_single_logout(s, &sc, "LOGOUT").await;
        assert_eq!(end["debugContext"]["debugData"]["initiatedBy"], "rp");
        assert_eq!(end["actor"]["id"], sc.uid.as_str());
    })
    .await;
}

#[tokio::test]
async fn the_persons_own_sign_out_sends_logout_tokens() {
    on_every_backend(async |s| {
        let sc = scene(s, "own@example.com").await;
        let page = answer(sc.browser.get(format!("{}/oauth2/v1/logout", s.url))).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Sign out"));
        // What the page's form posts.
        let csrf = page.hidden("csrf").expect("the form's token");
        let resp = sc
            .browser
            .post(format!("{}/oauth2/v1/logout", s.url))
            .form(&[("ulo_confirm", "yes"), ("csrf", csrf.as_str())])
            .send()
            .await
            .expect("sign out");
        assert_eq!(resp.status(), StatusCode::OK);
        let end = assert_single_logout(s, &sc, "LOGOUT").await;
        assert_eq!(end["debugContext"]["debugData"]["initiatedBy"], "user");
    })
    .await;
}

#[tokio::test]
async fn a_link_or_another_sites_form_does_not_sign_the_person_out() {
    on_every_backend(async |s| {
        let sc = scene(s, "forced@example.com").await;
        let logout = format!("{}/oauth2/v1/logout", s.url);
        let page = answer(sc.browser.get(&logout)).await;
        let csrf = page.hidden("csrf").expect("the form's token");
        let attempts = [
            // A link (a top-level GET carries the SameSite=Lax cookie).
            sc.browser.get(format!("{logout}?ulo_confirm=yes")),
            // A form post without the page's token.
            sc.browser.post(&logout).form(&[("ulo_confirm", "yes")]),
            // A token of another form or browser.
            sc.browser
                .post(&logout)
                .form(&[("ulo_confirm", "yes"), ("csrf", "0".repeat(64).as_str())]),
            // The right token, from another site.
            sc.browser
                .post(&logout)
                .header("Sec-Fetch-Site", "cross-site")
                .form(&[("ulo_confirm", "yes"), ("csrf", csrf.as_str())]),
            sc.browser
                .post(&logout)
                .header("Origin", "http://evil.example.com")
                .form(&[("ulo_confirm", "yes"), ("csrf", csrf.as_str())]),
        ];
        for req in attempts {
            let a = answer(req).await;
            assert_eq!(a.status, StatusCode::OK);
            assert!(
                a.body.contains("Sign out of ulo?"),
                "asks again: {}",
                a.body
            );
            assert!(signed_in(&sc.browser, s).await, "the person was signed out");
        }
        let ends = events(s, "user.session.end", &sc.uid).await;
        assert!(ends.is_empty(), "{ends:#?}");
        assert!(sc.apps.iter().all(|a| sc.fake.received(&a.name).is_empty()));
    })
    .await;
}

#[tokio::test]
async fn an_admin_ending_one_session_sends_logout_tokens_and_unknown_sessions_are_404() {
    on_every_backend(async |s| {
        let sc = scene(s, "admin-end@example.com").await;
        let other = create_user(s, "someone-else@example.com").await;
        // Another person's path does not reach this session.
        let (status, body) = s
            .delete(&format!("/api/v1/users/{}/sessions/{}", id(&other), sc.sid))
            .await;
        assert_error((status, &body), StatusCode::NOT_FOUND, "E0000007");
        assert!(sc.fake.received("wiki").is_empty());

        let (status, body) = s.delete(&format!("/api/v1/sessions/{}", sc.sid)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let end = assert_single_logout(s, &sc, "ADMIN_END").await;
        assert_eq!(end["actor"]["alternateId"], ADMIN_LOGIN);
        assert!(!crate::signin::signed_in(&sc.browser, s).await);

        // Ended already, unknown, not an id: 404 with a sentence, and nothing sent again.
        for path in [
            format!("/api/v1/sessions/{}", sc.sid),
            format!("/api/v1/users/{}/sessions/{}", sc.uid, sc.sid),
            format!("/api/v1/sessions/{}", ulo_core::ids::SessionId::new()),
            "/api/v1/sessions/not-a-session".to_string(),
        ] {
            let (status, body) = s.delete(&path).await;
            assert_error((status, &body), StatusCode::NOT_FOUND, "E0000007");
            assert!(
                body["errorSummary"].as_str().unwrap().contains("session"),
                "{body}"
            );
        }
        assert_eq!(sc.fake.received("wiki").len(), 1);

        // The person's own path works too, and read-only admins cannot end sessions.
        let b = browser();
        sign_in(&b, s, "admin-end@example.com").await;
        let sid = crate::signin::sessions_of(s, &sc.uid).await["sessions"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, ro) = read_only_admin(s, "ro@example.com").await;
        let path = format!("/api/v1/users/{}/sessions/{sid}", sc.uid);
        let (status, _) = s.call_as(&ro, Method::DELETE, &path, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, body) = s.delete(&path).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        assert!(!crate::signin::signed_in(&b, s).await);
    })
    .await;
}

#[tokio::test]
async fn an_idle_session_is_ended_by_the_sweep_with_its_single_logout() {
    let clock = Arc::new(ManualClock::new(ulo_testkit::now()));
    let driven = clock.clone();
    on_every_backend_with(
        move || {
            driven.set(ulo_testkit::now());
            driven.clone() as Arc<dyn Clock>
        },
        |_| {},
        async |s| {
            let sc = scene(s, "idle@example.com").await;
            // Just before the idle timeout nothing happens…
            clock.advance(ulo_core::session::IDLE_TIMEOUT - time::Duration::seconds(1));
            let live = crate::signin::sessions_of(s, &sc.uid).await;
            assert_eq!(live["sessions"].as_array().unwrap().len(), 1, "{live}");
            assert!(events(s, "user.session.end", &sc.uid).await.is_empty());
            // …and once it passes, the sweep ends the session and tells both apps.
            clock.advance(time::Duration::seconds(2));
            let end = assert_single_logout(s, &sc, "IDLE_TIMEOUT").await;
            assert_eq!(end["actor"]["type"], "SystemPrincipal", "{end}");
            assert_eq!(end["displayMessage"], "User session expired");
            let live = crate::signin::sessions_of(s, &sc.uid).await;
            assert!(live["sessions"].as_array().unwrap().is_empty(), "{live}");
        },
    )
    .await;
}

#[tokio::test]
async fn a_sign_in_that_replaces_the_session_ends_it_at_its_apps() {
    on_every_backend(async |s| {
        let sc = scene(s, "again@example.com").await;
        // Signing in again in the same browser replaces the session: the apps hold its sid.
        sign_in(&sc.browser, s, "again@example.com").await;
        let end = assert_single_logout(s, &sc, "REPLACED").await;
        let started = events(s, "user.session.start", &sc.uid)
            .await
            .pop()
            .unwrap();
        assert_eq!(started["transaction"]["id"], end["transaction"]["id"]);
        assert!(crate::signin::signed_in(&sc.browser, s).await);
    })
    .await;
}

#[tokio::test]
async fn a_dead_app_is_retried_on_the_queue_and_does_not_hold_up_the_other() {
    on_every_backend(async |s| {
        let sc = scene(s, "retry@example.com").await;
        sc.fake.script("wiki", &[503, 204]);
        let (status, _) = s.delete(&format!("/api/v1/sessions/{}", sc.sid)).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let end = wait_for("the user.session.end event", WAIT, || async {
            events(s, "user.session.end", &sc.uid).await.pop()
        })
        .await;
        let logout = end["debugContext"]["debugData"]["logoutId"]
            .as_str()
            .unwrap()
            .to_string();
        let done = final_receipt(s, &logout).await;
        let (wiki, chat) = (target(&done, &sc.apps[0].id), target(&done, &sc.apps[1].id));
        assert_eq!(chat["status"], "SUCCEEDED");
        assert_eq!(chat["attempts"], 1);
        assert_eq!(wiki["status"], "SUCCEEDED", "{wiki}");
        assert_eq!(wiki["attempts"], 2, "retried after the 503: {wiki}");
        let tokens = logout_tokens(s, &sc.fake, &sc.apps[0], &sc.uid).await;
        assert_eq!(tokens.len(), 2);
        assert!(tokens.iter().all(|t| t["sid"] == sc.sid.as_str()));
        assert_ne!(tokens[0]["jti"], tokens[1]["jti"], "each attempt a new jti");
        let failed = events(s, "app.universal_logout.delivery", &sc.apps[0].id).await;
        assert_eq!(failed.len(), 2);
        assert_eq!(failed[0]["outcome"]["result"], "FAILURE");
        assert_eq!(failed[0]["debugContext"]["debugData"]["httpStatus"], 503);
    })
    .await;
}

#[tokio::test]
async fn clearing_sessions_tells_each_app_once_with_or_without_universal_logout() {
    on_every_backend(async |s| {
        // Without Universal Logout: a single-logout receipt for the cleared session.
        let sc = scene(s, "clear@example.com").await;
        let (status, _) = s
            .delete(&format!("/api/v1/users/{}/sessions", sc.uid))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_single_logout(s, &sc, "ADMIN_CLEAR").await;

        // With Universal Logout: the apps it reaches anyway get exactly one token; an app the
        // session signed in to that the logout's scope does not reach (unassigned since) is
        // added to the same receipt.
        let sc = scene(s, "ul@example.com").await;
        let (status, body) = s
            .call(
                Method::DELETE,
                &format!("/api/v1/apps/{}/users/{}", sc.apps[1].id, sc.uid),
                None,
            )
            .await;
        assert!(status.is_success(), "{body}");
        let (status, started) = s
            .delete(&format!(
                "/api/v1/users/{}/sessions?oauthTokens=true&universalLogout=true",
                sc.uid
            ))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{started}");
        let done = final_receipt(s, started["id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "COMPLETED", "{done:#}");
        let apps: Vec<&Value> = done["targets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["type"] == "APP")
            .collect();
        assert_eq!(apps.len(), 3, "wiki, mail (assigned) and chat: {done:#}");
        let chat = target(&done, &sc.apps[1].id);
        assert_eq!(chat["status"], "SUCCEEDED");
        assert_eq!(chat["reason"], "signed in to during the ended session");
        for app in &sc.apps {
            let tokens = logout_tokens(s, &sc.fake, app, &sc.uid).await;
            assert_eq!(tokens.len(), 1, "{} got {tokens:?}", app.name);
            assert_eq!(tokens[0]["sid"], sc.sid.as_str());
        }
        // mail was never signed in to, but Universal Logout reaches every assigned app.
        assert_eq!(sc.fake.received("mail").len(), 1);
        let ends = events(s, "user.session.end", &sc.uid).await;
        assert_eq!(ends.len(), 1);
        assert!(
            ends[0]["debugContext"]["debugData"]
                .get("logoutId")
                .is_none()
        );
        assert_eq!(
            receipt(s, started["id"].as_str().unwrap()).await["transactionId"],
            ends[0]["transaction"]["id"]
        );
    })
    .await;
}

#[tokio::test]
async fn with_single_logout_to_all_apps_a_sign_out_also_reaches_the_other_logout_enabled_apps() {
    on_every_backend_with(
        || Arc::new(ulo_server::clock::SystemClock) as Arc<dyn Clock>,
        |o| o.single_logout_all_apps = true,
        async |s| {
            let sc = scene(s, "all@example.com").await;
            let (status, body) = s.delete(&format!("/api/v1/sessions/{}", sc.sid)).await;
            assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
            let end = wait_for("the user.session.end event", WAIT, || async {
                events(s, "user.session.end", &sc.uid).await.pop()
            })
            .await;
            let logout = end["debugContext"]["debugData"]["logoutId"]
                .as_str()
                .unwrap()
                .to_string();
            let done = final_receipt(s, &logout).await;
            assert_eq!(done["status"], "COMPLETED", "{done:#}");
            let mail = target(&done, &sc.untouched.id);
            assert_eq!(mail["status"], "SUCCEEDED");
            // mail requires `sid`: it is told the ended session's.
            let tokens = logout_tokens(s, &sc.fake, &sc.untouched, &sc.uid).await;
            assert_eq!(tokens.len(), 1);
            assert_eq!(tokens[0]["sid"], sc.sid.as_str());
            for app in &sc.apps {
                assert_eq!(sc.fake.received(&app.name).len(), 1, "{}", app.name);
            }
        },
    )
    .await;
}
