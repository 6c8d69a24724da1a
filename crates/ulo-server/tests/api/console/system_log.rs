//! Reports → System Log over HTTP: the page, its filter's errors in place, transactions, the
//! downloads and the live tail.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use super::*;
use crate::signin::{answer, browser};
use crate::support::{create_user, id, on_every_backend};

#[tokio::test]
async fn the_system_log_page_filters_and_refuses_bad_searches_in_place() {
    on_every_backend(async |s| {
        let c = console(s).await;
        create_user(s, "ada@example.com").await;
        let page = c.get("/admin/reports/system-log").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Events over time"));
        assert!(page.body.contains("<rect class=\"bar\""), "a bar at least");
        assert!(page.body.contains("user.lifecycle.create"));

        let page = c
            .get(
                "/admin/reports/system-log?filter=eventType+eq+%22user.session.access_admin_app%22",
            )
            .await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            !page
                .body
                .contains("<code class=\"event-type\">user.lifecycle.create")
        );
        assert!(
            page.body
                .contains("<code class=\"event-type\">user.session.access_admin_app")
        );

        let bad = c.get("/admin/reports/system-log?filter=eventType+eq").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.body.contains("id=\"filter-error\""), "{}", bad.body);
        assert!(bad.body.contains("Invalid filter"), "{}", bad.body);
        // What was typed stays in the box.
        assert!(bad.body.contains("value=\"eventType eq\""), "{}", bad.body);

        for (query, says) in [
            ("range=2y", "Unknown time range"),
            (
                "range=custom&since=2026-12-01T10:00&until=2026-12-01T09:00",
                "ends before it starts",
            ),
            ("range=custom&since=yesterday", "Invalid since"),
            ("q=a+b+c+d+e+f+g+h+i+j+k", "at most 10"),
        ] {
            let bad = c.get(&format!("/admin/reports/system-log?{query}")).await;
            assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{query}");
            assert!(bad.body.contains(says), "{query}: {}", bad.body);
        }
        let read_only = {
            read_only_admin(s, "auditor@example.com").await;
            ConsoleClient::sign_in(s, "auditor@example.com").await
        };
        let page = read_only.get("/admin/reports/system-log").await;
        assert_eq!(page.status, StatusCode::OK);
        let a = answer(browser().get(format!("{}/admin/reports/system-log", s.url))).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
    })
    .await;
}

#[tokio::test]
async fn a_transactions_events_are_shown_together() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let user = create_user(s, "ada@example.com").await;
        let (_, logged) = s
            .get(&format!(
                "/api/v1/logs?filter=target.id+eq+%22{}%22",
                id(&user)
            ))
            .await;
        let tx = logged[0]["transaction"]["id"]
            .as_str()
            .expect("tx")
            .to_string();
        let page = c
            .get(&format!("/admin/reports/system-log/transactions/{tx}"))
            .await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains(&tx));
        assert!(page.body.contains("user.lifecycle.create"));
        let none = c
            .get("/admin/reports/system-log/transactions/0000000000")
            .await;
        assert_eq!(none.status, StatusCode::NOT_FOUND);
        assert!(none.body.contains("No event of transaction"));
        let bad = c
            .get("/admin/reports/system-log/transactions/a%22%20or%20x")
            .await;
        assert_eq!(bad.status, StatusCode::NOT_FOUND);
        assert!(bad.body.contains("not a transaction id"));
    })
    .await;
}

#[tokio::test]
async fn the_current_filter_downloads_as_csv_and_json() {
    on_every_backend(async |s| {
        let c = console(s).await;
        for i in 0..3 {
            create_user(s, &format!("p{i}@example.com")).await;
        }
        let filter = "filter=eventType+eq+%22user.lifecycle.create%22";
        let csv = c
            .get(&format!(
                "/admin/reports/system-log/download?format=csv&{filter}"
            ))
            .await;
        assert_eq!(csv.status, StatusCode::OK);
        assert_eq!(
            csv.headers
                .get("content-disposition")
                .and_then(|v| v.to_str().ok()),
            Some("attachment; filename=\"system-log.csv\"")
        );
        let lines: Vec<&str> = csv.body.lines().collect();
        assert!(
            lines[0].starts_with("published,uuid,eventType"),
            "{}",
            csv.body
        );
        // Three people, the console's admin and the first super admin.
        assert_eq!(lines.len(), 1 + 5, "{}", csv.body);
        assert!(
            lines[1..]
                .iter()
                .all(|l| l.contains("user.lifecycle.create"))
        );

        let json = c
            .get(&format!(
                "/admin/reports/system-log/download?format=json&{filter}"
            ))
            .await;
        assert_eq!(json.status, StatusCode::OK);
        let events: Vec<Value> = serde_json::from_str(&json.body).expect("a JSON array");
        assert_eq!(events.len(), 5);
        assert!(
            events
                .iter()
                .all(|e| e["eventType"] == "user.lifecycle.create")
        );

        let bad = c.get("/admin/reports/system-log/download?format=xml").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        let bad = c
            .get("/admin/reports/system-log/download?format=csv&filter=nope")
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    })
    .await;
}

#[tokio::test]
async fn the_live_tail_sends_new_events_as_rows() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let resp = c
            .http
            .get(format!(
                "{}/admin/reports/system-log/tail?filter=eventType+eq+%22user.lifecycle.create%22",
                s.url
            ))
            .send()
            .await
            .expect("tail");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("text/event-stream")
        );
        create_user(s, "tailed@example.com").await;
        let mut resp = resp;
        let mut seen = String::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !seen.contains("tailed@example.com") {
            let chunk = tokio::time::timeout_at(deadline, resp.chunk())
                .await
                .expect("the new event within 20 s")
                .expect("chunk")
                .expect("stream open");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        assert!(seen.contains("event: log"), "{seen}");
        assert!(seen.contains("<tr class=\"log-row\""), "{seen}");
    })
    .await;
}
