//! `/api/v1/users`: create, read, search, update, lifecycle, delete, groups, app links, roles.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn creating_an_active_user_answers_it_and_logs_create_and_activate_in_one_transaction() {
    on_every_backend(async |s| {
        let admin = admin_id(s).await;
        let body = json!({
            "profile": {"login": "ada@example.com", "email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace", "title": "Analyst"},
            "credentials": {"password": {"value": "correct horse battery staple"}}
        });
        let (status, user) = s.post("/api/v1/users?activate=true", body).await;
        assert_eq!(status, StatusCode::OK, "{user}");
        assert_eq!(user["status"], "ACTIVE");
        assert_eq!(user["provisionedBy"], "api");
        assert_eq!(user["profile"]["login"], "ada@example.com");
        assert_eq!(user["profile"]["title"], "Analyst");
        assert!(user["passwordChanged"].is_string(), "{user}");
        // The password is write-only: neither it nor its hash is ever answered.
        let text = user.to_string();
        assert!(!text.contains("correct horse") && !text.contains("argon2"), "{text}");

        let uid = id(&user);
        let create = one_event(s, "user.lifecycle.create", &uid).await;
        let activate = one_event(s, "user.lifecycle.activate", &uid).await;
        assert_attributed(&create, &admin, &[&uid]);
        assert_attributed(&activate, &admin, &[&uid]);
        assert_eq!(create["transaction"]["id"], activate["transaction"]["id"], "one request, one transaction");
        assert_eq!(create["debugContext"]["debugData"]["provisionedBy"], "api");
    })
    .await;
}

#[tokio::test]
async fn a_user_created_with_activate_false_is_staged_until_activated() {
    on_every_backend(async |s| {
        let admin = admin_id(s).await;
        let user = create_staged_user(s, "grace@example.com").await;
        let uid = id(&user);
        assert_eq!(user["status"], "STAGED");
        assert!(events(s, "user.lifecycle.activate", &uid).await.is_empty());

        let (status, user) = s
            .post(
                &format!("/api/v1/users/{uid}/lifecycle/activate"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{user}");
        assert_eq!(user["status"], "ACTIVE");
        assert_attributed(
            &one_event(s, "user.lifecycle.activate", &uid).await,
            &admin,
            &[&uid],
        );
    })
    .await;
}

#[tokio::test]
async fn a_user_is_found_by_id_and_by_login_in_any_case() {
    on_every_backend(async |s| {
        let uid = id(&create_user(s, "Linus@Example.com").await);
        for key in [
            uid.as_str(),
            "Linus@Example.com",
            "linus@example.com",
            "LINUS@EXAMPLE.COM",
        ] {
            let (status, user) = s.get(&format!("/api/v1/users/{key}")).await;
            assert_eq!(status, StatusCode::OK, "{key}: {user}");
            assert_eq!(id(&user), uid, "{key}");
        }
    })
    .await;
}

#[tokio::test]
async fn users_are_searched_by_prefix_and_by_filter() {
    on_every_backend(async |s| {
        let ada = create_user(s, "ada@example.com").await;
        let staged = create_staged_user(s, "alan@example.com").await;
        create_user(s, "grace@example.com").await;

        let (status, _, found) = get_with(s, "/api/v1/users", &[("q", "ad")]).await;
        assert_eq!(status, StatusCode::OK, "{found}");
        let ids: Vec<String> = found.as_array().into_iter().flatten().map(id).collect();
        assert!(ids.contains(&id(&ada)), "{found}");
        assert!(!ids.contains(&id(&staged)), "{found}");

        let (status, _, found) =
            get_with(s, "/api/v1/users", &[("filter", r#"status eq "STAGED""#)]).await;
        assert_eq!(status, StatusCode::OK, "{found}");
        let ids: Vec<String> = found.as_array().into_iter().flatten().map(id).collect();
        assert_eq!(ids, vec![id(&staged)]);

        let (status, _, found) = get_with(
            s,
            "/api/v1/users",
            &[("filter", r#"profile.login sw "gr" and status eq "ACTIVE""#)],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
        assert_eq!(found[0]["profile"]["login"], "grace@example.com");
    })
    .await;
}

#[tokio::test]
async fn a_partial_update_changes_only_the_attributes_sent_and_is_logged() {
    on_every_backend(async |s| {
        let admin = admin_id(s).await;
        let uid = id(&create_user(s, "ada@example.com").await);
        let (status, user) = s
            .post(
                &format!("/api/v1/users/{uid}"),
                json!({"profile": {"title": "CISO", "firstName": "Augusta"}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{user}");
        assert_eq!(user["profile"]["title"], "CISO");
        assert_eq!(user["profile"]["firstName"], "Augusta");
        assert_eq!(
            user["profile"]["lastName"], "Person",
            "untouched attributes stay"
        );
        assert_eq!(user["profile"]["login"], "ada@example.com");
        let (_, stored) = s.get(&format!("/api/v1/users/{uid}")).await;
        assert_eq!(stored["profile"], user["profile"]);
        assert_attributed(
            &one_event(s, "user.account.update_profile", &uid).await,
            &admin,
            &[&uid],
        );
    })
    .await;
}

#[tokio::test]
async fn a_put_replaces_the_whole_profile() {
    on_every_backend(async |s| {
        let uid = id(&create_user(s, "ada@example.com").await);
        let (status, _) = s.post(&format!("/api/v1/users/{uid}"), json!({"profile": {"title": "CISO"}})).await;
        assert_eq!(status, StatusCode::OK);
        let replacement = json!({"profile": {"login": "ada.l@example.com", "email": "ada.l@example.com", "firstName": "Ada", "lastName": "L"}});
        let (status, user) = s.put(&format!("/api/v1/users/{uid}"), Some(replacement)).await;
        assert_eq!(status, StatusCode::OK, "{user}");
        assert_eq!(user["profile"]["login"], "ada.l@example.com");
        assert!(user["profile"].get("title").is_none(), "attributes left out are removed: {user}");
        let (status, _) = s.get("/api/v1/users/ada@example.com").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "the old login no longer names the user");
    })
    .await;
}

#[tokio::test]
async fn suspend_unsuspend_deactivate_and_delete_each_change_status_and_are_logged() {
    on_every_backend(async |s| {
        let admin = admin_id(s).await;
        let uid = id(&create_user(s, "ada@example.com").await);
        for (op, status, event) in [
            ("suspend", "SUSPENDED", "user.lifecycle.suspend"),
            ("unsuspend", "ACTIVE", "user.lifecycle.unsuspend"),
            ("deactivate", "DEPROVISIONED", "user.lifecycle.deactivate"),
        ] {
            let (code, user) = s
                .post(&format!("/api/v1/users/{uid}/lifecycle/{op}"), json!({}))
                .await;
            assert_eq!(code, StatusCode::OK, "{op}: {user}");
            assert_eq!(user["status"], status, "{op}");
            let (_, stored) = s.get(&format!("/api/v1/users/{uid}")).await;
            assert_eq!(stored["status"], status, "{op} is stored");
            assert_attributed(&one_event(s, event, &uid).await, &admin, &[&uid]);
        }
        let (code, body) = s.delete(&format!("/api/v1/users/{uid}")).await;
        assert_eq!(code, StatusCode::NO_CONTENT, "{body}");
        assert_eq!(body, serde_json::Value::Null);
        let (code, _) = s.get(&format!("/api/v1/users/{uid}")).await;
        assert_eq!(code, StatusCode::NOT_FOUND);
        assert_attributed(
            &one_event(s, "user.lifecycle.delete.completed", &uid).await,
            &admin,
            &[&uid],
        );
    })
    .await;
}

#[tokio::test]
async fn a_lifecycle_operation_the_status_does_not_allow_is_a_conflict_and_changes_nothing() {
    on_every_backend(async |s| {
        let uid = id(&create_staged_user(s, "ada@example.com").await);
        let before = snapshot(s).await;
        for op in ["suspend", "unsuspend"] {
            let (code, body) = s
                .post(&format!("/api/v1/users/{uid}/lifecycle/{op}"), json!({}))
                .await;
            assert_error((code, &body), StatusCode::CONFLICT, "E0000038");
        }
        let (_, user) = s.get(&format!("/api/v1/users/{uid}")).await;
        assert_eq!(user["status"], "STAGED");
        assert_eq!(snapshot(s).await, before);
    })
    .await;
}

#[tokio::test]
async fn creating_a_user_in_groups_adds_the_memberships_in_the_same_transaction() {
    on_every_backend(async |s| {
        let admin = admin_id(s).await;
        let gid = id(&create_group(s, "Engineering").await);
        let mut body = user_body("ada@example.com");
        // Listed twice: still one membership, and one event.
        body["groupIds"] = json!([gid, gid]);
        let (status, user) = s.post("/api/v1/users?activate=true", body).await;
        assert_eq!(status, StatusCode::OK, "{user}");
        let uid = id(&user);
        let (_, group) = s.get(&format!("/api/v1/groups/{gid}")).await;
        assert_eq!(group["lastMembershipUpdated"], user["created"], "{group}");

        let (status, groups) = s.get(&format!("/api/v1/users/{uid}/groups")).await;
        assert_eq!(status, StatusCode::OK, "{groups}");
        assert_eq!(
            groups
                .as_array()
                .map(|g| g.iter().map(id).collect::<Vec<_>>()),
            Some(vec![gid.clone()])
        );
        let add = one_event(s, "group.user_membership.add", &uid).await;
        assert_attributed(&add, &admin, &[&uid, &gid]);
        let create = one_event(s, "user.lifecycle.create", &uid).await;
        assert_eq!(add["transaction"]["id"], create["transaction"]["id"]);
    })
    .await;
}

#[tokio::test]
async fn app_links_say_whether_an_app_is_assigned_directly_or_through_a_group() {
    on_every_backend(async |s| {
        let uid = id(&create_user(s, "ada@example.com").await);
        let gid = id(&create_group(s, "Engineering").await);
        let direct = id(&create_app(s, "Direct App").await);
        let via_group = id(&create_app(s, "Group App").await);
        let both = id(&create_app(s, "Both App").await);
        create_app(s, "Unassigned App").await;
        let (status, _) = s
            .put(&format!("/api/v1/groups/{gid}/users/{uid}"), None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        for app in [&direct, &both] {
            let (status, body) = s
                .post(&format!("/api/v1/apps/{app}/users"), json!({"id": uid}))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        for app in [&via_group, &both] {
            let (status, body) = s
                .put(&format!("/api/v1/apps/{app}/groups/{gid}"), None)
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }

        let (status, links) = s.get(&format!("/api/v1/users/{uid}/appLinks")).await;
        assert_eq!(status, StatusCode::OK, "{links}");
        let links = links.as_array().cloned().unwrap_or_default();
        assert_eq!(links.len(), 3, "{links:?}");
        let assigned_by = |app: &str| {
            let link = links
                .iter()
                .find(|l| l["id"] == app)
                .unwrap_or_else(|| panic!("no link for {app}: {links:?}"));
            let mut via: Vec<String> = link["assignedBy"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| {
                    format!(
                        "{}{}",
                        a["type"].as_str().unwrap_or("?"),
                        a["groupId"]
                            .as_str()
                            .map(|g| format!(":{g}"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            via.sort();
            via
        };
        assert_eq!(assigned_by(&direct), vec!["USER".to_string()]);
        assert_eq!(assigned_by(&via_group), vec![format!("GROUP:{gid}")]);
        assert_eq!(
            assigned_by(&both),
            vec![format!("GROUP:{gid}"), "USER".to_string()]
        );
    })
    .await;
}

#[tokio::test]
async fn roles_are_granted_listed_and_revoked_with_events() {
    on_every_backend(async |s| {
        let admin = admin_id(s).await;
        let uid = id(&create_user(s, "ada@example.com").await);
        let (status, role) = s
            .post(
                &format!("/api/v1/users/{uid}/roles"),
                json!({"type": "READ_ONLY_ADMIN"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{role}");
        assert_eq!(role["type"], "READ_ONLY_ADMIN");
        let grant = one_event(s, "user.account.privilege.grant", &uid).await;
        assert_attributed(&grant, &admin, &[&uid]);
        assert_eq!(
            grant["debugContext"]["debugData"]["role"],
            "READ_ONLY_ADMIN"
        );

        let (status, roles) = s.get(&format!("/api/v1/users/{uid}/roles")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            roles
                .as_array()
                .map(|r| r.iter().map(|r| r["type"].clone()).collect::<Vec<_>>()),
            Some(vec![json!("READ_ONLY_ADMIN")])
        );

        let (status, _) = s
            .delete(&format!("/api/v1/users/{uid}/roles/READ_ONLY_ADMIN"))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_attributed(
            &one_event(s, "user.account.privilege.revoke", &uid).await,
            &admin,
            &[&uid],
        );
        let (_, roles) = s.get(&format!("/api/v1/users/{uid}/roles")).await;
        assert_eq!(roles, json!([]));
        let (status, body) = s
            .delete(&format!("/api/v1/users/{uid}/roles/READ_ONLY_ADMIN"))
            .await;
        assert_error((status, &body), StatusCode::NOT_FOUND, "E0000007");
    })
    .await;
}

#[tokio::test]
async fn the_last_super_admin_cannot_lose_the_role() {
    on_every_backend(async |s| {
        let admin = admin_id(s).await;
        let before = snapshot(s).await;
        let (status, body) = s
            .delete(&format!("/api/v1/users/{admin}/roles/SUPER_ADMIN"))
            .await;
        assert_error((status, &body), StatusCode::CONFLICT, "E0000038");
        assert_eq!(snapshot(s).await, before);
        let (_, roles) = s.get(&format!("/api/v1/users/{admin}/roles")).await;
        assert_eq!(roles[0]["type"], "SUPER_ADMIN", "{roles}");

        // With a second super admin, the first may step down.
        let other = id(&create_user(s, "second.admin@example.com").await);
        let (status, _) = s
            .post(
                &format!("/api/v1/users/{other}/roles"),
                json!({"type": "SUPER_ADMIN"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, body) = s
            .delete(&format!("/api/v1/users/{admin}/roles/SUPER_ADMIN"))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    })
    .await;
}

#[tokio::test]
async fn the_last_active_super_admin_cannot_be_suspended_or_deactivated() {
    on_every_backend(async |s| {
        let admin = admin_id(s).await;
        // A super admin who is not ACTIVE cannot sign in to administer, so does not count.
        let staged = id(&create_staged_user(s, "staged.admin@example.com").await);
        let (status, _) = s
            .post(
                &format!("/api/v1/users/{staged}/roles"),
                json!({"type": "SUPER_ADMIN"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let before = snapshot(s).await;
        for op in ["suspend", "deactivate"] {
            let (status, err) = s
                .post(&format!("/api/v1/users/{admin}/lifecycle/{op}"), json!({}))
                .await;
            assert_error((status, &err), StatusCode::CONFLICT, "E0000038");
        }
        assert_eq!(snapshot(s).await, before);

        let other = id(&create_user(s, "second.admin@example.com").await);
        let (status, _) = s
            .post(
                &format!("/api/v1/users/{other}/roles"),
                json!({"type": "SUPER_ADMIN"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, user) = s
            .post(
                &format!("/api/v1/users/{admin}/lifecycle/suspend"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{user}");
        assert_eq!(user["status"], "SUSPENDED");
    })
    .await;
}
