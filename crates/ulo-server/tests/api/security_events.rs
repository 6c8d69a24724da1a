//! ulo as a Shared Signals receiver: the security events provider registry and the SET intake
//! (`POST /security/api/v1/security-events`), against a test provider that signs real SETs
//! (RS256 and ES256) and serves its JWKS and SSF configuration from a local HTTP server.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ulo_jose::{GeneratedKey, KeyAlg, KeyRing, SigningKey, generate_key};
use ulo_testkit::{Database, TestServer, backends};

use crate::support::*;

const INTAKE: &str = "/security/api/v1/security-events";
const PROVIDERS: &str = "/api/v1/security-events-providers";
const RECEIVE_EVENT: &str = "security.events.provider.receive_event";
const RISK_LEVEL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/risk-level-change";
const SESSION_REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";

/// A security events provider: its keys, and a local HTTP server publishing them.
struct TestProvider {
    issuer: String,
    published: Arc<(Mutex<Value>, AtomicUsize)>,
    keys: Vec<GeneratedKey>,
}

async fn jwks(State(p): State<Arc<(Mutex<Value>, AtomicUsize)>>) -> axum::Json<Value> {
    p.1.fetch_add(1, Ordering::SeqCst);
    axum::Json(p.0.lock().unwrap().clone())
}

impl TestProvider {
    async fn start() -> TestProvider {
        let published: Arc<(Mutex<Value>, AtomicUsize)> =
            Arc::new((Mutex::new(json!({"keys": []})), AtomicUsize::new(0)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind provider");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let conf = json!({
            "spec_version": "1_0",
            "issuer": base,
            "jwks_uri": format!("{base}/jwks"),
            "delivery_methods_supported": ["urn:ietf:rfc:8935"],
        });
        let app = Router::new()
            .route("/jwks", get(jwks))
            .route(
                "/.well-known/ssf-configuration",
                get(move || {
                    let conf = conf.clone();
                    async move { axum::Json(conf) }
                }),
            )
            .with_state(published.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let mut p = TestProvider {
            issuer: base,
            published,
            keys: vec![
                generate_key(KeyAlg::RS256).unwrap(),
                generate_key(KeyAlg::ES256).unwrap(),
            ],
        };
        p.publish();
        p
    }

    fn publish(&mut self) {
        let keys: Vec<Value> = self.keys.iter().map(|k| k.public_jwk.clone()).collect();
        *self.published.0.lock().unwrap() = json!({ "keys": keys });
    }

    fn fetches(&self) -> usize {
        self.published.1.load(Ordering::SeqCst)
    }

    fn jwks_url(&self) -> String {
        format!("{}/jwks", self.issuer)
    }

    fn key(&self, alg: KeyAlg) -> &GeneratedKey {
        self.keys.iter().rev().find(|k| k.alg == alg).unwrap()
    }

    /// `claims` signed with `key`, published as `kid`, header typ `typ`.
    fn sign_with(key: &GeneratedKey, kid: &str, typ: &str, claims: &Value) -> String {
        let signing =
            SigningKey::from_pkcs8_der(kid.into(), key.alg, &key.private_pkcs8_der).unwrap();
        let mut public = key.public_jwk.clone();
        public["kid"] = json!(kid);
        let ring = KeyRing::new(vec![signing], vec![public]).unwrap();
        ring.sign_as(kid, typ, claims).unwrap()
    }

    fn sign(&self, alg: KeyAlg, claims: &Value) -> String {
        let k = self.key(alg);
        Self::sign_with(k, &k.kid, "secevent+jwt", claims)
    }

    /// A SET's claims for `aud`, about `subject`, with `events`.
    fn claims(&self, aud: &str, jti: &str, subject: Value, events: Value) -> Value {
        json!({
            "iss": self.issuer,
            "aud": aud,
            "iat": now(),
            "jti": jti,
            "sub_id": subject,
            "events": events,
        })
    }
}

fn now() -> i64 {
    ulo_testkit::now().unix_timestamp()
}

fn risk(level: &str) -> Value {
    json!({ RISK_LEVEL_CHANGE: {"principal": "USER", "current_level": level, "previous_level": "LOW"} })
}

fn email(e: &str) -> Value {
    json!({"format": "email", "email": e})
}

/// A server whose providers' keys may be fetched again after one second, and whose refusal
/// limit the refusal tests stay under.
async fn start(backend: ulo_testkit::Backend) -> TestServer {
    let db = Database::new(backend).await.expect("database");
    let mut s = TestServer::start_configured(db, Arc::new(ulo_server::clock::SystemClock), |o| {
        o.security_events.jwks_min_refetch = Duration::from_secs(1);
        o.security_events.refusal_limit = 1000;
    })
    .await
    .expect("start test server");
    s.http = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .build()
        .unwrap();
    s
}

async fn each_backend(test: impl AsyncFn(&TestServer)) {
    for backend in backends() {
        let s = start(backend).await;
        test(&s).await;
        s.stop().await;
    }
}

async fn push(s: &TestServer, set: &str) -> (StatusCode, Value) {
    let (status, _, body) = send(
        anonymous(s, Method::POST, INTAKE)
            .header("Content-Type", "application/secevent+jwt")
            .body(set.to_string()),
    )
    .await;
    (status, body)
}

async fn register(s: &TestServer, p: &TestProvider) -> Value {
    let (status, body) = s
        .post(
            PROVIDERS,
            json!({"name": "Risk vendor", "type": "security_events_provider",
                   "settings": {"issuer": p.issuer, "jwks_url": p.jwks_url()}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

fn assert_refused(got: (StatusCode, Value), err: &str, what: &str) {
    assert_eq!(got.0, StatusCode::BAD_REQUEST, "{what}: {}", got.1);
    assert_eq!(got.1["err"], err, "{what}: {}", got.1);
    assert!(
        got.1["description"].as_str().is_some_and(|d| !d.is_empty()),
        "{what}: {}",
        got.1
    );
}

#[tokio::test]
async fn providers_are_registered_validated_and_changed_only_by_super_admins() {
    each_backend(async |s| {
        let p = TestProvider::start().await;
        let created = register(s, &p).await;
        assert_eq!(created["type"], "security_events_provider");
        assert_eq!(created["status"], "ACTIVE");
        assert_eq!(created["settings"], json!({"issuer": p.issuer, "jwks_url": p.jwks_url()}));
        let pid = id(&created);
        let ev = one_event(s, "security.events.provider.create", &pid).await;
        assert_attributed(&ev, &admin_id(s).await, &[&pid]);

        // Each bad input is a 400 naming its field.
        let other = TestProvider::start().await;
        for (body, field) in [
            (json!({"name": "x", "settings": {"issuer": "https://i.example.com"}}), "settings.jwks_url"),
            (json!({"name": "x", "settings": {"jwks_url": "https://i.example.com/jwks"}}), "settings.issuer"),
            (json!({"name": "x", "settings": {"issuer": "https://i.example.com", "jwks_url": "ftp://i.example.com/jwks"}}), "settings.jwks_url"),
            (json!({"name": "x", "settings": {"issuer": "https://i.example.com", "jwks_url": "http://i.example.com/jwks"}}), "settings.jwks_url"),
            (json!({"name": "x", "settings": {"issuer": p.issuer, "jwks_url": other.jwks_url()}}), "settings.issuer"),
            (json!({"name": "x", "settings": {"wellKnownUrl": format!("{}/.well-known/ssf-configuration", other.issuer), "issuer": "https://i.example.com"}}), "settings"),
            (json!({"name": "x", "settings": {"wellKnownUrl": format!("{}/nothing-here", other.issuer)}}), "settings.wellKnownUrl"),
            (json!({"name": "", "settings": {"issuer": "https://i.example.com", "jwks_url": "https://i.example.com/jwks"}}), "name"),
            (json!({"name": "x", "type": "oidc", "settings": {"issuer": "https://i.example.com", "jwks_url": "https://i.example.com/jwks"}}), "type"),
        ] {
            let (status, resp) = s.post(PROVIDERS, body.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {resp}");
            assert!(
                causes(&resp).iter().any(|c| c.starts_with(field)),
                "{body}: {resp} should name {field}"
            );
        }

        // By its SSF configuration: the issuer and jwks_uri come from it.
        let (status, by_conf) = s
            .post(
                PROVIDERS,
                json!({"name": "By configuration", "settings": {"wellKnownUrl": format!("{}/.well-known/ssf-configuration", other.issuer)}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{by_conf}");
        assert_eq!(by_conf["settings"]["issuer"], json!(other.issuer));
        assert_eq!(by_conf["settings"]["jwks_url"], json!(other.jwks_url()));

        let (status, list) = s.get(PROVIDERS).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list.as_array().unwrap().len(), 2, "{list}");

        // Read-only admins read; they and scoped tokens change nothing.
        let (_, ro_token) = read_only_admin(s, "ro@example.com").await;
        let (status, _) = s.call_as(&ro_token, Method::GET, &format!("{PROVIDERS}/{pid}"), None).await;
        assert_eq!(status, StatusCode::OK);
        for (method, path, body) in [
            (Method::POST, PROVIDERS.to_string(), Some(json!({"name": "x", "settings": {"issuer": "https://z.example.com", "jwks_url": "https://z.example.com/jwks"}}))),
            (Method::PUT, format!("{PROVIDERS}/{pid}"), Some(json!({"name": "x", "settings": {"issuer": p.issuer, "jwks_url": p.jwks_url()}}))),
            (Method::POST, format!("{PROVIDERS}/{pid}/lifecycle/deactivate"), None),
            (Method::DELETE, format!("{PROVIDERS}/{pid}"), None),
        ] {
            let (status, body) = s.call_as(&ro_token, method.clone(), &path, body).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
        }
        let (status, scoped) = s
            .post("/api/v1/api-tokens", json!({"name": "logout only", "scopes": ["ulo.universalLogout.manage"]}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{scoped}");
        let (status, _) = s
            .call_as(scoped["token"].as_str().unwrap(), Method::POST, &format!("{PROVIDERS}/{pid}/lifecycle/deactivate"), None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // Replace, deactivate, activate, delete.
        let (status, renamed) = s
            .put(&format!("{PROVIDERS}/{pid}"), Some(json!({"name": "Renamed", "settings": {"issuer": p.issuer, "jwks_url": p.jwks_url()}})))
            .await;
        assert_eq!(status, StatusCode::OK, "{renamed}");
        assert_eq!(renamed["name"], "Renamed");
        let (status, off) = s.post(&format!("{PROVIDERS}/{pid}/lifecycle/deactivate"), json!({})).await;
        assert_eq!((status, off["status"].clone()), (StatusCode::OK, json!("INACTIVE")), "{off}");
        let (status, on) = s.post(&format!("{PROVIDERS}/{pid}/lifecycle/activate"), json!({})).await;
        assert_eq!((status, on["status"].clone()), (StatusCode::OK, json!("ACTIVE")), "{on}");
        for t in ["update", "deactivate", "activate"] {
            one_event(s, &format!("security.events.provider.{t}"), &pid).await;
        }
        let (status, _) = s.delete(&format!("{PROVIDERS}/{pid}")).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = s.get(&format!("{PROVIDERS}/{pid}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        one_event(s, "security.events.provider.delete", &pid).await;
    })
    .await;
}

#[tokio::test]
async fn accepted_sets_are_logged_once_and_unknown_subjects_reveal_nothing() {
    each_backend(async |s| {
        let p = TestProvider::start().await;
        let pid = id(&register(s, &p).await);
        let user = create_user(s, "risky@example.com").await;
        let uid = id(&user);

        // RS256, a risk level change for the user by email.
        let set = p.sign(
            KeyAlg::RS256,
            &p.claims(&s.url, "jti-1", email("risky@example.com"), risk("high")),
        );
        let (status, body) = push(s, &set).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        let ev = one_event(s, RECEIVE_EVENT, &uid).await;
        let data = &ev["debugContext"]["debugData"];
        assert_eq!(data["issuer"], json!(p.issuer));
        assert_eq!(data["jti"], "jti-1");
        assert_eq!(data["eventTypes"], json!([RISK_LEVEL_CHANGE]));
        assert_eq!(data["subject"], email("risky@example.com"));
        assert_eq!(
            data["detections"],
            json!([{"detectionType": "SECURITY_EVENTS_PROVIDER_REPORTED_RISK", "level": "HIGH", "reasons": ["risk-level-change"]}])
        );
        assert_eq!(ev["outcome"]["result"], "SUCCESS");
        assert_eq!(ev["actor"]["id"], json!(pid));

        // The provider retries: 202, nothing again.
        let (status, _) = push(s, &set).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(events(s, RECEIVE_EVENT, &uid).await.len(), 1);

        // The SET became a detection at the level sent, in the receipt's transaction, and the
        // retry made no second one.
        let (status, r) = s.get(&format!("/api/v1/users/{uid}/risk")).await;
        assert_eq!(status, StatusCode::OK, "{r}");
        assert_eq!(r["riskLevel"], "HIGH", "{r}");
        let detections = r["detections"].as_array().cloned().unwrap_or_default();
        assert_eq!(detections.len(), 1, "{r}");
        assert_eq!(detections[0]["type"], "SECURITY_EVENTS_PROVIDER_REPORTED_RISK", "{r}");
        let detect = one_event(s, "user.risk.detect", &uid).await;
        assert_eq!(detect["transaction"]["id"], ev["transaction"]["id"]);
        assert_eq!(detect["debugContext"]["debugData"]["issuer"], json!(p.issuer));

        // ES256, session-revoked, the subject as iss_sub of ulo, and as complex with a user.
        let iss_sub = json!({"format": "iss_sub", "iss": s.url, "sub": uid});
        let set = p.sign(
            KeyAlg::ES256,
            &p.claims(&s.url, "jti-2", iss_sub, json!({SESSION_REVOKED: {"event_timestamp": now()}})),
        );
        assert_eq!(push(s, &set).await.0, StatusCode::ACCEPTED);
        let complex = json!({"format": "complex", "user": {"format": "opaque", "id": uid}, "device": {"format": "opaque", "id": "laptop-1"}});
        let set = p.sign(
            KeyAlg::ES256,
            &p.claims(&s.url, "jti-3", complex, json!({"https://schemas.openid.net/secevent/caep/event-type/device-compliance-change": {"current_status": "not-compliant", "previous_status": "compliant"}})),
        );
        assert_eq!(push(s, &set).await.0, StatusCode::ACCEPTED);
        let evs = events(s, RECEIVE_EVENT, &uid).await;
        assert_eq!(evs.len(), 3, "{evs:?}");
        let levels: Vec<Value> = evs
            .iter()
            .map(|e| e["debugContext"]["debugData"]["detections"][0]["level"].clone())
            .collect();
        assert_eq!(levels, vec![json!("HIGH"), json!("HIGH"), json!("MEDIUM")]);

        // Nobody by that email: the same 202, and a logged "subject not found".
        let set = p.sign(
            KeyAlg::RS256,
            &p.claims(&s.url, "jti-4", email("nobody@example.com"), risk("medium")),
        );
        let (status, body) = push(s, &set).await;
        assert_eq!((status, body), (StatusCode::ACCEPTED, Value::Null));
        let all = events(s, RECEIVE_EVENT, &pid).await;
        let missing: Vec<&Value> = all
            .iter()
            .filter(|e| e["debugContext"]["debugData"]["jti"] == "jti-4")
            .collect();
        assert_eq!(missing.len(), 1, "{all:?}");
        assert_eq!(missing[0]["outcome"], json!({"result": "SKIPPED", "reason": "subject not found"}));
        assert_eq!(missing[0]["debugContext"]["debugData"]["detections"], json!([]));
    })
    .await;
}

#[tokio::test]
async fn a_new_key_is_fetched_again_at_most_once_per_interval() {
    each_backend(async |s| {
        let mut p = TestProvider::start().await;
        register(s, &p).await;
        let user = create_user(s, "rotating@example.com").await;
        let about = email("rotating@example.com");
        let set = p.sign(
            KeyAlg::ES256,
            &p.claims(&s.url, "before", about.clone(), risk("low")),
        );
        assert_eq!(push(s, &set).await.0, StatusCode::ACCEPTED);
        assert_eq!(p.fetches(), 1);

        // The provider rotates to a new key.
        p.keys.push(generate_key(KeyAlg::ES256).unwrap());
        p.publish();
        let started = Instant::now();
        let mut n = 0;
        loop {
            n += 1;
            let set = p.sign(
                KeyAlg::ES256,
                &p.claims(&s.url, &format!("after-{n}"), about.clone(), risk("low")),
            );
            let (status, body) = push(s, &set).await;
            if status == StatusCode::ACCEPTED {
                break;
            }
            // Until the interval since the last fetch has passed, the unknown kid is refused.
            assert_refused((status, body), "invalid_key", "a kid not fetched yet");
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the new key was never fetched"
            );
            // Poll again shortly (the interval is 1 s here).
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            p.fetches(),
            2,
            "one fetch for the new kid, however many SETs named it"
        );
        assert_eq!(events(s, RECEIVE_EVENT, &id(&user)).await.len(), 2);
    })
    .await;
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn every_refusal_has_its_rfc_8935_code() {
    each_backend(async |s| {
        let p = TestProvider::start().await;
        let pid = id(&register(s, &p).await);
        create_user(s, "target@example.com").await;
        let good = |jti: &str| p.claims(&s.url, jti, email("target@example.com"), risk("high"));
        let rs = p.key(KeyAlg::RS256);

        // Signed by another key under the provider's kid.
        let intruder = generate_key(KeyAlg::RS256).unwrap();
        let forged = TestProvider::sign_with(&intruder, &rs.kid, "secevent+jwt", &good("forged"));
        assert_refused(
            push(s, &forged).await,
            "authentication_failed",
            "forged signature",
        );

        // alg none.
        let none = format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "secevent+jwt", "kid": rs.kid})),
            b64(&good("none"))
        );
        assert_refused(push(s, &none).await, "invalid_key", "alg none");

        // HS256 keyed with the provider's public key.
        let mut header =
            ulo_jose::jsonwebtoken::Header::new(ulo_jose::jsonwebtoken::Algorithm::HS256);
        header.typ = Some("secevent+jwt".into());
        header.kid = Some(rs.kid.clone());
        let hs = ulo_jose::jsonwebtoken::encode(
            &header,
            &good("hs256"),
            &ulo_jose::jsonwebtoken::EncodingKey::from_secret(rs.public_jwk.to_string().as_bytes()),
        )
        .unwrap();
        assert_refused(
            push(s, &hs).await,
            "invalid_key",
            "HS256 with the public key",
        );

        // Wrong typ, audience, issuer; iat out of the window; malformed events and subjects.
        let k = p.key(KeyAlg::RS256);
        let jwt = TestProvider::sign_with(k, &k.kid, "JWT", &good("typ"));
        assert_refused(push(s, &jwt).await, "invalid_request", "typ JWT");
        let mut c = good("aud");
        c["aud"] = json!("https://someone-else.example.com");
        assert_refused(
            push(s, &p.sign(KeyAlg::RS256, &c)).await,
            "invalid_audience",
            "aud",
        );
        let stranger = TestProvider::start().await;
        let c = stranger.claims(
            &s.url,
            "stranger",
            email("target@example.com"),
            risk("high"),
        );
        assert_refused(
            push(s, &stranger.sign(KeyAlg::RS256, &c)).await,
            "invalid_issuer",
            "unknown issuer",
        );
        for (field, value, what) in [
            ("iat", json!(now() - 3600), "iat an hour ago"),
            ("iat", json!(now() + 600), "iat in the future"),
            ("iat", Value::Null, "no iat"),
            ("jti", Value::Null, "no jti"),
            ("events", Value::Null, "no events"),
            ("events", json!({}), "no event"),
            (
                "events",
                json!({"https://example.com/unknown": {}}),
                "only unknown event types",
            ),
            (
                "events",
                json!({RISK_LEVEL_CHANGE: {"current_level": "severe"}}),
                "an unknown level",
            ),
            (
                "events",
                json!({RISK_LEVEL_CHANGE: "high"}),
                "an event that is not an object",
            ),
            ("sub_id", Value::Null, "no subject"),
            (
                "sub_id",
                json!({"format": "phone_number", "phone_number": "+1"}),
                "an unsupported subject",
            ),
            (
                "sub_id",
                json!({"format": "complex", "device": {"format": "opaque", "id": "d"}}),
                "a complex subject without a user",
            ),
        ] {
            let mut c = good(what);
            match value {
                Value::Null => {
                    c.as_object_mut().unwrap().remove(field);
                }
                v => c[field] = v,
            }
            assert_refused(
                push(s, &p.sign(KeyAlg::RS256, &c)).await,
                "invalid_request",
                what,
            );
        }

        // Not a SET, or not sent as one.
        assert_refused(push(s, "not.a.jwt").await, "invalid_request", "garbage");
        let valid = p.sign(KeyAlg::RS256, &good("content-type"));
        let (status, _, body) = send(
            anonymous(s, Method::POST, INTAKE)
                .header("Content-Type", "application/jwt")
                .body(valid.clone()),
        )
        .await;
        assert_refused((status, body), "invalid_request", "wrong content type");

        // An inactive provider's SETs are refused until it is activated.
        let (status, _) = s
            .post(
                &format!("{PROVIDERS}/{pid}/lifecycle/deactivate"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_refused(push(s, &valid).await, "invalid_issuer", "inactive provider");
        s.post(&format!("{PROVIDERS}/{pid}/lifecycle/activate"), json!({}))
            .await;
        assert_eq!(push(s, &valid).await.0, StatusCode::ACCEPTED);

        // Refusals are recorded as refused requests at the intake.
        let (status, _, blocked) = get_with(
            s,
            "/api/v1/logs",
            &[
                ("filter", r#"eventType eq "security.request.blocked""#),
                ("limit", "1000"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            blocked
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["debugContext"]["debugData"]["endpoint"] == INTAKE),
            "{blocked}"
        );
    })
    .await;
}

#[tokio::test]
async fn past_the_refusal_limit_an_address_waits_but_valid_sets_pass() {
    // The default limit (10 refusals a minute per address).
    on_sqlite(async |s| {
        let p = TestProvider::start().await;
        register(s, &p).await;
        create_user(s, "flood@example.com").await;
        let mut last = StatusCode::OK;
        for n in 0..12 {
            let mut c = p.claims(
                &s.url,
                &format!("bad-{n}"),
                email("flood@example.com"),
                risk("high"),
            );
            c["aud"] = json!("https://elsewhere.example.com");
            last = push(s, &p.sign(KeyAlg::ES256, &c)).await.0;
        }
        assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
        let c = p.claims(&s.url, "good", email("flood@example.com"), risk("high"));
        assert_eq!(
            push(s, &p.sign(KeyAlg::ES256, &c)).await.0,
            StatusCode::ACCEPTED
        );
    })
    .await;
}

const IP_CHANGE: &str = "https://schemas.okta.com/secevent/okta/event-type/ip-change";

#[tokio::test]
async fn an_ip_change_feeds_session_influence_once_per_new_network() {
    each_backend(async |s| {
        let p = TestProvider::start().await;
        register(s, &p).await;
        let uid = crate::signin::user_with_password(s, "mover@example.com").await;
        let b = crate::signin::browser();
        crate::signin::sign_in(&b, s, "mover@example.com").await;
        let influenced = async || {
            let (_, risk) = s.get(&format!("/api/v1/users/{uid}/risk")).await;
            risk["detections"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|d| d["type"] == "SESSION_INFLUENCED_USER_RISK")
                .collect::<Vec<_>>()
        };
        let ip_change = |jti: &str, ip: &str| {
            p.sign(
                KeyAlg::ES256,
                &p.claims(
                    &s.url,
                    jti,
                    email("mover@example.com"),
                    json!({ IP_CHANGE: {"current_ip_address": ip, "previous_ip_address": "127.0.0.1"} }),
                ),
            )
        };
        // The session's own network: nothing.
        let (status, body) = push(s, &ip_change("ip-1", "127.0.0.9")).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        assert!(influenced().await.is_empty());
        // Another network: one detection, and not again for the same network.
        for jti in ["ip-2", "ip-3"] {
            let (status, body) = push(s, &ip_change(jti, "198.51.100.9")).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        }
        let found = influenced().await;
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0]["level"], "MEDIUM");
        assert!(found[0]["reasons"].to_string().contains("198.51.100.0/24"));
        // An ip-change without the new address is malformed.
        let set = p.sign(
            KeyAlg::ES256,
            &p.claims(&s.url, "ip-4", email("mover@example.com"), json!({ IP_CHANGE: {} })),
        );
        assert_refused(push(s, &set).await, "invalid_request", "ip-change without an address");
    })
    .await;
}

#[tokio::test]
async fn a_shorter_max_age_and_future_skew_take_effect() {
    for backend in backends() {
        let db = Database::new(backend).await.expect("database");
        let s = TestServer::start_configured(db, Arc::new(ulo_server::clock::SystemClock), |o| {
            o.security_events.intake.max_age = time::Duration::minutes(2);
            o.security_events.intake.future_skew = time::Duration::seconds(5);
        })
        .await
        .expect("start test server");
        let p = TestProvider::start().await;
        register(&s, &p).await;
        create_user(&s, "aged@example.com").await;
        let set_at = |jti: &str, iat: i64| {
            let mut claims = p.claims(&s.url, jti, email("aged@example.com"), risk("medium"));
            claims["iat"] = json!(iat);
            p.sign(KeyAlg::ES256, &claims)
        };
        // Five minutes old and 30 s ahead: inside the default window (30 min, 60 s), outside this one.
        assert_refused(
            push(&s, &set_at("old", now() - 300)).await,
            "invalid_request",
            "5 min old",
        );
        assert_refused(
            push(&s, &set_at("ahead", now() + 30)).await,
            "invalid_request",
            "30 s ahead",
        );
        let (status, body) = push(&s, &set_at("fresh", now() - 60)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "a minute old: {body}");
        s.stop().await;
    }
}
