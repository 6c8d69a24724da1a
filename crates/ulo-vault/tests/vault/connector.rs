//! The demo app's connector: signed requests set passwords and end sessions; bad signatures,
//! stale timestamps and replays are refused.

use reqwest::StatusCode;
use ulo_vault::clock::{Clock, SystemClock};
use ulo_vault::connector::{Action, ConnectorClient, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};

use crate::support::*;

#[tokio::test]
async fn the_demo_app_connector_acts_only_on_fresh_signed_requests() {
    let (app, demo) = demo(&[("ops", "first-Passw0rd")]).await;
    let url = format!("{}/connector", demo.url);
    let client =
        ConnectorClient::new(loopback_allowed(), std::time::Duration::from_secs(5)).unwrap();
    let now = SystemClock.now().unix_timestamp();
    let cookie = demo_sign_in(&demo.url, "ops", "first-Passw0rd")
        .await
        .unwrap();
    assert!(demo_sign_in(&demo.url, "ops", "wrong").await.is_none());
    assert_eq!(
        demo_me(&demo.url, "demo_session=nope").await,
        StatusCode::UNAUTHORIZED
    );

    let set = Action::SetPassword {
        username: "ops".into(),
        password: "second-Passw0rd".into(),
    };
    let bad = client
        .call(&url, "not-the-secret-at-all", &set, now)
        .await
        .unwrap_err();
    assert_eq!(bad.status, Some(401));
    assert!(bad.message.contains("signature"), "{}", bad.message);
    assert!(!bad.retryable);
    let stale = client
        .call(&url, CONNECTOR_SECRET, &set, now - 3600)
        .await
        .unwrap_err();
    assert_eq!(stale.status, Some(401));
    assert!(
        stale.message.contains("away from this server's clock"),
        "{}",
        stale.message
    );
    let unknown = Action::EndSessions {
        username: "nobody".into(),
    };
    assert_eq!(
        client
            .call(&url, CONNECTOR_SECRET, &unknown, now)
            .await
            .unwrap_err()
            .status,
        Some(404)
    );
    assert!(
        demo_sign_in(&demo.url, "ops", "second-Passw0rd")
            .await
            .is_none(),
        "nothing changed"
    );

    assert_eq!(
        client.call(&url, CONNECTOR_SECRET, &set, now).await,
        Ok(204)
    );
    assert!(
        demo_sign_in(&demo.url, "ops", "first-Passw0rd")
            .await
            .is_none()
    );
    assert!(
        demo_sign_in(&demo.url, "ops", "second-Passw0rd")
            .await
            .is_some()
    );

    // The same signed request again is a replay.
    let body = serde_json::to_vec(&Action::EndSessions {
        username: "ops".into(),
    })
    .unwrap();
    let send = || {
        reqwest::Client::new()
            .post(&url)
            .header(TIMESTAMP_HEADER, now.to_string())
            .header(SIGNATURE_HEADER, sign(CONNECTOR_SECRET, now, &body))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
    };
    assert_eq!(demo_me(&demo.url, &cookie).await, StatusCode::OK);
    assert_eq!(send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(app.sessions_of("ops"), 0);
    assert_eq!(demo_me(&demo.url, &cookie).await, StatusCode::UNAUTHORIZED);
    let replay = send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    assert!(replay.text().await.unwrap().contains("replay"));
    demo.stop().await;
}
