//! Bad input: each gets the right status and an Okta-shaped JSON error, and leaves nothing behind.

use reqwest::header::{ALLOW, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn malformed_json_is_400_e0000003() {
    on_every_backend(async |s| {
        let before = snapshot(s).await;
        for (path, raw) in [
            (
                "/api/v1/users",
                r#"{"profile": {"login": "ada@example.com""#,
            ),
            ("/api/v1/users", "not json at all"),
            ("/api/v1/groups", r#"{"profile": {"name": "x",}}"#),
            ("/api/v1/apps", ""),
        ] {
            let (status, _, body) = send(
                request(s, Method::POST, path)
                    .header(CONTENT_TYPE, "application/json")
                    .body(raw),
            )
            .await;
            assert_error((status, &body), StatusCode::BAD_REQUEST, "E0000003");
        }
        assert_eq!(snapshot(s).await, before);
    })
    .await;
}

#[tokio::test]
async fn a_body_that_is_not_declared_json_is_415() {
    on_every_backend(async |s| {
        let before = snapshot(s).await;
        let body = user_body("ada@example.com").to_string();
        for content_type in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            None,
        ] {
            let mut req = request(s, Method::POST, "/api/v1/users").body(body.clone());
            if let Some(ct) = content_type {
                req = req.header(CONTENT_TYPE, ct);
            }
            let (status, _, err) = send(req).await;
            assert_error(
                (status, &err),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "E0000076",
            );
        }
        assert_eq!(snapshot(s).await, before);
        // A JSON type with parameters is still JSON.
        let req = request(s, Method::POST, "/api/v1/users")
            .header(CONTENT_TYPE, "application/json; charset=utf-8")
            .body(body);
        let (status, _, user) = send(req).await;
        assert_eq!(status, StatusCode::OK, "{user}");
    })
    .await;
}

#[tokio::test]
async fn unknown_fields_are_refused_at_the_top_level_and_inside_the_profile() {
    on_every_backend(async |s| {
        let uid = id(&create_user(s, "grace@example.com").await);
        let before = snapshot(s).await;
        let mut top = user_body("ada@example.com");
        top["favouriteColour"] = json!("red");
        let mut inner = user_body("ada@example.com");
        inner["profile"]["favouriteColour"] = json!("red");
        let mut in_credentials = user_body("ada@example.com");
        in_credentials["credentials"] = json!({"password": {"value": "long enough password", "hash": "x"}});
        let mut app = oidc_app_body("Vault");
        app["logout"]["retries"] = json!(3);
        for (method, path, body) in [
            (Method::POST, "/api/v1/users".to_string(), top),
            (Method::POST, "/api/v1/users".to_string(), inner),
            (Method::POST, "/api/v1/users".to_string(), in_credentials),
            (Method::POST, format!("/api/v1/users/{uid}"), json!({"profile": {"favouriteColour": "red"}})),
            (Method::POST, format!("/api/v1/users/{uid}"), json!({"status": "ACTIVE"})),
            (Method::PUT, format!("/api/v1/users/{uid}"), json!({"profile": {"login": "grace@example.com", "email": "grace@example.com", "firstName": "G", "lastName": "H", "shoeSize": 9}})),
            (Method::POST, "/api/v1/groups".to_string(), json!({"profile": {"name": "Eng", "owner": "me"}})),
            (Method::POST, "/api/v1/apps".to_string(), app),
            (Method::POST, "/api/v1/api-tokens".to_string(), json!({"name": "ci", "expires": "never"})),
        ] {
            let (status, err) = s.call(method.clone(), &path, Some(body)).await;
            assert_error((status, &err), StatusCode::BAD_REQUEST, "E0000001");
            assert!(!causes(&err).is_empty(), "{method} {path}: the cause names the field: {err}");
        }
        assert_eq!(snapshot(s).await, before);
    })
    .await;
}

#[tokio::test]
async fn missing_profile_attributes_and_bad_emails_are_400_naming_each_problem() {
    on_every_backend(async |s| {
        let before = snapshot(s).await;
        let (status, err) = s.post("/api/v1/users", json!({"profile": {"login": "ada@example.com"}})).await;
        assert_error((status, &err), StatusCode::BAD_REQUEST, "E0000001");
        let found = causes(&err);
        for field in ["email:", "firstName:", "lastName:"] {
            assert!(found.iter().any(|c| c.starts_with(field)), "{field} not among {found:?}");
        }
        assert!(!found.iter().any(|c| c.starts_with("login:")), "{found:?}");

        let (status, err) = s.post("/api/v1/users", json!({"profile": {"login": "ada", "email": "ada@localhost", "firstName": "A", "lastName": "L"}})).await;
        assert_error((status, &err), StatusCode::BAD_REQUEST, "E0000001");
        let found = causes(&err);
        assert!(found.iter().any(|c| c.starts_with("login:")), "{found:?}");
        assert!(found.iter().any(|c| c.starts_with("email:")), "{found:?}");

        let (status, err) = s.post("/api/v1/users", json!({"credentials": {}})).await;
        assert_error((status, &err), StatusCode::BAD_REQUEST, "E0000001");

        let mut short_password = user_body("ada@example.com");
        short_password["credentials"] = json!({"password": {"value": "short"}});
        let (status, err) = s.post("/api/v1/users", short_password).await;
        assert_error((status, &err), StatusCode::BAD_REQUEST, "E0000001");
        assert!(causes(&err).iter().any(|c| c.starts_with("password:")), "{err}");
        assert_eq!(snapshot(s).await, before);
    })
    .await;
}

#[tokio::test]
async fn a_login_taken_in_any_case_is_a_conflict() {
    on_every_backend(async |s| {
        create_user(s, "ada@example.com").await;
        let grace = id(&create_user(s, "grace@example.com").await);
        let before = snapshot(s).await;
        for login in ["ada@example.com", "ADA@Example.COM", " ada@example.com "] {
            let (status, err) = s.post("/api/v1/users", user_body(login)).await;
            assert_error((status, &err), StatusCode::CONFLICT, "E0000183");
        }
        let (status, err) = s
            .post(
                &format!("/api/v1/users/{grace}"),
                json!({"profile": {"login": "Ada@example.com"}}),
            )
            .await;
        assert_error((status, &err), StatusCode::CONFLICT, "E0000183");
        assert_eq!(snapshot(s).await, before);
    })
    .await;
}

#[tokio::test]
async fn an_unknown_group_in_group_ids_creates_no_user() {
    on_every_backend(async |s| {
        let gid = id(&create_group(s, "Engineering").await);
        let before = snapshot(s).await;
        let mut body = user_body("ada@example.com");
        body["groupIds"] = json!([gid, "0190a4f1-0000-7000-8000-000000000000"]);
        let (status, err) = s.post("/api/v1/users", body).await;
        assert_error((status, &err), StatusCode::NOT_FOUND, "E0000007");
        let mut body = user_body("ada@example.com");
        body["groupIds"] = json!(["engineering"]);
        let (status, err) = s.post("/api/v1/users", body).await;
        assert_error((status, &err), StatusCode::BAD_REQUEST, "E0000001");
        assert_eq!(snapshot(s).await, before);
        let (_, members) = s.get(&format!("/api/v1/groups/{gid}/users")).await;
        assert_eq!(members, json!([]));
    })
    .await;
}

#[tokio::test]
async fn a_bad_filter_is_400_saying_where() {
    on_every_backend(async |s| {
        for (filter, position) in [
            (r#"status eq "ACTIVE" xyz"#, "position 19"),
            (r#"status eq"#, "position 9"),
            (r#"(status eq "ACTIVE""#, "position 0"),
        ] {
            let (status, _, err) = get_with(s, "/api/v1/users", &[("filter", filter)]).await;
            assert_error((status, &err), StatusCode::BAD_REQUEST, "E0000001");
            let summary = err["errorSummary"].as_str().unwrap_or_default();
            assert!(
                summary.contains(position),
                "{filter:?}: {summary:?} should name {position}"
            );
        }
        let (status, _, err) =
            get_with(s, "/api/v1/users", &[("filter", r#"shoeSize eq "9""#)]).await;
        assert_error((status, &err), StatusCode::BAD_REQUEST, "E0000001");
        let (status, _, err) = get_with(s, "/api/v1/logs", &[("filter", r#"eventType eq "#)]).await;
        assert_error((status, &err), StatusCode::BAD_REQUEST, "E0000001");
        assert!(
            err["errorSummary"]
                .as_str()
                .is_some_and(|m| m.contains("position")),
            "{err}"
        );
    })
    .await;
}

#[tokio::test]
async fn an_after_cursor_that_is_not_an_id_is_400_not_an_empty_page() {
    on_every_backend(async |s| {
        let gid = id(&create_group(s, "Engineering").await);
        let aid = id(&create_app(s, "Vault").await);
        let lists = [
            "/api/v1/users".to_string(),
            "/api/v1/groups".to_string(),
            "/api/v1/apps".to_string(),
            format!("/api/v1/groups/{gid}/users"),
            format!("/api/v1/apps/{aid}/users"),
        ];
        for path in &lists {
            for after in [
                "garbage",
                "ada@example.com",
                "0190A4F1-0000-7000-8000-00000000000",
            ] {
                let (status, _, err) = get_with(s, path, &[("after", after)]).await;
                assert_error((status, &err), StatusCode::BAD_REQUEST, "E0000001");
                assert!(
                    err["errorSummary"]
                        .as_str()
                        .is_some_and(|m| m.contains("after")),
                    "{path}: {err}"
                );
            }
        }
        // An id in another spelling (upper case) pages like its canonical form.
        let (_, _, first) = get_with(s, "/api/v1/users", &[("limit", "1")]).await;
        let upper = id(&first[0]).to_uppercase();
        let (status, _, rest) = get_with(s, "/api/v1/users", &[("after", &upper)]).await;
        assert_eq!(status, StatusCode::OK, "{rest}");
        let (_, _, canonical) = get_with(s, "/api/v1/users", &[("after", &id(&first[0]))]).await;
        assert_eq!(rest, canonical);
    })
    .await;
}

#[tokio::test]
async fn nul_characters_are_refused_alike_on_every_backend() {
    // PostgreSQL cannot store U+0000 in text; SQLite can. Input must get one answer everywhere.
    on_every_backend(async |s| {
        let uid = id(&create_user(s, "ada@example.com").await);
        let gid = id(&create_group(s, "Engineering").await);
        let aid = id(&create_app(s, "Vault").await);
        let before = snapshot(s).await;

        let mut first_name = user_body("grace@example.com");
        first_name["profile"]["firstName"] = json!("Gr\u{0}ace");
        let mut redirect = oidc_app_body("Nul App");
        redirect["oidc"]["redirectUris"] = json!(["https://app.example.com/\u{0}"]);
        let bodies = [
            (
                Method::POST,
                "/api/v1/users".to_string(),
                first_name,
                "profile.firstName",
            ),
            (
                Method::POST,
                format!("/api/v1/users/{uid}"),
                json!({"profile": {"nickName": "\u{0}"}}),
                "profile.nickName",
            ),
            (
                Method::POST,
                "/api/v1/groups".to_string(),
                json!({"profile": {"name": "Eng\u{0}"}}),
                "profile.name",
            ),
            (
                Method::PUT,
                format!("/api/v1/groups/{gid}"),
                json!({"profile": {"name": "Eng", "description": "\u{0}"}}),
                "profile.description",
            ),
            (
                Method::POST,
                "/api/v1/apps".to_string(),
                redirect,
                "oidc.redirectUris[0]",
            ),
            (
                Method::POST,
                format!("/api/v1/apps/{aid}/users"),
                json!({"id": "ada@example.com\u{0}"}),
                "id",
            ),
            (
                Method::POST,
                "/api/v1/api-tokens".to_string(),
                json!({"name": "ci\u{0}"}),
                "name",
            ),
        ];
        for (method, path, body, field) in bodies {
            let (status, err) = s.call(method.clone(), &path, Some(body)).await;
            assert_error((status, &err), StatusCode::BAD_REQUEST, "E0000001");
            assert!(
                causes(&err).iter().any(|c| c.starts_with(field)),
                "{method} {path}: {err}"
            );
        }
        for (path, query) in [
            ("/api/v1/users", "q=%00"),
            ("/api/v1/users", "filter=profile.login%20eq%20%22a%00%22"),
            ("/api/v1/groups", "q=a%00"),
            ("/api/v1/apps", "q=%00"),
            ("/api/v1/logs", "q=%00"),
            ("/api/v1/logs", "filter=eventType%20eq%20%22%00%22"),
        ] {
            let (status, err) = s.get(&format!("{path}?{query}")).await;
            assert_error((status, &err), StatusCode::BAD_REQUEST, "E0000001");
        }
        for (method, path) in [
            (Method::GET, "/api/v1/users/ada@example.com%00".to_string()),
            (Method::PUT, format!("/api/v1/groups/{gid}/users/ada%00")),
            (
                Method::POST,
                "/api/v1/users/ada%00/lifecycle/suspend".to_string(),
            ),
        ] {
            let (status, err) = s.call(method, &path, None).await;
            assert_error((status, &err), StatusCode::NOT_FOUND, "E0000007");
        }
        assert_eq!(snapshot(s).await, before);
    })
    .await;
}

#[tokio::test]
async fn a_limit_out_of_range_or_not_a_number_is_400() {
    on_every_backend(async |s| {
        for (path, limits) in [
            ("/api/v1/users", &["0", "201", "abc", "-1", ""][..]),
            ("/api/v1/apps", &["0", "201", "abc"][..]),
            ("/api/v1/logs", &["0", "1001", "abc"][..]),
        ] {
            for limit in limits {
                let (status, _, err) = get_with(s, path, &[("limit", limit)]).await;
                assert_error((status, &err), StatusCode::BAD_REQUEST, "E0000001");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn unknown_users_groups_and_apps_are_404() {
    on_every_backend(async |s| {
        let uid = id(&create_user(s, "ada@example.com").await);
        let gid = id(&create_group(s, "Engineering").await);
        let aid = id(&create_app(s, "Vault").await);
        let before = snapshot(s).await;
        let nobody = "0190a4f1-0000-7000-8000-000000000000";
        let calls = [
            (Method::GET, format!("/api/v1/users/{nobody}"), None),
            (
                Method::GET,
                "/api/v1/users/nobody@example.com".to_string(),
                None,
            ),
            (
                Method::POST,
                format!("/api/v1/users/{nobody}"),
                Some(json!({"profile": {"title": "x"}})),
            ),
            (
                Method::POST,
                format!("/api/v1/users/{nobody}/lifecycle/suspend"),
                None,
            ),
            (Method::DELETE, format!("/api/v1/users/{nobody}"), None),
            (Method::GET, format!("/api/v1/users/{nobody}/groups"), None),
            (
                Method::GET,
                format!("/api/v1/users/{nobody}/appLinks"),
                None,
            ),
            (
                Method::POST,
                format!("/api/v1/users/{nobody}/roles"),
                Some(json!({"type": "READ_ONLY_ADMIN"})),
            ),
            (Method::GET, format!("/api/v1/groups/{nobody}"), None),
            (Method::GET, "/api/v1/groups/not-an-id".to_string(), None),
            (Method::DELETE, format!("/api/v1/groups/{nobody}"), None),
            (
                Method::PUT,
                format!("/api/v1/groups/{nobody}/users/{uid}"),
                None,
            ),
            (
                Method::PUT,
                format!("/api/v1/groups/{gid}/users/{nobody}"),
                None,
            ),
            (Method::GET, format!("/api/v1/apps/{nobody}"), None),
            (Method::GET, "/api/v1/apps/not-an-id".to_string(), None),
            (
                Method::POST,
                format!("/api/v1/apps/{nobody}/lifecycle/deactivate"),
                None,
            ),
            (
                Method::POST,
                format!("/api/v1/apps/{aid}/users"),
                Some(json!({"id": nobody})),
            ),
            (
                Method::POST,
                format!("/api/v1/apps/{nobody}/users"),
                Some(json!({"id": uid})),
            ),
            (
                Method::PUT,
                format!("/api/v1/apps/{aid}/groups/{nobody}"),
                None,
            ),
        ];
        for (method, path, body) in calls {
            let (status, err) = s.call(method.clone(), &path, body).await;
            assert_error((status, &err), StatusCode::NOT_FOUND, "E0000007");
        }
        assert_eq!(snapshot(s).await, before);
    })
    .await;
}

#[tokio::test]
async fn an_unknown_lifecycle_operation_is_404() {
    on_every_backend(async |s| {
        let uid = id(&create_user(s, "ada@example.com").await);
        let aid = id(&create_app(s, "Vault").await);
        let before = snapshot(s).await;
        for path in [
            format!("/api/v1/users/{uid}/lifecycle/explode"),
            format!("/api/v1/users/{uid}/lifecycle/ACTIVATE"),
            format!("/api/v1/apps/{aid}/lifecycle/suspend"),
        ] {
            let (status, err) = s.post(&path, json!({})).await;
            assert_error((status, &err), StatusCode::NOT_FOUND, "E0000007");
        }
        assert_eq!(snapshot(s).await, before);
    })
    .await;
}

#[tokio::test]
async fn a_wrong_method_is_405_and_an_unknown_path_is_404_both_as_json() {
    on_every_backend(async |s| {
        for (method, path) in [
            (Method::PATCH, "/api/v1/users"),
            (Method::DELETE, "/api/v1/groups"),
            (Method::GET, "/api/v1/users/x/lifecycle/activate"),
            (Method::PUT, "/api/v1/logs"),
        ] {
            let (status, headers, err) = send(request(s, method.clone(), path)).await;
            assert_error((status, &err), StatusCode::METHOD_NOT_ALLOWED, "E0000022");
            let allow = headers
                .get(ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            assert!(
                !allow.is_empty() && !allow.contains(method.as_str()),
                "{method} {path}: Allow {allow:?}"
            );
        }
        for path in ["/api/v1/nothing", "/api/v2/users", "/api/v1/users/x/y/z"] {
            let (status, err) = s.get(path).await;
            assert_error((status, &err), StatusCode::NOT_FOUND, "E0000007");
        }
    })
    .await;
}

/// A user whose profile alone is over the 1 MiB body limit.
fn oversized_user() -> serde_json::Value {
    let mut body = user_body("ada@example.com");
    body["profile"]["title"] = json!("x".repeat(1024 * 1024 + 1));
    body
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413_and_changes_nothing() {
    on_every_backend(async |s| {
        let before = snapshot(s).await;
        let (status, _) = s.post("/api/v1/users", oversized_user()).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(snapshot(s).await, before);
    })
    .await;
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413_as_a_json_error() {
    on_sqlite(async |s| {
        let (status, err) = s.post("/api/v1/users", oversized_user()).await;
        assert_error((status, &err), StatusCode::PAYLOAD_TOO_LARGE, "E0000070");
    })
    .await;
}

#[tokio::test]
async fn deleting_an_active_user_is_a_conflict() {
    on_every_backend(async |s| {
        let uid = id(&create_user(s, "ada@example.com").await);
        let before = snapshot(s).await;
        let (status, err) = s.delete(&format!("/api/v1/users/{uid}")).await;
        assert_error((status, &err), StatusCode::CONFLICT, "E0000038");
        assert_eq!(snapshot(s).await, before);
        let (_, user) = s.get(&format!("/api/v1/users/{uid}")).await;
        assert_eq!(user["status"], "ACTIVE");
    })
    .await;
}

#[tokio::test]
async fn a_json_array_is_not_an_object_body() {
    on_every_backend(async |s| {
        let before = snapshot(s).await;
        let (status, _, body) = send(
            request(s, reqwest::Method::POST, "/api/v1/groups")
                .json(&serde_json::json!([{"name": "x"}])),
        )
        .await;
        assert_error(
            (status, &body),
            reqwest::StatusCode::BAD_REQUEST,
            "E0000001",
        );
        let (status, _, body) = send(
            request(s, reqwest::Method::POST, "/api/v1/api-tokens").json(&serde_json::json!(["x"])),
        )
        .await;
        assert_error(
            (status, &body),
            reqwest::StatusCode::BAD_REQUEST,
            "E0000001",
        );
        assert_eq!(snapshot(s).await, before, "nothing was created");
    })
    .await;
}
