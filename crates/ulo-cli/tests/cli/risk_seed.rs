//! The second seed's demo with real processes: `ulo serve`; a real `ulo agent` enrolled and
//! long-polling, its sign-out command a script that writes a marker file; a logout-enabled app
//! (a fake speaking Global Token Revocation, checking ulo's signature); a security events
//! provider registered with a JWKS URL the test serves (a real key pair); the seed's Entity Risk
//! Policy rule (any group, include a detection, any level, Logout and revoke tokens with the
//! desktop-mfa app and the app). The provider posts a signed `risk-level-change` SET: 202, the
//! agent signs Ada out, the app gets its logout, the receipt completes, and the System Log shows
//! the whole chain under one `transaction.id`.
//!
//! The provider, the fake app and the API calls here are shared with `risk_durability`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Value, json};
use ulo_jose::{GeneratedKey, KeyAlg, KeyRing, SigningKey, VerifyOptions, generate_key, typ};
use ulo_testkit::{Backend, Database, PG_ENV, wait_for};

use crate::devices::{
    Admin, enroll, marker_script, run_agent, start_serve, wait_linked, wait_signed_out,
};

/// The CAEP event a risk vendor sends when a person's risk changes.
pub(crate) const RISK_LEVEL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/risk-level-change";
/// Where providers push SETs.
pub(crate) const INTAKE: &str = "/security/api/v1/security-events";

/// A security events provider: a real key pair, its JWKS served by a local HTTP server that
/// counts fetches.
pub(crate) struct Provider {
    /// Its issuer (the server's base URL).
    pub(crate) issuer: String,
    key: GeneratedKey,
    fetches: Arc<AtomicUsize>,
}

impl Provider {
    pub(crate) async fn start() -> Provider {
        let key = generate_key(KeyAlg::ES256).unwrap();
        let jwks = json!({"keys": [key.public_jwk.clone()]});
        let fetches = Arc::new(AtomicUsize::new(0));
        let counter = fetches.clone();
        let app = Router::new().route(
            "/jwks",
            get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                let jwks = jwks.clone();
                async move { axum::Json(jwks) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Provider {
            issuer,
            key,
            fetches,
        }
    }

    pub(crate) fn jwks_url(&self) -> String {
        format!("{}/jwks", self.issuer)
    }

    /// How many times ulo fetched the JWKS.
    pub(crate) fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// A signed SET for `aud` (ulo's issuer): `email`'s risk is now `level`.
    pub(crate) fn risk_set(&self, aud: &str, jti: &str, email: &str, level: &str) -> String {
        let claims = json!({
            "iss": self.issuer,
            "aud": aud,
            "iat": ulo_testkit::now().unix_timestamp(),
            "jti": jti,
            "sub_id": {"format": "email", "email": email},
            "events": {RISK_LEVEL_CHANGE: {
                "principal": "USER",
                "current_level": level,
                "previous_level": "LOW",
                "reason_admin": {"en": "impossible travel"},
            }},
        });
        let k = &self.key;
        let signing =
            SigningKey::from_pkcs8_der(k.kid.clone(), k.alg, &k.private_pkcs8_der).unwrap();
        let ring = KeyRing::new(vec![signing], vec![k.public_jwk.clone()]).unwrap();
        ring.sign_as(&k.kid, typ::SECEVENT, &claims).unwrap()
    }

    /// Registers the provider with ulo (jwks_url); answers its id.
    pub(crate) async fn register(&self, admin: &Admin) -> String {
        let (s, p) = admin
            .post(
                "/api/v1/security-events-providers",
                json!({"name": "Risk vendor", "type": "security_events_provider",
                       "settings": {"issuer": self.issuer, "jwks_url": self.jwks_url()}}),
            )
            .await;
        assert_eq!(s, reqwest::StatusCode::CREATED, "{p}");
        p["id"].as_str().unwrap().to_string()
    }
}

/// Pushes `set` to ulo's intake as a provider would; answers the status and body.
pub(crate) async fn push(http: &reqwest::Client, ulo: &str, set: String) -> (u16, String) {
    let r = http
        .post(format!("{ulo}{INTAKE}"))
        .header("Content-Type", "application/secevent+jwt")
        .body(set)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
}

/// One Global Token Revocation request a fake app received.
#[derive(Debug, Clone)]
pub(crate) struct Revocation {
    /// The app (the path's last segment).
    pub(crate) app: String,
    /// `Idempotency-Key`: the delivery's id.
    pub(crate) key: String,
    /// `sub_id.email` of the body.
    pub(crate) email: String,
    /// The bearer JWT.
    pub(crate) jwt: String,
}

/// Logout-enabled apps: `POST /apps/{name}` records the request; while closed it holds the
/// request (as an app slow to answer), once open it answers 204 after `delay`.
#[derive(Clone)]
pub(crate) struct LogoutApps {
    received: Arc<Mutex<Vec<Revocation>>>,
    open: Arc<AtomicBool>,
    opened: Arc<tokio::sync::Notify>,
    delay: Duration,
}

impl LogoutApps {
    /// Starts the apps (open or not); answers them and their base URL.
    pub(crate) async fn start(open: bool, delay: Duration) -> (LogoutApps, String) {
        let apps = LogoutApps {
            received: Default::default(),
            open: Arc::new(AtomicBool::new(open)),
            opened: Default::default(),
            delay,
        };
        let router = Router::new()
            .route("/apps/{name}", post(revoke))
            .with_state(apps.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/apps", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        (apps, base)
    }

    /// From now on requests are answered (held ones too).
    pub(crate) fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
        self.opened.notify_waiters();
    }

    pub(crate) fn received(&self) -> Vec<Revocation> {
        self.received.lock().unwrap().clone()
    }
}

async fn revoke(
    State(apps): State<LogoutApps>,
    Path(app): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let email = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b["sub_id"]["email"].as_str().map(str::to_string))
        .unwrap_or_default();
    apps.received.lock().unwrap().push(Revocation {
        app,
        key: header("idempotency-key"),
        email,
        jwt: header("authorization")
            .strip_prefix("Bearer ")
            .unwrap_or("")
            .to_string(),
    });
    loop {
        let opened = apps.opened.notified();
        if apps.open.load(Ordering::SeqCst) {
            break;
        }
        opened.await;
    }
    tokio::time::sleep(apps.delay).await;
    StatusCode::NO_CONTENT
}

/// The Entity Risk Policy's id.
pub(crate) async fn policy_id(admin: &Admin) -> String {
    let (s, list) = admin.get("/api/v1/policies?type=ENTITY_RISK").await;
    assert_eq!(s, reqwest::StatusCode::OK, "{list}");
    list[0]["id"].as_str().unwrap().to_string()
}

/// The seed's rule: any group, include a detection (a provider's), any level, Logout and revoke
/// tokens with the listed apps.
pub(crate) fn seed_rule(apps: &[&str]) -> Value {
    json!({
        "type": "ENTITY_RISK",
        "name": "Sign risky people out of apps and devices",
        "priority": 1,
        "conditions": {
            "people": {"groups": {"include": []}},
            "entityRisk": {"level": "ANY"},
            "riskDetectionTypes": {"include": ["SECURITY_EVENTS_PROVIDER_REPORTED_RISK"]}
        },
        "actions": {"entityRisk": {"actions": [{
            "action": "TERMINATE_ALL_SESSIONS",
            "slo": {"appSelectionMode": "SPECIFIC", "appInstanceIds": apps}
        }]}}
    })
}

/// Adds the seed's rule; answers it.
pub(crate) async fn add_seed_rule(admin: &Admin, apps: &[&str]) -> Value {
    let pid = policy_id(admin).await;
    let (s, rule) = admin
        .post(&format!("/api/v1/policies/{pid}/rules"), seed_rule(apps))
        .await;
    assert_eq!(s, reqwest::StatusCode::OK, "{rule}");
    assert_eq!(rule["status"], "ACTIVE", "{rule}");
    rule
}

/// A Global Token Revocation app with Logout on, calling `endpoint`; answers its id.
pub(crate) async fn gtr_app(admin: &Admin, label: &str, endpoint: &str) -> String {
    let (s, app) = admin
        .post(
            "/api/v1/apps",
            json!({
                "label": label,
                "type": "oidc",
                "oidc": {"redirectUris": ["https://app.example.com/cb"],
                         "tokenEndpointAuthMethod": "client_secret_basic"},
                "logout": {"enabled": true, "protocol": "global-token-revocation",
                           "endpoint": endpoint, "subjectFormat": "email"}
            }),
        )
        .await;
    assert!(s.is_success(), "{app}");
    app["id"].as_str().unwrap().to_string()
}

/// Every System Log event matching `filter`, oldest first (at most 1,000: the tests ask for
/// fewer).
pub(crate) async fn log(admin: &Admin, filter: &str) -> Vec<Value> {
    let r = admin
        .http
        .get(format!("{}/api/v1/logs", admin.url))
        .query(&[
            ("filter", filter),
            ("limit", "1000"),
            ("sortOrder", "ASCENDING"),
        ])
        .header("Authorization", format!("SSWS {}", crate::devices::TOKEN))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let page: Vec<Value> = r.json().await.unwrap();
    assert!(page.len() < 1000, "more events than one page holds");
    page
}

/// `debugContext.debugData[k]` of an event.
pub(crate) fn debug<'a>(e: &'a Value, k: &str) -> &'a Value {
    &e["debugContext"]["debugData"][k]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_providers_risk_signal_signs_the_person_out_of_the_app_and_the_device() {
    seed_demo(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_providers_risk_signal_signs_the_person_out_of_the_app_and_the_device() {
    if std::env::var(PG_ENV).is_err() {
        eprintln!("skipped: set {PG_ENV} to run the demo on PostgreSQL");
        return;
    }
    let db = Database::new(Backend::Postgres).await.unwrap();
    seed_demo(&[("ULO_DATABASE_URL", db.url.clone())]).await;
    db.cleanup().await;
}

/// The demo on the database `extra` names (SQLite in the data directory when none).
async fn seed_demo(extra: &[(&str, String)]) {
    let dir = tempfile::tempdir().unwrap();
    let mut env = vec![("ULO_OUTBOUND_ALLOW_HTTP_LOOPBACK", "1".to_string())];
    env.extend(extra.iter().cloned());
    let (mut serve, admin) = start_serve(dir.path(), &env).await;
    // Ada, the desktop-mfa app with Logout on, and a real agent long-polling for her.
    let ada = admin.set_up().await;
    let (_, apps) = admin.get("/api/v1/apps").await;
    let desktop = apps
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"] == "desktop-mfa")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let state = enroll(&admin, dir.path()).await;
    let (script, marker) = marker_script(dir.path());
    let mut agent = run_agent(&state, &script, &[]);
    wait_linked(&admin, &ada).await;

    // A logout-enabled app Ada uses.
    let (fake, base) = LogoutApps::start(true, Duration::ZERO).await;
    let endpoint = format!("{base}/vault");
    let vault = gtr_app(&admin, "Vault", &endpoint).await;
    let (s, _) = admin
        .post(&format!("/api/v1/apps/{vault}/users"), json!({"id": ada}))
        .await;
    assert!(s.is_success());

    // The provider, and the seed's rule.
    let provider = Provider::start().await;
    provider.register(&admin).await;
    let rule = add_seed_rule(&admin, &[&desktop, &vault]).await;
    let rule_id = rule["id"].as_str().unwrap();

    // The risk vendor says Ada's risk is HIGH.
    let http = reqwest::Client::new();
    let set = provider.risk_set(&admin.url, "seed-1", "ada@example.com", "HIGH");
    let (status, body) = push(&http, &admin.url, set).await;
    assert_eq!(status, 202, "{body}");

    // The device signs out and the app gets its logout.
    let accounts = wait_signed_out(&marker, "the agent's sign-out command to run").await;
    assert_eq!(accounts, ["ada@example.com"]);
    let got = wait_for("the app's logout", Duration::from_secs(20), || async {
        let r = fake.received();
        (!r.is_empty()).then_some(r)
    })
    .await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0].app.as_str(), got[0].email.as_str()),
        ("vault", "ada@example.com")
    );
    // ulo signed it, for this app.
    let (_, jwks) = admin.get("/oauth2/v1/keys").await;
    let (_, claims) = ulo_jose::verify_with_jwks(
        &got[0].jwt,
        &jwks,
        &VerifyOptions {
            expected_typ: Some(typ::GLOBAL_TOKEN_REVOCATION),
            issuer: Some(&admin.url),
            audience: Some(&endpoint),
            leeway_secs: 60,
            now_unix: None,
        },
    )
    .expect("the revocation request is signed by ulo");
    assert!(claims["jti"].is_string(), "{claims}");

    // The receipt completes: the device and the app succeeded.
    let actions = admin.events("policy.entity_risk.action").await;
    assert_eq!(actions.len(), 1, "{actions:?}");
    let action = &actions[0];
    assert_eq!(debug(action, "rule"), rule_id);
    assert_eq!(debug(action, "action"), "TERMINATE_ALL_SESSIONS");
    let logout_id = debug(action, "logoutId").as_str().unwrap().to_string();
    let receipt = admin.settled(&format!("/api/v1/logouts/{logout_id}")).await;
    assert_eq!(receipt["status"], "COMPLETED", "{receipt:#}");
    assert_eq!(
        receipt["reason"],
        format!("POLICY: Entity Risk Policy rule {rule_id}"),
        "{receipt:#}"
    );
    let targets: HashMap<&str, &str> = receipt["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["type"].as_str().unwrap(), t["status"].as_str().unwrap()))
        .collect();
    assert_eq!(targets.get("DEVICE"), Some(&"SUCCEEDED"), "{receipt:#}");
    assert_eq!(targets.get("APP"), Some(&"SUCCEEDED"), "{receipt:#}");

    // One transaction from the signal to the device and the app.
    let tx = receipt["transactionId"].as_str().unwrap().to_string();
    let chain = wait_for(
        "the device's completion in the System Log",
        Duration::from_secs(20),
        || async {
            let chain = log(&admin, &format!("transaction.id eq \"{tx}\"")).await;
            chain
                .iter()
                .any(|e| e["eventType"] == "device.desktop_mfa.device_logout.completed")
                .then_some(chain)
        },
    )
    .await;
    let kinds: Vec<&str> = chain
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    let at = |t: &str| {
        kinds
            .iter()
            .position(|k| *k == t)
            .unwrap_or_else(|| panic!("no {t} under transaction {tx}: {kinds:?}"))
    };
    // The signal, the detection (with the level change), the evaluation, then the logout the
    // action started (its event, naming the logout, is written once the logout exists), then
    // the device's and the app's deliveries.
    let order = [
        "security.events.provider.receive_event",
        "user.risk.detect",
        "policy.entity_risk.evaluate",
        "user.authentication.universal_logout",
        "device.desktop_mfa.device_logout.started",
        "device.desktop_mfa.device_logout.completed",
    ];
    for pair in order.windows(2) {
        assert!(
            at(pair[0]) < at(pair[1]),
            "{pair:?} out of order: {kinds:?}"
        );
    }
    assert!(at("policy.entity_risk.action") > at("policy.entity_risk.evaluate"));
    for later in [
        "app.universal_logout.delivery",
        "user.session.universal_logout",
    ] {
        assert!(
            at(later) > at("user.authentication.universal_logout"),
            "{later}: {kinds:?}"
        );
    }
    let detect = &chain[at("user.risk.detect")];
    assert_eq!(debug(detect, "previousLevel"), "NONE", "{detect:#}");
    assert_eq!(debug(detect, "level"), "HIGH", "{detect:#}");
    assert_eq!(
        debug(detect, "issuer"),
        provider.issuer.as_str(),
        "{detect:#}"
    );
    assert_eq!(
        debug(detect, "detection")["type"],
        "SECURITY_EVENTS_PROVIDER_REPORTED_RISK",
        "{detect:#}"
    );
    assert_eq!(
        debug(&chain[at("policy.entity_risk.evaluate")], "rule"),
        rule_id
    );
    assert_eq!(
        debug(&chain[at("security.events.provider.receive_event")], "jti"),
        "seed-1"
    );
    let delivery = &chain[at("app.universal_logout.delivery")];
    assert_eq!(delivery["outcome"]["result"], "SUCCESS", "{delivery:#}");
    // Ada's risk level is HIGH, from the provider.
    let (_, risk) = admin.get(&format!("/api/v1/users/{ada}/risk")).await;
    assert_eq!(risk["riskLevel"], "HIGH", "{risk}");
    // One SET, one key fetch.
    assert_eq!(provider.fetches(), 1);

    let _ = agent.start_kill();
    let _ = agent.wait().await;
    let _ = serve.child.start_kill();
    let _ = serve.child.wait().await;
}
