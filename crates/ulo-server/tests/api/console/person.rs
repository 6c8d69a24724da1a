//! Directory → a person, and More actions: the page (profile, groups, apps and how they are
//! assigned, sessions and grants, devices, risk, past logouts), Clear User Sessions with its dry
//! run, Device Logout, Elevate risk level and Reset risk, suspend / unsuspend / deactivate, and
//! reset password — each refused without a session, to a read-only admin and without the csrf
//! token (nothing written), its bad input shown in the dialog, its effect visible through the API
//! and the System Log as the console's.

use reqwest::StatusCode;
use serde_json::{Value, json};
use ulo_testkit::TestServer;

use super::*;
use crate::logout::{FakeApps, final_receipt, logout_app};
use crate::signin::{answer, browser, logged, sessions_of, sign_in, user_with_password};
use crate::support::{create_group, create_user, id, on_every_backend};

/// The receipt id a 303 (or HX-Redirect) sends the browser to.
fn receipt_of(a: &crate::signin::Answer) -> String {
    let to = a
        .headers
        .get("hx-redirect")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| a.location());
    to.strip_prefix("/admin/logouts/")
        .unwrap_or_else(|| panic!("to a receipt, not {to:?}: {}", a.body))
        .to_string()
}

/// Every event of a transaction names the console as its client.
async fn by_console(s: &TestServer, filter: &str) -> Vec<Value> {
    let found = logged(s, filter).await;
    assert!(!found.is_empty(), "no event for {filter}");
    for e in &found {
        assert_eq!(e["client"]["id"], "ulo-admin-console", "{e}");
    }
    found
}

/// Ada with a password, signed in once (a live session); answers her id.
async fn ada_signed_in(s: &TestServer) -> String {
    let ada = user_with_password(s, "ada@example.com").await;
    sign_in(&browser(), s, "ada@example.com").await;
    ada
}

#[tokio::test]
async fn a_persons_page_shows_everything_about_them_and_more_actions_to_super_admins_only() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let ada = ada_signed_in(s).await;
        let group = create_group(s, "Finance").await;
        let (status, body) = s
            .put(&format!("/api/v1/groups/{}/users/{ada}", id(&group)), None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let (_fake, base) = FakeApps::start().await;
        let app = logout_app(
            s,
            "Payroll",
            "global-token-revocation",
            &format!("{base}/p"),
            "email",
            &ada,
        )
        .await;
        let (status, started) = s
            .post(
                &format!("/api/v1/users/{ada}/logout"),
                json!({"scope": "ULO_ONLY"}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{started}");
        // After the logout: an admin's logout resets the entity risk.
        let (status, body) = s
            .put(
                &format!("/api/v1/users/{ada}/risk"),
                Some(json!({"riskLevel": "MEDIUM", "reason": "odd travel"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        sign_in(&browser(), s, "ada@example.com").await;

        // By id or by login.
        for key in [ada.as_str(), "ada%40example.com"] {
            let p = c.get(&format!("/admin/people/{key}")).await;
            assert_eq!(p.status, StatusCode::OK, "{}", p.body);
            for shown in [
                "ada@example.com",
                "Finance",
                &format!("href=\"/admin/groups/{}\"", id(&group)),
                "Payroll",
                "Global Token Revocation",
                "directly",
                "Live sessions",
                "127.0.0.1",
                "MEDIUM",
                "odd travel",
                "Admin reported user risk",
                &format!("/admin/logouts/{}", started["id"].as_str().unwrap()),
                "More actions",
                "Clear User Sessions",
                "Device Logout",
                "Elevate risk level",
                "Reset risk",
                "Suspend",
                "Deactivate",
                "Reset password",
            ] {
                assert!(p.body.contains(shown), "{shown:?} missing from the page");
            }
            assert!(!p.body.contains(">Unsuspend<"));
            let _ = &app;
        }

        // A read-only admin sees the person, without the menu.
        read_only_admin(s, "viewer@example.com").await;
        let viewer = ConsoleClient::sign_in(s, "viewer@example.com").await;
        let p = viewer.get(&format!("/admin/people/{ada}")).await;
        assert_eq!(p.status, StatusCode::OK);
        assert!(p.body.contains("Payroll"));
        assert!(!p.body.contains("More actions"), "{}", p.body);
        assert!(!p.body.contains("Clear User Sessions"));

        // Nobody signed in: to the sign-in, and back here after.
        let a = answer(browser().get(format!("{}/admin/people/{ada}", s.url))).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        assert_eq!(
            a.location(),
            format!("/admin/signin?return_to=%2Fadmin%2Fpeople%2F{ada}")
        );
        // Nobody by that name.
        let missing = c.get("/admin/people/nobody%40example.com").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert!(missing.body.contains("Not found"), "{}", missing.body);
    })
    .await;
}

#[tokio::test]
async fn clear_user_sessions_lists_what_it_reaches_first_then_clears_and_revokes() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let ada = ada_signed_in(s).await;
        let (fake, base) = FakeApps::start().await;
        let app = logout_app(s, "Payroll", "global-token-revocation", &format!("{base}/p"), "email", &ada).await;
        let (status, quiet) = s.post("/api/v1/apps", quiet_app("Wiki")).await;
        assert_eq!(status, StatusCode::OK, "{quiet}");
        let (status, body) = s
            .post(&format!("/api/v1/apps/{}/users", id(&quiet)), json!({"id": ada}))
            .await;
        assert!(status.is_success(), "{body}");
        let path = format!("/admin/people/{ada}/clear-sessions");

        // The dialog, box not ticked: ulo's sessions and tokens; the apps only with the box.
        let d = c.get_htmx(&path).await;
        assert_eq!(d.status, StatusCode::OK, "{}", d.body);
        assert!(!d.body.contains("<html"), "a fragment: {}", d.body);
        for shown in [
            "Clear sessions and revoke access",
            "Also include logout enabled apps and API tokens",
            "Clear and revoke",
            "1 live session ends",
            "Payroll",
            "only with “Also include logout enabled apps and API tokens”",
            &format!("hx-get=\"/admin/people/{ada}/clear-sessions/preview\""),
        ] {
            assert!(d.body.contains(shown), "{shown:?} missing from {}", d.body);
        }
        // Box ticked: the app is reached; the app without logout is not, and says why.
        let p = c.get_htmx(&format!("{path}/preview?apps=on")).await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        let (reached, not) = p.body.split_once("Not reached").unwrap_or_else(|| panic!("both lists: {}", p.body));
        assert!(reached.contains("Payroll"), "{}", p.body);
        assert!(reached.contains("assigned directly"), "{}", p.body);
        assert!(reached.contains("API tokens"), "{}", p.body);
        assert!(not.contains("Wiki"), "{}", p.body);
        assert!(not.contains("logout is not enabled for this app"), "{}", p.body);
        // Without JavaScript: a page of its own, the box as the link says.
        let page = c.get(&format!("{path}?apps=on")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("<html"));
        assert!(page.body.contains("id=\"include-apps\" name=\"apps\" value=\"on\" checked"), "{}", page.body);

        // Refused: no csrf token, a read-only admin; nothing is written.
        let forged = c.post_without_csrf(&path, &[("apps", "on")]).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
        read_only_admin(s, "viewer@example.com").await;
        let viewer = ConsoleClient::sign_in(s, "viewer@example.com").await;
        let shown = viewer.get_htmx(&path).await;
        assert_eq!(shown.status, StatusCode::FORBIDDEN, "{}", shown.body);
        assert!(shown.body.contains("class=\"overlay\""), "the refusal in the dialog: {}", shown.body);
        assert!(shown.body.contains("SUPER_ADMIN"), "{}", shown.body);
        let refused = viewer.post_htmx(&path, &[("apps", "on")]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        assert!(refused.body.contains("SUPER_ADMIN"), "{}", refused.body);
        let (_, list) = s.get(&format!("/api/v1/logouts?userId={ada}")).await;
        assert_eq!(list, json!([]), "no logout started");
        assert_eq!(sessions_of(s, &ada).await["sessions"].as_array().unwrap().len(), 1);
        let anon = answer(browser().post(format!("{}{path}", s.url)).form(&[("apps", "on")])).await;
        assert_eq!(anon.status, StatusCode::UNAUTHORIZED, "{}", anon.body);

        // Clear and revoke with the box: a Universal Logout; on to its receipt.
        let done = c.post_htmx(&path, &[("apps", "on")]).await;
        assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.body);
        let logout = receipt_of(&done);
        let r = final_receipt(s, &logout).await;
        assert_eq!(r["reason"], "ADMIN");
        assert_eq!(r["scope"], "ALL_APPS");
        assert_eq!(r["status"], "COMPLETED", "{r}");
        assert!(
            r["targets"].as_array().unwrap().iter().any(|t| t["id"] == id(&app).as_str() && t["status"] == "SUCCEEDED"),
            "{r}"
        );
        assert_eq!(fake.received("p").len(), 1);
        assert_eq!(sessions_of(s, &ada).await["sessions"], json!([]));
        let tx = r["transactionId"].as_str().unwrap();
        let events = by_console(s, &format!("transaction.id eq \"{tx}\" and eventType eq \"user.authentication.universal_logout\"")).await;
        assert_eq!(events.len(), 1);
        let page = c.get(&format!("/admin/logouts/{logout}")).await;
        assert!(page.body.contains("Payroll"));

        // Without the box: ulo's sessions and tokens only, back to the person.
        sign_in(&browser(), s, "ada@example.com").await;
        let done = c.post(&path, &[]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location(), format!("/admin/people/{ada}?done=cleared"));
        assert_eq!(sessions_of(s, &ada).await["sessions"], json!([]));
        assert_eq!(fake.received("p").len(), 1, "the app is not told");
        by_console(s, &format!("eventType eq \"user.session.clear\" and target.id eq \"{ada}\"")).await;
        let back = c.get(done.location()).await;
        assert!(back.body.contains("Sessions cleared"), "{}", back.body);

        // An unknown person.
        let missing = c.get_htmx("/admin/people/nobody%40example.com/clear-sessions").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        let missing = c.post("/admin/people/nobody%40example.com/clear-sessions", &[("apps", "on")]).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn device_logout_lists_the_devices_then_logs_out_all_devices() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let (ada, _app) = crate::devices::set_up(s).await;
        let agent = crate::devices::ada_agent(s, ulo_testkit::now()).await;
        let path = format!("/admin/people/{ada}/device-logout");
        let hostname = {
            let (_, d) = s.get(&format!("/api/v1/devices/{}", agent.id())).await;
            d["hostname"].as_str().unwrap().to_string()
        };

        let d = c.get_htmx(&path).await;
        assert_eq!(d.status, StatusCode::OK, "{}", d.body);
        for shown in ["Device Logout", "Log Out All Devices", hostname.as_str(), "signed out as ada"] {
            assert!(d.body.contains(shown), "{shown:?} missing from {}", d.body);
        }
        assert!(!d.body.contains("alert-warn"), "{}", d.body);

        // The feature off: said before confirming, and the refusal shown in the dialog.
        let (status, body) = s.post("/api/v1/features/device-logout/disable", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let d = c.get_htmx(&path).await;
        assert!(d.body.contains("Device Logout is an early-access feature and it is off"), "{}", d.body);
        let refused = c.post_htmx(&path, &[("reason", "")]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        assert!(refused.body.contains("class=\"overlay\""), "the dialog again: {}", refused.body);
        assert!(refused.body.contains("early-access feature"), "{}", refused.body);
        let (status, body) = s.post("/api/v1/features/device-logout/enable", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");

        // Bad input, forgeries and read-only admins change nothing.
        let long = "x".repeat(300);
        let bad = c.post_htmx(&path, &[("reason", &long)]).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
        assert!(bad.body.contains("reason: must be 1 to 256 characters"), "{}", bad.body);
        assert!(bad.body.contains(&long), "what was typed stays");
        let forged = c.post_without_csrf(&path, &[]).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        read_only_admin(s, "viewer@example.com").await;
        let viewer = ConsoleClient::sign_in(s, "viewer@example.com").await;
        assert_eq!(viewer.get_htmx(&path).await.status, StatusCode::FORBIDDEN);
        assert_eq!(viewer.post(&path, &[]).await.status, StatusCode::FORBIDDEN);
        let (_, list) = s.get(&format!("/api/v1/logouts?userId={ada}")).await;
        assert_eq!(list, json!([]), "nothing started");

        // Log Out All Devices: a receipt with the device.
        let done = c.post(&path, &[("reason", "lost laptop")]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let logout = receipt_of(&done);
        let (_, r) = s.get(&format!("/api/v1/logouts/{logout}")).await;
        assert_eq!(r["scope"], "DEVICES");
        assert_eq!(r["reason"], "lost laptop");
        assert_eq!(r["targets"][0]["type"], "DEVICE");
        assert_eq!(r["targets"][0]["id"], agent.id());
        by_console(s, &format!("transaction.id eq \"{}\" and eventType eq \"device.desktop_mfa.device_logout.started\"", r["transactionId"].as_str().unwrap())).await;
        let page = c.get(&format!("/admin/logouts/{logout}")).await;
        assert!(page.body.contains(&hostname));
        assert!(page.body.contains("Device · SIGN_OUT command"));
    })
    .await;
}

#[tokio::test]
async fn risk_is_elevated_and_reset_with_bad_input_shown_in_the_dialog() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let ada = id(&create_user(s, "ada@example.com").await);
        let path = format!("/admin/people/{ada}/risk");
        let d = c.get_htmx(&path).await;
        assert_eq!(d.status, StatusCode::OK);
        assert!(
            d.body.contains("Elevate risk level")
                && d.body.contains("MEDIUM")
                && d.body.contains("HIGH")
        );

        let bad = c
            .post_htmx(&path, &[("level", "LOW"), ("reason", "x")])
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
        assert!(
            bad.body.contains("id=\"level-error\""),
            "next to the level: {}",
            bad.body
        );
        assert!(
            bad.body
                .contains("Choose the level to elevate to: MEDIUM or HIGH.")
        );
        let long = "y".repeat(257);
        let bad = c
            .post_htmx(&path, &[("level", "HIGH"), ("reason", &long)])
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
        assert!(
            bad.body.contains("reason: must be 1 to 256 characters"),
            "{}",
            bad.body
        );
        assert!(
            bad.body.contains("value=\"HIGH\" checked"),
            "the choice stays: {}",
            bad.body
        );
        let forged = c.post_without_csrf(&path, &[("level", "HIGH")]).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        read_only_admin(s, "viewer@example.com").await;
        let viewer = ConsoleClient::sign_in(s, "viewer@example.com").await;
        assert_eq!(
            viewer.post(&path, &[("level", "HIGH")]).await.status,
            StatusCode::FORBIDDEN
        );
        let (_, risk) = s.get(&format!("/api/v1/users/{ada}/risk")).await;
        assert_eq!(risk["riskLevel"], "NONE", "{risk}");

        let done = c
            .post(&path, &[("level", "HIGH"), ("reason", "phished")])
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location(), format!("/admin/people/{ada}?done=risk"));
        let (_, risk) = s.get(&format!("/api/v1/users/{ada}/risk")).await;
        assert_eq!(risk["riskLevel"], "HIGH");
        assert_eq!(risk["reason"], "phished");
        by_console(
            s,
            &format!("eventType eq \"user.risk.detect\" and target.id eq \"{ada}\""),
        )
        .await;
        let p = c.get(done.location()).await;
        assert!(p.body.contains("Entity risk level elevated"), "{}", p.body);
        assert!(p.body.contains("phished"));

        let reset = format!("/admin/people/{ada}/risk/reset");
        let d = c.get_htmx(&reset).await;
        assert!(d.body.contains("1 active detection."), "{}", d.body);
        assert_eq!(viewer.post(&reset, &[]).await.status, StatusCode::FORBIDDEN);
        let done = c.post_htmx(&reset, &[("reason", "false alarm")]).await;
        assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.body);
        let (_, risk) = s.get(&format!("/api/v1/users/{ada}/risk")).await;
        assert_eq!(risk["riskLevel"], "NONE", "{risk}");
        by_console(
            s,
            &format!("eventType eq \"user.risk.reset\" and target.id eq \"{ada}\""),
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn suspend_unsuspend_and_deactivate_are_confirmed_and_a_stale_dialog_is_refused() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let ada = ada_signed_in(s).await;
        let suspend = format!("/admin/people/{ada}/lifecycle/suspend");
        let d = c.get_htmx(&suspend).await;
        assert_eq!(d.status, StatusCode::OK);
        assert!(d.body.contains("Suspend Test Person?"), "{}", d.body);
        assert!(d.body.contains("name=\"seen\" value=\"ACTIVE\""));
        assert_eq!(
            c.get_htmx(&format!("/admin/people/{ada}/lifecycle/explode"))
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            c.post(&format!("/admin/people/{ada}/lifecycle/explode"), &[])
                .await
                .status,
            StatusCode::NOT_FOUND
        );

        let forged = c.post_without_csrf(&suspend, &[("seen", "ACTIVE")]).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        read_only_admin(s, "viewer@example.com").await;
        let viewer = ConsoleClient::sign_in(s, "viewer@example.com").await;
        assert_eq!(
            viewer.post(&suspend, &[("seen", "ACTIVE")]).await.status,
            StatusCode::FORBIDDEN
        );
        let (_, u) = s.get(&format!("/api/v1/users/{ada}")).await;
        assert_eq!(u["status"], "ACTIVE");

        let done = c.post(&suspend, &[("seen", "ACTIVE")]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location(), format!("/admin/people/{ada}?done=suspend"));
        let (_, u) = s.get(&format!("/api/v1/users/{ada}")).await;
        assert_eq!(u["status"], "SUSPENDED");
        by_console(
            s,
            &format!("eventType eq \"user.lifecycle.suspend\" and target.id eq \"{ada}\""),
        )
        .await;
        let (_, list) = s.get(&format!("/api/v1/logouts?userId={ada}")).await;
        assert_eq!(list[0]["reason"], "LIFECYCLE", "{list}");
        assert_eq!(sessions_of(s, &ada).await["sessions"], json!([]));
        let p = c.get(done.location()).await;
        assert!(p.body.contains("Suspended."), "{}", p.body);
        assert!(p.body.contains(">Unsuspend<"));

        // The same dialog confirmed again, now stale: refused as changed meanwhile.
        let stale = c.post_htmx(&suspend, &[("seen", "ACTIVE")]).await;
        assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
        assert!(stale.body.contains("changed meanwhile"), "{}", stale.body);

        let done = c
            .post(
                &format!("/admin/people/{ada}/lifecycle/unsuspend"),
                &[("seen", "SUSPENDED")],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let (_, u) = s.get(&format!("/api/v1/users/{ada}")).await;
        assert_eq!(u["status"], "ACTIVE");
        // Not allowed from this status: the domain's refusal, in the dialog.
        let wrong = c
            .post_htmx(&format!("/admin/people/{ada}/lifecycle/unsuspend"), &[])
            .await;
        assert_eq!(wrong.status, StatusCode::CONFLICT, "{}", wrong.body);
        assert!(wrong.body.contains("class=\"overlay\""));

        let done = c
            .post(
                &format!("/admin/people/{ada}/lifecycle/deactivate"),
                &[("seen", "ACTIVE")],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let (_, u) = s.get(&format!("/api/v1/users/{ada}")).await;
        assert_eq!(u["status"], "DEPROVISIONED");
        by_console(
            s,
            &format!("eventType eq \"user.lifecycle.deactivate\" and target.id eq \"{ada}\""),
        )
        .await;
        let p = c.get(&format!("/admin/people/{ada}")).await;
        assert!(
            p.body.contains(">Activate<") && !p.body.contains(">Deactivate<"),
            "{}",
            p.body
        );
    })
    .await;
}

#[tokio::test]
async fn reset_password_checks_what_was_typed_then_sets_it_and_logs_them_out() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let ada = ada_signed_in(s).await;
        let path = format!("/admin/people/{ada}/reset-password");
        let d = c.get_htmx(&path).await;
        assert_eq!(d.status, StatusCode::OK);
        assert!(d.body.contains("New password") && d.body.contains("Type it again"));

        let short = c
            .post_htmx(&path, &[("password", "short"), ("confirm", "short")])
            .await;
        assert_eq!(short.status, StatusCode::BAD_REQUEST, "{}", short.body);
        assert!(
            short.body.contains("id=\"password-error\""),
            "{}",
            short.body
        );
        let differ = c
            .post_htmx(
                &path,
                &[
                    ("password", "a long new password"),
                    ("confirm", "another long one"),
                ],
            )
            .await;
        assert_eq!(differ.status, StatusCode::BAD_REQUEST);
        assert!(
            differ.body.contains("id=\"confirm-error\""),
            "{}",
            differ.body
        );
        assert!(
            !differ.body.contains("a long new password"),
            "a password is never sent back"
        );
        let forged = c
            .post_without_csrf(
                &path,
                &[
                    ("password", "a long new password"),
                    ("confirm", "a long new password"),
                ],
            )
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        read_only_admin(s, "viewer@example.com").await;
        let viewer = ConsoleClient::sign_in(s, "viewer@example.com").await;
        let refused = viewer
            .post(
                &path,
                &[
                    ("password", "a long new password"),
                    ("confirm", "a long new password"),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(
            sessions_of(s, &ada).await["sessions"]
                .as_array()
                .unwrap()
                .len(),
            1
        );

        let done = c
            .post(
                &path,
                &[
                    ("password", "a long new password"),
                    ("confirm", "a long new password"),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let logout = receipt_of(&done);
        let (_, r) = s.get(&format!("/api/v1/logouts/{logout}")).await;
        assert_eq!(r["reason"], "LIFECYCLE", "{r}");
        assert_eq!(sessions_of(s, &ada).await["sessions"], json!([]));
        by_console(
            s,
            &format!("eventType eq \"user.account.reset_password\" and target.id eq \"{ada}\""),
        )
        .await;
        // The new password works; the old one does not.
        let b = browser();
        let old = crate::signin::post_login(
            &b,
            s,
            &[
                ("username", "ada@example.com"),
                ("password", crate::signin::PASSWORD),
            ],
        )
        .await;
        assert_ne!(old.status, StatusCode::SEE_OTHER);
        let new = crate::signin::post_login(
            &b,
            s,
            &[
                ("username", "ada@example.com"),
                ("password", "a long new password"),
            ],
        )
        .await;
        assert_eq!(new.status, StatusCode::SEE_OTHER, "{}", new.body);
    })
    .await;
}

/// An OIDC app whose Logout is off.
fn quiet_app(label: &str) -> serde_json::Value {
    let mut body = crate::support::oidc_app_body(label);
    body["logout"] = serde_json::json!({"enabled": false});
    body
}
