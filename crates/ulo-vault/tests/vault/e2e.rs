//! The whole story: ulo provisions two people to the vault by SCIM; one signs in to the vault
//! through ulo, reveals a shared password and signs in to the demo app with it; ulo clears
//! her sessions with Universal Logout; her vault session and her demo-app session end, the
//! password rotates (the old one fails, the new one — revealed by the other person — works),
//! and ulo's System Log and the vault's audit log tell it with the same ids.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::*;

const INITIAL: &str = "initial-Passw0rd-for-the-team";

#[tokio::test]
async fn universal_logout_ends_vault_and_app_sessions_and_rotates_what_she_saw() {
    for backend in ulo_testkit::backends() {
        let h = Harness::start(backend).await;
        let (demo_app, demo) = demo(&[("team-social", INITIAL)]).await;
        let ada = h.provisioned_person("ada@example.com", "Ada").await;
        let _grace = h.provisioned_person("grace@example.com", "Grace").await;
        let account = h
            .shared_account(
                &demo.url,
                "team-social",
                INITIAL,
                &["ada@example.com", "grace@example.com"],
            )
            .await;

        // Ada signs in to the vault through ulo and sees the account.
        let ada_browser = browser();
        let page = sign_in_to_vault(&ada_browser, &h, "ada@example.com").await;
        assert!(page.contains("team-social"), "{page}");
        assert!(page.contains("Reveal password"), "{page}");
        let (status, mine) = answer(
            ada_browser
                .get(format!("{}/api/me/accounts", h.vault.url))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{mine}");
        assert_eq!(mine[0]["id"], account.as_str());
        assert_eq!(mine[0]["status"], "OK");

        // She reveals the password and signs in to the demo app with it.
        let (status, revealed) = reveal(&ada_browser, &h, &account).await;
        assert_eq!(status, StatusCode::OK, "{revealed}");
        assert_eq!(revealed["password"], INITIAL);
        let demo_cookie = demo_sign_in(&demo.url, "team-social", INITIAL)
            .await
            .expect("the revealed password signs in");
        assert_eq!(demo_me(&demo.url, &demo_cookie).await, StatusCode::OK);

        // ulo clears her sessions, with Universal Logout.
        let (status, started) = h
            .ulo
            .delete(&format!(
                "/api/v1/users/{ada}/sessions?oauthTokens=true&universalLogout=true"
            ))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{started}");
        let logout_id = started["id"].as_str().unwrap().to_string();
        let receipt = final_receipt(&h.ulo, &logout_id).await;
        let target = app_target(&receipt, &h.ulo_app.app_id);
        assert_eq!(target["status"], "SUCCEEDED", "{receipt:#}");
        assert_eq!(target["lastHttpStatus"], 204);

        // Her vault session is gone: the API and the page refuse the cookie.
        let resp = ada_browser
            .get(format!("{}/api/me/accounts", h.vault.url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        let (status, _) = reveal(&ada_browser, &h, &account).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // The vault ends the demo-app session and rotates the password (queued jobs).
        let rotated = ulo_testkit::wait_for("the rotation", WAIT, || async {
            let (status, a) = h
                .admin(Method::GET, &format!("/api/accounts/{account}"), None)
                .await;
            (status == StatusCode::OK && a["status"] == "OK" && a["rotatedAt"].is_string())
                .then_some(a)
        })
        .await;
        assert!(rotated.get("password").is_none(), "{rotated}");
        assert_eq!(rotated["policy"]["length"], 24);
        ulo_testkit::wait_for("the demo-app session to end", WAIT, || async {
            (demo_me(&demo.url, &demo_cookie).await == StatusCode::UNAUTHORIZED).then_some(())
        })
        .await;
        assert_eq!(demo_app.sessions_of("team-social"), 0);
        assert!(
            demo_sign_in(&demo.url, "team-social", INITIAL)
                .await
                .is_none(),
            "the old password no longer signs in"
        );

        // Grace, with whom it is still shared, reveals the new one; it works.
        let grace_browser = browser();
        sign_in_to_vault(&grace_browser, &h, "grace@example.com").await;
        let (status, new) = reveal(&grace_browser, &h, &account).await;
        assert_eq!(status, StatusCode::OK, "{new}");
        let new = new["password"].as_str().unwrap().to_string();
        assert_ne!(new, INITIAL);
        assert_eq!(new.chars().count(), 24);
        let grace_cookie = demo_sign_in(&demo.url, "team-social", &new)
            .await
            .expect("the new password signs in");
        assert_eq!(demo_me(&demo.url, &grace_cookie).await, StatusCode::OK);

        // ulo's System Log names the request's jti; the vault's audit log tells the rest
        // under the same jti.
        let (status, events) = h
            .ulo
            .get(&format!(
                "/api/v1/logs?filter={}",
                urlencode(&format!(
                    "eventType eq \"app.universal_logout.delivery\" and transaction.id eq \"{}\"",
                    receipt["transactionId"].as_str().unwrap()
                ))
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{events}");
        let delivery = events
            .as_array()
            .unwrap()
            .iter()
            .find(|e| {
                e["target"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| t["id"] == h.ulo_app.app_id.as_str()))
            })
            .unwrap_or_else(|| panic!("no delivery event to the vault in {events:#?}"));
        let jti = delivery["debugContext"]["debugData"]["jti"]
            .as_str()
            .unwrap_or_else(|| panic!("no jti in {delivery:#}"))
            .to_string();
        // The vault records `account.sessions.end` only after the demo app answered the
        // connector, which is after the app's session already ended (what the wait above saw):
        // wait for the events themselves.
        let expected = [
            "person.universal_logout",
            "account.sessions.end.queue",
            "account.rotation.queue",
            "account.sessions.end",
            "account.password.rotate",
        ];
        let story = h.audit_story(&jti, &expected).await;
        assert!(
            story.iter().all(|e| e["outcome"] == "SUCCESS"),
            "{story:#?}"
        );
        let logout_ev = &story[0];
        assert_eq!(logout_ev["type"], "person.universal_logout");
        assert_eq!(logout_ev["target"]["displayName"], "ada@example.com");
        assert_eq!(logout_ev["detail"]["sessionsEnded"], 1);
        // Reveals are audited; no event holds a password.
        let reveals = h.audit("type eq \"account.password.reveal\"").await;
        assert_eq!(reveals.len(), 2, "{reveals:#?}");
        let all = h.audit("id pr").await;
        let text = Value::Array(all).to_string();
        assert!(
            !text.contains(INITIAL) && !text.contains(&new),
            "a password in the audit log"
        );

        demo.stop().await;
        h.stop().await;
    }
}
