//! `/api/v1/api-tokens`: an admin's own API tokens.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn an_api_token_is_shown_once_works_and_stops_working_when_revoked() {
    on_every_backend(async |s| {
        let admin = admin_id(s).await;
        let (status, created) = s.post("/api/v1/api-tokens", json!({"name": "ci"})).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let secret = created["token"]
            .as_str()
            .expect("token shown on create")
            .to_string();
        let tid = id(&created);
        assert_eq!(created["name"], "ci");
        let event = one_event(s, "system.api_token.create", &tid).await;
        assert_attributed(&event, &admin, &[&tid, &admin]);
        assert!(
            !event.to_string().contains(&secret),
            "the secret stays out of the System Log"
        );

        let (status, listed) = s.get("/api/v1/api-tokens").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            listed
                .as_array()
                .is_some_and(|l| l.iter().any(|t| t["id"] == tid.as_str())),
            "{listed}"
        );
        assert!(
            !listed.to_string().contains(&secret),
            "listing never shows a secret: {listed}"
        );

        let (status, current) = s
            .call_as(&secret, Method::GET, "/api/v1/api-tokens/current", None)
            .await;
        assert_eq!(status, StatusCode::OK, "{current}");
        assert_eq!(id(&current), tid);
        assert!(current.get("token").is_none(), "{current}");
        let (status, _, bearer) =
            send(anonymous(s, Method::GET, "/api/v1/api-tokens/current").bearer_auth(&secret))
                .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "Bearer works as well as SSWS: {bearer}"
        );

        let (status, _) = s.delete(&format!("/api/v1/api-tokens/{tid}")).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_attributed(
            &one_event(s, "system.api_token.revoke", &tid).await,
            &admin,
            &[&tid],
        );
        let (status, body) = s.call_as(&secret, Method::GET, "/api/v1/users", None).await;
        assert_error((status, &body), StatusCode::UNAUTHORIZED, "E0000011");
    })
    .await;
}

#[tokio::test]
async fn a_read_only_admin_may_revoke_their_own_token_but_not_anothers() {
    on_every_backend(async |s| {
        let (_, token) = read_only_admin(s, "auditor@example.com").await;
        let (_, admin_token) = s.get("/api/v1/api-tokens/current").await;
        let before = snapshot(s).await;
        let (status, body) = s
            .call_as(
                &token,
                Method::DELETE,
                &format!("/api/v1/api-tokens/{}", id(&admin_token)),
                None,
            )
            .await;
        assert_error((status, &body), StatusCode::FORBIDDEN, "E0000006");
        assert_eq!(snapshot(s).await, before);

        let (status, own) = s
            .call_as(&token, Method::GET, "/api/v1/api-tokens/current", None)
            .await;
        assert_eq!(status, StatusCode::OK, "{own}");
        let (status, _) = s
            .call_as(
                &token,
                Method::DELETE,
                &format!("/api/v1/api-tokens/{}", id(&own)),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = s
            .call_as(&token, Method::GET, "/api/v1/api-tokens/current", None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test]
async fn unknown_token_ids_are_404() {
    on_every_backend(async |s| {
        for tid in ["0190a4f1-0000-7000-8000-000000000000", "not-a-token-id"] {
            let (status, body) = s.delete(&format!("/api/v1/api-tokens/{tid}")).await;
            assert_error((status, &body), StatusCode::NOT_FOUND, "E0000007");
        }
    })
    .await;
}
