//! Directory → Groups: the list and its search, Add Group and its errors, a group's members,
//! adding and removing one — refused without a session, to a read-only admin and without the
//! csrf token; each change visible through the API and in the System Log as the console's.

use reqwest::StatusCode;
use serde_json::Value;
use ulo_testkit::TestServer;

use super::*;
use crate::signin::{answer, browser, logged};
use crate::support::{create_group, create_user, id, on_every_backend};

async fn members(s: &TestServer, gid: &str) -> Vec<String> {
    let (status, v) = s.get(&format!("/api/v1/groups/{gid}/users")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v.as_array()
        .unwrap()
        .iter()
        .map(|u| u["profile"]["login"].as_str().unwrap().to_string())
        .collect()
}

async fn console_events(s: &TestServer, event_type: &str, target: &str) -> Vec<Value> {
    let found = logged(
        s,
        &format!("eventType eq \"{event_type}\" and target.id eq \"{target}\""),
    )
    .await;
    for e in &found {
        assert_eq!(e["client"]["id"], "ulo-admin-console", "{e}");
    }
    found
}

#[tokio::test]
async fn groups_are_listed_searched_and_added_with_errors_beside_the_form() {
    on_every_backend(async |s| {
        let c = console(s).await;
        create_group(s, "Finance").await;
        create_group(s, "Field sales").await;
        create_group(s, "Engineering").await;

        let all = c.get("/admin/groups").await;
        assert_eq!(all.status, StatusCode::OK, "{}", all.body);
        for g in ["Finance", "Field sales", "Engineering", "Add Group"] {
            assert!(all.body.contains(g), "{g}");
        }
        let f = c.get("/admin/groups?q=fi").await;
        assert!(f.body.contains("Finance") && f.body.contains("Field sales"));
        assert!(!f.body.contains("Engineering"), "{}", f.body);
        let none = c.get("/admin/groups?q=zzz").await;
        assert!(
            none.body.contains("No group's name starts with “zzz”."),
            "{}",
            none.body
        );

        let form = c.get("/admin/groups/new").await;
        assert_eq!(form.status, StatusCode::OK);
        let blank = c
            .post(
                "/admin/groups/new",
                &[("name", "  "), ("description", "kept")],
            )
            .await;
        assert_eq!(blank.status, StatusCode::BAD_REQUEST, "{}", blank.body);
        assert!(
            blank.body.contains("The group was not added."),
            "{}",
            blank.body
        );
        assert!(
            blank.body.contains("name: The field cannot be left blank"),
            "{}",
            blank.body
        );
        assert!(
            blank.body.contains(">kept</textarea>"),
            "what was typed stays"
        );
        let dup = c.post("/admin/groups/new", &[("name", "finance")]).await;
        assert_eq!(dup.status, StatusCode::CONFLICT, "{}", dup.body);
        assert!(dup.body.contains("The group was not added."));

        // Refused: no csrf, read-only; nothing added.
        let forged = c
            .post_without_csrf("/admin/groups/new", &[("name", "Forged")])
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        read_only_admin(s, "viewer@example.com").await;
        let viewer = ConsoleClient::sign_in(s, "viewer@example.com").await;
        let list = viewer.get("/admin/groups").await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(
            !list.body.contains("Add Group"),
            "no write control for a read-only admin"
        );
        assert_eq!(
            viewer.get("/admin/groups/new").await.status,
            StatusCode::FORBIDDEN
        );
        let refused = viewer
            .post("/admin/groups/new", &[("name", "Viewers")])
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        let (_, found) = s.get("/api/v1/groups?q=Forged").await;
        assert_eq!(found.as_array().unwrap().len(), 0);
        let (_, found) = s.get("/api/v1/groups?q=Viewers").await;
        assert_eq!(found.as_array().unwrap().len(), 0);
        let anon = answer(browser().get(format!("{}/admin/groups", s.url))).await;
        assert_eq!(anon.status, StatusCode::SEE_OTHER);

        let made = c
            .post(
                "/admin/groups/new",
                &[("name", "Contractors"), ("description", "Outside help")],
            )
            .await;
        assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
        let (_, found) = s.get("/api/v1/groups?q=Contractors").await;
        let gid = id(&found[0]);
        assert_eq!(made.location(), format!("/admin/groups/{gid}?done=created"));
        assert_eq!(found[0]["profile"]["description"], "Outside help");
        assert_eq!(
            console_events(s, "group.lifecycle.create", &gid)
                .await
                .len(),
            1
        );
        let page = c.get(made.location()).await;
        assert!(page.body.contains("Group created."), "{}", page.body);
        assert!(page.body.contains("Outside help"));
    })
    .await;
}

#[tokio::test]
async fn members_are_added_and_removed_with_errors_next_to_the_field() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let g = create_group(s, "Finance").await;
        let gid = id(&g);
        let ada = id(&create_user(s, "ada@example.com").await);
        let page = format!("/admin/groups/{gid}");
        let p = c.get(&page).await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        assert!(p.body.contains("Add a member") && p.body.contains("No members."));

        let add = format!("{page}/members");
        let unknown = c.post(&add, &[("person", "nobody@example.com")]).await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
        assert!(
            unknown.body.contains("id=\"person-error\""),
            "{}",
            unknown.body
        );
        assert!(
            unknown.body.contains("No one has the username"),
            "{}",
            unknown.body
        );
        assert!(
            unknown.body.contains("value=\"nobody@example.com\""),
            "what was typed stays"
        );
        let empty = c.post(&add, &[("person", " ")]).await;
        assert_eq!(empty.status, StatusCode::BAD_REQUEST);
        assert!(
            empty
                .body
                .contains("Type the username of the person to add.")
        );
        let forged = c
            .post_without_csrf(&add, &[("person", "ada@example.com")])
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        read_only_admin(s, "viewer@example.com").await;
        let viewer = ConsoleClient::sign_in(s, "viewer@example.com").await;
        let seen = viewer.get(&page).await;
        assert!(!seen.body.contains("Add a member"), "{}", seen.body);
        assert_eq!(
            viewer
                .post(&add, &[("person", "ada@example.com")])
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        assert!(members(s, &gid).await.is_empty());
        let missing = c
            .get("/admin/groups/0190a2b4-0000-7000-8000-000000000000")
            .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);

        let added = c.post(&add, &[("person", "ada@example.com")]).await;
        assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
        assert_eq!(added.location(), format!("{page}?done=added"));
        assert_eq!(members(s, &gid).await, vec!["ada@example.com".to_string()]);
        assert_eq!(
            console_events(s, "group.user_membership.add", &gid)
                .await
                .len(),
            1
        );
        let p = c.get(added.location()).await;
        assert!(p.body.contains("Member added."));
        assert!(p.body.contains(&format!("href=\"/admin/people/{ada}\"")));
        let seen = viewer.get(&page).await;
        assert!(seen.body.contains("ada@example.com") && !seen.body.contains(">Remove<"));

        let remove = format!("{page}/members/{ada}/remove");
        assert_eq!(
            viewer.post(&remove, &[]).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            c.post_without_csrf(&remove, &[]).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(members(s, &gid).await.len(), 1);
        let removed = c.post(&remove, &[]).await;
        assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
        assert!(members(s, &gid).await.is_empty());
        assert_eq!(
            console_events(s, "group.user_membership.remove", &gid)
                .await
                .len(),
            1
        );
        // Removing again: not a member, said on the page.
        let again = c.post(&remove, &[]).await;
        assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.body);
        assert!(again.body.contains("alert-error"), "{}", again.body);
    })
    .await;
}
