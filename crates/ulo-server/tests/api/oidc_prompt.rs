//! `prompt=select_account` and `prompt=consent`, which discovery advertises, over real HTTP on
//! every backend: each shows its question to a signed-in person, and each answer leads where
//! OIDC Core §3.1.2.1 says.

use reqwest::StatusCode;
use serde_json::json;
use ulo_testkit::TestServer;

use crate::oauth2::{
    REDIRECT_URI, Rp, assign, authorize, no_redirects, param, pkce_pair, query_of, register,
    session_for,
};
use crate::support::{create_user, id, on_every_backend};

/// Authorize parameters for `rp` with `prompt`.
fn params<'a>(rp: &'a Rp, challenge: &'a str, prompt: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("client_id", rp.client_id.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
        ("scope", "openid email offline_access"),
        ("state", "st-9"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("prompt", prompt),
    ]
}

/// Undoes the page's HTML escaping of attribute values.
fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The hidden fields of the page's form, in order.
fn hidden_fields(page: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = page;
    while let Some(at) = rest.find("<input type=\"hidden\" name=\"") {
        rest = &rest[at + "<input type=\"hidden\" name=\"".len()..];
        let name_end = rest.find('"').expect("name ends");
        let name = unescape(&rest[..name_end]);
        let value_at = rest.find("value=\"").expect("value") + "value=\"".len();
        let value_end = value_at + rest[value_at..].find('"').expect("value ends");
        out.push((name, unescape(&rest[value_at..value_end])));
        rest = &rest[value_end..];
    }
    out
}

/// The `href` of the link whose text is `text`.
fn link(page: &str, text: &str) -> String {
    let end = page
        .find(&format!("\">{text}</a>"))
        .unwrap_or_else(|| panic!("no link {text:?} in {page}"));
    let start = page[..end].rfind("href=\"").expect("href") + "href=\"".len();
    unescape(&page[start..end])
}

/// Posts the page's form back to the authorization endpoint with `cookie`: the Location.
async fn post_back(s: &TestServer, cookie: &str, fields: &[(String, String)]) -> String {
    let resp = no_redirects()
        .post(format!("{}/oauth2/v1/authorize", s.url))
        .header("Cookie", cookie)
        .form(fields)
        .send()
        .await
        .expect("POST authorize");
    assert_eq!(resp.status(), StatusCode::FOUND);
    resp.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("Location")
        .to_string()
}

/// A confidential app with refresh tokens, `ada` and `bob` assigned; Ada signed in.
async fn setup(s: &TestServer) -> (Rp, String, String, String) {
    let rp = register(
        s,
        "Wiki",
        json!({"grantTypes": ["authorization_code", "refresh_token"]}),
    )
    .await;
    let ada = id(&create_user(s, "ada@example.com").await);
    let bob = id(&create_user(s, "bob@example.com").await);
    assign(s, &rp, &ada).await;
    assign(s, &rp, &bob).await;
    let (cookie, _) = session_for(s, &ada).await;
    (rp, ada, bob, cookie)
}

#[tokio::test]
async fn select_account_shows_the_chooser_and_each_choice_completes() {
    on_every_backend(async |s| {
        let (rp, _, bob, cookie) = setup(s).await;
        let (_, challenge) = pkce_pair();
        let request = params(&rp, &challenge, "select_account");
        let (status, location, page) = authorize(s, Some(&cookie), &request).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "a page, not a redirect: {location:?}"
        );
        assert!(page.contains("Choose an account"), "{page}");
        assert!(page.contains("Continue as ada@example.com"), "{page}");

        // Continue as Ada: the request comes back without select_account and gets a code.
        let fields = hidden_fields(&page);
        assert!(fields.iter().all(|(k, _)| k != "prompt"), "{fields:?}");
        assert!(
            fields.contains(&("state".into(), "st-9".into())),
            "{fields:?}"
        );
        let location = post_back(s, &cookie, &fields).await;
        assert!(location.starts_with(REDIRECT_URI), "{location}");
        assert!(param(&location, "code").is_some(), "{location}");

        // Use another account: sign-in, then back here; only a sign-in made since counts.
        let other = link(&page, "Use another account");
        assert!(other.starts_with("/login?"), "{other}");
        let back = param(&other, "return_to").expect("return_to");
        assert!(back.starts_with("/oauth2/v1/authorize?"), "{back}");
        assert_eq!(param(&back, "prompt"), None, "{back}");
        let back_params = query_of(&back);
        let pairs: Vec<(&str, &str)> = back_params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (_, again, _) = authorize(s, Some(&cookie), &pairs).await;
        assert!(
            again.expect("Location").starts_with("/login?"),
            "Ada's old session does not answer the switch"
        );
        let (bobs, _) = session_for(s, &bob).await;
        let (status, location, body) = authorize(s, Some(&bobs), &pairs).await;
        assert_eq!(status, StatusCode::FOUND, "{body}");
        assert!(param(&location.expect("Location"), "code").is_some());

        // Not signed in: the sign-in page is where the account is chosen.
        let (_, location, _) = authorize(s, None, &request).await;
        let location = location.expect("Location");
        let back = param(&location, "return_to").expect("return_to");
        assert_eq!(param(&back, "prompt"), None, "{back}");
    })
    .await;
}

#[tokio::test]
async fn consent_asks_for_the_scopes_and_allow_or_deny_answers_the_client() {
    on_every_backend(async |s| {
        let (rp, _, _, cookie) = setup(s).await;
        let (_, challenge) = pkce_pair();
        let request = params(&rp, &challenge, "consent");
        let (status, location, page) = authorize(s, Some(&cookie), &request).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "a page, not a redirect: {location:?}"
        );
        assert!(page.contains("Allow access?"), "{page}");
        assert!(page.contains("Wiki asks to"), "{page}");
        assert!(page.contains("see your email address"), "{page}");
        assert!(
            page.contains("keep access while you are not using it"),
            "{page}"
        );

        let fields = hidden_fields(&page);
        assert!(fields.iter().all(|(k, _)| k != "prompt"), "{fields:?}");
        let location = post_back(s, &cookie, &fields).await;
        assert!(param(&location, "code").is_some(), "Allow: {location}");

        let deny = link(&page, "Deny");
        assert!(deny.starts_with(REDIRECT_URI), "{deny}");
        assert_eq!(param(&deny, "error").as_deref(), Some("access_denied"));
        assert_eq!(param(&deny, "state").as_deref(), Some("st-9"));
        assert_eq!(param(&deny, "iss").as_deref(), Some(s.url.as_str()));
        assert_eq!(param(&deny, "code"), None);

        // Both: the account first, then consent.
        let both = params(&rp, &challenge, "select_account consent");
        let (_, _, page) = authorize(s, Some(&cookie), &both).await;
        assert!(page.contains("Choose an account"), "{page}");
        let fields = hidden_fields(&page);
        let resp = no_redirects()
            .post(format!("{}/oauth2/v1/authorize", s.url))
            .header("Cookie", &cookie)
            .form(&fields)
            .send()
            .await
            .expect("POST");
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(
            resp.text()
                .await
                .unwrap_or_default()
                .contains("Allow access?")
        );

        // An app the person is not assigned to is refused before any question.
        let stranger = register(s, "Stranger", json!({})).await;
        let (status, location, _) =
            authorize(s, Some(&cookie), &params(&stranger, &challenge, "consent")).await;
        assert_eq!(status, StatusCode::FOUND);
        assert_eq!(
            param(&location.expect("Location"), "error").as_deref(),
            Some("access_denied")
        );
        // prompt=none still stands alone.
        let (_, location, _) =
            authorize(s, Some(&cookie), &params(&rp, &challenge, "none consent")).await;
        assert_eq!(
            param(&location.expect("Location"), "error").as_deref(),
            Some("invalid_request")
        );
    })
    .await;
}
