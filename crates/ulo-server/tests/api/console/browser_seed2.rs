//! The second seed, clicked in Chromium: Settings → Features → enable Device Logout;
//! Applications → the Desktop MFA app → Authentication → Logout on; Devices → an enrollment
//! token shown once, which enrolls a real `ulo agent` (the agent crate's own enroll and run
//! loop, in process, long-polling); People → the person → More actions → Device Logout →
//! Log Out All Devices → the receipt shows the device SUCCEEDED and the agent ran its sign-out.
//! Screenshots of each step: `target/screenshots/seed2_device_logout-<backend>/`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use ulo_testkit::browser::Browser;
use ulo_testkit::{TestServer, wait_for};

use super::*;
use crate::browser::{browser, submit_password};
use crate::support::{create_user, id, on_every_backend};

const WAIT: Duration = Duration::from_secs(30);

/// A sign-out command for the agent: appends the account it was given to a file.
fn signout_script(dir: &Path) -> (String, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let marker = dir.join("signed-out");
    let script = dir.join("signout.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n",
            marker.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script.display().to_string(), marker)
}

/// The sign-outs the agent ran so far (one account per line).
fn signed_out(marker: &Path) -> Vec<String> {
    std::fs::read_to_string(marker)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// A real agent enrolled with `token`, running its long-poll loop in this process until the
/// answered sender is dropped or sent.
struct RunningAgent {
    device_id: String,
    marker: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl RunningAgent {
    async fn enroll_and_run(s: &TestServer, token: &str, console_user: &str) -> RunningAgent {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = dir.path().join("state");
        let enrolled = ulo_agent::enroll::enroll(&ulo_agent::enroll::EnrollOptions {
            server: s.url.clone(),
            token: token.to_string(),
            state_dir: state_dir.clone(),
            agent_version: ulo_agent::VERSION.to_string(),
        })
        .await
        .expect("the console's token enrolls the agent");
        let (script, marker) = signout_script(dir.path());
        let opts = ulo_agent::run::RunOptions {
            state_dir,
            poll_interval: 900,
            long_poll: true,
            once: false,
            signout_command: script,
            console_user: Some(console_user.to_string()),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            ulo_agent::run::run(opts, async {
                let _ = stopped.await;
            })
            .await
            .expect("the agent runs");
        });
        RunningAgent {
            device_id: enrolled.device_id,
            marker,
            stop: Some(stop),
            task,
            _dir: dir,
        }
    }

    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = tokio::time::timeout(WAIT, &mut self.task).await;
    }
}

/// Waits until the API lists `device` among `user`'s devices (the agent's first poll).
async fn seen_with(s: &TestServer, user: &str, device: &str) {
    wait_for(
        "the agent to report the person at the console",
        WAIT,
        || async {
            let (status, v) = s.get(&format!("/api/v1/users/{user}/devices")).await;
            assert_eq!(status, StatusCode::OK, "{v}");
            v.as_array()
                .unwrap()
                .iter()
                .any(|d| d["id"] == device)
                .then_some(())
        },
    )
    .await;
}

async fn feature_status(s: &TestServer) -> Value {
    let (_, all) = s.get("/api/v1/features").await;
    all.as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "device-logout")
        .cloned()
        .unwrap()["status"]
        .clone()
}

/// Clicks the sidebar entry `href`.
async fn nav(b: &Browser, href: &str) {
    b.click(&format!("nav.sidebar a[href=\"{href}\"]"))
        .await
        .unwrap_or_else(|e| panic!("the menu entry {href}: {e:#}"));
}

#[tokio::test]
async fn seed2_device_logout_in_chromium() {
    on_every_backend(async |s| {
        super_admin(s, "console-admin@example.com").await;
        let ada = create_user(s, "ada@example.com").await;
        let ada_id = id(&ada);
        let (status, desk) = s
            .post(
                "/api/v1/apps",
                json!({"label": "Desktop MFA", "type": "desktop-mfa", "logout": {"enabled": false}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{desk}");
        let b = browser(s, "seed2_device_logout").await;
        b.client().set_window_size(1280, 900).await.expect("window");
        b.goto(&format!("{}/admin", s.url)).await.expect("open");
        submit_password(&b, "console-admin@example.com").await;
        b.wait_for_text("What needs attention now.").await.expect("the dashboard");

        // Settings → Features → enable Device Logout.
        nav(&b, "/admin/settings/features").await;
        b.wait_for_text("Early Access").await.expect("features");
        b.screenshot("features-device-logout-off").await.unwrap();
        b.click("button[role=switch][aria-label=\"Device Logout\"]").await.expect("the switch");
        b.wait_for_text("Device Logout is on.").await.expect("turned on");
        b.wait_for_element("button[role=switch][aria-checked=\"true\"]").await.expect("on");
        b.screenshot("features-device-logout-on").await.unwrap();
        assert_eq!(feature_status(s).await, "ENABLED");

        // Applications → the Desktop MFA app → Authentication → Logout on → Save.
        nav(&b, "/admin/apps").await;
        b.click(&format!("a[href=\"/admin/apps/{}\"]", id(&desk))).await.expect("the app");
        b.click(&format!("nav.tabs a[href=\"/admin/apps/{}?tab=authentication\"]", id(&desk)))
            .await
            .expect("the Authentication tab");
        b.wait_for_element("#logout_enabled").await.expect("the Logout toggle");
        b.click("#logout_enabled").await.expect("Logout on");
        b.screenshot("desktop-mfa-logout-toggle").await.unwrap();
        b.click_button("Save").await.expect("save");
        b.wait_for_text("Logout settings saved.").await.expect("saved");
        b.wait_for_element("#logout_enabled:checked").await.expect("shown on");
        b.screenshot("desktop-mfa-logout-on").await.unwrap();
        let (_, app) = s.get(&format!("/api/v1/apps/{}", id(&desk))).await;
        assert_eq!(app["logout"]["enabled"], true, "{app}");

        // Devices → Create enrollment token → shown once → a real agent enrolls with it.
        nav(&b, "/admin/devices").await;
        b.wait_for_text("No computer is enrolled yet.").await.expect("devices");
        b.click("a[href=\"/admin/devices/enroll\"]").await.expect("create token");
        b.click_button("Create token").await.expect("create");
        let token = b
            .wait_for_element("#enrollment-token")
            .await
            .expect("the token")
            .text()
            .await
            .unwrap();
        let command = b.field("enroll-command").await.unwrap().text().await.unwrap();
        assert!(command.starts_with(&format!("ulo agent enroll --server {} --token {token}", s.url)), "{command}");
        b.screenshot("enrollment-token-shown-once").await.unwrap();
        let agent = RunningAgent::enroll_and_run(s, &token, "ada").await;
        seen_with(s, &ada_id, &agent.device_id).await;
        b.click("a.btn-primary[href=\"/admin/devices\"]").await.expect("done");
        b.wait_for_text("ada@example.com").await.expect("the device with Ada");
        b.screenshot("devices-list").await.unwrap();

        // People → Ada → More actions → Device Logout → Log Out All Devices.
        let (_, device) = s.get(&format!("/api/v1/devices/{}", agent.device_id)).await;
        let hostname = device["hostname"].as_str().unwrap().to_string();
        person_device_logout(&b, &ada_id, &hostname, &agent).await;

        // Security → Entity Risk Policy → Add Rule → Save; Elevate risk level → signed out again.
        add_the_seeds_rule(&b, s, &id(&desk)).await;
        elevate_risk(&b, s, &ada_id, &hostname, &agent).await;

        // One phone-width look at the applications list.
        b.client().set_window_size(375, 800).await.expect("phone width");
        b.goto(&format!("{}/admin/apps", s.url)).await.unwrap();
        b.wait_for_text("Desktop MFA").await.unwrap();
        b.screenshot("apps-list-phone").await.unwrap();
        agent.stop().await;
        b.close().await;
    })
    .await;
}

/// Waits until the receipt's row of `name` is SUCCEEDED (filled in live, over SSE).
async fn target_succeeded(b: &Browser, name: &str) {
    b.wait_for_element(&format!("tr.target-SUCCEEDED[data-name=\"{name}\"]"))
        .await
        .unwrap_or_else(|e| panic!("{name} SUCCEEDED on the receipt: {e:#}"));
}

/// People → the person → More actions → Device Logout → Log Out All Devices → the receipt shows
/// the device SUCCEEDED, and the agent ran the sign-out for the person's account.
async fn person_device_logout(b: &Browser, user: &str, hostname: &str, agent: &RunningAgent) {
    nav(b, "/admin/people").await;
    b.click(&format!("a[href=\"/admin/people/{user}\"]"))
        .await
        .expect("the person");
    b.click("#more-actions summary")
        .await
        .expect("More actions");
    b.click("#more-actions a[href$='/device-logout']")
        .await
        .expect("Device Logout");
    b.wait_for_element("#device-list")
        .await
        .expect("the dialog lists the devices first");
    b.wait_for_text(hostname).await.expect("the agent's device");
    b.screenshot("device-logout-dialog").await.unwrap();
    b.click_button("Log Out All Devices")
        .await
        .expect("Log Out All Devices");
    b.wait_for_url("the receipt", |u| u.path().starts_with("/admin/logouts/"))
        .await
        .expect("the receipt page");
    target_succeeded(b, hostname).await;
    b.screenshot("device-logout-receipt").await.unwrap();
    assert_eq!(signed_out(&agent.marker), ["ada"]);
}

/// Security → Entity Risk Policy → Add Rule with the seed's choices (any group, include a
/// detection, any level, Logout and Revoke Tokens for the Desktop MFA app) → Save → Enabled.
async fn add_the_seeds_rule(b: &Browser, s: &TestServer, desktop_app: &str) {
    nav(b, "/admin/security/entity-risk-policy").await;
    b.click_button("Add Rule").await.expect("Add Rule");
    b.wait_for_text("Rule Name").await.expect("the rule editor");
    b.fill("name", "Sign out of devices on risk")
        .await
        .expect("Rule Name");
    b.click("#groups-any").await.expect("Any Group");
    b.click("#detections-include")
        .await
        .expect("Include at least one of the following detections");
    b.click("#detection-ADMIN_REPORTED_USER_RISK")
        .await
        .expect("a detection");
    b.wait_for_element("#level-ANY:not([disabled])")
        .await
        .expect("Any offered");
    b.click("#level-ANY").await.expect("Any");
    b.click("#action-logout")
        .await
        .expect("Logout and Revoke Tokens");
    b.click("#apps-SPECIFIC")
        .await
        .expect("Partial Universal Logout");
    b.click(&format!("#app-{desktop_app}"))
        .await
        .expect("the Desktop MFA app");
    b.screenshot("rule-editor").await.unwrap();
    b.click_button("Save").await.expect("Save");
    b.wait_for_text("Sign out of devices on risk\u{201d} added.")
        .await
        .expect("back on the policy");
    let rule = rule_named(s, "Sign out of devices on risk").await;
    assert_eq!(
        rule["actions"]["entityRisk"]["actions"][0]["slo"],
        json!({"appSelectionMode": "SPECIFIC", "appInstanceIds": [desktop_app]}),
        "{rule}"
    );
    let status = b
        .wait_for_element(&format!("#rule-{} .rule-status", id(&rule)))
        .await
        .expect("the rule is listed");
    assert_eq!(status.text().await.unwrap(), "Enabled");
    b.screenshot("rule-listed-enabled").await.unwrap();
}

/// The person → More actions → Elevate risk level → the policy's rule signs them out of the
/// device again: the agent runs a second sign-out and the new receipt shows it SUCCEEDED.
async fn elevate_risk(
    b: &Browser,
    s: &TestServer,
    user: &str,
    hostname: &str,
    agent: &RunningAgent,
) {
    let before = logouts_of(s, user).await;
    nav(b, "/admin/people").await;
    b.click(&format!("a[href=\"/admin/people/{user}\"]"))
        .await
        .expect("the person");
    b.click("#more-actions summary")
        .await
        .expect("More actions");
    b.click("#more-actions a[href$='/risk']")
        .await
        .expect("Elevate risk level");
    b.wait_for_element("input[name=level][value=HIGH]")
        .await
        .expect("the levels");
    b.click("input[name=level][value=HIGH]")
        .await
        .expect("HIGH");
    b.fill("reason", "laptop left unlocked in a café")
        .await
        .unwrap();
    b.screenshot("elevate-risk-dialog").await.unwrap();
    b.click_button("Elevate risk level").await.expect("Elevate");
    let logout = wait_for("the policy's logout", WAIT, || async {
        logouts_of(s, user)
            .await
            .into_iter()
            .find(|l| !before.contains(l))
    })
    .await;
    wait_for("the agent's second sign-out", WAIT, || async {
        (signed_out(&agent.marker).len() == 2).then_some(())
    })
    .await;
    assert_eq!(signed_out(&agent.marker), ["ada", "ada"]);
    b.goto(&format!("{}/admin/logouts/{logout}", s.url))
        .await
        .unwrap();
    target_succeeded(b, hostname).await;
    b.screenshot("policy-device-logout-receipt").await.unwrap();
}

/// The entity risk policy's rule named `name`, from the API.
async fn rule_named(s: &TestServer, name: &str) -> Value {
    let (status, _, policies) =
        crate::support::get_with(s, "/api/v1/policies", &[("type", "ENTITY_RISK")]).await;
    assert_eq!(status, StatusCode::OK, "{policies}");
    let (status, rules) = s
        .get(&format!("/api/v1/policies/{}/rules", id(&policies[0])))
        .await;
    assert_eq!(status, StatusCode::OK, "{rules}");
    rules
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no rule {name:?} in {rules}"))
}

/// The ids of `user`'s logouts.
async fn logouts_of(s: &TestServer, user: &str) -> Vec<String> {
    let (status, _, v) =
        crate::support::get_with(s, "/api/v1/logouts", &[("userId", user), ("limit", "200")]).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v.as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect()
}
