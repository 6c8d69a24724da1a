//! Devices: the list, a device's page, revoke (confirmed), enrollment tokens shown once with the
//! `ulo agent enroll` command line (the token enrolls a real agent); refusals for read-only
//! admins, forged posts and the signed out, with nothing written.

use reqwest::StatusCode;
use serde_json::Value;
use ulo_agent::enroll::{EnrollOptions, enroll};
use ulo_testkit::TestServer;

use super::apps::field_error;
use super::*;
use crate::devices::{ada_agent, set_up};
use crate::signin::{answer, browser, logged};
use crate::support::{on_every_backend, snapshot};

async fn device_json(s: &TestServer, id: &str) -> Value {
    let (status, d) = s.get(&format!("/api/v1/devices/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{d}");
    d
}

/// The text of the element with id `id`.
fn element_text(body: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("#{id} in {body}"))
        + marker.len();
    body[start..start + body[start..].find('<').unwrap()].to_string()
}

#[tokio::test]
async fn devices_are_listed_shown_and_revoked_after_confirming() {
    on_every_backend(async |s| {
        let (ada, _) = set_up(s).await;
        let agent = ada_agent(s, ulo_testkit::now()).await;
        let did = agent.id().to_string();
        let d = device_json(s, &did).await;
        let host = d["hostname"].as_str().unwrap().to_string();
        let c = console(s).await;

        let list = c.get("/admin/devices").await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        let row = &list.body[list
            .body
            .find(&format!("href=\"/admin/devices/{did}\""))
            .expect("the device")..];
        let row = &row[..row.find("</tr>").unwrap()];
        assert!(row.contains(&host), "{row}");
        assert!(row.contains(d["osVersion"].as_str().unwrap()), "{row}");
        assert!(
            row.contains(&format!("<code>{}</code>", ulo_agent::VERSION)),
            "{row}"
        );
        assert!(row.contains(">ACTIVE<"), "{row}");
        assert!(
            row.contains(&format!("href=\"/admin/people/{ada}\">ada@example.com")),
            "{row}"
        );
        assert!(!list.body.contains("Device Logout is off"));
        assert!(list.body.contains("href=\"/admin/devices/enroll\""));

        let page = c.get(&format!("/admin/devices/{did}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body
                .contains(d["certificate"]["serialNumber"].as_str().unwrap())
        );
        assert!(
            page.body.contains("<code>ada</code>"),
            "the account on the device"
        );
        assert!(
            page.body
                .contains(&format!("hx-get=\"/admin/devices/{did}/revoke\""))
        );

        // The confirmation: a dialog for htmx, a page otherwise; neither changes anything.
        let dialog = c.get_htmx(&format!("/admin/devices/{did}/revoke")).await;
        assert_eq!(dialog.status, StatusCode::OK);
        assert!(!dialog.body.contains("<html"), "a fragment");
        assert!(dialog.body.contains("role=\"dialog\"") && dialog.body.contains("Revoke device"));
        assert!(dialog.body.contains("ada@example.com"), "who is seen on it");
        let confirm = c.get(&format!("/admin/devices/{did}/revoke")).await;
        assert!(confirm.body.contains("<html") && confirm.body.contains("Revoke device"));
        assert_eq!(device_json(s, &did).await["status"], "ACTIVE");

        let done = c.post(&format!("/admin/devices/{did}/revoke"), &[]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(device_json(s, &did).await["status"], "REVOKED");
        let page = c.get(done.location()).await;
        assert!(page.body.contains("Device revoked"), "{}", page.body);
        assert!(page.body.contains(">REVOKED<"));
        assert!(
            !page.body.contains("/revoke\""),
            "no Revoke for a revoked device"
        );
        let revoked = logged(
            s,
            &format!("eventType eq \"device.lifecycle.revoke\" and target.id eq \"{did}\""),
        )
        .await;
        assert_eq!(revoked.len(), 1);
        assert_eq!(revoked[0]["client"]["id"], "ulo-admin-console");
        // Its agent is refused from now on.
        let (status, _) = agent.poll(s, ulo_testkit::now(), "ada").await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        let bad = c.get("/admin/devices?after=not-a-device").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
        assert!(bad.body.contains("not a device id"), "{}", bad.body);
        let missing = c
            .get("/admin/devices/01890000-0000-7000-8000-000000000000")
            .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        let missing = c.post("/admin/devices/not-a-device/revoke", &[]).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn an_enrollment_token_is_shown_once_with_the_command_that_enrolls_a_real_agent() {
    on_every_backend(async |s| {
        let c = console(s).await;
        // The feature off: said on the page and beside nothing, the domain's refusal on top.
        let form = c.get("/admin/devices/enroll").await;
        assert_eq!(form.status, StatusCode::OK);
        assert!(form.body.contains("Device Logout is off"));
        let before = snapshot(s).await;
        let off = c
            .post("/admin/devices/enroll", &[("expires_in", "3600")])
            .await;
        assert_eq!(off.status, StatusCode::FORBIDDEN, "{}", off.body);
        assert!(off.body.contains("Settings → Features"), "{}", off.body);
        assert_eq!(snapshot(s).await, before);
        set_up(s).await;

        let before = snapshot(s).await;
        let bad = c
            .post("/admin/devices/enroll", &[("expires_in", "soon")])
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(
            field_error(&bad.body, "expires_in").is_some(),
            "{}",
            bad.body
        );
        let bad = c
            .post("/admin/devices/enroll", &[("expires_in", "10")])
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
        assert!(
            field_error(&bad.body, "expires_in")
                .unwrap()
                .contains("between 60 and 2592000")
        );
        assert_eq!(snapshot(s).await, before);

        let made = c
            .post("/admin/devices/enroll", &[("expires_in", "86400")])
            .await;
        assert_eq!(made.status, StatusCode::OK, "{}", made.body);
        let token = element_text(&made.body, "enrollment-token");
        assert!(token.starts_with("ulo_enroll_"), "{token}");
        let command = element_text(&made.body, "enroll-command");
        assert_eq!(
            command,
            format!(
                "ulo agent enroll --server {} --token {token} --state-dir /var/lib/ulo-agent",
                s.url
            )
        );
        assert!(made.body.contains("data-copy=\"enroll-command\""));
        assert!(made.body.contains("will not show it again"));
        let created = logged(s, "eventType eq \"device.enrollment_token.create\"").await;
        assert_eq!(created.len(), 1);
        assert_eq!(created[0]["client"]["id"], "ulo-admin-console");

        // The token is what the command line says: it enrolls the real agent, once.
        let dir = tempfile::tempdir().unwrap();
        let opts = EnrollOptions {
            server: s.url.clone(),
            token: token.clone(),
            state_dir: dir.path().to_path_buf(),
            agent_version: ulo_agent::VERSION.to_string(),
        };
        let enrolled = enroll(&opts).await.expect("the token enrolls");
        device_json(s, &enrolled.device_id).await;
        let again = tempfile::tempdir().unwrap();
        let reuse = EnrollOptions {
            state_dir: again.path().to_path_buf(),
            ..opts
        };
        assert!(enroll(&reuse).await.is_err(), "single use");
        let list = c.get("/admin/devices").await;
        assert!(
            list.body
                .contains(&format!("/admin/devices/{}", enrolled.device_id))
        );
        assert!(!list.body.contains(&token), "never shown again");
    })
    .await;
}

#[tokio::test]
async fn devices_refuse_read_only_admins_forgeries_and_the_signed_out() {
    on_every_backend(async |s| {
        set_up(s).await;
        let agent = ada_agent(s, ulo_testkit::now()).await;
        let did = agent.id().to_string();
        read_only_admin(s, "viewer@example.com").await;
        let ro = ConsoleClient::sign_in(s, "viewer@example.com").await;
        let list = ro.get("/admin/devices").await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(list.body.contains(&did));
        assert!(!list.body.contains("Create enrollment token"));
        let page = ro.get(&format!("/admin/devices/{did}")).await;
        assert!(!page.body.contains("/revoke\""), "no Revoke: {}", page.body);
        let c = console(s).await;
        let before = snapshot(s).await;
        let posts = [
            (format!("/admin/devices/{did}/revoke"), vec![]),
            (
                "/admin/devices/enroll".to_string(),
                vec![("expires_in", "3600")],
            ),
        ];
        for (path, fields) in &posts {
            let a = ro.post(path, fields).await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}: {}", a.body);
            assert!(a.body.contains("SUPER_ADMIN"), "{path}: {}", a.body);
            let a = c.post_without_csrf(path, fields).await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
            let a = answer(browser().post(format!("{}{path}", s.url)).form(fields)).await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path}");
        }
        for path in ["/admin/devices", "/admin/devices/enroll"] {
            let a = answer(browser().get(format!("{}{path}", s.url))).await;
            assert_eq!(a.status, StatusCode::SEE_OTHER, "{path}");
        }
        assert_eq!(snapshot(s).await, before);
        assert_eq!(device_json(s, &did).await["status"], "ACTIVE");
    })
    .await;
}
