//! Security → Entity Risk Policy over HTTP: the list, Add Rule with the seed's fields, the
//! domain's errors beside their fields, the level choices that follow the detections, edit
//! (and a stale form), reorder, enable and disable, delete (confirmed; never the Default Rule),
//! simulate; signed-out, read-only and forged requests change nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};
use ulo_testkit::TestServer;

use super::*;
use crate::signin::logged;
use crate::support::{create_group, create_user, id, on_every_backend};

const PAGE: &str = "/admin/security/entity-risk-policy";

/// The Entity Risk Policy's id.
async fn policy_id(s: &TestServer) -> String {
    let (status, _, list) =
        crate::support::get_with(s, "/api/v1/policies", &[("type", "ENTITY_RISK")]).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    id(&list[0])
}

/// The rules, through the API.
async fn rules(s: &TestServer) -> Vec<Value> {
    let pid = policy_id(s).await;
    let (status, list) = s.get(&format!("/api/v1/policies/{pid}/rules")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().cloned().unwrap_or_default()
}

/// Adds a rule through the API.
async fn api_rule(s: &TestServer, rule: Value) -> Value {
    let pid = policy_id(s).await;
    let (status, body) = s.post(&format!("/api/v1/policies/{pid}/rules"), rule).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// A desktop-mfa app with Logout on; answers its id.
async fn desktop_mfa(s: &TestServer) -> String {
    let (status, app) = s
        .post(
            "/api/v1/apps",
            json!({"label": "Managed Macs", "type": "desktop-mfa", "logout": {"enabled": true}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{app}");
    id(&app)
}

/// The part of `body` from `start` up to the next `end` after it.
fn within<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let from = body
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} in {body}"));
    let rest = &body[from..];
    let to = rest[start.len()..]
        .find(end)
        .map_or(rest.len(), |i| i + start.len());
    &rest[..to]
}

/// The events of `event_type` about `target` that the console wrote.
async fn console_events(s: &TestServer, event_type: &str, target: &str) -> Vec<Value> {
    logged(
        s,
        &format!("eventType eq \"{event_type}\" and target.id eq \"{target}\""),
    )
    .await
    .into_iter()
    .filter(|e| e["client"]["id"] == "ulo-admin-console")
    .collect()
}

/// The seed's rule: any group, include one detection, any level, Logout and Revoke Tokens
/// reaching the Desktop MFA app.
fn seed_form<'a>(name: &'a str, app: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("groups_mode", "any"),
        ("detection_mode", "include"),
        ("detection", "ADMIN_REPORTED_USER_RISK"),
        ("level", "ANY"),
        ("action", "logout"),
        ("apps_mode", "SPECIFIC"),
        ("app", app),
        ("mode", "ENFORCE"),
    ]
}

#[tokio::test]
async fn add_rule_with_the_seeds_choices_lists_it_enabled() {
    on_every_backend(async |s| {
        let app = desktop_mfa(s).await;
        let c = console(s).await;

        let page = c.get(PAGE).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("Default Rule"), "{}", page.body);
        assert!(page.body.contains(">Add Rule</button>"), "{}", page.body);
        assert!(page.body.contains("Can't be changed or deleted"));

        let form = c.get(&format!("{PAGE}/rules/new")).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        for label in [
            "Rule Name",
            "User Groups",
            "Any Group",
            "Include the following groups",
            "Exclude the following groups",
            "Include at least one of the following detections",
            "Exclude at least one of the following detections",
            "Entity Risk Level",
            "Logout and Revoke Tokens",
            "Run a workflow",
            "Partial Universal Logout",
            "Managed Macs",
            "device logout",
            "User reported suspicious activity",
            ">Save</button>",
        ] {
            assert!(form.body.contains(label), "{label}: {}", form.body);
        }

        let a = c
            .post(&format!("{PAGE}/rules/new"), &seed_form("Device logout on risk", &app))
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert!(a.location().starts_with(&format!("{PAGE}?done=added&rule=")));

        let all = rules(s).await;
        assert_eq!(all.len(), 2, "{all:?}");
        let rule = &all[0];
        assert_eq!(rule["name"], "Device logout on risk");
        assert_eq!(rule["priority"], 1);
        assert_eq!(rule["status"], "ACTIVE");
        assert_eq!(rule["mode"], "ENFORCE");
        assert_eq!(
            rule["conditions"]["riskDetectionTypes"],
            json!({"include": ["ADMIN_REPORTED_USER_RISK"]})
        );
        assert_eq!(rule["conditions"]["entityRisk"]["level"], "ANY");
        assert_eq!(rule["conditions"]["people"]["groups"]["include"], json!([]));
        assert_eq!(
            rule["actions"]["entityRisk"]["actions"],
            json!([{"action": "TERMINATE_ALL_SESSIONS", "slo": {"appSelectionMode": "SPECIFIC", "appInstanceIds": [app]}}])
        );

        let listed = c.get(a.location()).await;
        assert_eq!(listed.status, StatusCode::OK);
        assert!(
            listed.body.contains("Rule \u{201c}Device logout on risk\u{201d} added."),
            "{}",
            listed.body
        );
        let row = within(&listed.body, &format!("id=\"rule-{}\"", id(rule)), "</tr>");
        assert!(row.contains(">Enabled</span>"), "{row}");
        assert!(row.contains("Managed Macs (Desktop MFA: device logout)"), "{row}");
        assert!(row.contains("Any of: Admin reported user risk"), "{row}");

        let ev = console_events(s, "policy.rule.update", &id(rule)).await;
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert_eq!(ev[0]["debugContext"]["debugData"]["change"], "created");
    })
    .await;
}

#[tokio::test]
async fn each_error_shows_beside_its_field_and_keeps_what_was_typed() {
    on_every_backend(async |s| {
        let app = desktop_mfa(s).await;
        let c = console(s).await;
        let new = format!("{PAGE}/rules/new");

        // The name: empty.
        let mut f = seed_form("", &app);
        f[0] = ("name", "   ");
        let a = c.post(&new, &f).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        assert!(a.body.contains("The rule was not saved."), "{}", a.body);
        let name = within(&a.body, "<label for=\"name\">", "</div>");
        assert!(name.contains("aria-invalid=\"true\""), "{name}");
        assert!(name.contains("Must be 1 to 255 characters."), "{name}");
        // What was typed stays: the detection and the app are still ticked.
        assert!(
            within(&a.body, "id=\"detection-ADMIN_REPORTED_USER_RISK\"", ">").contains("checked"),
            "{}",
            a.body
        );
        assert!(within(&a.body, &format!("id=\"app-{app}\""), ">").contains("checked"));

        // Partial Universal Logout without an app: beside the apps.
        let mut f = seed_form("Needs an app", "");
        f.retain(|(k, _)| *k != "app");
        let a = c.post(&new, &f).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        let apps = within(&a.body, "id=\"apps-field\"", "id=\"action-workflow\"");
        assert!(apps.contains("SPECIFIC needs at least one app"), "{apps}");
        assert!(a.body.contains("value=\"Needs an app\""), "{}", a.body);

        // A level no chosen detection produces: beside the level, still chosen.
        let mut f = seed_form("Brute force at high", &app);
        f[3] = ("detection", "BRUTE_FORCE_ATTACK");
        f[4] = ("level", "HIGH");
        let a = c.post(&new, &f).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        let level = within(&a.body, "id=\"level-field\"", "</fieldset>");
        assert!(
            level.contains("No detection of the chosen types produces HIGH"),
            "{level}"
        );
        let high = within(level, "id=\"level-HIGH\"", ">");
        assert!(
            high.contains("checked") && !high.contains("disabled"),
            "{high}"
        );
        assert!(
            within(level, "id=\"level-LOW\"", ">").contains("disabled"),
            "{level}"
        );

        // Include groups, none chosen: beside the groups.
        let mut f = seed_form("No group", &app);
        f[1] = ("groups_mode", "include");
        let a = c.post(&new, &f).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        let groups = within(&a.body, "id=\"groups-field\"", "</fieldset>");
        assert!(groups.contains("Choose at least one group"), "{groups}");

        // Include detections, none chosen: beside the detections.
        let mut f = seed_form("No detection", &app);
        f.remove(3);
        let a = c.post(&new, &f).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        let dets = within(&a.body, "id=\"detections-field\"", "</fieldset>");
        assert!(dets.contains("Name at least one detection type"), "{dets}");

        // Run a workflow without one: beside the workflow.
        let a = c
            .post(
                &new,
                &[
                    ("name", "Workflow"),
                    ("action", "workflow"),
                    ("workflow", ""),
                ],
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        let wf = within(&a.body, "id=\"workflow-field\"", "id=\"mode-field\"");
        assert!(wf.contains("RUN_WORKFLOW needs a workflow id"), "{wf}");

        // A group that is gone (a stale form): beside the groups.
        let a = c
            .post(
                &new,
                &[
                    ("name", "Gone group"),
                    ("groups_mode", "include"),
                    ("group", "0190aaaa-0000-7000-8000-000000000000"),
                ],
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        let groups = within(&a.body, "id=\"groups-field\"", "</fieldset>");
        assert!(groups.contains("No group"), "{groups}");

        // A choice the page does not offer.
        let a = c.post(&new, &[("name", "x"), ("level", "SEVERE")]).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        assert!(
            within(&a.body, "id=\"level-field\"", "</fieldset>").contains("Unknown level"),
            "{}",
            a.body
        );

        assert_eq!(rules(s).await.len(), 1, "nothing was added");
    })
    .await;
}

#[tokio::test]
async fn the_level_choices_follow_the_chosen_detections() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let levels = |q: &str| {
            let path = format!("{PAGE}/levels?{q}");
            let c = &c;
            async move { c.get_htmx(&path).await }
        };
        let state = |body: &str, level: &str| {
            let tag = within(body, &format!("id=\"level-{level}\""), ">").to_string();
            (tag.contains(" checked"), tag.contains(" disabled"))
        };

        // Any detection: every level.
        let a = levels("detection_mode=any&level=LOW").await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert!(!a.body.contains("<html"), "a fragment: {}", a.body);
        for l in ["ANY", "LOW", "MEDIUM", "HIGH"] {
            assert!(!state(&a.body, l).1, "{l} offered: {}", a.body);
        }
        assert_eq!(state(&a.body, "LOW"), (true, false));

        // A brute-force attack produces MEDIUM only; a chosen HIGH goes back to Any.
        let a = levels("detection_mode=include&detection=BRUTE_FORCE_ATTACK&level=HIGH").await;
        assert_eq!(state(&a.body, "ANY"), (true, false), "{}", a.body);
        assert_eq!(state(&a.body, "MEDIUM"), (false, false));
        assert_eq!(state(&a.body, "LOW"), (false, true));
        assert_eq!(state(&a.body, "HIGH"), (false, true));
        assert!(a.body.contains("High is not offered"), "{}", a.body);
        assert!(a.body.contains("only Medium"), "{}", a.body);

        // With "this wasn't me": MEDIUM or HIGH.
        let a = levels(
            "detection_mode=include&detection=BRUTE_FORCE_ATTACK&detection=USER_REPORTED_SUSPICIOUS_ACTIVITY&level=MEDIUM",
        )
        .await;
        assert_eq!(state(&a.body, "MEDIUM"), (true, false), "{}", a.body);
        assert_eq!(state(&a.body, "HIGH"), (false, false));
        assert_eq!(state(&a.body, "LOW"), (false, true));

        // Excluding the provider and admin reports leaves no detection that produces LOW.
        let a = levels(
            "detection_mode=exclude&detection=SECURITY_EVENTS_PROVIDER_REPORTED_RISK&detection=ADMIN_REPORTED_USER_RISK&level=ANY",
        )
        .await;
        assert_eq!(state(&a.body, "LOW"), (false, true), "{}", a.body);
        assert_eq!(state(&a.body, "HIGH"), (false, false));

        // The editor opens with the same choices for a stored rule.
        let rule = api_rule(
            s,
            json!({"name": "Brute force", "conditions": {"riskDetectionTypes": {"include": ["BRUTE_FORCE_ATTACK"]}, "entityRisk": {"level": "MEDIUM"}}}),
        )
        .await;
        let page = c.get(&format!("{PAGE}/rules/{}", id(&rule))).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_eq!(state(&page.body, "MEDIUM"), (true, false));
        assert_eq!(state(&page.body, "HIGH"), (false, true));

        // Signed out: to the sign-in.
        let anon = crate::signin::answer(
            crate::signin::browser()
                .get(format!("{}{PAGE}/levels?detection_mode=any", s.url))
                .header("HX-Request", "true"),
        )
        .await;
        assert_eq!(anon.status, StatusCode::NO_CONTENT);
        assert!(anon.headers.contains_key("hx-redirect"));
    })
    .await;
}

#[tokio::test]
async fn rules_are_edited_reordered_enabled_disabled_and_deleted() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let someone = create_user(s, "kept@example.com").await;
        let a = api_rule(s, json!({"name": "a"})).await;
        // Set through the API: a person left out, which the editor does not show as a field.
        let b = api_rule(
            s,
            json!({"name": "b", "conditions": {"people": {"users": {"exclude": [id(&someone)]}}}}),
        )
        .await;
        let (a_id, b_id) = (id(&a), id(&b));

        // Edit b: the form opens with the rule; saving keeps its place and the person left out.
        let edit = c.get(&format!("{PAGE}/rules/{b_id}")).await;
        assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
        assert!(edit.body.contains("value=\"b\""), "{}", edit.body);
        assert!(edit.body.contains("Leaves out 1 person"), "{}", edit.body);
        let stamp = edit.hidden("last_updated").expect("the rule's version");
        let kept = edit.hidden("keep_user").expect("the person kept");
        let save = |name: &'static str, stamp: String, kept: String| {
            let c = &c;
            let b_id = b_id.clone();
            async move {
                c.post(
                    &format!("{PAGE}/rules/{b_id}"),
                    &[
                        ("name", name),
                        ("last_updated", &stamp),
                        ("keep_user", &kept),
                        ("detection_mode", "include"),
                        ("detection", "USER_REPORTED_SUSPICIOUS_ACTIVITY"),
                        ("level", "HIGH"),
                        ("action", "logout"),
                        ("apps_mode", "ALL"),
                        ("mode", "MONITOR"),
                    ],
                )
                .await
            }
        };
        let done = save("b, edited", stamp.clone(), kept.clone()).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let all = rules(s).await;
        assert_eq!(all[1]["name"], "b, edited");
        assert_eq!(all[1]["priority"], 2);
        assert_eq!(all[1]["mode"], "MONITOR");
        assert_eq!(
            all[1]["conditions"]["people"]["users"]["exclude"],
            json!([id(&someone)])
        );
        assert_eq!(
            all[1]["actions"]["entityRisk"]["actions"][0]["slo"]["appSelectionMode"],
            "ALL"
        );
        let page = c.get(done.location()).await;
        assert!(
            page.body.contains("Rule \u{201c}b, edited\u{201d} saved."),
            "{}",
            page.body
        );
        assert!(
            within(&page.body, &format!("id=\"rule-{b_id}\""), "</tr>").contains(">Monitor</span>")
        );

        // The same (now stale) form again: refused, nothing changed.
        let stale = save("b, overwritten", stamp, kept).await;
        assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
        assert!(stale.body.contains("changed meanwhile"), "{}", stale.body);
        assert!(
            stale.body.contains("value=\"b, overwritten\""),
            "what was typed stays"
        );
        assert_eq!(rules(s).await[1]["name"], "b, edited");

        // Move b up: it is checked first.
        let moved = c
            .post(&format!("{PAGE}/rules/{b_id}/move"), &[("direction", "up")])
            .await;
        assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
        let names: Vec<Value> = rules(s).await.iter().map(|r| r["name"].clone()).collect();
        assert_eq!(
            names,
            vec![json!("b, edited"), json!("a"), json!("Default Rule")]
        );
        let bad = c
            .post(
                &format!("{PAGE}/rules/{b_id}/move"),
                &[("direction", "sideways")],
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);

        // Disable and enable a.
        let off = c
            .post(&format!("{PAGE}/rules/{a_id}/deactivate"), &[])
            .await;
        assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.body);
        assert_eq!(rules(s).await[1]["status"], "INACTIVE");
        let page = c.get(off.location()).await;
        assert!(
            page.body.contains("Rule \u{201c}a\u{201d} disabled."),
            "{}",
            page.body
        );
        assert!(
            within(&page.body, &format!("id=\"rule-{a_id}\""), "</tr>")
                .contains(">Disabled</span>")
        );
        let on = c.post(&format!("{PAGE}/rules/{a_id}/activate"), &[]).await;
        assert_eq!(on.status, StatusCode::SEE_OTHER, "{}", on.body);
        assert_eq!(rules(s).await[1]["status"], "ACTIVE");

        // Delete a: confirmed first (a dialog for htmx, a page otherwise).
        let dialog = c.get_htmx(&format!("{PAGE}/rules/{a_id}/delete")).await;
        assert_eq!(dialog.status, StatusCode::OK, "{}", dialog.body);
        assert!(!dialog.body.contains("<html"), "{}", dialog.body);
        assert!(
            dialog.body.contains("Delete the rule \u{201c}a\u{201d}"),
            "{}",
            dialog.body
        );
        let confirm_page = c.get(&format!("{PAGE}/rules/{a_id}/delete")).await;
        assert!(confirm_page.body.contains("<html"), "{}", confirm_page.body);
        let gone = c.post(&format!("{PAGE}/rules/{a_id}/delete"), &[]).await;
        assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.body);
        assert_eq!(rules(s).await.len(), 2);
        let again = c.post(&format!("{PAGE}/rules/{a_id}/delete"), &[]).await;
        assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.body);

        // The Default Rule stays, whatever is asked.
        let default = id(rules(s).await.last().expect("the default rule"));
        let dialog = c.get_htmx(&format!("{PAGE}/rules/{default}/delete")).await;
        assert_eq!(dialog.status, StatusCode::CONFLICT, "{}", dialog.body);
        for path in ["delete", "deactivate"] {
            let a = c.post(&format!("{PAGE}/rules/{default}/{path}"), &[]).await;
            assert_eq!(a.status, StatusCode::CONFLICT, "{path}: {}", a.body);
            assert!(a.body.contains("cannot be changed"), "{}", a.body);
        }
        let view = c.get(&format!("{PAGE}/rules/{default}")).await;
        assert_eq!(view.status, StatusCode::OK);
        assert!(!view.body.contains(">Save</button>"), "{}", view.body);
        assert!(
            view.body.contains("<fieldset class=\"plain\" disabled>"),
            "{}",
            view.body
        );
        assert_eq!(rules(s).await.len(), 2);

        let changes: Vec<Value> = console_events(s, "policy.rule.update", &a_id)
            .await
            .iter()
            .map(|e| e["debugContext"]["debugData"]["change"].clone())
            .collect();
        assert_eq!(
            changes,
            vec![json!("deactivated"), json!("activated"), json!("deleted")],
            "each change of a, by the console"
        );
    })
    .await;
}

#[tokio::test]
async fn simulate_shows_the_matching_rule_and_what_it_would_reach() {
    on_every_backend(async |s| {
        let c = console(s).await;
        let ada = create_user(s, "ada@example.com").await;
        let sales = create_group(s, "Sales").await;
        let (status, v) = s
            .put(&format!("/api/v1/groups/{}/users/{}", id(&sales), id(&ada)), None)
            .await;
        assert!(status.is_success(), "{v}");
        api_rule(
            s,
            json!({"name": "Sales on high risk", "conditions": {"people": {"groups": {"include": [id(&sales)]}}, "entityRisk": {"level": "HIGH"}},
                   "actions": {"entityRisk": {"actions": [{"action": "TERMINATE_ALL_SESSIONS", "slo": {"appSelectionMode": "NONE"}}]}}}),
        )
        .await;

        let page = c.get(PAGE).await;
        assert!(page.body.contains("id=\"sim-person\""), "{}", page.body);
        let run = |person: &'static str, level: &'static str| {
            let c = &c;
            async move {
                c.post_htmx(
                    &format!("{PAGE}/simulate"),
                    &[
                        ("person", person),
                        ("detection", "ADMIN_REPORTED_USER_RISK"),
                        ("level", level),
                    ],
                )
                .await
            }
        };
        let a = run("ada@example.com", "HIGH").await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert!(!a.body.contains("<html"), "the card alone: {}", a.body);
        let result = within(&a.body, "id=\"sim-result\"", "</section>");
        assert!(result.contains("<strong>Sales on high risk</strong>"), "{result}");
        assert!(result.contains("Logout and revoke tokens: ulo only"), "{result}");
        assert!(result.contains("ulo sessions"), "{result}");
        assert!(a.body.contains("value=\"ada@example.com\""), "what was chosen stays");

        // At MEDIUM the Default Rule matches: nothing would happen.
        let a = run("ada@example.com", "MEDIUM").await;
        assert!(a.body.contains("<strong>Default Rule</strong>"), "{}", a.body);
        assert!(a.body.contains("Nothing: ulo would log"), "{}", a.body);

        // Nobody by that name: beside the person.
        let a = run("nobody@example.com", "HIGH").await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
        let person = within(&a.body, "<label for=\"sim-person\">", "</div>");
        assert!(person.contains("No one has the username or id"), "{person}");
        let a = run("", "HIGH").await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        assert!(a.body.contains("Choose a person"), "{}", a.body);

        // Without htmx: the page with the card.
        let a = c
            .post(
                &format!("{PAGE}/simulate"),
                &[("person", "ada@example.com"), ("detection", "ADMIN_REPORTED_USER_RISK"), ("level", "HIGH")],
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert!(a.body.contains("<html") && a.body.contains("id=\"sim-result\""));

        // The level select follows the detection.
        let levels = c
            .get_htmx(&format!("{PAGE}/simulate/levels?detection=BRUTE_FORCE_ATTACK&level=HIGH"))
            .await;
        assert_eq!(levels.status, StatusCode::OK);
        assert!(levels.body.contains("value=\"MEDIUM\" selected"), "{}", levels.body);
        assert!(!levels.body.contains("value=\"HIGH\""), "{}", levels.body);

        // People to pick from.
        let found = c.get_htmx(&format!("{PAGE}/people?person=ad")).await;
        assert!(found.body.contains("<option value=\"ada@example.com\">"), "{}", found.body);

        // A dry run changes and logs nothing.
        let (_, risk) = s.get(&format!("/api/v1/users/{}/risk", id(&ada))).await;
        assert_eq!(risk["riskLevel"], "NONE", "{risk}");
        assert!(logged(s, &format!("target.id eq \"{}\" and eventType sw \"policy.entity_risk\"", id(&ada))).await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn signed_out_read_only_and_forged_requests_change_nothing() {
    on_every_backend(async |s| {
        let app = desktop_mfa(s).await;
        let rule = api_rule(s, json!({"name": "keep me"})).await;
        let rid = id(&rule);
        let writes = [
            format!("{PAGE}/rules/new"),
            format!("{PAGE}/rules/{rid}"),
            format!("{PAGE}/rules/{rid}/move"),
            format!("{PAGE}/rules/{rid}/activate"),
            format!("{PAGE}/rules/{rid}/deactivate"),
            format!("{PAGE}/rules/{rid}/delete"),
            format!("{PAGE}/simulate"),
        ];
        let before = rules(s).await;

        // Signed out: pages send to the sign-in, changes are refused.
        let anon = crate::signin::browser();
        let a = crate::signin::answer(anon.get(format!("{}{PAGE}", s.url))).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        assert!(
            a.location().starts_with("/admin/signin?return_to="),
            "{}",
            a.location()
        );
        for path in &writes {
            let a = crate::signin::answer(
                anon.post(format!("{}{path}", s.url))
                    .header(reqwest::header::ORIGIN, &s.url)
                    .form(&seed_form("forged", &app)),
            )
            .await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path}: {}", a.body);
        }

        // A read-only admin sees the rules, and no control that changes them.
        read_only_admin(s, "reader@example.com").await;
        let r = ConsoleClient::sign_in(s, "reader@example.com").await;
        let page = r.get(PAGE).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("keep me") && page.body.contains(">Enabled</span>"));
        for control in [
            "Add Rule",
            "/move\"",
            "/deactivate\"",
            "/delete\"",
            "id=\"sim-person\"",
        ] {
            assert!(!page.body.contains(control), "{control}: {}", page.body);
        }
        assert!(page.body.contains("Simulating needs the SUPER_ADMIN role"));
        let new = r.get(&format!("{PAGE}/rules/new")).await;
        assert_eq!(new.status, StatusCode::FORBIDDEN, "{}", new.body);
        let view = r.get(&format!("{PAGE}/rules/{rid}")).await;
        assert_eq!(view.status, StatusCode::OK);
        assert!(!view.body.contains(">Save</button>"), "{}", view.body);
        let dialog = r.get_htmx(&format!("{PAGE}/rules/{rid}/delete")).await;
        assert_eq!(dialog.status, StatusCode::FORBIDDEN, "{}", dialog.body);
        for path in &writes {
            let mut form = seed_form("forged", &app);
            form.push(("direction", "up"));
            if path.ends_with("/simulate") {
                form = vec![
                    ("person", "reader@example.com"),
                    ("detection", "BRUTE_FORCE_ATTACK"),
                    ("level", "MEDIUM"),
                ];
            }
            let a = r.post(path, &form).await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}: {}", a.body);
        }

        // A forged request (no csrf token) from a super admin's browser.
        let c = console(s).await;
        for path in &writes {
            let a = c.post_without_csrf(path, &seed_form("forged", &app)).await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}: {}", a.body);
            assert!(
                a.body.contains("This change was refused and not made"),
                "{}",
                a.body
            );
        }

        assert_eq!(rules(s).await, before, "nothing changed");
        assert!(
            console_events(s, "policy.rule.update", &rid)
                .await
                .is_empty()
        );
    })
    .await;
}
