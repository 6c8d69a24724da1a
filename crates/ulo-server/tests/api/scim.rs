//! The SCIM 2.0 service provider at `/scim/v2` and its credentials.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{
    ADMIN_LOGIN, admin_id, assert_attributed, assert_error as assert_error_shape, events, id,
    on_every_backend, on_sqlite, one_event, read_only_admin, request, send,
};

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

/// A SCIM user document for `login` with its own externalId.
fn person(login: &str, given: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": login, "externalId": format!("ext-{login}"),
        "name": {"givenName": given, "familyName": "Tester"},
        "emails": [{"value": login, "type": "work", "primary": true}],
    })
}

/// The `field` of each resource of a ListResponse, in order.
fn names(list: &Value, field: &str) -> Vec<String> {
    list["Resources"]
        .as_array()
        .unwrap_or_else(|| panic!("no Resources in {list}"))
        .iter()
        .map(|r| r[field].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Asserts a ListResponse's paging members.
fn assert_page(list: &Value, total: u64, start: u64, per_page: u64) {
    assert_eq!(
        list["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]),
        "{list}"
    );
    assert_eq!(list["totalResults"], total, "totalResults: {list}");
    assert_eq!(list["startIndex"], start, "startIndex: {list}");
    assert_eq!(list["itemsPerPage"], per_page, "itemsPerPage: {list}");
    assert_eq!(
        list["Resources"].as_array().map(Vec::len),
        Some(per_page as usize),
        "Resources: {list}"
    );
}

/// A SearchRequest body.
fn search_request(extra: Value) -> Value {
    let mut body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]});
    for (k, v) in extra.as_object().expect("object").clone() {
        body[k] = v;
    }
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_credentials_are_created_listed_and_revoked_by_a_super_admin_only() {
    on_every_backend(async |s| {
        let admin = admin_id(s).await;

        // Create: 201, the token shown once, the record without its hash.
        let (st, _, created) = send(
            request(s, Method::POST, "/api/v1/scim-credentials").json(&json!({"name": "Workday"})),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{created}");
        let cid = id(&created);
        let token = created["token"].as_str().expect("token").to_string();
        assert!(token.len() >= 20, "{created}");
        assert_eq!(created["name"], "Workday", "{created}");
        assert_eq!(
            created["tokenPrefix"].as_str(),
            Some(&token[..8]),
            "{created}"
        );
        assert!(created["created"].is_string(), "{created}");
        assert!(created["revoked"].is_null(), "{created}");
        assert!(created.get("tokenHash").is_none(), "{created}");
        let event = one_event(s, "system.scim_credential.create", &cid).await;
        assert_attributed(&event, &admin, &[&cid]);

        // A second one, to show revoking one leaves the other working.
        let (st, _, other) = send(
            request(s, Method::POST, "/api/v1/scim-credentials").json(&json!({"name": "Okta"})),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{other}");
        let other_token = other["token"].as_str().expect("token").to_string();

        // List: both, never a token or its hash.
        let (st, _, list) = send(request(s, Method::GET, "/api/v1/scim-credentials")).await;
        assert_eq!(st, StatusCode::OK, "{list}");
        let items = list
            .as_array()
            .unwrap_or_else(|| panic!("not an array: {list}"));
        assert_eq!(items.len(), 2, "{list}");
        let mine = items
            .iter()
            .find(|c| c["id"] == cid.as_str())
            .unwrap_or_else(|| panic!("{cid} not listed: {list}"));
        assert_eq!(mine["name"], "Workday", "{list}");
        assert_eq!(mine["tokenPrefix"], created["tokenPrefix"], "{list}");
        assert!(mine["revoked"].is_null(), "{list}");
        for c in items {
            assert!(c.get("token").is_none(), "{list}");
            assert!(c.get("tokenHash").is_none(), "{list}");
        }
        let text = list.to_string();
        assert!(
            !text.contains(&token) && !text.contains(&other_token),
            "{list}"
        );

        // The token works on /scim/v2.
        let (st, _, body) = send(scim(s, &token, Method::GET, "/Users")).await;
        assert_eq!(st, StatusCode::OK, "{body}");

        // A READ_ONLY_ADMIN may list but neither create nor revoke.
        let (_, ro_token) = read_only_admin(s, "auditor@example.com").await;
        let (st, ro_list) = s
            .call_as(&ro_token, Method::GET, "/api/v1/scim-credentials", None)
            .await;
        assert_eq!(st, StatusCode::OK, "{ro_list}");
        assert_eq!(ro_list, list);
        let (st, body) = s
            .call_as(
                &ro_token,
                Method::POST,
                "/api/v1/scim-credentials",
                Some(json!({"name": "sneaky"})),
            )
            .await;
        assert_error_shape((st, &body), StatusCode::FORBIDDEN, "E0000006");
        let (st, body) = s
            .call_as(
                &ro_token,
                Method::DELETE,
                &format!("/api/v1/scim-credentials/{cid}"),
                None,
            )
            .await;
        assert_error_shape((st, &body), StatusCode::FORBIDDEN, "E0000006");
        let (_, _, after) = send(request(s, Method::GET, "/api/v1/scim-credentials")).await;
        assert_eq!(after, list, "a refused request changed the credentials");
        assert!(
            events(s, "system.scim_credential.revoke", &cid)
                .await
                .is_empty(),
            "a refused revoke was logged"
        );
        let (st, _, _) = send(scim(s, &token, Method::GET, "/Users")).await;
        assert_eq!(st, StatusCode::OK);

        // Unknown ids are 404.
        for unknown in ["0190d6a4-0000-7000-8000-000000000000", "nope"] {
            let (st, _, body) = send(request(
                s,
                Method::DELETE,
                &format!("/api/v1/scim-credentials/{unknown}"),
            ))
            .await;
            assert_error_shape((st, &body), StatusCode::NOT_FOUND, "E0000007");
        }

        // Revoke: 204, then the token is refused, the other still works.
        let (st, _, body) = send(request(
            s,
            Method::DELETE,
            &format!("/api/v1/scim-credentials/{cid}"),
        ))
        .await;
        assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
        let (st, h, body) = send(scim(s, &token, Method::GET, "/Users")).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{body}");
        assert_error(&body, "401", None);
        assert_eq!(h["content-type"], "application/scim+json");
        let (st, _, body) = send(scim(s, &other_token, Method::GET, "/Users")).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        let event = one_event(s, "system.scim_credential.revoke", &cid).await;
        assert_attributed(&event, &admin, &[&cid]);

        // Listed as revoked; revoking again is 404 and logs nothing.
        let (_, _, list) = send(request(s, Method::GET, "/api/v1/scim-credentials")).await;
        let mine = list
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["id"] == cid.as_str())
            .unwrap_or_else(|| panic!("{cid} not listed: {list}"));
        assert!(mine["revoked"].is_string(), "{list}");
        let (st, _, body) = send(request(
            s,
            Method::DELETE,
            &format!("/api/v1/scim-credentials/{cid}"),
        ))
        .await;
        assert_error_shape((st, &body), StatusCode::NOT_FOUND, "E0000007");
        assert_eq!(
            events(s, "system.scim_credential.revoke", &cid).await.len(),
            1
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_list_sorts_pages_projects_and_searches() {
    on_every_backend(async |s| {
        let t = credential(s).await;
        for (login, given) in [
            ("p-cat@example.com", "Cat"),
            ("p-amy@example.com", "Amy"),
            ("p-eve@example.com", "Eve"),
            ("p-bob@example.com", "Bob"),
            ("p-dan@example.com", "Dan"),
        ] {
            let (st, _, u) = send(scim(s, &t, Method::POST, "/Users").json(&person(login, given))).await;
            assert_eq!(st, StatusCode::CREATED, "{u}");
        }
        let filter = r#"userName sw "p-""#;

        // Sorting, both ways.
        let (st, h, list) = get_scim(s, &t, "/Users", &[("filter", filter), ("sortBy", "userName"), ("sortOrder", "descending")]).await;
        assert_eq!(st, StatusCode::OK, "{list}");
        assert_eq!(h["content-type"], "application/scim+json");
        assert_page(&list, 5, 1, 5);
        let descending = ["p-eve@example.com", "p-dan@example.com", "p-cat@example.com", "p-bob@example.com", "p-amy@example.com"];
        assert_eq!(names(&list, "userName"), descending);
        let (_, _, list) = get_scim(s, &t, "/Users", &[("filter", filter), ("sortBy", "userName"), ("sortOrder", "ascending")]).await;
        let ascending: Vec<&str> = descending.iter().rev().copied().collect();
        assert_eq!(names(&list, "userName"), ascending);
        let (_, _, list) = get_scim(s, &t, "/Users", &[("filter", filter), ("sortBy", "name.givenName")]).await;
        assert_eq!(names(&list, "userName"), ascending, "sortOrder defaults to ascending");
        // Unfiltered: every user but the super admin (admins are hidden from SCIM), in order.
        let (_, _, all) = get_scim(s, &t, "/Users", &[("sortBy", "userName"), ("sortOrder", "descending")]).await;
        let every = names(&all, "userName");
        assert_eq!(all["totalResults"], every.len() as u64, "{all}");
        assert_eq!(every.len(), 5, "{all}");
        assert!(!every.iter().any(|n| n == ADMIN_LOGIN), "{all}");
        let mut sorted = every.clone();
        sorted.sort_by_key(|n| std::cmp::Reverse(n.to_lowercase()));
        assert_eq!(every, sorted);
        let (st, _, body) = get_scim(s, &t, "/Users", &[("sortBy", "userName"), ("sortOrder", "sideways")]).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
        assert_error(&body, "400", Some("invalidValue"));

        // Paging: 1-based startIndex, count per page, totalResults over all pages.
        let mut seen = Vec::new();
        for (start, expected) in [("1", 2), ("3", 2), ("5", 1)] {
            let (st, _, page) = get_scim(s, &t, "/Users", &[("filter", filter), ("sortBy", "userName"), ("sortOrder", "descending"), ("startIndex", start), ("count", "2")]).await;
            assert_eq!(st, StatusCode::OK, "{page}");
            assert_page(&page, 5, start.parse().unwrap(), expected);
            seen.extend(names(&page, "userName"));
        }
        assert_eq!(seen, descending, "the pages, joined, are the whole sorted list");
        // Past the end: empty page, total still right.
        let (_, _, page) = get_scim(s, &t, "/Users", &[("filter", filter), ("startIndex", "6"), ("count", "2")]).await;
        assert_page(&page, 5, 6, 0);
        // startIndex below 1 is read as 1 (RFC 7644 §3.4.2.4).
        let (_, _, page) = get_scim(s, &t, "/Users", &[("filter", filter), ("sortBy", "userName"), ("startIndex", "0"), ("count", "1")]).await;
        assert_page(&page, 5, 1, 1);
        assert_eq!(names(&page, "userName"), ["p-amy@example.com"]);

        // attributes: only those asked for, plus id and schemas (returned always).
        let (st, _, list) = get_scim(s, &t, "/Users", &[("filter", filter), ("attributes", "userName")]).await;
        assert_eq!(st, StatusCode::OK, "{list}");
        assert_page(&list, 5, 1, 5);
        for r in list["Resources"].as_array().unwrap() {
            let mut keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(keys, ["id", "schemas", "userName"], "{r}");
        }
        // A sub-attribute asks for just that part.
        let (_, _, list) = get_scim(s, &t, "/Users", &[("filter", r#"userName eq "p-amy@example.com""#), ("attributes", "name.givenName,emails")]).await;
        let amy = &list["Resources"][0];
        assert_eq!(amy["name"], json!({"givenName": "Amy"}), "{amy}");
        assert_eq!(amy["emails"][0]["value"], "p-amy@example.com", "{amy}");
        assert!(amy.get("userName").is_none() && amy.get("meta").is_none(), "{amy}");

        // excludedAttributes: drops those, keeps the rest.
        let (st, _, list) = get_scim(s, &t, "/Users", &[("filter", filter), ("excludedAttributes", "emails")]).await;
        assert_eq!(st, StatusCode::OK, "{list}");
        assert_page(&list, 5, 1, 5);
        for r in list["Resources"].as_array().unwrap() {
            assert!(r.get("emails").is_none(), "{r}");
            assert!(r["userName"].is_string() && r["id"].is_string() && r["name"].is_object() && r["meta"].is_object(), "{r}");
        }
        // id and schemas are never excluded.
        let (_, _, list) = get_scim(s, &t, "/Users", &[("filter", filter), ("excludedAttributes", "id,schemas")]).await;
        assert!(list["Resources"][0]["id"].is_string() && list["Resources"][0]["schemas"].is_array(), "{list}");

        // POST /Users/.search with a SearchRequest gives what the GET gives.
        let (_, _, got) = get_scim(s, &t, "/Users", &[("filter", filter), ("sortBy", "userName"), ("sortOrder", "descending"), ("startIndex", "3"), ("count", "2"), ("attributes", "userName")]).await;
        let body = search_request(json!({"filter": filter, "sortBy": "userName", "sortOrder": "descending", "startIndex": 3, "count": 2, "attributes": ["userName"]}));
        let (st, h, found) = send(scim(s, &t, Method::POST, "/Users/.search").json(&body)).await;
        assert_eq!(st, StatusCode::OK, "{found}");
        assert_eq!(h["content-type"], "application/scim+json");
        assert_eq!(found, got);
        assert_page(&found, 5, 3, 2);
        assert_eq!(names(&found, "userName"), ["p-cat@example.com", "p-bob@example.com"]);
        let body = search_request(json!({"filter": filter, "excludedAttributes": ["emails"]}));
        let (_, _, found) = send(scim(s, &t, Method::POST, "/Users/.search").json(&body)).await;
        let (_, _, got) = get_scim(s, &t, "/Users", &[("filter", filter), ("excludedAttributes", "emails")]).await;
        assert_eq!(found, got);
        // A body that is not a SearchRequest, or has a bad filter, is 400.
        let (st, _, body) = send(scim(s, &t, Method::POST, "/Users/.search").json(&json!({"schemas": ["urn:nope"], "filter": filter}))).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
        assert_error(&body, "400", Some("invalidValue"));
        let (st, _, body) = send(scim(s, &t, Method::POST, "/Users/.search").json(&search_request(json!({"filter": "userName eq"})))).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
        assert_error(&body, "400", Some("invalidFilter"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_list_sorts_pages_projects_and_searches() {
    on_every_backend(async |s| {
        let t = credential(s).await;
        let (_, _, u) = send(scim(s, &t, Method::POST, "/Users").json(&person("member@example.com", "Mem"))).await;
        let uid = id(&u);
        for name in ["g-Charlie", "g-alpha", "g-Delta", "g-bravo"] {
            let g = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name, "members": [{"value": uid}]});
            let (st, _, grp) = send(scim(s, &t, Method::POST, "/Groups").json(&g)).await;
            assert_eq!(st, StatusCode::CREATED, "{grp}");
        }
        let filter = r#"displayName sw "g-""#;

        // Sorting is case-insensitive (displayName is caseExact: false).
        let (st, h, list) = get_scim(s, &t, "/Groups", &[("filter", filter), ("sortBy", "displayName")]).await;
        assert_eq!(st, StatusCode::OK, "{list}");
        assert_eq!(h["content-type"], "application/scim+json");
        assert_page(&list, 4, 1, 4);
        assert_eq!(names(&list, "displayName"), ["g-alpha", "g-bravo", "g-Charlie", "g-Delta"]);
        let (_, _, list) = get_scim(s, &t, "/Groups", &[("filter", filter), ("sortBy", "displayName"), ("sortOrder", "descending")]).await;
        let descending = ["g-Delta", "g-Charlie", "g-bravo", "g-alpha"];
        assert_eq!(names(&list, "displayName"), descending);

        // Paging.
        let mut seen = Vec::new();
        for (start, expected) in [(1, 3), (4, 1)] {
            let (_, _, page) = get_scim(s, &t, "/Groups", &[("filter", filter), ("sortBy", "displayName"), ("sortOrder", "descending"), ("startIndex", &start.to_string()), ("count", "3")]).await;
            assert_page(&page, 4, start, expected);
            seen.extend(names(&page, "displayName"));
        }
        assert_eq!(seen, descending);

        // Projection.
        let (_, _, list) = get_scim(s, &t, "/Groups", &[("filter", filter), ("attributes", "displayName")]).await;
        for r in list["Resources"].as_array().unwrap() {
            let mut keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(keys, ["displayName", "id", "schemas"], "{r}");
        }
        let (_, _, list) = get_scim(s, &t, "/Groups", &[("filter", filter), ("excludedAttributes", "members")]).await;
        assert_page(&list, 4, 1, 4);
        for r in list["Resources"].as_array().unwrap() {
            assert!(r.get("members").is_none(), "{r}");
            assert!(r["displayName"].is_string() && r["meta"].is_object(), "{r}");
        }
        let (_, _, list) = get_scim(s, &t, "/Groups", &[("filter", filter)]).await;
        assert!(list["Resources"].as_array().unwrap().iter().all(|r| r["members"][0]["value"] == uid.as_str()), "{list}");

        // POST /Groups/.search gives what the GET gives.
        let (_, _, got) = get_scim(s, &t, "/Groups", &[("filter", filter), ("sortBy", "displayName"), ("sortOrder", "descending"), ("startIndex", "2"), ("count", "2"), ("excludedAttributes", "members")]).await;
        let body = search_request(json!({"filter": filter, "sortBy": "displayName", "sortOrder": "descending", "startIndex": 2, "count": 2, "excludedAttributes": ["members"]}));
        let (st, h, found) = send(scim(s, &t, Method::POST, "/Groups/.search").json(&body)).await;
        assert_eq!(st, StatusCode::OK, "{found}");
        assert_eq!(h["content-type"], "application/scim+json");
        assert_eq!(found, got);
        assert_page(&found, 4, 2, 2);
        assert_eq!(names(&found, "displayName"), ["g-Charlie", "g-bravo"]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_endpoints_state_what_is_supported() {
    on_every_backend(async |s| {
        let t = credential(s).await;

        // A path SCIM does not serve is a SCIM 404, not the admin API's.
        let (st, h, body) = send(scim(s, &t, Method::GET, "/Bulk")).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(h["content-type"], "application/scim+json");
        assert_error(&body, "404", None);

        let (st, h, spc) = send(scim(s, &t, Method::GET, "/ServiceProviderConfig")).await;
        assert_eq!(st, StatusCode::OK, "{spc}");
        assert_eq!(h["content-type"], "application/scim+json");
        assert_eq!(
            spc["schemas"],
            json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]),
            "{spc}"
        );
        for supported in ["patch", "filter", "sort", "etag"] {
            assert_eq!(spc[supported]["supported"], true, "{supported}: {spc}");
        }
        assert_eq!(spc["bulk"]["supported"], false, "{spc}");
        assert_eq!(spc["changePassword"]["supported"], false, "{spc}");
        assert!(
            spc["filter"]["maxResults"].as_u64().is_some_and(|m| m > 0),
            "{spc}"
        );
        let schemes = spc["authenticationSchemes"]
            .as_array()
            .expect("authenticationSchemes");
        assert!(
            schemes.iter().any(|a| a["type"] == "oauthbearertoken"),
            "{spc}"
        );
        assert_eq!(
            spc["meta"]["resourceType"], "ServiceProviderConfig",
            "{spc}"
        );

        let (st, h, types) = send(scim(s, &t, Method::GET, "/ResourceTypes")).await;
        assert_eq!(st, StatusCode::OK, "{types}");
        assert_eq!(h["content-type"], "application/scim+json");
        assert_page(&types, 2, 1, 2);
        let user_type = types["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == "User")
            .unwrap_or_else(|| panic!("{types}"))
            .clone();
        assert_eq!(user_type["endpoint"], "/Users", "{user_type}");
        assert_eq!(
            user_type["schema"], "urn:ietf:params:scim:schemas:core:2.0:User",
            "{user_type}"
        );
        assert_eq!(
            user_type["schemaExtensions"][0]["schema"],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "{user_type}"
        );
        let group_type = types["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == "Group")
            .unwrap_or_else(|| panic!("{types}"))
            .clone();
        assert_eq!(group_type["endpoint"], "/Groups", "{group_type}");
        assert_eq!(
            group_type["schema"], "urn:ietf:params:scim:schemas:core:2.0:Group",
            "{group_type}"
        );
        let (st, h, one) = send(scim(s, &t, Method::GET, "/ResourceTypes/User")).await;
        assert_eq!(st, StatusCode::OK, "{one}");
        assert_eq!(h["content-type"], "application/scim+json");
        assert_eq!(one, user_type);

        let (st, h, schemas) = send(scim(s, &t, Method::GET, "/Schemas")).await;
        assert_eq!(st, StatusCode::OK, "{schemas}");
        assert_eq!(h["content-type"], "application/scim+json");
        assert_page(&schemas, 3, 1, 3);
        let ids = names(&schemas, "id");
        for want in [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:core:2.0:Group",
        ] {
            assert!(ids.iter().any(|i| i == want), "{want} missing: {schemas}");
        }
        let user_schema = &schemas["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == "urn:ietf:params:scim:schemas:core:2.0:User")
            .unwrap()
            .clone();
        let user_name = user_schema["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "userName")
            .unwrap_or_else(|| panic!("{user_schema}"));
        assert_eq!(user_name["uniqueness"], "server", "{user_name}");
        assert_eq!(user_name["required"], true, "{user_name}");
        let (st, h, one) = send(scim(
            s,
            &t,
            Method::GET,
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group",
        ))
        .await;
        assert_eq!(st, StatusCode::OK, "{one}");
        assert_eq!(h["content-type"], "application/scim+json");
        assert_eq!(one["name"], "Group", "{one}");

        // Unknown ones are SCIM 404s.
        for path in ["/ResourceTypes/Printer", "/Schemas/urn:nope"] {
            let (st, h, body) = send(scim(s, &t, Method::GET, path)).await;
            assert_eq!(st, StatusCode::NOT_FOUND, "{path}: {body}");
            assert_eq!(h["content-type"], "application/scim+json");
            assert_error(&body, "404", None);
        }
    })
    .await;
}

/// GET `/scim/v2{path}` with query parameters, encoded here.
async fn get_scim(
    s: &ulo_testkit::TestServer,
    token: &str,
    path: &str,
    query: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    send(scim(s, token, Method::GET, path).query(query)).await
}

/// The userNames of a SCIM list response.
fn user_names(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .unwrap_or_else(|| panic!("no Resources in {list}"))
        .iter()
        .map(|r| r["userName"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Asserts a SCIM 403 whose detail says the user is an admin.
fn assert_admin_refused(st: StatusCode, body: &Value, what: &str) {
    assert_eq!(st, StatusCode::FORBIDDEN, "{what}: {body}");
    assert_error(body, "403", None);
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("admin role"),
        "{what}: the detail must say why: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scim_credential_cannot_see_change_or_delete_an_admin() {
    on_every_backend(async |s| {
        let t = credential(s).await;
        let admin = admin_id(s).await;
        let (reader, _) = read_only_admin(s, "reader@example.com").await;
        let reader = id(&reader);
        let (st, _, person) =
            send(scim(s, &t, Method::POST, "/Users").json(&user("ada@example.com"))).await;
        assert_eq!(st, StatusCode::CREATED, "{person}");
        let person = id(&person);

        // Admins are not in lists, filters or reads.
        let (st, _, list) = send(scim(s, &t, Method::GET, "/Users")).await;
        assert_eq!(st, StatusCode::OK, "{list}");
        assert_eq!(user_names(&list), vec!["ada@example.com"], "{list}");
        assert_eq!(list["totalResults"], 1);
        let filter = format!("userName eq \"{ADMIN_LOGIN}\"");
        let (st, _, list) =
            send(scim(s, &t, Method::GET, "/Users").query(&[("filter", &filter)])).await;
        assert_eq!(
            (st, list["totalResults"].clone()),
            (StatusCode::OK, json!(0)),
            "{list}"
        );
        for who in [&admin, &reader] {
            let (st, _, body) = send(scim(s, &t, Method::GET, &format!("/Users/{who}"))).await;
            assert_admin_refused(st, &body, "GET an admin");
        }

        // Nor can SCIM change or delete them: 403 naming why, and nothing changes.
        let before = s.get(&format!("/api/v1/users/{admin}")).await.1;
        for who in [&admin, &reader] {
            let (st, _, body) = send(
                scim(s, &t, Method::PUT, &format!("/Users/{who}"))
                    .json(&user("taken-over@example.com")),
            )
            .await;
            assert_admin_refused(st, &body, "PUT an admin");
            let (st, _, body) = send(scim(s, &t, Method::PATCH, &format!("/Users/{who}")).json(
                &patch_op(json!([{"op": "replace", "path": "active", "value": false}])),
            ))
            .await;
            assert_admin_refused(st, &body, "deactivate an admin");
            let (st, _, body) = send(scim(s, &t, Method::DELETE, &format!("/Users/{who}"))).await;
            assert_admin_refused(st, &body, "DELETE an admin");
        }
        let after = s.get(&format!("/api/v1/users/{admin}")).await.1;
        assert_eq!(before, after, "the super admin changed");
        assert_eq!(after["status"], "ACTIVE");
        let (st, r) = s.get(&format!("/api/v1/users/{reader}")).await;
        assert_eq!((st, r["status"].clone()), (StatusCode::OK, json!("ACTIVE")));
        assert!(
            events(s, "user.account.update_profile", &admin)
                .await
                .is_empty()
        );
        assert!(
            events(s, "user.lifecycle.deactivate", &reader)
                .await
                .is_empty()
        );

        // Groups: an admin can be neither added nor removed; a group SCIM replaces keeps its
        // admin members (SCIM does not see them).
        let (st, _, body) = send(scim(s, &t, Method::POST, "/Groups").json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Takeover", "members": [{"value": admin}],
        })))
        .await;
        assert_admin_refused(st, &body, "a new group with an admin member");
        let (_, groups) = s.get("/api/v1/groups").await;
        assert!(
            groups.as_array().unwrap().is_empty(),
            "no group may be left behind: {groups}"
        );
        let (st, _, group) = send(scim(s, &t, Method::POST, "/Groups").json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering", "members": [{"value": person}],
        })))
        .await;
        assert_eq!(st, StatusCode::CREATED, "{group}");
        let gid = id(&group);
        let (st, _) = s
            .put(&format!("/api/v1/groups/{gid}/users/{admin}"), None)
            .await;
        assert_eq!(st, StatusCode::NO_CONTENT);
        let (_, _, seen) = send(scim(s, &t, Method::GET, &format!("/Groups/{gid}"))).await;
        assert_eq!(seen["members"].as_array().unwrap().len(), 1, "{seen}");
        assert_eq!(seen["members"][0]["value"], person.as_str());
        let (st, _, body) = send(scim(s, &t, Method::PUT, &format!("/Groups/{gid}")).json(
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Engineering (renamed)", "members": [{"value": person}],
            }),
        ))
        .await;
        assert_eq!(st, StatusCode::OK, "{body}");
        let (_, members) = s.get(&format!("/api/v1/groups/{gid}/users")).await;
        let ids: Vec<&str> = members
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap())
            .collect();
        assert!(
            ids.contains(&admin.as_str()),
            "the admin was dropped from the group: {members}"
        );
        let (st, _, body) = send(scim(s, &t, Method::PATCH, &format!("/Groups/{gid}")).json(
            &patch_op(json!([{"op": "add", "path": "members", "value": [{"value": reader}]}])),
        ))
        .await;
        assert_admin_refused(st, &body, "add an admin to a group");
        let (_, g) = s.get(&format!("/api/v1/groups/{gid}")).await;
        assert_eq!(g["profile"]["name"], "Engineering (renamed)");

        // SCIM grants no roles, whatever the document says.
        let mut doc = user("ada@example.com");
        doc["roles"] = json!([{"value": "SUPER_ADMIN", "primary": true}]);
        let (st, _, body) =
            send(scim(s, &t, Method::PUT, &format!("/Users/{person}")).json(&doc)).await;
        assert!(
            st == StatusCode::OK || st == StatusCode::BAD_REQUEST,
            "{st}: {body}"
        );
        let (st, roles) = s.get(&format!("/api/v1/users/{person}/roles")).await;
        assert_eq!((st, roles), (StatusCode::OK, json!([])));

        // An ordinary person is still fully managed by SCIM.
        let (st, _, body) = send(scim(s, &t, Method::DELETE, &format!("/Users/{person}"))).await;
        assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_can_show_admins_to_scim_which_still_cannot_change_them() {
    for backend in ulo_testkit::backends() {
        let db = ulo_testkit::Database::new(backend).await.expect("database");
        let s = ulo_testkit::TestServer::start_configured(
            db,
            std::sync::Arc::new(ulo_server::clock::SystemClock),
            |o| o.scim_shows_admins = true,
        )
        .await
        .expect("start");
        let t = credential(&s).await;
        let admin = admin_id(&s).await;
        let (st, _, list) = send(scim(&s, &t, Method::GET, "/Users")).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(user_names(&list), vec![ADMIN_LOGIN], "{list}");
        let (st, _, body) = send(scim(&s, &t, Method::GET, &format!("/Users/{admin}"))).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        let (st, _, body) = send(
            scim(&s, &t, Method::PATCH, &format!("/Users/{admin}")).json(&patch_op(
                json!([{"op": "replace", "path": "name.givenName", "value": "Mallory"}]),
            )),
        )
        .await;
        assert_admin_refused(st, &body, "rename a visible admin");
        let (st, _, body) = send(scim(&s, &t, Method::DELETE, &format!("/Users/{admin}"))).await;
        assert_admin_refused(st, &body, "delete a visible admin");
        s.stop().await;
    }
}

/// Entra ID removes a group member with `{"op":"remove","path":"members","value":[{"value":id}]}`:
/// only the members listed leave; the others stay (it used to empty the group).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_listed_members_keeps_the_others() {
    on_every_backend(async |s| {
        let t = credential(s).await;
        let mut ids = Vec::new();
        for login in ["m1@example.com", "m2@example.com", "m3@example.com"] {
            let (st, _, u) = send(scim(s, &t, Method::POST, "/Users").json(&user(login))).await;
            assert_eq!(st, StatusCode::CREATED, "{u}");
            ids.push(u["id"].as_str().unwrap().to_string());
        }
        let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
        let g = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Ops", "members": members});
        let (st, _, grp) = send(scim(s, &t, Method::POST, "/Groups").json(&g)).await;
        assert_eq!(st, StatusCode::CREATED, "{grp}");
        let gid = grp["id"].as_str().unwrap().to_string();

        let rm = patch_op(json!([{"op": "remove", "path": "members", "value": [{"value": ids[1]}]}]));
        let (st, _, grp) = send(scim(s, &t, Method::PATCH, &format!("/Groups/{gid}")).json(&rm)).await;
        assert_eq!(st, StatusCode::OK, "{grp}");
        let mut left: Vec<String> = grp["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap().to_string())
            .collect();
        left.sort();
        let mut want = vec![ids[0].clone(), ids[2].clone()];
        want.sort();
        assert_eq!(left, want, "{grp}");

        // Without a value, remove still empties the attribute (RFC 7644 §3.5.2.2).
        let all = patch_op(json!([{"op": "remove", "path": "members"}]));
        let (st, _, grp) = send(scim(s, &t, Method::PATCH, &format!("/Groups/{gid}")).json(&all)).await;
        assert_eq!(st, StatusCode::OK, "{grp}");
        assert!(grp.get("members").is_none_or(|m| m.as_array().is_some_and(Vec::is_empty)), "{grp}");
    })
    .await;
}

#[tokio::test]
async fn many_failed_scim_credentials_from_one_address_are_throttled_with_retry_after() {
    // About the HTTP layer, not the store: SQLite is enough.
    on_sqlite(async |s| {
        let t = credential(s).await;
        let bad = || {
            scim(
                s,
                "ulo_scim_guessing_00000000000000000000",
                Method::GET,
                "/Users",
            )
        };
        for attempt in 1..=30 {
            let (st, _, body) = send(bad()).await;
            assert_eq!(st, StatusCode::UNAUTHORIZED, "attempt {attempt}: {body}");
        }
        let (st, headers, body) = send(bad()).await;
        assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert_error(&body, "429", None);
        assert_eq!(
            headers.get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/scim+json")
        );
        let retry_after: u64 = headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no numeric Retry-After: {headers:?}"));
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        // A valid credential from the same address still gets in: only failures wait.
        let (st, _, body) = send(scim(s, &t, Method::GET, "/Users")).await;
        assert_eq!(st, StatusCode::OK, "{body}");
    })
    .await;
}
