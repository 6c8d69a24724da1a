//! CORS for browser-based OIDC clients and RFC 8414 metadata, over real HTTP on every backend:
//! a single-page app on the origin of a registered redirect URI completes code + PKCE from
//! the browser; any other origin, and the admin API, sign-in and authorize pages, get no
//! `Access-Control-Allow-Origin`.

use reqwest::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, HeaderMap, VARY,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ulo_testkit::TestServer;

use crate::oauth2::{assign, authorize, param, pkce_pair, register, session_for};
use crate::support::{anonymous, create_user, id, on_every_backend, request, send};

/// Where the single-page app lives, and the redirect URI it registers there.
const SPA_ORIGIN: &str = "https://spa.example.com";
const SPA_REDIRECT: &str = "https://spa.example.com/app/callback";
/// An origin no app registered.
const OTHER_ORIGIN: &str = "https://evil.example.net";

/// The endpoints a browser-based client calls itself, with the method it uses.
const CLIENT_ENDPOINTS: &[(&str, &str)] = &[
    ("POST", "/oauth2/v1/token"),
    ("GET", "/oauth2/v1/userinfo"),
    ("GET", "/oauth2/v1/keys"),
    ("GET", "/.well-known/openid-configuration"),
    ("GET", "/.well-known/oauth-authorization-server"),
    ("POST", "/oauth2/v1/introspect"),
    ("POST", "/oauth2/v1/revoke"),
];

/// A CORS preflight for `method path` from `origin`.
async fn preflight(
    s: &TestServer,
    origin: &str,
    method: &str,
    path: &str,
) -> (StatusCode, HeaderMap) {
    let (status, headers, _) = send(
        anonymous(s, Method::OPTIONS, path)
            .header("Origin", origin)
            .header("Access-Control-Request-Method", method)
            .header(
                "Access-Control-Request-Headers",
                "authorization,content-type",
            ),
    )
    .await;
    (status, headers)
}

fn header<'h>(headers: &'h HeaderMap, name: &reqwest::header::HeaderName) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Registers the single-page app (a public client) and assigns a new user to it.
async fn spa_with_user(s: &TestServer) -> (crate::oauth2::Rp, String) {
    let rp = register(
        s,
        "Single-page app",
        json!({"redirectUris": [SPA_REDIRECT], "tokenEndpointAuthMethod": "none"}),
    )
    .await;
    let user = create_user(s, "ada@example.com").await;
    assign(s, &rp, &id(&user)).await;
    (rp, id(&user))
}

#[tokio::test]
async fn a_registered_origin_passes_preflight_on_every_client_endpoint() {
    on_every_backend(async |s| {
        // Before any app names it, the origin is no one's.
        let (_, headers) = preflight(s, SPA_ORIGIN, "POST", "/oauth2/v1/token").await;
        assert_eq!(header(&headers, &ACCESS_CONTROL_ALLOW_ORIGIN), None);
        // An app registered a moment ago is allowed at once.
        spa_with_user(s).await;
        for (method, path) in CLIENT_ENDPOINTS {
            let (status, headers) = preflight(s, SPA_ORIGIN, method, path).await;
            assert!(status.is_success(), "preflight {path}: {status}");
            assert_eq!(
                header(&headers, &ACCESS_CONTROL_ALLOW_ORIGIN),
                Some(SPA_ORIGIN),
                "{path}: {headers:?}"
            );
            let methods = header(&headers, &ACCESS_CONTROL_ALLOW_METHODS).unwrap_or_default();
            assert!(methods.contains(method), "{path}: {methods}");
            let allowed = header(&headers, &ACCESS_CONTROL_ALLOW_HEADERS)
                .unwrap_or_default()
                .to_ascii_lowercase();
            for h in ["authorization", "content-type"] {
                assert!(allowed.contains(h), "{path}: {allowed}");
            }
            assert!(
                header(&headers, &ACCESS_CONTROL_MAX_AGE).is_some(),
                "{path}"
            );
            let vary = header(&headers, &VARY)
                .unwrap_or_default()
                .to_ascii_lowercase();
            assert!(vary.contains("origin"), "{path}: Vary {vary}");
            assert_eq!(
                headers.get("access-control-allow-credentials"),
                None,
                "{path}: no credentials mode"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn other_origins_and_browser_pages_get_no_allow_origin() {
    on_every_backend(async |s| {
        spa_with_user(s).await;
        for origin in [
            OTHER_ORIGIN,
            "null",
            // Same host, other scheme or port: another origin.
            "http://spa.example.com",
            "https://spa.example.com:8443",
            // Not a serialized origin.
            "https://spa.example.com/app",
        ] {
            for (method, path) in CLIENT_ENDPOINTS {
                let (_, headers) = preflight(s, origin, method, path).await;
                assert_eq!(
                    header(&headers, &ACCESS_CONTROL_ALLOW_ORIGIN),
                    None,
                    "preflight {path} from {origin}: {headers:?}"
                );
            }
            let (_, headers, _) =
                send(anonymous(s, Method::GET, "/oauth2/v1/keys").header("Origin", origin)).await;
            assert_eq!(
                header(&headers, &ACCESS_CONTROL_ALLOW_ORIGIN),
                None,
                "{origin}"
            );
        }
        // The admin API, sign-in, authorize and logout never answer CORS, whatever the origin.
        for (method, path) in [
            ("GET", "/api/v1/users"),
            ("POST", "/api/v1/apps"),
            ("GET", "/login"),
            ("POST", "/login"),
            ("GET", "/oauth2/v1/authorize"),
            ("GET", "/oauth2/v1/logout"),
            ("POST", "/oauth2/v1/global-token-revocation"),
            ("GET", "/health"),
        ] {
            let (_, headers) = preflight(s, SPA_ORIGIN, method, path).await;
            assert_eq!(
                header(&headers, &ACCESS_CONTROL_ALLOW_ORIGIN),
                None,
                "preflight {path}: {headers:?}"
            );
        }
        let (status, headers, _) =
            send(request(s, Method::GET, "/api/v1/users").header("Origin", SPA_ORIGIN)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(header(&headers, &ACCESS_CONTROL_ALLOW_ORIGIN), None);
    })
    .await;
}

#[tokio::test]
async fn a_browser_client_completes_code_and_pkce_across_origins() {
    on_every_backend(async |s| {
        let (rp, uid) = spa_with_user(s).await;
        let (cookie, _) = session_for(s, &uid).await;
        let (verifier, challenge) = pkce_pair();
        let (status, location, body) = authorize(
            s,
            Some(&cookie),
            &[
                ("client_id", rp.client_id.as_str()),
                ("redirect_uri", SPA_REDIRECT),
                ("response_type", "code"),
                ("scope", "openid email"),
                ("state", "spa-state"),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::FOUND, "{body}");
        let location = location.expect("Location");
        assert!(location.starts_with(SPA_REDIRECT), "{location}");
        let code = param(&location, "code").expect("code");

        // What the app's JavaScript sends: the form, its origin, no secret.
        let (status, headers, tokens) = send(
            anonymous(s, Method::POST, "/oauth2/v1/token")
                .header("Origin", SPA_ORIGIN)
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", SPA_REDIRECT),
                    ("client_id", rp.client_id.as_str()),
                    ("code_verifier", verifier.as_str()),
                ]),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        assert_eq!(
            header(&headers, &ACCESS_CONTROL_ALLOW_ORIGIN),
            Some(SPA_ORIGIN)
        );
        let access = tokens["access_token"].as_str().expect("access_token");

        let (status, headers, claims) = send(
            anonymous(s, Method::GET, "/oauth2/v1/userinfo")
                .header("Origin", SPA_ORIGIN)
                .bearer_auth(access),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{claims}");
        assert_eq!(claims["email"], "ada@example.com");
        assert_eq!(
            header(&headers, &ACCESS_CONTROL_ALLOW_ORIGIN),
            Some(SPA_ORIGIN)
        );

        // An error answer carries the header too, so the app can read why.
        let (status, headers, _) = send(
            anonymous(s, Method::GET, "/oauth2/v1/userinfo")
                .header("Origin", SPA_ORIGIN)
                .bearer_auth("not-a-token"),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            header(&headers, &ACCESS_CONTROL_ALLOW_ORIGIN),
            Some(SPA_ORIGIN)
        );
        let exposed = header(&headers, &reqwest::header::ACCESS_CONTROL_EXPOSE_HEADERS)
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(exposed.contains("www-authenticate"), "{exposed}");

        // Once the app is deactivated its origin is no longer allowed.
        let (status, body) = s
            .post(
                &format!("/api/v1/apps/{}/lifecycle/deactivate", rp.app_id),
                json!({}),
            )
            .await;
        assert!(status.is_success(), "deactivate: {status} {body}");
        let (_, headers) = preflight(s, SPA_ORIGIN, "POST", "/oauth2/v1/token").await;
        assert_eq!(header(&headers, &ACCESS_CONTROL_ALLOW_ORIGIN), None);
    })
    .await;
}

#[tokio::test]
async fn rfc_8414_metadata_names_the_same_issuer_and_endpoints_as_discovery() {
    on_every_backend(async |s| {
        let (status, oauth) = s.get("/.well-known/oauth-authorization-server").await;
        assert_eq!(status, StatusCode::OK, "{oauth}");
        let (status, openid) = s.get("/.well-known/openid-configuration").await;
        assert_eq!(status, StatusCode::OK);
        let iss = s.url.as_str();
        assert_eq!(oauth["issuer"], iss);
        for (k, path) in [
            ("authorization_endpoint", "/oauth2/v1/authorize"),
            ("token_endpoint", "/oauth2/v1/token"),
            ("jwks_uri", "/oauth2/v1/keys"),
            ("revocation_endpoint", "/oauth2/v1/revoke"),
            ("introspection_endpoint", "/oauth2/v1/introspect"),
        ] {
            assert_eq!(oauth[k], format!("{iss}{path}"), "{k}");
        }
        for k in [
            "response_types_supported",
            "grant_types_supported",
            "code_challenge_methods_supported",
            "token_endpoint_auth_methods_supported",
            "scopes_supported",
        ] {
            assert!(
                oauth[k].as_array().is_some_and(|a| !a.is_empty()),
                "{k}: {oauth}"
            );
        }
        // Whatever the OAuth document says, discovery says the same.
        for (k, v) in oauth.as_object().expect("object") {
            assert_eq!(&openid[k], v, "{k} differs between the two documents");
        }
        assert_eq!(
            openid["userinfo_endpoint"],
            format!("{iss}/oauth2/v1/userinfo")
        );
        assert_eq!(oauth["userinfo_endpoint"], Value::Null);
    })
    .await;
}
