//! Security → providers, workflows, API tokens, SCIM credentials and administrators over HTTP:
//! lists, the forms' errors beside their fields, secrets shown once (and working), confirmed
//! deletes and revokes; signed-out, read-only and forged requests change nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};
use ulo_testkit::TestServer;

use super::*;
use crate::signin::{answer, browser, logged};
use crate::support::{create_user, id, on_every_backend};

/// The part of `body` from `start` up to the next `end` after it.
fn within<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let from = body
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} in {body}"));
    let rest = &body[from..];
    let to = rest[start.len()..]
        .find(end)
        .map_or(rest.len(), |i| i + start.len());
    &rest[..to]
}

/// The events of `event_type` the console wrote.
async fn console_events(s: &TestServer, event_type: &str) -> Vec<Value> {
    logged(s, &format!("eventType eq \"{event_type}\""))
        .await
        .into_iter()
        .filter(|e| e["client"]["id"] == "ulo-admin-console")
        .collect()
}

/// The secret shown once on `body`.
fn shown_once(body: &str) -> String {
    let start = body
        .find("<code id=\"shown-once\">")
        .expect("a secret shown")
        + 22;
    let len = body[start..].find('<').expect("its end");
    body[start..start + len].to_string()
}

/// Every change a console page makes must be refused signed out (401), read-only (403) and
/// without the csrf token (403); the caller checks nothing was written.
async fn refused_everywhere(
    s: &TestServer,
    reader: &ConsoleClient,
    c: &ConsoleClient,
    posts: &[(String, Vec<(&str, &str)>)],
) {
    let anon = browser();
    for (path, form) in posts {
        let a = answer(
            anon.post(format!("{}{path}", s.url))
                .header(reqwest::header::ORIGIN, &s.url)
                .form(form),
        )
        .await;
        assert_eq!(
            a.status,
            StatusCode::UNAUTHORIZED,
            "signed out {path}: {}",
            a.body
        );
        let a = reader.post(path, form).await;
        assert_eq!(
            a.status,
            StatusCode::FORBIDDEN,
            "read-only {path}: {}",
            a.body
        );
        let a = c.post_without_csrf(path, form).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "forged {path}: {}", a.body);
    }
}

async fn reader(s: &TestServer) -> ConsoleClient {
    read_only_admin(s, "reader@example.com").await;
    ConsoleClient::sign_in(s, "reader@example.com").await
}

#[tokio::test]
async fn security_events_providers_are_registered_paused_and_deleted() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let page = c.get("/admin/security/providers").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(
            page.body.contains("No provider is registered"),
            "{}",
            page.body
        );

        // Each problem beside its field, what was typed kept.
        let a = c
            .post(
                "/admin/security/providers",
                &[
                    ("name", ""),
                    ("method", "keys"),
                    ("issuer", "https://signals.example.com"),
                    ("jwks_url", "ftp://signals.example.com/keys"),
                ],
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        assert!(
            a.body.contains("The provider was not registered."),
            "{}",
            a.body
        );
        assert!(
            within(&a.body, "<label for=\"name\">", "</div>")
                .contains("Must be 1 to 255 characters.")
        );
        let jwks = within(&a.body, "<label for=\"jwks_url\">", "</div>");
        assert!(jwks.contains("field-error"), "{jwks}");
        assert!(
            a.body.contains("value=\"https://signals.example.com\""),
            "{}",
            a.body
        );
        let a = c
            .post(
                "/admin/security/providers",
                &[
                    ("name", "Vendor"),
                    ("method", "keys"),
                    ("issuer", ""),
                    ("jwks_url", "https://signals.example.com/keys"),
                ],
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        assert!(
            within(&a.body, "<label for=\"issuer\">", "</div>").contains("Required"),
            "{}",
            a.body
        );
        let a = c
            .post(
                "/admin/security/providers",
                &[
                    ("name", "Vendor"),
                    ("method", "wellknown"),
                    ("well_known_url", "not a url"),
                ],
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        assert!(
            within(&a.body, "<label for=\"well_known_url\">", "</div>").contains("Not a valid URL"),
            "{}",
            a.body
        );
        let (_, list) = s.get("/api/v1/security-events-providers").await;
        assert_eq!(list, json!([]), "nothing registered");

        // Registered by issuer and keys: active, through the API too.
        let a = c
            .post(
                "/admin/security/providers",
                &[
                    ("name", "Endpoint protection"),
                    ("method", "keys"),
                    ("issuer", "https://signals.example.com"),
                    ("jwks_url", "https://signals.example.com/keys"),
                    ("well_known_url", "ignored: not the chosen method"),
                ],
            )
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let (_, list) = s.get("/api/v1/security-events-providers").await;
        assert_eq!(list[0]["status"], "ACTIVE", "{list}");
        assert_eq!(
            list[0]["settings"]["jwks_url"],
            "https://signals.example.com/keys"
        );
        let pid = id(&list[0]);
        let page = c.get(a.location()).await;
        assert!(
            page.body
                .contains("Provider \u{201c}Endpoint protection\u{201d} registered"),
            "{}",
            page.body
        );
        assert!(
            within(&page.body, &format!("id=\"provider-{pid}\""), "</tr>")
                .contains(">Active</span>")
        );
        // The same issuer again: beside the issuer.
        let a = c
            .post(
                "/admin/security/providers",
                &[
                    ("name", "Again"),
                    ("method", "keys"),
                    ("issuer", "https://signals.example.com"),
                    ("jwks_url", "https://signals.example.com/keys"),
                ],
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        assert!(within(&a.body, "<label for=\"issuer\">", "</div>").contains("already registered"));

        // Deactivate, activate.
        let a = c
            .post(&format!("/admin/security/providers/{pid}/deactivate"), &[])
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let (_, p) = s
            .get(&format!("/api/v1/security-events-providers/{pid}"))
            .await;
        assert_eq!(p["status"], "INACTIVE");
        assert!(c.get(a.location()).await.body.contains(">Inactive</span>"));
        let a = c
            .post(&format!("/admin/security/providers/{pid}/activate"), &[])
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let (_, p) = s
            .get(&format!("/api/v1/security-events-providers/{pid}"))
            .await;
        assert_eq!(p["status"], "ACTIVE");

        // Refused: signed out, read-only, forged.
        let r = reader(s).await;
        let page = r.get("/admin/security/providers").await;
        assert!(page.body.contains("Endpoint protection"));
        for control in ["Register a provider", "/deactivate\"", "/delete\""] {
            assert!(!page.body.contains(control), "{control}");
        }
        let form = vec![
            ("name", "Forged"),
            ("method", "keys"),
            ("issuer", "https://forged.example.com"),
            ("jwks_url", "https://forged.example.com/keys"),
        ];
        refused_everywhere(
            s,
            &r,
            &c,
            &[
                ("/admin/security/providers".to_string(), form),
                (
                    format!("/admin/security/providers/{pid}/deactivate"),
                    vec![],
                ),
                (format!("/admin/security/providers/{pid}/delete"), vec![]),
            ],
        )
        .await;
        let (_, list) = s.get("/api/v1/security-events-providers").await;
        assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
        assert_eq!(list[0]["status"], "ACTIVE");

        // Delete, confirmed.
        let dialog = c
            .get_htmx(&format!("/admin/security/providers/{pid}/delete"))
            .await;
        assert_eq!(dialog.status, StatusCode::OK);
        assert!(
            dialog.body.contains("Delete the security events provider"),
            "{}",
            dialog.body
        );
        let a = c
            .post(&format!("/admin/security/providers/{pid}/delete"), &[])
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let (status, _) = s
            .get(&format!("/api/v1/security-events-providers/{pid}"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let a = c
            .post(&format!("/admin/security/providers/{pid}/delete"), &[])
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);

        for t in [
            "security.events.provider.create",
            "security.events.provider.deactivate",
            "security.events.provider.activate",
            "security.events.provider.delete",
        ] {
            assert_eq!(console_events(s, t).await.len(), 1, "{t}");
        }
    })
    .await;
}

#[tokio::test]
async fn workflows_are_registered_with_a_secret_shown_once_and_deleted() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let a = c
            .post(
                "/admin/security/workflows",
                &[("name", ""), ("url", "http://hooks.example.com/ulo")],
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        assert!(
            within(&a.body, "<label for=\"name\">", "</div>")
                .contains("Must be 1 to 100 characters.")
        );
        let url = within(&a.body, "<label for=\"url\">", "</div>");
        assert!(
            url.contains("field-error") && url.contains("value=\"http://hooks.example.com/ulo\""),
            "{url}"
        );
        assert!(!a.body.contains("shown-once"));

        let a = c
            .post(
                "/admin/security/workflows",
                &[
                    ("name", "Open a SOC ticket"),
                    ("url", "https://hooks.example.com/ulo"),
                ],
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let secret = shown_once(&a.body);
        assert!(secret.starts_with("ulo_wfs_"), "{secret}");
        assert!(a.body.contains("not shown again"));
        let (_, list) = s.get("/api/v1/workflows").await;
        assert_eq!(list[0]["name"], "Open a SOC ticket", "{list}");
        assert!(list[0].get("secret").is_none());
        let wid = id(&list[0]);
        let page = c.get("/admin/security/workflows").await;
        assert!(
            page.body.contains("Open a SOC ticket") && !page.body.contains(&secret),
            "shown once"
        );

        let r = reader(s).await;
        let page = r.get("/admin/security/workflows").await;
        assert!(page.body.contains("Open a SOC ticket"));
        assert!(!page.body.contains("Register a workflow") && !page.body.contains("/delete\""));
        refused_everywhere(
            s,
            &r,
            &c,
            &[
                (
                    "/admin/security/workflows".to_string(),
                    vec![("name", "Forged"), ("url", "https://forged.example.com/")],
                ),
                (format!("/admin/security/workflows/{wid}/delete"), vec![]),
            ],
        )
        .await;
        let (_, list) = s.get("/api/v1/workflows").await;
        assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");

        let dialog = c
            .get_htmx(&format!("/admin/security/workflows/{wid}/delete"))
            .await;
        assert!(
            dialog
                .body
                .contains("Delete the workflow \u{201c}Open a SOC ticket\u{201d}"),
            "{}",
            dialog.body
        );
        let a = c
            .post(&format!("/admin/security/workflows/{wid}/delete"), &[])
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let (_, list) = s.get("/api/v1/workflows").await;
        assert_eq!(list, json!([]));
        assert_eq!(
            console_events(s, "workflow.lifecycle.create").await.len(),
            1
        );
        assert_eq!(
            console_events(s, "workflow.lifecycle.delete").await.len(),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn api_tokens_are_created_shown_once_and_revoked() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let a = c.post("/admin/security/api-tokens", &[("name", " ")]).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        assert!(
            within(&a.body, "<label for=\"name\">", "</div>")
                .contains("Must be 1 to 255 characters.")
        );

        let a = c
            .post("/admin/security/api-tokens", &[("name", "SIEM automation")])
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let token = shown_once(&a.body);
        let me = reqwest::Client::new()
            .get(format!("{}/api/v1/api-tokens/current", s.url))
            .header("Authorization", format!("SSWS {token}"))
            .send()
            .await
            .expect("call");
        assert_eq!(me.status(), StatusCode::OK, "the token works");
        let me: Value = me.json().await.expect("json");
        assert_eq!(me["name"], "SIEM automation");
        let tid = id(&me);

        // Limited to Universal Logout.
        let a = c
            .post(
                "/admin/security/api-tokens",
                &[("name", "Logout only"), ("logout_only", "on")],
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let page = c.get("/admin/security/api-tokens").await;
        assert!(
            within(&page.body, "Logout only", "</tr>").contains("ulo.universalLogout.manage"),
            "{}",
            page.body
        );
        assert!(!page.body.contains(&token), "shown once");

        // A read-only admin manages their own tokens (as the API lets them), no one else's.
        let r = reader(s).await;
        let page = r.get("/admin/security/api-tokens").await;
        assert!(
            !page.body.contains(&format!("token-{tid}")),
            "only their own"
        );
        let a = r
            .post("/admin/security/api-tokens", &[("name", "Reader script")])
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let a = r
            .post(&format!("/admin/security/api-tokens/{tid}/revoke"), &[])
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
        let a = c
            .post_without_csrf(&format!("/admin/security/api-tokens/{tid}/revoke"), &[])
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
        let a = answer(
            browser()
                .post(format!("{}/admin/security/api-tokens/{tid}/revoke", s.url))
                .header(reqwest::header::ORIGIN, &s.url),
        )
        .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);

        // Revoked, confirmed: refused from then on.
        let dialog = c
            .get_htmx(&format!("/admin/security/api-tokens/{tid}/revoke"))
            .await;
        assert!(
            dialog
                .body
                .contains("Revoke the API token \u{201c}SIEM automation\u{201d}"),
            "{}",
            dialog.body
        );
        let a = c
            .post(&format!("/admin/security/api-tokens/{tid}/revoke"), &[])
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let me = reqwest::Client::new()
            .get(format!("{}/api/v1/api-tokens/current", s.url))
            .header("Authorization", format!("SSWS {token}"))
            .send()
            .await
            .expect("call");
        assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
        assert!(
            within(&c.get(a.location()).await.body, "SIEM automation", "</tr>")
                .contains(">Revoked</span>")
        );
        assert_eq!(console_events(s, "system.api_token.create").await.len(), 3);
        assert_eq!(console_events(s, "system.api_token.revoke").await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn scim_credentials_are_created_shown_once_and_revoked() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let a = c
            .post("/admin/security/scim-credentials", &[("name", "")])
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        assert!(
            within(&a.body, "<label for=\"name\">", "</div>")
                .contains("Must be 1 to 255 characters.")
        );

        let a = c
            .post("/admin/security/scim-credentials", &[("name", "Workday")])
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let token = shown_once(&a.body);
        let scim = |token: String| async move {
            reqwest::Client::new()
                .get(format!("{}/scim/v2/Users", s.url))
                .bearer_auth(token)
                .send()
                .await
                .expect("call")
                .status()
        };
        assert_eq!(
            scim(token.clone()).await,
            StatusCode::OK,
            "the credential works"
        );
        let (_, list) = s.get("/api/v1/scim-credentials").await;
        let cid = id(&list[0]);

        let r = reader(s).await;
        let page = r.get("/admin/security/scim-credentials").await;
        assert!(page.body.contains("Workday") && !page.body.contains("Create a SCIM credential"));
        refused_everywhere(
            s,
            &r,
            &c,
            &[
                (
                    "/admin/security/scim-credentials".to_string(),
                    vec![("name", "Forged")],
                ),
                (
                    format!("/admin/security/scim-credentials/{cid}/revoke"),
                    vec![],
                ),
            ],
        )
        .await;
        let (_, list) = s.get("/api/v1/scim-credentials").await;
        assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");

        let a = c
            .post(
                &format!("/admin/security/scim-credentials/{cid}/revoke"),
                &[],
            )
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert_eq!(scim(token).await, StatusCode::UNAUTHORIZED);
        assert_eq!(
            console_events(s, "system.scim_credential.create")
                .await
                .len(),
            1
        );
        assert_eq!(
            console_events(s, "system.scim_credential.revoke")
                .await
                .len(),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn admin_roles_are_granted_and_revoked() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let ada = create_user(s, "ada@example.com").await;
        let page = c.get("/admin/security/admins").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(within(&page.body, "console-admin@example.com", "</tr>").contains("Super admin"));
        assert!(!page.body.contains("ada@example.com"));

        let a = c
            .post(
                "/admin/security/admins",
                &[("person", "nobody@example.com"), ("role", "SUPER_ADMIN")],
            )
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
        assert!(
            within(&a.body, "<label for=\"person\">", "</div>")
                .contains("No one has the username or id")
        );
        assert!(a.body.contains("value=\"nobody@example.com\""));
        let a = c
            .post(
                "/admin/security/admins",
                &[("person", "ada@example.com"), ("role", "OWNER")],
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        assert!(
            within(&a.body, "id=\"role-field\"", "</fieldset>")
                .contains("Choose Super admin or Read-only admin.")
        );

        let a = c
            .post(
                "/admin/security/admins",
                &[("person", "ada@example.com"), ("role", "READ_ONLY_ADMIN")],
            )
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let (_, roles) = s.get(&format!("/api/v1/users/{}/roles", id(&ada))).await;
        assert_eq!(roles[0]["type"], "READ_ONLY_ADMIN", "{roles}");
        let page = c.get(a.location()).await;
        assert!(
            page.body
                .contains("ada@example.com is now a Read-only admin."),
            "{}",
            page.body
        );

        let r = reader(s).await;
        let page = r.get("/admin/security/admins").await;
        assert!(
            page.body.contains("ada@example.com")
                && !page.body.contains("Grant an admin role")
                && !page.body.contains("/revoke\"")
        );
        refused_everywhere(
            s,
            &r,
            &c,
            &[
                (
                    "/admin/security/admins".to_string(),
                    vec![("person", "ada@example.com"), ("role", "SUPER_ADMIN")],
                ),
                (
                    format!(
                        "/admin/security/admins/{}/roles/READ_ONLY_ADMIN/revoke",
                        id(&ada)
                    ),
                    vec![],
                ),
            ],
        )
        .await;
        let (_, roles) = s.get(&format!("/api/v1/users/{}/roles", id(&ada))).await;
        assert_eq!(roles.as_array().map(Vec::len), Some(1), "{roles}");

        let dialog = c
            .get_htmx(&format!(
                "/admin/security/admins/{}/roles/READ_ONLY_ADMIN/revoke",
                id(&ada)
            ))
            .await;
        assert!(
            dialog.body.contains("Revoke Read-only admin from"),
            "{}",
            dialog.body
        );
        let a = c
            .post(
                &format!(
                    "/admin/security/admins/{}/roles/READ_ONLY_ADMIN/revoke",
                    id(&ada)
                ),
                &[],
            )
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let (_, roles) = s.get(&format!("/api/v1/users/{}/roles", id(&ada))).await;
        assert_eq!(roles, json!([]));
        let a = c
            .post(
                &format!(
                    "/admin/security/admins/{}/roles/READ_ONLY_ADMIN/revoke",
                    id(&ada)
                ),
                &[],
            )
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);

        let grants = console_events(s, "user.account.privilege.grant").await;
        assert_eq!(grants.len(), 1, "{grants:?}");
        assert_eq!(grants[0]["target"][0]["id"], id(&ada));
        assert_eq!(
            console_events(s, "user.account.privilege.revoke")
                .await
                .len(),
            1
        );
    })
    .await;
}
