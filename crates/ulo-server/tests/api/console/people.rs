//! Directory → People: search, status and risk filters, keyset paging, Add Person and its errors.

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::support::{create_user, on_every_backend};

#[tokio::test]
async fn people_are_searched_filtered_and_paged() {
    on_every_backend(async |s| {
        let c = console(s).await;
        for i in 0..55 {
            create_user(s, &format!("p{i:02}@example.com")).await;
        }
        let (status, v) = s
            .post(
                "/api/v1/users?activate=false",
                json!({"profile": {"login": "staged@example.com", "email": "staged@example.com", "firstName": "Stan", "lastName": "Staged"}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");

        let page = c.get("/admin/people?q=p0").await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.body.matches("@example.com</td>").count() / 2, 10);

        let page = c.get("/admin/people?status=STAGED").await;
        assert!(page.body.contains("staged@example.com"));
        assert!(!page.body.contains("p00@example.com"));

        // 58 people (55, the staged one, both admins): a first page of 50 and a "Show more".
        let first = c.get("/admin/people").await;
        assert_eq!(first.body.matches("<tr>\n  <td><a href=\"/admin/people/").count(), 50);
        let start = first.body.find("hx-get=\"").expect("Show more") + "hx-get=\"".len();
        let len = first.body[start..].find('"').expect("end");
        let next = first.body[start..start + len]
            .replace("&amp;", "&")
            .replace("&#38;", "&");
        let more = c.get_htmx(&next).await;
        assert_eq!(more.status, StatusCode::OK);
        assert!(!more.body.contains("<html"), "a fragment for {next}: {}", &more.body[more.body.len().saturating_sub(3000)..]);
        assert_eq!(more.body.matches("<td><a href=\"/admin/people/").count(), 8);
        assert!(!more.body.contains("Show more"));

        let bad = c.get("/admin/people?status=GONE").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.body.contains("Unknown status"), "{}", bad.body);
        let bad = c.get("/admin/people?risk=SEVERE").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.body.contains("Unknown entity risk level"), "{}", bad.body);
    })
    .await;
}

#[tokio::test]
async fn add_person_shows_each_error_beside_the_form_and_keeps_what_was_typed() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let form = c.get("/admin/people/new").await;
        assert_eq!(form.status, StatusCode::OK);
        let a = c
            .post(
                "/admin/people/new",
                &[
                    ("first_name", "Ada"),
                    ("last_name", "Lovelace"),
                    ("login", "not-an-email"),
                ],
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        assert!(a.body.contains("The person was not added"), "{}", a.body);
        assert!(a.body.contains("value=\"Lovelace\""), "{}", a.body);
        let a = c
            .post(
                "/admin/people/new",
                &[
                    ("first_name", "Ada"),
                    ("last_name", "L"),
                    ("login", "ada@example.com"),
                    ("password", "short"),
                ],
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        let a = c
            .post(
                "/admin/people/new",
                &[
                    ("first_name", "Ada"),
                    ("last_name", "L"),
                    ("login", "ada@example.com"),
                ],
            )
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let a = c
            .post(
                "/admin/people/new",
                &[
                    ("first_name", "Ada"),
                    ("last_name", "L"),
                    ("login", "ada@example.com"),
                ],
            )
            .await;
        assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
        assert!(a.body.contains("The person was not added"), "{}", a.body);
        let (_, found) = s.get("/api/v1/users?q=ada%40example.com").await;
        assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
        assert_eq!(found[0]["status"], "STAGED");
    })
    .await;
}
