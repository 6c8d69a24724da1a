//! Interop: a standard OpenID Connect client library (the `openidconnect` crate, not our code)
//! signs a person in to an app through ulo's HTML login form, verifies the ID token against the
//! published JWKS, refreshes, introspects and revokes; then clearing the person's sessions
//! with `oauthTokens=true` ends the cookie, every earlier token and the refresh.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreRevocableToken,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    IntrospectionUrl, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl,
    RefreshToken, RevocationUrl, Scope, TokenIntrospectionResponse, TokenResponse,
};
use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::json;
use ulo_testkit::TestServer;

use crate::oauth2::{REDIRECT_URI, assign, introspect, no_redirects, param, register};
use crate::support::{id, on_every_backend};

const PASSWORD: &str = "correct horse battery staple";

/// Sends a request the library built over plain HTTP: the test server has no TLS, and the
/// library insists on an https revocation URL. Everything but the transport is the library's.
async fn plain_http(
    req: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, openidconnect::reqwest::Error> {
    let (parts, body) = req.into_parts();
    let url = parts.uri.to_string().replacen("https://", "http://", 1);
    let client = openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()?;
    let resp = client
        .request(parts.method, url)
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let mut out = openidconnect::http::Response::builder().status(resp.status());
    for (k, v) in resp.headers() {
        out = out.header(k, v);
    }
    let body = resp.bytes().await?.to_vec();
    Ok(out.body(body).expect("a response"))
}

/// The Location of a response, resolved against the server for relative ones.
fn location(s: &TestServer, resp: &reqwest::Response) -> String {
    let l = resp
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no Location in a {} answer", resp.status()))
        .to_string();
    if l.starts_with('/') {
        format!("{}{l}", s.url)
    } else {
        l
    }
}

/// A browser signing in through ulo's login page: follows `auth_url` to the login form, posts
/// the password, follows back to the authorization endpoint, and stops at the redirect to the
/// app. Answers the redirect URL (carrying the code) and the session cookie.
async fn browser_sign_in(s: &TestServer, auth_url: &str, login: &str) -> (String, String) {
    let browser = no_redirects();
    let resp = browser.get(auth_url).send().await.expect("authorize");
    assert_eq!(resp.status(), StatusCode::FOUND, "to sign-in");
    let to_login = location(s, &resp);
    assert!(
        to_login.starts_with(&format!("{}/login?", s.url)),
        "{to_login}"
    );
    let return_to = param(&to_login, "return_to").expect("return_to");

    // The login page shows a form that carries return_to.
    let page = browser.get(&to_login).send().await.expect("login page");
    assert_eq!(page.status(), StatusCode::OK);
    // The form's CSRF token is bound to the cookie the page sets.
    let csrf_cookie = page
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("ulo_csrf="))
        .and_then(|c| c.split(';').next())
        .expect("a CSRF cookie")
        .to_string();
    let html = page.text().await.expect("login page body");
    assert!(html.contains("name=\"return_to\""), "{html}");
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a CSRF token in the form") + marker.len();
    let csrf = &html[start..start + html[start..].find('"').expect("end of the token")];

    let resp = browser
        .post(format!("{}/login", s.url))
        .header("Cookie", &csrf_cookie)
        .form(&[
            ("username", login),
            ("password", PASSWORD),
            ("return_to", return_to.as_str()),
            ("csrf", csrf),
        ])
        .send()
        .await
        .expect("post the login form");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "signed in");
    let cookie = resp
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("ulo_session=") && !c.starts_with("ulo_session=;"))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string();
    let back = location(s, &resp);
    assert_eq!(back, format!("{}{return_to}", s.url));

    let resp = browser
        .get(&back)
        .header("Cookie", &cookie)
        .send()
        .await
        .expect("authorize, signed in");
    assert_eq!(resp.status(), StatusCode::FOUND);
    let to_app = location(s, &resp);
    assert!(to_app.starts_with(REDIRECT_URI), "{to_app}");
    (to_app, cookie)
}

#[tokio::test]
async fn a_standard_oidc_client_signs_in_refreshes_introspects_revokes_and_clearing_sessions_ends_it_all()
 {
    on_every_backend(async |s| {
        let login = "grace@example.com";
        let (status, user) = s
            .post(
                "/api/v1/users?activate=true",
                json!({"profile": {"login": login, "email": login, "firstName": "Grace", "lastName": "Hopper"},
                       "credentials": {"password": {"value": PASSWORD}}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{user}");
        let uid = id(&user);
        let rp = register(s, "Compiler", json!({})).await;
        assign(s, &rp, &uid).await;

        // The library's own HTTP client; it must not follow redirects (SSRF hygiene).
        let http = openidconnect::reqwest::ClientBuilder::new()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .build()
            .expect("library HTTP client");
        let metadata = CoreProviderMetadata::discover_async(
            IssuerUrl::new(s.url.clone()).expect("issuer"),
            &http,
        )
        .await
        .expect("discovery and JWKS");
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(rp.client_id.clone()),
            Some(ClientSecret::new(rp.secret.clone().expect("secret"))),
        )
        .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).expect("redirect URL"))
        .set_introspection_url(
            IntrospectionUrl::new(format!("{}/oauth2/v1/introspect", s.url)).expect("URL"),
        )
        // The library refuses a revocation URL that is not https (RFC 7009 §2); the test server
        // speaks plain HTTP on loopback, so the URL says https and `plain_http` carries it.
        .set_revocation_url(
            RevocationUrl::new(format!("{}/oauth2/v1/revoke", s.url.replacen("http://", "https://", 1)))
                .expect("URL"),
        );

        // Sign in: authorization code with PKCE and a nonce, through the HTML form.
        let sign_in = async || {
            let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
            let (auth_url, csrf, nonce) = client
                .authorize_url(
                    CoreAuthenticationFlow::AuthorizationCode,
                    CsrfToken::new_random,
                    Nonce::new_random,
                )
                .add_scope(Scope::new("profile".into()))
                .add_scope(Scope::new("email".into()))
                .add_scope(Scope::new("offline_access".into()))
                .set_pkce_challenge(challenge)
                .url();
            let (to_app, cookie) = browser_sign_in(s, auth_url.as_str(), login).await;
            assert_eq!(param(&to_app, "state").as_deref(), Some(csrf.secret().as_str()));
            let code = param(&to_app, "code").expect("code");
            let tokens = client
                .exchange_code(AuthorizationCode::new(code))
                .expect("token endpoint known")
                .set_pkce_verifier(verifier)
                .request_async(&http)
                .await
                .expect("code exchange");
            // The library verifies signature (JWKS), iss, aud, exp and nonce.
            let verifier = client
                .id_token_verifier()
                .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
            let id_token = tokens.id_token().expect("an ID token");
            let claims = id_token.claims(&verifier, &nonce).expect("ID token verifies");
            assert_eq!(claims.subject().as_str(), uid);
            assert_eq!(
                claims.email().map(|e| e.as_str()),
                Some(login),
                "email scope"
            );
            let expected = claims.access_token_hash().expect("at_hash");
            let actual = AccessTokenHash::from_token(
                tokens.access_token(),
                id_token.signing_alg().expect("alg"),
                id_token.signing_key(&verifier).expect("key"),
            )
            .expect("hash");
            assert_eq!(&actual, expected);
            (tokens, cookie)
        };

        let (first, _first_cookie) = sign_in().await;
        let info: openidconnect::core::CoreUserInfoClaims = client
            .user_info(first.access_token().clone(), None)
            .expect("userinfo endpoint known")
            .request_async(&http)
            .await
            .expect("userinfo");
        assert_eq!(info.subject().as_str(), uid);

        // Refresh with the library: a new access and refresh token.
        let r0 = first.refresh_token().expect("refresh token").clone();
        let refreshed = client
            .exchange_refresh_token(&r0)
            .expect("token endpoint known")
            .request_async(&http)
            .await
            .expect("refresh");
        let r1 = refreshed.refresh_token().expect("rotated").clone();
        assert_ne!(r1.secret(), r0.secret());

        // Introspect with the library.
        let i = client
            .introspect(refreshed.access_token())
            .set_token_type_hint("access_token")
            .request_async(&http)
            .await
            .expect("introspection");
        assert!(i.active());
        assert_eq!(i.username(), Some(login));

        // Revoke the refresh token with the library: its whole grant ends.
        client
            .revoke_token(CoreRevocableToken::RefreshToken(r1.clone()))
            .expect("revocation endpoint known")
            .request_async(&plain_http)
            .await
            .expect("revocation");
        let i = client
            .introspect(refreshed.access_token())
            .request_async(&http)
            .await
            .expect("introspection");
        assert!(!i.active(), "revoking the refresh token ends its access tokens");
        assert!(
            client
                .exchange_refresh_token(&r1)
                .expect("token endpoint known")
                .request_async(&http)
                .await
                .is_err(),
            "a revoked refresh token is refused"
        );

        // A second sign-in, then the admin clears the person's sessions and tokens.
        let (second, cookie) = sign_in().await;
        let r2 = second.refresh_token().expect("refresh token").clone();
        let refreshed2 = client
            .exchange_refresh_token(&r2)
            .expect("token endpoint known")
            .request_async(&http)
            .await
            .expect("refresh");
        let r3 = refreshed2.refresh_token().expect("rotated").clone();
        let live: Vec<&AccessToken> = vec![second.access_token(), refreshed2.access_token()];
        for t in &live {
            assert!(
                client
                    .introspect(t)
                    .request_async(&http)
                    .await
                    .expect("introspection")
                    .active()
            );
        }

        let (status, body) = s
            .delete(&format!("/api/v1/users/{uid}/sessions?oauthTokens=true"))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

        // The cookie no longer gets through the authorization endpoint.
        let (challenge, _) = PkceCodeChallenge::new_random_sha256();
        let (auth_url, _, _) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge)
            .url();
        let resp = no_redirects()
            .get(auth_url.as_str())
            .header("Cookie", &cookie)
            .send()
            .await
            .expect("authorize");
        assert_eq!(resp.status(), StatusCode::FOUND);
        assert!(
            location(s, &resp).starts_with(&format!("{}/login?", s.url)),
            "sent to sign in again"
        );
        // Every earlier token is inactive; refresh fails; userinfo refuses.
        for t in live
            .iter()
            .copied()
            .chain([first.access_token(), refreshed.access_token()])
        {
            let i = client
                .introspect(t)
                .request_async(&http)
                .await
                .expect("introspection");
            assert!(!i.active());
        }
        for r in [&r2, &r3, &r0, &r1] {
            assert_eq!(introspect(s, &rp, r.secret()).await["active"], false);
        }
        let refused: Result<RefreshToken, _> = client
            .exchange_refresh_token(&r3)
            .expect("token endpoint known")
            .request_async(&http)
            .await
            .map(|t| t.refresh_token().cloned().expect("rotated"));
        assert!(refused.is_err(), "refresh after clearing sessions fails");
        let gone: Result<openidconnect::core::CoreUserInfoClaims, _> = client
            .user_info(refreshed2.access_token().clone(), None)
            .expect("userinfo endpoint known")
            .request_async(&http)
            .await;
        assert!(gone.is_err(), "userinfo refuses a cleared token");
    })
    .await;
}
