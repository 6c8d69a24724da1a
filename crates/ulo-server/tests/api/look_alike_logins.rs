//! Look-alike logins (Issue 13 item 8), over real HTTP on every backend: a login that reads
//! the same as an existing one after Unicode NFKC and case folding is the same login — 409
//! on the admin API and SCIM — and one mixing scripts the way look-alikes do is refused; the
//! sign-in page accepts any spelling that normalizes to the account's login.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::signin::{PASSWORD, browser, sign_in, signed_in, user_with_password};
use crate::support::{
    ADMIN_LOGIN, assert_error, causes, create_user, id, on_every_backend, request, send, user_body,
};

/// Spellings of [`ADMIN_LOGIN`] (`admin@ulo.example.com`) that must collide with it.
const LOOK_ALIKES: &[&str] = &[
    "ADMIN@ulo.example.com",
    "ａｄｍｉｎ@ulo.example.com",
    "ＡＤＭＩＮ@ＵＬＯ.ＥＸＡＭＰＬＥ.ＣＯＭ",
    "ad\u{200B}min@ulo.example.com",
];

/// Fullwidth through and through, `＠` too: the admin API refuses it as no email address
/// before uniqueness is asked; SCIM, which takes any userName, finds the conflict.
const FULLWIDTH_AT: &str = "ａｄｍｉｎ＠ｕｌｏ.ｅｘａｍｐｌｅ.ｃｏｍ";

/// The same login with a Cyrillic `а` (U+0430): NFKC keeps it apart, the script check not.
const CYRILLIC_A: &str = "\u{430}dmin@ulo.example.com";

async fn scim_credential(s: &ulo_testkit::TestServer) -> String {
    let (st, _, body) =
        send(request(s, Method::POST, "/api/v1/scim-credentials").json(&json!({"name": "HR"})))
            .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    body["token"].as_str().expect("token").to_string()
}

async fn scim_create(
    s: &ulo_testkit::TestServer,
    token: &str,
    user_name: &str,
) -> (StatusCode, Value) {
    let (st, _, body) = send(
        s.http
            .post(format!("{}/scim/v2/Users", s.url))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/scim+json")
            .json(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": user_name,
                "name": {"givenName": "Mallory", "familyName": "Look-Alike"},
            })),
    )
    .await;
    (st, body)
}

#[tokio::test]
async fn look_alikes_of_an_existing_login_are_conflicts_on_the_api_and_scim() {
    on_every_backend(async |s| {
        let (_, before) = s.get("/api/v1/users").await;
        let count = before.as_array().map(Vec::len);
        for login in LOOK_ALIKES {
            let (status, body) = s
                .post("/api/v1/users?activate=true", user_body(login))
                .await;
            assert_error((status, &body), StatusCode::CONFLICT, "E0000183");
            assert!(
                body.to_string().contains("already exists"),
                "{login}: {body}"
            );
        }
        // Renaming someone to a look-alike is the same conflict.
        let ada = id(&create_user(s, "ada@example.com").await);
        let (status, body) = s
            .post(
                &format!("/api/v1/users/{ada}"),
                json!({"profile": {"login": "ａｄｍｉｎ@ulo.example.com"}}),
            )
            .await;
        assert_error((status, &body), StatusCode::CONFLICT, "E0000183");
        // The admin is found by any of its spellings.
        let (status, found) = s
            .get("/api/v1/users/%EF%BD%81%EF%BD%84%EF%BD%8D%EF%BD%89%EF%BD%8E@ulo.example.com")
            .await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(found["profile"]["login"], ADMIN_LOGIN);

        let token = scim_credential(s).await;
        for login in LOOK_ALIKES.iter().chain([&FULLWIDTH_AT]) {
            let (status, body) = scim_create(s, &token, login).await;
            assert_eq!(status, StatusCode::CONFLICT, "{login}: {body}");
            assert_eq!(body["scimType"], "uniqueness", "{body}");
        }
        let (_, after) = s.get("/api/v1/users").await;
        assert_eq!(
            after.as_array().map(Vec::len),
            count.map(|n| n + 1),
            "only Ada was added"
        );
    })
    .await;
}

#[tokio::test]
async fn logins_mixing_scripts_are_refused_with_a_reason() {
    on_every_backend(async |s| {
        let (status, body) = s
            .post("/api/v1/users?activate=true", user_body(CYRILLIC_A))
            .await;
        assert_error((status, &body), StatusCode::BAD_REQUEST, "E0000001");
        let why = causes(&body).join(" ");
        assert!(why.contains("login") && why.contains("Cyrillic"), "{why}");

        let token = scim_credential(s).await;
        let (status, body) = scim_create(s, &token, CYRILLIC_A).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.to_string().contains("userName"), "{body}");

        // A login wholly in another script is a name, not a look-alike.
        let (status, body) = s
            .post("/api/v1/users?activate=true", user_body("иван@example.com"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    })
    .await;
}

#[tokio::test]
async fn any_spelling_that_normalizes_to_the_login_signs_in_to_that_account() {
    on_every_backend(async |s| {
        let uid = user_with_password(s, "ada@example.com").await;
        for spelling in [
            "ＡＤＡ@example.com",
            "Ada@Example.com",
            "ａｄａ＠ｅｘａｍｐｌｅ.ｃｏｍ",
        ] {
            let b = browser();
            sign_in(&b, s, spelling).await;
            assert!(signed_in(&b, s).await, "{spelling}");
        }
        let (status, sessions) = s.get(&format!("/api/v1/users/{uid}/sessions")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            sessions["sessions"].as_array().map(Vec::len),
            Some(3),
            "{sessions}"
        );
        // A Cyrillic look-alike is another login, which exists nowhere.
        let a = crate::signin::post_login(
            &browser(),
            s,
            &[
                ("username", "\u{430}da@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
        assert_ne!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    })
    .await;
}
