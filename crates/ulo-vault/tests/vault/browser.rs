//! The vault in a real browser (headless Chromium through chromedriver): a person signs in to
//! the vault through ulo's sign-in page and reveals a shared password; another site's form
//! posting to the vault's reveal is refused. Screenshots of every step:
//! `target/screenshots/vault_<test>-<backend>/`.

use ulo_testkit::Backend;
use ulo_testkit::browser::{Browser, Site};

use crate::support::*;

const INITIAL: &str = "initial-Passw0rd-for-the-browser";

async fn chromium(test: &str, backend: Backend) -> Browser {
    let backend = match backend {
        Backend::Postgres => "postgres",
        Backend::Sqlite => "sqlite",
    };
    Browser::start(&format!("vault_{test}-{backend}"))
        .await
        .unwrap_or_else(|e| panic!("start a browser: {e:#}"))
}

#[tokio::test]
async fn a_person_signs_in_to_the_vault_through_ulo_and_reveals_a_password_in_chromium() {
    for backend in ulo_testkit::backends() {
        let h = Harness::start(backend).await;
        let (_demo_app, demo) = demo(&[("team-social", INITIAL)]).await;
        h.provisioned_person("ada@example.com", "Ada").await;
        let account = h
            .shared_account(&demo.url, "team-social", INITIAL, &["ada@example.com"])
            .await;
        let b = chromium("sign_in_and_reveal", backend).await;

        // The vault sends her to ulo, which asks for her password and sends her back.
        b.goto(&format!("{}/login", h.vault.url))
            .await
            .expect("open");
        let at_ulo = b
            .wait_for_url("ulo's sign-in page", |u| {
                u.as_str().starts_with(&h.ulo.url) && u.path() == "/login"
            })
            .await
            .expect("at ulo");
        assert!(at_ulo.query().is_some_and(|q| q.contains("return_to")));
        b.fill("username", "ada@example.com")
            .await
            .expect("username");
        b.fill("password", PASSWORD).await.expect("password");
        b.screenshot("ulo-sign-in").await.expect("screenshot");
        b.click_button("Sign in").await.expect("submit");
        b.wait_for_text("Signed in as")
            .await
            .expect("the vault's page");
        let home = b.url().await.expect("url");
        assert!(home.as_str().starts_with(&h.vault.url), "{home}");
        b.screenshot("vault-accounts").await.expect("screenshot");

        b.click_button("Reveal password").await.expect("reveal");
        let shown = b
            .wait_for_element("#password")
            .await
            .expect("the password page")
            .text()
            .await
            .expect("password text");
        assert_eq!(shown, INITIAL);
        b.screenshot("revealed").await.expect("screenshot");
        assert_eq!(
            h.audit("type eq \"account.password.reveal\"").await.len(),
            1
        );

        // Another site (another loopback port: same site, so the vault's SameSite=Lax cookie
        // goes along) posts to the reveal form: refused, nothing revealed or recorded.
        let evil = Site::start(vec![(
            "/",
            format!(
                "<!doctype html><title>Prize</title><form method=\"post\" \
                 action=\"{}/accounts/{account}/reveal\"><input type=\"hidden\" name=\"csrf\" \
                 value=\"guess\"><button type=\"submit\">Claim</button></form>",
                h.vault.url
            ),
        )])
        .await
        .expect("attacker site");
        b.goto(&format!("{}/", evil.url)).await.expect("open");
        b.click_button("Claim").await.expect("submit");
        let text = b
            .wait_for_text("not sent from the vault")
            .await
            .expect("refused");
        assert!(!text.contains(INITIAL), "{text}");
        b.screenshot("cross-site-refused")
            .await
            .expect("screenshot");
        assert_eq!(
            h.audit("type eq \"account.password.reveal\"").await.len(),
            1,
            "no second reveal"
        );
        b.close().await;
        demo.stop().await;
        h.stop().await;
    }
}
