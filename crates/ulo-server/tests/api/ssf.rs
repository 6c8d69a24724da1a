//! The Shared Signals transmitter: discovery, stream management by an app's receiver with the
//! credential ulo issued it, verification, push (RFC 8935) and poll (RFC 8936) delivery of CAEP
//! `session-revoked` on Universal Logout and `credential-change` on a password reset.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ulo_testkit::{TestServer, wait_for};

use crate::logout::{FakeApps, final_receipt, logout_app, receipt, target, verify};
use crate::support::*;

pub const SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
const CREDENTIAL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";
const VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";
const WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Issues a receiver credential for `app`.
pub async fn credential(s: &TestServer, app: &Value) -> String {
    let (status, c) = s
        .post(
            &format!("/api/v1/apps/{}/ssf-credentials", id(app)),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    c["token"].as_str().unwrap().to_string()
}

/// A request as `app`'s receiver.
fn receiver(s: &TestServer, token: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
    s.http
        .request(method, format!("{}{path}", s.url))
        .header("Authorization", format!("Bearer {token}"))
}

/// Creates a push stream for `app` to `url` asking for every CAEP event ulo sends.
pub async fn push_stream(s: &TestServer, app: &Value, url: &str) -> (String, Value) {
    let token = credential(s, app).await;
    let (status, _, stream) = send(receiver(s, &token, Method::POST, "/ssf/streams").json(&json!({
        "events_requested": [SESSION_REVOKED, CREDENTIAL_CHANGE],
        "delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": url, "authorization_header": "Bearer receiver-secret"},
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{stream}");
    (token, stream)
}

#[tokio::test]
async fn receivers_manage_their_stream_and_get_verified() {
    on_every_backend(async |s| {
        let (fake, base) = FakeApps::start().await;
        fake.script("r", &[202]);
        let user = create_user(s, "ssf-admin@example.com").await;
        let app = logout_app(s, "SSF app", "ssf", &format!("{base}/unused"), "email", &id(&user)).await;

        let (status, _, meta) = send(anonymous(s, Method::GET, "/.well-known/ssf-configuration")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(meta["spec_version"], "1_0");
        assert_eq!(meta["issuer"], s.url.as_str());
        assert_eq!(meta["configuration_endpoint"], format!("{}/ssf/streams", s.url));
        assert_eq!(
            meta["delivery_methods_supported"],
            json!(["urn:ietf:rfc:8935", "urn:ietf:rfc:8936"])
        );

        // Without ulo's credential nothing is reachable.
        for token in ["", "not-a-credential", s.token.as_str()] {
            let (status, headers, _) = send(receiver(s, token, Method::GET, "/ssf/streams")).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "token {token:?}");
            assert!(headers["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
        }
        let token = credential(s, &app).await;
        let (status, _, none) = send(receiver(s, &token, Method::GET, "/ssf/streams")).await;
        assert_eq!((status, none), (StatusCode::OK, json!([])));

        // Bad configurations are refused and create nothing.
        for bad in [
            json!({"delivery": {"method": "urn:example:carrier-pigeon"}}),
            json!({"delivery": {"method": "urn:ietf:rfc:8935"}}),
            json!({"delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": "http://169.254.169.254/latest"}}),
            json!({"delivery": {"method": "urn:ietf:rfc:8936", "endpoint_url": "https://x.example.com"}}),
            json!({"events_requested": ["not a uri"]}),
            json!({"stream_id": "mine"}),
            json!({"unknown": 1}),
        ] {
            let (status, _, body) =
                send(receiver(s, &token, Method::POST, "/ssf/streams").json(&bad)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} → {body}");
        }

        let (status, _, stream) = send(receiver(s, &token, Method::POST, "/ssf/streams").json(&json!({
            "events_requested": [SESSION_REVOKED, "https://example.com/unsupported"],
            "delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": format!("{base}/r"), "authorization_header": "Bearer receiver-secret"},
            "description": "first",
        })))
        .await;
        assert_eq!(status, StatusCode::CREATED, "{stream}");
        let sid = stream["stream_id"].as_str().unwrap().to_string();
        assert_eq!(stream["iss"], s.url.as_str());
        assert_eq!(stream["aud"], app["oidc"]["clientId"]);
        assert_eq!(stream["events_delivered"], json!([SESSION_REVOKED]));
        assert!(stream["delivery"].get("authorization_header").is_none());
        let (status, _, _) = send(receiver(s, &token, Method::POST, "/ssf/streams").json(&json!({}))).await;
        assert_eq!(status, StatusCode::CONFLICT);

        let (status, _, got) = send(
            receiver(s, &token, Method::GET, "/ssf/streams").query(&[("stream_id", sid.as_str())]),
        )
        .await;
        assert_eq!((status, &got["description"]), (StatusCode::OK, &json!("first")));
        let (status, _, patched) = send(
            receiver(s, &token, Method::PATCH, "/ssf/streams")
                .json(&json!({"stream_id": sid, "description": "second"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert_eq!(patched["description"], "second");
        assert_eq!(patched["events_requested"], stream["events_requested"]);
        let (status, _, _) = send(
            receiver(s, &token, Method::PATCH, "/ssf/streams")
                .json(&json!({"stream_id": "someone-elses", "description": "x"})),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Verification: a SET carrying the receiver's state, signed by ulo, pushed with the
        // receiver's own authorization header.
        let (status, _, _) = send(
            receiver(s, &token, Method::POST, "/ssf/verify")
                .json(&json!({"stream_id": sid, "state": "abc123"})),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        wait_for("the verification event", WAIT, || async {
            (!fake.received("r").is_empty()).then_some(())
        })
        .await;
        let got = &fake.received("r")[0];
        assert_eq!(got.headers["authorization"], "Bearer receiver-secret");
        assert_eq!(got.headers["content-type"], "application/secevent+jwt");
        let (header, claims) = verify(
            s,
            std::str::from_utf8(&got.body).unwrap(),
            app["oidc"]["clientId"].as_str().unwrap(),
        )
        .await;
        assert_eq!(header.typ.as_deref(), Some("secevent+jwt"));
        assert_eq!(claims["events"][VERIFICATION]["state"], "abc123");

        // Status round trip.
        let (status, _, st) = send(
            receiver(s, &token, Method::POST, "/ssf/status")
                .json(&json!({"stream_id": sid, "status": "paused", "reason": "maintenance"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{st}");
        let (_, _, st) = send(
            receiver(s, &token, Method::GET, "/ssf/status").query(&[("stream_id", sid.as_str())]),
        )
        .await;
        assert_eq!(st, json!({"stream_id": sid, "status": "paused", "reason": "maintenance"}));
        let (status, _, _) = send(
            receiver(s, &token, Method::POST, "/ssf/status")
                .json(&json!({"stream_id": sid, "status": "sleepy"})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // Subjects: bad ones refused.
        let (status, _, _) = send(
            receiver(s, &token, Method::POST, "/ssf/subjects:add")
                .json(&json!({"stream_id": sid, "subject": {"format": "phone_number"}})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        let (status, _, _) = send(
            receiver(s, &token, Method::DELETE, "/ssf/streams").query(&[("stream_id", sid.as_str())]),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _, _) = send(
            receiver(s, &token, Method::GET, "/ssf/streams").query(&[("stream_id", sid.as_str())]),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn logout_and_password_reset_reach_push_and_poll_streams() {
    on_every_backend(async |s| {
        let (fake, base) = FakeApps::start().await;
        fake.script("push", &[202]);
        let user = create_user(s, "caep@example.com").await;
        let uid = id(&user);
        let push_app = logout_app(s, "Push", "ssf", &format!("{base}/push"), "email", &uid).await;
        let (_, _) = push_stream(s, &push_app, &format!("{base}/push")).await;
        let poll_app = logout_app(s, "Poll", "ssf", &format!("{base}/none"), "email", &uid).await;
        let poll_token = credential(s, &poll_app).await;
        let (status, _, stream) = send(
            receiver(s, &poll_token, Method::POST, "/ssf/streams").json(&json!({
                "events_requested": [SESSION_REVOKED],
                "delivery": {"method": "urn:ietf:rfc:8936"},
            })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{stream}");
        let poll_url = stream["delivery"]["endpoint_url"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(poll_url.starts_with(&format!("{}/ssf/poll/", s.url)));

        let (status, started) = s
            .post(
                &format!("/api/v1/users/{uid}/logout"),
                json!({"scope": "ALL_APPS"}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{started}");
        let logout = started["id"].as_str().unwrap().to_string();
        // Push: delivered and answered 202.
        let r = wait_for("the push delivery", WAIT, || async {
            let r = receipt(s, &logout).await;
            (target(&r, &id(&push_app))["status"] == "SUCCEEDED").then_some(r)
        })
        .await;
        assert_eq!(target(&r, &id(&push_app))["lastHttpStatus"], 202);
        // Poll: queued; the logout waits for the receiver to take it.
        assert_eq!(r["status"], "IN_PROGRESS");
        let poll = |body: Value| {
            let poll_token = poll_token.clone();
            let poll_url = poll_url.clone();
            async move {
                let (status, _, got) = send(
                    s.http
                        .post(&poll_url)
                        .header("Authorization", format!("Bearer {poll_token}"))
                        .json(&body),
                )
                .await;
                assert_eq!(status, StatusCode::OK, "{got}");
                got
            }
        };
        let got = wait_for("the SET to be queued", WAIT, || async {
            let got = poll(json!({"returnImmediately": true, "maxEvents": 10})).await;
            (!got["sets"].as_object().unwrap().is_empty()).then_some(got)
        })
        .await;
        assert_eq!(got["moreAvailable"], false);
        let (jti, set) = got["sets"].as_object().unwrap().iter().next().unwrap();
        let (_, claims) = verify(
            s,
            set.as_str().unwrap(),
            poll_app["oidc"]["clientId"].as_str().unwrap(),
        )
        .await;
        assert_eq!(&claims["jti"], jti);
        assert_eq!(
            claims["sub_id"],
            json!({"format": "email", "email": "caep@example.com"})
        );
        assert!(claims["events"][SESSION_REVOKED]["event_timestamp"].is_i64());
        // Acknowledging completes the target and the logout.
        let after = poll(json!({"ack": [jti], "returnImmediately": true})).await;
        assert_eq!(after["sets"], json!({}));
        let done = final_receipt(s, &logout).await;
        assert_eq!(done["status"], "COMPLETED", "{done:#}");
        assert_eq!(target(&done, &id(&poll_app))["status"], "SUCCEEDED");

        // A receiver that removed the subject is skipped, and says why.
        let (status, _, _) = send(
            receiver(s, &poll_token, Method::POST, "/ssf/subjects:remove").json(&json!({
                "stream_id": stream["stream_id"],
                "subject": {"format": "email", "email": "CAEP@example.com"},
            })),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, again) = s
            .post(
                &format!("/api/v1/users/{uid}/logout"),
                json!({"scope": "SPECIFIED_APPS", "appIds": [id(&poll_app)]}),
            )
            .await;
        let done = final_receipt(s, again["id"].as_str().unwrap()).await;
        let t = target(&done, &id(&poll_app));
        assert_eq!(t["status"], "SKIPPED", "{t}");
        assert!(
            t["reason"]
                .as_str()
                .unwrap()
                .contains("removed this subject")
        );

        // A password reset sends credential-change to the push stream, which asked for it.
        let before = fake.received("push").len();
        let (status, body) = s
            .post(
                &format!("/api/v1/users/{uid}/credentials/reset_password"),
                json!({"password": {"value": "An0ther-l0ng-passw0rd!"}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let set = wait_for("credential-change", WAIT, || async {
            fake.received("push")
                .into_iter()
                .skip(before)
                .find_map(|r| {
                    let t = String::from_utf8_lossy(&r.body).to_string();
                    let payload = t.split('.').nth(1)?.to_string();
                    use base64::Engine;
                    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .decode(payload)
                        .ok()?;
                    let claims: Value = serde_json::from_slice(&raw).ok()?;
                    claims["events"]
                        .get(CREDENTIAL_CHANGE)
                        .is_some()
                        .then_some(t)
                })
        })
        .await;
        let (_, claims) = verify(s, &set, push_app["oidc"]["clientId"].as_str().unwrap()).await;
        assert_eq!(
            claims["events"][CREDENTIAL_CHANGE]["credential_type"],
            "password"
        );
    })
    .await;
}
