//! Console sign-in and sign-out, its cookie, roles and the CSRF guard.

use reqwest::StatusCode;
use reqwest::header::ORIGIN;

use super::*;
use crate::signin::{answer, browser, logged, sign_in, signed_in, user_with_password};
use crate::support::on_every_backend;

#[tokio::test]
async fn a_signed_out_browser_is_sent_through_ulos_sign_in_and_back() {
    on_every_backend(async |s| {
        let b = browser();
        let a = answer(b.get(format!("{}/admin/people?q=ada", s.url))).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        assert_eq!(
            a.location(),
            "/admin/signin?return_to=%2Fadmin%2Fpeople%3Fq%3Dada"
        );
        let a = answer(b.get(format!("{}{}", s.url, a.location()))).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        assert!(
            a.location()
                .starts_with("/login?return_to=%2Fadmin%2Fsignin%3Freturn_to%3D"),
            "{}",
            a.location()
        );
        // htmx requests get HX-Redirect instead of a 303 they would follow invisibly.
        let a = answer(
            b.get(format!("{}/admin/people", s.url))
                .header("HX-Request", "true"),
        )
        .await;
        assert_eq!(a.status, StatusCode::NO_CONTENT);
        assert_eq!(
            a.headers.get("hx-redirect").and_then(|v| v.to_str().ok()),
            Some("/admin/signin?return_to=%2Fadmin%2Fpeople")
        );

        let id = super_admin(s, "root@example.com").await;
        sign_in(&b, s, "root@example.com").await;
        let a = answer(b.get(format!(
            "{}/admin/signin?return_to=%2Fadmin%2Fpeople%3Fq%3Dada",
            s.url
        )))
        .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert_eq!(a.location(), "/admin/people?q=ada");
        let cookie = set_cookie(&a, "ulo_admin").expect("the console cookie");
        for part in ["Path=/admin", "HttpOnly", "SameSite=Strict"] {
            assert!(cookie.contains(part), "{cookie}");
        }
        // Plain http on loopback: not Secure (the browser would drop it).
        assert!(!cookie.contains("Secure"), "{cookie}");
        let page = answer(b.get(format!("{}/admin/people?q=ada", s.url))).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let csp = page
            .headers
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");

        let opened = logged(
            s,
            &format!("eventType eq \"user.session.access_admin_app\" and target.id eq \"{id}\""),
        )
        .await;
        assert_eq!(opened.len(), 1, "{opened:?}");
        assert_eq!(opened[0]["client"]["id"], "ulo-admin-console");

        // A return_to off the console is ignored.
        let a = answer(b.get(format!(
            "{}/admin/signin?return_to=https%3A%2F%2Fevil.example.com%2F",
            s.url
        )))
        .await;
        assert_eq!(a.location(), "/admin");
    })
    .await;
}

#[tokio::test]
async fn someone_without_an_admin_role_is_refused_the_console() {
    on_every_backend(async |s| {
        user_with_password(s, "ada@example.com").await;
        let b = browser();
        sign_in(&b, s, "ada@example.com").await;
        let a = answer(b.get(format!("{}/admin/signin", s.url))).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        assert!(a.body.contains("holds no admin role"), "{}", a.body);
        assert!(set_cookie(&a, "ulo_admin").is_none());
        let a = answer(b.get(format!("{}/admin/people", s.url))).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
    })
    .await;
}

#[tokio::test]
async fn every_change_needs_the_console_csrf_token_and_ulos_origin() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let person = [
            ("first_name", "Ada"),
            ("last_name", "Lovelace"),
            ("login", "ada@example.com"),
            ("activate", "on"),
        ];
        // No token.
        let a = c.post_without_csrf("/admin/people/new", &person).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
        assert!(a.body.contains("was refused and not made"), "{}", a.body);
        // Another token (the sign-in form's, say).
        let mut forged = person.to_vec();
        forged.push(("csrf", "not-the-token"));
        let a = answer(
            c.http
                .post(format!("{}/admin/people/new", s.url))
                .header(ORIGIN, &s.url)
                .form(&forged),
        )
        .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
        // The right token from another site.
        let mut sent = person.to_vec();
        sent.push(("csrf", &c.csrf));
        let a = answer(
            c.http
                .post(format!("{}/admin/people/new", s.url))
                .header(ORIGIN, "https://evil.example.com")
                .form(&sent),
        )
        .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
        let a = answer(
            c.http
                .post(format!("{}/admin/people/new", s.url))
                .header("Sec-Fetch-Site", "same-site")
                .form(&sent),
        )
        .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
        let (_, found) = s.get("/api/v1/users?q=ada%40example.com").await;
        assert_eq!(found.as_array().map(Vec::len), Some(0), "{found}");
        // Without the console cookie at all.
        let a = answer(
            browser()
                .post(format!("{}/admin/people/new", s.url))
                .header(ORIGIN, &s.url)
                .form(&sent),
        )
        .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);

        // The console's own post: made, and logged with the console as client.
        let a = c.post("/admin/people/new", &person).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let (_, found) = s.get("/api/v1/users/ada@example.com").await;
        assert_eq!(found["status"], "ACTIVE");
        let created = logged(
            s,
            &format!(
                "eventType eq \"user.lifecycle.create\" and target.id eq \"{}\"",
                found["id"].as_str().unwrap_or_default()
            ),
        )
        .await;
        assert_eq!(created.len(), 1);
        assert_eq!(created[0]["client"]["id"], "ulo-admin-console");
        assert_eq!(
            created[0]["actor"]["alternateId"],
            "console-admin@example.com"
        );
        // htmx sends the token as a header.
        let a = c
            .post_htmx(
                "/admin/people/new",
                &[
                    ("first_name", "Bo"),
                    ("last_name", "B"),
                    ("login", "bo@example.com"),
                ],
            )
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    })
    .await;
}

#[tokio::test]
async fn a_read_only_admin_sees_no_write_control_and_cannot_forge_one() {
    on_every_backend(async |s| {
        read_only_admin(s, "auditor@example.com").await;
        let c = ConsoleClient::sign_in(s, "auditor@example.com").await;
        let page = c.get("/admin/people").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Read-only"), "{}", page.body);
        assert!(!page.body.contains("Add Person"), "{}", page.body);
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
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
        assert!(a.body.contains("SUPER_ADMIN"), "{}", a.body);
        let (_, found) = s.get("/api/v1/users?q=ada%40example.com").await;
        assert_eq!(found.as_array().map(Vec::len), Some(0), "{found}");
    })
    .await;
}

#[tokio::test]
async fn signing_out_ends_the_console_and_the_sign_in_session() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let a = c.post("/admin/signout", &[]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert_eq!(a.location(), "/admin/signed-out");
        let gone = set_cookie(&a, "ulo_admin").expect("cookie removed");
        assert!(gone.contains("Max-Age=0"), "{gone}");
        let page = c.get("/admin/signed-out").await;
        assert!(page.body.contains("Sign in again"));
        let a = c.get("/admin/people").await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        assert!(!signed_in(&c.http, s).await);
        let a = c.get("/admin/signin").await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        assert!(a.location().starts_with("/login?"), "{}", a.location());
    })
    .await;
}

#[tokio::test]
async fn unknown_console_pages_answer_a_page_not_json() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let a = c.get("/admin/no-such-page").await;
        assert_eq!(a.status, StatusCode::NOT_FOUND);
        assert!(a.body.contains("There is no such page"), "{}", a.body);
        let a = c.get("/admin/assets/htmx.min.js").await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(a.body.contains("htmx"));
    })
    .await;
}

#[tokio::test]
async fn a_console_session_ends_after_30_idle_minutes_and_after_8_hours_by_the_servers_clock() {
    use std::panic::{AssertUnwindSafe, resume_unwind};
    use std::sync::Arc;

    use futures::FutureExt;
    use time::Duration;
    use ulo_core::clock::ManualClock;
    use ulo_testkit::{Database, backends};

    for backend in backends() {
        let clock = Arc::new(ManualClock::new(ulo_testkit::now()));
        let db = Database::new(backend).await.expect("database");
        let s = TestServer::start_on(db, clock.clone())
            .await
            .expect("start");
        let outcome = AssertUnwindSafe(async {
            let c = console(&s).await;
            // Used every 29 minutes: still signed in.
            for _ in 0..3 {
                clock.advance(Duration::minutes(29));
                assert_eq!(c.get("/admin/people").await.status, StatusCode::OK);
            }
            clock.advance(Duration::minutes(31));
            let a = c.get("/admin/people").await;
            assert_eq!(a.status, StatusCode::SEE_OTHER, "idle for 31 minutes");
            // The sign-in session (2 h idle) is still live: the console opens a new session.
            let a = c.get("/admin/signin").await;
            assert_eq!(a.status, StatusCode::SEE_OTHER);
            assert_eq!(a.location(), "/admin");
            let a = c.get("/admin/people").await;
            assert_eq!(a.status, StatusCode::OK);
            // However busy, a console session lasts at most 8 hours.
            for _ in 0..17 {
                clock.advance(Duration::minutes(29));
                c.get("/admin/people").await;
            }
            assert_eq!(c.get("/admin/people").await.status, StatusCode::SEE_OTHER);
        })
        .catch_unwind()
        .await;
        s.stop().await;
        if let Err(panic) = outcome {
            eprintln!("the test failed on {backend:?}");
            resume_unwind(panic);
        }
    }
}
