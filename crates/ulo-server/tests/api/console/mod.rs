//! The admin console at `/admin` over real HTTP: sign-in and its cookie, the CSRF guard, roles,
//! and each page's answers and refusals, on every backend. The browser tests (`browser_*`)
//! click the same pages in Chromium.

mod apps;
mod browser_console;
mod browser_policy;
mod browser_seed1;
mod browser_seed2;
mod dashboard;
mod devices;
mod features;
mod groups;
mod logouts;
mod people;
mod person;
mod policy;
mod security;
mod session;
mod system_log;

use reqwest::StatusCode;
use reqwest::header::{ORIGIN, SET_COOKIE};
use serde_json::json;
use ulo_testkit::TestServer;

use crate::signin::{Answer, answer, browser, sign_in, user_with_password};

/// A browser-like client signed in to the console.
pub struct ConsoleClient {
    /// Keeps cookies, follows no redirects.
    pub http: reqwest::Client,
    /// The csrf token of this console session.
    pub csrf: String,
    /// The server's base URL.
    pub url: String,
}

impl ConsoleClient {
    /// Signs `login` (a user with [`crate::signin::PASSWORD`] and an admin role) in to ulo and
    /// opens the console.
    pub async fn sign_in(s: &TestServer, login: &str) -> ConsoleClient {
        let http = browser();
        sign_in(&http, s, login).await;
        let opened = answer(http.get(format!("{}/admin/signin", s.url))).await;
        assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
        assert_eq!(opened.location(), "/admin");
        let mut c = ConsoleClient {
            http,
            csrf: String::new(),
            url: s.url.clone(),
        };
        let home = c.get("/admin").await;
        assert_eq!(home.status, StatusCode::OK, "{}", home.body);
        c.csrf = home
            .hidden("csrf")
            .expect("every console page carries the csrf token");
        c
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> Answer {
        answer(self.http.get(format!("{}{path}", self.url))).await
    }

    /// GET `path` as htmx does (a fragment).
    pub async fn get_htmx(&self, path: &str) -> Answer {
        answer(
            self.http
                .get(format!("{}{path}", self.url))
                .header("HX-Request", "true"),
        )
        .await
    }

    /// POSTs a form to `path` as the console page does: the csrf token and the browser's Origin.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut all = fields.to_vec();
        all.push(("csrf", &self.csrf));
        answer(
            self.http
                .post(format!("{}{path}", self.url))
                .header(ORIGIN, &self.url)
                .form(&all),
        )
        .await
    }

    /// POSTs as htmx does: the token in `X-CSRF-Token`.
    pub async fn post_htmx(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        answer(
            self.http
                .post(format!("{}{path}", self.url))
                .header(ORIGIN, &self.url)
                .header("HX-Request", "true")
                .header("X-CSRF-Token", &self.csrf)
                .form(fields),
        )
        .await
    }

    /// POSTs a form to `path` without any csrf token (a forgery).
    pub async fn post_without_csrf(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        answer(
            self.http
                .post(format!("{}{path}", self.url))
                .header(ORIGIN, &self.url)
                .form(fields),
        )
        .await
    }
}

/// Grants `role` to user `id` through the API.
pub async fn grant(s: &TestServer, id: &str, role: &str) {
    let (status, v) = s
        .post(
            &format!("/api/v1/users/{id}/roles"),
            json!({ "type": role }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
}

/// A SUPER_ADMIN with a password; answers the id.
pub async fn super_admin(s: &TestServer, login: &str) -> String {
    let id = user_with_password(s, login).await;
    grant(s, &id, "SUPER_ADMIN").await;
    id
}

/// A READ_ONLY_ADMIN with a password; answers the id.
pub async fn read_only_admin(s: &TestServer, login: &str) -> String {
    let id = user_with_password(s, login).await;
    grant(s, &id, "READ_ONLY_ADMIN").await;
    id
}

/// A console signed in as a new SUPER_ADMIN (`console-admin@example.com`).
pub async fn console(s: &TestServer) -> ConsoleClient {
    super_admin(s, "console-admin@example.com").await;
    ConsoleClient::sign_in(s, "console-admin@example.com").await
}

/// The `Set-Cookie` value of cookie `name` in an answer.
pub fn set_cookie(a: &Answer, name: &str) -> Option<String> {
    a.headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(str::to_string)
}
