//! Universal Logout end to end: one call logs a user out of ulo and of every logout-enabled app
//! (fake apps that record what they receive and answer scripted statuses); the JWTs they got are
//! validated with a JWT library that is not ulo's own code path, against ulo's published JWKS.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode as AxStatus};
use axum::routing::post;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ulo_testkit::{TestServer, wait_for};

use crate::support::*;

const WAIT: Duration = Duration::from_secs(30);

/// One request an app received.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Default)]
struct Apps {
    /// Statuses to answer per app path, in order; the last one repeats.
    script: HashMap<String, Vec<u16>>,
    received: HashMap<String, Vec<Received>>,
}

/// Logout-enabled apps on one loopback port, one path each.
#[derive(Clone)]
pub struct FakeApps(Arc<Mutex<Apps>>);

impl FakeApps {
    pub async fn start() -> (FakeApps, String) {
        let fake = FakeApps(Arc::new(Mutex::new(Apps::default())));
        let app = Router::new()
            .route("/apps/{name}", post(receive))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake apps");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (fake, format!("http://{addr}/apps"))
    }

    pub fn script(&self, name: &str, statuses: &[u16]) {
        self.0
            .lock()
            .unwrap()
            .script
            .insert(name.into(), statuses.to_vec());
    }

    pub fn received(&self, name: &str) -> Vec<Received> {
        self.0
            .lock()
            .unwrap()
            .received
            .get(name)
            .cloned()
            .unwrap_or_default()
    }
}

async fn receive(
    State(fake): State<FakeApps>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> AxStatus {
    let mut f = fake.0.lock().unwrap();
    let got = f.received.entry(name.clone()).or_default();
    got.push(Received { headers, body });
    let n = got.len();
    let status = match f.script.get(&name) {
        Some(s) if !s.is_empty() => s[(n - 1).min(s.len() - 1)],
        _ => 204,
    };
    AxStatus::from_u16(status).unwrap_or(AxStatus::NO_CONTENT)
}

/// Creates an app with logout `protocol` at `endpoint` and assigns `user` to it.
pub async fn logout_app(
    s: &TestServer,
    label: &str,
    protocol: &str,
    endpoint: &str,
    subject_format: &str,
    user: &str,
) -> Value {
    let mut body = oidc_app_body(label);
    body["logout"] = json!({"enabled": true, "protocol": protocol, "endpoint": endpoint, "subjectFormat": subject_format});
    let (status, app) = s.post("/api/v1/apps", body).await;
    assert_eq!(status, StatusCode::OK, "{app}");
    let (status, body) = s
        .post(
            &format!("/api/v1/apps/{}/users", id(&app)),
            json!({"id": user}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    app
}

pub async fn receipt(s: &TestServer, logout: &str) -> Value {
    let (status, r) = s.get(&format!("/api/v1/logouts/{logout}")).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    r
}

/// Waits until the receipt is final and answers it.
pub async fn final_receipt(s: &TestServer, logout: &str) -> Value {
    wait_for("the logout to finish", WAIT, || async {
        let r = receipt(s, logout).await;
        (r["status"] != "IN_PROGRESS").then_some(r)
    })
    .await
}

pub fn target<'a>(receipt: &'a Value, app_id: &str) -> &'a Value {
    receipt["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == app_id)
        .unwrap_or_else(|| panic!("no target {app_id} in {receipt:#}"))
}

/// Verifies `token` against ulo's JWKS with jsonwebtoken; answers header and claims.
pub async fn verify(s: &TestServer, token: &str, aud: &str) -> (jsonwebtoken::Header, Value) {
    let (status, jwks) = anonymous_get(s, "/oauth2/v1/keys").await;
    assert_eq!(status, StatusCode::OK);
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks).expect("JWKS");
    let header = jsonwebtoken::decode_header(token).expect("JWT header");
    let kid = header.kid.clone().expect("kid");
    let jwk = jwks.find(&kid).expect("kid in JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).expect("key");
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&[aud]);
    v.set_issuer(&[s.url.as_str()]);
    v.set_required_spec_claims(&["iss", "aud", "iat"]);
    let data = jsonwebtoken::decode::<Value>(token, &key, &v).expect("signature and claims");
    (header, data.claims)
}

async fn anonymous_get(s: &TestServer, path: &str) -> (StatusCode, Value) {
    let (status, _, body) = send(anonymous(s, Method::GET, path)).await;
    (status, body)
}

fn bearer(r: &Received) -> String {
    r.headers["authorization"]
        .to_str()
        .unwrap()
        .strip_prefix("Bearer ")
        .expect("Bearer token")
        .to_string()
}

#[tokio::test]
async fn one_call_logs_out_of_twenty_apps_with_valid_requests() {
    on_every_backend(async |s| {
        let (fake, base) = FakeApps::start().await;
        let user = create_user(s, "twenty@example.com").await;
        let uid = id(&user);
        let mut apps = Vec::new();
        let protocol = |i: usize| match i % 3 {
            0 => "global-token-revocation",
            1 => "oidc-backchannel",
            _ => "ssf",
        };
        for i in 0..20 {
            let answer = match protocol(i) {
                "global-token-revocation" => 204,
                "oidc-backchannel" => 200,
                _ => 202,
            };
            fake.script(&format!("a{i}"), &[answer]);
            let app = logout_app(
                s,
                &format!("App {i}"),
                protocol(i),
                &format!("{base}/a{i}"),
                "email",
                &uid,
            )
            .await;
            if protocol(i) == "ssf" {
                crate::ssf::push_stream(s, &app, &format!("{base}/a{i}")).await;
            }
            apps.push(app);
        }
        let (status, headers, started) = send(request(
            s,
            Method::DELETE,
            &format!("/api/v1/users/{uid}/sessions?oauthTokens=true&universalLogout=true"),
        ))
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{started}");
        let logout = started["id"].as_str().unwrap().to_string();
        assert_eq!(
            headers["location"].to_str().unwrap(),
            format!("/api/v1/logouts/{logout}")
        );
        assert_eq!(started["userId"], uid.as_str());
        assert_eq!(started["reason"], "ADMIN");
        let types: Vec<&str> = started["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["type"].as_str().unwrap())
            .collect();
        assert_eq!(&types[..3], ["ULO_SESSIONS", "OAUTH_TOKENS", "API_TOKENS"]);
        assert_eq!(types.iter().filter(|t| **t == "APP").count(), 20);

        let done = final_receipt(s, &logout).await;
        assert_eq!(done["status"], "COMPLETED", "{done:#}");
        assert!(done["completed"].is_string());
        for (i, app) in apps.iter().enumerate() {
            let t = target(&done, &id(app));
            assert_eq!(t["status"], "SUCCEEDED", "{t}");
            assert_eq!(t["attempts"], 1);
            let got = fake.received(&format!("a{i}"));
            assert_eq!(got.len(), 1, "app {i} got {} requests", got.len());
            let endpoint = format!("{base}/a{i}");
            let client_id = app["oidc"]["clientId"].as_str().unwrap();
            if protocol(i) == "ssf" {
                assert_eq!(t["lastHttpStatus"], 202);
                let set = std::str::from_utf8(&got[0].body).unwrap();
                assert_eq!(
                    got[0].headers["content-type"].to_str().unwrap(),
                    "application/secevent+jwt"
                );
                let (header, claims) = verify(s, set, client_id).await;
                assert_eq!(header.typ.as_deref(), Some("secevent+jwt"));
                assert_eq!(
                    claims["sub_id"],
                    json!({"format": "email", "email": "twenty@example.com"})
                );
                assert!(claims["events"][crate::ssf::SESSION_REVOKED].is_object());
            } else if protocol(i) == "global-token-revocation" {
                let (header, claims) = verify(s, &bearer(&got[0]), &endpoint).await;
                assert_eq!(header.typ.as_deref(), Some("global-token-revocation+jwt"));
                assert_eq!(claims["sub"], client_id);
                assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 300);
                assert!(claims["jti"].is_string() && claims["nbf"].is_i64());
                let body: Value = serde_json::from_slice(&got[0].body).unwrap();
                assert_eq!(
                    body,
                    json!({"sub_id": {"format": "email", "email": "twenty@example.com"}})
                );
            } else {
                let form: HashMap<String, String> = url::form_urlencoded::parse(&got[0].body)
                    .into_owned()
                    .collect();
                let (header, claims) = verify(s, &form["logout_token"], client_id).await;
                assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
                assert!(claims["exp"].is_i64());
                assert_eq!(claims["sub"], uid.as_str());
                assert!(claims.get("nonce").is_none());
                assert!(
                    claims["events"]
                        .get("http://schemas.openid.net/event/backchannel-logout")
                        .is_some()
                );
            }
        }

        // Every event of the logout shares its transaction id.
        let tx = done["transactionId"].as_str().unwrap();
        let filter = format!("transaction.id eq \"{tx}\"");
        let (status, _, events) = send(
            request(s, Method::GET, "/api/v1/logs")
                .query(&[("filter", filter.as_str()), ("limit", "1000")]),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{events}");
        let count = |t: &str| {
            events
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["eventType"] == t)
                .count()
        };
        assert_eq!(count("user.session.clear"), 1);
        assert_eq!(count("user.authentication.universal_logout"), 1);
        assert_eq!(count("app.universal_logout.delivery"), 20);
        assert_eq!(count("user.session.universal_logout"), 1);
        let started_ev = events
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["eventType"] == "user.authentication.universal_logout")
            .unwrap();
        assert_eq!(
            started_ev["debugContext"]["debugData"]["AppInstanceIds"]
                .as_array()
                .unwrap()
                .len(),
            20
        );

        // The receipt is listed for the user.
        let (status, list) = s.get(&format!("/api/v1/logouts?userId={uid}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list[0]["id"], logout.as_str());
    })
    .await;
}

#[tokio::test]
async fn retries_until_success_and_fails_at_once_on_400() {
    on_every_backend(async |s| {
        let (fake, base) = FakeApps::start().await;
        let user = create_user(s, "flaky@example.com").await;
        let uid = id(&user);
        fake.script("flaky", &[503, 503, 204]);
        fake.script("bad", &[400]);
        let flaky = logout_app(
            s,
            "Flaky",
            "global-token-revocation",
            &format!("{base}/flaky"),
            "email",
            &uid,
        )
        .await;
        let bad = logout_app(
            s,
            "Bad",
            "global-token-revocation",
            &format!("{base}/bad"),
            "email",
            &uid,
        )
        .await;
        let (status, started) = s
            .post(
                &format!("/api/v1/users/{uid}/logout"),
                json!({"scope": "ALL_APPS", "reason": "suspected compromise"}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{started}");
        let logout = started["id"].as_str().unwrap().to_string();
        let done = final_receipt(s, &logout).await;
        assert_eq!(done["status"], "COMPLETED_WITH_FAILURES", "{done:#}");
        assert_eq!(done["reason"], "suspected compromise");
        let f = target(&done, &id(&flaky));
        assert_eq!(f["status"], "SUCCEEDED", "{f}");
        assert_eq!(f["attempts"], 3);
        assert_eq!(f["lastHttpStatus"], 204);
        let b = target(&done, &id(&bad));
        assert_eq!(b["status"], "FAILED", "{b}");
        assert_eq!(b["attempts"], 1);
        assert_eq!(b["lastHttpStatus"], 400);
        assert!(b["lastError"].as_str().unwrap().contains("400"));
        assert_eq!(fake.received("flaky").len(), 3);
        assert_eq!(fake.received("bad").len(), 1);
        // Each attempt has its own jti (receivers reject replays).
        let jtis: std::collections::HashSet<String> = fake
            .received("flaky")
            .iter()
            .map(|r| bearer(r).split('.').nth(1).unwrap().to_string())
            .collect();
        assert_eq!(jtis.len(), 3);

        let deliveries = events(s, "app.universal_logout.delivery", &id(&flaky)).await;
        assert_eq!(deliveries.len(), 3);
        let results: Vec<&str> = deliveries
            .iter()
            .map(|e| e["outcome"]["result"].as_str().unwrap())
            .collect();
        assert_eq!(results.iter().filter(|r| **r == "FAILURE").count(), 2);
        assert_eq!(results.iter().filter(|r| **r == "SUCCESS").count(), 1);
        for e in &deliveries {
            assert_eq!(e["transaction"]["id"], done["transactionId"]);
        }
    })
    .await;
}

#[tokio::test]
async fn receipts_are_listed_by_status() {
    on_every_backend(async |s| {
        let (fake, base) = FakeApps::start().await;
        // One app keeps answering 503: its logout stays IN_PROGRESS (retrying); the other ends.
        fake.script("down", &[503]);
        let stuck = create_user(s, "stuck@example.com").await;
        let done = create_user(s, "done@example.com").await;
        logout_app(
            s,
            "Down",
            "global-token-revocation",
            &format!("{base}/down"),
            "email",
            &id(&stuck),
        )
        .await;
        logout_app(
            s,
            "Up",
            "global-token-revocation",
            &format!("{base}/up"),
            "email",
            &id(&done),
        )
        .await;
        let mut ids = Vec::new();
        for u in [&stuck, &done] {
            let (status, started) = s
                .post(
                    &format!("/api/v1/users/{}/logout", id(u)),
                    json!({"scope": "ALL_APPS"}),
                )
                .await;
            assert_eq!(status, StatusCode::ACCEPTED, "{started}");
            ids.push(started["id"].as_str().unwrap().to_string());
        }
        final_receipt(s, &ids[1]).await;
        ulo_testkit::wait_for(
            "the down app to be tried",
            std::time::Duration::from_secs(20),
            || async { (!fake.received("down").is_empty()).then_some(()) },
        )
        .await;
        let listed = |q: &'static str| async move {
            let (status, list) = s.get(&format!("/api/v1/logouts?{q}")).await;
            assert_eq!(status, StatusCode::OK, "{q}: {list}");
            list.as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["id"].as_str().unwrap().to_string(),
                        r["status"].as_str().unwrap().to_string(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            listed("status=IN_PROGRESS").await,
            vec![(ids[0].clone(), "IN_PROGRESS".into())]
        );
        assert_eq!(
            listed("status=COMPLETED").await,
            vec![(ids[1].clone(), "COMPLETED".into())]
        );
        assert!(listed("status=COMPLETED_WITH_FAILURES").await.is_empty());
        let (status, both) = s.get("/api/v1/logouts").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(both.as_array().unwrap().len(), 2);
        // With a user, both filters apply.
        let (status, list) = s
            .get(&format!(
                "/api/v1/logouts?userId={}&status=IN_PROGRESS",
                id(&done)
            ))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list, json!([]));
        // The next-page link keeps the filter.
        let (status, headers, _) = get_with(
            s,
            "/api/v1/logouts",
            &[("status", "IN_PROGRESS"), ("limit", "1")],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let next = next_link(&headers).expect("a next link");
        assert!(next.contains("status=IN_PROGRESS"), "{next}");
        // An unknown status is refused, naming the problem.
        let (status, body) = s.get("/api/v1/logouts?status=DONE").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.to_string().contains("status"), "{body}");
    })
    .await;
}

#[tokio::test]
async fn dry_run_lists_targets_and_changes_nothing() {
    on_every_backend(async |s| {
        let (_fake, base) = FakeApps::start().await;
        let user = create_user(s, "dry@example.com").await;
        let uid = id(&user);
        let gtr = logout_app(
            s,
            "Email app",
            "global-token-revocation",
            &format!("{base}/e"),
            "email",
            &uid,
        )
        .await;
        let unlinked = logout_app(
            s,
            "Iss-sub app",
            "global-token-revocation",
            &format!("{base}/i"),
            "iss_sub",
            &uid,
        )
        .await;
        let before = snapshot(s).await;
        let (status, planned) = s
            .post(
                &format!("/api/v1/users/{uid}/logout"),
                json!({"scope": "ALL_APPS", "apiTokens": true, "dryRun": true}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{planned}");
        assert_eq!(planned["dryRun"], true);
        assert!(planned.get("id").is_none());
        assert_eq!(target(&planned, &id(&gtr))["status"], "PENDING");
        assert_eq!(target(&planned, &id(&gtr))["reason"], "assigned directly");
        let t = target(&planned, &id(&unlinked));
        assert_eq!(t["status"], "SKIPPED");
        assert_eq!(t["reason"], "user not provisioned to this app");
        assert_eq!(snapshot(s).await, before, "a dry run changed something");
        let (_, list) = s.get(&format!("/api/v1/logouts?userId={uid}")).await;
        assert_eq!(list, json!([]));

        // For real, the unlinked app is skipped and the logout still completes.
        let (status, started) = s
            .post(
                &format!("/api/v1/users/{uid}/logout"),
                json!({"scope": "SPECIFIED_APPS", "appIds": [id(&unlinked)]}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{started}");
        let done = final_receipt(s, started["id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "COMPLETED");
        assert_eq!(target(&done, &id(&unlinked))["status"], "SKIPPED");
        assert!(
            done["targets"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["id"] != id(&gtr).as_str())
        );
    })
    .await;
}

#[tokio::test]
async fn lifecycle_changes_run_a_universal_logout() {
    on_every_backend(async |s| {
        let (fake, base) = FakeApps::start().await;
        let user = create_user(s, "leaver@example.com").await;
        let uid = id(&user);
        logout_app(
            s,
            "App",
            "global-token-revocation",
            &format!("{base}/x"),
            "email",
            &uid,
        )
        .await;
        for op in ["suspend", "unsuspend", "deactivate"] {
            let (status, body) = s
                .post(&format!("/api/v1/users/{uid}/lifecycle/{op}"), json!({}))
                .await;
            assert!(status.is_success(), "{op}: {body}");
        }
        let (status, list) = s.get(&format!("/api/v1/logouts?userId={uid}")).await;
        assert_eq!(status, StatusCode::OK);
        let list = list.as_array().unwrap();
        assert_eq!(
            list.len(),
            2,
            "suspend and deactivate each log out: {list:#?}"
        );
        for l in list {
            assert_eq!(l["reason"], "LIFECYCLE");
            final_receipt(s, l["id"].as_str().unwrap()).await;
        }
        wait_for("both logouts to reach the app", WAIT, || async {
            (fake.received("x").len() == 2).then_some(())
        })
        .await;
    })
    .await;
}

#[tokio::test]
async fn live_receipt_streams_until_final() {
    on_sqlite(async |s| {
        let (fake, base) = FakeApps::start().await;
        let user = create_user(s, "live@example.com").await;
        let uid = id(&user);
        fake.script("slow", &[503, 204]);
        logout_app(
            s,
            "Slow",
            "global-token-revocation",
            &format!("{base}/slow"),
            "email",
            &uid,
        )
        .await;
        let (status, started) = s
            .post(
                &format!("/api/v1/users/{uid}/logout"),
                json!({"scope": "ALL_APPS"}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let resp = request(
            s,
            Method::GET,
            &format!("/api/v1/logouts/{}/stream", started["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        // The stream ends by itself once the receipt is final.
        let mut resp = resp;
        let body = tokio::time::timeout(WAIT, async {
            let mut all = String::new();
            while let Some(c) = resp.chunk().await.unwrap() {
                all.push_str(&String::from_utf8_lossy(&c));
            }
            all
        })
        .await
        .expect("the stream did not end");
        let receipts: Vec<Value> = body
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(|d| serde_json::from_str(d.trim()).unwrap())
            .collect();
        assert!(receipts.len() >= 2, "{body}");
        assert_eq!(receipts[0]["status"], "IN_PROGRESS");
        assert_eq!(receipts.last().unwrap()["status"], "COMPLETED");
        assert!(body.contains("event: receipt"));
    })
    .await;
}

#[tokio::test]
async fn bad_logout_requests_are_refused_and_change_nothing() {
    on_every_backend(async |s| {
        let user = create_user(s, "errs@example.com").await;
        let uid = id(&user);
        let app = create_app(s, "Some app").await;
        let before = snapshot(s).await;
        let path = format!("/api/v1/users/{uid}/logout");
        let cases = [
            (json!({"scope": "EVERYTHING"}), StatusCode::BAD_REQUEST),
            (json!({}), StatusCode::BAD_REQUEST),
            (json!({"scope": "SPECIFIED_APPS"}), StatusCode::BAD_REQUEST),
            (json!({"scope": "ALL_APPS", "appIds": [id(&app)]}), StatusCode::BAD_REQUEST),
            (json!({"scope": "SPECIFIED_APPS", "appIds": ["nope"]}), StatusCode::BAD_REQUEST),
            (
                json!({"scope": "SPECIFIED_APPS", "appIds": ["0190b5a0-0000-7000-8000-000000000000"]}),
                StatusCode::NOT_FOUND,
            ),
            (json!({"scope": "ALL_APPS", "reason": ""}), StatusCode::BAD_REQUEST),
            (json!({"scope": "ALL_APPS", "extra": 1}), StatusCode::BAD_REQUEST),
            // A dry run checks the request like the real thing.
            (
                json!({"scope": "ALL_APPS", "appIds": [id(&app)], "dryRun": true}),
                StatusCode::BAD_REQUEST,
            ),
            (json!({"scope": "ULO_ONLY", "reason": " ", "dryRun": true}), StatusCode::BAD_REQUEST),
        ];
        for (body, want) in cases {
            let (status, answer) = s.post(&path, body.clone()).await;
            assert_eq!(status, want, "{body} → {answer}");
            assert!(answer["errorSummary"].is_string(), "{answer}");
        }
        let (status, _) = s
            .post(
                "/api/v1/users/nobody@example.com/logout",
                json!({"scope": "ALL_APPS"}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(snapshot(s).await, before);
        for path in [
            "/api/v1/logouts/0190b5a0-0000-7000-8000-000000000000",
            "/api/v1/logouts/not-an-id",
            "/api/v1/logouts/not-an-id/stream",
        ] {
            let (status, body) = s.get(path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        }
        let (status, _) = s.get("/api/v1/logouts?after=zzz").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = s.get("/api/v1/logouts?userId=ghost@example.com").await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // A read-only admin may read receipts but not log anyone out.
        let (_, ro_token) = read_only_admin(s, "ro-logout@example.com").await;
        let ro = |m: Method, p: &str| {
            s.http
                .request(m, format!("{}{p}", s.url))
                .header("Authorization", format!("SSWS {ro_token}"))
        };
        let (status, _, _) =
            send(ro(Method::POST, &path).json(&json!({"scope": "ULO_ONLY"}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = send(ro(Method::GET, "/api/v1/logouts")).await;
        assert_eq!(status, StatusCode::OK);
    })
    .await;
}
