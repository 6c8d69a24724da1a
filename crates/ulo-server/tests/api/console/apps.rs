//! Applications: the list, Add Application (the secret shown once, each error beside its field),
//! an app's Logout settings (a stale form refused), the desktop-mfa app's Logout toggle,
//! activate/deactivate, assignments, recent deliveries; refusals for the signed out, read-only
//! admins and forged posts, with nothing written.

use reqwest::StatusCode;
use serde_json::{Value, json};
use ulo_testkit::TestServer;

use super::*;
use crate::logout::{FakeApps, final_receipt, logout_app};
use crate::signin::{answer, browser, logged};
use crate::support::{create_app, create_group, create_user, id, on_every_backend, snapshot};

/// The text of the field error shown beside `field` (`<p class="field-error" id="FIELD-error">`).
pub fn field_error(body: &str, field: &str) -> Option<String> {
    let marker = format!("id=\"{field}-error\">");
    let start = body.find(&marker)? + marker.len();
    let len = body[start..].find("</p>")?;
    Some(body[start..start + len].to_string())
}

/// The events of `event_type` naming `target`, each checked to come from the console.
async fn console_events(s: &TestServer, event_type: &str, target: &str) -> Vec<Value> {
    let found = logged(
        s,
        &format!("eventType eq \"{event_type}\" and target.id eq \"{target}\""),
    )
    .await;
    for e in &found {
        assert_eq!(e["client"]["id"], "ulo-admin-console", "{e}");
        assert_eq!(
            e["actor"]["alternateId"], "console-admin@example.com",
            "{e}"
        );
    }
    found
}

async fn desktop_mfa(s: &TestServer, logout: bool) -> Value {
    let (status, app) = s
        .post(
            "/api/v1/apps",
            json!({"label": "Desktop MFA", "type": "desktop-mfa", "logout": {"enabled": logout}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{app}");
    app
}

async fn app_json(s: &TestServer, id: &str) -> Value {
    let (status, app) = s.get(&format!("/api/v1/apps/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{app}");
    app
}

#[tokio::test]
async fn the_list_shows_type_status_logout_and_assignments() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let vault = create_app(s, "Vault").await;
        let desk = desktop_mfa(s, false).await;
        let ada = create_user(s, "ada@example.com").await;
        let group = create_group(s, "Engineering").await;
        let (status, v) = s
            .post(
                &format!("/api/v1/apps/{}/users", id(&vault)),
                json!({"id": id(&ada)}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        let (status, v) = s
            .put(
                &format!("/api/v1/apps/{}/groups/{}", id(&vault), id(&group)),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");

        let page = c.get("/admin/apps").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let row = |label: &str| {
            let at = page.body.find(&format!(">{label}</a>")).expect(label);
            let end = page.body[at..].find("</tr>").unwrap();
            page.body[at..at + end].to_string()
        };
        let v = row("Vault");
        assert!(v.contains("OIDC") && v.contains("ACTIVE"), "{v}");
        assert!(
            v.contains("Logout enabled") && v.contains("Global Token Revocation"),
            "{v}"
        );
        assert!(v.contains("1 person · 1 group"), "{v}");
        let d = row("Desktop MFA");
        assert!(
            d.contains("Desktop MFA") && d.contains(">Off<") && d.contains("None"),
            "{d}"
        );
        assert!(page.body.contains("href=\"/admin/apps/new\""));
        assert!(
            page.body
                .contains(&format!("href=\"/admin/apps/{}\"", id(&desk)))
        );

        let found = c.get("/admin/apps?q=vau").await;
        assert!(found.body.contains(">Vault</a>") && !found.body.contains(">Desktop MFA</a>"));
        let none = c.get("/admin/apps?q=zzz").await;
        assert!(
            none.body.contains("No application's label starts with"),
            "{}",
            none.body
        );

        // Signed out: to the sign-in and back.
        let a = answer(browser().get(format!("{}/admin/apps", s.url))).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        assert!(
            a.location()
                .starts_with("/admin/signin?return_to=%2Fadmin%2Fapps")
        );
    })
    .await;
}

#[tokio::test]
async fn add_application_shows_the_secret_once_and_each_error_beside_its_field() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let form = c.get("/admin/apps/new").await;
        assert_eq!(form.status, StatusCode::OK);
        for field in ["label", "redirect_uris", "logout_endpoint", "scim_base_url"] {
            assert!(form.body.contains(&format!("id=\"{field}\"")), "{field}");
        }

        let before = snapshot(s).await;
        let bad = c
            .post(
                "/admin/apps/new",
                &[
                    ("label", ""),
                    ("app_type", "oidc"),
                    ("redirect_uris", "https://ok.example/cb\nnot a url"),
                    ("auth_method", "client_secret_basic"),
                    ("logout_enabled", "on"),
                    ("logout_protocol", "global-token-revocation"),
                    ("logout_endpoint", "ftp://vault.example.com/logout"),
                    ("subject_format", "email"),
                    ("scim_base_url", "https://vault.example.com/scim#x"),
                    ("scim_token", "s3cret-scim-token"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
        assert!(
            bad.body.contains("The application was not created."),
            "{}",
            bad.body
        );
        assert!(
            field_error(&bad.body, "label")
                .unwrap()
                .contains("cannot be left blank")
        );
        assert!(
            field_error(&bad.body, "redirect_uris")
                .unwrap()
                .contains("not a valid URL")
        );
        assert!(
            field_error(&bad.body, "grant_types")
                .unwrap()
                .contains("at least one grant type")
        );
        assert!(
            field_error(&bad.body, "logout_endpoint").is_some(),
            "{}",
            bad.body
        );
        assert!(
            field_error(&bad.body, "scim_base_url")
                .unwrap()
                .contains("fragment")
        );
        // What was typed is kept, the SCIM credential is not shown back.
        assert!(bad.body.contains("not a url</textarea>"), "{}", bad.body);
        assert!(!bad.body.contains("s3cret-scim-token"));
        let bad = c
            .post(
                "/admin/apps/new",
                &[
                    ("label", "Keys"),
                    ("app_type", "oidc"),
                    ("auth_method", "magic"),
                    ("jwks", "{not json"),
                    ("grant_authorization_code", "on"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
        assert!(field_error(&bad.body, "auth_method").is_some());
        assert!(field_error(&bad.body, "jwks").unwrap().contains("not JSON"));
        let bad = c
            .post(
                "/admin/apps/new",
                &[
                    ("label", "Keys"),
                    ("app_type", "saml"),
                    ("auth_method", "none"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(field_error(&bad.body, "app_type").is_some());
        assert_eq!(snapshot(s).await, before, "nothing was written");

        let made = c
            .post(
                "/admin/apps/new",
                &[
                    ("label", "Vault"),
                    ("app_type", "oidc"),
                    ("redirect_uris", "https://vault.example.com/cb"),
                    ("auth_method", "client_secret_basic"),
                    ("grant_authorization_code", "on"),
                    ("grant_refresh_token", "on"),
                    ("logout_enabled", "on"),
                    ("logout_protocol", "global-token-revocation"),
                    (
                        "logout_endpoint",
                        "https://vault.example.com/global-token-revocation",
                    ),
                    ("subject_format", "email"),
                    ("scim_base_url", "https://vault.example.com/scim/v2"),
                    ("scim_token", "s3cret-scim-token"),
                ],
            )
            .await;
        assert_eq!(made.status, StatusCode::OK, "{}", made.body);
        assert!(made.body.contains("not show it again"), "{}", made.body);
        let secret_at = made.body.find("id=\"client-secret\">").expect("the secret") + 19;
        let secret = &made.body[secret_at..secret_at + made.body[secret_at..].find('<').unwrap()];
        assert_eq!(secret.len(), 40, "{secret}");
        assert!(made.body.contains("data-copy=\"client-secret\""));
        let (_, apps) = s.get("/api/v1/apps?q=Vault").await;
        let app = &apps[0];
        assert_eq!(app["label"], "Vault");
        assert_eq!(
            app["logout"]["endpoint"],
            "https://vault.example.com/global-token-revocation"
        );
        assert_eq!(app["provisioning"]["scim"]["tokenSet"], true);
        assert_eq!(
            app["oidc"]["grantTypes"],
            json!(["authorization_code", "refresh_token"])
        );
        assert!(
            made.body
                .contains(app["oidc"]["clientId"].as_str().unwrap())
        );
        // The secret works at the token endpoint's client authentication, and is not shown again.
        let client_id = app["oidc"]["clientId"].as_str().unwrap();
        let (status, _, _) = crate::support::send(
            crate::support::anonymous(s, reqwest::Method::POST, "/oauth2/v1/introspect")
                .basic_auth(client_id, Some(secret))
                .form(&[("token", "nothing")]),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "the new secret authenticates the client"
        );
        let shown = c.get(&format!("/admin/apps/{}", id(app))).await;
        assert!(!shown.body.contains(secret));
        let created = console_events(s, "application.lifecycle.create", &id(app)).await;
        assert_eq!(created.len(), 1);

        // A second desktop-mfa app: the conflict beside the type.
        desktop_mfa(s, false).await;
        let dup = c
            .post(
                "/admin/apps/new",
                &[
                    ("label", "Macs"),
                    ("app_type", "desktop-mfa"),
                    ("auth_method", "none"),
                ],
            )
            .await;
        assert_eq!(dup.status, StatusCode::CONFLICT, "{}", dup.body);
        assert!(
            field_error(&dup.body, "app_type")
                .unwrap()
                .contains("already a desktop-mfa app")
        );
        // A public client has no secret: straight to the app.
        let public = c
            .post(
                "/admin/apps/new",
                &[
                    ("label", "CLI"),
                    ("app_type", "oidc"),
                    ("redirect_uris", "http://127.0.0.1:8080/cb"),
                    ("auth_method", "none"),
                    ("grant_authorization_code", "on"),
                ],
            )
            .await;
        assert_eq!(public.status, StatusCode::SEE_OTHER, "{}", public.body);
        assert!(public.location().ends_with("?done=created"));
        let page = c.get(public.location()).await;
        assert!(page.body.contains("Application created."), "{}", page.body);
    })
    .await;
}

/// The `version` hidden field of the Logout form.
fn version(body: &str) -> String {
    let marker = "name=\"version\" value=\"";
    let start = body.find(marker).expect("the version field") + marker.len();
    body[start..start + body[start..].find('"').unwrap()].to_string()
}

#[tokio::test]
async fn logout_settings_are_edited_and_a_stale_form_is_refused() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let app = create_app(s, "Vault").await;
        let aid = id(&app);
        let path = format!("/admin/apps/{aid}/logout");
        let tab = c
            .get(&format!("/admin/apps/{aid}?tab=authentication"))
            .await;
        assert_eq!(tab.status, StatusCode::OK);
        assert!(tab.body.contains("Sign on: OpenID Connect"));
        assert!(tab.body.contains(app["oidc"]["clientId"].as_str().unwrap()));
        let v = version(&tab.body);

        // Bad input: beside the field, nothing changed.
        let before = snapshot(s).await;
        let bad = c
            .post(
                &path,
                &[
                    ("version", &v),
                    ("logout_enabled", "on"),
                    ("logout_protocol", "oidc-backchannel"),
                    ("logout_endpoint", ""),
                    ("subject_format", "email"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
        assert!(
            field_error(&bad.body, "logout_endpoint")
                .unwrap()
                .contains("required")
        );
        assert!(bad.body.contains("The Logout settings were not saved."));
        let bad = c
            .post(
                &path,
                &[
                    ("version", &v),
                    ("logout_protocol", "carrier-pigeon"),
                    ("subject_format", "email"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(field_error(&bad.body, "logout_protocol").is_some());
        assert_eq!(snapshot(s).await, before);

        let saved = c
            .post(
                &path,
                &[
                    ("version", &v),
                    ("logout_enabled", "on"),
                    ("logout_protocol", "oidc-backchannel"),
                    ("logout_endpoint", "https://vault.example.com/backchannel"),
                    ("subject_format", "iss_sub"),
                ],
            )
            .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        let now = app_json(s, &aid).await;
        assert_eq!(now["logout"]["protocol"], "oidc-backchannel");
        assert_eq!(
            now["logout"]["endpoint"],
            "https://vault.example.com/backchannel"
        );
        assert_eq!(now["logout"]["subjectFormat"], "iss_sub");
        // Everything else kept.
        assert_eq!(now["oidc"]["clientId"], app["oidc"]["clientId"]);
        assert_eq!(now["oidc"]["redirectUris"], app["oidc"]["redirectUris"]);
        let shown = c.get(saved.location()).await;
        assert!(
            shown.body.contains("Logout settings saved."),
            "{}",
            shown.body
        );
        assert_eq!(
            console_events(s, "application.lifecycle.update", &aid)
                .await
                .len(),
            1
        );

        // The form the admin still has is stale now: 409, nothing changed.
        let before = snapshot(s).await;
        let stale = c
            .post(
                &path,
                &[
                    ("version", &v),
                    ("logout_protocol", "ssf"),
                    ("logout_endpoint", "https://x.example/ssf"),
                    ("subject_format", "email"),
                ],
            )
            .await;
        assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
        assert!(stale.body.contains("changed meanwhile"), "{}", stale.body);
        assert!(
            stale.body.contains("https://vault.example.com/backchannel"),
            "the settings as they are now"
        );
        assert_eq!(snapshot(s).await, before);
        assert_eq!(
            app_json(s, &aid).await["logout"]["protocol"],
            "oidc-backchannel"
        );

        // Off.
        let v = version(
            &c.get(&format!("/admin/apps/{aid}?tab=authentication"))
                .await
                .body,
        );
        let off = c
            .post(
                &path,
                &[
                    ("version", &v),
                    ("logout_protocol", "oidc-backchannel"),
                    ("logout_endpoint", "https://vault.example.com/backchannel"),
                    ("subject_format", "iss_sub"),
                ],
            )
            .await;
        assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.body);
        assert_eq!(app_json(s, &aid).await["logout"]["enabled"], false);

        let missing = c
            .post(
                "/admin/apps/01890000-0000-7000-8000-000000000000/logout",
                &[("version", "1")],
            )
            .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn the_desktop_mfa_app_has_the_logout_toggle() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let desk = desktop_mfa(s, false).await;
        let aid = id(&desk);
        let tab = c
            .get(&format!("/admin/apps/{aid}?tab=authentication"))
            .await;
        assert_eq!(tab.status, StatusCode::OK);
        assert!(
            tab.body
                .contains("<label for=\"logout_enabled\">Logout</label>"),
            "{}",
            tab.body
        );
        assert!(
            !tab.body.contains("name=\"logout_endpoint\""),
            "no endpoint for devices"
        );
        assert!(!tab.body.contains("Sign on: OpenID Connect"));
        let on = c
            .post(
                &format!("/admin/apps/{aid}/logout"),
                &[("version", &version(&tab.body)), ("logout_enabled", "on")],
            )
            .await;
        assert_eq!(on.status, StatusCode::SEE_OTHER, "{}", on.body);
        assert_eq!(app_json(s, &aid).await["logout"]["enabled"], true);
        let tab = c.get(on.location()).await;
        assert!(tab.body.contains("role=\"switch\" checked"), "{}", tab.body);
        let off = c
            .post(
                &format!("/admin/apps/{aid}/logout"),
                &[("version", &version(&tab.body))],
            )
            .await;
        assert_eq!(off.status, StatusCode::SEE_OTHER);
        assert_eq!(app_json(s, &aid).await["logout"]["enabled"], false);
        assert_eq!(
            console_events(s, "application.lifecycle.update", &aid)
                .await
                .len(),
            2
        );
    })
    .await;
}

#[tokio::test]
async fn an_app_is_deactivated_and_activated() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let app = create_app(s, "Vault").await;
        let aid = id(&app);
        let page = c.get(&format!("/admin/apps/{aid}")).await;
        assert!(page.body.contains(&format!(
            "action=\"/admin/apps/{aid}/lifecycle/deactivate\""
        )));
        let off = c
            .post(&format!("/admin/apps/{aid}/lifecycle/deactivate"), &[])
            .await;
        assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.body);
        assert_eq!(app_json(s, &aid).await["status"], "INACTIVE");
        let page = c.get(off.location()).await;
        assert!(page.body.contains("Application deactivated"));
        assert!(
            page.body
                .contains(&format!("action=\"/admin/apps/{aid}/lifecycle/activate\""))
        );
        assert_eq!(
            console_events(s, "application.lifecycle.deactivate", &aid)
                .await
                .len(),
            1
        );
        let on = c
            .post(&format!("/admin/apps/{aid}/lifecycle/activate"), &[])
            .await;
        assert_eq!(on.status, StatusCode::SEE_OTHER);
        assert_eq!(app_json(s, &aid).await["status"], "ACTIVE");
        assert_eq!(
            console_events(s, "application.lifecycle.activate", &aid)
                .await
                .len(),
            1
        );
        let bad = c
            .post(&format!("/admin/apps/{aid}/lifecycle/explode"), &[])
            .await;
        assert_eq!(bad.status, StatusCode::NOT_FOUND);
        assert!(bad.body.contains("use activate or deactivate"));
        let missing = c.get("/admin/apps/not-an-id").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn people_and_groups_are_assigned_and_removed() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let app = create_app(s, "Vault").await;
        let aid = id(&app);
        let ada = create_user(s, "ada@example.com").await;
        let group = create_group(s, "Engineering").await;
        let tab = c.get(&format!("/admin/apps/{aid}?tab=assignments")).await;
        assert!(tab.body.contains("No one is assigned directly."));
        assert!(
            tab.body.contains("<option value=\"Engineering\">"),
            "the group names offered"
        );

        let before = snapshot(s).await;
        let nobody = c
            .post(
                &format!("/admin/apps/{aid}/users"),
                &[("person", "nobody@example.com")],
            )
            .await;
        assert_eq!(nobody.status, StatusCode::NOT_FOUND, "{}", nobody.body);
        assert!(
            field_error(&nobody.body, "person")
                .unwrap()
                .contains("nobody@example.com")
        );
        assert!(
            nobody.body.contains("value=\"nobody@example.com\""),
            "what was typed is kept"
        );
        let empty = c
            .post(&format!("/admin/apps/{aid}/users"), &[("person", " ")])
            .await;
        assert_eq!(empty.status, StatusCode::BAD_REQUEST);
        assert!(field_error(&empty.body, "person").is_some());
        let none = c
            .post(
                &format!("/admin/apps/{aid}/groups"),
                &[("group", "Engineers")],
            )
            .await;
        assert_eq!(none.status, StatusCode::NOT_FOUND);
        let e = field_error(&none.body, "group").unwrap();
        assert!(
            e.contains("No group is named") && e.contains("Engineering"),
            "{e}"
        );
        assert_eq!(snapshot(s).await, before);

        let a = c
            .post(
                &format!("/admin/apps/{aid}/users"),
                &[("person", "ada@example.com")],
            )
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let a = c
            .post(
                &format!("/admin/apps/{aid}/groups"),
                &[("group", "engineering")],
            )
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let (_, users) = s.get(&format!("/api/v1/apps/{aid}/users")).await;
        assert_eq!(users[0]["id"], id(&ada));
        let (_, groups) = s.get(&format!("/api/v1/apps/{aid}/groups")).await;
        assert_eq!(groups[0]["id"], id(&group));
        assert_eq!(
            console_events(s, "application.user_membership.add", &aid)
                .await
                .len(),
            1
        );
        assert_eq!(
            console_events(s, "group.application_assignment.add", &aid)
                .await
                .len(),
            1
        );
        let tab = c.get(a.location()).await;
        assert!(tab.body.contains("Group assigned."));
        assert!(
            tab.body
                .contains(&format!("href=\"/admin/people/{}\"", id(&ada)))
        );
        assert!(
            tab.body
                .contains(&format!("/admin/apps/{aid}/groups/{}/remove", id(&group)))
        );

        let r = c
            .post(&format!("/admin/apps/{aid}/users/{}/remove", id(&ada)), &[])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let r = c
            .post(
                &format!("/admin/apps/{aid}/groups/{}/remove", id(&group)),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let (_, users) = s.get(&format!("/api/v1/apps/{aid}/users")).await;
        assert_eq!(users, json!([]));
        let (_, groups) = s.get(&format!("/api/v1/apps/{aid}/groups")).await;
        assert_eq!(groups, json!([]));
        assert_eq!(
            console_events(s, "application.user_membership.remove", &aid)
                .await
                .len(),
            1
        );
        // Removing again: not assigned, said on the page.
        let again = c
            .post(&format!("/admin/apps/{aid}/users/{}/remove", id(&ada)), &[])
            .await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
        assert!(again.body.contains("The assignment was not removed."));
    })
    .await;
}

#[tokio::test]
async fn an_apps_recent_deliveries_show_their_outcomes() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let (fake, base) = FakeApps::start().await;
        fake.script("bad", &[400]);
        let ada = create_user(s, "ada@example.com").await;
        let uid = id(&ada);
        let good = logout_app(
            s,
            "Good",
            "global-token-revocation",
            &format!("{base}/good"),
            "email",
            &uid,
        )
        .await;
        let bad = logout_app(
            s,
            "Bad",
            "global-token-revocation",
            &format!("{base}/bad"),
            "email",
            &uid,
        )
        .await;
        let empty = c
            .get(&format!("/admin/apps/{}?tab=deliveries", id(&bad)))
            .await;
        assert!(
            empty.body.contains("No logout reached this app"),
            "{}",
            empty.body
        );
        let (status, started) = s
            .post(
                &format!("/api/v1/users/{uid}/logout"),
                json!({"scope": "ALL_APPS"}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{started}");
        let logout = started["id"].as_str().unwrap().to_string();
        let done = final_receipt(s, &logout).await;

        let tab = c
            .get(&format!("/admin/apps/{}?tab=deliveries", id(&bad)))
            .await;
        assert_eq!(tab.status, StatusCode::OK);
        let row = &tab.body[tab.body.find("<tbody>").unwrap()..];
        assert!(
            row.contains("ada@example.com") && row.contains(&format!("/admin/people/{uid}")),
            "{row}"
        );
        assert!(
            row.contains(">FAILED<") && row.contains("<td>400</td>"),
            "{row}"
        );
        assert!(
            row.contains(&format!("href=\"/admin/logouts/{logout}\"")),
            "{row}"
        );
        let tx = done["transactionId"].as_str().unwrap();
        assert!(
            row.contains(&format!("/admin/reports/system-log/transactions/{tx}")),
            "{row}"
        );
        let tab = c
            .get(&format!("/admin/apps/{}?tab=deliveries", id(&good)))
            .await;
        assert!(
            tab.body.contains(">SUCCEEDED<") && tab.body.contains("<td>204</td>"),
            "{}",
            tab.body
        );
        assert!(!tab.body.contains(">FAILED<"));
    })
    .await;
}

#[tokio::test]
async fn read_only_admins_see_no_write_control_and_forged_changes_are_refused() {
    on_every_backend(async |s| {
        let app = create_app(s, "Vault").await;
        let aid = id(&app);
        let ada = create_user(s, "ada@example.com").await;
        create_group(s, "Engineering").await;
        let ops = create_group(s, "Operations").await;
        let (status, v) = s
            .post(
                &format!("/api/v1/apps/{aid}/users"),
                json!({"id": id(&ada)}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        let (status, v) = s
            .put(&format!("/api/v1/apps/{aid}/groups/{}", id(&ops)), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        read_only_admin(s, "viewer@example.com").await;
        let ro = ConsoleClient::sign_in(s, "viewer@example.com").await;
        let list = ro.get("/admin/apps").await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(!list.body.contains("Add Application"));
        for tab in ["general", "authentication", "assignments"] {
            let page = ro.get(&format!("/admin/apps/{aid}?tab={tab}")).await;
            assert_eq!(page.status, StatusCode::OK);
            assert!(
                !page.body.contains("method=\"post\" action=\"/admin/apps"),
                "{tab}: {}",
                page.body
            );
        }
        let c = console(s).await;
        let v = version(
            &c.get(&format!("/admin/apps/{aid}?tab=authentication"))
                .await
                .body,
        );
        let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
            (
                "/admin/apps/new".into(),
                vec![
                    ("label", "X"),
                    ("app_type", "oidc"),
                    ("auth_method", "none"),
                    ("grant_authorization_code", "on"),
                ],
            ),
            (
                format!("/admin/apps/{aid}/logout"),
                vec![("version", v.as_str())],
            ),
            (format!("/admin/apps/{aid}/lifecycle/deactivate"), vec![]),
            (
                format!("/admin/apps/{aid}/users"),
                vec![("person", "viewer@example.com")],
            ),
            (
                format!("/admin/apps/{aid}/users/{}/remove", id(&ada)),
                vec![],
            ),
            (
                format!("/admin/apps/{aid}/groups"),
                vec![("group", "Engineering")],
            ),
            (
                format!("/admin/apps/{aid}/groups/{}/remove", id(&ops)),
                vec![],
            ),
        ];
        let before = snapshot(s).await;
        for (path, fields) in &posts {
            let a = ro.post(path, fields).await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}: {}", a.body);
            assert!(a.body.contains("permission"), "{path}: {}", a.body);
            let a = c.post_without_csrf(path, fields).await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}: {}", a.body);
            assert!(a.body.contains("was refused and not made"), "{path}");
            let a = answer(browser().post(format!("{}{path}", s.url)).form(fields)).await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path}: signed out");
        }
        assert_eq!(snapshot(s).await, before, "nothing was written");
        assert_eq!(app_json(s, &aid).await["status"], "ACTIVE");
    })
    .await;
}

#[tokio::test]
async fn the_list_pages_with_show_more() {
    on_every_backend(async |s| {
        let c = console(s).await;
        for i in 0..52 {
            create_app(s, &format!("App {i:02}")).await;
        }
        let first = c.get("/admin/apps").await;
        assert_eq!(
            first
                .body
                .matches("<td data-label=\"Application\">")
                .count(),
            50
        );
        let start = first.body.find("hx-get=\"").expect("Show more") + "hx-get=\"".len();
        let len = first.body[start..].find('"').unwrap();
        let next = first.body[start..start + len]
            .replace("&amp;", "&")
            .replace("&#38;", "&");
        let more = c.get_htmx(&next).await;
        assert_eq!(more.status, StatusCode::OK);
        assert!(!more.body.contains("<html"), "a fragment");
        assert_eq!(
            more.body.matches("<td data-label=\"Application\">").count(),
            2
        );
        assert!(!more.body.contains("Show more"));
        // Without htmx, the later page is a page of its own that says so.
        let page = c.get(&next).await;
        assert!(page.body.contains("Showing a later page."), "{}", page.body);
        let bad = c.get("/admin/apps?after=not-an-id").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    })
    .await;
}
