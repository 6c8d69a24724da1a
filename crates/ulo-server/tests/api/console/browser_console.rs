//! The console's frame in Chromium: an admin signs in (password, and password + TOTP), finds a
//! person, reads and filters the System Log and watches its live tail; a read-only admin sees no
//! write control, and forged changes are refused. Screenshots: `target/screenshots/console-*`.

use serde_json::json;
use ulo_testkit::browser::{Browser, Site};

use super::*;
use crate::browser::{attacker_page, browser, submit_password, totp_secret};
use crate::signin::{totp_code, unix_now};
use crate::support::{create_user, on_every_backend};

/// Opens the console in `b` and signs `login` in through ulo's sign-in page; waits for the
/// dashboard.
pub async fn console_sign_in(b: &Browser, s: &TestServer, login: &str) {
    b.client()
        .set_window_size(1280, 900)
        .await
        .expect("window size");
    b.goto(&format!("{}/admin", s.url)).await.expect("open");
    submit_password(b, login).await;
    b.wait_for_text("What needs attention now")
        .await
        .expect("the dashboard");
}

#[tokio::test]
async fn an_admin_signs_in_to_the_console_and_finds_a_person_in_chromium() {
    on_every_backend(async |s| {
        super_admin(s, "root@example.com").await;
        for login in ["ada@example.com", "alan@example.com", "grace@example.com"] {
            create_user(s, login).await;
        }
        let b = browser(s, "console-sign-in").await;
        console_sign_in(&b, s, "root@example.com").await;
        b.screenshot("dashboard").await.expect("screenshot");
        b.click("nav a[href='/admin/people']")
            .await
            .expect("People");
        b.wait_for_text("admin@ulo.example.com")
            .await
            .expect("people");
        b.fill("q", "a").await.expect("search");
        b.click_button("Search").await.expect("search");
        b.wait_for_url("searched", |u| u.query().is_some_and(|q| q.contains("q=a")))
            .await
            .expect("searched");
        let text = b.wait_for_text("alan@example.com").await.expect("found");
        assert!(text.contains("ada@example.com"), "{text}");
        assert!(!text.contains("grace@example.com"), "{text}");
        b.screenshot("people-search").await.expect("screenshot");
        b.client()
            .set_window_size(390, 844)
            .await
            .expect("phone width");
        b.goto(&format!("{}/admin/people", s.url))
            .await
            .expect("people");
        b.wait_for_text("grace@example.com").await.expect("listed");
        b.screenshot("people-phone").await.expect("screenshot");
        b.close().await;
    })
    .await;
}

#[tokio::test]
async fn an_admin_with_totp_signs_in_to_the_console_with_a_code_in_chromium() {
    on_every_backend(async |s| {
        let id = super_admin(s, "root@example.com").await;
        let secret = totp_secret(s, &id).await;
        let b = browser(s, "console-totp").await;
        b.goto(&format!("{}/admin/reports/system-log", s.url))
            .await
            .expect("open");
        submit_password(&b, "root@example.com").await;
        b.wait_for_text("Enter the 6-digit code")
            .await
            .expect("asks for the code");
        b.fill("totp", &totp_code(&secret, unix_now() + 30))
            .await
            .expect("code");
        b.click_button("Verify").await.expect("verify");
        // Back where the admin was going.
        b.wait_for_text("Events over time")
            .await
            .expect("System Log");
        assert_eq!(
            b.url().await.expect("url").path(),
            "/admin/reports/system-log"
        );
        let opened = crate::signin::logged(
            s,
            &format!("eventType eq \"user.session.access_admin_app\" and target.id eq \"{id}\""),
        )
        .await;
        assert_eq!(
            opened[0]["debugContext"]["debugData"]["amr"],
            json!(["pwd", "otp"])
        );
        b.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_read_only_admin_sees_no_write_control_and_forged_changes_are_refused_in_chromium() {
    on_every_backend(async |s| {
        read_only_admin(s, "auditor@example.com").await;
        let b = browser(s, "console-read-only").await;
        console_sign_in(&b, s, "auditor@example.com").await;
        b.goto(&format!("{}/admin/people", s.url)).await.expect("people");
        let text = b.wait_for_text("Read-only").await.expect("badge");
        assert!(!text.contains("Add Person"), "{text}");
        b.screenshot("read-only-people").await.expect("screenshot");

        // A post from the console's own origin without the token (a script could try it).
        let status = b
            .client()
            .execute(
                "return fetch('/admin/people/new', {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'first_name=A&last_name=B&login=forged%40example.com'}).then(r => r.status);",
                vec![],
            )
            .await
            .expect("fetch");
        assert_eq!(status, json!(403));

        // Another site's form (another port: same site, so the SameSite=Strict cookie goes along).
        let evil = Site::start(vec![(
            "/prize",
            attacker_page(
                "",
                &format!("{}/admin/people/new", s.url),
                &[("first_name", "A"), ("last_name", "B"), ("login", "forged@example.com")],
            ),
        )])
        .await
        .expect("attacker site");
        b.goto(&format!("{}/prize", evil.url)).await.expect("open");
        b.click_button("Claim").await.expect("submit");
        b.wait_for_text("was refused and not made")
            .await
            .expect("refused");
        b.screenshot("forged-refused").await.expect("screenshot");
        let (_, found) = s.get("/api/v1/users?q=forged").await;
        assert_eq!(found, json!([]));
        b.close().await;
    })
    .await;
}

#[tokio::test]
async fn the_system_log_filters_shows_a_bad_filter_in_place_and_tails_live_in_chromium() {
    on_every_backend(async |s| {
        super_admin(s, "root@example.com").await;
        create_user(s, "ada@example.com").await;
        let b = browser(s, "console-system-log").await;
        console_sign_in(&b, s, "root@example.com").await;
        b.click("nav a[href='/admin/reports/system-log']")
            .await
            .expect("System Log");
        b.wait_for_text("Events over time").await.expect("page");
        b.screenshot("system-log").await.expect("screenshot");

        b.fill("filter", "eventType eq \"user.lifecycle.create\"")
            .await
            .expect("filter");
        b.click_button("Search").await.expect("search");
        b.wait_for_url("filtered", |u| {
            u.query().is_some_and(|q| q.contains("filter="))
        })
        .await
        .expect("filtered");
        let text = b.wait_for_text("ada@example.com").await.expect("rows");
        assert!(!text.contains("user.session.access_admin_app"), "{text}");
        b.click("details.event summary").await.expect("expand");
        b.wait_for_element("details.event[open] pre.json")
            .await
            .expect("the whole event");
        b.screenshot("system-log-filtered-expanded")
            .await
            .expect("screenshot");

        b.fill("filter", "eventType eq").await.expect("bad filter");
        b.click_button("Search").await.expect("search");
        let error = b
            .wait_for_element("#filter-error")
            .await
            .expect("the error beside the box");
        let message = error.text().await.expect("text");
        assert!(message.contains("Invalid filter"), "{message}");
        let invalid = b
            .field("filter")
            .await
            .expect("box")
            .attr("aria-invalid")
            .await
            .expect("attr");
        assert_eq!(invalid.as_deref(), Some("true"));
        b.screenshot("system-log-bad-filter")
            .await
            .expect("screenshot");

        b.goto(&format!(
            "{}/admin/reports/system-log?filter=eventType+eq+%22user.lifecycle.create%22",
            s.url
        ))
        .await
        .expect("back");
        b.click("a[href*='live=1']").await.expect("Live tail");
        b.wait_for_element("tbody[sse-connect]")
            .await
            .expect("live");
        // The stream is open once the browser's EventSource reports it (console.js marks it).
        b.wait_for_element("tbody[data-sse='open']")
            .await
            .expect("the live tail connected");
        create_user(s, "live-tail@example.com").await;
        b.wait_for_text("live-tail@example.com")
            .await
            .expect("the new event appears without a reload");
        b.screenshot("system-log-live-tail")
            .await
            .expect("screenshot");
        b.close().await;
    })
    .await;
}
