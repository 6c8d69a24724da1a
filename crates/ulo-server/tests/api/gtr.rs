//! ulo receiving a Global Token Revocation request (`POST /oauth2/v1/global-token-revocation`):
//! from a caller with a scoped API token, or from a registered upstream identity provider's
//! signed JWT; every refusal with its status.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ulo_jose::{KeyAlg, KeyRing, SigningKey, generate_key, typ};
use ulo_testkit::TestServer;

use crate::logout::final_receipt;
use crate::support::*;

const PATH: &str = "/oauth2/v1/global-token-revocation";

async fn call(
    s: &TestServer,
    auth: Option<&str>,
    body: &Value,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut req = anonymous(s, Method::POST, PATH).json(body);
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    send(req).await
}

/// A scoped token of the super admin.
async fn scoped_token(s: &TestServer) -> String {
    let (status, t) = s
        .post(
            "/api/v1/api-tokens",
            json!({"name": "upstream IdP", "scopes": ["ulo.universalLogout.manage"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    assert_eq!(t["scopes"], json!(["ulo.universalLogout.manage"]));
    t["token"].as_str().unwrap().to_string()
}

fn logout_of(headers: &reqwest::header::HeaderMap) -> String {
    headers["location"]
        .to_str()
        .unwrap()
        .strip_prefix("/api/v1/logouts/")
        .expect("Location of the receipt")
        .to_string()
}

#[tokio::test]
async fn a_scoped_api_token_logs_users_out_by_email_opaque_or_iss_sub() {
    on_every_backend(async |s| {
        let (_, _, meta) = send(anonymous(
            s,
            Method::GET,
            "/.well-known/openid-configuration",
        ))
        .await;
        assert_eq!(
            meta["global_token_revocation_endpoint"],
            format!("{}{PATH}", s.url)
        );
        let token = scoped_token(s).await;
        let bearer = format!("Bearer {token}");
        // The scope opens this endpoint only, not the admin API.
        let (status, _, body) =
            send(anonymous(s, Method::GET, "/api/v1/users").header("Authorization", &bearer)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

        let user = create_user(s, "upstream@example.com").await;
        let uid = id(&user);
        let subjects = [
            json!({"sub_id": {"format": "email", "email": "upstream@example.com"}}),
            json!({"sub_id": {"format": "opaque", "id": uid}}),
            json!({"subject": {"format": "iss_sub", "iss": s.url, "sub": uid}}),
        ];
        for body in subjects {
            let (status, headers, answer) = call(s, Some(&bearer), &body).await;
            assert_eq!(status, StatusCode::NO_CONTENT, "{body} → {answer}");
            let done = final_receipt(s, &logout_of(&headers)).await;
            assert_eq!(done["reason"], "UPSTREAM");
            assert_eq!(done["userId"], uid.as_str());
        }
        let ev = events(s, "user.authentication.universal_logout", &uid).await;
        assert_eq!(ev.len(), 3);
        assert_eq!(ev[0]["debugContext"]["debugData"]["reason"], "UPSTREAM");
    })
    .await;
}

#[tokio::test]
async fn bad_global_token_revocation_requests_get_their_status() {
    on_every_backend(async |s| {
        create_user(s, "someone@example.com").await;
        let token = scoped_token(s).await;
        let bearer = format!("Bearer {token}");
        let ok_body = json!({"sub_id": {"format": "email", "email": "someone@example.com"}});
        let (_, ro) = read_only_admin(s, "ro-gtr@example.com").await;

        let (status, headers, body) = call(s, None, &ok_body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(headers.contains_key("www-authenticate"));
        assert_eq!(body["error"], "invalid_token");
        let (status, _, _) = call(s, Some("Bearer ulo_not_a_real_token_0123456789"), &ok_body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _, _) = call(s, Some("Basic Zm9vOmJhcg=="), &ok_body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        // An unrestricted token of a read-only admin lacks the right.
        let (status, _, body) = call(s, Some(&format!("SSWS {ro}")), &ok_body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"], "insufficient_scope");
        // Refused callers are recorded: the first of the window on its own, the rest counted.
        let refused = blocked_events(s).await;
        assert_eq!(refused.len(), 1, "{refused:#?}");
        let before = snapshot(s).await;

        for bad in [
            json!({}),
            json!({"sub_id": "someone@example.com"}),
            json!({"sub_id": {"format": "phone_number", "phone_number": "+1"}}),
            json!({"sub_id": {"format": "email"}}),
        ] {
            let (status, _, body) = call(s, Some(&bearer), &bad).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} → {body}");
            assert_eq!(body["error"], "invalid_request");
        }
        let (status, _, _) = send(
            anonymous(s, Method::POST, PATH)
                .header("Authorization", &bearer)
                .header("Content-Type", "text/plain")
                .body("sub_id"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        for unknown in [
            json!({"sub_id": {"format": "email", "email": "nobody@example.com"}}),
            json!({"sub_id": {"format": "opaque", "id": "0190b5a0-0000-7000-8000-000000000000"}}),
            json!({"sub_id": {"format": "iss_sub", "iss": "https://other.example.com", "sub": "x"}}),
        ] {
            let (status, _, body) = call(s, Some(&bearer), &unknown).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{unknown} → {body}");
        }
        assert_eq!(snapshot(s).await, before);
    })
    .await;
}

/// The System Log's events about refused requests, oldest first.
async fn blocked_events(s: &TestServer) -> Vec<Value> {
    let (status, _, body) = get_with(
        s,
        "/api/v1/logs",
        &[
            ("filter", r#"eventType eq "security.request.blocked""#),
            ("limit", "1000"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().cloned().unwrap_or_default()
}

async fn event_count(s: &TestServer) -> usize {
    let (status, _, body) = get_with(s, "/api/v1/logs", &[("limit", "1000")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_flood_of_refused_requests_writes_a_handful_of_events_and_valid_requests_still_pass() {
    on_every_backend(async |s| {
        create_user(s, "flood@example.com").await;
        let (ring, jwks) = idp_key();
        let issuer = "https://idp.example.com";
        let (status, idp) = s
            .post("/api/v1/idps", json!({"name": "Upstream IdP", "issuer": issuer, "jwks": jwks}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{idp}");
        let (forger, _) = idp_key();
        let now = ulo_testkit::now().unix_timestamp();
        let aud = format!("{}{PATH}", s.url);
        let claims = |jti: &str| json!({"iss": issuer, "aud": aud, "iat": now, "exp": now + 120, "jti": jti});
        let body = json!({"sub_id": {"format": "email", "email": "flood@example.com"}});
        let forged = forger
            .sign(KeyAlg::ES256, typ::GLOBAL_TOKEN_REVOCATION, &claims("forged"))
            .unwrap();
        let garbage = [
            None,
            Some("Bearer ulo_not_a_real_token_0123456789".to_string()),
            Some("Bearer a.b.c".to_string()),
            Some(format!("Bearer {forged}")),
        ];
        let events_before = event_count(s).await;
        let mut throttled = 0;
        for n in 0..300 {
            let auth = &garbage[n % garbage.len()];
            let (status, headers, answer) = call(s, auth.as_deref(), &body).await;
            if n < 10 {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "request {n}: {answer}");
            } else {
                assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "request {n}: {answer}");
                let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
                assert!((1..=60).contains(&wait), "{wait}");
                throttled += 1;
            }
        }
        let written = event_count(s).await - events_before;
        assert!(written <= 3, "300 refused requests wrote {written} events");

        // A valid signed request from the same (throttled) address is served.
        let good = ring
            .sign(KeyAlg::ES256, typ::GLOBAL_TOKEN_REVOCATION, &claims("valid"))
            .unwrap();
        let (status, headers, answer) = call(s, Some(&format!("Bearer {good}")), &body).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
        final_receipt(s, &logout_of(&headers)).await;

        // The window's tally becomes one counted event (as at the window's end or shutdown).
        s.running.as_ref().unwrap().state.record_refusal_tallies(true).await;
        let refused = blocked_events(s).await;
        assert_eq!(refused.len(), 2, "{refused:#?}");
        let first = &refused[0]["debugContext"]["debugData"];
        assert_eq!(first["refusals"], 1, "{refused:#?}");
        assert_eq!(refused[0]["client"]["ipAddress"], "127.0.0.1");
        assert_eq!(refused[0]["outcome"]["result"], "FAILURE");
        let tally = &refused[1]["debugContext"]["debugData"];
        assert_eq!(tally["refusals"], 299, "{refused:#?}");
        assert_eq!(tally["throttled"], throttled, "{refused:#?}");
        assert_eq!(tally["endpoint"], PATH);
        assert_eq!(refused[1]["client"]["ipAddress"], "127.0.0.1");
    })
    .await;
}

/// An upstream identity provider's signing key.
fn idp_key() -> (KeyRing, Value) {
    let k = generate_key(KeyAlg::ES256).unwrap();
    let signing =
        SigningKey::from_pkcs8_der(k.kid.clone(), KeyAlg::ES256, &k.private_pkcs8_der).unwrap();
    let ring = KeyRing::new(vec![signing], vec![k.public_jwk.clone()]).unwrap();
    (ring, json!({"keys": [k.public_jwk]}))
}

#[tokio::test]
async fn a_registered_identity_provider_signs_its_requests() {
    on_every_backend(async |s| {
        let user = create_user(s, "idp-user@example.com").await;
        let (ring, jwks) = idp_key();
        let issuer = "https://idp.example.com";
        for bad in [
            json!({"name": "IdP", "issuer": "not a url", "jwks": jwks}),
            json!({"name": "IdP", "issuer": issuer, "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}),
            json!({"name": "", "issuer": issuer, "jwks": jwks}),
        ] {
            let (status, body) = s.post("/api/v1/idps", bad.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} → {body}");
        }
        let (status, idp) = s
            .post("/api/v1/idps", json!({"name": "Upstream IdP", "issuer": issuer, "jwks": jwks}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{idp}");
        let (status, _) = s
            .post("/api/v1/idps", json!({"name": "Again", "issuer": issuer, "jwks": jwks}))
            .await;
        assert_eq!(status, StatusCode::CONFLICT);

        let now = ulo_testkit::now().unix_timestamp();
        let aud = format!("{}{PATH}", s.url);
        let jwt = |claims: Value, t: &str| ring.sign(KeyAlg::ES256, t, &claims).unwrap();
        let claims = |jti: &str| json!({"iss": issuer, "aud": aud, "iat": now, "exp": now + 120, "jti": jti});
        let body = json!({"sub_id": {"format": "email", "email": "idp-user@example.com"}});

        let good = jwt(claims("one"), typ::GLOBAL_TOKEN_REVOCATION);
        let (status, headers, answer) = call(s, Some(&format!("Bearer {good}")), &body).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
        let done = final_receipt(s, &logout_of(&headers)).await;
        assert_eq!(done["initiatedBy"]["type"], "IdentityProvider");
        assert_eq!(done["initiatedBy"]["alternateId"], issuer);
        assert_eq!(done["userId"], user["id"]);
        // The same JWT again is a replay.
        let (status, _, _) = call(s, Some(&format!("Bearer {good}")), &body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        let (other, _) = idp_key();
        let mut wrong_aud = claims("two");
        wrong_aud["aud"] = json!("https://elsewhere.example.com");
        let mut too_long = claims("three");
        too_long["exp"] = json!(now + 3600);
        let mut expired = claims("four");
        expired["iat"] = json!(now - 600);
        expired["exp"] = json!(now - 400);
        let mut unknown_iss = claims("five");
        unknown_iss["iss"] = json!("https://stranger.example.com");
        let mut no_jti = claims("six");
        no_jti.as_object_mut().unwrap().remove("jti");
        let forged = other
            .sign(KeyAlg::ES256, typ::GLOBAL_TOKEN_REVOCATION, &claims("seven"))
            .unwrap();
        for (what, token) in [
            ("wrong aud", jwt(wrong_aud, typ::GLOBAL_TOKEN_REVOCATION)),
            ("lives too long", jwt(too_long, typ::GLOBAL_TOKEN_REVOCATION)),
            ("expired", jwt(expired, typ::GLOBAL_TOKEN_REVOCATION)),
            ("unknown issuer", jwt(unknown_iss, typ::GLOBAL_TOKEN_REVOCATION)),
            ("no jti", jwt(no_jti, typ::GLOBAL_TOKEN_REVOCATION)),
            ("wrong typ", jwt(claims("eight"), typ::LOGOUT)),
            ("signed by another key", forged),
        ] {
            let (status, _, answer) = call(s, Some(&format!("Bearer {token}")), &body).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {answer}");
        }

        let (status, list) = s.get("/api/v1/idps").await;
        assert_eq!((status, list.as_array().unwrap().len()), (StatusCode::OK, 1));
        let (status, _) = s.delete(&format!("/api/v1/idps/{}", idp["id"].as_str().unwrap())).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let fresh = jwt(claims("nine"), typ::GLOBAL_TOKEN_REVOCATION);
        let (status, _, _) = call(s, Some(&format!("Bearer {fresh}")), &body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "a removed provider is not trusted");
    })
    .await;
}

/// The API_TOKENS target of a receipt.
fn api_tokens_target(receipt: &Value) -> &Value {
    receipt["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "API_TOKENS")
        .unwrap_or_else(|| panic!("no API_TOKENS target in {receipt:#}"))
}

/// Whether the super admin's token still works on the admin API.
async fn admin_token_works(s: &TestServer) -> bool {
    s.get("/api/v1/users?limit=1").await.0 == StatusCode::OK
}

#[tokio::test]
async fn a_scoped_token_or_upstream_idp_logging_out_the_super_admin_leaves_admin_tokens_working() {
    on_every_backend(async |s| {
        let admin = admin_id(s).await;
        let body = json!({"sub_id": {"format": "email", "email": ADMIN_LOGIN}});

        // A token limited to logging users out, naming the super admin.
        let scoped = scoped_token(s).await;
        let (status, headers, answer) = call(s, Some(&format!("Bearer {scoped}")), &body).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
        let receipt = final_receipt(s, &logout_of(&headers)).await;
        assert_eq!(receipt["userId"], admin.as_str());
        let t = api_tokens_target(&receipt);
        assert_eq!(t["status"], "SKIPPED", "{receipt:#}");
        assert!(
            t["reason"].as_str().unwrap().contains("unrestricted token"),
            "{t}"
        );
        assert!(admin_token_works(s).await, "the admin token was revoked");
        // The scoped token itself still works too: nothing of the admin's was revoked.
        let (status, _, answer) = call(s, Some(&format!("Bearer {scoped}")), &body).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");

        // A registered upstream identity provider's signed request, naming the super admin.
        let (ring, jwks) = idp_key();
        let issuer = "https://idp.example.com";
        let (status, idp) = s
            .post(
                "/api/v1/idps",
                json!({"name": "Upstream IdP", "issuer": issuer, "jwks": jwks}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{idp}");
        let now = ulo_testkit::now().unix_timestamp();
        let claims = json!({"iss": issuer, "aud": format!("{}{PATH}", s.url), "iat": now,
                            "exp": now + 120, "jti": "lockout-attempt"});
        let jwt = ring
            .sign(KeyAlg::ES256, typ::GLOBAL_TOKEN_REVOCATION, &claims)
            .unwrap();
        let (status, headers, answer) = call(s, Some(&format!("Bearer {jwt}")), &body).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
        let receipt = final_receipt(s, &logout_of(&headers)).await;
        assert_eq!(api_tokens_target(&receipt)["status"], "SKIPPED");
        assert!(admin_token_works(s).await, "the admin token was revoked");
        let (status, tokens) = s.get("/api/v1/api-tokens").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            tokens
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["revoked"].is_null()),
            "{tokens:#}"
        );
    })
    .await;
}

#[tokio::test]
async fn the_last_working_super_admin_token_survives_its_owners_logout() {
    on_every_backend(async |s| {
        let admin = admin_id(s).await;
        // A second, unused token of the same admin: revoked; the one in use is kept.
        let (status, spare) = s.post("/api/v1/api-tokens", json!({"name": "spare"})).await;
        assert_eq!(status, StatusCode::CREATED, "{spare}");
        let logout = json!({"scope": "ULO_ONLY", "apiTokens": true, "reason": "self"});
        let (status, preview) = s
            .post(
                &format!("/api/v1/users/{admin}/logout"),
                json!({"scope": "ULO_ONLY", "apiTokens": true, "dryRun": true}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{preview}");
        assert_eq!(api_tokens_target(&preview)["count"], 1, "{preview:#}");
        assert_eq!(api_tokens_target(&preview)["lastHttpStatus"], 409);

        let (status, started) = s
            .post(&format!("/api/v1/users/{admin}/logout"), logout.clone())
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{started}");
        let receipt = final_receipt(s, started["id"].as_str().unwrap()).await;
        assert_eq!(receipt["status"], "COMPLETED_WITH_FAILURES", "{receipt:#}");
        let t = api_tokens_target(&receipt);
        assert_eq!(t["status"], "FAILED");
        assert_eq!(t["lastHttpStatus"], 409);
        assert_eq!(t["count"], 1);
        assert!(
            t["lastError"]
                .as_str()
                .unwrap()
                .contains("last working SUPER_ADMIN API token"),
            "{t}"
        );
        assert!(
            admin_token_works(s).await,
            "the break-glass token was revoked"
        );
        let events = events(s, "system.api_token.revoke", &admin).await;
        assert_eq!(events.len(), 2, "{events:#?}");
        assert!(
            events.iter().any(|e| e["outcome"]["result"] == "FAILURE"
                && e["outcome"]["reason"] == "LAST_SUPER_ADMIN_TOKEN"),
            "{events:#?}"
        );
        let spare_id = spare["id"].as_str().unwrap();
        assert!(
            events.iter().any(|e| e["outcome"]["result"] == "SUCCESS"
                && e["target"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t["id"] == spare_id)),
            "{events:#?}"
        );

        // With another SUPER_ADMIN holding a working token, nothing is kept.
        let second = create_user(s, "second-admin@example.com").await;
        let (status, _) = s
            .post(
                &format!("/api/v1/users/{}/roles", id(&second)),
                json!({"type": "SUPER_ADMIN"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let running = s.running.as_ref().unwrap();
        running
            .state
            .directory()
            .create_api_token(
                &ulo_core::context::Context::system("TEST"),
                id(&second).parse().unwrap(),
                "second admin's token",
                None,
                None,
            )
            .await
            .unwrap();
        let (status, started) = s
            .post(&format!("/api/v1/users/{admin}/logout"), logout)
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{started}");
        // ULO_ONLY is final at once; the receipt in the answer is the last one this token reads.
        let receipt = started;
        assert_eq!(receipt["status"], "COMPLETED", "{receipt:#}");
        assert_eq!(api_tokens_target(&receipt)["status"], "SUCCEEDED");
        assert_eq!(api_tokens_target(&receipt)["count"], 1);
        assert!(
            !admin_token_works(s).await,
            "every token of the admin is revoked"
        );
    })
    .await;
}
