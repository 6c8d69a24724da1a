//! The person's account page: recent sign-ins with their address and client family, and the
//! *This wasn't me* report — a HIGH `USER_REPORTED_SUSPICIOUS_ACTIVITY` detection, refused
//! without the form's CSRF token or from another origin — over HTTP and in real Chromium.

use reqwest::StatusCode;
use serde_json::Value;
use ulo_testkit::TestServer;

use crate::browser::{browser, submit_password};
use crate::signin::{PASSWORD, answer, browser as http_browser, post_login, user_with_password};
use crate::support::*;

/// The user's active detections of `kind`.
async fn detections(s: &TestServer, uid: &str, kind: &str) -> Vec<Value> {
    let (status, risk) = s.get(&format!("/api/v1/users/{uid}/risk")).await;
    assert_eq!(status, StatusCode::OK, "{risk}");
    risk["detections"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|d| d["type"] == kind)
        .collect()
}

/// The value of the first hidden input `name` on `page`.
fn hidden(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker)? + marker.len();
    let len = page[start..].find('"')?;
    Some(page[start..start + len].to_string())
}

const REPORTED: &str = "USER_REPORTED_SUSPICIOUS_ACTIVITY";

#[tokio::test]
async fn the_account_page_lists_sign_ins_and_a_report_needs_the_form_token() {
    on_every_backend(async |s| {
        let uid = user_with_password(s, "ada@example.com").await;
        let other = user_with_password(s, "bob@example.com").await;
        let b = http_browser();
        // Not signed in: to the sign-in page.
        let a = answer(b.get(format!("{}/account", s.url))).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        assert_eq!(a.location(), "/login?return_to=%2Faccount");
        for _ in 0..2 {
            let a = post_login(
                &b,
                s,
                &[("username", "ada@example.com"), ("password", PASSWORD)],
            )
            .await;
            assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        }
        let page = answer(b.get(format!("{}/account", s.url))).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_eq!(
            page.body.matches("This wasn't me").count(),
            2,
            "{}",
            page.body
        );
        assert!(page.body.contains("127.0.0.1"), "{}", page.body);
        let sign_in = hidden(&page.body, "signIn").expect("a sign-in to report");
        let csrf = hidden(&page.body, "csrf").expect("the form's token");
        let starts = events(s, "user.session.start", &uid).await;
        assert_eq!(sign_in, starts.last().unwrap()["uuid"], "newest first");

        let report = |fields: Vec<(&'static str, String)>| {
            b.post(format!("{}/account/sign-ins/report", s.url))
                .form(&fields)
        };
        // Without the token, with a wrong one, or from another origin: 403, nothing recorded.
        let a = answer(report(vec![("signIn", sign_in.clone())])).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
        let a = answer(report(vec![
            ("signIn", sign_in.clone()),
            ("csrf", "forged".into()),
        ]))
        .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
        let a = answer(
            report(vec![("signIn", sign_in.clone()), ("csrf", csrf.clone())])
                .header("Origin", "https://evil.example.com")
                .header("Sec-Fetch-Site", "cross-site"),
        )
        .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
        assert!(detections(s, &uid, REPORTED).await.is_empty());
        // Another person's sign-in is not found; garbage is a 400.
        let bob_start = {
            let bb = http_browser();
            post_login(
                &bb,
                s,
                &[("username", "bob@example.com"), ("password", PASSWORD)],
            )
            .await;
            events(s, "user.session.start", &other).await[0]["uuid"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let a = answer(report(vec![("signIn", bob_start), ("csrf", csrf.clone())])).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
        let a = answer(report(vec![
            ("signIn", "nope".into()),
            ("csrf", csrf.clone()),
        ]))
        .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        assert!(detections(s, &uid, REPORTED).await.is_empty());

        // The form as an HTTP library sends it (no Origin, no Sec-Fetch-Site): recorded.
        let a = answer(report(vec![
            ("signIn", sign_in.clone()),
            ("csrf", csrf.clone()),
        ]))
        .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert!(a.body.contains("we have recorded it"), "{}", a.body);
        let found = detections(s, &uid, REPORTED).await;
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0]["level"], "HIGH");
        assert_eq!(found[0]["issuer"], "ada@example.com");
        let (_, risk) = s.get(&format!("/api/v1/users/{uid}/risk")).await;
        assert_eq!(risk["riskLevel"], "HIGH");
        let logged = one_event(
            s,
            "user.account.report_suspicious_activity_by_enduser",
            &uid,
        )
        .await;
        assert_eq!(
            logged["debugContext"]["debugData"]["signInEventId"],
            sign_in.as_str()
        );
        let detect = one_event(s, "user.risk.detect", &uid).await;
        assert_eq!(detect["transaction"]["id"], logged["transaction"]["id"]);
    })
    .await;
}

#[tokio::test]
async fn a_person_reports_a_sign_in_in_chromium() {
    on_every_backend(async |s| {
        let uid = user_with_password(s, "grace@example.com").await;
        let b = browser(s, "account_report").await;
        b.goto(&format!("{}/account", s.url)).await.expect("open");
        submit_password(&b, "grace@example.com").await;
        b.wait_for_text("Recent sign-ins")
            .await
            .expect("the account page after sign-in");
        let text = b.text().await.expect("text");
        assert!(text.contains("Chrome on Linux"), "{text}");
        assert!(text.contains("127.0.0.1"), "{text}");
        b.screenshot("account-page").await.expect("screenshot");
        b.click("ul.sign-ins button").await.expect("report");
        b.wait_for_text("we have recorded it")
            .await
            .expect("the confirmation");
        b.screenshot("reported").await.expect("screenshot");
        let found = detections(s, &uid, REPORTED).await;
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0]["level"], "HIGH");
    })
    .await;
}
