//! `/api/v1/groups`: groups and their membership.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn a_group_is_created_read_listed_replaced_and_deleted_with_events() {
    on_every_backend(async |s| {
        let admin = admin_id(s).await;
        let group = create_group(s, "Engineering").await;
        let gid = id(&group);
        assert_eq!(group["profile"]["name"], "Engineering");
        assert_eq!(group["type"], "OKTA_GROUP");
        assert_attributed(
            &one_event(s, "group.lifecycle.create", &gid).await,
            &admin,
            &[&gid],
        );

        let (status, got) = s.get(&format!("/api/v1/groups/{gid}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(got["profile"], group["profile"]);
        let (status, _, listed) = get_with(s, "/api/v1/groups", &[("q", "Eng")]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            listed
                .as_array()
                .map(|g| g.iter().map(id).collect::<Vec<_>>()),
            Some(vec![gid.clone()])
        );

        let (status, replaced) = s
            .put(
                &format!("/api/v1/groups/{gid}"),
                Some(json!({"profile": {"name": "Platform"}})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{replaced}");
        assert_eq!(
            replaced["profile"],
            json!({"name": "Platform"}),
            "the description was not sent, so it is gone"
        );
        assert_attributed(
            &one_event(s, "group.profile.update", &gid).await,
            &admin,
            &[&gid],
        );

        let (status, _) = s.delete(&format!("/api/v1/groups/{gid}")).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, body) = s.get(&format!("/api/v1/groups/{gid}")).await;
        assert_error((status, &body), StatusCode::NOT_FOUND, "E0000007");
        assert_attributed(
            &one_event(s, "group.lifecycle.delete", &gid).await,
            &admin,
            &[&gid],
        );
    })
    .await;
}

#[tokio::test]
async fn adding_and_removing_a_member_answers_204_and_logs_each_change_once() {
    on_every_backend(async |s| {
        let admin = admin_id(s).await;
        let gid = id(&create_group(s, "Engineering").await);
        let uid = id(&create_user(s, "ada@example.com").await);
        let member = format!("/api/v1/groups/{gid}/users/{uid}");

        for _ in 0..2 {
            // Adding twice is not an error, and only the real change is logged.
            let (status, body) = s.put(&member, None).await;
            assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
            assert_eq!(body, Value::Null);
        }
        let add = one_event(s, "group.user_membership.add", &uid).await;
        assert_attributed(&add, &admin, &[&uid, &gid]);
        let (status, members) = s.get(&format!("/api/v1/groups/{gid}/users")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            members
                .as_array()
                .map(|m| m.iter().map(id).collect::<Vec<_>>()),
            Some(vec![uid.clone()])
        );

        let (status, _) = s.delete(&member).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_attributed(
            &one_event(s, "group.user_membership.remove", &uid).await,
            &admin,
            &[&uid, &gid],
        );
        let (_, members) = s.get(&format!("/api/v1/groups/{gid}/users")).await;
        assert_eq!(members, json!([]));
        let (_, groups) = s.get(&format!("/api/v1/users/{uid}/groups")).await;
        assert_eq!(groups, json!([]));

        let before = snapshot(s).await;
        let (status, body) = s.delete(&member).await;
        assert_error((status, &body), StatusCode::NOT_FOUND, "E0000007");
        assert_eq!(snapshot(s).await, before);
    })
    .await;
}

#[tokio::test]
async fn a_group_name_taken_in_any_case_is_a_conflict() {
    on_every_backend(async |s| {
        create_group(s, "Engineering").await;
        let other = id(&create_group(s, "Sales").await);
        let before = snapshot(s).await;
        let (status, body) = s
            .post(
                "/api/v1/groups",
                json!({"profile": {"name": "ENGINEERING"}}),
            )
            .await;
        assert_error((status, &body), StatusCode::CONFLICT, "E0000183");
        let (status, body) = s
            .put(
                &format!("/api/v1/groups/{other}"),
                Some(json!({"profile": {"name": "engineering"}})),
            )
            .await;
        assert_error((status, &body), StatusCode::CONFLICT, "E0000183");
        assert_eq!(snapshot(s).await, before);
    })
    .await;
}

#[tokio::test]
async fn a_group_without_a_name_is_refused_with_causes() {
    on_every_backend(async |s| {
        let before = snapshot(s).await;
        let (status, body) = s
            .post(
                "/api/v1/groups",
                json!({"profile": {"name": "  ", "description": "blank"}}),
            )
            .await;
        assert_error((status, &body), StatusCode::BAD_REQUEST, "E0000001");
        assert!(
            causes(&body).iter().any(|c| c.starts_with("name:")),
            "{body}"
        );
        assert_eq!(snapshot(s).await, before);
    })
    .await;
}
