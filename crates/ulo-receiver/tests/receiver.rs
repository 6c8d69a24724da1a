//! End-to-end tests of the Universal Logout receiver with real signed tokens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests and harnesses: a panic is a failure report

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64_free::b64url;
use serde_json::{Value, json};
use tower::ServiceExt;
use ulo_jose::{GeneratedKey, KeyAlg, KeyRing, SigningKey, generate_key, typ};
use ulo_receiver::{
    BACKCHANNEL_LOGOUT_EVENT, BackchannelLogout, Clock, HookOutcome, LogoutHook, LogoutRequest,
    MemoryReplayStore, Receiver, ReceiverConfig, ReplayStore, ReplayStoreError, Subject,
    parse_subject, receiver_router, router,
};

const ISSUER: &str = "https://ulo.example.test";
const AUDIENCE: &str = "https://app.example.test/global-logout";
const CLIENT_ID: &str = "client-vault";
const NOW: i64 = 1_800_000_000;

/// Minimal base64url (no padding) so the tests need no extra dependency.
mod base64_free {
    pub fn b64url(data: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in data.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..=chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}

/// Records every subject the app was asked to log out, answering `outcome`.
#[derive(Clone)]
struct Hook {
    seen: Arc<Mutex<Vec<Subject>>>,
    outcome: HookOutcome,
}

#[async_trait::async_trait]
impl LogoutHook for Hook {
    async fn logout(&self, subject: &Subject) -> HookOutcome {
        self.seen.lock().unwrap().push(subject.clone());
        self.outcome.clone()
    }
}

struct Fixture {
    ring: KeyRing,
    key: GeneratedKey,
    app: axum::Router,
    seen: Arc<Mutex<Vec<Subject>>>,
}

fn ring_of(key: &GeneratedKey) -> KeyRing {
    let sk = SigningKey::from_pkcs8_der(key.kid.clone(), key.alg, &key.private_pkcs8_der).unwrap();
    KeyRing::new(vec![sk], vec![key.public_jwk.clone()]).unwrap()
}

fn fixture_with(outcome: HookOutcome) -> Fixture {
    let key = generate_key(KeyAlg::ES256).unwrap();
    let ring = ring_of(&key);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let config = ReceiverConfig::new(ISSUER, AUDIENCE, CLIENT_ID, "http://127.0.0.1:9/keys")
        .with_static_jwks(ring.jwks())
        .with_clock(Clock::fixed(NOW));
    let app = router(
        config,
        Hook {
            seen: seen.clone(),
            outcome,
        },
    );
    Fixture {
        ring,
        key,
        app,
        seen,
    }
}

fn fixture() -> Fixture {
    fixture_with(HookOutcome::Done)
}

/// A receiver for `key` on `clock` that remembers jtis in `replay` (one process of an app;
/// two fixtures sharing `replay` are two processes sharing a database).
fn fixture_on(key: GeneratedKey, clock: Clock, replay: Arc<dyn ReplayStore>) -> Fixture {
    let ring = ring_of(&key);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let config = ReceiverConfig::new(ISSUER, AUDIENCE, CLIENT_ID, "http://127.0.0.1:9/keys")
        .with_static_jwks(ring.jwks())
        .with_clock(clock);
    let hook = Hook {
        seen: seen.clone(),
        outcome: HookOutcome::Done,
    };
    let app = receiver_router(Receiver::with_replay_store(config, Arc::new(hook), replay));
    Fixture {
        ring,
        key,
        app,
        seen,
    }
}

/// The same key pair again (a second process of the same issuer).
fn same_key(key: &GeneratedKey) -> GeneratedKey {
    GeneratedKey {
        kid: key.kid.clone(),
        alg: key.alg,
        private_pkcs8_der: key.private_pkcs8_der.clone(),
        public_jwk: key.public_jwk.clone(),
    }
}

fn claims(jti: &str) -> Value {
    json!({
        "iss": ISSUER,
        "sub": CLIENT_ID,
        "aud": AUDIENCE,
        "jti": jti,
        "iat": NOW - 10,
        "nbf": NOW - 10,
        "exp": NOW + 240,
    })
}

fn email_body() -> Value {
    json!({"sub_id": {"format": "email", "email": "ada@example.test"}})
}

impl Fixture {
    fn token(&self, claims: &Value) -> String {
        self.ring
            .sign(KeyAlg::ES256, typ::GLOBAL_TOKEN_REVOCATION, claims)
            .unwrap()
    }

    async fn send_raw(
        &self,
        token: Option<&str>,
        content_type: &str,
        body: String,
    ) -> (StatusCode, Value) {
        let mut req = Request::post("/global-logout").header(header::CONTENT_TYPE, content_type);
        if let Some(token) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let response = self
            .app
            .clone()
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, json)
    }

    async fn send(&self, token: &str, body: &Value) -> (StatusCode, Value) {
        self.send_raw(Some(token), "application/json", body.to_string())
            .await
    }

    fn seen(&self) -> Vec<Subject> {
        self.seen.lock().unwrap().clone()
    }
}

/// Builds a compact JWT with an arbitrary header and signature.
fn raw_jwt(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes()),
        b64url(signature)
    )
}

async fn assert_unauthorized(f: &Fixture, token: &str, reason: &str) {
    let (status, body) = f.send(token, &email_body()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_token");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains(reason),
        "{description:?} lacks {reason:?}"
    );
    assert!(f.seen().is_empty(), "hook must not run");
}

#[tokio::test]
async fn valid_requests_are_done() {
    let f = fixture();
    let (status, body) = f.send(&f.token(&claims("j1")), &email_body()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let iss_sub = json!({"sub_id": {"format": "iss_sub", "iss": ISSUER, "sub": "scim-42"}});
    let (status, _) = f.send(&f.token(&claims("j2")), &iss_sub).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let legacy = json!({"subject": {"format": "email", "email": "bob@example.test"}});
    let (status, _) = f.send(&f.token(&claims("j3")), &legacy).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // Content-Type parameters are allowed.
    let (status, _) = f
        .send_raw(
            Some(&f.token(&claims("j4"))),
            "application/json; charset=utf-8",
            email_body().to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    assert_eq!(
        f.seen(),
        vec![
            Subject::Email {
                email: "ada@example.test".into()
            },
            Subject::IssSub {
                iss: ISSUER.into(),
                sub: "scim-42".into()
            },
            Subject::Email {
                email: "bob@example.test".into()
            },
            Subject::Email {
                email: "ada@example.test".into()
            },
        ]
    );
}

#[tokio::test]
async fn missing_or_malformed_authorization_is_401() {
    let f = fixture();
    let (status, body) = f
        .send_raw(None, "application/json", email_body().to_string())
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_unauthorized(&f, "not-a-jwt", "expected 3").await;
}

#[tokio::test]
async fn signature_from_another_key_is_401() {
    let f = fixture();
    let other = generate_key(KeyAlg::ES256).unwrap();
    // Same kid as the trusted key, signed by a different private key.
    let forged =
        SigningKey::from_pkcs8_der(f.key.kid.clone(), other.alg, &other.private_pkcs8_der).unwrap();
    let mut forged_jwk = other.public_jwk.clone();
    forged_jwk["kid"] = json!(f.key.kid);
    let forged_ring = KeyRing::new(vec![forged], vec![forged_jwk]).unwrap();
    let token = forged_ring
        .sign(KeyAlg::ES256, typ::GLOBAL_TOKEN_REVOCATION, &claims("j"))
        .unwrap();
    assert_unauthorized(&f, &token, "signature").await;
}

#[tokio::test]
async fn unknown_kid_is_401() {
    let f = fixture();
    let other = generate_key(KeyAlg::ES256).unwrap();
    let token = ring_of(&other)
        .sign(KeyAlg::ES256, typ::GLOBAL_TOKEN_REVOCATION, &claims("j"))
        .unwrap();
    assert_unauthorized(&f, &token, "unknown key id").await;
}

#[tokio::test]
async fn alg_none_is_401() {
    let f = fixture();
    let header = json!({"alg": "none", "kid": f.key.kid, "typ": typ::GLOBAL_TOKEN_REVOCATION});
    assert_unauthorized(
        &f,
        &raw_jwt(&header, &claims("j"), b""),
        "forbidden algorithm",
    )
    .await;
    let token = format!(
        "{}.{}.",
        b64url(header.to_string().as_bytes()),
        b64url(claims("j").to_string().as_bytes())
    );
    assert_unauthorized(&f, &token, "forbidden algorithm").await;
}

#[tokio::test]
async fn hs256_with_public_key_is_401() {
    let f = fixture();
    let secrets = [
        f.key.public_jwk.to_string().into_bytes(),
        f.key.public_jwk["x"].as_str().unwrap().as_bytes().to_vec(),
    ];
    for secret in secrets {
        let mut header =
            ulo_jose::jsonwebtoken::Header::new(ulo_jose::jsonwebtoken::Algorithm::HS256);
        header.kid = Some(f.key.kid.clone());
        header.typ = Some(typ::GLOBAL_TOKEN_REVOCATION.into());
        let token = ulo_jose::jsonwebtoken::encode(
            &header,
            &claims("j"),
            &ulo_jose::jsonwebtoken::EncodingKey::from_secret(&secret),
        )
        .unwrap();
        assert_unauthorized(&f, &token, "forbidden algorithm").await;
    }
}

#[tokio::test]
async fn wrong_typ_is_401() {
    let f = fixture();
    for t in [typ::LOGOUT, typ::JWT, ""] {
        let token = f.ring.sign(KeyAlg::ES256, t, &claims("j")).unwrap();
        assert_unauthorized(&f, &token, "unexpected token type").await;
    }
}

#[tokio::test]
async fn wrong_claims_are_401() {
    let f = fixture();
    let cases: Vec<(&str, Value, &str)> = vec![
        ("aud", json!("https://app.example.test/other"), "audience"),
        (
            "aud",
            json!("https://app.example.test/global-logout/"),
            "audience",
        ),
        (
            "iss",
            json!("https://evil.example.test"),
            "unexpected issuer",
        ),
        // Beyond the default 60 s leeway.
        ("exp", json!(NOW - 120), "expired"),
        ("nbf", json!(NOW + 120), "not valid before"),
        ("iat", json!(NOW + 120), "issued in the future"),
        ("exp", json!(NOW - 10 + 301), "exceeds 5 minutes"),
        ("jti", json!(""), "no jti"),
    ];
    for (name, value, reason) in cases {
        let mut c = claims("j");
        c[name] = value.clone();
        let (status, body) = f.send(&f.token(&c), &email_body()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}={value}: {body}");
        let description = body["error_description"].as_str().unwrap();
        assert!(description.contains(reason), "{name}: {description:?}");
    }
    // Within the leeway, slightly expired / early tokens are accepted.
    let mut c = claims("lenient");
    c["exp"] = json!(NOW - 30);
    c["iat"] = json!(NOW - 200);
    c["nbf"] = json!(NOW + 30);
    let (status, body) = f.send(&f.token(&c), &email_body()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    f.seen.lock().unwrap().clear();
    for name in ["jti", "exp", "iat", "iss", "aud"] {
        let mut c = claims("j");
        c.as_object_mut().unwrap().remove(name);
        let (status, body) = f.send(&f.token(&c), &email_body()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "without {name}: {body}");
    }
    assert!(f.seen().is_empty());
}

#[tokio::test]
async fn replayed_jti_is_401() {
    let f = fixture();
    let token = f.token(&claims("once"));
    let (status, _) = f.send(&token, &email_body()).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = f.send(&token, &email_body()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_token");
    // A fresh token with the same jti is a replay too.
    let (status, _) = f.send(&f.token(&claims("once")), &email_body()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(f.seen().len(), 1);
}

#[tokio::test]
async fn a_replay_within_the_leeway_after_exp_is_still_401() {
    let now = Arc::new(std::sync::atomic::AtomicI64::new(NOW));
    let clock = {
        let now = now.clone();
        Clock::from_fn(move || now.load(std::sync::atomic::Ordering::SeqCst))
    };
    let key = generate_key(KeyAlg::ES256).unwrap();
    let f = fixture_on(key, clock, Arc::new(MemoryReplayStore::new(10)));
    let token = f.token(&claims("late"));
    let (status, body) = f.send(&token, &email_body()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // 30 s past exp the 60 s leeway still accepts the token, so its jti must still be known.
    now.store(NOW + 240 + 30, std::sync::atomic::Ordering::SeqCst);
    let (status, body) = f.send(&token, &email_body()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{body}"
    );
    // Past the leeway the token itself is refused as expired.
    now.store(NOW + 240 + 61, std::sync::atomic::Ordering::SeqCst);
    let (status, body) = f.send(&token, &email_body()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(f.seen().len(), 1);
}

#[tokio::test]
async fn receivers_sharing_a_replay_store_accept_a_token_once() {
    let key = generate_key(KeyAlg::ES256).unwrap();
    let shared: Arc<dyn ReplayStore> = Arc::new(MemoryReplayStore::new(10));
    let first = fixture_on(same_key(&key), Clock::fixed(NOW), shared.clone());
    let second = fixture_on(key, Clock::fixed(NOW), shared);
    let token = first.token(&claims("shared-1"));
    let (status, body) = first.send(&token, &email_body()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = second.send(&token, &email_body()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_token");
    assert!(
        second.seen().is_empty(),
        "the replay must not reach the hook"
    );

    // Without sharing, a fresh receiver (a restarted process) would accept it again.
    let alone = fixture_on(
        same_key(&first.key),
        Clock::fixed(NOW),
        Arc::new(MemoryReplayStore::new(10)),
    );
    let (status, _) = alone.send(&token, &email_body()).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

/// A replay store whose database is down.
struct DownStore;

#[async_trait::async_trait]
impl ReplayStore for DownStore {
    async fn remember(&self, _: &str, _: i64, _: i64) -> Result<bool, ReplayStoreError> {
        Err(ReplayStoreError("the jti table cannot be reached".into()))
    }
}

#[tokio::test]
async fn a_failing_replay_store_is_503_and_the_hook_does_not_run() {
    let key = generate_key(KeyAlg::ES256).unwrap();
    let f = fixture_on(key, Clock::fixed(NOW), Arc::new(DownStore));
    let (status, body) = f.send(&f.token(&claims("down-1")), &email_body()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(body["error_description"], "the jti table cannot be reached");
    assert!(f.seen().is_empty());
}

#[tokio::test]
async fn the_memory_replay_store_forgets_expired_jtis_and_refuses_when_full() {
    let store = MemoryReplayStore::new(1);
    assert!(store.remember("a", 100, 0).await.unwrap());
    assert!(!store.remember("a", 100, 99).await.unwrap());
    let full = store.remember("b", 200, 99).await.unwrap_err();
    assert_eq!(full.to_string(), "replay cache is full");
    // Once "a" expired it makes room, and "a" itself may be seen anew.
    assert!(store.remember("b", 200, 100).await.unwrap());
    assert!(store.remember("a", 300, 200).await.unwrap());
}

#[tokio::test]
async fn malformed_bodies_are_400() {
    let f = fixture();
    let bodies = [
        "not json".to_string(),
        "{}".to_string(),
        json!({"sub_id": "ada@example.test"}).to_string(),
        json!({"sub_id": {"email": "ada@example.test"}}).to_string(),
        json!({"sub_id": {"format": "email"}}).to_string(),
        json!({"sub_id": {"format": "iss_sub", "iss": ISSUER}}).to_string(),
    ];
    for (i, body) in bodies.into_iter().enumerate() {
        let token = f.token(&claims(&format!("m{i}")));
        let (status, answer) = f
            .send_raw(Some(&token), "application/json", body.clone())
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["error"], "invalid_request");
    }
    let token = f.token(&claims("ct"));
    let (status, _) = f
        .send_raw(Some(&token), "text/plain", email_body().to_string())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(f.seen().is_empty());
}

#[tokio::test]
async fn unsupported_subject_format_is_400() {
    let f = fixture();
    for sub_id in [
        json!({"format": "opaque", "id": "x"}),
        json!({"format": "phone_number", "phone_number": "+15550100"}),
        json!({"format": "account", "uri": "acct:ada@example.test"}),
    ] {
        let token = f.token(&claims(sub_id["format"].as_str().unwrap()));
        let (status, body) = f.send(&token, &json!({ "sub_id": sub_id })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("unsupported subject format")
        );
    }
    assert!(parse_subject(&json!({"format": "opaque", "id": "x"})).is_err());
}

#[tokio::test]
async fn other_client_id_is_403() {
    let f = fixture();
    let mut c = claims("j");
    c["sub"] = json!("someone-else");
    let (status, body) = f.send(&f.token(&c), &email_body()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "access_denied");
    assert!(f.seen().is_empty());
}

#[tokio::test]
async fn unknown_user_is_404() {
    let f = fixture_with(HookOutcome::UnknownUser);
    let (status, body) = f.send(&f.token(&claims("j")), &email_body()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"], "unknown_user");
    assert_eq!(f.seen().len(), 1);
}

#[tokio::test]
async fn failed_logout_is_422() {
    let f = fixture_with(HookOutcome::Failed("vault is read-only".into()));
    let (status, body) = f.send(&f.token(&claims("j")), &email_body()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"], "logout_failed");
    assert_eq!(body["error_description"], "vault is read-only");
}

#[tokio::test]
async fn jwks_is_fetched_and_refetched_on_rotation() {
    let first = generate_key(KeyAlg::ES256).unwrap();
    let second = generate_key(KeyAlg::ES256).unwrap();
    let published = Arc::new(Mutex::new(ring_of(&first).jwks()));
    let served = published.clone();
    let keys = axum::Router::new().route(
        "/keys",
        axum::routing::get(move || {
            let served = served.clone();
            async move { axum::Json(served.lock().unwrap().clone()) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, keys).await.unwrap() });

    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut config =
        ReceiverConfig::new(ISSUER, AUDIENCE, CLIENT_ID, format!("http://{addr}/keys"))
            .with_clock(Clock::fixed(NOW));
    config.jwks_refetch_interval = std::time::Duration::ZERO;
    let app = router(
        config,
        Hook {
            seen: seen.clone(),
            outcome: HookOutcome::Done,
        },
    );
    let f = Fixture {
        ring: ring_of(&first),
        key: first,
        app,
        seen,
    };
    let (status, body) = f.send(&f.token(&claims("a")), &email_body()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // ulo rotates to a new key: the unknown kid triggers one refetch.
    *published.lock().unwrap() = ring_of(&second).jwks();
    let token = ring_of(&second)
        .sign(KeyAlg::ES256, typ::GLOBAL_TOKEN_REVOCATION, &claims("b"))
        .unwrap();
    let (status, body) = f.send(&token, &email_body()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    server.abort();
}

#[tokio::test]
async fn unreachable_jwks_is_503() {
    let key = generate_key(KeyAlg::ES256).unwrap();
    let ring = ring_of(&key);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let config = ReceiverConfig::new(ISSUER, AUDIENCE, CLIENT_ID, format!("http://{addr}/keys"))
        .with_clock(Clock::fixed(NOW));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = router(
        config,
        Hook {
            seen: seen.clone(),
            outcome: HookOutcome::Done,
        },
    );
    let f = Fixture {
        ring,
        key,
        app,
        seen,
    };
    let (status, body) = f.send(&f.token(&claims("a")), &email_body()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(f.seen().is_empty());
}

// ---- OIDC Back-Channel Logout ----

const BCL_PATH: &str = "/backchannel-logout";

/// Records every back-channel logout the app was asked to perform.
#[derive(Clone, Default)]
struct BclHook {
    seen: Arc<Mutex<Vec<BackchannelLogout>>>,
}

#[async_trait::async_trait]
impl LogoutHook for BclHook {
    async fn logout(&self, _subject: &Subject) -> HookOutcome {
        HookOutcome::Done
    }

    async fn backchannel_logout(&self, logout: &BackchannelLogout) -> HookOutcome {
        self.seen.lock().unwrap().push(logout.clone());
        HookOutcome::Done
    }
}

struct BclFixture {
    ring: KeyRing,
    app: axum::Router,
    hook: BclHook,
}

fn bcl_fixture() -> BclFixture {
    let key = generate_key(KeyAlg::ES256).unwrap();
    let ring = ring_of(&key);
    let hook = BclHook::default();
    let config = ReceiverConfig::new(ISSUER, AUDIENCE, CLIENT_ID, "http://127.0.0.1:9/keys")
        .with_static_jwks(ring.jwks())
        .with_clock(Clock::fixed(NOW))
        .with_backchannel_path(BCL_PATH);
    let app = router(config, hook.clone());
    BclFixture { ring, app, hook }
}

fn logout_claims(jti: &str) -> Value {
    json!({
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "iat": NOW - 10,
        "exp": NOW + 110,
        "jti": jti,
        "sub": "user-ada",
        "sid": "sess-1",
        "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
    })
}

/// Percent-encodes everything but unreserved characters.
fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl BclFixture {
    fn token(&self, claims: &Value) -> String {
        self.ring.sign(KeyAlg::ES256, typ::LOGOUT, claims).unwrap()
    }

    async fn send_raw(&self, content_type: &str, body: String) -> (StatusCode, Value) {
        let req = Request::post(BCL_PATH)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        let response = self.app.clone().oneshot(req).await.unwrap();
        let status = response.status();
        assert_eq!(
            response.headers().get(header::CACHE_CONTROL).unwrap(),
            "no-store"
        );
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, json)
    }

    async fn send(&self, token: &str) -> (StatusCode, Value) {
        self.send_raw(
            "application/x-www-form-urlencoded",
            format!("logout_token={}", form_encode(token)),
        )
        .await
    }

    fn seen(&self) -> Vec<BackchannelLogout> {
        self.hook.seen.lock().unwrap().clone()
    }
}

async fn assert_bcl_rejected(f: &BclFixture, token: &str, reason: &str) {
    let (status, body) = f.send(token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reason}: {body}");
    assert_eq!(body["error"], "invalid_request");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains(reason),
        "{description:?} lacks {reason:?}"
    );
}

#[tokio::test]
async fn backchannel_logout_with_sub_sid_or_both_is_200() {
    let f = bcl_fixture();
    let mut only_sub = logout_claims("b1");
    only_sub.as_object_mut().unwrap().remove("sid");
    let mut only_sid = logout_claims("b2");
    only_sid.as_object_mut().unwrap().remove("sub");
    // aud may be an array containing the client id.
    let mut both = logout_claims("b3");
    both["aud"] = json!(["another-client", CLIENT_ID]);
    for claims in [&only_sub, &only_sid, &both] {
        let (status, body) = f.send(&f.token(claims)).await;
        assert_eq!(status, StatusCode::OK, "{claims}: {body}");
    }
    // Content-Type parameters are allowed.
    let (status, _) = f
        .send_raw(
            "application/x-www-form-urlencoded; charset=utf-8",
            format!("logout_token={}", f.token(&logout_claims("b4"))),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        f.seen(),
        vec![
            BackchannelLogout {
                sub: some("user-ada"),
                sid: None
            },
            BackchannelLogout {
                sub: None,
                sid: some("sess-1")
            },
            BackchannelLogout {
                sub: some("user-ada"),
                sid: some("sess-1")
            },
            BackchannelLogout {
                sub: some("user-ada"),
                sid: some("sess-1")
            },
        ]
    );
}

#[tokio::test]
async fn backchannel_wrong_typ_is_400() {
    let f = bcl_fixture();
    for t in [typ::GLOBAL_TOKEN_REVOCATION, typ::JWT, typ::SECEVENT, ""] {
        let token = f.ring.sign(KeyAlg::ES256, t, &logout_claims("t")).unwrap();
        assert_bcl_rejected(&f, &token, "unexpected token type").await;
    }
    assert!(f.seen().is_empty());
}

#[tokio::test]
async fn backchannel_invalid_claims_are_400() {
    let f = bcl_fixture();
    let cases: Vec<(&str, Option<Value>, &str)> = vec![
        ("aud", Some(json!("someone-else")), "audience"),
        ("aud", Some(json!(AUDIENCE)), "audience"),
        ("iss", Some(json!("https://evil.example.test")), "issuer"),
        ("exp", Some(json!(NOW - 120)), "expired"),
        ("exp", None, "no integer exp"),
        ("iat", None, "no integer iat"),
        ("jti", None, "no jti"),
        ("events", None, "no events"),
        (
            "events",
            Some(json!([BACKCHANNEL_LOGOUT_EVENT])),
            "not an object",
        ),
        (
            "events",
            Some(json!({"http://schemas.openid.net/event/other": {}})),
            "lack the back-channel logout event",
        ),
        (
            "events",
            Some(json!({ BACKCHANNEL_LOGOUT_EVENT: "yes" })),
            "event is not an object",
        ),
        ("nonce", Some(json!("n-0S6_WzA2Mj")), "nonce"),
    ];
    for (i, (name, value, reason)) in cases.into_iter().enumerate() {
        let mut c = logout_claims(&format!("c{i}"));
        match value {
            Some(v) => c[name] = v,
            None => {
                c.as_object_mut().unwrap().remove(name);
            }
        }
        assert_bcl_rejected(&f, &f.token(&c), reason).await;
    }
    let mut c = logout_claims("neither");
    c.as_object_mut().unwrap().remove("sub");
    c.as_object_mut().unwrap().remove("sid");
    assert_bcl_rejected(&f, &f.token(&c), "neither sub nor sid").await;
    assert!(f.seen().is_empty());
}

#[tokio::test]
async fn backchannel_replayed_jti_is_400() {
    let f = bcl_fixture();
    let token = f.token(&logout_claims("once"));
    let (status, _) = f.send(&token).await;
    assert_eq!(status, StatusCode::OK);
    assert_bcl_rejected(&f, &token, "already used").await;
    assert_bcl_rejected(&f, &f.token(&logout_claims("once")), "already used").await;
    assert_eq!(f.seen().len(), 1);
}

#[tokio::test]
async fn backchannel_malformed_requests_are_400() {
    let f = bcl_fixture();
    let token = f.token(&logout_claims("m"));
    let cases = [
        (
            "application/json",
            json!({"logout_token": token}).to_string(),
        ),
        ("text/plain", format!("logout_token={token}")),
        ("application/x-www-form-urlencoded", String::new()),
        (
            "application/x-www-form-urlencoded",
            format!("token={token}"),
        ),
        ("application/x-www-form-urlencoded", "logout_token=".into()),
        (
            "application/x-www-form-urlencoded",
            format!("logout_token={token}&logout_token={token}"),
        ),
        (
            "application/x-www-form-urlencoded",
            "logout_token=not-a-jwt".into(),
        ),
    ];
    for (content_type, body) in cases {
        let (status, answer) = f.send_raw(content_type, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{content_type} {body}: {answer}"
        );
        assert_eq!(answer["error"], "invalid_request");
    }
    assert!(f.seen().is_empty());
    // The token was never accepted, so it still works.
    let (status, _) = f.send(&token).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn backchannel_hook_failure_is_400_and_default_hook_refuses() {
    // `Hook` keeps the default `backchannel_logout`, which refuses.
    let key = generate_key(KeyAlg::ES256).unwrap();
    let ring = ring_of(&key);
    let config = ReceiverConfig::new(ISSUER, AUDIENCE, CLIENT_ID, "http://127.0.0.1:9/keys")
        .with_static_jwks(ring.jwks())
        .with_clock(Clock::fixed(NOW))
        .with_backchannel_path(BCL_PATH);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = router(
        config,
        Hook {
            seen: seen.clone(),
            outcome: HookOutcome::Done,
        },
    );
    let f = BclFixture {
        ring,
        app,
        hook: BclHook::default(),
    };
    let (status, body) = f.send(&f.token(&logout_claims("d"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("does not implement")
    );
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn backchannel_route_is_absent_unless_configured() {
    let f = fixture();
    let response = f
        .app
        .clone()
        .oneshot(
            Request::post(BCL_PATH)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("logout_token=x"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// Records the verified requests, `jti` included.
struct RequestHook(Arc<Mutex<Vec<LogoutRequest>>>);

#[async_trait::async_trait]
impl LogoutHook for RequestHook {
    async fn logout(&self, _subject: &Subject) -> HookOutcome {
        HookOutcome::Failed("logout_request is overridden; this is never called".into())
    }

    async fn logout_request(&self, request: &LogoutRequest) -> HookOutcome {
        self.0.lock().unwrap().push(request.clone());
        HookOutcome::Done
    }
}

#[tokio::test]
async fn the_hook_can_see_the_request_jti() {
    let key = generate_key(KeyAlg::ES256).unwrap();
    let ring = ring_of(&key);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let config = ReceiverConfig::new(ISSUER, AUDIENCE, CLIENT_ID, "http://127.0.0.1:9/keys")
        .with_static_jwks(ring.jwks())
        .with_clock(Clock::fixed(NOW));
    let app = router(config, RequestHook(seen.clone()));
    let token = ring
        .sign(
            KeyAlg::ES256,
            typ::GLOBAL_TOKEN_REVOCATION,
            &claims("jti-77"),
        )
        .unwrap();
    let response = app
        .oneshot(
            Request::post("/global-logout")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::from(email_body().to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        *seen.lock().unwrap(),
        vec![LogoutRequest {
            subject: Subject::Email {
                email: "ada@example.test".into()
            },
            jti: "jti-77".into(),
        }]
    );
}
