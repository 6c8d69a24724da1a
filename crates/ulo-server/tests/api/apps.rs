//! `/api/v1/apps`: integrations, their secrets, lifecycle and assignments.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn an_oidc_app_shows_its_client_secret_on_create_only_and_is_logged() {
    on_every_backend(async |s| {
        let admin = admin_id(s).await;
        let app = create_app(s, "Vault").await;
        let aid = id(&app);
        assert_eq!(app["status"], "ACTIVE");
        assert_eq!(app["type"], "oidc");
        assert_eq!(app["logout"]["enabled"], true);
        assert_eq!(app["logout"]["protocol"], "global-token-revocation");
        let client_id = app["oidc"]["clientId"]
            .as_str()
            .expect("client id")
            .to_string();
        let secret = app["oidc"]["clientSecret"]
            .as_str()
            .expect("client secret on create")
            .to_string();
        assert!(secret.len() >= 32, "{secret}");
        let create = one_event(s, "application.lifecycle.create", &aid).await;
        assert_attributed(&create, &admin, &[&aid]);
        assert!(
            !create.to_string().contains(&secret),
            "the secret stays out of the System Log"
        );

        let (status, got) = s.get(&format!("/api/v1/apps/{aid}")).await;
        assert_eq!(status, StatusCode::OK);
        let (_, _, listed) = get_with(s, "/api/v1/apps", &[]).await;
        let (status, replaced) = s
            .put(
                &format!("/api/v1/apps/{aid}"),
                Some(oidc_app_body("Vault 2")),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{replaced}");
        assert_eq!(replaced["label"], "Vault 2");
        assert_eq!(
            replaced["oidc"]["clientId"],
            client_id.as_str(),
            "a replace keeps the client id"
        );
        for answer in [&got, &listed, &replaced] {
            assert!(
                !answer.to_string().contains(&secret),
                "the secret is shown once: {answer}"
            );
            assert!(!answer.to_string().contains("clientSecret"), "{answer}");
        }
        assert_attributed(
            &one_event(s, "application.lifecycle.update", &aid).await,
            &admin,
            &[&aid],
        );
    })
    .await;
}

#[tokio::test]
async fn a_public_client_switched_to_a_secret_gets_it_shown_once() {
    on_every_backend(async |s| {
        let mut body = oidc_app_body("Mobile");
        body["oidc"]["tokenEndpointAuthMethod"] = json!("none");
        let (status, app) = s.post("/api/v1/apps", body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{app}");
        assert!(
            app["oidc"].get("clientSecret").is_none(),
            "a public client has no secret: {app}"
        );
        let aid = id(&app);

        // Without the secret it now needs, the client could never authenticate.
        body["oidc"]["tokenEndpointAuthMethod"] = json!("client_secret_post");
        let (status, replaced) = s
            .put(&format!("/api/v1/apps/{aid}"), Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::OK, "{replaced}");
        let secret = replaced["oidc"]["clientSecret"]
            .as_str()
            .expect("the new secret is shown")
            .to_string();
        assert_eq!(replaced["oidc"]["clientId"], app["oidc"]["clientId"]);

        // Replacing again keeps that secret and does not show it.
        let (status, again) = s.put(&format!("/api/v1/apps/{aid}"), Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        let (_, got) = s.get(&format!("/api/v1/apps/{aid}")).await;
        let (_, _, log) = get_with(s, "/api/v1/logs", &[("limit", "1000")]).await;
        for answer in [&again, &got, &log] {
            assert!(!answer.to_string().contains(&secret), "{answer}");
            assert!(!answer.to_string().contains("clientSecret"), "{answer}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_scim_token_is_write_only() {
    on_every_backend(async |s| {
        let token = "scim-bearer-credential-that-must-not-leak";
        let mut body = oidc_app_body("Provisioned");
        body["provisioning"] =
            json!({"scim": {"baseUrl": "https://app.example.com/scim/v2", "token": token}});
        let (status, app) = s.post("/api/v1/apps", body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{app}");
        let aid = id(&app);
        assert_eq!(
            app["provisioning"]["scim"],
            json!({"baseUrl": "https://app.example.com/scim/v2", "tokenSet": true})
        );

        // A replace that leaves the token out keeps the stored one.
        body["provisioning"]["scim"]
            .as_object_mut()
            .map(|o| o.remove("token"));
        let (status, replaced) = s.put(&format!("/api/v1/apps/{aid}"), Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{replaced}");
        assert_eq!(replaced["provisioning"]["scim"]["tokenSet"], true);

        let (_, got) = s.get(&format!("/api/v1/apps/{aid}")).await;
        let (_, _, log) = get_with(s, "/api/v1/logs", &[("limit", "1000")]).await;
        for answer in [&app, &replaced, &got, &log] {
            assert!(!answer.to_string().contains(token), "{answer}");
        }
    })
    .await;
}

#[tokio::test]
async fn logout_endpoints_must_be_https_or_loopback_http_and_never_internal_or_metadata() {
    on_every_backend(async |s| {
        let before = snapshot(s).await;
        for endpoint in [
            "http://10.0.0.1/x",
            "https://169.254.169.254/",
            "http://app.example.com/gtr",
            "ftp://app.example.com/",
            "not a url",
        ] {
            let mut body = oidc_app_body("Bad Endpoint");
            body["logout"]["endpoint"] = json!(endpoint);
            let (status, err) = s.post("/api/v1/apps", body).await;
            assert_error((status, &err), StatusCode::BAD_REQUEST, "E0000001");
            assert!(
                causes(&err)
                    .iter()
                    .any(|c| c.starts_with("logout.endpoint")),
                "{endpoint}: {err}"
            );
        }
        for base_url in ["https://169.254.169.254/scim/v2", "http://10.0.0.1/scim/v2"] {
            let mut body = oidc_app_body("Bad SCIM");
            body["provisioning"] = json!({"scim": {"baseUrl": base_url, "token": "t"}});
            let (status, err) = s.post("/api/v1/apps", body).await;
            assert_error((status, &err), StatusCode::BAD_REQUEST, "E0000001");
            assert!(
                causes(&err)
                    .iter()
                    .any(|c| c.starts_with("provisioning.scim.baseUrl")),
                "{base_url}: {err}"
            );
        }
        assert_eq!(snapshot(s).await, before);
        for endpoint in [
            "https://app.example.com/gtr",
            "http://127.0.0.1:8080/gtr",
            "http://localhost:8080/gtr",
        ] {
            let mut body = oidc_app_body("Good Endpoint");
            body["logout"]["endpoint"] = json!(endpoint);
            let (status, app) = s.post("/api/v1/apps", body).await;
            assert_eq!(status, StatusCode::OK, "{endpoint}: {app}");
        }
    })
    .await;
}

#[tokio::test]
async fn an_app_is_deleted_only_once_deactivated() {
    on_every_backend(async |s| {
        let admin = admin_id(s).await;
        let aid = id(&create_app(s, "Vault").await);
        let before = snapshot(s).await;
        let (status, body) = s.delete(&format!("/api/v1/apps/{aid}")).await;
        assert_error((status, &body), StatusCode::CONFLICT, "E0000038");
        assert_eq!(snapshot(s).await, before);

        let (status, app) = s
            .post(
                &format!("/api/v1/apps/{aid}/lifecycle/deactivate"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{app}");
        assert_eq!(app["status"], "INACTIVE");
        assert_attributed(
            &one_event(s, "application.lifecycle.deactivate", &aid).await,
            &admin,
            &[&aid],
        );
        let (status, app) = s
            .post(&format!("/api/v1/apps/{aid}/lifecycle/activate"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{app}");
        assert_eq!(app["status"], "ACTIVE");
        assert_attributed(
            &one_event(s, "application.lifecycle.activate", &aid).await,
            &admin,
            &[&aid],
        );

        let (status, _) = s
            .post(
                &format!("/api/v1/apps/{aid}/lifecycle/deactivate"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = s.delete(&format!("/api/v1/apps/{aid}")).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let (status, body) = s.get(&format!("/api/v1/apps/{aid}")).await;
        assert_error((status, &body), StatusCode::NOT_FOUND, "E0000007");
        assert_attributed(
            &one_event(s, "application.lifecycle.delete", &aid).await,
            &admin,
            &[&aid],
        );
    })
    .await;
}

#[tokio::test]
async fn users_are_assigned_listed_and_unassigned_with_events() {
    on_every_backend(async |s| {
        let admin = admin_id(s).await;
        let aid = id(&create_app(s, "Vault").await);
        let uid = id(&create_user(s, "ada@example.com").await);
        let (status, assignment) = s
            .post(&format!("/api/v1/apps/{aid}/users"), json!({"id": uid}))
            .await;
        assert_eq!(status, StatusCode::OK, "{assignment}");
        assert_eq!(assignment["id"], uid.as_str());
        assert_eq!(assignment["scope"], "USER");
        assert_attributed(
            &one_event(s, "application.user_membership.add", &uid).await,
            &admin,
            &[&uid, &aid],
        );

        let (status, assigned) = s.get(&format!("/api/v1/apps/{aid}/users")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            assigned
                .as_array()
                .map(|a| a.iter().map(id).collect::<Vec<_>>()),
            Some(vec![uid.clone()])
        );

        let (status, _) = s.delete(&format!("/api/v1/apps/{aid}/users/{uid}")).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_attributed(
            &one_event(s, "application.user_membership.remove", &uid).await,
            &admin,
            &[&uid, &aid],
        );
        let (_, assigned) = s.get(&format!("/api/v1/apps/{aid}/users")).await;
        assert_eq!(assigned, json!([]));
        let (status, body) = s.delete(&format!("/api/v1/apps/{aid}/users/{uid}")).await;
        assert_error((status, &body), StatusCode::NOT_FOUND, "E0000007");
    })
    .await;
}

#[tokio::test]
async fn groups_are_assigned_listed_and_unassigned_with_events() {
    on_every_backend(async |s| {
        let admin = admin_id(s).await;
        let aid = id(&create_app(s, "Vault").await);
        let gid = id(&create_group(s, "Engineering").await);
        let (status, assignment) = s
            .put(&format!("/api/v1/apps/{aid}/groups/{gid}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{assignment}");
        assert_eq!(assignment["id"], gid.as_str());
        assert_attributed(
            &one_event(s, "group.application_assignment.add", &gid).await,
            &admin,
            &[&gid, &aid],
        );

        let (status, assigned) = s.get(&format!("/api/v1/apps/{aid}/groups")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            assigned
                .as_array()
                .map(|a| a.iter().map(id).collect::<Vec<_>>()),
            Some(vec![gid.clone()])
        );

        let (status, _) = s.delete(&format!("/api/v1/apps/{aid}/groups/{gid}")).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_attributed(
            &one_event(s, "group.application_assignment.remove", &gid).await,
            &admin,
            &[&gid, &aid],
        );
        let (_, assigned) = s.get(&format!("/api/v1/apps/{aid}/groups")).await;
        assert_eq!(assigned, json!([]));
    })
    .await;
}

#[tokio::test]
async fn an_org_has_at_most_one_desktop_mfa_app() {
    on_every_backend(async |s| {
        let body =
            json!({"label": "Managed Macs", "type": "desktop-mfa", "logout": {"enabled": true}});
        let (status, first) = s.post("/api/v1/apps", body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{first}");
        assert_eq!(first["type"], "desktop-mfa");
        assert!(first.get("oidc").is_none_or(Value::is_null), "{first}");
        let before = snapshot(s).await;
        let (status, err) = s
            .post(
                "/api/v1/apps",
                json!({"label": "More Macs", "type": "desktop-mfa"}),
            )
            .await;
        assert_error((status, &err), StatusCode::CONFLICT, "E0000183");
        assert_eq!(snapshot(s).await, before);
    })
    .await;
}
