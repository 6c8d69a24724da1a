//! Sign-in through the real HTML form: cookies, lockout, blocked users, TOTP (API and page),
//! open-redirect refusal, per-IP throttling and re-authentication.

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER, SET_COOKIE};
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use ulo_testkit::TestServer;

use crate::support::*;

/// The password every test user gets.
pub const PASSWORD: &str = "correct horse battery staple";

/// A browser: keeps cookies, does not follow redirects (so 303s can be checked).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .user_agent(USER_AGENT)
        .build()
        .expect("browser client")
}

/// Creates an ACTIVE user with [`PASSWORD`]; answers its id.
pub async fn user_with_password(s: &TestServer, login: &str) -> String {
    let mut body = user_body(login);
    body["credentials"] = json!({"password": {"value": PASSWORD}});
    let (status, user) = s.post("/api/v1/users?activate=true", body).await;
    assert_eq!(status, StatusCode::OK, "create {login}: {user}");
    id(&user)
}

/// What a form POST answered.
pub struct Answer {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// The page.
    pub body: String,
}

impl Answer {
    /// The `Location` header.
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The `Set-Cookie` header of the session cookie.
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("ulo_session="))
            .map(str::to_string)
    }

    /// The value of the hidden input `name` in the page.
    pub fn hidden(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let len = self.body[start..].find('"')?;
        Some(self.body[start..start + len].to_string())
    }
}

/// Sends `req` and reads the answer.
pub async fn answer(req: reqwest::RequestBuilder) -> Answer {
    let resp = req.send().await.expect("send");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.text().await.expect("read page");
    Answer {
        status,
        headers,
        body,
    }
}

/// Opens the sign-in page on `b` (which sets its CSRF cookie) and answers the form's token.
pub async fn login_token(b: &reqwest::Client, s: &TestServer) -> String {
    let page = answer(b.get(format!("{}/login", s.url))).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.hidden("csrf")
        .expect("the sign-in form carries a CSRF token")
}

/// POSTs the sign-in form with `fields`, as a browser does: the page is opened first and its
/// CSRF token sent along.
pub async fn post_login(b: &reqwest::Client, s: &TestServer, fields: &[(&str, &str)]) -> Answer {
    let token = login_token(b, s).await;
    let mut all = fields.to_vec();
    all.push(("csrf", &token));
    answer(b.post(format!("{}/login", s.url)).form(&all)).await
}

/// Signs `login` in with [`PASSWORD`] on `b`, asserting the 303.
pub async fn sign_in(b: &reqwest::Client, s: &TestServer, login: &str) -> Answer {
    let a = post_login(b, s, &[("username", login), ("password", PASSWORD)]).await;
    assert_eq!(
        a.status,
        StatusCode::SEE_OTHER,
        "sign in {login}: {}",
        a.body
    );
    a
}

/// Whether `b`'s session cookie still signs it in (the `/login/done` page says so).
pub async fn signed_in(b: &reqwest::Client, s: &TestServer) -> bool {
    let a = answer(b.get(format!("{}/login/done", s.url))).await;
    assert_eq!(a.status, StatusCode::OK);
    a.body.contains("You are signed in as")
}

/// System Log events matching a filter, oldest first.
pub async fn logged(s: &TestServer, filter: &str) -> Vec<Value> {
    let (status, _, body) =
        get_with(s, "/api/v1/logs", &[("filter", filter), ("limit", "1000")]).await;
    assert_eq!(status, StatusCode::OK, "{filter}: {body}");
    body.as_array().cloned().unwrap_or_default()
}

/// `user.session.start` events of a user.
pub async fn starts(s: &TestServer, user_id: &str) -> Vec<Value> {
    events(s, "user.session.start", user_id).await
}

/// The live sessions of a user, from the API.
pub async fn sessions_of(s: &TestServer, user_id: &str) -> Value {
    let (status, v) = s.get(&format!("/api/v1/users/{user_id}/sessions")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

/// The TOTP code of a base32 secret at Unix time `t`.
pub fn totp_code(secret: &str, t: i64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).expect("base32 secret");
    let totp = totp_rs::Builder::new()
        .with_secret(secret)
        .build()
        .expect("totp");
    totp.generate(u64::try_from(t).expect("time")).to_string()
}

/// Now, in Unix seconds.
pub fn unix_now() -> i64 {
    ulo_testkit::now().unix_timestamp()
}

/// A 6-digit code no step near now answers.
pub fn wrong_code(secret: &str) -> String {
    let now = unix_now();
    let near: Vec<String> = (-3..=3).map(|d| totp_code(secret, now + d * 30)).collect();
    (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|c| !near.contains(c))
        .expect("a wrong code")
}

#[tokio::test]
async fn a_good_sign_in_sets_a_lax_http_only_cookie_and_records_the_session() {
    on_every_backend(async |s| {
        let uid = user_with_password(s, "ada@example.com").await;
        let b = browser();
        let page = answer(b.get(format!("{}/login", s.url))).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert_eq!(page.headers["cache-control"], "no-store");
        assert!(page.body.contains("name=\"username\""), "{}", page.body);

        let a = post_login(
            &b,
            s,
            &[
                ("username", "ADA@example.com"),
                ("password", PASSWORD),
                ("return_to", "/oauth2/v1/authorize?client_id=x&state=a%20b"),
            ],
        )
        .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert_eq!(a.location(), "/oauth2/v1/authorize?client_id=x&state=a%20b");
        let cookie = a.session_cookie().expect("a session cookie");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
        assert!(
            !cookie.contains("Secure"),
            "plain http on loopback: {cookie}"
        );
        assert!(signed_in(&b, s).await);

        let v = sessions_of(s, &uid).await;
        let list = v["sessions"].as_array().expect("sessions");
        assert_eq!(list.len(), 1, "{v}");
        assert_eq!(list[0]["ipAddress"], "127.0.0.1");
        assert_eq!(list[0]["userAgent"], USER_AGENT);
        assert_eq!(list[0]["amr"], json!(["pwd"]));
        assert_eq!(list[0]["status"], "ACTIVE");
        for k in ["createdAt", "lastUsed", "expiresAt", "idleExpiresAt"] {
            assert!(list[0][k].is_string(), "{k}: {v}");
        }
        assert!(
            !v.to_string().contains(
                cookie
                    .split(';')
                    .next()
                    .unwrap()
                    .trim_start_matches("ulo_session=")
            ),
            "the cookie secret is never shown"
        );

        let started = starts(s, &uid).await;
        assert_eq!(started.len(), 1, "{started:?}");
        assert_eq!(started[0]["outcome"]["result"], "SUCCESS");
        assert_eq!(started[0]["actor"]["id"], uid.as_str());
        assert_eq!(started[0]["client"]["ipAddress"], "127.0.0.1");
        assert_eq!(
            started[0]["debugContext"]["debugData"]["sessionId"],
            list[0]["id"]
        );
        let (_, user) = s.get(&format!("/api/v1/users/{uid}")).await;
        assert!(user["lastLogin"].is_string(), "{user}");
        let logs = logged(s, r#"eventType sw "user.""#).await;
        assert!(!Value::Array(logs).to_string().contains(PASSWORD));
    })
    .await;
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_answer() {
    on_every_backend(async |s| {
        let uid = user_with_password(s, "bob@example.com").await;
        let b = browser();
        let wrong = post_login(
            &b,
            s,
            &[
                ("username", "bob@example.com"),
                ("password", "not the password"),
            ],
        )
        .await;
        let unknown = post_login(
            &b,
            s,
            &[
                ("username", "nobody@example.com"),
                ("password", "not the password"),
            ],
        )
        .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert_eq!(unknown.status, wrong.status);
        assert!(wrong.session_cookie().is_none());
        assert_eq!(
            wrong.body.replace("bob@example.com", "X"),
            unknown.body.replace("nobody@example.com", "X"),
            "the pages differ only in the username typed"
        );

        let failed = starts(s, &uid).await;
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert_eq!(failed[0]["outcome"]["result"], "FAILURE");
        assert_eq!(failed[0]["outcome"]["reason"], "INVALID_CREDENTIALS");
        assert_eq!(failed[0]["severity"], "WARN");
        let nobody = logged(
            s,
            r#"eventType eq "user.session.start" and actor.alternateId eq "nobody@example.com""#,
        )
        .await;
        assert_eq!(nobody.len(), 1, "{nobody:?}");
        assert_eq!(nobody[0]["outcome"]["reason"], "INVALID_CREDENTIALS");
        assert!(
            !Value::Array(nobody)
                .to_string()
                .contains("not the password")
        );

        let missing = post_login(&b, s, &[("username", "bob@example.com")]).await;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    })
    .await;
}

#[tokio::test]
async fn ten_failures_lock_the_user_even_against_the_right_password() {
    on_every_backend(async |s| {
        let uid = user_with_password(s, "carol@example.com").await;
        let b = browser();
        for _ in 0..10 {
            let a = post_login(
                &b,
                s,
                &[("username", "carol@example.com"), ("password", "guess")],
            )
            .await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        }
        let locked = post_login(
            &b,
            s,
            &[("username", "carol@example.com"), ("password", PASSWORD)],
        )
        .await;
        assert_eq!(locked.status, StatusCode::UNAUTHORIZED, "{}", locked.body);
        assert!(locked.session_cookie().is_none());
        let failed = starts(s, &uid).await;
        assert_eq!(failed.len(), 11);
        assert_eq!(failed[10]["outcome"]["reason"], "LOCKED_OUT");
        assert!(
            failed[..10]
                .iter()
                .all(|e| e["outcome"]["reason"] == "INVALID_CREDENTIALS")
        );
        let lock = one_event(s, "user.account.lock", &uid).await;
        assert_eq!(lock["debugContext"]["debugData"]["failedAttempts"], 10);
        assert!(
            sessions_of(s, &uid).await["sessions"]
                .as_array()
                .is_some_and(Vec::is_empty)
        );

        // An admin's password reset lifts the lockout.
        let (status, _) = s
            .post(
                &format!("/api/v1/users/{uid}/credentials/reset_password"),
                json!({"password": {"value": PASSWORD}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        sign_in(&b, s, "carol@example.com").await;
    })
    .await;
}

#[tokio::test]
async fn suspended_and_deactivated_users_cannot_sign_in_and_their_sessions_stop() {
    on_every_backend(async |s| {
        for (login, op, reason) in [
            ("dave@example.com", "suspend", "USER_SUSPENDED"),
            ("erin@example.com", "deactivate", "USER_DEPROVISIONED"),
        ] {
            let uid = user_with_password(s, login).await;
            let b = browser();
            sign_in(&b, s, login).await;
            assert!(signed_in(&b, s).await);
            let (status, _) = s
                .post(&format!("/api/v1/users/{uid}/lifecycle/{op}"), json!({}))
                .await;
            assert_eq!(status, StatusCode::OK);
            assert!(!signed_in(&b, s).await, "{op}: the session stopped working");

            let a = post_login(&b, s, &[("username", login), ("password", PASSWORD)]).await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{op}: {}", a.body);
            assert!(a.session_cookie().is_none());
            let last = starts(s, &uid).await.pop().expect("an event");
            assert_eq!(last["outcome"]["result"], "FAILURE");
            assert_eq!(last["outcome"]["reason"], reason);
            // With a wrong password nothing about the account shows.
            let a = post_login(&b, s, &[("username", login), ("password", "guess")]).await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        }
    })
    .await;
}

#[tokio::test]
async fn totp_enrolled_through_the_api_is_required_at_sign_in() {
    on_every_backend(async |s| {
        let uid = user_with_password(s, "frank@example.com").await;
        let factor = format!("/api/v1/users/{uid}/factors/totp");
        let (status, v) = s.get(&factor).await;
        assert_eq!(
            (status, v["status"].as_str()),
            (StatusCode::OK, Some("NOT_SETUP"))
        );
        let (status, enrolled) = s.post(&factor, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{enrolled}");
        assert_eq!(enrolled["status"], "PENDING_ACTIVATION");
        let secret = enrolled["secret"].as_str().expect("secret").to_string();
        let uri = enrolled["otpauthUri"].as_str().expect("uri");
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(uri.contains(&format!("secret={secret}")), "{uri}");
        let (_, v) = s.get(&factor).await;
        assert_eq!(v["status"], "PENDING_ACTIVATION");
        assert!(
            v.get("secret").is_none(),
            "the secret is shown on enroll only"
        );

        // Pending: sign-in does not ask for a code yet.
        let b = browser();
        sign_in(&b, s, "frank@example.com").await;

        let (status, bad) = s
            .post(
                &format!("{factor}/verify"),
                json!({"passCode": wrong_code(&secret)}),
            )
            .await;
        assert_error((status, &bad), StatusCode::FORBIDDEN, "E0000068");
        let (status, v) = s
            .post(
                &format!("{factor}/verify"),
                json!({"passCode": totp_code(&secret, unix_now())}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["status"], "ACTIVE");
        assert!(v["activated"].is_string());

        let b = browser();
        let a = post_login(
            &b,
            s,
            &[
                ("username", "frank@example.com"),
                ("password", PASSWORD),
                ("return_to", "/login/done"),
            ],
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "asks for the code: {}", a.body);
        assert!(a.session_cookie().is_none());
        let pending = a.hidden("pending").expect("a pending sign-in");
        assert_eq!(a.hidden("return_to").as_deref(), Some("/login/done"));
        assert!(
            !a.body.contains(PASSWORD),
            "the password is not carried in the page"
        );
        let challenged = starts(s, &uid).await.pop().expect("event");
        assert_eq!(challenged["outcome"]["result"], "CHALLENGE");
        assert_eq!(challenged["outcome"]["reason"], "TOTP_REQUIRED");

        let wrong = post_login(
            &b,
            s,
            &[("pending", &pending), ("totp", &wrong_code(&secret))],
        )
        .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert!(wrong.session_cookie().is_none());
        assert_eq!(wrong.hidden("pending").as_deref(), Some(pending.as_str()));
        let failed = starts(s, &uid).await.pop().expect("event");
        assert_eq!(failed["outcome"]["reason"], "INVALID_TOTP");

        // The step after the one the activation used: a code is accepted once.
        let code = totp_code(&secret, unix_now() + 30);
        let ok = post_login(
            &b,
            s,
            &[
                ("pending", &pending),
                ("totp", &code),
                ("return_to", "/login/done"),
            ],
        )
        .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
        assert_eq!(ok.location(), "/login/done");
        assert!(ok.session_cookie().is_some());
        let v = sessions_of(s, &uid).await;
        let amrs: Vec<&Value> = v["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| &x["amr"])
            .collect();
        assert!(amrs.contains(&&json!(["pwd", "otp"])), "{v}");

        // The pending sign-in is spent, and the code too.
        let again = browser();
        let replay = post_login(&again, s, &[("pending", &pending), ("totp", &code)]).await;
        assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "{}", replay.body);
        let direct = post_login(
            &again,
            s,
            &[
                ("username", "frank@example.com"),
                ("password", PASSWORD),
                ("totp", &code),
            ],
        )
        .await;
        assert_eq!(direct.status, StatusCode::UNAUTHORIZED, "a used code");
        let forged = post_login(&again, s, &[("pending", "e30.e30.e30"), ("totp", &code)]).await;
        assert_eq!(forged.status, StatusCode::UNAUTHORIZED);

        let logs = logged(s, r#"eventType sw "user.""#).await;
        assert!(
            !Value::Array(logs).to_string().contains(&secret),
            "no secret in the log"
        );

        let (status, _) = s.delete(&factor).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, v) = s.get(&factor).await;
        assert_eq!(v["status"], "NOT_SETUP");
        sign_in(&browser(), s, "frank@example.com").await;
        let (status, _) = s.delete(&factor).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn a_signed_in_user_sets_up_totp_on_the_account_page() {
    on_every_backend(async |s| {
        let uid = user_with_password(s, "grace@example.com").await;
        let b = browser();
        let anon = answer(b.get(format!("{}/account/totp", s.url))).await;
        assert_eq!(anon.status, StatusCode::SEE_OTHER);
        assert_eq!(anon.location(), "/login?return_to=%2Faccount%2Ftotp");

        sign_in(&b, s, "grace@example.com").await;
        let page = answer(b.get(format!("{}/account/totp", s.url))).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let start = page
            .body
            .find("<code id=\"secret\">")
            .expect("secret shown")
            + 18;
        let secret = page.body[start..start + page.body[start..].find('<').unwrap()].to_string();
        assert!(page.body.contains("otpauth://totp/"), "{}", page.body);
        // Reloading shows the same pending secret.
        let again = answer(b.get(format!("{}/account/totp", s.url))).await;
        assert!(again.body.contains(&secret));

        let code = totp_code(&secret, unix_now());
        let csrf = page.hidden("csrf").expect("the form carries a CSRF token");
        let no_origin = answer(
            b.post(format!("{}/account/totp", s.url))
                .form(&[("passCode", code.as_str())]),
        )
        .await;
        assert_eq!(no_origin.status, StatusCode::FORBIDDEN);
        // Neither another site's Origin nor a form without its token change anything.
        for (origin, site, token) in [
            ("https://evil.example.com", "cross-site", csrf.as_str()),
            (s.url.as_str(), "same-site", csrf.as_str()),
            (s.url.as_str(), "same-origin", ""),
            (s.url.as_str(), "same-origin", "0123abcd"),
        ] {
            let refused = answer(
                b.post(format!("{}/account/totp", s.url))
                    .header("Origin", origin)
                    .header("Sec-Fetch-Site", site)
                    .form(&[("passCode", code.as_str()), ("csrf", token)]),
            )
            .await;
            assert_eq!(
                refused.status,
                StatusCode::FORBIDDEN,
                "{origin} {site} {token:?}: {}",
                refused.body
            );
        }
        let (_, v) = s.get(&format!("/api/v1/users/{uid}/factors/totp")).await;
        assert_eq!(v["status"], "PENDING_ACTIVATION", "nothing changed: {v}");
        let wrong = answer(
            b.post(format!("{}/account/totp", s.url))
                .header("Origin", &s.url)
                .form(&[
                    ("passCode", wrong_code(&secret).as_str()),
                    ("csrf", csrf.as_str()),
                ]),
        )
        .await;
        assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            wrong.hidden("csrf").as_deref(),
            Some(csrf.as_str()),
            "the form shown again carries the token"
        );
        let ok = answer(
            b.post(format!("{}/account/totp", s.url))
                .header("Origin", &s.url)
                .header("Sec-Fetch-Site", "same-origin")
                .form(&[("passCode", code.as_str()), ("csrf", csrf.as_str())]),
        )
        .await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
        let (_, v) = s.get(&format!("/api/v1/users/{uid}/factors/totp")).await;
        assert_eq!(v["status"], "ACTIVE");
        let tries = events(s, "user.mfa.factor.activate", &uid).await;
        let outcomes: Vec<&Value> = tries.iter().map(|e| &e["outcome"]["result"]).collect();
        assert_eq!(
            outcomes,
            [&json!("FAILURE"), &json!("SUCCESS")],
            "{tries:?}"
        );
        assert_eq!(tries[1]["actor"]["id"], uid.as_str(), "the user acted");
        let active = answer(b.get(format!("{}/account/totp", s.url))).await;
        assert!(
            !active.body.contains(&secret),
            "an active secret is never shown again"
        );

        let b2 = browser();
        let a = post_login(
            &b2,
            s,
            &[("username", "grace@example.com"), ("password", PASSWORD)],
        )
        .await;
        assert_eq!(a.status, StatusCode::OK);
        let pending = a.hidden("pending").expect("asks for a code");
        let ok = post_login(
            &b2,
            s,
            &[
                ("pending", &pending),
                ("totp", &totp_code(&secret, unix_now() + 30)),
            ],
        )
        .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    })
    .await;
}

#[tokio::test]
async fn open_redirects_are_refused() {
    on_every_backend(async |s| {
        user_with_password(s, "heidi@example.com").await;
        for target in [
            "//evil.example.com",
            "https://evil.example.com/",
            "/\\evil.example.com",
            "javascript:alert(1)",
            "evil.example.com",
        ] {
            let b = browser();
            let page = answer(
                b.get(format!("{}/login", s.url))
                    .query(&[("return_to", target)]),
            )
            .await;
            assert_eq!(page.hidden("return_to").as_deref(), Some(""), "{target}");
            let a = post_login(
                &b,
                s,
                &[
                    ("username", "heidi@example.com"),
                    ("password", PASSWORD),
                    ("return_to", target),
                ],
            )
            .await;
            assert_eq!(a.status, StatusCode::SEE_OTHER, "{target}");
            assert_eq!(a.location(), "/login/done", "{target}");
        }
        let page = answer(
            browser()
                .get(format!("{}/login", s.url))
                .query(&[("return_to", "/oauth2/v1/authorize?a=\"><script>")]),
        )
        .await;
        assert!(!page.body.contains("<script>"), "escaped: {}", page.body);
        assert!(page.body.contains("&quot;&gt;&lt;script&gt;"));
    })
    .await;
}

#[tokio::test]
async fn failures_from_one_address_are_throttled() {
    on_every_backend(async |s| {
        let b = browser();
        let mut throttled = None;
        for n in 0..120 {
            let login = format!("nobody{n}@example.com");
            let a = post_login(&b, s, &[("username", &login), ("password", "guess")]).await;
            if a.status == StatusCode::TOO_MANY_REQUESTS {
                throttled = Some((n, a));
                break;
            }
            assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        }
        let (n, a) = throttled.expect("throttled");
        assert_eq!(n, 100, "after 100 failures, whatever the accounts");
        assert!(a.headers.contains_key(RETRY_AFTER));
    })
    .await;
}

#[tokio::test]
async fn failed_sign_ins_throttle_the_account_at_that_address_and_never_machine_credentials() {
    on_every_backend(async |s| {
        user_with_password(s, "victor@example.com").await;
        user_with_password(s, "wendy@example.com").await;
        let (status, _, cred) = send(
            request(s, reqwest::Method::POST, "/api/v1/scim-credentials")
                .json(&json!({"name": "HR"})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{cred}");
        let scim_token = cred["token"].as_str().unwrap().to_string();
        let b = browser();
        // 35 failed sign-ins from this address: 20 for one account, 15 for unknown ones.
        for n in 0..35 {
            let login = if n < 20 {
                "victor@example.com".to_string()
            } else {
                format!("nobody{n}@example.com")
            };
            let a = post_login(&b, s, &[("username", &login), ("password", "guess")]).await;
            assert_eq!(
                a.status,
                StatusCode::UNAUTHORIZED,
                "attempt {n}: {}",
                a.body
            );
        }

        // Machine clients at the same address are not refused for someone's passwords.
        let scim = s
            .http
            .get(format!("{}/scim/v2/Users", s.url))
            .header("Authorization", format!("Bearer {scim_token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            scim.status(),
            StatusCode::OK,
            "SCIM with a valid credential"
        );
        let (status, _) = s.get("/api/v1/users").await;
        assert_eq!(status, StatusCode::OK, "the admin API with a valid token");

        // The guessed account waits at this address, even with the right password…
        let a = post_login(
            &b,
            s,
            &[("username", "Victor@example.com"), ("password", PASSWORD)],
        )
        .await;
        assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
        let wait: u64 = a.headers[RETRY_AFTER].to_str().unwrap().parse().unwrap();
        assert!((1..=300).contains(&wait), "{wait}");
        assert!(a.session_cookie().is_none());
        // …while another account signs in from the same address.
        sign_in(&browser(), s, "wendy@example.com").await;

        // Failed SCIM credentials are throttled on their own, and a valid one still passes.
        let scim_as = |token: &str| {
            s.http
                .get(format!("{}/scim/v2/Users", s.url))
                .header("Authorization", format!("Bearer {token}"))
                .send()
        };
        for n in 1..=30 {
            let r = scim_as("scim_guessing_000000000000").await.unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "bad credential {n}");
        }
        let r = scim_as("scim_guessing_000000000000").await.unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let r = scim_as(&scim_token).await.unwrap();
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "a valid credential is never refused"
        );
    })
    .await;
}

#[tokio::test]
async fn signing_in_again_replaces_the_session() {
    on_every_backend(async |s| {
        let uid = user_with_password(s, "ivan@example.com").await;
        let b = browser();
        sign_in(&b, s, "ivan@example.com").await;
        let first = sessions_of(s, &uid).await["sessions"][0]["id"].clone();
        let a = post_login(
            &b,
            s,
            &[
                ("username", "ivan@example.com"),
                ("password", PASSWORD),
                ("return_to", "/oauth2/v1/authorize?prompt=login"),
            ],
        )
        .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        let v = sessions_of(s, &uid).await;
        let list = v["sessions"].as_array().unwrap();
        assert_eq!(list.len(), 1, "{v}");
        assert_ne!(list[0]["id"], first, "a new sid");
        let ended = one_event(s, "user.session.end", &uid).await;
        assert_eq!(ended["debugContext"]["debugData"]["reason"], "REPLACED");
        assert_eq!(ended["debugContext"]["debugData"]["sessionId"], first);
        let started = starts(s, &uid).await.pop().unwrap();
        assert_eq!(
            started["transaction"]["id"], ended["transaction"]["id"],
            "one transaction"
        );
        assert!(signed_in(&b, s).await);
    })
    .await;
}

#[tokio::test]
async fn a_cross_site_sign_in_form_is_refused() {
    on_every_backend(async |s| {
        let uid = user_with_password(s, "judy@example.com").await;
        let b = browser();
        let a = answer(
            b.post(format!("{}/login", s.url))
                .header("Origin", "https://evil.example.com")
                .form(&[("username", "judy@example.com"), ("password", PASSWORD)]),
        )
        .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        assert!(a.session_cookie().is_none());
        assert!(a.body.contains("sent from another site"), "{}", a.body);

        // Even with this browser's own token: another origin, a sibling site, or a hidden
        // (`null`) origin is refused, whatever the browser says elsewhere.
        let token = login_token(&b, s).await;
        for (origin, site) in [
            (Some("https://evil.example.com"), Some("cross-site")),
            (Some("http://127.0.0.1:1"), Some("same-site")),
            (Some("null"), Some("same-origin")),
            (Some(s.url.as_str()), Some("cross-site")),
            (None, Some("same-site")),
        ] {
            let mut req = b.post(format!("{}/login", s.url));
            if let Some(o) = origin {
                req = req.header("Origin", o);
            }
            if let Some(site) = site {
                req = req.header("Sec-Fetch-Site", site);
            }
            let a = answer(req.form(&[
                ("username", "judy@example.com"),
                ("password", PASSWORD),
                ("csrf", token.as_str()),
            ]))
            .await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{origin:?} {site:?}");
            assert!(a.session_cookie().is_none(), "{origin:?} {site:?}");
        }
        // Without the token of this browser's cookie (none, a forged one, another browser's),
        // the form is not used either; the page offers a fresh form.
        let other = browser();
        let others_token = login_token(&other, s).await;
        for token in ["", "forged", others_token.as_str()] {
            let a = answer(
                b.post(format!("{}/login", s.url))
                    .header("Origin", &s.url)
                    .form(&[
                        ("username", "judy@example.com"),
                        ("password", PASSWORD),
                        ("csrf", token),
                    ]),
            )
            .await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "token {token:?}");
            assert!(a.session_cookie().is_none());
            assert!(a.body.contains("Sign in again"), "{}", a.body);
            assert_eq!(
                a.hidden("csrf").as_deref(),
                Some(login_token(&b, s).await.as_str())
            );
        }
        let fresh = answer(
            reqwest::Client::new()
                .post(format!("{}/login", s.url))
                .form(&[("username", "judy@example.com"), ("password", PASSWORD)]),
        )
        .await;
        assert_eq!(
            fresh.status,
            StatusCode::FORBIDDEN,
            "a client without the cookie"
        );
        assert!(starts(s, &uid).await.is_empty(), "no sign-in was attempted");

        let a = answer(
            b.post(format!("{}/login", s.url))
                .header("Origin", &s.url)
                .header("Sec-Fetch-Site", "same-origin")
                .form(&[
                    ("username", "judy@example.com"),
                    ("password", PASSWORD),
                    ("csrf", token.as_str()),
                ]),
        )
        .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert!(signed_in(&b, s).await);
    })
    .await;
}

#[tokio::test]
async fn a_lockout_ends_fifteen_minutes_later_by_the_servers_clock() {
    use std::panic::{AssertUnwindSafe, resume_unwind};
    use std::sync::Arc;

    use futures::FutureExt;
    use ulo_core::clock::ManualClock;
    use ulo_testkit::{Database, backends};

    for backend in backends() {
        let clock = Arc::new(ManualClock::new(ulo_testkit::now()));
        let db = Database::new(backend).await.expect("database");
        let s = TestServer::start_on(db, clock.clone())
            .await
            .expect("start");
        let outcome = AssertUnwindSafe(async {
            user_with_password(&s, "kate@example.com").await;
            let b = browser();
            let try_with = async |password: &str| {
                post_login(
                    &b,
                    &s,
                    &[("username", "kate@example.com"), ("password", password)],
                )
                .await
                .status
            };
            for _ in 0..10 {
                assert_eq!(try_with("guess").await, StatusCode::UNAUTHORIZED);
            }
            clock.advance(time::Duration::minutes(14));
            assert_eq!(
                try_with(PASSWORD).await,
                StatusCode::UNAUTHORIZED,
                "still locked"
            );
            clock.advance(time::Duration::minutes(1));
            assert_eq!(
                try_with(PASSWORD).await,
                StatusCode::SEE_OTHER,
                "the lockout ran out"
            );
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

#[tokio::test]
async fn the_sign_in_form_is_bound_to_a_cookie_and_pages_let_browsers_send_their_origin() {
    on_sqlite(async |s| {
        let b = browser();
        let first = answer(b.get(format!("{}/login", s.url))).await;
        assert_eq!(first.status, StatusCode::OK);
        // Under `no-referrer` browsers send `Origin: null` on the page's own form posts.
        assert_eq!(first.headers["referrer-policy"], "same-origin");
        let csp = first.headers["content-security-policy"].to_str().unwrap();
        assert!(
            !csp.contains("form-action"),
            "browsers apply form-action to the redirect to an app: {csp}"
        );
        let cookie = first
            .headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("ulo_csrf="))
            .expect("a CSRF cookie")
            .to_string();
        for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(cookie.contains(attr), "{attr}: {cookie}");
        }
        assert!(
            !cookie.contains("Max-Age"),
            "a browser-session cookie: {cookie}"
        );
        let token = first.hidden("csrf").expect("a token");
        assert!(
            !cookie.contains(&token),
            "the page does not show the cookie"
        );
        // Opened again (another tab): the same cookie and token, so both forms work.
        let again = answer(b.get(format!("{}/login", s.url))).await;
        assert!(
            again
                .headers
                .get_all(SET_COOKIE)
                .iter()
                .all(|c| !c.to_str().unwrap_or_default().starts_with("ulo_csrf=")),
            "the cookie is kept"
        );
        assert_eq!(again.hidden("csrf").as_deref(), Some(token.as_str()));
        // Another browser gets another token.
        let other = login_token(&browser(), s).await;
        assert_ne!(other, token);
    })
    .await;
}
