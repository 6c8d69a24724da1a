//! Keyset paging: following `Link rel="next"` visits every item exactly once.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use ulo_testkit::TestServer;

use crate::support::*;

/// Follows `rel="next"` from `first` until there is none; answers every item and the page sizes.
async fn walk(s: &TestServer, first: reqwest::RequestBuilder) -> (Vec<Value>, Vec<usize>) {
    let (mut items, mut sizes) = (Vec::new(), Vec::new());
    let mut req = first;
    loop {
        let (status, headers, body) = send(req).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page = body
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("not an array: {body}"));
        assert!(
            link(&headers, "self").is_some(),
            "every page links to itself: {headers:?}"
        );
        sizes.push(page.len());
        items.extend(page);
        assert!(sizes.len() <= 100, "paging does not end");
        match next_link(&headers) {
            Some(next) => {
                assert!(
                    next.starts_with(&s.url),
                    "{next} is absolute, on this server"
                );
                req = s
                    .http
                    .request(Method::GET, next)
                    .header("Authorization", format!("SSWS {}", s.token));
            }
            None => return (items, sizes),
        }
    }
}

#[tokio::test]
async fn users_are_paged_three_at_a_time_each_seen_once() {
    on_every_backend(async |s| {
        let mut created = HashSet::new();
        for n in 0..7 {
            created.insert(id(&create_user(s, &format!("paged{n}@example.com")).await));
        }
        let (users, sizes) = walk(
            s,
            request(s, Method::GET, "/api/v1/users").query(&[("limit", "3")]),
        )
        .await;
        let ids: Vec<String> = users.iter().map(id).collect();
        let unique: HashSet<String> = ids.iter().cloned().collect();
        assert_eq!(unique.len(), ids.len(), "a user appeared twice: {ids:?}");
        assert!(created.is_subset(&unique), "a user was skipped: {ids:?}");
        assert_eq!(ids.len(), 8, "the seven and the super admin");
        assert!(sizes.iter().all(|n| *n <= 3), "{sizes:?}");
        assert_eq!(sizes[..2], [3, 3], "{sizes:?}");
    })
    .await;
}

#[tokio::test]
async fn a_filtered_user_search_keeps_its_filter_on_every_page() {
    on_every_backend(async |s| {
        for n in 0..7 {
            create_user(s, &format!("paged{n}@example.com")).await;
            create_staged_user(s, &format!("other{n}@example.com")).await;
        }
        let first = request(s, Method::GET, "/api/v1/users")
            .query(&[("limit", "3"), ("filter", r#"profile.login sw "paged""#)]);
        let (users, sizes) = walk(s, first).await;
        let mut logins: Vec<String> = users
            .iter()
            .map(|u| {
                u["profile"]["login"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        logins.sort();
        let expected: Vec<String> = (0..7).map(|n| format!("paged{n}@example.com")).collect();
        assert_eq!(logins, expected, "pages {sizes:?}");
    })
    .await;
}

#[tokio::test]
async fn groups_and_apps_are_paged_each_seen_once() {
    on_every_backend(async |s| {
        for n in 0..5 {
            create_group(s, &format!("Group {n}")).await;
            create_app(s, &format!("App {n}")).await;
        }
        for path in ["/api/v1/groups", "/api/v1/apps"] {
            let (items, sizes) =
                walk(s, request(s, Method::GET, path).query(&[("limit", "2")])).await;
            let ids: HashSet<String> = items.iter().map(id).collect();
            assert_eq!(ids.len(), 5, "{path}: pages {sizes:?}");
            assert_eq!(items.len(), 5, "{path}: pages {sizes:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn the_system_log_is_paged_two_at_a_time_each_event_seen_once_in_either_order() {
    on_every_backend(async |s| {
        for n in 0..4 {
            create_user(s, &format!("logged{n}@example.com")).await;
        }
        let (_, _, all) = get_with(s, "/api/v1/logs", &[("limit", "1000")]).await;
        let all: Vec<String> = all
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["uuid"].as_str().unwrap_or_default().to_string())
            .collect();
        assert!(
            all.len() >= 11,
            "bootstrap's three and two per user: {all:?}"
        );

        let (events, sizes) = walk(
            s,
            request(s, Method::GET, "/api/v1/logs").query(&[("limit", "2")]),
        )
        .await;
        let walked: Vec<String> = events
            .iter()
            .map(|e| e["uuid"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(walked, all, "ascending pages, in order, each event once");
        assert!(sizes.iter().all(|n| *n <= 2), "{sizes:?}");

        let (events, _) = walk(
            s,
            request(s, Method::GET, "/api/v1/logs")
                .query(&[("limit", "2"), ("sortOrder", "DESCENDING")]),
        )
        .await;
        let mut walked: Vec<String> = events
            .iter()
            .map(|e| e["uuid"].as_str().unwrap_or_default().to_string())
            .collect();
        walked.reverse();
        assert_eq!(walked, all, "descending pages, in order, each event once");

        let filter = r#"eventType eq "user.lifecycle.create""#;
        let (events, _) = walk(
            s,
            request(s, Method::GET, "/api/v1/logs").query(&[("limit", "2"), ("filter", filter)]),
        )
        .await;
        assert_eq!(events.len(), 5, "the admin and four users");
        assert!(
            events
                .iter()
                .all(|e| e["eventType"] == "user.lifecycle.create"),
            "the filter holds on every page"
        );
    })
    .await;
}
