//! Authentication and authorization of the admin API: schemes, bad tokens, read-only admins, throttling.

use reqwest::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn requests_without_a_usable_token_are_401_with_www_authenticate() {
    on_every_backend(async |s| {
        let before = snapshot(s).await;
        let attempts = [
            ("no header", anonymous(s, Method::GET, "/api/v1/users")),
            (
                "unknown token",
                anonymous(s, Method::GET, "/api/v1/users").header(
                    "Authorization",
                    "SSWS ulo_this_token_was_never_issued_000000",
                ),
            ),
            (
                "Basic scheme",
                anonymous(s, Method::GET, "/api/v1/users")
                    .basic_auth("admin@ulo.example.com", Some(ulo_testkit::ADMIN_TOKEN)),
            ),
            (
                "Basic with the real token",
                anonymous(s, Method::GET, "/api/v1/users").header(
                    "Authorization",
                    format!("Basic {}", ulo_testkit::ADMIN_TOKEN),
                ),
            ),
            (
                "scheme only",
                anonymous(s, Method::GET, "/api/v1/users").header("Authorization", "SSWS"),
            ),
            (
                "token only",
                anonymous(s, Method::GET, "/api/v1/users")
                    .header("Authorization", ulo_testkit::ADMIN_TOKEN),
            ),
            (
                "write without a token",
                anonymous(s, Method::POST, "/api/v1/users").json(&user_body("ada@example.com")),
            ),
        ];
        for (what, req) in attempts {
            let (status, headers, body) = send(req).await;
            assert_error((status, &body), StatusCode::UNAUTHORIZED, "E0000011");
            assert!(
                headers.get(WWW_AUTHENTICATE).is_some(),
                "{what}: no WWW-Authenticate"
            );
        }
        assert_eq!(snapshot(s).await, before);
    })
    .await;
}

#[tokio::test]
async fn a_token_whose_owner_is_no_longer_active_is_401() {
    on_every_backend(async |s| {
        let (user, token) = read_only_admin(s, "auditor@example.com").await;
        let (status, _) = s.call_as(&token, Method::GET, "/api/v1/users", None).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = s
            .post(
                &format!("/api/v1/users/{}/lifecycle/suspend", id(&user)),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = s.call_as(&token, Method::GET, "/api/v1/users", None).await;
        assert_error((status, &body), StatusCode::UNAUTHORIZED, "E0000011");
    })
    .await;
}

#[tokio::test]
async fn a_user_without_an_admin_role_is_403_even_with_a_token() {
    on_every_backend(async |s| {
        let (user, token) = read_only_admin(s, "former.auditor@example.com").await;
        let (status, _) = s
            .delete(&format!(
                "/api/v1/users/{}/roles/READ_ONLY_ADMIN",
                id(&user)
            ))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, body) = s.call_as(&token, Method::GET, "/api/v1/users", None).await;
        assert_error((status, &body), StatusCode::FORBIDDEN, "E0000006");
    })
    .await;
}

#[tokio::test]
async fn a_read_only_admin_reads_everything_and_changes_nothing() {
    on_every_backend(async |s| {
        let (auditor, token) = read_only_admin(s, "auditor@example.com").await;
        let uid = id(&create_user(s, "ada@example.com").await);
        let gid = id(&create_group(s, "Engineering").await);
        let aid = id(&create_app(s, "Vault").await);

        let reads = [
            "/api/v1/users".to_string(),
            format!("/api/v1/users/{uid}"),
            format!("/api/v1/users/{uid}/groups"),
            format!("/api/v1/users/{uid}/appLinks"),
            format!("/api/v1/users/{uid}/roles"),
            "/api/v1/groups".to_string(),
            format!("/api/v1/groups/{gid}"),
            format!("/api/v1/groups/{gid}/users"),
            "/api/v1/apps".to_string(),
            format!("/api/v1/apps/{aid}"),
            format!("/api/v1/apps/{aid}/users"),
            format!("/api/v1/apps/{aid}/groups"),
            "/api/v1/logs".to_string(),
            "/api/v1/api-tokens/current".to_string(),
        ];
        for path in &reads {
            let (status, body) = s.call_as(&token, Method::GET, path, None).await;
            assert_eq!(status, StatusCode::OK, "read {path}: {body}");
        }

        let before = snapshot(s).await;
        let new_group = json!({"profile": {"name": "Sneaky"}});
        let writes = [
            (
                Method::POST,
                "/api/v1/users?activate=true".to_string(),
                Some(user_body("sneaky@example.com")),
            ),
            (
                Method::POST,
                format!("/api/v1/users/{uid}"),
                Some(json!({"profile": {"title": "Owned"}})),
            ),
            (
                Method::PUT,
                format!("/api/v1/users/{uid}"),
                Some(user_body("ada@example.com")),
            ),
            (
                Method::POST,
                format!("/api/v1/users/{uid}"),
                Some(json!({"credentials": {"password": {"value": "a brand new password"}}})),
            ),
            (
                Method::POST,
                format!("/api/v1/users/{uid}/lifecycle/suspend"),
                None,
            ),
            (
                Method::POST,
                format!("/api/v1/users/{uid}/lifecycle/deactivate"),
                None,
            ),
            (Method::DELETE, format!("/api/v1/users/{uid}"), None),
            (
                Method::POST,
                format!("/api/v1/users/{}/roles", id(&auditor)),
                Some(json!({"type": "SUPER_ADMIN"})),
            ),
            (
                Method::DELETE,
                format!("/api/v1/users/{}/roles/READ_ONLY_ADMIN", id(&auditor)),
                None,
            ),
            (
                Method::POST,
                "/api/v1/groups".to_string(),
                Some(new_group.clone()),
            ),
            (
                Method::PUT,
                format!("/api/v1/groups/{gid}"),
                Some(new_group),
            ),
            (Method::DELETE, format!("/api/v1/groups/{gid}"), None),
            (
                Method::PUT,
                format!("/api/v1/groups/{gid}/users/{uid}"),
                None,
            ),
            (
                Method::DELETE,
                format!("/api/v1/groups/{gid}/users/{uid}"),
                None,
            ),
            (
                Method::POST,
                "/api/v1/apps".to_string(),
                Some(oidc_app_body("Sneaky App")),
            ),
            (
                Method::PUT,
                format!("/api/v1/apps/{aid}"),
                Some(oidc_app_body("Renamed")),
            ),
            (
                Method::POST,
                format!("/api/v1/apps/{aid}/lifecycle/deactivate"),
                None,
            ),
            (Method::DELETE, format!("/api/v1/apps/{aid}"), None),
            (
                Method::POST,
                format!("/api/v1/apps/{aid}/users"),
                Some(json!({"id": uid})),
            ),
            (
                Method::DELETE,
                format!("/api/v1/apps/{aid}/users/{uid}"),
                None,
            ),
            (
                Method::PUT,
                format!("/api/v1/apps/{aid}/groups/{gid}"),
                None,
            ),
            (
                Method::DELETE,
                format!("/api/v1/apps/{aid}/groups/{gid}"),
                None,
            ),
        ];
        for (method, path, body) in writes {
            let (status, err) = s.call_as(&token, method.clone(), &path, body).await;
            assert_error((status, &err), StatusCode::FORBIDDEN, "E0000006");
            assert!(
                err["errorSummary"]
                    .as_str()
                    .is_some_and(|m| m.contains("SUPER_ADMIN")),
                "{method} {path}: {err}"
            );
        }
        assert_eq!(snapshot(s).await, before);
        let (_, roles) = s
            .get(&format!("/api/v1/users/{}/roles", id(&auditor)))
            .await;
        assert_eq!(roles.as_array().map(Vec::len), Some(1), "{roles}");
    })
    .await;
}

#[tokio::test]
async fn many_failed_authentications_from_one_address_are_throttled_with_retry_after() {
    // About the HTTP layer, not the store: SQLite is enough.
    on_sqlite(async |s| {
        let bad = || {
            anonymous(s, Method::GET, "/api/v1/users")
                .header("Authorization", "SSWS ulo_guessing_0000000000000000000000")
        };
        for attempt in 1..=30 {
            let (status, _, body) = send(bad()).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "attempt {attempt}: {body}"
            );
        }
        let (status, headers, body) = send(bad()).await;
        assert_error((status, &body), StatusCode::TOO_MANY_REQUESTS, "E0000047");
        let retry_after: u64 = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no numeric Retry-After: {headers:?}"));
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        // The admin behind the same address still gets in: only failures are throttled.
        let (status, _) = s.get("/api/v1/users").await;
        assert_eq!(
            status,
            StatusCode::OK,
            "a valid token passes while the address is throttled"
        );
    })
    .await;
}
