//! The logout request builders against the real receiver (`ulo-receiver`).

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;
use ulo_delivery::logout_request::{
    LogoutRequestError, OutboundRequest, SubjectId, backchannel_logout_request, gtr_request,
};
use ulo_jose::{KeyAlg, KeyRing, SigningKey, VerifyOptions, generate_key, typ, verify_with_jwks};
use ulo_receiver::{BackchannelLogout, Clock, HookOutcome, LogoutHook, ReceiverConfig, Subject};

const ISSUER: &str = "https://ulo.example.test";
const ENDPOINT: &str = "https://app.example.test/global-logout";
const BCL_ENDPOINT: &str = "https://app.example.test/backchannel-logout";
const CLIENT_ID: &str = "client-vault";
const NOW: i64 = 1_800_000_000;

#[derive(Clone, Default)]
struct Hook {
    seen: Arc<Mutex<Vec<Subject>>>,
    bcl: Arc<Mutex<Vec<BackchannelLogout>>>,
}

#[async_trait::async_trait]
impl LogoutHook for Hook {
    async fn logout(&self, subject: &Subject) -> HookOutcome {
        self.seen.lock().unwrap().push(subject.clone());
        HookOutcome::Done
    }

    async fn backchannel_logout(&self, logout: &BackchannelLogout) -> HookOutcome {
        self.bcl.lock().unwrap().push(logout.clone());
        HookOutcome::Done
    }
}

fn ring() -> KeyRing {
    let key = generate_key(KeyAlg::ES256).unwrap();
    let sk = SigningKey::from_pkcs8_der(key.kid.clone(), key.alg, &key.private_pkcs8_der).unwrap();
    KeyRing::new(vec![sk], vec![key.public_jwk.clone()]).unwrap()
}

fn app(ring: &KeyRing, hook: &Hook) -> axum::Router {
    let config = ReceiverConfig::new(ISSUER, ENDPOINT, CLIENT_ID, "http://127.0.0.1:9/keys")
        .with_static_jwks(ring.jwks())
        .with_clock(Clock::fixed(NOW))
        .with_backchannel_path("/backchannel-logout");
    ulo_receiver::router(config, hook.clone())
}

/// Sends `req` to the receiver at the path of its URL.
async fn send(app: &axum::Router, req: &OutboundRequest) -> StatusCode {
    let path = req.url.strip_prefix("https://app.example.test").unwrap();
    let mut builder = Request::post(path);
    for (name, value) in &req.headers {
        builder = builder.header(name, value);
    }
    let response = app
        .clone()
        .oneshot(builder.body(Body::from(req.body.clone())).unwrap())
        .await
        .unwrap();
    response.status()
}

fn header<'a>(req: &'a OutboundRequest, name: &str) -> &'a str {
    req.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .unwrap()
}

fn gtr_claims(ring: &KeyRing, req: &OutboundRequest) -> Value {
    let token = header(req, "authorization")
        .strip_prefix("Bearer ")
        .unwrap();
    let opts = VerifyOptions {
        expected_typ: Some(typ::GLOBAL_TOKEN_REVOCATION),
        issuer: Some(ISSUER),
        audience: Some(ENDPOINT),
        leeway_secs: 0,
        now_unix: Some(NOW),
    };
    let (hdr, claims) = verify_with_jwks(token, &ring.jwks(), &opts).unwrap();
    assert_eq!(hdr.typ.as_deref(), Some(typ::GLOBAL_TOKEN_REVOCATION));
    assert_eq!(hdr.kid.as_deref(), ring.active_kid(KeyAlg::ES256));
    claims
}

fn logout_token_claims(ring: &KeyRing, req: &OutboundRequest) -> Value {
    let body = String::from_utf8(req.body.clone()).unwrap();
    let token = body.strip_prefix("logout_token=").unwrap();
    let opts = VerifyOptions {
        expected_typ: Some(typ::LOGOUT),
        issuer: Some(ISSUER),
        audience: Some(CLIENT_ID),
        leeway_secs: 0,
        now_unix: Some(NOW),
    };
    let (hdr, claims) = verify_with_jwks(token, &ring.jwks(), &opts).unwrap();
    assert_eq!(hdr.typ.as_deref(), Some(typ::LOGOUT));
    assert_eq!(hdr.kid.as_deref(), ring.active_kid(KeyAlg::ES256));
    claims
}

#[test]
fn subject_ids_serialize_per_rfc_9493() {
    assert_eq!(
        serde_json::to_value(SubjectId::Email("ada@example.test".into())).unwrap(),
        json!({"format": "email", "email": "ada@example.test"})
    );
    assert_eq!(
        serde_json::to_value(SubjectId::IssSub {
            iss: ISSUER.into(),
            sub: "u-1".into()
        })
        .unwrap(),
        json!({"format": "iss_sub", "iss": ISSUER, "sub": "u-1"})
    );
}

#[tokio::test]
async fn gtr_requests_are_accepted_by_the_receiver() {
    let ring = ring();
    let hook = Hook::default();
    let app = app(&ring, &hook);

    let email = SubjectId::Email("ada@example.test".into());
    let req = gtr_request(&ring, ISSUER, CLIENT_ID, ENDPOINT, &email, NOW, "jti-1").unwrap();
    assert_eq!(req.url, ENDPOINT);
    assert_eq!(header(&req, "content-type"), "application/json");
    assert_eq!(
        serde_json::from_slice::<Value>(&req.body).unwrap(),
        json!({"sub_id": {"format": "email", "email": "ada@example.test"}})
    );
    assert_eq!(
        gtr_claims(&ring, &req),
        json!({
            "iss": ISSUER,
            "sub": CLIENT_ID,
            "aud": ENDPOINT,
            "jti": "jti-1",
            "iat": NOW,
            "nbf": NOW,
            "exp": NOW + 300,
        })
    );
    assert_eq!(send(&app, &req).await, StatusCode::NO_CONTENT);

    let iss_sub = SubjectId::IssSub {
        iss: ISSUER.into(),
        sub: "scim-42".into(),
    };
    let req = gtr_request(&ring, ISSUER, CLIENT_ID, ENDPOINT, &iss_sub, NOW, "jti-2").unwrap();
    let claims = gtr_claims(&ring, &req);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    assert_eq!(send(&app, &req).await, StatusCode::NO_CONTENT);

    assert_eq!(
        *hook.seen.lock().unwrap(),
        vec![
            Subject::Email {
                email: "ada@example.test".into()
            },
            Subject::IssSub {
                iss: ISSUER.into(),
                sub: "scim-42".into()
            },
        ]
    );
}

#[tokio::test]
async fn gtr_request_for_another_endpoint_is_refused() {
    let ring = ring();
    let hook = Hook::default();
    let app = app(&ring, &hook);
    let email = SubjectId::Email("ada@example.test".into());
    let mut req = gtr_request(
        &ring,
        ISSUER,
        CLIENT_ID,
        "https://other.example.test/global-logout",
        &email,
        NOW,
        "jti-other",
    )
    .unwrap();
    // Delivered to this app's endpoint, but the token's aud names the other one.
    req.url = ENDPOINT.into();
    assert_eq!(send(&app, &req).await, StatusCode::UNAUTHORIZED);
    assert!(hook.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn backchannel_logout_requests_are_accepted_by_the_receiver() {
    let ring = ring();
    let hook = Hook::default();
    let app = app(&ring, &hook);

    let req = backchannel_logout_request(
        &ring,
        ISSUER,
        CLIENT_ID,
        BCL_ENDPOINT,
        Some("user-1"),
        None,
        NOW,
        "bcl-1",
    )
    .unwrap();
    assert_eq!(req.url, BCL_ENDPOINT);
    assert_eq!(
        header(&req, "content-type"),
        "application/x-www-form-urlencoded"
    );
    assert_eq!(
        logout_token_claims(&ring, &req),
        json!({
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "iat": NOW,
            "exp": NOW + 120,
            "jti": "bcl-1",
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
            "sub": "user-1",
        })
    );
    assert_eq!(send(&app, &req).await, StatusCode::OK);

    let req = backchannel_logout_request(
        &ring,
        ISSUER,
        CLIENT_ID,
        BCL_ENDPOINT,
        None,
        Some("sid-9"),
        NOW,
        "bcl-2",
    )
    .unwrap();
    let claims = logout_token_claims(&ring, &req);
    assert_eq!(claims["sid"], "sid-9");
    assert!(claims.get("sub").is_none());
    assert!(claims.get("nonce").is_none());
    assert_eq!(send(&app, &req).await, StatusCode::OK);

    assert_eq!(
        *hook.bcl.lock().unwrap(),
        vec![
            BackchannelLogout {
                sub: Some("user-1".into()),
                sid: None
            },
            BackchannelLogout {
                sub: None,
                sid: Some("sid-9".into())
            },
        ]
    );
}

#[test]
fn backchannel_logout_needs_sub_or_sid() {
    let ring = ring();
    let err = backchannel_logout_request(
        &ring,
        ISSUER,
        CLIENT_ID,
        BCL_ENDPOINT,
        None,
        None,
        NOW,
        "bcl-3",
    )
    .unwrap_err();
    assert!(matches!(err, LogoutRequestError::NoSubOrSid));
}
