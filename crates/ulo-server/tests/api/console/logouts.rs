//! Logouts: the list of receipts (status and person filters, their errors in place, paging) and
//! one receipt, whose live stream renders each change and says `done` after the final one; a
//! failed target shows the app's HTTP status and error.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxStatus};
use axum::routing::post;
use reqwest::StatusCode;
use serde_json::json;
use ulo_testkit::TestServer;

use super::*;
use crate::logout::{FakeApps, final_receipt, logout_app};
use crate::support::{create_user, id, on_every_backend};

const WAIT: Duration = Duration::from_secs(30);

/// A logout-enabled app speaking Global Token Revocation that holds every answer until the test
/// opens its gate (a receipt stays IN_PROGRESS exactly as long as the test needs), then answers
/// 204. Keeps the bearer tokens it got, to verify against ulo's JWKS.
#[derive(Clone)]
pub struct GatedApp {
    gate: tokio::sync::watch::Sender<bool>,
    tokens: Arc<Mutex<Vec<String>>>,
    /// Its endpoint.
    pub url: String,
}

impl GatedApp {
    /// Starts it on a loopback port, gate closed.
    pub async fn start() -> GatedApp {
        let (gate, _) = tokio::sync::watch::channel(false);
        let tokens = Arc::new(Mutex::new(Vec::new()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the gated app");
        let url = format!("http://{}/gtr", listener.local_addr().expect("address"));
        let app = GatedApp { gate, tokens, url };
        let router = Router::new()
            .route("/gtr", post(gated_receive))
            .with_state(app.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        app
    }

    /// Lets every held and future request through.
    pub fn open(&self) {
        self.gate.send_replace(true);
    }

    /// The bearer tokens received so far.
    pub fn tokens(&self) -> Vec<String> {
        self.tokens.lock().unwrap().clone()
    }

    /// Waits until a request has arrived (and is being held).
    pub async fn wait_for_request(&self) {
        ulo_testkit::wait_for("the app to be asked", WAIT, || async {
            (!self.tokens().is_empty()).then_some(())
        })
        .await
    }
}

async fn gated_receive(State(app): State<GatedApp>, headers: HeaderMap) -> AxStatus {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    app.tokens.lock().unwrap().push(token);
    let mut open = app.gate.subscribe();
    let _ = open.wait_for(|o| *o).await;
    AxStatus::NO_CONTENT
}

/// Starts a ulo-only logout of `uid` through the API; answers its id.
async fn api_logout(s: &TestServer, uid: &str, scope: &str) -> String {
    let (status, started) = s
        .post(
            &format!("/api/v1/users/{uid}/logout"),
            json!({"scope": scope}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    started["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn logouts_are_listed_filtered_and_paged_with_errors_in_place() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let ada = id(&create_user(s, "ada@example.com").await);
        let bob = id(&create_user(s, "bob@example.com").await);
        let mut ada_logouts = Vec::new();
        for _ in 0..52 {
            ada_logouts.push(api_logout(s, &ada, "ULO_ONLY").await);
        }
        let bob_logout = api_logout(s, &bob, "ULO_ONLY").await;
        final_receipt(s, &bob_logout).await;

        let all = c.get("/admin/logouts").await;
        assert_eq!(all.status, StatusCode::OK, "{}", all.body);
        assert!(all.body.contains("Logouts</h1>"), "{}", all.body);
        // 53 receipts: 50 on the first page, newest first, and a "Show more".
        assert_eq!(
            all.body
                .matches("<td class=\"nowrap\"><a href=\"/admin/logouts/")
                .count(),
            50
        );
        assert!(all.body.find(&bob_logout) < all.body.find(&ada_logouts[51]));
        assert!(all.body.contains("COMPLETED"));
        assert!(all.body.contains("ulo only"));
        let start = all.body.find("hx-get=\"").expect("Show more") + "hx-get=\"".len();
        let len = all.body[start..].find('"').expect("end");
        let next = all.body[start..start + len]
            .replace("&amp;", "&")
            .replace("&#38;", "&");
        let more = c.get_htmx(&next).await;
        assert_eq!(more.status, StatusCode::OK);
        assert!(!more.body.contains("<html"), "a fragment: {}", more.body);
        assert_eq!(more.body.matches("<a href=\"/admin/logouts/").count(), 3);
        assert!(!more.body.contains("Show more"));

        // By person (username or id), and by status.
        let bobs = c.get("/admin/logouts?person=bob%40example.com").await;
        assert_eq!(bobs.status, StatusCode::OK);
        assert!(bobs.body.contains(&bob_logout));
        assert!(!bobs.body.contains(&ada_logouts[0]));
        let bobs = c
            .get(&format!("/admin/logouts?person={bob}&status=COMPLETED"))
            .await;
        assert!(bobs.body.contains(&bob_logout), "{}", bobs.body);
        let none = c
            .get(&format!(
                "/admin/logouts?person={bob}&status=COMPLETED_WITH_FAILURES"
            ))
            .await;
        assert_eq!(none.status, StatusCode::OK);
        assert!(none.body.contains("No logout matches."), "{}", none.body);

        // Bad filters: the error in place, above the filter the admin typed, nothing listed.
        let bad = c.get("/admin/logouts?status=DONE").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(
            bad.body.contains("Unknown status &#34;DONE&#34;"),
            "{}",
            bad.body
        );
        assert!(
            bad.body.contains("name=\"status\" aria-invalid=\"true\""),
            "{}",
            bad.body
        );
        assert!(bad.body.contains("<form class=\"toolbar\""), "{}", bad.body);
        let bad = c.get("/admin/logouts?person=nobody%40example.com").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.body.contains("No one has the username"), "{}", bad.body);
        assert!(
            bad.body.contains("value=\"nobody@example.com\""),
            "{}",
            bad.body
        );
        let bad = c.get("/admin/logouts?after=not-an-id").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);

        // A read-only admin reads them too; nobody signed in is sent to sign in.
        read_only_admin(s, "viewer@example.com").await;
        let viewer = ConsoleClient::sign_in(s, "viewer@example.com").await;
        let seen = viewer.get("/admin/logouts").await;
        assert_eq!(seen.status, StatusCode::OK);
        assert!(seen.body.contains(&bob_logout));
        let anon =
            crate::signin::answer(crate::signin::browser().get(format!("{}/admin/logouts", s.url)))
                .await;
        assert_eq!(anon.status, StatusCode::SEE_OTHER);
        assert!(
            anon.location().starts_with("/admin/signin?return_to="),
            "{}",
            anon.location()
        );
    })
    .await;
}

#[tokio::test]
async fn a_receipt_updates_live_until_every_target_has_answered() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let app = GatedApp::start().await;
        let ada = id(&create_user(s, "ada@example.com").await);
        logout_app(
            s,
            "Payroll",
            "global-token-revocation",
            &app.url,
            "email",
            &ada,
        )
        .await;
        let logout = api_logout(s, &ada, "ALL_APPS").await;
        app.wait_for_request().await;

        // In progress: the page connects to the live stream and shows the app waiting.
        let page = c.get(&format!("/admin/logouts/{logout}")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(
            page.body.contains("Logout of ada@example.com"),
            "{}",
            page.body
        );
        assert!(
            page.body
                .contains(&format!("sse-connect=\"/admin/logouts/{logout}/live\"")),
            "{}",
            page.body
        );
        assert!(page.body.contains("sse-close=\"done\""));
        assert!(page.body.contains("IN PROGRESS"));
        assert!(page.body.contains("Payroll"));
        assert!(page.body.contains("App · Global Token Revocation"));

        // The stream: the receipt as it is now (the app still holding its answer)…
        let mut resp = c
            .http
            .get(format!("{}/admin/logouts/{logout}/live", c.url))
            .send()
            .await
            .expect("stream");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        let mut body = String::new();
        tokio::time::timeout(WAIT, async {
            while !body.contains("</table>") {
                let chunk = resp.chunk().await.expect("chunk").expect("more");
                body.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .expect("the first receipt");
        assert!(body.starts_with("event: receipt"), "{body}");
        assert!(body.contains("IN PROGRESS"), "{body}");
        assert!(body.contains("PENDING"), "{body}");
        assert!(!body.contains("event: done"), "{body}");
        // …then, once the app answers, the final one and `done`; the stream ends by itself.
        app.open();
        tokio::time::timeout(WAIT, async {
            while let Some(chunk) = resp.chunk().await.expect("chunk") {
                body.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .expect("the stream ends after the final receipt");
        assert!(
            body.trim_end().ends_with("event: done\ndata: done"),
            "{body}"
        );
        let last = body.rfind("event: receipt").unwrap();
        assert!(last > 0, "a second receipt: {body}");
        assert!(body[last..].contains("SUCCEEDED"), "{body}");
        assert!(body[last..].contains("COMPLETED"), "{body}");
        assert!(!body.contains("<html"), "fragments only: {body}");

        // Final: no live connection any more.
        let done = final_receipt(s, &logout).await;
        assert_eq!(done["status"], "COMPLETED");
        let page = c.get(&format!("/admin/logouts/{logout}")).await;
        assert!(!page.body.contains("sse-connect"), "{}", page.body);
        assert!(
            page.body
                .contains("Every target has answered; nothing failed.")
        );
        // The token the app got is ulo's, for that app.
        let tokens = app.tokens();
        crate::logout::verify(s, &tokens[0], &app.url).await;

        // Unknown receipts: 404 in the page, and for the stream before it starts.
        let missing = c
            .get("/admin/logouts/0190a2b4-0000-7000-8000-000000000000")
            .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        let missing = c.get("/admin/logouts/not-a-uuid/live").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        let anon = crate::signin::answer(
            crate::signin::browser().get(format!("{}/admin/logouts/{logout}", s.url)),
        )
        .await;
        assert_eq!(anon.status, StatusCode::SEE_OTHER);
    })
    .await;
}

#[tokio::test]
async fn a_failed_target_shows_the_apps_http_status_and_error() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let (fake, base) = FakeApps::start().await;
        fake.script("refuses", &[400]);
        let ada = id(&create_user(s, "ada@example.com").await);
        logout_app(
            s,
            "Refusing app",
            "global-token-revocation",
            &format!("{base}/refuses"),
            "email",
            &ada,
        )
        .await;
        let logout = api_logout(s, &ada, "ALL_APPS").await;
        let done = final_receipt(s, &logout).await;
        assert_eq!(done["status"], "COMPLETED_WITH_FAILURES", "{done}");
        let page = c.get(&format!("/admin/logouts/{logout}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("COMPLETED WITH FAILURES"),
            "{}",
            page.body
        );
        let row_start = page.body.find("target-FAILED").expect("the failed row");
        let row = &page.body[row_start..row_start + page.body[row_start..].find("</tr>").unwrap()];
        assert!(row.contains("Refusing app"), "{row}");
        assert!(row.contains("<td class=\"mono\">400</td>"), "{row}");
        let error = done["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["status"] == "FAILED")
            .and_then(|t| t["lastError"].as_str())
            .expect("the error")
            .to_string();
        assert!(!error.is_empty());
        let shown = error.replace('"', "&#34;").replace('\'', "&#39;");
        assert!(
            row.contains(&error)
                || row.contains(&shown)
                || row.contains(&error.replace('"', "&quot;")),
            "{error} in {row}"
        );
        // The list says so too.
        let list = c.get("/admin/logouts?status=COMPLETED_WITH_FAILURES").await;
        assert!(list.body.contains(&logout));
        assert!(list.body.contains("1 failed"), "{}", list.body);
    })
    .await;
}
