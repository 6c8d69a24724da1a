//! ulo's pages in a real browser (headless Chromium through chromedriver): a person signs in
//! with a password, with a password and a TOTP code, through an app's OIDC code + PKCE flow,
//! and sets up TOTP on the account page; another site's forms posting to ulo are refused.
//! HTTP libraries send no `Origin` or `Sec-Fetch-Site`; a browser does, which is what these
//! tests are for. Screenshots of every step: `target/screenshots/<test>-<backend>/`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use ulo_testkit::TestServer;
use ulo_testkit::browser::{Browser, Site};

use crate::oauth2::{assign, pkce_pair, register};
use crate::signin::{PASSWORD, sessions_of, starts, totp_code, unix_now, user_with_password};
use crate::support::on_every_backend;

/// A browser for `test` on `s`'s backend (each its own profile and chromedriver).
pub async fn browser(s: &TestServer, test: &str) -> Browser {
    let backend = match s.db.as_ref().map(|d| d.backend) {
        Some(ulo_testkit::Backend::Postgres) => "postgres",
        _ => "sqlite",
    };
    let name = format!("{test}-{backend}");
    Browser::start(&name)
        .await
        .unwrap_or_else(|e| panic!("start a browser: {e:#}"))
}

/// Types `login`'s credentials into ulo's sign-in form (the browser is on it) and submits.
pub async fn submit_password(b: &Browser, login: &str) {
    b.wait_for_text("Sign in").await.expect("the sign-in page");
    b.fill("username", login).await.expect("username");
    b.fill("password", PASSWORD).await.expect("password");
    b.screenshot("sign-in-form-filled")
        .await
        .expect("screenshot");
    b.click_button("Sign in").await.expect("submit");
}

/// Whether the browser holds a ulo session cookie.
async fn has_session_cookie(b: &Browser) -> bool {
    b.cookies()
        .await
        .expect("cookies")
        .iter()
        .any(|(n, v)| n == "ulo_session" && !v.is_empty())
}

/// Enrolls and activates TOTP for `uid` through the admin API; answers the secret.
pub async fn totp_secret(s: &TestServer, uid: &str) -> String {
    let factor = format!("/api/v1/users/{uid}/factors/totp");
    let (status, enrolled) = s.post(&factor, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{enrolled}");
    let secret = enrolled["secret"].as_str().expect("secret").to_string();
    let (status, v) = s
        .post(
            &format!("{factor}/verify"),
            json!({"passCode": totp_code(&secret, unix_now())}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    secret
}

#[tokio::test]
async fn a_person_signs_in_with_a_password_in_chromium() {
    on_every_backend(async |s| {
        let uid = user_with_password(s, "ada@example.com").await;
        let b = browser(s, "password_sign_in").await;
        b.goto(&format!("{}/login", s.url)).await.expect("open");
        b.screenshot("sign-in-page").await.expect("screenshot");
        submit_password(&b, "ada@example.com").await;
        b.wait_for_text("You are signed in as ada@example.com")
            .await
            .expect("signed in");
        b.screenshot("signed-in").await.expect("screenshot");
        assert_eq!(b.url().await.expect("url").path(), "/login/done");
        assert!(has_session_cookie(&b).await);

        let v = sessions_of(s, &uid).await;
        let list = v["sessions"].as_array().expect("sessions");
        assert_eq!(list.len(), 1, "{v}");
        assert_eq!(list[0]["amr"], json!(["pwd"]));
        assert!(
            list[0]["userAgent"]
                .as_str()
                .is_some_and(|ua| ua.contains("Chrome")),
            "the browser's user agent: {v}"
        );
        b.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_person_signs_in_with_a_password_and_a_totp_code_in_chromium() {
    on_every_backend(async |s| {
        let uid = user_with_password(s, "frank@example.com").await;
        let secret = totp_secret(s, &uid).await;
        let b = browser(s, "totp_sign_in").await;
        b.goto(&format!("{}/login", s.url)).await.expect("open");
        submit_password(&b, "frank@example.com").await;
        b.wait_for_text("Enter the 6-digit code")
            .await
            .expect("asks for the code");
        b.screenshot("code-asked").await.expect("screenshot");
        assert!(
            !has_session_cookie(&b).await,
            "not signed in before the code"
        );
        // The step after the one the activation used: each code is accepted once.
        b.fill("totp", &totp_code(&secret, unix_now() + 30))
            .await
            .expect("code");
        b.click_button("Verify").await.expect("submit the code");
        b.wait_for_text("You are signed in as frank@example.com")
            .await
            .expect("signed in");
        b.screenshot("signed-in").await.expect("screenshot");
        let v = sessions_of(s, &uid).await;
        assert_eq!(v["sessions"][0]["amr"], json!(["pwd", "otp"]), "{v}");
        b.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_person_sets_up_totp_on_the_account_page_in_chromium() {
    on_every_backend(async |s| {
        let uid = user_with_password(s, "grace@example.com").await;
        let b = browser(s, "account_totp").await;
        // Not signed in: the account page sends the browser to sign in, then back.
        b.goto(&format!("{}/account/totp", s.url))
            .await
            .expect("open");
        submit_password(&b, "grace@example.com").await;
        let secret_el = b
            .wait_for_element("#secret")
            .await
            .expect("the secret is shown");
        assert_eq!(b.url().await.expect("url").path(), "/account/totp");
        let secret = secret_el.text().await.expect("secret text");
        b.screenshot("secret-shown").await.expect("screenshot");
        b.fill("passCode", &totp_code(&secret, unix_now()))
            .await
            .expect("code");
        b.click_button("Activate").await.expect("activate");
        b.wait_for_text("Your authenticator app is set up")
            .await
            .expect("activated");
        b.screenshot("activated").await.expect("screenshot");
        let (_, v) = s.get(&format!("/api/v1/users/{uid}/factors/totp")).await;
        assert_eq!(v["status"], "ACTIVE", "{v}");
        b.close().await;
    })
    .await;
}

#[tokio::test]
async fn an_apps_oidc_code_flow_with_pkce_reaches_its_callback_in_chromium() {
    on_every_backend(async |s| {
        // The app: another origin on loopback, whose callback page just shows it was reached.
        let app = Site::start(vec![(
            "/callback",
            "<!doctype html><title>Compiler</title><h1>Compiler: back from ulo</h1>".into(),
        )])
        .await
        .expect("app site");
        let redirect_uri = format!("{}/callback", app.url);
        let uid = user_with_password(s, "hopper@example.com").await;
        let rp = register(s, "Compiler", json!({"redirectUris": [redirect_uri]})).await;
        assign(s, &rp, &uid).await;

        let (verifier, challenge) = pkce_pair();
        let mut authorize = url::Url::parse(&format!("{}/oauth2/v1/authorize", s.url)).unwrap();
        authorize
            .query_pairs_mut()
            .append_pair("client_id", &rp.client_id)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid email profile")
            .append_pair("state", "state-from-the-app")
            .append_pair("nonce", "nonce-from-the-app")
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");

        let b = browser(s, "oidc_code_flow").await;
        b.goto(authorize.as_str()).await.expect("open");
        submit_password(&b, "hopper@example.com").await;
        let back = b
            .wait_for_url("the app's callback", |u| {
                u.as_str().starts_with(&redirect_uri)
            })
            .await
            .expect("back at the app");
        b.wait_for_text("back from ulo")
            .await
            .expect("callback page");
        b.screenshot("app-callback").await.expect("screenshot");
        let param = |k: &str| {
            back.query_pairs()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.into_owned())
        };
        assert_eq!(param("state").as_deref(), Some("state-from-the-app"));
        assert_eq!(param("iss").as_deref(), Some(s.url.as_str()));
        let code = param("code").expect("a code");

        // The app exchanges the code with its verifier and checks the ID token's signature.
        let resp = reqwest::Client::new()
            .post(format!("{}/oauth2/v1/token", s.url))
            .basic_auth(&rp.client_id, rp.secret.as_deref())
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", redirect_uri.as_str()),
                ("code_verifier", verifier.as_str()),
            ])
            .send()
            .await
            .expect("token request");
        assert_eq!(resp.status(), StatusCode::OK);
        let tokens: Value = resp.json().await.expect("token JSON");
        let (status, jwks) = s.get("/oauth2/v1/keys").await;
        assert_eq!(status, StatusCode::OK);
        let (_, claims) = ulo_jose::verify_with_jwks(
            tokens["id_token"].as_str().expect("an ID token"),
            &jwks,
            &ulo_jose::VerifyOptions {
                expected_typ: Some("JWT"),
                issuer: Some(&s.url),
                audience: Some(&rp.client_id),
                now_unix: Some(unix_now()),
                leeway_secs: 5,
            },
        )
        .expect("the ID token verifies against ulo's JWKS");
        assert_eq!(claims["sub"], uid.as_str());
        assert_eq!(claims["nonce"], "nonce-from-the-app");
        assert!(tokens["access_token"].is_string(), "{tokens}");
        b.close().await;
    })
    .await;
}

/// An attacker's page on another origin: a form posting `fields` to `action`, with `head`
/// (e.g. a referrer policy) in its head.
pub fn attacker_page(head: &str, action: &str, fields: &[(&str, &str)]) -> String {
    let inputs: String = fields
        .iter()
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{k}\" value=\"{v}\">"))
        .collect();
    format!(
        "<!doctype html><html><head>{head}<title>Win a prize</title></head><body>\
         <h1>Win a prize</h1><form method=\"post\" action=\"{action}\">{inputs}\
         <button type=\"submit\">Claim</button></form></body></html>"
    )
}

#[tokio::test]
async fn another_sites_forms_cannot_sign_in_or_change_the_account_in_chromium() {
    on_every_backend(async |s| {
        let victim = user_with_password(s, "judy@example.com").await;
        let mallory = user_with_password(s, "mallory@example.com").await;
        let login = format!("{}/login", s.url);
        let creds = [("username", "mallory@example.com"), ("password", PASSWORD)];
        // Another loopback port is another origin of the same site: the browser sends the
        // SameSite=Lax cookies along, so only ulo's check stands in the way.
        let evil = Site::start(vec![
            ("/login", attacker_page("", &login, &creds)),
            (
                "/hidden-origin",
                attacker_page(
                    "<meta name=\"referrer\" content=\"no-referrer\">",
                    &login,
                    &creds,
                ),
            ),
        ])
        .await
        .expect("attacker site");
        let b = browser(s, "cross_site_forms").await;
        for page in ["/login", "/hidden-origin"] {
            b.goto(&format!("{}{page}", evil.url)).await.expect("open");
            b.screenshot(&format!("attacker{}", page.replace('/', "-")))
                .await
                .expect("screenshot");
            b.click_button("Claim").await.expect("submit");
            b.wait_for_text("sent from another site")
                .await
                .expect("refused");
            b.screenshot(&format!("refused{}", page.replace('/', "-")))
                .await
                .expect("screenshot");
            assert!(!has_session_cookie(&b).await, "{page}: no session");
        }
        assert!(
            starts(s, &mallory).await.is_empty(),
            "the password was never even checked"
        );
        assert!(
            sessions_of(s, &mallory).await["sessions"]
                .as_array()
                .is_some_and(Vec::is_empty)
        );

        // Signed in to ulo for real, with a pending authenticator app: another site's form
        // (with the right code, even) does not activate it.
        b.goto(&format!("{}/account/totp", s.url))
            .await
            .expect("open");
        submit_password(&b, "judy@example.com").await;
        let secret = b
            .wait_for_element("#secret")
            .await
            .expect("secret")
            .text()
            .await
            .expect("secret text");
        let evil_totp = Site::start(vec![(
            "/totp",
            attacker_page(
                "",
                &format!("{}/account/totp", s.url),
                &[("passCode", &totp_code(&secret, unix_now()))],
            ),
        )])
        .await
        .expect("attacker site");
        b.goto(&format!("{}/totp", evil_totp.url))
            .await
            .expect("open");
        b.click_button("Claim").await.expect("submit");
        b.wait_for_text("sent from another site")
            .await
            .expect("refused");
        b.screenshot("totp-refused").await.expect("screenshot");
        let (_, v) = s.get(&format!("/api/v1/users/{victim}/factors/totp")).await;
        assert_eq!(v["status"], "PENDING_ACTIVATION", "{v}");
        let tries = crate::support::events(s, "user.mfa.factor.activate", &victim).await;
        assert!(tries.is_empty(), "no attempt was made: {tries:?}");
        b.close().await;
    })
    .await;
}
