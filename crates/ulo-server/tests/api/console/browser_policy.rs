//! The second seed's Entity Risk Policy step in Chromium: sign in → Security → Entity Risk
//! Policy → Add Rule with the seed's choices (any group, include a detection, any level, Logout
//! and Revoke Tokens reaching the Desktop MFA app) → Save → the rule is listed Enabled. On the
//! way: the level choices change with the detections (htmx), a bad rule shows its error in
//! place and keeps what was chosen, the editor at phone width; then a dry run for a person.
//! Screenshots: `target/screenshots/console_policy-<backend>/`.

use reqwest::StatusCode;
use serde_json::json;

use super::super_admin;
use crate::browser::{browser, submit_password};
use crate::support::{create_user, id, on_every_backend};

/// Scrolls the element with id `id` to the top of the window (for the screenshot).
async fn scroll_to(b: &ulo_testkit::browser::Browser, id: &str) {
    b.client()
        .execute(
            "document.getElementById(arguments[0]).scrollIntoView({block: 'start'});",
            vec![json!(id)],
        )
        .await
        .expect("scroll");
}

#[tokio::test]
async fn the_seeds_rule_is_added_in_chromium() {
    on_every_backend(async |s| {
        let (status, app) = s
            .post(
                "/api/v1/apps",
                json!({"label": "Managed Macs", "type": "desktop-mfa", "logout": {"enabled": true}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{app}");
        let app = id(&app);
        create_user(s, "ada@example.com").await;
        super_admin(s, "root@example.com").await;

        let b = browser(s, "console_policy").await;
        b.client()
            .set_window_size(1280, 900)
            .await
            .expect("window size");
        b.goto(&format!("{}/admin", s.url)).await.expect("open");
        submit_password(&b, "root@example.com").await;
        b.wait_for_text("Entity Risk Policy")
            .await
            .expect("the console's menu");

        // Security → Entity Risk Policy.
        b.click("nav a[href='/admin/security/entity-risk-policy']")
            .await
            .expect("menu entry");
        b.wait_for_text("Default Rule").await.expect("the policy");
        b.screenshot("policy-page").await.expect("screenshot");

        // Add Rule.
        b.click_button("Add Rule").await.expect("Add Rule");
        b.wait_for_text("Rule Name").await.expect("the editor");
        b.fill("name", "Device logout on risk").await.expect("name");
        b.click("#groups-any").await.expect("Any Group");

        // Choosing a detection changes the level choices: a brute-force attack is MEDIUM only.
        b.click("#detections-include").await.expect("include");
        b.click("#detection-BRUTE_FORCE_ATTACK")
            .await
            .expect("brute force");
        b.wait_for_element("#level-HIGH[disabled]")
            .await
            .expect("HIGH is no longer offered");
        b.wait_for_element("#level-LOW[disabled]")
            .await
            .expect("LOW is not offered");
        b.wait_for_element("#level-MEDIUM:not([disabled])")
            .await
            .expect("MEDIUM is");
        b.wait_for_text("The chosen detections can produce only Medium")
            .await
            .expect("says why");
        scroll_to(&b, "level-field").await;
        b.screenshot("levels-for-brute-force")
            .await
            .expect("screenshot");
        // The seed's detection instead: an admin's report (MEDIUM or HIGH).
        b.click("#detection-BRUTE_FORCE_ATTACK")
            .await
            .expect("untick");
        b.click("#detection-ADMIN_REPORTED_USER_RISK")
            .await
            .expect("admin report");
        b.wait_for_element("#level-HIGH:not([disabled])")
            .await
            .expect("HIGH offered again");
        b.wait_for_element("#level-LOW[disabled]")
            .await
            .expect("LOW still not");
        b.click("#level-ANY").await.expect("Any");

        // Logout and Revoke Tokens, reaching the Desktop MFA app.
        b.click("#action-logout").await.expect("Logout and Revoke Tokens");
        b.click("#apps-SPECIFIC").await.expect("chosen apps");
        b.click(&format!("#app-{app}")).await.expect("Managed Macs");
        // The whole editor in one picture, then at phone width.
        b.client()
            .set_window_size(1280, 1750)
            .await
            .expect("a tall window");
        b.screenshot("rule-editor-filled")
            .await
            .expect("screenshot");
        b.client()
            .set_window_size(375, 800)
            .await
            .expect("phone width");
        scroll_to(&b, "action-field").await;
        b.screenshot("rule-editor-phone").await.expect("screenshot");
        b.client()
            .set_window_size(1280, 900)
            .await
            .expect("window size");

        // A bad rule (no name): its error beside the name, the choices kept.
        b.fill("name", "").await.expect("clear the name");
        b.click_button("Save").await.expect("Save");
        b.wait_for_text("The rule was not saved")
            .await
            .expect("refused");
        let err = b
            .wait_for_element("#name-error")
            .await
            .expect("the name's error");
        assert!(
            err.text()
                .await
                .expect("text")
                .contains("Must be 1 to 255 characters"),
        );
        b.wait_for_element(&format!("#app-{app}:checked"))
            .await
            .expect("the app is still chosen");
        b.wait_for_element("#detection-ADMIN_REPORTED_USER_RISK:checked")
            .await
            .expect("the detection is still chosen");
        b.screenshot("bad-rule-error").await.expect("screenshot");

        // Save.
        b.fill("name", "Device logout on risk").await.expect("name");
        b.click_button("Save").await.expect("Save");
        b.wait_for_text("Rule \u{201c}Device logout on risk\u{201d} added.")
            .await
            .expect("back on the policy");
        let pid = {
            let (_, _, list) =
                crate::support::get_with(s, "/api/v1/policies", &[("type", "ENTITY_RISK")]).await;
            id(&list[0])
        };
        let (_, rules) = s.get(&format!("/api/v1/policies/{pid}/rules")).await;
        let rule = &rules[0];
        assert_eq!(rule["name"], "Device logout on risk", "{rules}");
        assert_eq!(
            rule["actions"]["entityRisk"]["actions"][0]["slo"],
            json!({"appSelectionMode": "SPECIFIC", "appInstanceIds": [app]})
        );
        let status = b
            .wait_for_element(&format!("#rule-{} .rule-status", id(rule)))
            .await
            .expect("the rule's status");
        assert_eq!(status.text().await.expect("text"), "Enabled");
        b.click(&format!("#rule-{} details.menu summary", id(rule)))
            .await
            .expect("More");
        b.screenshot("rule-listed").await.expect("screenshot");
        b.client()
            .set_window_size(375, 800)
            .await
            .expect("phone width");
        scroll_to(&b, "rules").await;
        b.screenshot("rule-listed-phone").await.expect("screenshot");
        b.client()
            .set_window_size(1280, 900)
            .await
            .expect("window size");

        // Simulate for a person.
        b.fill("sim-person", "ada@example.com")
            .await
            .expect("person");
        b.click_button("Simulate").await.expect("Simulate");
        let result = b
            .wait_for_element("#sim-result")
            .await
            .expect("the result");
        let text = result.text().await.expect("text");
        assert!(text.contains("Device logout on risk"), "{text}");
        assert!(text.contains("Managed Macs"), "{text}");
        scroll_to(&b, "simulate").await;
        b.screenshot("simulate-result").await.expect("screenshot");
        b.close().await;
    })
    .await;
}

#[tokio::test]
async fn the_other_security_pages_in_chromium() {
    crate::support::on_sqlite(async |s| {
        create_user(s, "ada@example.com").await;
        super_admin(s, "root@example.com").await;
        let b = browser(s, "console_security").await;
        b.client()
            .set_window_size(1280, 1000)
            .await
            .expect("window size");
        b.goto(&format!("{}/admin/security/providers", s.url))
            .await
            .expect("open");
        submit_password(&b, "root@example.com").await;
        b.wait_for_text("Register a provider")
            .await
            .expect("providers");

        // The SSF configuration URL field shows when chosen; a bad one is refused beside it.
        b.fill("name", "Endpoint protection").await.expect("name");
        b.click("#method-wellknown")
            .await
            .expect("by SSF configuration");
        b.fill(
            "well_known_url",
            "http://signals.example.com/.well-known/ssf-configuration",
        )
        .await
        .expect("URL");
        b.click_button("Register").await.expect("Register");
        b.wait_for_text("The provider was not registered")
            .await
            .expect("refused");
        b.wait_for_element("#well_known_url[aria-invalid='true']")
            .await
            .expect("marked");
        b.screenshot("provider-error").await.expect("screenshot");
        b.click("#method-keys").await.expect("by issuer and keys");
        b.fill("issuer", "https://signals.example.com")
            .await
            .expect("issuer");
        b.fill("jwks_url", "https://signals.example.com/keys")
            .await
            .expect("keys");
        b.click_button("Register").await.expect("Register");
        b.wait_for_text("Provider \u{201c}Endpoint protection\u{201d} registered")
            .await
            .expect("registered");
        b.screenshot("providers").await.expect("screenshot");

        // A workflow: its secret shown once.
        b.click("nav a[href='/admin/security/workflows']")
            .await
            .expect("Workflows");
        b.fill("name", "Open a SOC ticket").await.expect("name");
        b.fill("url", "https://hooks.example.com/ulo")
            .await
            .expect("url");
        b.click_button("Register").await.expect("Register");
        let secret = b.wait_for_element("#shown-once").await.expect("the secret");
        assert!(secret.text().await.expect("text").starts_with("ulo_wfs_"));
        b.screenshot("workflow-secret").await.expect("screenshot");

        // An API token, a SCIM credential, a role.
        b.click("nav a[href='/admin/security/api-tokens']")
            .await
            .expect("API tokens");
        b.fill("name", "SIEM automation").await.expect("name");
        b.click_button("Create token").await.expect("create");
        b.wait_for_element("#shown-once").await.expect("the token");
        b.screenshot("api-token").await.expect("screenshot");
        b.click("nav a[href='/admin/security/scim-credentials']")
            .await
            .expect("SCIM credentials");
        b.fill("name", "Workday").await.expect("name");
        b.click_button("Create credential").await.expect("create");
        b.wait_for_element("#shown-once").await.expect("the token");
        b.screenshot("scim-credential").await.expect("screenshot");
        b.click("nav a[href='/admin/security/admins']")
            .await
            .expect("Administrators");
        b.fill("person", "ada@example.com").await.expect("person");
        b.click("#role-READ_ONLY_ADMIN").await.expect("role");
        b.click_button("Grant role").await.expect("grant");
        b.wait_for_text("ada@example.com is now a Read-only admin.")
            .await
            .expect("granted");
        b.screenshot("admins").await.expect("screenshot");
        // Revoke, confirmed in a dialog.
        b.click("a[aria-label='Revoke Read-only admin from ada@example.com']")
            .await
            .expect("Revoke");
        b.wait_for_text("Revoke Read-only admin from")
            .await
            .expect("the dialog");
        b.screenshot("revoke-dialog").await.expect("screenshot");
        b.click_button("Revoke role").await.expect("confirm");
        b.wait_for_text("ada@example.com no longer holds the Read-only admin role.")
            .await
            .expect("revoked");
        b.client()
            .set_window_size(375, 800)
            .await
            .expect("phone width");
        b.screenshot("admins-phone").await.expect("screenshot");
        b.close().await;
    })
    .await;
}
