//! The Universal Logout receiver: what it refuses (forged, expired, replayed, wrong audience,
//! another app's), a person not created by SCIM (404, FAILED at ulo), and a connector outage
//! (ROTATION_PENDING, then rotated once the app is back).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ulo_jose::{KeyAlg, KeyRing, SigningKey, generate_key, typ};
use ulo_vault::clock::{Clock, SystemClock};

use crate::support::*;

/// Claims of a Global Token Revocation request to the harness's vault.
fn claims(h: &Harness, jti: &str, now: i64) -> Value {
    json!({
        "iss": h.ulo.url,
        "sub": h.ulo_app.client_id,
        "aud": format!("{}/global-token-revocation", h.vault.url),
        "jti": jti,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    })
}

fn ulo_keys(h: &Harness) -> std::sync::Arc<KeyRing> {
    h.ulo.running.as_ref().expect("ulo runs").state.keys()
}

async fn send(h: &Harness, token: &str, sub: &str) -> (StatusCode, Value) {
    answer(
        h.http
            .post(format!("{}/global-token-revocation", h.vault.url))
            .bearer_auth(token)
            .json(&json!({"sub_id": {"format": "iss_sub", "iss": h.ulo.url, "sub": sub}}))
            .send()
            .await
            .expect("send"),
    )
    .await
}

#[tokio::test]
async fn forged_expired_replayed_and_misaddressed_requests_are_refused() {
    for backend in ulo_testkit::backends() {
        let h = Harness::start(backend).await;
        let uid = h.ulo_person("lin@example.com", "Lin").await;
        h.assign(&uid).await;
        let vault_id = h.wait_provisioned(&uid).await;
        let keys = ulo_keys(&h);
        let now = SystemClock.now().unix_timestamp();
        let sign = |c: &Value| {
            keys.sign(KeyAlg::ES256, typ::GLOBAL_TOKEN_REVOCATION, c)
                .unwrap()
        };

        // Another key, with a kid ulo never published.
        let other = generate_key(KeyAlg::ES256).unwrap();
        let forged_ring = KeyRing::new(
            vec![
                SigningKey::from_pkcs8_der(other.kid.clone(), other.alg, &other.private_pkcs8_der)
                    .unwrap(),
            ],
            vec![other.public_jwk.clone()],
        )
        .unwrap();
        let forged = forged_ring
            .sign(
                KeyAlg::ES256,
                typ::GLOBAL_TOKEN_REVOCATION,
                &claims(&h, "forged-1", now),
            )
            .unwrap();
        let (status, body) = send(&h, &forged, &vault_id).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "forged: {body}");

        let mut expired = claims(&h, "expired-1", now - 1000);
        expired["exp"] = json!(now - 700);
        let (status, body) = send(&h, &sign(&expired), &vault_id).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "expired: {body}");

        let mut elsewhere = claims(&h, "aud-1", now);
        elsewhere["aud"] = json!("http://127.0.0.1:9/global-token-revocation");
        let (status, body) = send(&h, &sign(&elsewhere), &vault_id).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "wrong audience: {body}");

        let mut other_app = claims(&h, "sub-1", now);
        other_app["sub"] = json!("another-client");
        let (status, body) = send(&h, &sign(&other_app), &vault_id).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "another app's: {body}");

        // A good one works once; the same token again is a replay.
        let good = sign(&claims(&h, "good-1", now));
        let (status, body) = send(&h, &good, &vault_id).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let (status, body) = send(&h, &good, &vault_id).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "replayed: {body}");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("already used")
        );

        let done = h.audit("jti eq \"good-1\"").await;
        assert_eq!(done[0]["type"], "person.universal_logout", "{done:#?}");
        assert_eq!(done[0]["outcome"], "SUCCESS");
        // The first refusal is audited at once; the other four are tallied for the window.
        let refused = h.audit("type eq \"universal_logout.reject\"").await;
        assert_eq!(refused.len(), 1, "{refused:#?}");
        h.vault.vault.audit_refusal_tallies(true).await;
        let refused = h.audit("type eq \"universal_logout.reject\"").await;
        assert_eq!(refused.len(), 2, "{refused:#?}");
        assert_eq!(refused[0]["detail"]["refusals"], 1);
        assert_eq!(refused[1]["detail"]["refusals"], 4, "{refused:#?}");
        assert!(refused.iter().all(|e| e["outcome"] == "FAILURE"));
        // The same, two at a time: each page starts after the last id of the one before.
        let mut paged = Vec::new();
        let mut after = String::new();
        loop {
            let (status, page) = h
                .admin(
                    Method::GET,
                    &format!(
                        "/api/audit?limit=2&after={after}&filter={}",
                        urlencode("type eq \"UNIVERSAL_LOGOUT.reject\"")
                    ),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            let page = page.as_array().unwrap().clone();
            assert!(page.len() <= 2);
            let Some(last) = page.last() else { break };
            after = last["id"].as_str().unwrap().to_string();
            paged.extend(page);
        }
        assert_eq!(paged, refused);
        h.stop().await;
    }
}

#[tokio::test]
async fn a_flood_of_bad_requests_writes_a_handful_of_rows_and_a_valid_request_still_passes() {
    for backend in ulo_testkit::backends() {
        let h = Harness::start(backend).await;
        let uid = h.ulo_person("flo@example.com", "Flo").await;
        h.assign(&uid).await;
        let vault_id = h.wait_provisioned(&uid).await;
        let url = format!("{}/global-token-revocation", h.vault.url);
        let rows_before = h.audit("id pr").await.len();
        let mut throttled = 0;
        for n in 0..300 {
            let resp = h
                .http
                .post(&url)
                .bearer_auth(format!("garbage-{n}"))
                .body("not json")
                .send()
                .await
                .expect("send");
            if n < 10 {
                assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "request {n}");
            } else {
                assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS, "request {n}");
                let wait: u64 = resp.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=60).contains(&wait), "{wait}");
                throttled += 1;
            }
        }
        let rows = h.audit("type eq \"universal_logout.reject\"").await;
        assert!(
            rows.len() <= 3,
            "300 bad requests wrote {} rows",
            rows.len()
        );
        let written = h.audit("id pr").await.len() - rows_before;
        assert!(written <= 3, "300 bad requests wrote {written} audit rows");

        // ulo's signed request from the same address is served.
        let keys = ulo_keys(&h);
        let now = SystemClock.now().unix_timestamp();
        let good = keys
            .sign(
                KeyAlg::ES256,
                typ::GLOBAL_TOKEN_REVOCATION,
                &claims(&h, "after-flood", now),
            )
            .unwrap();
        let (status, body) = send(&h, &good, &vault_id).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

        // The window's tally is one counted row (at the window's end, or at shutdown).
        h.vault.vault.audit_refusal_tallies(true).await;
        let rows = h.audit("type eq \"universal_logout.reject\"").await;
        assert_eq!(rows.len(), 2, "{rows:#?}");
        assert_eq!(rows[0]["detail"]["address"], "127.0.0.1");
        assert_eq!(rows[0]["detail"]["refusals"], 1);
        assert_eq!(rows[1]["detail"]["address"], "127.0.0.1");
        assert_eq!(rows[1]["detail"]["refusals"], 299, "{rows:#?}");
        assert_eq!(rows[1]["detail"]["throttled"], throttled);
        h.stop().await;
    }
}

#[tokio::test]
async fn a_request_accepted_before_a_restart_is_refused_as_a_replay_after_it() {
    for backend in ulo_testkit::backends() {
        let h = Harness::start(backend).await;
        let uid = h.ulo_person("ren@example.com", "Ren").await;
        h.assign(&uid).await;
        let vault_id = h.wait_provisioned(&uid).await;
        let keys = ulo_keys(&h);
        let now = SystemClock.now().unix_timestamp();
        let sign = |c: &Value| {
            keys.sign(KeyAlg::ES256, typ::GLOBAL_TOKEN_REVOCATION, c)
                .unwrap()
        };
        let captured = sign(&claims(&h, "captured-1", now));
        let (status, body) = send(&h, &captured, &vault_id).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

        // A fresh vault process on the same database: nothing in memory remembers the jti.
        let h = h.restart_vault().await;
        let (status, body) = send(&h, &captured, &vault_id).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "replayed after restart: {body}"
        );
        assert!(
            body["error_description"]
                .as_str()
                .unwrap_or_default()
                .contains("already used"),
            "{body}"
        );
        let done = h.audit("jti eq \"captured-1\"").await;
        assert_eq!(done.len(), 1, "the logout ran once: {done:#?}");
        let refused = h.audit("type eq \"universal_logout.reject\"").await;
        assert_eq!(refused.len(), 1, "{refused:#?}");
        assert_eq!(refused[0]["detail"]["httpStatus"], 401);

        // Two deliveries of one request at once: the jti's primary key lets exactly one in.
        let twice = sign(&claims(&h, "concurrent-1", now));
        let (a, b) = tokio::join!(send(&h, &twice, &vault_id), send(&h, &twice, &vault_id));
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::NO_CONTENT, StatusCode::UNAUTHORIZED],
            "{a:?} {b:?}"
        );
        assert_eq!(h.audit("jti eq \"concurrent-1\"").await.len(), 1);
        h.stop().await;
    }
}

#[tokio::test]
async fn a_person_not_created_by_scim_is_404_and_ulo_records_the_failure() {
    for backend in ulo_testkit::backends() {
        let h = Harness::start(backend).await;
        // Created in the vault by hand; ulo then finds and adopts the account (SCIM 409 →
        // search → PATCH), but the vault never got them by SCIM.
        let (status, bob) = h
            .admin(
                Method::POST,
                "/api/people",
                Some(json!({"userName": "bob@example.com", "email": "bob@example.com"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{bob}");
        assert_eq!(bob["provisionedBy"], "admin");
        let uid = h.ulo_person("bob@example.com", "Bob").await;
        h.assign(&uid).await;
        let remote = h.wait_provisioned(&uid).await;
        assert_eq!(
            remote,
            bob["id"].as_str().unwrap(),
            "ulo adopted the hand-made person"
        );

        let (status, started) = h
            .ulo
            .post(
                &format!("/api/v1/users/{uid}/logout"),
                json!({"scope": "ALL_APPS", "reason": "test"}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{started}");
        let receipt = final_receipt(&h.ulo, started["id"].as_str().unwrap()).await;
        let target = app_target(&receipt, &h.ulo_app.app_id);
        assert_eq!(target["status"], "FAILED", "{receipt:#}");
        assert_eq!(target["lastHttpStatus"], 404);
        assert!(
            target["lastError"]
                .as_str()
                .unwrap_or_default()
                .contains("unknown_user"),
            "{target}"
        );
        let events = h.audit("type eq \"person.universal_logout\"").await;
        assert_eq!(events.len(), 1, "{events:#?}");
        assert_eq!(events[0]["outcome"], "FAILURE");
        assert!(
            events[0]["reason"]
                .as_str()
                .unwrap()
                .contains("not created by SCIM"),
            "{events:#?}"
        );
        assert!(events[0]["jti"].is_string());
        h.stop().await;
    }
}

#[tokio::test]
async fn a_connector_outage_leaves_the_account_rotation_pending_until_the_app_returns() {
    for backend in ulo_testkit::backends() {
        let h = Harness::start(backend).await;
        let (demo_app, demo) = demo(&[("vendor-portal", "old-Passw0rd-portal")]).await;
        let addr = demo.addr;
        let uid = h.provisioned_person("kim@example.com", "Kim").await;
        h.provisioned_person("max@example.com", "Max").await;
        let account = h
            .shared_account(
                &demo.url,
                "vendor-portal",
                "old-Passw0rd-portal",
                &["kim@example.com", "max@example.com"],
            )
            .await;
        demo.stop().await;

        let (status, started) = h
            .ulo
            .post(
                &format!("/api/v1/users/{uid}/logout"),
                json!({"scope": "ALL_APPS", "reason": "test"}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{started}");
        let receipt = final_receipt(&h.ulo, started["id"].as_str().unwrap()).await;
        assert_eq!(
            app_target(&receipt, &h.ulo_app.app_id)["status"],
            "SUCCEEDED"
        );

        // The app is down: the account says so, and the vault keeps trying.
        let pending = ulo_testkit::wait_for("a failed rotation attempt", WAIT, || async {
            let (_, a) = h
                .admin(Method::GET, &format!("/api/accounts/{account}"), None)
                .await;
            a["rotationError"].is_string().then_some(a)
        })
        .await;
        assert_eq!(pending["status"], "ROTATION_PENDING", "{pending}");
        assert!(pending["rotatedAt"].is_null());
        assert!(
            pending["rotationError"]
                .as_str()
                .unwrap()
                .contains("could not be reached"),
            "{pending}"
        );
        let failures = h
            .audit("type eq \"account.password.rotate\" and outcome eq \"FAILURE\"")
            .await;
        assert!(!failures.is_empty());
        assert_eq!(failures[0]["detail"]["willRetry"], true, "{failures:#?}");
        // Admins see it in the list too.
        let (_, all) = h.admin(Method::GET, "/api/accounts", None).await;
        assert_eq!(all[0]["status"], "ROTATION_PENDING");

        // The app comes back (same address, same accounts): the next retry rotates.
        let listener = tokio::net::TcpListener::bind(addr).await.expect("rebind");
        let demo = ulo_vault::demo_app::DemoServer::start(demo_app, listener).unwrap();
        let rotated = ulo_testkit::wait_for("the rotation after the outage", WAIT, || async {
            let (_, a) = h
                .admin(Method::GET, &format!("/api/accounts/{account}"), None)
                .await;
            (a["status"] == "OK").then_some(a)
        })
        .await;
        assert!(rotated["rotatedAt"].is_string(), "{rotated}");
        assert!(rotated["rotationError"].is_null());
        assert!(
            demo_sign_in(&demo.url, "vendor-portal", "old-Passw0rd-portal")
                .await
                .is_none()
        );
        let max = browser();
        sign_in_to_vault(&max, &h, "max@example.com").await;
        let (status, new) = reveal(&max, &h, &account).await;
        assert_eq!(status, StatusCode::OK, "{new}");
        assert!(
            demo_sign_in(
                &demo.url,
                "vendor-portal",
                new["password"].as_str().unwrap()
            )
            .await
            .is_some()
        );
        demo.stop().await;
        h.stop().await;
    }
}
