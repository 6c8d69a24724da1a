//! `/api/v1/logs`: the System Log's queries, its errors, and the live tail over server-sent events.

use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::time::{Instant, timeout_at};

use crate::support::*;

#[tokio::test]
async fn events_of_one_request_share_a_transaction_and_other_requests_get_their_own() {
    on_every_backend(async |s| {
        let gid = id(&create_group(s, "Engineering").await);
        let mut body = user_body("ada@example.com");
        body["groupIds"] = json!([gid]);
        let (status, user) = s.post("/api/v1/users?activate=true", body).await;
        assert_eq!(status, StatusCode::OK, "{user}");
        let uid = id(&user);
        let mut transactions: Vec<Value> = Vec::new();
        for ty in [
            "user.lifecycle.create",
            "user.lifecycle.activate",
            "group.user_membership.add",
        ] {
            transactions.push(one_event(s, ty, &uid).await["transaction"]["id"].clone());
        }
        assert!(
            transactions.windows(2).all(|w| w[0] == w[1]),
            "{transactions:?}"
        );
        let group_create = one_event(s, "group.lifecycle.create", &gid).await;
        assert_ne!(group_create["transaction"]["id"], transactions[0]);
    })
    .await;
}

#[tokio::test]
async fn events_are_found_by_time_range_keywords_and_filter() {
    on_every_backend(async |s| {
        let (_, _, before) = get_with(s, "/api/v1/logs", &[("limit", "1000")]).await;
        let last = before
            .as_array()
            .and_then(|a| a.last())
            .cloned()
            .expect("bootstrap events");
        let uid = id(&create_user(s, "ada.lovelace@example.com").await);

        let since = last["published"].as_str().expect("published");
        let (status, _, recent) = get_with(s, "/api/v1/logs", &[("since", since)]).await;
        assert_eq!(status, StatusCode::OK, "{recent}");
        assert!(
            recent.as_array().is_some_and(|a| a
                .iter()
                .any(|e| e["eventType"] == "user.lifecycle.create"
                    && e["target"][0]["id"] == uid.as_str())),
            "{recent}"
        );
        let (status, _, older) = get_with(s, "/api/v1/logs", &[("until", since)]).await;
        assert_eq!(status, StatusCode::OK, "{older}");
        assert!(
            older
                .as_array()
                .is_some_and(|a| a.iter().all(|e| e["target"][0]["id"] != uid.as_str())),
            "{older}"
        );

        let (status, _, found) = get_with(s, "/api/v1/logs", &[("q", "lovelace")]).await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(
            found.as_array().map(Vec::len),
            Some(2),
            "create and activate: {found}"
        );

        let (status, _, found) = get_with(
            s,
            "/api/v1/logs",
            &[(
                "filter",
                &format!(r#"target.id eq "{uid}" and eventType sw "user.lifecycle.""#),
            )],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(found.as_array().map(Vec::len), Some(2), "{found}");
    })
    .await;
}

#[tokio::test]
async fn bad_log_queries_are_400_and_name_the_parameter() {
    on_every_backend(async |s| {
        for (param, value) in [
            ("after", "not-a-cursor"),
            ("after", "MTIzNDU"),
            ("since", "yesterday"),
            ("until", "2026-13-01T00:00:00Z"),
            ("sortOrder", "SIDEWAYS"),
            ("limit", "1001"),
        ] {
            let (status, _, err) = get_with(s, "/api/v1/logs", &[(param, value)]).await;
            assert_error((status, &err), StatusCode::BAD_REQUEST, "E0000001");
            assert!(
                err["errorSummary"]
                    .as_str()
                    .is_some_and(|m| m.contains(param)),
                "{param}={value}: {err}"
            );
        }
    })
    .await;
}

/// One server-sent event.
#[derive(Debug)]
struct Sse {
    event: String,
    id: String,
    data: Value,
}

/// Reads the event stream until `wanted` matches an event, failing at `deadline`.
async fn read_until(
    resp: &mut reqwest::Response,
    buffer: &mut String,
    deadline: Instant,
    wanted: impl Fn(&Sse) -> bool,
) -> Sse {
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut sse = Sse {
                event: String::new(),
                id: String::new(),
                data: Value::Null,
            };
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    sse.event = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("id:") {
                    sse.id = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            if data.is_empty() {
                continue; // a keep-alive comment
            }
            sse.data = serde_json::from_str(&data)
                .unwrap_or_else(|e| panic!("data is not JSON ({e}): {data}"));
            if wanted(&sse) {
                return sse;
            }
        }
        let chunk = timeout_at(deadline, resp.chunk())
            .await
            .expect("timed out waiting for the event on the live tail");
        let chunk = chunk
            .expect("read the event stream")
            .expect("the event stream ended");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn the_live_tail_streams_a_new_users_create_event() {
    on_every_backend(async |s| {
        let mut resp = request(s, Method::GET, "/api/v1/logs/stream")
            .send()
            .await
            .expect("open the live tail");
        assert_eq!(resp.status(), StatusCode::OK);
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );

        let uid = id(&create_user(s, "tailed@example.com").await);
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buffer = String::new();
        let create = read_until(&mut resp, &mut buffer, deadline, |e| {
            e.data["eventType"] == "user.lifecycle.create"
                && e.data["target"][0]["id"] == uid.as_str()
        })
        .await;
        assert_eq!(create.event, "log");
        assert!(!create.id.is_empty(), "each event has an id to resume from");
        assert_eq!(
            create.data,
            one_event(s, "user.lifecycle.create", &uid).await,
            "the streamed event is the stored one"
        );
        // Close the stream before the server stops: shutdown waits for open responses.
        drop(resp);
    })
    .await;
}

#[tokio::test]
async fn the_live_tail_applies_its_filter() {
    on_every_backend(async |s| {
        let filter = r#"eventType eq "group.lifecycle.create""#;
        let mut resp = request(s, Method::GET, "/api/v1/logs/stream")
            .query(&[("filter", filter)])
            .send()
            .await
            .expect("open the live tail");
        assert_eq!(resp.status(), StatusCode::OK);
        create_user(s, "not.streamed@example.com").await;
        let gid = id(&create_group(s, "Streamed").await);
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buffer = String::new();
        let first = read_until(&mut resp, &mut buffer, deadline, |_| true).await;
        assert_eq!(
            first.data["eventType"], "group.lifecycle.create",
            "{:?}",
            first.data
        );
        assert_eq!(first.data["target"][0]["id"], gid.as_str());
        drop(resp);

        let (status, _, err) =
            get_with(s, "/api/v1/logs/stream", &[("filter", "eventType eq")]).await;
        assert_error((status, &err), StatusCode::BAD_REQUEST, "E0000001");
        let (status, _, err) = send(anonymous(s, Method::GET, "/api/v1/logs/stream")).await;
        assert_error((status, &err), StatusCode::UNAUTHORIZED, "E0000011");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_server_ends_an_open_live_tail() {
    let mut s = ulo_testkit::TestServer::start(ulo_testkit::Backend::Sqlite)
        .await
        .unwrap();
    let mut resp = request(&s, Method::GET, "/api/v1/logs/stream")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let running = s.running.take().unwrap();
    // Graceful shutdown waits for open responses; the tail must end rather than hold it forever.
    tokio::time::timeout(std::time::Duration::from_secs(10), running.stop())
        .await
        .expect("stop returns while a tail is open");
    let end = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            match resp.chunk().await {
                Ok(Some(_)) => continue,
                _ => return,
            }
        }
    })
    .await;
    assert!(end.is_ok(), "the stream ended");
    s.stop().await;
}

#[tokio::test]
async fn a_new_tail_starts_now_and_a_resumed_one_after_its_last_event() {
    on_every_backend(async |s| {
        let before = create_user(s, "before.tail@example.com").await;
        let mut resp = request(s, Method::GET, "/api/v1/logs/stream")
            .send()
            .await
            .unwrap();
        let after = create_user(s, "after.tail@example.com").await;
        let mut buffer = String::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        let targets = |e: &Sse| {
            e.data["target"]
                .as_array()
                .map(|t| {
                    t.iter()
                        .map(|x| x["id"].as_str().unwrap_or("").to_string())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        };
        let first = read_until(&mut resp, &mut buffer, deadline, |_| true).await;
        assert!(
            !targets(&first).contains(&id(&before)),
            "history before the tail opened is not replayed"
        );
        let got = if targets(&first).contains(&id(&after)) {
            first
        } else {
            read_until(&mut resp, &mut buffer, deadline, |e| {
                targets(e).contains(&id(&after))
            })
            .await
        };
        drop(resp);

        // Resuming with Last-Event-ID continues strictly after that event.
        let third = create_user(s, "third.tail@example.com").await;
        let mut resumed = request(s, Method::GET, "/api/v1/logs/stream")
            .header("Last-Event-ID", got.id.clone())
            .send()
            .await
            .unwrap();
        let mut buffer = String::new();
        let next = read_until(
            &mut resumed,
            &mut buffer,
            Instant::now() + Duration::from_secs(10),
            |_| true,
        )
        .await;
        assert_ne!(next.id, got.id, "the resumed event is not sent again");
        let seen_third = if targets(&next).contains(&id(&third)) {
            true
        } else {
            read_until(
                &mut resumed,
                &mut buffer,
                Instant::now() + Duration::from_secs(10),
                |e| targets(e).contains(&id(&third)),
            )
            .await;
            true
        };
        assert!(seen_third);
    })
    .await;
}
