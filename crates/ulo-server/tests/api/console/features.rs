//! Settings → Features: the early-access flags with on/off, the same calls as the API, refused
//! for read-only admins, forged posts and the signed out, with nothing written.

use reqwest::StatusCode;

use super::*;
use crate::signin::{answer, browser, logged};
use crate::support::{on_every_backend, snapshot};

async fn device_logout_status(s: &ulo_testkit::TestServer) -> String {
    let (status, all) = s.get("/api/v1/features").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    all.as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "device-logout")
        .expect("device-logout")["status"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn device_logout_is_turned_on_and_off() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let page = c.get("/admin/settings/features").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("Device Logout") && page.body.contains("Early Access"));
        assert!(
            page.body
                .contains("aria-checked=\"false\" aria-label=\"Device Logout\""),
            "{}",
            page.body
        );
        assert!(
            page.body
                .contains("action=\"/admin/settings/features/device-logout/enable\"")
        );

        let on = c
            .post("/admin/settings/features/device-logout/enable", &[])
            .await;
        assert_eq!(on.status, StatusCode::SEE_OTHER, "{}", on.body);
        assert_eq!(device_logout_status(s).await, "ENABLED");
        let page = c.get(on.location()).await;
        assert!(page.body.contains("Device Logout is on."), "{}", page.body);
        assert!(
            page.body
                .contains("aria-checked=\"true\" aria-label=\"Device Logout\"")
        );
        assert!(
            page.body
                .contains("action=\"/admin/settings/features/device-logout/disable\"")
        );
        let enabled = logged(
            s,
            "eventType eq \"system.feature.enable\" and target.id eq \"device-logout\"",
        )
        .await;
        assert_eq!(enabled.len(), 1, "{enabled:?}");
        assert_eq!(enabled[0]["client"]["id"], "ulo-admin-console");
        assert_eq!(
            enabled[0]["actor"]["alternateId"],
            "console-admin@example.com"
        );

        let off = c
            .post("/admin/settings/features/device-logout/disable", &[])
            .await;
        assert_eq!(off.status, StatusCode::SEE_OTHER);
        assert_eq!(device_logout_status(s).await, "DISABLED");
        assert!(
            c.get(off.location())
                .await
                .body
                .contains("Device Logout is off.")
        );
        let disabled = logged(s, "eventType eq \"system.feature.disable\"").await;
        assert_eq!(disabled[0]["client"]["id"], "ulo-admin-console");

        let unknown = c
            .post("/admin/settings/features/time-travel/enable", &[])
            .await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
        let bad = c
            .post("/admin/settings/features/device-logout/toggle", &[])
            .await;
        assert_eq!(bad.status, StatusCode::NOT_FOUND);
        assert!(bad.body.contains("enable") && bad.body.contains("disable"));
    })
    .await;
}

#[tokio::test]
async fn features_refuse_read_only_admins_forgeries_and_the_signed_out() {
    on_every_backend(async |s| {
        read_only_admin(s, "viewer@example.com").await;
        let ro = ConsoleClient::sign_in(s, "viewer@example.com").await;
        let page = ro.get("/admin/settings/features").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Device Logout"));
        assert!(
            !page.body.contains("role=\"switch\""),
            "no switch for a read-only admin"
        );
        assert!(!page.body.contains("/enable\""));
        let c = console(s).await;
        let before = snapshot(s).await;
        let path = "/admin/settings/features/device-logout/enable";
        let a = ro.post(path, &[]).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
        assert!(a.body.contains("SUPER_ADMIN"), "{}", a.body);
        let a = c.post_without_csrf(path, &[]).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        let a = answer(browser().post(format!("{}{path}", s.url))).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        let a = answer(browser().get(format!("{}/admin/settings/features", s.url))).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        assert_eq!(snapshot(s).await, before);
        assert_eq!(device_logout_status(s).await, "DISABLED");
    })
    .await;
}
