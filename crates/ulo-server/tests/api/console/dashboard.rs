//! The dashboard: what needs attention now.

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::signin::{answer, browser};
use crate::support::{create_user, id, on_every_backend};

#[tokio::test]
async fn the_dashboard_lists_people_at_high_risk_and_says_when_all_is_quiet() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let page = c.get("/admin").await;
        assert_eq!(page.status, StatusCode::OK);
        for quiet in [
            "No logout is waiting on a target.",
            "Every app answered its logouts.",
            "No one is at HIGH entity risk.",
            "Every enrolled computer checked in within 30 days.",
        ] {
            assert!(page.body.contains(quiet), "{quiet}: {}", page.body);
        }
        let ada = create_user(s, "ada@example.com").await;
        let medium = create_user(s, "bo@example.com").await;
        for (user, level) in [(&ada, "HIGH"), (&medium, "MEDIUM")] {
            let (status, v) = s
                .put(
                    &format!("/api/v1/users/{}/risk", id(user)),
                    Some(json!({"riskLevel": level, "reason": "console test"})),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{v}");
        }
        let page = c.get("/admin/dashboard").await;
        assert!(
            page.body.contains(&format!(
                "<a href=\"/admin/people/{}\">ada@example.com</a>",
                id(&ada)
            )),
            "{}",
            page.body
        );
        assert!(
            !page.body.contains("bo@example.com"),
            "MEDIUM is not listed"
        );
        assert!(!page.body.contains("No one is at HIGH entity risk."));
        let a = answer(browser().get(format!("{}/admin/dashboard", s.url))).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
    })
    .await;
}
