//! The OpenID provider over real HTTP, on every backend: authorization code + PKCE, token
//! grants, client authentication, introspection, revocation, userinfo, RP-initiated logout,
//! and each standard error of the issue's checklist.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::Duration;
use ulo_core::clock::{Clock, ManualClock};
use ulo_core::ids::{SessionId, UserId};
use ulo_core::oidc::pkce;
use ulo_core::session::{MAX_LIFETIME, Session};
use ulo_testkit::{Database, TestServer, backends};

use crate::support::{anonymous, create_group, create_user, events, id, on_every_backend, send};

/// Where test clients are sent back to: an unbound loopback port, never followed.
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
/// Where test clients want people after logout.
pub const POST_LOGOUT_URI: &str = "http://127.0.0.1:9/signed-out";

/// An OIDC client registered through the admin API.
pub struct Rp {
    /// The app's id.
    pub app_id: String,
    /// Its client id.
    pub client_id: String,
    /// Its client secret, if it has one.
    pub secret: Option<String>,
}

/// Registers an OIDC app with `oidc` settings merged over the defaults.
pub async fn register(s: &TestServer, label: &str, oidc: Value) -> Rp {
    let mut settings = json!({
        "redirectUris": [REDIRECT_URI],
        "postLogoutRedirectUris": [POST_LOGOUT_URI],
        "tokenEndpointAuthMethod": "client_secret_basic",
    });
    for (k, v) in oidc.as_object().cloned().unwrap_or_default() {
        settings[k] = v;
    }
    let (status, app) = s
        .post(
            "/api/v1/apps",
            json!({"label": label, "type": "oidc", "oidc": settings}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "register {label}: {app}");
    Rp {
        app_id: id(&app),
        client_id: app["oidc"]["clientId"].as_str().expect("clientId").into(),
        secret: app["oidc"]["clientSecret"].as_str().map(str::to_string),
    }
}

/// Assigns `user_id` to the app directly.
pub async fn assign(s: &TestServer, rp: &Rp, user_id: &str) {
    let (status, body) = s
        .post(
            &format!("/api/v1/apps/{}/users", rp.app_id),
            json!({"id": user_id}),
        )
        .await;
    assert!(status.is_success(), "assign: {status} {body}");
}

/// A browser-like client that does not follow redirects (the test looks at each hop).
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

/// The server's clock.
fn clock(s: &TestServer) -> Arc<dyn Clock> {
    s.running.as_ref().expect("running").state.clock.clone()
}

/// Signs `user_id` in by writing a session to the store; answers the `Cookie` header value.
pub async fn session_for(s: &TestServer, user_id: &str) -> (String, SessionId) {
    let (secret, hash) = ulo_server::session_cookie::new_secret();
    let now = clock(s).now();
    let session = Session {
        id: SessionId::new(),
        user_id: user_id.parse::<UserId>().expect("user id"),
        created: now,
        last_used: now,
        expires: now + MAX_LIFETIME,
        ip_address: Some("127.0.0.1".into()),
        user_agent: None,
        amr: vec!["pwd".into()],
        ended: None,
        end_reason: None,
        secret_hash: hash,
    };
    let store = s.store();
    let mut tx = store.begin().await.expect("begin");
    tx.insert_session(&session).await.expect("insert session");
    tx.commit().await.expect("commit");
    (format!("ulo_session={secret}"), session.id)
}

/// A fresh PKCE verifier and its S256 challenge.
pub fn pkce_pair() -> (String, String) {
    let verifier = ulo_core::auth::random_base62(64);
    let challenge = pkce::challenge_of(&verifier);
    (verifier, challenge)
}

/// GET /oauth2/v1/authorize with `params` and `cookie`; answers status, Location and body.
pub async fn authorize(
    s: &TestServer,
    cookie: Option<&str>,
    params: &[(&str, &str)],
) -> (StatusCode, Option<String>, String) {
    let (resp, status, location) = browser_get(s, "/oauth2/v1/authorize", cookie, params).await;
    (status, location, resp.text().await.unwrap_or_default())
}

/// GET `path` with `params` and `cookie`, not following redirects; answers the response, its
/// status and Location.
async fn browser_get(
    s: &TestServer,
    path: &str,
    cookie: Option<&str>,
    params: &[(&str, &str)],
) -> (reqwest::Response, StatusCode, Option<String>) {
    let mut req = no_redirects().get(format!("{}{path}", s.url)).query(params);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = resp.status();
    let location = resp
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (resp, status, location)
}

/// The query parameters of a URL.
pub fn query_of(url: &str) -> Vec<(String, String)> {
    let base = reqwest::Url::parse("http://x").expect("base");
    base.join(url)
        .expect("URL")
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// One query parameter of a URL.
pub fn param(url: &str, name: &str) -> Option<String> {
    query_of(url)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Standard authorize parameters for `rp` with a PKCE challenge.
fn code_params<'a>(rp: &'a Rp, challenge: &'a str, scope: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("client_id", rp.client_id.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
        ("scope", scope),
        ("state", "st-123"),
        ("nonce", "n-456"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}

/// Runs authorize and answers the code from the redirect to the client.
pub async fn get_code(s: &TestServer, cookie: &str, params: &[(&str, &str)]) -> String {
    let (status, location, body) = authorize(s, Some(cookie), params).await;
    assert_eq!(status, StatusCode::FOUND, "authorize: {body}");
    let location = location.expect("Location");
    assert!(
        location.starts_with(REDIRECT_URI),
        "redirected to the client: {location}"
    );
    assert_eq!(param(&location, "iss").as_deref(), Some(s.url.as_str()));
    param(&location, "code").unwrap_or_else(|| panic!("no code in {location}"))
}

/// How a test client authenticates.
pub enum Auth<'a> {
    /// HTTP Basic.
    Basic(&'a str, &'a str),
    /// Form fields only (post, none, assertion).
    Form,
}

/// POSTs a form to an OAuth endpoint; answers status, headers and the JSON body.
pub async fn post_form(
    s: &TestServer,
    path: &str,
    auth: Auth<'_>,
    form: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut req = anonymous(s, Method::POST, path).form(form);
    if let Auth::Basic(id, secret) = auth {
        let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
        req = req.header(
            "Authorization",
            format!(
                "Basic {}",
                STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
            ),
        );
    }
    send(req).await
}

/// A confidential client's Basic credentials.
pub fn basic(rp: &Rp) -> Auth<'_> {
    Auth::Basic(&rp.client_id, rp.secret.as_deref().expect("a secret"))
}

/// Exchanges a code at the token endpoint.
async fn exchange(s: &TestServer, rp: &Rp, code: &str, verifier: &str) -> (StatusCode, Value) {
    let (status, headers, body) = post_form(
        s,
        "/oauth2/v1/token",
        basic(rp),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
        ],
    )
    .await;
    assert_eq!(
        headers.get(CACHE_CONTROL).and_then(|v| v.to_str().ok()),
        Some("no-store"),
        "token answers are never cached"
    );
    (status, body)
}

/// Refreshes with a confidential client.
async fn refresh(s: &TestServer, rp: &Rp, token: &str) -> (StatusCode, Value) {
    let (status, _, body) = post_form(
        s,
        "/oauth2/v1/token",
        basic(rp),
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await;
    (status, body)
}

/// Introspects with a confidential client.
pub async fn introspect(s: &TestServer, rp: &Rp, token: &str) -> Value {
    let (status, _, body) =
        post_form(s, "/oauth2/v1/introspect", basic(rp), &[("token", token)]).await;
    assert_eq!(status, StatusCode::OK, "introspect: {body}");
    body
}

/// Calls userinfo with a bearer token.
async fn userinfo(s: &TestServer, token: &str) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    send(anonymous(s, Method::GET, "/oauth2/v1/userinfo").bearer_auth(token)).await
}

/// Asserts an RFC 6749 §5.2 error.
fn assert_oauth_error(got: (StatusCode, &Value), status: StatusCode, error: &str) {
    assert_eq!(got.0, status, "status; body: {}", got.1);
    assert_eq!(got.1["error"], error, "error; body: {}", got.1);
    assert!(
        got.1["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "error_description: {}",
        got.1
    );
}

/// The header and claims of a JWT, verified against the published JWKS.
async fn verified(s: &TestServer, jwt: &str, typ: &str) -> (ulo_jose::Header, Value) {
    let (status, jwks) = s.get("/oauth2/v1/keys").await;
    assert_eq!(status, StatusCode::OK);
    ulo_jose::verify_with_jwks(
        jwt,
        &jwks,
        &ulo_jose::VerifyOptions {
            expected_typ: Some(typ),
            issuer: Some(&s.url),
            now_unix: Some(clock(s).now().unix_timestamp()),
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{typ} token does not verify: {e}"))
}

/// A user assigned to a fresh confidential app, signed in: (rp, user id, cookie, session id).
pub async fn signed_in_user(s: &TestServer, login: &str) -> (Rp, String, String, SessionId) {
    let user = create_user(s, login).await;
    let rp = register(s, "Wiki", json!({})).await;
    assign(s, &rp, &id(&user)).await;
    let (cookie, sid) = session_for(s, &id(&user)).await;
    (rp, id(&user), cookie, sid)
}

/// Runs the code flow to tokens with scopes `scope`.
pub async fn tokens(s: &TestServer, rp: &Rp, cookie: &str, scope: &str) -> Value {
    let (verifier, challenge) = pkce_pair();
    let code = get_code(s, cookie, &code_params(rp, &challenge, scope)).await;
    let (status, body) = exchange(s, rp, &code, &verifier).await;
    assert_eq!(status, StatusCode::OK, "exchange: {body}");
    body
}

/// Every System Log event as text, to look for leaked secrets.
async fn log_text(s: &TestServer) -> String {
    let (status, body) = s.get("/api/v1/logs?limit=1000").await;
    assert_eq!(status, StatusCode::OK);
    body.to_string()
}

#[tokio::test]
async fn discovery_describes_the_provider() {
    on_every_backend(async |s| {
        let (status, d) = s.get("/.well-known/openid-configuration").await;
        assert_eq!(status, StatusCode::OK);
        let iss = s.url.as_str();
        assert_eq!(d["issuer"], iss);
        for (k, path) in [
            ("authorization_endpoint", "/oauth2/v1/authorize"),
            ("token_endpoint", "/oauth2/v1/token"),
            ("userinfo_endpoint", "/oauth2/v1/userinfo"),
            ("introspection_endpoint", "/oauth2/v1/introspect"),
            ("revocation_endpoint", "/oauth2/v1/revoke"),
            ("end_session_endpoint", "/oauth2/v1/logout"),
            ("jwks_uri", "/oauth2/v1/keys"),
        ] {
            assert_eq!(d[k], format!("{iss}{path}"), "{k}");
        }
        assert_eq!(d["backchannel_logout_supported"], true);
        assert_eq!(d["backchannel_logout_session_supported"], true);
        assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(
            d["scopes_supported"],
            json!(["openid", "profile", "email", "offline_access"])
        );
        assert_eq!(
            d["grant_types_supported"],
            json!(["authorization_code", "refresh_token", "client_credentials"])
        );
        assert_eq!(
            d["token_endpoint_auth_methods_supported"],
            json!([
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
                "none"
            ])
        );
        assert_eq!(d["response_types_supported"], json!(["code"]));
    })
    .await;
}

#[tokio::test]
async fn the_code_flow_issues_verifiable_tokens_and_refresh_rotates_them() {
    on_every_backend(async |s| {
        // Assigned through a group, not directly.
        let user = create_user(s, "ada@example.com").await;
        let uid = id(&user);
        let group = create_group(s, "Engineering").await;
        let rp = register(s, "Wiki", json!({"accessTokenLifetimeSeconds": 120})).await;
        let (st, _) = s
            .put(&format!("/api/v1/groups/{}/users/{uid}", id(&group)), None)
            .await;
        assert!(st.is_success());
        let (st, _) = s
            .put(
                &format!("/api/v1/apps/{}/groups/{}", rp.app_id, id(&group)),
                None,
            )
            .await;
        assert!(st.is_success());
        let (cookie, sid) = session_for(s, &uid).await;

        let (verifier, challenge) = pkce_pair();
        let scope = "openid profile email offline_access";
        let (status, location, _) =
            authorize(s, Some(&cookie), &code_params(&rp, &challenge, scope)).await;
        assert_eq!(status, StatusCode::FOUND);
        let location = location.expect("Location");
        assert_eq!(param(&location, "state").as_deref(), Some("st-123"));
        let code = param(&location, "code").expect("code");

        let (status, t) = exchange(s, &rp, &code, &verifier).await;
        assert_eq!(status, StatusCode::OK, "{t}");
        assert_eq!(t["token_type"], "Bearer");
        assert_eq!(t["expires_in"], 120);
        assert_eq!(t["scope"], scope);
        let access = t["access_token"].as_str().expect("access token");
        let refresh_token = t["refresh_token"].as_str().expect("refresh token");
        let id_token = t["id_token"].as_str().expect("ID token");

        let (h, c) = verified(s, id_token, "JWT").await;
        assert_eq!(format!("{:?}", h.alg), "ES256");
        assert_eq!(c["sub"], uid);
        assert_eq!(c["aud"], rp.client_id);
        assert_eq!(c["nonce"], "n-456");
        assert_eq!(c["sid"], sid.to_string());
        assert_eq!(c["amr"], json!(["pwd"]));
        assert_eq!(c["email"], "ada@example.com");
        assert_eq!(c["preferred_username"], "ada@example.com");
        assert!(c["auth_time"].is_i64() && c["iat"].is_i64() && c["exp"].is_i64());
        let digest = <sha2::Sha256 as sha2::Digest>::digest(access.as_bytes());
        assert_eq!(c["at_hash"], URL_SAFE_NO_PAD.encode(&digest[..16]));

        let (_, a) = verified(s, access, "at+jwt").await;
        assert_eq!(a["sub"], uid);
        assert_eq!(a["aud"], s.url);
        assert_eq!(a["client_id"], rp.client_id);
        assert_eq!(a["scope"], scope);
        assert_eq!(a["exp"].as_i64().unwrap() - a["iat"].as_i64().unwrap(), 120);
        assert!(a["jti"].as_str().is_some_and(|j| j.len() >= 32));

        let (status, _, info) = userinfo(s, access).await;
        assert_eq!(status, StatusCode::OK, "{info}");
        assert_eq!(info["sub"], uid);
        assert_eq!(info["email"], "ada@example.com");
        assert_eq!(info["email_verified"], true);
        assert_eq!(info["given_name"], "Test");

        let i = introspect(s, &rp, access).await;
        assert_eq!(i["active"], true, "{i}");
        assert_eq!(i["username"], "ada@example.com");
        assert_eq!(i["client_id"], rp.client_id);
        let i = introspect(s, &rp, refresh_token).await;
        assert_eq!(i["active"], true, "{i}");

        // Refresh: a new pair, the old refresh token is dead, the family keeps its sid.
        let (status, r) = refresh(s, &rp, refresh_token).await;
        assert_eq!(status, StatusCode::OK, "{r}");
        let new_refresh = r["refresh_token"].as_str().expect("rotated");
        assert_ne!(new_refresh, refresh_token);
        let (_, c2) = verified(s, r["id_token"].as_str().expect("ID token"), "JWT").await;
        assert_eq!(c2["sid"], sid.to_string());
        assert_eq!(c2["auth_time"], c["auth_time"]);
        assert!(c2.get("nonce").is_none());
        assert_eq!(introspect(s, &rp, refresh_token).await["active"], false);
        assert_eq!(introspect(s, &rp, new_refresh).await["active"], true);

        // A refresh may narrow the scopes, not widen them.
        let (status, _, narrow) = post_form(
            s,
            "/oauth2/v1/token",
            basic(&rp),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", new_refresh),
                ("scope", "openid"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{narrow}");
        assert_eq!(narrow["scope"], "openid");

        // Each grant is logged, and no secret reaches the System Log.
        let grants = events(s, "app.oauth2.token.grant", &uid).await;
        assert_eq!(grants.len(), 3, "{grants:?}");
        assert_eq!(
            grants[0]["debugContext"]["debugData"]["grantType"],
            "authorization_code"
        );
        assert_eq!(
            grants[1]["debugContext"]["debugData"]["grantType"],
            "refresh_token"
        );
        assert_eq!(grants[0]["debugContext"]["debugData"]["scopes"], scope);
        let text = log_text(s).await;
        for secret in [
            code.as_str(),
            refresh_token,
            new_refresh,
            access,
            rp.secret.as_deref().unwrap(),
            &verifier,
        ] {
            assert!(!text.contains(secret), "a secret reached the System Log");
        }
    })
    .await;
}

#[tokio::test]
async fn a_wrong_redirect_uri_or_client_gets_an_error_page_never_a_redirect() {
    on_every_backend(async |s| {
        let (rp, _, cookie, _) = signed_in_user(s, "ada@example.com").await;
        let (_, challenge) = pkce_pair();
        let evil = "https://evil.example.com/callback";
        let mut params = code_params(&rp, &challenge, "openid");
        params[1] = ("redirect_uri", evil);
        for cookie in [Some(cookie.as_str()), None] {
            let (status, location, body) = authorize(s, cookie, &params).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert!(location.is_none(), "never redirected: {location:?}");
            assert!(body.contains("redirect_uri is not registered"), "{body}");
        }
        // Unknown client, missing redirect_uri, and markup in the input is escaped.
        let (status, location, body) = authorize(
            s,
            Some(&cookie),
            &[
                ("client_id", "<script>x</script>"),
                ("redirect_uri", REDIRECT_URI),
                ("response_type", "code"),
            ],
        )
        .await;
        assert_eq!((status, location), (StatusCode::BAD_REQUEST, None));
        assert!(!body.contains("<script>x"), "{body}");
        let (status, location, _) = authorize(
            s,
            Some(&cookie),
            &[("client_id", &rp.client_id), ("response_type", "code")],
        )
        .await;
        assert_eq!((status, location), (StatusCode::BAD_REQUEST, None));

        // Errors after the redirect URI is trusted go back to the client.
        let mut bad_type = code_params(&rp, &challenge, "openid");
        bad_type[2] = ("response_type", "token");
        let (status, location, _) = authorize(s, Some(&cookie), &bad_type).await;
        assert_eq!(status, StatusCode::FOUND);
        let location = location.expect("Location");
        assert_eq!(
            param(&location, "error").as_deref(),
            Some("unsupported_response_type")
        );
        assert_eq!(param(&location, "state").as_deref(), Some("st-123"));

        // At the token endpoint, a redirect_uri other than the request's fails.
        let (verifier, challenge) = pkce_pair();
        let code = get_code(s, &cookie, &code_params(&rp, &challenge, "openid")).await;
        let (status, _, body) = post_form(
            s,
            "/oauth2/v1/token",
            basic(&rp),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:9/other"),
                ("code_verifier", &verifier),
            ],
        )
        .await;
        assert_oauth_error((status, &body), StatusCode::BAD_REQUEST, "invalid_grant");
    })
    .await;
}

#[tokio::test]
async fn an_unassigned_app_is_access_denied_and_logged() {
    on_every_backend(async |s| {
        let user = create_user(s, "bob@example.com").await;
        let rp = register(s, "Payroll", json!({})).await;
        let (cookie, _) = session_for(s, &id(&user)).await;
        let (_, challenge) = pkce_pair();
        let (status, location, _) =
            authorize(s, Some(&cookie), &code_params(&rp, &challenge, "openid")).await;
        assert_eq!(status, StatusCode::FOUND);
        let location = location.expect("Location");
        assert!(location.starts_with(REDIRECT_URI));
        assert_eq!(param(&location, "error").as_deref(), Some("access_denied"));
        assert!(param(&location, "code").is_none());
        let denied = events(s, "app.oauth2.authorize", &id(&user)).await;
        assert_eq!(denied.len(), 1, "{denied:?}");
        assert_eq!(denied[0]["outcome"]["result"], "FAILURE");
        assert_eq!(denied[0]["outcome"]["reason"], "access_denied");
        assert!(
            denied[0]["target"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["id"] == rp.app_id.as_str())
        );
    })
    .await;
}

#[tokio::test]
async fn pkce_is_enforced() {
    on_every_backend(async |s| {
        let user = create_user(s, "ada@example.com").await;
        let public = register(s, "SPA", json!({"tokenEndpointAuthMethod": "none"})).await;
        assert!(public.secret.is_none());
        let confidential = register(s, "Wiki", json!({})).await;
        assign(s, &public, &id(&user)).await;
        assign(s, &confidential, &id(&user)).await;
        let (cookie, _) = session_for(s, &id(&user)).await;

        // A public client without a challenge is refused at once.
        let (status, location, _) = authorize(
            s,
            Some(&cookie),
            &[
                ("client_id", &public.client_id),
                ("redirect_uri", REDIRECT_URI),
                ("response_type", "code"),
                ("scope", "openid"),
                ("state", "s1"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::FOUND);
        let location = location.expect("Location");
        assert_eq!(
            param(&location, "error").as_deref(),
            Some("invalid_request")
        );
        assert_eq!(param(&location, "state").as_deref(), Some("s1"));
        // plain is not accepted.
        let (verifier, challenge) = pkce_pair();
        let mut plain = code_params(&public, &challenge, "openid");
        plain[7] = ("code_challenge_method", "plain");
        let (_, location, _) = authorize(s, Some(&cookie), &plain).await;
        assert_eq!(
            param(&location.expect("Location"), "error").as_deref(),
            Some("invalid_request")
        );

        // With a challenge, the verifier must be sent and match.
        let public_token = async |code: &str, verifier: Option<&str>| {
            let mut form = vec![
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT_URI),
                ("client_id", public.client_id.as_str()),
            ];
            if let Some(v) = verifier {
                form.push(("code_verifier", v));
            }
            let (status, _, body) = post_form(s, "/oauth2/v1/token", Auth::Form, &form).await;
            (status, body)
        };
        let code = get_code(s, &cookie, &code_params(&public, &challenge, "openid")).await;
        let (status, body) = public_token(&code, None).await;
        assert_oauth_error((status, &body), StatusCode::BAD_REQUEST, "invalid_grant");
        let (wrong, _) = pkce_pair();
        let (status, body) = public_token(&code, Some(&wrong)).await;
        assert_oauth_error((status, &body), StatusCode::BAD_REQUEST, "invalid_grant");
        // A failed check does not burn the code: its owner can still redeem it.
        let (status, body) = public_token(&code, Some(&verifier)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("refresh_token").is_none(), "no offline_access");

        // A confidential client may skip PKCE, but cannot send a verifier it never committed to.
        let code = get_code(
            s,
            &cookie,
            &[
                ("client_id", &confidential.client_id),
                ("redirect_uri", REDIRECT_URI),
                ("response_type", "code"),
                ("scope", "openid"),
            ],
        )
        .await;
        let (status, body) = exchange(s, &confidential, &code, &verifier).await;
        assert_oauth_error((status, &body), StatusCode::BAD_REQUEST, "invalid_grant");
    })
    .await;
}

/// Runs `test` on every backend against a server whose clock the test moves.
async fn with_manual_clock(test: impl AsyncFn(&TestServer, &ManualClock)) {
    for backend in backends() {
        let db = Database::new(backend).await.expect("database");
        let clock = Arc::new(ManualClock::new(ulo_testkit::now()));
        let s = TestServer::start_on(db, clock.clone())
            .await
            .expect("start");
        test(&s, &clock).await;
        s.stop().await;
    }
}

#[tokio::test]
async fn an_expired_code_fails() {
    with_manual_clock(async |s, clock| {
        let (rp, _, cookie, _) = signed_in_user(s, "ada@example.com").await;
        let (verifier, challenge) = pkce_pair();
        let code = get_code(s, &cookie, &code_params(&rp, &challenge, "openid")).await;
        clock.advance(Duration::seconds(61));
        let (status, body) = exchange(s, &rp, &code, &verifier).await;
        assert_oauth_error((status, &body), StatusCode::BAD_REQUEST, "invalid_grant");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("expired"),
            "{body}"
        );
        // Within the minute it works.
        let (verifier, challenge) = pkce_pair();
        let code = get_code(s, &cookie, &code_params(&rp, &challenge, "openid")).await;
        clock.advance(Duration::seconds(59));
        let (status, body) = exchange(s, &rp, &code, &verifier).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    })
    .await;
}

#[tokio::test]
async fn max_age_and_prompt_login_send_the_person_to_sign_in_once() {
    with_manual_clock(async |s, clock| {
        let (rp, uid, cookie, _) = signed_in_user(s, "ada@example.com").await;
        let (_, challenge) = pkce_pair();
        clock.advance(Duration::minutes(10));
        for extra in [("max_age", "300"), ("prompt", "login")] {
            let mut params = code_params(&rp, &challenge, "openid");
            params.push(extra);
            let (status, location, _) = authorize(s, Some(&cookie), &params).await;
            assert_eq!(status, StatusCode::FOUND);
            let location = location.expect("Location");
            assert!(location.starts_with("/login?"), "{location}");
            let back = param(&location, "return_to").expect("return_to");
            assert!(back.starts_with("/oauth2/v1/authorize?"), "{back}");
            assert!(param(&back, "ulo_reauth").is_some(), "{back}");
            assert_eq!(
                param(&back, "prompt"),
                None,
                "prompt=login is satisfied by that sign-in"
            );
            // Coming back with the old session loops to sign-in again...
            let back_params = query_of(&back);
            let pairs: Vec<(&str, &str)> = back_params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let (_, again, _) = authorize(s, Some(&cookie), &pairs).await;
            assert!(again.expect("Location").starts_with("/login?"));
            // ...a session made by that sign-in gets the code.
            clock.advance(Duration::seconds(1));
            let (fresh, _) = session_for(s, &uid).await;
            get_code(s, &fresh, &pairs).await;
        }
        // prompt=none with an old sign-in and max_age: login_required at the client.
        let mut params = code_params(&rp, &challenge, "openid");
        params.push(("max_age", "1"));
        params.push(("prompt", "none"));
        clock.advance(Duration::seconds(5));
        let (_, location, _) = authorize(s, Some(&cookie), &params).await;
        assert_eq!(
            param(&location.expect("Location"), "error").as_deref(),
            Some("login_required")
        );
    })
    .await;
}

#[tokio::test]
async fn max_age_zero_forces_a_fresh_sign_in_even_a_millisecond_after_the_last() {
    with_manual_clock(async |s, clock| {
        let (rp, uid, cookie, _) = signed_in_user(s, "ada@example.com").await;
        let (_, challenge) = pkce_pair();
        let mut params = code_params(&rp, &challenge, "openid");
        params.push(("max_age", "0"));
        // At the very instant of the sign-in (the manual clock has not moved) and 1 ms later.
        // Whole seconds used to round anything under a second down to "0 > 0": the session
        // passed max_age=0.
        for step in [Duration::ZERO, Duration::milliseconds(1)] {
            clock.advance(step);
            let (status, location, body) = authorize(s, Some(&cookie), &params).await;
            assert_eq!(status, StatusCode::FOUND, "{body}");
            let location = location.expect("Location");
            assert!(
                location.starts_with("/login?"),
                "max_age=0 {step} after sign-in must ask for a sign-in: {location}"
            );
        }
        // The sign-in that follows satisfies it, even within the same millisecond: the
        // round trip ends with a code, not another sign-in.
        let (_, location, _) = authorize(s, Some(&cookie), &params).await;
        let back = param(&location.expect("Location"), "return_to").expect("return_to");
        assert_eq!(param(&back, "max_age").as_deref(), Some("0"), "{back}");
        let back_params = query_of(&back);
        let pairs: Vec<(&str, &str)> = back_params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        // A marker the browser made up is no proof of a sign-in: "since 0" would let the old
        // session through.
        for forged in ["0", "1", "eyJhbGciOiJub25lIn0.eyJzaW5jZV9tcyI6MH0."] {
            let mut with_marker = params.clone();
            with_marker.push(("ulo_reauth", forged));
            let (_, location, _) = authorize(s, Some(&cookie), &with_marker).await;
            let location = location.expect("Location");
            assert!(location.starts_with("/login?"), "{forged}: {location}");
        }
        let (fresh, _) = session_for(s, &uid).await;
        get_code(s, &fresh, &pairs).await;
        // prompt=none cannot sign anyone in: max_age=0 is login_required at the client.
        let mut none = params.clone();
        none.push(("prompt", "none"));
        let (_, location, _) = authorize(s, Some(&fresh), &none).await;
        let location = location.expect("Location");
        assert!(location.starts_with(REDIRECT_URI), "{location}");
        assert_eq!(param(&location, "error").as_deref(), Some("login_required"));
    })
    .await;
}

#[tokio::test]
async fn without_a_session_the_browser_signs_in_first_and_prompt_none_is_login_required() {
    on_every_backend(async |s| {
        let (rp, _, _, _) = signed_in_user(s, "ada@example.com").await;
        let (_, challenge) = pkce_pair();
        let params = code_params(&rp, &challenge, "openid");
        let (status, location, _) = authorize(s, None, &params).await;
        assert_eq!(status, StatusCode::FOUND);
        let location = location.expect("Location");
        assert!(location.starts_with("/login?return_to="), "{location}");
        let back = param(&location, "return_to").expect("return_to");
        assert_eq!(
            param(&back, "client_id").as_deref(),
            Some(rp.client_id.as_str())
        );
        assert_eq!(
            param(&back, "code_challenge").as_deref(),
            Some(challenge.as_str())
        );

        let mut none = params.clone();
        none.push(("prompt", "none"));
        let (status, location, _) = authorize(s, None, &none).await;
        assert_eq!(status, StatusCode::FOUND);
        let location = location.expect("Location");
        assert!(location.starts_with(REDIRECT_URI), "{location}");
        assert_eq!(param(&location, "error").as_deref(), Some("login_required"));
        assert_eq!(param(&location, "state").as_deref(), Some("st-123"));
        // A cookie that names no session is no sign-in either.
        let (_, location, _) = authorize(s, Some("ulo_session=ulo_forged"), &none).await;
        assert_eq!(
            param(&location.expect("Location"), "error").as_deref(),
            Some("login_required")
        );
    })
    .await;
}

#[tokio::test]
async fn a_code_used_twice_fails_and_revokes_what_it_gave() {
    on_every_backend(async |s| {
        let (rp, uid, cookie, _) = signed_in_user(s, "ada@example.com").await;
        let (verifier, challenge) = pkce_pair();
        let code = get_code(
            s,
            &cookie,
            &code_params(&rp, &challenge, "openid offline_access"),
        )
        .await;
        let (status, first) = exchange(s, &rp, &code, &verifier).await;
        assert_eq!(status, StatusCode::OK, "{first}");
        let (status, second) = exchange(s, &rp, &code, &verifier).await;
        assert_oauth_error((status, &second), StatusCode::BAD_REQUEST, "invalid_grant");
        let access = first["access_token"].as_str().unwrap();
        let refresh_token = first["refresh_token"].as_str().unwrap();
        assert_eq!(introspect(s, &rp, access).await["active"], false);
        assert_eq!(introspect(s, &rp, refresh_token).await["active"], false);
        let (status, body) = refresh(s, &rp, refresh_token).await;
        assert_oauth_error((status, &body), StatusCode::BAD_REQUEST, "invalid_grant");
        let reuse = events(s, "app.oauth2.token.detect_reuse", &uid).await;
        assert!(!reuse.is_empty());
        assert_eq!(reuse[0]["outcome"]["result"], "FAILURE");
        assert_eq!(
            reuse[0]["debugContext"]["debugData"]["artifact"],
            "authorization_code"
        );
        // An unknown code is invalid_grant too.
        let (status, body) = exchange(s, &rp, "no-such-code", &verifier).await;
        assert_oauth_error((status, &body), StatusCode::BAD_REQUEST, "invalid_grant");
    })
    .await;
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_family_and_is_logged() {
    on_every_backend(async |s| {
        let (rp, uid, cookie, _) = signed_in_user(s, "ada@example.com").await;
        let t = tokens(s, &rp, &cookie, "openid offline_access").await;
        let r0 = t["refresh_token"].as_str().unwrap();
        let (status, t1) = refresh(s, &rp, r0).await;
        assert_eq!(status, StatusCode::OK, "{t1}");
        let r1 = t1["refresh_token"].as_str().unwrap();
        let a1 = t1["access_token"].as_str().unwrap();
        // A second, unrelated family of the same user survives.
        let other = tokens(s, &rp, &cookie, "openid offline_access").await;

        let (status, body) = refresh(s, &rp, r0).await;
        assert_oauth_error((status, &body), StatusCode::BAD_REQUEST, "invalid_grant");
        // The whole family is dead: the current refresh token and every access token.
        let (status, body) = refresh(s, &rp, r1).await;
        assert_oauth_error((status, &body), StatusCode::BAD_REQUEST, "invalid_grant");
        for tok in [a1, t["access_token"].as_str().unwrap(), r1] {
            assert_eq!(introspect(s, &rp, tok).await["active"], false);
        }
        let (status, _, _) = userinfo(s, a1).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            introspect(s, &rp, other["refresh_token"].as_str().unwrap()).await["active"],
            true
        );

        let reuse = events(s, "app.oauth2.token.detect_reuse", &uid).await;
        assert_eq!(reuse.len(), 1, "{reuse:?}");
        let e = &reuse[0];
        assert_eq!(e["outcome"]["result"], "FAILURE");
        assert_eq!(e["outcome"]["reason"], "refresh_token_reuse");
        assert_eq!(e["severity"], "WARN");
        assert_eq!(e["debugContext"]["debugData"]["artifact"], "refresh_token");
        assert!(
            e["debugContext"]["debugData"]["revokedTokens"]
                .as_u64()
                .unwrap()
                >= 2
        );
    })
    .await;
}

#[tokio::test]
async fn client_authentication_failures_are_invalid_client() {
    on_every_backend(async |s| {
        let (rp, _, cookie, _) = signed_in_user(s, "ada@example.com").await;
        let (verifier, challenge) = pkce_pair();
        let code = get_code(s, &cookie, &code_params(&rp, &challenge, "openid")).await;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier.as_str()),
        ];
        let secret = rp.secret.clone().unwrap();
        let cases: Vec<(Auth<'_>, Vec<(&str, &str)>)> = vec![
            // Wrong secret, unknown client, nothing at all.
            (Auth::Basic(&rp.client_id, "wrong-secret"), vec![]),
            (Auth::Basic("0oaUnknownClient", &secret), vec![]),
            (Auth::Form, vec![]),
            // The right secret by a method the client is not registered for.
            (
                Auth::Form,
                vec![
                    ("client_id", rp.client_id.as_str()),
                    ("client_secret", secret.as_str()),
                ],
            ),
            // Pretending to be a public client.
            (Auth::Form, vec![("client_id", rp.client_id.as_str())]),
        ];
        for (auth, extra) in cases {
            let mut f = form.to_vec();
            f.extend(extra);
            let (status, headers, body) = post_form(s, "/oauth2/v1/token", auth, &f).await;
            assert_oauth_error((status, &body), StatusCode::UNAUTHORIZED, "invalid_client");
            assert_eq!(
                headers.get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()),
                Some("Basic realm=\"ulo\"")
            );
        }
        // Two methods at once, a repeated parameter, a JSON body: invalid_request.
        let mut two = form.to_vec();
        two.push(("client_secret", secret.as_str()));
        let (status, _, body) = post_form(s, "/oauth2/v1/token", basic(&rp), &two).await;
        assert_oauth_error((status, &body), StatusCode::BAD_REQUEST, "invalid_request");
        let mut repeated = form.to_vec();
        repeated.push(("code", "again"));
        let (status, _, body) = post_form(s, "/oauth2/v1/token", basic(&rp), &repeated).await;
        assert_oauth_error((status, &body), StatusCode::BAD_REQUEST, "invalid_request");
        let (status, _, body) =
            send(anonymous(s, Method::POST, "/oauth2/v1/token").json(&json!({"grant_type": "x"})))
                .await;
        assert_oauth_error((status, &body), StatusCode::BAD_REQUEST, "invalid_request");
        let (status, _, body) = post_form(
            s,
            "/oauth2/v1/token",
            basic(&rp),
            &[("grant_type", "password")],
        )
        .await;
        assert_oauth_error(
            (status, &body),
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        );
        // After all that, the code still works for its client.
        let (status, body) = exchange(s, &rp, &code, &verifier).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // A client_secret_post client authenticates in the form.
        let post = register(
            s,
            "Post",
            json!({"tokenEndpointAuthMethod": "client_secret_post"}),
        )
        .await;
        let (status, _, body) = post_form(
            s,
            "/oauth2/v1/introspect",
            Auth::Form,
            &[
                ("token", "x"),
                ("client_id", &post.client_id),
                ("client_secret", post.secret.as_deref().unwrap()),
            ],
        )
        .await;
        assert_eq!((status, body), (StatusCode::OK, json!({"active": false})));
    })
    .await;
}

#[tokio::test]
async fn client_credentials_is_for_confidential_clients_that_opt_in() {
    on_every_backend(async |s| {
        let svc = register(
            s,
            "Batch",
            json!({"tokenEndpointAuthMethod": "client_secret_post", "grantTypes": ["client_credentials"]}),
        )
        .await;
        let secret = svc.secret.clone().unwrap();
        let (status, _, t) = post_form(
            s,
            "/oauth2/v1/token",
            Auth::Form,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &svc.client_id),
                ("client_secret", &secret),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{t}");
        assert!(t.get("refresh_token").is_none() && t.get("id_token").is_none());
        let access = t["access_token"].as_str().unwrap();
        let (_, claims) = verified(s, access, "at+jwt").await;
        assert_eq!(claims["sub"], svc.client_id);
        let (status, _, i) = post_form(
            s,
            "/oauth2/v1/introspect",
            Auth::Form,
            &[("token", access), ("client_id", &svc.client_id), ("client_secret", &secret)],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(i["active"], true, "{i}");
        assert_eq!(i["sub"], svc.client_id);
        // It names no person: userinfo refuses it.
        let (status, _, _) = userinfo(s, access).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        // The grant is logged against the app.
        let logged = events(s, "app.oauth2.token.grant", &svc.app_id).await;
        assert_eq!(logged.len(), 1);
        assert_eq!(logged[0]["actor"]["id"], svc.client_id);
        // User scopes are refused.
        let (status, _, body) = post_form(
            s,
            "/oauth2/v1/token",
            Auth::Form,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "openid"),
                ("client_id", &svc.client_id),
                ("client_secret", &secret),
            ],
        )
        .await;
        assert_oauth_error((status, &body), StatusCode::BAD_REQUEST, "invalid_scope");
        // Not opted in: unauthorized_client. A public client cannot even be registered so.
        let plain = register(s, "Wiki", json!({})).await;
        let (status, _, body) = post_form(
            s,
            "/oauth2/v1/token",
            basic(&plain),
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_oauth_error((status, &body), StatusCode::BAD_REQUEST, "unauthorized_client");
        let (status, body) = s
            .post(
                "/api/v1/apps",
                json!({"label": "Bad", "type": "oidc", "oidc": {"redirectUris": [REDIRECT_URI], "tokenEndpointAuthMethod": "none", "grantTypes": ["client_credentials"]}}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        // And a code-flow-only client cannot use it either.
        let (status, _, body) = post_form(
            s,
            "/oauth2/v1/token",
            Auth::Form,
            &[
                ("grant_type", "authorization_code"),
                ("code", "x"),
                ("client_id", &svc.client_id),
                ("client_secret", &secret),
            ],
        )
        .await;
        assert_oauth_error((status, &body), StatusCode::BAD_REQUEST, "unauthorized_client");
    })
    .await;
}

#[tokio::test]
async fn private_key_jwt_clients_sign_a_one_time_assertion() {
    on_every_backend(async |s| {
        let key = ulo_jose::generate_key(ulo_jose::KeyAlg::ES256).expect("key");
        let rp = register(
            s,
            "Signed",
            json!({"tokenEndpointAuthMethod": "private_key_jwt", "jwks": {"keys": [key.public_jwk.clone()]}, "grantTypes": ["authorization_code", "client_credentials"]}),
        )
        .await;
        assert!(rp.secret.is_none());
        let signer = ulo_jose::SigningKey::from_pkcs8_der(
            key.kid.clone(),
            ulo_jose::KeyAlg::ES256,
            &key.private_pkcs8_der,
        )
        .expect("signing key");
        let ring = ulo_jose::KeyRing::new(vec![signer], vec![key.public_jwk.clone()]).expect("ring");
        let now = clock(s).now().unix_timestamp();
        let assertion = |jti: &str, aud: &str| {
            ring.sign(
                ulo_jose::KeyAlg::ES256,
                "",
                &json!({"iss": rp.client_id, "sub": rp.client_id, "aud": aud, "jti": jti, "iat": now, "exp": now + 60}),
            )
            .expect("sign")
        };
        let token_url = format!("{}/oauth2/v1/token", s.url);
        let grant = async |a: &str| {
            post_form(
                s,
                "/oauth2/v1/token",
                Auth::Form,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    ("client_assertion", a),
                ],
            )
            .await
        };
        let a1 = assertion("jti-1", &token_url);
        let (status, _, body) = grant(&a1).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // Replayed: refused.
        let (status, _, body) = grant(&a1).await;
        assert_oauth_error((status, &body), StatusCode::UNAUTHORIZED, "invalid_client");
        // Wrong audience, or signed by another key: refused.
        let (status, _, body) = grant(&assertion("jti-2", "https://elsewhere.example.com")).await;
        assert_oauth_error((status, &body), StatusCode::UNAUTHORIZED, "invalid_client");
        let other = ulo_jose::generate_key(ulo_jose::KeyAlg::ES256).expect("key");
        let other_ring = ulo_jose::KeyRing::new(
            vec![
                ulo_jose::SigningKey::from_pkcs8_der(
                    key.kid.clone(),
                    ulo_jose::KeyAlg::ES256,
                    &other.private_pkcs8_der,
                )
                .expect("key"),
            ],
            vec![{
                let mut j = other.public_jwk.clone();
                j["kid"] = json!(key.kid);
                j
            }],
        )
        .expect("ring");
        let forged = other_ring
            .sign(
                ulo_jose::KeyAlg::ES256,
                "",
                &json!({"iss": rp.client_id, "sub": rp.client_id, "aud": token_url, "jti": "jti-3", "exp": now + 60}),
            )
            .expect("sign");
        let (status, _, body) = grant(&forged).await;
        assert_oauth_error((status, &body), StatusCode::UNAUTHORIZED, "invalid_client");
        // The issuer is an accepted audience too.
        let (status, _, body) = grant(&assertion("jti-4", &s.url)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // private_key_jwt needs keys at registration.
        let (status, body) = s
            .post(
                "/api/v1/apps",
                json!({"label": "NoKeys", "type": "oidc", "oidc": {"redirectUris": [REDIRECT_URI], "tokenEndpointAuthMethod": "private_key_jwt"}}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    })
    .await;
}

#[tokio::test]
async fn revocation_shows_at_once_in_introspection_and_userinfo() {
    on_every_backend(async |s| {
        let (rp, uid, cookie, _) = signed_in_user(s, "ada@example.com").await;
        let other = register(s, "Other", json!({})).await;
        assign(s, &other, &uid).await;
        let t = tokens(s, &rp, &cookie, "openid profile offline_access").await;
        let access = t["access_token"].as_str().unwrap();
        let refresh_token = t["refresh_token"].as_str().unwrap();

        // Another client learns nothing about these tokens, and cannot revoke them.
        assert_eq!(
            introspect(s, &other, access).await,
            json!({"active": false})
        );
        let (status, _, _) = post_form(
            s,
            "/oauth2/v1/revoke",
            basic(&other),
            &[("token", refresh_token)],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(introspect(s, &rp, refresh_token).await["active"], true);
        // Unknown tokens: 200, nothing logged.
        let (status, _, body) =
            post_form(s, "/oauth2/v1/revoke", basic(&rp), &[("token", "nonsense")]).await;
        assert_eq!((status, body), (StatusCode::OK, Value::Null));
        assert_eq!(
            introspect(s, &rp, "nonsense").await,
            json!({"active": false})
        );

        // Revoking the access token: introspection and userinfo see it at once.
        let (status, _, _) = userinfo(s, access).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, _) = post_form(
            s,
            "/oauth2/v1/revoke",
            basic(&rp),
            &[("token", access), ("token_type_hint", "access_token")],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(introspect(s, &rp, access).await, json!({"active": false}));
        let (status, headers, body) = userinfo(s, access).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        let challenge = headers.get(WWW_AUTHENTICATE).unwrap().to_str().unwrap();
        assert!(challenge.starts_with("Bearer") && challenge.contains("error=\"invalid_token\""));
        assert_eq!(introspect(s, &rp, refresh_token).await["active"], true);

        // Revoking the refresh token ends its grant.
        let (status, r) = refresh(s, &rp, refresh_token).await;
        assert_eq!(status, StatusCode::OK, "{r}");
        let r1 = r["refresh_token"].as_str().unwrap();
        let a1 = r["access_token"].as_str().unwrap();
        let (status, _, _) = post_form(s, "/oauth2/v1/revoke", basic(&rp), &[("token", r1)]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(introspect(s, &rp, a1).await["active"], false);
        let (status, body) = refresh(s, &rp, r1).await;
        assert_oauth_error((status, &body), StatusCode::BAD_REQUEST, "invalid_grant");
        // Revocation of a revoked token is still 200, and it was no reuse.
        let (status, _, _) = post_form(s, "/oauth2/v1/revoke", basic(&rp), &[("token", r1)]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            events(s, "app.oauth2.token.detect_reuse", &uid)
                .await
                .is_empty()
        );

        let revokes = events(s, "app.oauth2.token.revoke", &uid).await;
        assert!(revokes.len() >= 2, "{revokes:?}");
        assert_eq!(
            revokes[0]["debugContext"]["debugData"]["tokenType"],
            "access_token"
        );
        assert_eq!(revokes[0]["actor"]["id"], rp.client_id);
        // Userinfo without a token, and with a scope-less token.
        let (status, headers, _) = send(anonymous(s, Method::GET, "/oauth2/v1/userinfo")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            headers.get(WWW_AUTHENTICATE).unwrap().to_str().unwrap(),
            "Bearer realm=\"ulo\""
        );
        let no_openid = tokens(s, &rp, &cookie, "profile").await;
        assert!(no_openid.get("id_token").is_none());
        let (status, _, body) = userinfo(s, no_openid["access_token"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        // An admin API token is no access token.
        let (status, _, _) = userinfo(s, &s.token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    })
    .await;
}

/// A logout request; answers status, Location, whether the cookie is cleared, and the body.
async fn logout(
    s: &TestServer,
    cookie: Option<&str>,
    params: &[(&str, &str)],
) -> (StatusCode, Option<String>, bool, String) {
    let (resp, status, location) = browser_get(s, "/oauth2/v1/logout", cookie, params).await;
    let cleared = resp
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|c| c.starts_with("ulo_session=;")));
    (
        status,
        location,
        cleared,
        resp.text().await.unwrap_or_default(),
    )
}

/// Whether `cookie` still gets a code (rather than a trip to /login).
async fn cookie_works(s: &TestServer, rp: &Rp, cookie: &str) -> bool {
    let (_, challenge) = pkce_pair();
    let (_, location, _) = authorize(s, Some(cookie), &code_params(rp, &challenge, "openid")).await;
    let location = location.expect("Location");
    assert!(
        location.starts_with(REDIRECT_URI) || location.starts_with("/login?"),
        "{location}"
    );
    location.starts_with(REDIRECT_URI)
}

#[tokio::test]
async fn rp_initiated_logout_ends_the_session_and_returns_only_to_registered_uris() {
    on_every_backend(async |s| {
        let (rp, uid, cookie, sid) = signed_in_user(s, "ada@example.com").await;
        let t = tokens(s, &rp, &cookie, "openid").await;
        let id_token = t["id_token"].as_str().unwrap();

        // Registered post_logout_redirect_uri: ended, cookie cleared, sent back with state.
        let (status, location, cleared, _) = logout(
            s,
            Some(&cookie),
            &[
                ("id_token_hint", id_token),
                ("post_logout_redirect_uri", POST_LOGOUT_URI),
                ("state", "bye-1"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::FOUND);
        let location = location.expect("Location");
        assert!(location.starts_with(POST_LOGOUT_URI), "{location}");
        assert_eq!(param(&location, "state").as_deref(), Some("bye-1"));
        assert!(cleared, "the cookie is cleared");
        assert!(!cookie_works(s, &rp, &cookie).await, "the session ended");
        let ended = events(s, "user.session.end", &uid).await;
        assert_eq!(ended.len(), 1, "{ended:?}");
        assert_eq!(
            ended[0]["debugContext"]["debugData"]["sessionId"],
            sid.to_string()
        );
        assert_eq!(ended[0]["debugContext"]["debugData"]["reason"], "LOGOUT");

        // Unregistered URI: the session still ends, but ulo shows its own page.
        let (cookie2, _) = session_for(s, &uid).await;
        let t2 = tokens(s, &rp, &cookie2, "openid").await;
        let (status, location, cleared, body) = logout(
            s,
            Some(&cookie2),
            &[
                ("id_token_hint", t2["id_token"].as_str().unwrap()),
                ("post_logout_redirect_uri", "https://evil.example.com/"),
            ],
        )
        .await;
        assert_eq!((status, location), (StatusCode::OK, None));
        assert!(cleared);
        assert!(
            body.contains("signed out") && body.contains("not registered"),
            "{body}"
        );
        assert!(!cookie_works(s, &rp, &cookie2).await);

        // Without a hint, a signed-in person confirms first (a link elsewhere cannot sign them out).
        let (cookie3, _) = session_for(s, &uid).await;
        let (status, location, cleared, body) = logout(
            s,
            Some(&cookie3),
            &[
                ("client_id", &rp.client_id),
                ("post_logout_redirect_uri", POST_LOGOUT_URI),
            ],
        )
        .await;
        assert_eq!((status, location, cleared), (StatusCode::OK, None, false));
        assert!(body.contains("<form method=\"post\""), "{body}");
        assert!(cookie_works(s, &rp, &cookie3).await, "not yet ended");
        // What the page's form posts, with its token.
        let marker = "name=\"csrf\" value=\"";
        let at = body.find(marker).expect("the form's token") + marker.len();
        let csrf = &body[at..at + body[at..].find('"').expect("token ends")];
        let resp = no_redirects()
            .post(format!("{}/oauth2/v1/logout", s.url))
            .header("Cookie", &cookie3)
            .form(&[
                ("client_id", rp.client_id.as_str()),
                ("post_logout_redirect_uri", POST_LOGOUT_URI),
                ("ulo_confirm", "yes"),
                ("csrf", csrf),
            ])
            .send()
            .await
            .expect("confirm");
        assert_eq!(resp.status(), StatusCode::FOUND);
        assert!(!cookie_works(s, &rp, &cookie3).await);

        // A hint ulo did not sign is refused with a page.
        let forged = format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256"}"#),
            URL_SAFE_NO_PAD.encode("{}")
        );
        let (status, location, _, body) = logout(
            s,
            None,
            &[
                ("id_token_hint", &forged),
                ("post_logout_redirect_uri", POST_LOGOUT_URI),
            ],
        )
        .await;
        assert_eq!((status, location), (StatusCode::BAD_REQUEST, None));
        assert!(body.contains("id_token_hint"));
        // Signed out already, no hint: a page.
        let (status, _, _, body) = logout(s, None, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("signed out"));
        let (_, headers, _) = send(anonymous(s, Method::GET, "/oauth2/v1/logout")).await;
        assert!(
            headers
                .get(CONTENT_TYPE)
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    })
    .await;
}

#[tokio::test]
async fn app_settings_have_defaults_and_bounds() {
    on_every_backend(async |s| {
        let rp = register(s, "Defaults", json!({})).await;
        let (status, app) = s.get(&format!("/api/v1/apps/{}", rp.app_id)).await;
        assert_eq!(status, StatusCode::OK);
        let o = &app["oidc"];
        assert_eq!(o["accessTokenLifetimeSeconds"], 300);
        assert_eq!(o["refreshTokenLifetimeSeconds"], 2_592_000);
        assert_eq!(o["grantTypes"], json!(["authorization_code", "refresh_token"]));
        assert_eq!(o["idTokenSignedResponseAlg"], "ES256");
        for bad in [
            json!({"accessTokenLifetimeSeconds": 10}),
            json!({"accessTokenLifetimeSeconds": 100000}),
            json!({"grantTypes": []}),
            json!({"grantTypes": ["password"]}),
            json!({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}, "tokenEndpointAuthMethod": "private_key_jwt"}),
        ] {
            let mut oidc = json!({"redirectUris": [REDIRECT_URI]});
            for (k, v) in bad.as_object().unwrap() {
                oidc[k] = v.clone();
            }
            let (status, body) = s
                .post("/api/v1/apps", json!({"label": "Bad", "type": "oidc", "oidc": oidc}))
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{oidc}: {body}");
        }
        // RS256 ID tokens on request.
        let user = create_user(s, "ada@example.com").await;
        let rs = register(s, "RSA", json!({"idTokenSignedResponseAlg": "RS256"})).await;
        assign(s, &rs, &id(&user)).await;
        let (cookie, _) = session_for(s, &id(&user)).await;
        let t = tokens(s, &rs, &cookie, "openid").await;
        let (h, _) = verified(s, t["id_token"].as_str().unwrap(), "JWT").await;
        assert_eq!(format!("{:?}", h.alg), "RS256");
    })
    .await;
}
