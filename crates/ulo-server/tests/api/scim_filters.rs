//! SCIM filter semantics per attribute: case-exact `id`/`externalId`, case-insensitive
//! `userName`, and the `userName eq` lookup provisioning clients send before every push.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{on_every_backend, request, send};

async fn scim_get(s: &ulo_testkit::TestServer, token: &str, filter: &str) -> Value {
    let resp = s
        .http
        .get(format!("{}/scim/v2/Users", s.url))
        .query(&[("filter", filter)])
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.expect("json")
}

fn names(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|u| u["userName"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn case_rules_follow_each_attribute_and_user_name_lookups_are_exact_matches() {
    on_every_backend(async |s| {
        let (st, _, body) = send(request(s, Method::POST, "/api/v1/scim-credentials").json(&json!({"name": "HR"}))).await;
        assert_eq!(st, StatusCode::CREATED, "{body}");
        let token = body["token"].as_str().unwrap().to_string();
        for (login, ext) in [("Ada.Lovelace@example.com", "HR-42"), ("grace@example.com", "hr-7")] {
            let resp = s
                .http
                .post(format!("{}/scim/v2/Users", s.url))
                .header("Authorization", format!("Bearer {token}"))
                .header("Content-Type", "application/scim+json")
                .json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": login, "externalId": ext}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::CREATED);
        }
        // userName is caseExact=false: any case finds the person, through the direct lookup too.
        assert_eq!(names(&scim_get(s, &token, r#"userName eq "ada.lovelace@EXAMPLE.com""#).await), vec!["Ada.Lovelace@example.com"]);
        assert_eq!(names(&scim_get(s, &token, r#"userName eq "nobody@example.com""#).await), Vec::<String>::new());
        assert_eq!(scim_get(s, &token, r#"userName eq "nobody@example.com""#).await["totalResults"], 0);
        // externalId and id are caseExact=true (RFC 7643).
        assert_eq!(names(&scim_get(s, &token, r#"externalId eq "HR-42""#).await), vec!["Ada.Lovelace@example.com"]);
        assert!(names(&scim_get(s, &token, r#"externalId eq "hr-42""#).await).is_empty());
        let all = scim_get(s, &token, r#"userName pr"#).await;
        let id = all["Resources"][0]["id"].as_str().unwrap().to_string();
        assert_eq!(scim_get(s, &token, &format!(r#"id eq "{id}""#)).await["totalResults"], 1);
        assert_eq!(scim_get(s, &token, &format!(r#"id eq "{}""#, id.to_uppercase())).await["totalResults"], 0);
        // A userName filter combined with more is still evaluated whole.
        assert!(names(&scim_get(s, &token, r#"userName eq "grace@example.com" and externalId eq "HR-7""#).await).is_empty());
    })
    .await;
}
