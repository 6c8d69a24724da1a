//! Security → Entity Risk Policy: the rules in priority order with their status and mode, the
//! rule editor (Add Rule, edit), reordering, enabling and disabling, deleting (confirmed), and a
//! dry run for a person. Every change is the same `state.policies()` call the admin API makes.

mod editor;
mod names;
mod simulate;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use ulo_core::policy::{
    ActionKind, AppSelectionMode, EntityRiskPolicy, PolicyRule, RuleMode, RuleStatus,
};
use ulo_core::risk::{DetectionType, RiskLevel};

use super::render::{ConsoleError, ConsoleResult, Section, Shell, is_htmx, page, page_with};
use super::session::Console;
use crate::routes::page::query_value;
use crate::state::AppState;

pub(crate) use names::{Names, workflows};

/// Where the policy page is.
pub const PATH: &str = "/admin/security/entity-risk-policy";

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/security/entity-risk-policy", get(show))
        .route(
            "/security/entity-risk-policy/rules/new",
            get(editor::new_rule).post(editor::create),
        )
        .route(
            "/security/entity-risk-policy/rules/{id}",
            get(editor::edit).post(editor::replace),
        )
        .route("/security/entity-risk-policy/levels", get(editor::levels))
        .route(
            "/security/entity-risk-policy/rules/{id}/move",
            post(move_rule),
        )
        .route(
            "/security/entity-risk-policy/rules/{id}/activate",
            post(activate),
        )
        .route(
            "/security/entity-risk-policy/rules/{id}/deactivate",
            post(deactivate),
        )
        .route(
            "/security/entity-risk-policy/rules/{id}/delete",
            get(confirm_delete).post(delete),
        )
        .route("/security/entity-risk-policy/simulate", post(simulate::run))
        .route(
            "/security/entity-risk-policy/simulate/levels",
            get(simulate::levels),
        )
        .route("/security/entity-risk-policy/people", get(simulate::people))
}

/// Name-value pairs of a form or query string, in order (checkbox lists repeat a name).
#[derive(Debug, Default, Clone)]
pub(crate) struct Fields(Vec<(String, String)>);

impl Fields {
    /// Parses `application/x-www-form-urlencoded` bytes.
    pub(crate) fn parse(bytes: &[u8]) -> Self {
        Fields(
            url::form_urlencoded::parse(bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, or empty.
    pub(crate) fn one(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// Every non-empty value of `name`, in order, without repeats.
    pub(crate) fn all(&self, name: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (k, v) in &self.0 {
            if k == name && !v.is_empty() && !out.contains(v) {
                out.push(v.clone());
            }
        }
        out
    }
}

/// The Entity Risk Policy (there is one, made on first start).
pub(crate) async fn the_policy(
    state: &AppState,
    admin: &Console,
) -> ConsoleResult<EntityRiskPolicy> {
    let id = state
        .policies()
        .list(&admin.ctx, "ENTITY_RISK")
        .await?
        .into_iter()
        .next()
        .map(|p| p.id.to_string())
        .ok_or_else(|| {
            ConsoleError::new(
                StatusCode::NOT_FOUND,
                "There is no Entity Risk Policy yet; ulo makes it on first start. Restart ulo serve.",
            )
        })?;
    // The list holds no rules; the policy by id does.
    Ok(state.policies().get(&admin.ctx, &id).await?)
}

/// A detection type in words.
pub fn detection_name(t: DetectionType) -> &'static str {
    match t {
        DetectionType::AdminReportedUserRisk => "Admin reported user risk",
        DetectionType::SecurityEventsProviderReportedRisk => {
            "Security events provider reported risk"
        }
        DetectionType::SessionInfluencedUserRisk => "Session influenced user risk",
        DetectionType::UserReportedSuspiciousActivity => "User reported suspicious activity",
        DetectionType::BruteForceAttack => "Brute force attack",
        DetectionType::EntityCriticalActionFromHighThreatIp => {
            "Entity critical action from high threat IP"
        }
    }
}

/// Where detections of a type come from, in words.
pub fn detection_hint(t: DetectionType) -> &'static str {
    match t {
        DetectionType::AdminReportedUserRisk => "An admin elevates the person's risk level.",
        DetectionType::SecurityEventsProviderReportedRisk => {
            "A registered security events provider sends a signal, at the level it sends."
        }
        DetectionType::SessionInfluencedUserRisk => {
            "A session or refresh token is used from another network or client."
        }
        DetectionType::UserReportedSuspiciousActivity => {
            "The person says \u{201c}this wasn't me\u{201d} about a sign-in."
        }
        DetectionType::BruteForceAttack => {
            "Failed sign-ins lock the account (a lockout alone ends no session)."
        }
        DetectionType::EntityCriticalActionFromHighThreatIp => {
            "A sign-in or admin action comes from an address on the threat list."
        }
    }
}

/// The levels a detection of type `t` can carry, in words ("Medium or High").
pub fn produced_levels(t: DetectionType) -> String {
    let names: Vec<&str> = LEVELS
        .iter()
        .filter(|(l, _)| t.can_produce(*l))
        .map(|(_, n)| *n)
        .collect();
    match names.as_slice() {
        [] => "no level".into(),
        [one] => (*one).into(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// The three levels with their names, lowest first.
pub const LEVELS: [(RiskLevel, &str); 3] = [
    (RiskLevel::Low, "Low"),
    (RiskLevel::Medium, "Medium"),
    (RiskLevel::High, "High"),
];

/// A rule's status in the seed's words.
pub fn status_label(s: RuleStatus) -> &'static str {
    match s {
        RuleStatus::Active => "Enabled",
        RuleStatus::Inactive => "Disabled",
    }
}

/// A rule's mode in words.
pub fn mode_label(m: RuleMode) -> &'static str {
    match m {
        RuleMode::Enforce => "Enforce",
        RuleMode::Monitor => "Monitor",
    }
}

/// One rule as the list shows it.
pub struct RuleRow {
    /// Id.
    pub id: String,
    /// Priority (evaluation order).
    pub priority: u32,
    /// Name.
    pub name: String,
    /// The default rule.
    pub system: bool,
    /// ACTIVE.
    pub enabled: bool,
    /// "Enabled" / "Disabled".
    pub status: &'static str,
    /// "Enforce" / "Monitor".
    pub mode: &'static str,
    /// MONITOR.
    pub monitor: bool,
    /// Who it applies to.
    pub people: String,
    /// Which detections.
    pub detections: String,
    /// Which level.
    pub level: &'static str,
    /// What it does (the action's kind).
    pub action_head: String,
    /// What it does (its reach).
    pub action_detail: String,
    /// It can move up (not the first rule).
    pub can_up: bool,
    /// It can move down (not the last rule before the default rule).
    pub can_down: bool,
}

impl RuleRow {
    fn of(rule: &PolicyRule, names: &Names, first: bool, last: bool) -> Self {
        let action = action_summary(rule, names);
        let (head, detail) = match action.split_once(": ") {
            Some((h, d)) => (h.to_string(), d.to_string()),
            None => (action.clone(), String::new()),
        };
        RuleRow {
            id: rule.id.to_string(),
            priority: rule.priority,
            name: rule.name.clone(),
            system: rule.system,
            enabled: rule.status == RuleStatus::Active,
            status: status_label(rule.status),
            mode: mode_label(rule.mode),
            monitor: rule.mode == RuleMode::Monitor,
            people: people_summary(rule, names),
            detections: detections_summary(rule),
            level: level_label(rule),
            action_head: head,
            action_detail: detail,
            can_up: !rule.system && !first,
            can_down: !rule.system && !last,
        }
    }
}

/// Who a rule applies to, in words.
pub fn people_summary(rule: &PolicyRule, names: &Names) -> String {
    let g = &rule.conditions.people.groups;
    let mut s = match (g.include.is_empty(), g.exclude.is_empty()) {
        (true, true) => "Any group".to_string(),
        (false, true) => format!("Members of {}", names.groups_of(&g.include)),
        (true, false) => format!("Everyone except members of {}", names.groups_of(&g.exclude)),
        (false, false) => format!(
            "Members of {}, except members of {}",
            names.groups_of(&g.include),
            names.groups_of(&g.exclude)
        ),
    };
    let users = rule.conditions.people.users.exclude.len();
    if users > 0 {
        s.push_str(&format!(
            "; {users} {} left out",
            if users == 1 { "person" } else { "people" }
        ));
    }
    s
}

/// Which detections a rule applies to, in words.
pub fn detections_summary(rule: &PolicyRule) -> String {
    let list = |ts: &[DetectionType]| {
        ts.iter()
            .map(|t| detection_name(*t))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match &rule.conditions.risk_detection_types {
        None => "Any detection".into(),
        Some(d) if !d.include.is_empty() => format!("Any of: {}", list(&d.include)),
        Some(d) if !d.exclude.is_empty() => format!("Any except: {}", list(&d.exclude)),
        Some(_) => "Any detection".into(),
    }
}

/// A rule's level condition in words.
pub fn level_label(rule: &PolicyRule) -> &'static str {
    match rule.conditions.entity_risk.level.level() {
        None => "Any",
        Some(l) => LEVELS
            .iter()
            .find(|(x, _)| *x == l)
            .map(|(_, n)| *n)
            .unwrap_or("Any"),
    }
}

/// What a rule does, in words.
pub fn action_summary(rule: &PolicyRule, names: &Names) -> String {
    let actions = &rule.actions.entity_risk.actions;
    if actions.is_empty() {
        return "None (log only)".into();
    }
    actions
        .iter()
        .map(|a| match a.action {
            ActionKind::TerminateAllSessions => {
                let reach = match &a.slo {
                    None => "ulo only".to_string(),
                    Some(slo) => match slo.app_selection_mode {
                        AppSelectionMode::None => "ulo only".to_string(),
                        AppSelectionMode::All => "ulo and every logout-enabled app".to_string(),
                        AppSelectionMode::Specific => {
                            format!("ulo and {}", names.apps_of(&slo.app_instance_ids))
                        }
                    },
                };
                format!("Logout and revoke tokens: {reach}")
            }
            ActionKind::RunWorkflow => format!(
                "Run workflow {}",
                a.workflow
                    .as_ref()
                    .map(|w| names.workflow(&w.id))
                    .unwrap_or_else(|| "?".into())
            ),
        })
        .collect::<Vec<_>>()
        .join("; then ")
}

#[derive(Template)]
#[template(path = "console/policy.html")]
struct PolicyPage {
    shell: Shell,
    rules: Vec<RuleRow>,
    error: Option<ConsoleError>,
    sim: simulate::SimulateCard,
}

#[derive(Debug, Default, Deserialize)]
struct Done {
    done: Option<String>,
    rule: Option<String>,
}

/// The notice after a change (`?done=…&rule=…`), in words; the rule is named from the policy,
/// never from the query.
fn notice(done: &Done, policy: &EntityRiskPolicy) -> Option<String> {
    let name = || {
        done.rule
            .as_deref()
            .and_then(|id| policy.rules.iter().find(|r| r.id.to_string() == id))
            .map(|r| format!("\u{201c}{}\u{201d}", r.name))
    };
    let what = match done.done.as_deref()? {
        "added" => "added",
        "saved" => "saved",
        "enabled" => "enabled",
        "disabled" => "disabled",
        "moved" => "moved",
        "deleted" => return Some("The rule was deleted.".into()),
        _ => return None,
    };
    Some(format!("Rule {} {what}.", name()?))
}

/// The policy page, with `error` (from an action on it) at the top when given.
async fn policy_page(
    state: &AppState,
    admin: &Console,
    done: &Done,
    error: Option<ConsoleError>,
    sim: simulate::SimulateCard,
) -> Response {
    let mut shell = admin.shell("Entity Risk Policy", Section::RiskPolicy);
    let policy = match the_policy(state, admin).await {
        Ok(p) => p,
        Err(e) => return e.page(shell),
    };
    let names = match Names::load(state, admin).await {
        Ok(n) => n,
        Err(e) => return e.page(shell),
    };
    if let Some(n) = notice(done, &policy) {
        shell = shell.with_notice(n);
    }
    let custom = policy.rules.iter().filter(|r| !r.system).count();
    let mut n = 0;
    let rules = policy
        .rules
        .iter()
        .map(|r| {
            let row = RuleRow::of(r, &names, n == 0, n + 1 >= custom);
            if !r.system {
                n += 1;
            }
            row
        })
        .collect();
    let status = error.as_ref().map_or(sim.status, |e| e.status);
    page_with(
        status,
        &PolicyPage {
            shell,
            rules,
            error,
            sim,
        },
    )
}

async fn show(State(state): State<AppState>, admin: Console, Query(done): Query<Done>) -> Response {
    let sim = simulate::SimulateCard::blank(&admin);
    policy_page(&state, &admin, &done, None, sim).await
}

/// After a change on the list: back to it with a notice, or the list with the error on top.
async fn after(
    state: &AppState,
    admin: &Console,
    result: ConsoleResult<()>,
    done: &str,
    rule: &str,
) -> Response {
    match result {
        Ok(()) => {
            super::render::see_other(&format!("{PATH}?done={done}&rule={}", query_value(rule)))
        }
        Err(e) => {
            let sim = simulate::SimulateCard::blank(admin);
            policy_page(state, admin, &Done::default(), Some(e), sim).await
        }
    }
}

#[derive(Debug, Deserialize)]
struct MoveForm {
    #[serde(default)]
    direction: String,
}

/// `POST …/rules/{id}/move`: one place up or down (the rule is saved at its new priority; the
/// others shift, as the API's replace with a priority does).
async fn move_rule(
    State(state): State<AppState>,
    admin: Console,
    axum::extract::Path(id): axum::extract::Path<String>,
    axum::Form(form): axum::Form<MoveForm>,
) -> Response {
    let result = async {
        let policy = the_policy(&state, &admin).await?;
        let rule = policy
            .rules
            .iter()
            .find(|r| r.id.to_string() == id)
            .ok_or_else(|| {
                ConsoleError::from(ulo_core::error::DomainError::not_found("policy rule", &id))
            })?;
        let priority = match form.direction.as_str() {
            "up" => rule.priority.saturating_sub(1).max(1),
            "down" => rule.priority + 1,
            other => {
                return Err(ConsoleError::new(
                    StatusCode::BAD_REQUEST,
                    format!("Move {other:?}? Use up or down."),
                ));
            }
        };
        let mut input = editor::input_of(rule);
        input.priority = Some(priority);
        state
            .policies()
            .replace_rule(&admin.ctx, &policy.id.to_string(), &id, input)
            .await?;
        Ok(())
    }
    .await;
    after(&state, &admin, result, "moved", &id).await
}

async fn set_status(state: &AppState, admin: &Console, id: &str, status: RuleStatus) -> Response {
    let result = async {
        let policy = the_policy(state, admin).await?;
        state
            .policies()
            .set_status(&admin.ctx, &policy.id.to_string(), id, status)
            .await?;
        Ok(())
    }
    .await;
    let done = match status {
        RuleStatus::Active => "enabled",
        RuleStatus::Inactive => "disabled",
    };
    after(state, admin, result, done, id).await
}

/// `POST …/rules/{id}/activate`.
async fn activate(
    State(state): State<AppState>,
    admin: Console,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    set_status(&state, &admin, &id, RuleStatus::Active).await
}

/// `POST …/rules/{id}/deactivate`.
async fn deactivate(
    State(state): State<AppState>,
    admin: Console,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    set_status(&state, &admin, &id, RuleStatus::Inactive).await
}

/// A confirmation: a dialog for htmx, a page otherwise. Used by every delete and revoke of the
/// Security pages.
#[derive(Template)]
#[template(path = "console/security_confirm.html")]
pub(crate) struct ConfirmDialog {
    /// The dialog's title.
    pub title: String,
    /// What will happen, in one or two sentences.
    pub message: String,
    /// Where the confirming form posts.
    pub action: String,
    /// The confirming button.
    pub button: String,
    /// Where Cancel goes.
    pub back: String,
    /// The csrf token.
    pub csrf: String,
}

#[derive(Template)]
#[template(path = "console/security_alert.html")]
struct AlertFragment<'a> {
    error: &'a ConsoleError,
}

/// An error in place (htmx), headed by what kind of refusal it is.
pub(crate) fn alert(e: &ConsoleError) -> Response {
    page_with(e.status, &AlertFragment { error: e })
}

#[derive(Template)]
#[template(path = "console/security_confirm_page.html")]
struct ConfirmPage {
    shell: Shell,
    dialog: ConfirmDialog,
}

/// Answers `dialog` as a dialog (htmx) or as a page in `shell`.
pub(crate) fn confirm(headers: &HeaderMap, shell: Shell, dialog: ConfirmDialog) -> Response {
    if !shell.can_write {
        // Nothing to confirm for someone who may not do it; the POST would be refused anyway.
        return ConsoleError::from(ulo_core::error::DomainError::Forbidden(
            "You do not have permission to perform the requested action: this needs the SUPER_ADMIN role".into(),
        ))
        .answer(headers, shell);
    }
    if is_htmx(headers) {
        page(&dialog)
    } else {
        page(&ConfirmPage { shell, dialog })
    }
}

/// `GET …/rules/{id}/delete`: are you sure?
async fn confirm_delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let shell = admin.shell("Delete rule", Section::RiskPolicy);
    let rule = match the_policy(&state, &admin).await.and_then(|p| {
        p.rules
            .into_iter()
            .find(|r| r.id.to_string() == id)
            .ok_or_else(|| ulo_core::error::DomainError::not_found("policy rule", &id).into())
    }) {
        Ok(r) => r,
        Err(e) => return e.answer(&headers, shell),
    };
    if rule.system {
        let e = ConsoleError::new(
            StatusCode::CONFLICT,
            "The Default Rule cannot be deleted: it decides what happens when no other rule matches.",
        );
        if is_htmx(&headers) {
            return alert(&e);
        }
        let sim = simulate::SimulateCard::blank(&admin);
        return policy_page(&state, &admin, &Done::default(), Some(e), sim).await;
    }
    confirm(
        &headers,
        shell,
        ConfirmDialog {
            title: "Delete rule".into(),
            message: format!(
                "Delete the rule \u{201c}{}\u{201d} (priority {})? The rules after it move up; detections it would have matched fall to the next matching rule.",
                rule.name, rule.priority
            ),
            action: format!("{PATH}/rules/{}/delete", rule.id),
            button: "Delete rule".into(),
            back: PATH.into(),
            csrf: admin.csrf.clone(),
        },
    )
}

/// `POST …/rules/{id}/delete`.
async fn delete(
    State(state): State<AppState>,
    admin: Console,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let result = async {
        let policy = the_policy(&state, &admin).await?;
        state
            .policies()
            .delete_rule(&admin.ctx, &policy.id.to_string(), &id)
            .await?;
        Ok(())
    }
    .await;
    after(&state, &admin, result, "deleted", &id).await
}
