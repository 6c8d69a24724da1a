//! The SCIM 2.0 service provider at `/scim/v2` and its credentials.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{on_every_backend, request, send};

async fn credential(s: &ulo_testkit::TestServer) -> String {
    let (st, _, body) =
        send(request(s, Method::POST, "/api/v1/scim-credentials").json(&json!({"name": "HR"})))
            .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    body["token"].as_str().expect("token").to_string()
}

fn scim(
    s: &ulo_testkit::TestServer,
    token: &str,
    method: Method,
    path: &str,
) -> reqwest::RequestBuilder {
    s.http
        .request(method, format!("{}/scim/v2{path}", s.url))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/scim+json")
}

fn user(login: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": login, "externalId": "hr-1",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": login, "type": "work", "primary": true}],
    })
}

fn assert_error(body: &Value, status: &str, scim_type: Option<&str>) {
    assert_eq!(
        body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
        "{body}"
    );
    assert_eq!(body["status"], status, "{body}");
    if let Some(t) = scim_type {
        assert_eq!(body["scimType"], t, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_lifecycle_and_error_paths() {
    on_every_backend(async |s| {
        let t = credential(s).await;
        // Admin tokens and missing credentials are refused.
        let (st, _, body) = send(s.http.get(format!("{}/scim/v2/Users", s.url)).header("Authorization", format!("Bearer {}", s.token))).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
        assert_error(&body, "401", None);
        let (st, _, _) = send(s.http.get(format!("{}/scim/v2/Users", s.url))).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);

        let (st, h, u) = send(scim(s, &t, Method::POST, "/Users").json(&user("ada@example.com"))).await;
        assert_eq!(st, StatusCode::CREATED, "{u}");
        assert_eq!(h["content-type"], "application/scim+json");
        assert_eq!(u["externalId"], "hr-1");
        assert_eq!(u["active"], true);
        let id = u["id"].as_str().unwrap().to_string();
        let etag = h["etag"].to_str().unwrap().to_string();
        let (_, _, admin_view) = send(request(s, Method::GET, &format!("/api/v1/users/{id}"))).await;
        assert_eq!(admin_view["provisionedBy"], "scim");

        // Duplicate userName → 409 uniqueness.
        let (st, _, body) = send(scim(s, &t, Method::POST, "/Users").json(&user("ADA@example.com"))).await;
        assert_eq!(st, StatusCode::CONFLICT);
        assert_error(&body, "409", Some("uniqueness"));

        // Filter, bad filter, pagination.
        let (st, _, list) = send(scim(s, &t, Method::GET, "/Users?filter=userName%20eq%20%22ADA@EXAMPLE.COM%22")).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(list["totalResults"], 1);
        let (st, _, body) = send(scim(s, &t, Method::GET, "/Users?filter=userName%20eq")).await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert_error(&body, "400", Some("invalidFilter"));
        let (_, _, list) = send(scim(s, &t, Method::GET, "/Users?startIndex=1&count=0")).await;
        assert_eq!(list["itemsPerPage"], 0);

        // ETags.
        let (st, _, _) = send(scim(s, &t, Method::GET, &format!("/Users/{id}")).header("If-None-Match", &etag)).await;
        assert_eq!(st, StatusCode::NOT_MODIFIED);
        let stale = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "title", "value": "CTO"}]});
        let (st, _, _) = send(scim(s, &t, Method::PATCH, &format!("/Users/{id}")).header("If-Match", "W/\"1\"").json(&stale)).await;
        assert_eq!(st, StatusCode::PRECONDITION_FAILED);

        // Bad PATCH paths, mutability and bad JSON change nothing.
        let bad = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "replace", "path": "title", "value": "CTO"},
            {"op": "replace", "path": "favouriteColour", "value": "red"}]});
        let (st, _, body) = send(scim(s, &t, Method::PATCH, &format!("/Users/{id}")).json(&bad)).await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert_error(&body, "400", Some("invalidPath"));
        let ro = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "id", "value": "x"}]});
        let (_, _, body) = send(scim(s, &t, Method::PATCH, &format!("/Users/{id}")).json(&ro)).await;
        assert_error(&body, "400", Some("mutability"));
        let (st, _, body) = send(scim(s, &t, Method::PATCH, &format!("/Users/{id}")).body("{nope")).await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert_error(&body, "400", Some("invalidSyntax"));
        let (_, h2, now) = send(scim(s, &t, Method::GET, &format!("/Users/{id}"))).await;
        assert!(now.get("title").is_none(), "{now}");
        assert_eq!(h2["etag"].to_str().unwrap(), etag);

        // Value-filter PATCH and active:false.
        let ok = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ada2@example.com"},
            {"op": "add", "path": "title", "value": "CTO"},
            {"op": "replace", "value": {"active": false}}]});
        let (st, _, u2) = send(scim(s, &t, Method::PATCH, &format!("/Users/{id}")).header("If-Match", &etag).json(&ok)).await;
        assert_eq!(st, StatusCode::OK, "{u2}");
        assert_eq!(u2["emails"][0]["value"], "ada2@example.com");
        assert_eq!(u2["title"], "CTO");
        assert_eq!(u2["active"], false);
        let (_, _, admin_view) = send(request(s, Method::GET, &format!("/api/v1/users/{id}"))).await;
        assert_eq!(admin_view["status"], "DEPROVISIONED");

        // Groups with members, then delete both.
        let g = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Eng", "members": [{"value": id}]});
        let (st, _, grp) = send(scim(s, &t, Method::POST, "/Groups").json(&g)).await;
        assert_eq!(st, StatusCode::CREATED, "{grp}");
        assert_eq!(grp["members"][0]["value"], id.as_str());
        let gid = grp["id"].as_str().unwrap().to_string();
        let rm = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]});
        let (st, _, grp) = send(scim(s, &t, Method::PATCH, &format!("/Groups/{gid}")).json(&rm)).await;
        assert_eq!(st, StatusCode::OK, "{grp}");
        assert!(grp.get("members").is_none_or(|m| m.as_array().is_some_and(Vec::is_empty)), "{grp}");
        let (st, _, _) = send(scim(s, &t, Method::DELETE, &format!("/Groups/{gid}"))).await;
        assert_eq!(st, StatusCode::NO_CONTENT);
        let (st, _, _) = send(scim(s, &t, Method::DELETE, &format!("/Users/{id}"))).await;
        assert_eq!(st, StatusCode::NO_CONTENT);
        let (st, _, body) = send(scim(s, &t, Method::GET, &format!("/Users/{id}"))).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        assert_error(&body, "404", None);

        let (st, _, spc) = send(scim(s, &t, Method::GET, "/ServiceProviderConfig")).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(spc["bulk"]["supported"], false);
    })
    .await;
}

fn patch_op(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn written_attributes_round_trip_and_removals() {
    on_every_backend(async |s| {
        let t = credential(s).await;
        let mut doc = user("grace@example.com");
        doc["name"]["formatted"] = json!("Rear Admiral Grace Hopper");
        doc["emails"] = json!([
            {"value": "grace@home.example", "type": "home"},
            {"value": "grace@example.com", "type": "office", "primary": true},
        ]);
        doc["phoneNumbers"] = json!([{"value": "+1 555 0100", "type": "desk"}]);
        let (st, _, u) = send(scim(s, &t, Method::POST, "/Users").json(&doc)).await;
        assert_eq!(st, StatusCode::CREATED, "{u}");
        let id = u["id"].as_str().unwrap().to_string();
        let (_, _, u) = send(scim(s, &t, Method::GET, &format!("/Users/{id}"))).await;
        assert_eq!(u["emails"], doc["emails"], "{u}");
        assert_eq!(u["phoneNumbers"], doc["phoneNumbers"], "{u}");
        assert_eq!(u["name"]["formatted"], "Rear Admiral Grace Hopper");
        // ulo's profile takes the primary email and the phone.
        let (_, _, admin) = send(request(s, Method::GET, &format!("/api/v1/users/{id}"))).await;
        assert_eq!(admin["profile"]["email"], "grace@example.com", "{admin}");
        assert_eq!(admin["profile"]["mobilePhone"], "+1 555 0100", "{admin}");

        // A change in ulo wins over the stale written value.
        let (st, _, body) = send(
            request(s, Method::POST, &format!("/api/v1/users/{id}"))
                .json(&json!({"profile": {"firstName": "Amazing", "email": "g@example.com"}})),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{body}");
        let (_, _, u) = send(scim(s, &t, Method::GET, &format!("/Users/{id}"))).await;
        assert_eq!(u["name"]["givenName"], "Amazing", "{u}");
        assert_eq!(u["name"]["formatted"], "Amazing Lovelace", "{u}");
        assert_eq!(u["emails"], json!([{"value": "g@example.com", "type": "work", "primary": true}]));

        // PATCH replace keeps sub-attributes as written.
        let ops = patch_op(json!([{"op": "replace", "path": "emails", "value": [{"value": "x@example.com", "type": "zz", "primary": true}]}]));
        let (st, _, u) = send(scim(s, &t, Method::PATCH, &format!("/Users/{id}")).json(&ops)).await;
        assert_eq!(st, StatusCode::OK, "{u}");
        assert_eq!(u["emails"], json!([{"value": "x@example.com", "type": "zz", "primary": true}]));

        // Removing emails clears ulo's email; removing active leaves it unassigned (the default).
        let ops = patch_op(json!([{"op": "remove", "path": "emails"}, {"op": "remove", "path": "active"}]));
        let (st, _, u) = send(scim(s, &t, Method::PATCH, &format!("/Users/{id}")).json(&ops)).await;
        assert_eq!(st, StatusCode::OK, "{u}");
        assert!(u.get("emails").is_none(), "{u}");
        assert!(u.get("active").is_none(), "{u}");
        let (_, _, admin) = send(request(s, Method::GET, &format!("/api/v1/users/{id}"))).await;
        assert_eq!(admin["profile"]["email"], "", "{admin}");
        assert_eq!(admin["status"], "ACTIVE", "{admin}");
        // Once ulo's state differs from the default, it shows again.
        let ops = patch_op(json!([{"op": "replace", "path": "active", "value": false}]));
        let (_, _, u) = send(scim(s, &t, Method::PATCH, &format!("/Users/{id}")).json(&ops)).await;
        assert_eq!(u["active"], false, "{u}");

        // Group members keep the type and display the client wrote; POST /.search spans types.
        let g = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Navy",
            "members": [{"value": id, "type": "Person"}]});
        let (st, _, grp) = send(scim(s, &t, Method::POST, "/Groups").json(&g)).await;
        assert_eq!(st, StatusCode::CREATED, "{grp}");
        assert_eq!(grp["members"][0]["type"], "Person", "{grp}");
        assert!(grp["members"][0].get("display").is_none(), "{grp}");
        let gid = grp["id"].as_str().unwrap().to_string();
        let (_, _, list) = send(scim(s, &t, Method::GET, "/Groups")).await;
        assert_eq!(list["Resources"][0]["members"][0]["type"], "Person", "{list}");
        let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "attributes": ["displayName"]});
        let (st, _, found) = send(scim(s, &t, Method::POST, "/.search").json(&search)).await;
        assert_eq!(st, StatusCode::OK, "{found}");
        let res = found["Resources"].as_array().unwrap();
        assert!(res.iter().any(|r| r["id"] == id.as_str()), "{found}");
        assert!(res.iter().any(|r| r["displayName"] == "Navy"), "{found}");
        let (st, _, found) = send(scim(s, &t, Method::POST, "/Groups/.search").json(&search)).await;
        assert_eq!(st, StatusCode::OK, "{found}");
        assert_eq!(found["Resources"][0]["displayName"], "Navy", "{found}");
        let (st, _, _) = send(scim(s, &t, Method::DELETE, &format!("/Groups/{gid}"))).await;
        assert_eq!(st, StatusCode::NO_CONTENT);
    })
    .await;
}
