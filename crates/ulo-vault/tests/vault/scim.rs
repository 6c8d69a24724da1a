//! The SCIM service provider: authentication, Users (create, conflicts, filters, PATCH),
//! Groups, and sharing an account with a group a signed-in person belongs to.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

async fn scim(
    h: &Harness,
    method: Method,
    path: &str,
    body: Option<Value>,
    token: &str,
) -> (StatusCode, Value) {
    let mut req = h
        .http
        .request(method, format!("{}/scim/v2{path}", h.vault.url))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req
            .header("content-type", "application/scim+json")
            .body(b.to_string());
    }
    answer(req.send().await.expect("SCIM call")).await
}

#[tokio::test]
async fn users_and_groups_follow_scim() {
    for backend in ulo_testkit::backends() {
        let h = Harness::start(backend).await;
        let (status, body) = scim(&h, Method::GET, "/Users", None, "wrong-token").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["status"], "401");

        let user = json!({"schemas": [USER], "userName": "Eve@Example.com", "externalId": "ulo-eve",
                          "name": {"givenName": "Eve"}, "emails": [{"value": "eve@example.com", "primary": true}], "active": true});
        let (status, eve) = scim(&h, Method::POST, "/Users", Some(user.clone()), SCIM_TOKEN).await;
        assert_eq!(status, StatusCode::CREATED, "{eve}");
        let id = eve["id"].as_str().unwrap().to_string();
        assert_eq!(eve["externalId"], "ulo-eve");
        assert_eq!(eve["meta"]["resourceType"], "User");

        let mut dup = user.clone();
        dup["userName"] = json!("eve@example.com");
        dup["externalId"] = json!("ulo-other");
        let (status, body) = scim(&h, Method::POST, "/Users", Some(dup), SCIM_TOKEN).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["scimType"], "uniqueness");
        let (status, body) = scim(
            &h,
            Method::POST,
            "/Users",
            Some(json!({"schemas": [USER]})),
            SCIM_TOKEN,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body["detail"].as_str().unwrap().contains("userName"),
            "{body}"
        );

        for filter in [
            "externalId eq \"ulo-eve\"",
            "userName eq \"eve@example.com\"",
        ] {
            let (status, list) = scim(
                &h,
                Method::GET,
                &format!("/Users?filter={}", urlencode(filter)),
                None,
                SCIM_TOKEN,
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{list}");
            assert_eq!(list["totalResults"], 1, "{filter}: {list}");
            assert_eq!(list["Resources"][0]["id"], id.as_str());
        }
        // externalId is case-exact.
        let (_, list) = scim(
            &h,
            Method::GET,
            &format!("/Users?filter={}", urlencode("externalId eq \"ULO-EVE\"")),
            None,
            SCIM_TOKEN,
        )
        .await;
        assert_eq!(list["totalResults"], 0);
        let (status, body) = scim(
            &h,
            Method::GET,
            "/Users?filter=userName%20eq",
            None,
            SCIM_TOKEN,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["scimType"], "invalidFilter");

        let (status, patched) = scim(&h, Method::PATCH, &format!("/Users/{id}"), Some(json!({"schemas": [PATCH],
            "Operations": [{"op": "Replace", "value": {"active": false, "name": {"familyName": "Evans"}}}]})), SCIM_TOKEN).await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert_eq!(patched["active"], false);
        assert_eq!(
            patched["name"],
            json!({"givenName": "Eve", "familyName": "Evans"})
        );
        let (status, body) = scim(
            &h,
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({"schemas": [PATCH],
            "Operations": [{"op": "replace", "path": "active", "value": "maybe"}]})),
            SCIM_TOKEN,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let (_, again) = scim(&h, Method::GET, &format!("/Users/{id}"), None, SCIM_TOKEN).await;
        assert_eq!(again["active"], false, "nothing half-written");

        // Groups, and a share with one: its members see the account.
        let uid = h.provisioned_person("noor@example.com", "Noor").await;
        let (_, found) = scim(
            &h,
            Method::GET,
            &format!(
                "/Users?filter={}",
                urlencode(&format!("externalId eq \"{uid}\""))
            ),
            None,
            SCIM_TOKEN,
        )
        .await;
        let noor = found["Resources"][0]["id"].as_str().unwrap().to_string();
        let (status, group) = scim(
            &h,
            Method::POST,
            "/Groups",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Marketing", "members": [{"value": id}]}),
            ),
            SCIM_TOKEN,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{group}");
        let gid = group["id"].as_str().unwrap().to_string();
        let (status, group) = scim(
            &h,
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(json!({"schemas": [PATCH], "Operations": [
                {"op": "add", "path": "members", "value": [{"value": noor}]},
                {"op": "remove", "path": format!("members[value eq \"{id}\"]")},
            ]})),
            SCIM_TOKEN,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{group}");
        assert_eq!(group["members"].as_array().unwrap().len(), 1);
        assert_eq!(group["members"][0]["value"], noor.as_str());
        let (status, body) = scim(
            &h,
            Method::POST,
            "/Groups",
            Some(json!({"displayName": "X", "members": [{"value": "nobody"}]})),
            SCIM_TOKEN,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

        let (_demo_app, demo) = demo(&[("brand", "brand-Passw0rd-1")]).await;
        let account = h
            .shared_account(&demo.url, "brand", "brand-Passw0rd-1", &[])
            .await;
        let (status, body) = h
            .admin(
                Method::PUT,
                &format!("/api/accounts/{account}/group-shares/Marketing"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let (status, body) = h
            .admin(
                Method::PUT,
                &format!("/api/accounts/{account}/shares/nobody@example.com"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("nobody@example.com")
        );
        let (_, detail) = h
            .admin(Method::GET, &format!("/api/accounts/{account}"), None)
            .await;
        assert_eq!(detail["shares"][0]["displayName"], "Marketing", "{detail}");
        let b = browser();
        let page = sign_in_to_vault(&b, &h, "noor@example.com").await;
        assert!(page.contains("brand"), "{page}");
        let (status, revealed) = reveal(&b, &h, &account).await;
        assert_eq!(status, StatusCode::OK, "{revealed}");
        assert_eq!(revealed["password"], "brand-Passw0rd-1");
        // A reveal from another site's page is refused even with the cookie.
        let resp = b
            .post(format!("{}/api/me/accounts/{account}/reveal", h.vault.url))
            .header("Origin", "http://evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);

        let (status, _) = scim(
            &h,
            Method::DELETE,
            &format!("/Groups/{gid}"),
            None,
            SCIM_TOKEN,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = reveal(&b, &h, &account).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "the share went with the group"
        );
        demo.stop().await;
        h.stop().await;
    }
}

#[tokio::test]
async fn admin_api_refuses_bad_input_with_a_reason() {
    let h = Harness::start(ulo_testkit::Backend::Sqlite).await;
    let (status, _) = answer(
        h.http
            .get(format!("{}/api/accounts", h.vault.url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = h
        .admin(Method::POST, "/api/apps", Some(json!({"name": "A", "signInUrl": "nope", "connector": {"type": "http", "url": "http://x.example/c", "secret": "0123456789abcdef"}})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("signInUrl"),
        "{body}"
    );
    let (status, body) = h
        .admin(Method::POST, "/api/apps", Some(json!({"name": "A", "signInUrl": "http://a.example", "connector": {"type": "http", "url": "https://x.example/c", "secret": "short"}})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("secret"),
        "{body}"
    );
    let (status, body) = h
        .admin(
            Method::POST,
            "/api/accounts",
            Some(
                json!({"appId": "none", "username": "u", "password": "p", "policy": {"length": 3}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("policy.length"),
        "{body}"
    );
    let (status, body) = h
        .admin(
            Method::GET,
            "/api/audit?filter=colour%20eq%20%22red%22",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("colour"),
        "{body}"
    );
    let (status, body) = h.admin(Method::GET, "/api/accounts/missing", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = h
        .admin(Method::POST, "/api/apps", Some(json!({"name": 1})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON body"),
        "{body}"
    );
    let (_, apps) = h.admin(Method::GET, "/api/apps", None).await;
    assert_eq!(apps, json!([]), "nothing half-written");
    h.stop().await;
}
