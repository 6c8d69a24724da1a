//! The first seed, click by click in Chromium: sign in as an admin → Directory → People → a
//! person → More actions → Clear User Sessions → tick "Also include logout enabled apps and API
//! tokens" → the dialog lists the logout-enabled app (a fake app speaking Global Token
//! Revocation) → Clear and revoke → the receipt shows the app SUCCEEDED without a reload. Also:
//! Device Logout lists the person's enrolled computers before Log Out All Devices.
//! Screenshots: `target/screenshots/console_seed1-<backend>/`, `console_device_logout-<backend>/`.

use reqwest::StatusCode;
use serde_json::json;
use ulo_testkit::browser::Browser;

use super::logouts::GatedApp;
use super::super_admin;
use crate::browser::{browser, submit_password};
use crate::logout::logout_app;
use crate::signin::{browser as http_browser, sessions_of, sign_in, user_with_password};
use crate::support::{id, on_every_backend};

/// The status shown in the targets table for the target called `name`, as the browser holds
/// the page now (after any live update).
async fn row_status(b: &Browser, name: &str) -> Option<String> {
    let html = b.source().await.ok()?;
    let table = &html[html.find("id=\"targets\"")?..];
    let row = &table[table.find(&format!("data-name=\"{name}\""))?..];
    let row = &row[..row.find("</tr>")?];
    let badge = &row[row.find("class=\"badge")?..];
    let text = &badge[badge.find('>')? + 1..];
    Some(text[..text.find('<')?].trim().to_string())
}

/// Signs `login` in to the console from its front door.
async fn sign_in_to_console(b: &Browser, url: &str, login: &str) {
    b.goto(&format!("{url}/admin"))
        .await
        .expect("open the console");
    submit_password(b, login).await;
    b.wait_for_text("What needs attention now.")
        .await
        .expect("the dashboard");
}

#[tokio::test]
async fn seed_one_clear_user_sessions_reaches_a_logout_enabled_app_and_the_receipt_fills_in_live() {
    on_every_backend(async |s| {
        super_admin(s, "root@example.com").await;
        let ada = user_with_password(s, "ada@example.com").await;
        let (status, body) = s
            .post(
                &format!("/api/v1/users/{ada}"),
                json!({"profile": {"firstName": "Ada", "lastName": "Lovelace", "title": "Controller", "department": "Finance"}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        sign_in(&http_browser(), s, "ada@example.com").await;
        let app = GatedApp::start().await;
        logout_app(s, "Payroll", "global-token-revocation", &app.url, "email", &ada).await;
        let (status, wiki) = s.post("/api/v1/apps", quiet_app("Team wiki")).await;
        assert_eq!(status, StatusCode::OK, "{wiki}");
        let (status, body) = s
            .post(&format!("/api/v1/apps/{}/users", id(&wiki)), json!({"id": ada}))
            .await;
        assert!(status.is_success(), "{body}");

        let finance = crate::support::create_group(s, "Finance").await;
        let (status, body) = s
            .put(&format!("/api/v1/groups/{}/users/{ada}", id(&finance)), None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let (status, body) = s
            .put(
                &format!("/api/v1/users/{ada}/risk"),
                Some(json!({"riskLevel": "MEDIUM", "reason": "sign-in from a new country"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");

        let b = browser(s, "console_seed1").await;
        b.client().set_window_size(1280, 1000).await.expect("window size");
        sign_in_to_console(&b, &s.url, "root@example.com").await;

        // Directory → People → the person.
        b.click("nav a[href='/admin/people']").await.expect("People");
        b.wait_for_text("Add Person").await.expect("the People page");
        b.click(&format!("a[href='/admin/people/{ada}']")).await.expect("the person");
        b.wait_for_text("Past logouts").await.expect("the person page");
        b.wait_for_text("sign-in from a new country").await.expect("the detection");
        b.client().set_window_size(1280, 1400).await.expect("window size");
        b.screenshot("person").await.expect("screenshot");
        b.client().set_window_size(1280, 1000).await.expect("window size");

        // More actions → Clear User Sessions: the dialog.
        b.click("#more-actions summary").await.expect("More actions");
        b.click("#more-actions a[href$='/clear-sessions']").await.expect("Clear User Sessions");
        b.wait_for_text("Clear sessions and revoke access").await.expect("the dialog");
        b.wait_for_text("1 live session ends").await.expect("the dry run");
        // Tick the box: the list is refreshed with the apps it will reach.
        b.click("#include-apps").await.expect("tick the box");
        let reached = b
            .wait_for("the dialog to list Payroll as reached", || async {
                let html = b.source().await.ok()?;
                let preview = &html[html.find("id=\"clear-preview\"")?..];
                let (reached, _) = preview.split_once("Not reached")?;
                reached.contains("Payroll").then(|| preview.to_string())
            })
            .await
            .expect("Payroll listed");
        assert!(reached.contains("Team wiki"), "the app it cannot reach is listed too");
        assert!(reached.contains("logout is not enabled for this app"));
        b.screenshot("clear-user-sessions-dialog").await.expect("screenshot");

        // Clear and revoke → the receipt, the app still answering.
        b.click_button("Clear and revoke").await.expect("Clear and revoke");
        let at = b
            .wait_for_url("the receipt page", |u| u.path().starts_with("/admin/logouts/"))
            .await
            .expect("on the receipt");
        app.wait_for_request().await;
        b.wait_for_text("IN PROGRESS").await.expect("in progress");
        assert_eq!(row_status(&b, "Payroll").await.as_deref(), Some("PENDING"));
        let facts = b.wait_for_element(".receipt-facts").await.expect("facts");
        b.screenshot("receipt-in-progress").await.expect("screenshot");

        // The app answers: its row turns SUCCEEDED, and the receipt COMPLETED, live.
        app.open();
        b.wait_for("Payroll SUCCEEDED in the targets table", || async {
            (row_status(&b, "Payroll").await.as_deref() == Some("SUCCEEDED")).then_some(())
        })
        .await
        .expect("the app answered");
        b.wait_for_text("Every target has answered; nothing failed.")
            .await
            .expect("completed");
        // The element found before is still the page's: no reload happened.
        assert!(facts.text().await.expect("the same page").contains("ada@example.com"));
        assert_eq!(b.url().await.expect("url"), at);
        b.screenshot("receipt-completed").await.expect("screenshot");
        assert_eq!(sessions_of(s, &ada).await["sessions"], json!([]));

        // Logouts: the receipt is listed.
        b.click("nav a[href='/admin/logouts']").await.expect("Logouts");
        b.wait_for_element("#logouts").await.expect("the list");
        b.wait_for_text("ada@example.com").await.expect("listed");
        b.screenshot("logouts").await.expect("screenshot");

        // Phone width: the person page.
        b.client().set_window_size(375, 800).await.expect("phone width");
        b.goto(&format!("{}/admin/people/{ada}", s.url)).await.expect("person");
        b.wait_for_text("Past logouts").await.expect("the person page");
        b.screenshot("person-phone").await.expect("screenshot");
        b.goto(at.as_str()).await.expect("the receipt");
        b.wait_for_text("Every target has answered").await.expect("the receipt");
        b.screenshot("receipt-phone").await.expect("screenshot");
        b.close().await;
    })
    .await;
}

#[tokio::test]
async fn device_logout_lists_the_persons_devices_before_log_out_all_devices_in_chromium() {
    on_every_backend(async |s| {
        super_admin(s, "root@example.com").await;
        let (ada, _app) = crate::devices::set_up(s).await;
        let agent = crate::devices::ada_agent(s, ulo_testkit::now()).await;
        let (_, device) = s.get(&format!("/api/v1/devices/{}", agent.id())).await;
        let hostname = device["hostname"].as_str().expect("hostname").to_string();

        let b = browser(s, "console_device_logout").await;
        b.client()
            .set_window_size(1280, 900)
            .await
            .expect("window size");
        sign_in_to_console(&b, &s.url, "root@example.com").await;
        b.goto(&format!("{}/admin/people/{ada}", s.url))
            .await
            .expect("person");
        b.wait_for_text(&hostname)
            .await
            .expect("the device on the person page");
        b.click("#more-actions summary")
            .await
            .expect("More actions");
        b.click("#more-actions a[href$='/device-logout']")
            .await
            .expect("Device Logout");
        b.wait_for_text("Log Out All Devices")
            .await
            .expect("the dialog");
        let listed = b
            .wait_for_element("#device-list")
            .await
            .expect("the devices");
        assert!(listed.text().await.expect("text").contains(&hostname));
        b.screenshot("device-logout-dialog")
            .await
            .expect("screenshot");
        b.click_button("Log Out All Devices")
            .await
            .expect("Log Out All Devices");
        b.wait_for_url("the receipt", |u| u.path().starts_with("/admin/logouts/"))
            .await
            .expect("on the receipt");
        b.wait_for_text("all devices (Device Logout)")
            .await
            .expect("the receipt");
        b.wait_for_text(&hostname)
            .await
            .expect("the device is a target");
        b.screenshot("device-logout-receipt")
            .await
            .expect("screenshot");
        b.close().await;
    })
    .await;
}

/// An OIDC app whose Logout is off.
fn quiet_app(label: &str) -> serde_json::Value {
    let mut body = crate::support::oidc_app_body(label);
    body["logout"] = serde_json::json!({"enabled": false});
    body
}
