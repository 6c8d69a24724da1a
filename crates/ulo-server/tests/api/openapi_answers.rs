//! Every answer matches the schema the OpenAPI document gives for it.
//!
//! The operations are generated from the handlers, but their schemas are declared beside the
//! response types (`src/openapi/schema/`), so the two could drift apart. This test builds a small
//! world through the API (a person with a group, an app, a role, a TOTP factor, a risk level and a
//! logout; a workflow, a security events provider, a policy rule, credentials), then calls every
//! documented `GET` with those ids, and checks each answer — the writes' too, errors included —
//! against the document with a JSON Schema validator. Checking is strict: an object may carry
//! only the properties the document names, so a field added to a response without its schema
//! fails here.

use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};
use ulo_testkit::{ADMIN_TOKEN, Backend, TestServer};

use crate::support::*;

/// How many successful answers the test must have checked: fewer means the world it builds
/// lost a part, and with it the check of the operations that read that part.
const CHECKED_AT_LEAST: usize = 45;

/// The document's schemas, made strict, and what was found wrong.
struct Checker {
    doc: Value,
    components: Value,
    problems: Vec<String>,
    checked_ok: usize,
}

impl Checker {
    fn new(doc: Value) -> Checker {
        let components = strict_components(&doc["components"]);
        Checker {
            doc,
            components,
            problems: Vec::new(),
            checked_ok: 0,
        }
    }

    /// Checks one answer to `method template` against the schema the document gives for its
    /// status and media type.
    fn check(&mut self, method: &Method, template: &str, status: StatusCode, body: &Value) {
        let what = format!("{method} {template} → {}", status.as_u16());
        let op = &self.doc["paths"][template][method.as_str().to_ascii_lowercase()];
        if op.is_null() {
            self.problems.push(format!("{what}: not in the document"));
            return;
        }
        let Some(response) = op["responses"].get(status.as_str()) else {
            self.problems
                .push(format!("{what}: status not documented: {body}"));
            return;
        };
        let response = resolve(&self.doc, response);
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            if !body.is_null() {
                self.problems
                    .push(format!("{what}: a body, none documented: {body}"));
            }
            return;
        };
        let Some(schema) = content
            .iter()
            .find(|(mt, _)| mt.ends_with("json"))
            .map(|(_, c)| c["schema"].clone())
        else {
            return;
        };
        let mut root = match schema {
            Value::Object(m) => m,
            other => {
                self.problems
                    .push(format!("{what}: schema is not an object: {other}"));
                return;
            }
        };
        root.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        root.insert("components".into(), self.components.clone());
        let validator = match jsonschema::options()
            .should_validate_formats(true)
            .build(&Value::Object(root))
        {
            Ok(v) => v,
            Err(e) => {
                self.problems.push(format!("{what}: bad schema: {e}"));
                return;
            }
        };
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("at {}: {e}", e.instance_path()))
            .collect();
        if errors.is_empty() {
            if status.is_success() {
                self.checked_ok += 1;
            }
        } else {
            self.problems
                .push(format!("{what}:\n      {}", errors.join("\n      ")));
        }
    }

    /// Sends `method path` as the admin, checks the answer, and returns it.
    async fn call(
        &mut self,
        s: &TestServer,
        method: Method,
        template: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, answer) = s.call(method.clone(), path, body).await;
        self.check(&method, template, status, &answer);
        (status, answer)
    }
}

/// `v`, or what its `$ref` names.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.trim_start_matches('#');
            doc.pointer(pointer).unwrap_or(v)
        }
        None => v,
    }
}

/// The components with every object schema closed: `unevaluatedProperties: false` wherever
/// properties are named and nothing else is said about the others. An `allOf` is closed where
/// it is composed, over plain copies of its parts (a part closed on its own would refuse the
/// other parts' properties).
fn strict_components(components: &Value) -> Value {
    fn close(v: &Value, plain: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, child) in m {
                    let child = if k == "allOf" {
                        Value::Array(
                            child
                                .as_array()
                                .into_iter()
                                .flatten()
                                .map(|part| inline(part, plain))
                                .collect(),
                        )
                    } else {
                        close(child, plain)
                    };
                    out.insert(k.clone(), child);
                }
                let open = m.contains_key("additionalProperties")
                    || m.contains_key("unevaluatedProperties");
                if (m.contains_key("properties") || m.contains_key("allOf")) && !open {
                    out.insert("unevaluatedProperties".into(), Value::Bool(false));
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| close(x, plain)).collect()),
            other => other.clone(),
        }
    }
    /// An `allOf` part: a `$ref` becomes a copy of what it names, left open.
    fn inline(part: &Value, plain: &Value) -> Value {
        match part.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.trim_start_matches("#/components/");
                let pointer = format!("/{name}");
                plain.pointer(&pointer).cloned().unwrap_or(part.clone())
            }
            None => part.clone(),
        }
    }
    close(components, components)
}

/// The id in an answer, when it has one.
fn id_of(v: &Value) -> Option<String> {
    v["id"].as_str().map(str::to_string)
}

#[tokio::test]
async fn every_answer_matches_its_documented_schema() {
    let s = TestServer::start(Backend::Sqlite).await.expect("start");
    let (status, doc) = s.get("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let mut c = Checker::new(doc.clone());
    use Method as M;

    // The world: a person in a group, assigned an app, with a role, a factor, risk and a logout.
    let (_, user) = c
        .call(
            &s,
            M::POST,
            "/api/v1/users",
            "/api/v1/users?activate=true",
            Some(user_body("ann@example.com")),
        )
        .await;
    let uid = id(&user);
    let (_, group) = c
        .call(
            &s,
            M::POST,
            "/api/v1/groups",
            "/api/v1/groups",
            Some(json!({"profile": {"name": "Ops", "description": "on call"}})),
        )
        .await;
    let gid = id(&group);
    c.call(
        &s,
        M::PUT,
        "/api/v1/groups/{gid}/users/{uid}",
        &format!("/api/v1/groups/{gid}/users/{uid}"),
        None,
    )
    .await;
    let (_, app) = c
        .call(
            &s,
            M::POST,
            "/api/v1/apps",
            "/api/v1/apps",
            Some(oidc_app_body("Payroll")),
        )
        .await;
    let aid = id(&app);
    c.call(
        &s,
        M::POST,
        "/api/v1/apps/{id}/users",
        &format!("/api/v1/apps/{aid}/users"),
        Some(json!({"id": uid})),
    )
    .await;
    c.call(
        &s,
        M::PUT,
        "/api/v1/apps/{id}/groups/{gid}",
        &format!("/api/v1/apps/{aid}/groups/{gid}"),
        None,
    )
    .await;
    c.call(
        &s,
        M::POST,
        "/api/v1/users/{id}/roles",
        &format!("/api/v1/users/{uid}/roles"),
        Some(json!({"type": "READ_ONLY_ADMIN"})),
    )
    .await;
    c.call(
        &s,
        M::POST,
        "/api/v1/users/{id}/factors/totp",
        &format!("/api/v1/users/{uid}/factors/totp"),
        None,
    )
    .await;
    c.call(
        &s,
        M::PUT,
        "/api/v1/users/{id}/risk",
        &format!("/api/v1/users/{uid}/risk"),
        Some(json!({"riskLevel": "HIGH", "reason": "schema check"})),
    )
    .await;
    let (_, logout) = c
        .call(
            &s,
            M::POST,
            "/api/v1/users/{id}/logout",
            &format!("/api/v1/users/{uid}/logout"),
            Some(json!({"scope": "ALL_APPS", "reason": "schema check"})),
        )
        .await;
    let logout_id = id_of(&logout);

    // Everything else an admin registers.
    let (_, workflow) = c
        .call(
            &s,
            M::POST,
            "/api/v1/workflows",
            "/api/v1/workflows",
            Some(json!({"name": "Open a ticket", "url": "https://hooks.example.com/ticket"})),
        )
        .await;
    let wid = id_of(&workflow);
    let (_, provider) = c
        .call(
            &s,
            M::POST,
            "/api/v1/security-events-providers",
            "/api/v1/security-events-providers",
            Some(
                json!({"name": "Risk vendor", "type": "security_events_provider",
                   "settings": {"issuer": "https://risk.example.com",
                                "jwks_url": "https://risk.example.com/jwks"}}),
            ),
        )
        .await;
    let pvid = id_of(&provider);
    c.call(
        &s,
        M::POST,
        "/api/v1/device-enrollment-tokens",
        "/api/v1/device-enrollment-tokens",
        Some(json!({})),
    )
    .await;
    c.call(
        &s,
        M::POST,
        "/api/v1/api-tokens",
        "/api/v1/api-tokens",
        Some(json!({"name": "schema check"})),
    )
    .await;
    let (_, scim) = c
        .call(
            &s,
            M::POST,
            "/api/v1/scim-credentials",
            "/api/v1/scim-credentials",
            Some(json!({"name": "schema check"})),
        )
        .await;
    let scim_token = scim["token"].as_str().unwrap_or_default().to_string();
    let (_, policies) = c
        .call(
            &s,
            M::GET,
            "/api/v1/policies",
            "/api/v1/policies?type=ENTITY_RISK",
            None,
        )
        .await;
    let pid = id(&policies[0]);
    let (_, rule) = c
        .call(
            &s,
            M::POST,
            "/api/v1/policies/{id}/rules",
            &format!("/api/v1/policies/{pid}/rules"),
            Some(json!({
                "name": "High risk: log out",
                "priority": 1,
                "conditions": {"entityRisk": {"level": "HIGH"}},
                "actions": {"entityRisk": {"actions": [{"action": "TERMINATE_ALL_SESSIONS",
                    "slo": {"appSelectionMode": "ALL"}}]}}
            })),
        )
        .await;
    let rule_id = id_of(&rule);
    assert!(rule_id.is_some(), "the rule was not created: {rule}");
    c.call(
        &s,
        M::POST,
        "/api/v1/policies/{id}/simulate",
        &format!("/api/v1/policies/{pid}/simulate"),
        Some(json!({"userId": uid, "detection": "ADMIN_REPORTED_USER_RISK", "level": "HIGH"})),
    )
    .await;
    // A few refusals: their error bodies are answers too.
    c.call(
        &s,
        M::POST,
        "/api/v1/users",
        "/api/v1/users",
        Some(json!({"profile": {"login": "not an email"}})),
    )
    .await;
    c.call(
        &s,
        M::GET,
        "/api/v1/users/{id}",
        "/api/v1/users/00000000-0000-7000-8000-000000000000",
        None,
    )
    .await;

    // Every documented read, with the world's ids.
    let ids = |template: &str| -> Option<String> {
        let mut path = template.to_string();
        let first_id = if template.starts_with("/api/v1/users/") {
            Some(uid.clone())
        } else if template.starts_with("/api/v1/apps/") {
            Some(aid.clone())
        } else if template.starts_with("/api/v1/logouts/") {
            logout_id.clone()
        } else if template.starts_with("/api/v1/policies/") {
            Some(pid.clone())
        } else if template.starts_with("/api/v1/workflows/") {
            wid.clone()
        } else if template.starts_with("/api/v1/security-events-providers/") {
            pvid.clone()
        } else if template.starts_with("/api/v1/devices/") {
            // No computer is enrolled here: the answer is the documented 404.
            Some("00000000-0000-7000-8000-000000000000".into())
        } else if template.starts_with("/scim/v2/Users/") {
            Some(uid.clone())
        } else if template.starts_with("/scim/v2/Groups/") {
            Some(gid.clone())
        } else if template.starts_with("/scim/v2/ResourceTypes/") {
            Some("User".into())
        } else if template.starts_with("/scim/v2/Schemas/") {
            Some("urn:ietf:params:scim:schemas:core:2.0:User".into())
        } else {
            None
        };
        for (param, value) in [
            ("{id}", first_id),
            ("{gid}", Some(gid.clone())),
            ("{uid}", Some(uid.clone())),
            ("{ruleId}", rule_id.clone()),
        ] {
            if path.contains(param) {
                path = path.replace(param, &value?);
            }
        }
        (!path.contains('{')).then_some(path)
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client");
    let reads: Vec<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .filter(|(_, ops)| ops.get("get").is_some())
        .map(|(p, _)| p.clone())
        .collect();
    let mut unread = Vec::new();
    for template in &reads {
        let ok = &doc["paths"][template]["get"]["responses"]["200"];
        let json = resolve(&doc, ok)
            .get("content")
            .and_then(Value::as_object)
            .is_some_and(|m| m.keys().any(|k| k.ends_with("json")));
        if !json {
            continue;
        }
        let Some(path) = ids(template) else {
            unread.push(template.clone());
            continue;
        };
        let auth = if template.starts_with("/scim/v2/") {
            format!("Bearer {scim_token}")
        } else {
            format!("SSWS {ADMIN_TOKEN}")
        };
        let resp = http
            .get(format!("{}{path}", s.url))
            .header("Authorization", auth)
            .send()
            .await
            .expect("send");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let body: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        c.check(&Method::GET, template, status, &body);
    }
    assert!(
        c.problems.is_empty(),
        "answers that do not match the document:\n  {}",
        c.problems.join("\n  ")
    );
    assert!(
        unread.is_empty(),
        "documented reads the test has no id for (add them to its world): {unread:?}"
    );
    assert!(
        c.checked_ok >= CHECKED_AT_LEAST,
        "only {} successful answers were checked",
        c.checked_ok
    );
    s.stop().await;
}
