//! The rule editor (Add Rule, edit) with the seed's fields: Rule Name; User Groups (any group,
//! include, exclude); Detection (any, include at least one, exclude at least one); Entity Risk
//! Level; Action (none, Logout and Revoke Tokens with its reach, run a workflow); and ulo's mode.
//! The level fieldset offers only the levels the chosen detections can produce (the domain's
//! [`DetectionTypesCondition::can_produce`]); htmx re-renders it when the detections change.
//! The domain validates; each of its problems is shown beside the field it names.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use ulo_core::app::AppType;
use ulo_core::clock::rfc3339;
use ulo_core::policy::{
    ActionKind, AppSelectionMode, DetectionTypesCondition, EntityRiskActions, EntityRiskCondition,
    GroupsCondition, LevelCondition, People, PolicyRule, RuleAction, RuleActions, RuleConditions,
    RuleInput, RuleMode, Slo, UsersCondition, WorkflowRef,
};
use ulo_core::risk::{DetectionType, RiskLevel};

use super::{
    Fields, LEVELS, Names, PATH, detection_hint, detection_name, produced_levels, the_policy,
};
use crate::console::render::{ConsoleError, Section, Shell, page, page_with, see_other};
use crate::console::security::sentence;
use crate::console::session::Console;
use crate::routes::page::query_value;
use crate::state::AppState;

/// The editor's fields as typed (kept as typed when the rule is refused).
#[derive(Debug, Clone, Default)]
pub struct RuleForm {
    /// Rule Name.
    pub name: String,
    /// `any`, `include` or `exclude`.
    pub groups_mode: String,
    /// Chosen group ids.
    pub groups: Vec<String>,
    /// `any`, `include` or `exclude`.
    pub detection_mode: String,
    /// Chosen detection types (their API names).
    pub detections: Vec<String>,
    /// `ANY`, `LOW`, `MEDIUM` or `HIGH`.
    pub level: String,
    /// `none`, `logout` or `workflow`.
    pub action: String,
    /// `NONE`, `ALL` or `SPECIFIC`.
    pub apps_mode: String,
    /// Chosen app ids (SPECIFIC).
    pub apps: Vec<String>,
    /// The workflow id (run a workflow).
    pub workflow: String,
    /// `ENFORCE` or `MONITOR`.
    pub mode: String,
    /// The rule's lastUpdated when the editor opened (edit): a stale form is refused.
    pub last_updated: String,
    /// People left out of the rule (set through the API; the editor keeps them).
    pub keep_users: Vec<String>,
    /// Groups left out besides the included ones (set through the API; kept).
    pub keep_group_exclude: Vec<String>,
    /// A workflow run after the logout (set through the API; kept).
    pub keep_workflow: String,
}

impl RuleForm {
    /// A new rule's defaults.
    fn blank() -> Self {
        RuleForm {
            groups_mode: "any".into(),
            detection_mode: "any".into(),
            level: "ANY".into(),
            action: "none".into(),
            apps_mode: "NONE".into(),
            mode: "ENFORCE".into(),
            ..RuleForm::default()
        }
    }

    /// The posted (or queried) fields.
    pub fn from_fields(f: &Fields) -> Self {
        let or = |v: String, d: &str| if v.is_empty() { d.to_string() } else { v };
        RuleForm {
            name: f.one("name"),
            groups_mode: or(f.one("groups_mode"), "any"),
            groups: f.all("group"),
            detection_mode: or(f.one("detection_mode"), "any"),
            detections: f.all("detection"),
            level: or(f.one("level"), "ANY"),
            action: or(f.one("action"), "none"),
            apps_mode: or(f.one("apps_mode"), "NONE"),
            apps: f.all("app"),
            workflow: f.one("workflow"),
            mode: or(f.one("mode"), "ENFORCE"),
            last_updated: f.one("last_updated"),
            keep_users: f.all("keep_user"),
            keep_group_exclude: f.all("keep_group_exclude"),
            keep_workflow: f.one("keep_workflow"),
        }
    }

    /// A stored rule in the editor.
    pub fn of_rule(rule: &PolicyRule) -> Self {
        let mut f = RuleForm::blank();
        f.name = rule.name.clone();
        let g = &rule.conditions.people.groups;
        if !g.include.is_empty() {
            f.groups_mode = "include".into();
            f.groups = g.include.clone();
            f.keep_group_exclude = g.exclude.clone();
        } else if !g.exclude.is_empty() {
            f.groups_mode = "exclude".into();
            f.groups = g.exclude.clone();
        }
        f.keep_users = rule.conditions.people.users.exclude.clone();
        if let Some(d) = &rule.conditions.risk_detection_types {
            let (mode, types) = if d.include.is_empty() {
                ("exclude", &d.exclude)
            } else {
                ("include", &d.include)
            };
            if !types.is_empty() {
                f.detection_mode = mode.into();
                f.detections = types.iter().map(|t| t.as_str().to_string()).collect();
            }
        }
        f.level = level_value(rule.conditions.entity_risk.level).into();
        let actions = &rule.actions.entity_risk.actions;
        let workflow = actions
            .iter()
            .find(|a| a.action == ActionKind::RunWorkflow)
            .and_then(|a| a.workflow.as_ref())
            .map(|w| w.id.clone());
        if let Some(t) = actions
            .iter()
            .find(|a| a.action == ActionKind::TerminateAllSessions)
        {
            f.action = "logout".into();
            if let Some(slo) = &t.slo {
                f.apps_mode = match slo.app_selection_mode {
                    AppSelectionMode::None => "NONE",
                    AppSelectionMode::All => "ALL",
                    AppSelectionMode::Specific => "SPECIFIC",
                }
                .into();
                f.apps = slo.app_instance_ids.clone();
            }
            f.keep_workflow = workflow.unwrap_or_default();
        } else if let Some(w) = workflow {
            f.action = "workflow".into();
            f.workflow = w;
        }
        f.mode = rule.mode.as_str().into();
        f.last_updated = rfc3339(rule.last_updated);
        f
    }

    /// The detection condition the chosen detections make, for the level choices (unknown names
    /// and an empty choice restrict nothing).
    fn detection_condition(&self) -> Option<DetectionTypesCondition> {
        let types: Vec<DetectionType> = self
            .detections
            .iter()
            .filter_map(|d| d.parse().ok())
            .collect();
        if types.is_empty() {
            return None;
        }
        match self.detection_mode.as_str() {
            "include" => Some(DetectionTypesCondition {
                include: types,
                exclude: Vec::new(),
            }),
            "exclude" => Some(DetectionTypesCondition {
                include: Vec::new(),
                exclude: types,
            }),
            _ => None,
        }
    }

    /// The rule the form asks for; what the form itself gets wrong (a choice the page does not
    /// offer) is reported by field. Whether the rule is right is the domain's to say.
    fn to_input(&self) -> Result<RuleInput, Box<FieldErrors>> {
        let mut e = FieldErrors::default();
        let groups = match self.groups_mode.as_str() {
            "any" => GroupsCondition::default(),
            "include" | "exclude" if self.groups.is_empty() => {
                e.groups
                    .push("Choose at least one group, or choose Any Group.".into());
                GroupsCondition::default()
            }
            "include" => GroupsCondition {
                include: self.groups.clone(),
                exclude: self.keep_group_exclude.clone(),
            },
            "exclude" => GroupsCondition {
                include: Vec::new(),
                exclude: self.groups.clone(),
            },
            other => {
                e.groups.push(format!(
                    "Unknown choice {other:?}: choose Any Group, include or exclude."
                ));
                GroupsCondition::default()
            }
        };
        let mut types = Vec::new();
        for d in &self.detections {
            match d.parse::<DetectionType>() {
                Ok(t) => types.push(t),
                Err(_) => e
                    .detections
                    .push(format!("{d:?} is not a detection type ulo has.")),
            }
        }
        let detections = match self.detection_mode.as_str() {
            "any" => None,
            "include" => Some(DetectionTypesCondition {
                include: types,
                exclude: Vec::new(),
            }),
            "exclude" => Some(DetectionTypesCondition {
                include: Vec::new(),
                exclude: types,
            }),
            other => {
                e.detections.push(format!(
                    "Unknown choice {other:?}: choose any, include or exclude."
                ));
                None
            }
        };
        let level = match self.level.as_str() {
            "ANY" => LevelCondition::Any,
            "LOW" => LevelCondition::Low,
            "MEDIUM" => LevelCondition::Medium,
            "HIGH" => LevelCondition::High,
            other => {
                e.level.push(format!(
                    "Unknown level {other:?}: choose Any, Low, Medium or High."
                ));
                LevelCondition::Any
            }
        };
        let mut actions = Vec::new();
        match self.action.as_str() {
            "none" => {}
            "logout" => {
                let mode = match self.apps_mode.as_str() {
                    "NONE" => AppSelectionMode::None,
                    "ALL" => AppSelectionMode::All,
                    "SPECIFIC" => AppSelectionMode::Specific,
                    other => {
                        e.apps.push(format!(
                            "Unknown choice {other:?}: choose ulo only, all logout-enabled apps or the chosen apps."
                        ));
                        AppSelectionMode::None
                    }
                };
                actions.push(RuleAction {
                    action: ActionKind::TerminateAllSessions,
                    slo: Some(Slo {
                        app_selection_mode: mode,
                        app_instance_ids: if mode == AppSelectionMode::Specific {
                            self.apps.clone()
                        } else {
                            Vec::new()
                        },
                    }),
                    workflow: None,
                });
                if !self.keep_workflow.is_empty() {
                    actions.push(RuleAction {
                        action: ActionKind::RunWorkflow,
                        slo: None,
                        workflow: Some(WorkflowRef {
                            id: self.keep_workflow.clone(),
                        }),
                    });
                }
            }
            "workflow" => actions.push(RuleAction {
                action: ActionKind::RunWorkflow,
                slo: None,
                workflow: Some(WorkflowRef {
                    id: self.workflow.clone(),
                }),
            }),
            other => e.action.push(format!(
                "Unknown action {other:?}: choose none, Logout and Revoke Tokens or run a workflow."
            )),
        }
        let mode = match self.mode.as_str() {
            "ENFORCE" => RuleMode::Enforce,
            "MONITOR" => RuleMode::Monitor,
            other => {
                e.mode.push(format!(
                    "Unknown mode {other:?}: choose Enforce or Monitor."
                ));
                RuleMode::Enforce
            }
        };
        if !e.is_empty() {
            return Err(Box::new(e));
        }
        Ok(RuleInput {
            rule_type: None,
            name: self.name.trim().to_string(),
            priority: None,
            status: None,
            mode: Some(mode),
            conditions: RuleConditions {
                people: People {
                    users: UsersCondition {
                        exclude: self.keep_users.clone(),
                    },
                    groups,
                },
                entity_risk: EntityRiskCondition { level },
                risk_detection_types: detections,
            },
            actions: RuleActions {
                entity_risk: EntityRiskActions { actions },
            },
        })
    }
}

/// A stored rule as input again, unchanged (to move it).
pub fn input_of(rule: &PolicyRule) -> RuleInput {
    RuleInput {
        rule_type: None,
        name: rule.name.clone(),
        priority: None,
        status: None,
        mode: Some(rule.mode),
        conditions: rule.conditions.clone(),
        actions: rule.actions.clone(),
    }
}

fn level_value(l: LevelCondition) -> &'static str {
    match l {
        LevelCondition::Any => "ANY",
        LevelCondition::Low => "LOW",
        LevelCondition::Medium => "MEDIUM",
        LevelCondition::High => "HIGH",
    }
}

/// Problems by the field they belong to.
#[derive(Debug, Default, Clone)]
pub struct FieldErrors {
    /// Rule Name.
    pub name: Vec<String>,
    /// User Groups.
    pub groups: Vec<String>,
    /// Detection.
    pub detections: Vec<String>,
    /// Entity Risk Level.
    pub level: Vec<String>,
    /// Action.
    pub action: Vec<String>,
    /// The apps a logout reaches.
    pub apps: Vec<String>,
    /// The workflow.
    pub workflow: Vec<String>,
    /// Mode.
    pub mode: Vec<String>,
    /// Anything else (shown at the top).
    pub other: Vec<String>,
}

impl FieldErrors {
    fn is_empty(&self) -> bool {
        [
            &self.name,
            &self.groups,
            &self.detections,
            &self.level,
            &self.action,
            &self.apps,
            &self.workflow,
            &self.mode,
            &self.other,
        ]
        .iter()
        .all(|v| v.is_empty())
    }

    /// Files each of the domain's causes (`field.path: what is wrong`) under its field.
    fn place(&mut self, causes: &[String]) {
        for cause in causes {
            let (path, what) = cause.split_once(": ").unwrap_or(("", cause.as_str()));
            let what = sentence(what);
            let slot = if path == "name" {
                &mut self.name
            } else if path.starts_with("conditions.people") {
                &mut self.groups
            } else if path.starts_with("conditions.riskDetectionTypes") {
                &mut self.detections
            } else if path.starts_with("conditions.entityRisk") {
                &mut self.level
            } else if path.contains(".slo") {
                &mut self.apps
            } else if path.contains("workflow") {
                &mut self.workflow
            } else if path.starts_with("actions") {
                &mut self.action
            } else if path == "mode" {
                &mut self.mode
            } else {
                self.other.push(cause.clone());
                continue;
            };
            slot.push(what);
        }
    }
}

/// One choice of a checkbox list.
pub struct Choice {
    /// The submitted value.
    pub value: String,
    /// The element id.
    pub id: String,
    /// What it is called.
    pub label: String,
    /// A line under it.
    pub hint: String,
    /// A badge after it (e.g. "Logout off").
    pub badge: String,
    /// Ticked.
    pub checked: bool,
}

/// One level radio.
pub struct LevelOption {
    /// `ANY`, `LOW`…
    pub value: &'static str,
    /// Its label.
    pub label: &'static str,
    /// Chosen.
    pub checked: bool,
    /// Not offered: no chosen detection produces it.
    pub disabled: bool,
}

/// The Entity Risk Level fieldset.
pub struct LevelField {
    /// Any, Low, Medium, High.
    pub options: Vec<LevelOption>,
    /// Which levels are offered and why.
    pub note: String,
    /// The domain's problems with the level.
    pub errors: Vec<String>,
}

impl LevelField {
    /// The levels the form's detections can produce; with `settle`, a chosen level they cannot
    /// produce goes back to Any (the detections just changed).
    pub fn of(form: &RuleForm, errors: Vec<String>, settle: bool) -> (LevelField, String) {
        let cond = form.detection_condition();
        let possible = |l: RiskLevel| cond.as_ref().is_none_or(|c| c.can_produce(l));
        let mut chosen = form.level.clone();
        let mut note = String::new();
        if settle
            && let Some((_, name)) = LEVELS
                .iter()
                .find(|(l, _)| l.as_str() == chosen && !possible(*l))
        {
            note = format!(
                "{name} is not offered with the chosen detections, so the level is back to Any. "
            );
            chosen = "ANY".into();
        }
        let offered: Vec<&str> = LEVELS
            .iter()
            .filter(|(l, _)| possible(*l))
            .map(|(_, n)| *n)
            .collect();
        if cond.is_some() && offered.len() < LEVELS.len() {
            note.push_str(&format!(
                "The chosen detections can produce {}; the other levels are not offered.",
                match offered.as_slice() {
                    [] => "no level".to_string(),
                    [one] => format!("only {one}"),
                    [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
                }
            ));
        }
        let mut options = vec![LevelOption {
            value: "ANY",
            label: "Any",
            checked: chosen == "ANY",
            disabled: false,
        }];
        for (l, name) in LEVELS {
            let checked = chosen == l.as_str();
            options.push(LevelOption {
                value: l.as_str(),
                label: name,
                checked,
                // What is chosen stays choosable (its error says why it is wrong).
                disabled: !possible(l) && !checked,
            });
        }
        (
            LevelField {
                options,
                note: note.trim().to_string(),
                errors,
            },
            chosen,
        )
    }
}

#[derive(Template)]
#[template(path = "console/rule_editor.html")]
struct EditorPage {
    shell: Shell,
    is_new: bool,
    /// The default rule (shown, never saved).
    system: bool,
    action_url: String,
    form: RuleForm,
    groups: Vec<Choice>,
    detections: Vec<Choice>,
    levels: LevelField,
    apps: Vec<Choice>,
    workflows: Vec<Choice>,
    errors: FieldErrors,
    /// Why the rule was not saved (top of the form).
    problem: Option<String>,
    /// What the editor keeps that it does not show as fields.
    kept: Vec<String>,
}

#[derive(Template)]
#[template(path = "console/rule_levels.html")]
struct LevelFragment {
    levels: LevelField,
}

/// The editor for `form`, with `errors` beside the fields and `problem` on top.
fn editor(
    shell: Shell,
    names: &Names,
    rule: Option<&PolicyRule>,
    mut form: RuleForm,
    errors: FieldErrors,
    problem: Option<String>,
) -> EditorPage {
    let groups = names
        .groups
        .iter()
        .map(|g| {
            let id = g.id.to_string();
            Choice {
                checked: form.groups.contains(&id),
                id: format!("group-{id}"),
                label: g.profile.name.clone(),
                hint: g.profile.description.clone().unwrap_or_default(),
                badge: String::new(),
                value: id,
            }
        })
        .collect();
    let detections = DetectionType::ALL
        .iter()
        .map(|t| Choice {
            value: t.as_str().into(),
            id: format!("detection-{}", t.as_str()),
            label: detection_name(*t).into(),
            hint: detection_hint(*t).into(),
            badge: produced_levels(*t),
            checked: form.detections.iter().any(|d| d == t.as_str()),
        })
        .collect();
    let apps = names
        .apps
        .iter()
        .map(|a| {
            let id = a.id.to_string();
            let (hint, badge) = match (a.app_type, a.logout.enabled) {
                (AppType::DesktopMfa, true) => (
                    "Desktop MFA: signs the person out of their enrolled computers (device logout).",
                    "",
                ),
                (AppType::DesktopMfa, false) => (
                    "Desktop MFA: device logout, once its Logout setting is turned on.",
                    "Logout off",
                ),
                (_, true) => ("Receives Universal Logout.", ""),
                (_, false) => (
                    "Skipped until its logout setting is turned on.",
                    "Logout off",
                ),
            };
            Choice {
                checked: form.apps.contains(&id),
                id: format!("app-{id}"),
                label: a.label.clone(),
                hint: hint.into(),
                badge: badge.into(),
                value: id,
            }
        })
        .collect();
    let workflows = names
        .workflows
        .iter()
        .map(|w| {
            let id = w.id.to_string();
            Choice {
                checked: form.workflow == id,
                id: format!("workflow-{id}"),
                label: w.name.clone(),
                hint: w.url.clone(),
                badge: if w.status.as_str() == "ACTIVE" {
                    String::new()
                } else {
                    "Inactive".into()
                },
                value: id,
            }
        })
        .collect();
    let (levels, _) = LevelField::of(&form, errors.level.clone(), false);
    let mut kept = Vec::new();
    if !form.keep_users.is_empty() {
        kept.push(format!(
            "Leaves out {} {} by id (set through the API); saving keeps them.",
            form.keep_users.len(),
            if form.keep_users.len() == 1 {
                "person"
            } else {
                "people"
            }
        ));
    }
    if form.groups_mode == "include" && !form.keep_group_exclude.is_empty() {
        kept.push(format!(
            "Also leaves out members of {} (set through the API); saving keeps this.",
            names.groups_of(&form.keep_group_exclude)
        ));
    } else {
        form.keep_group_exclude.clear();
    }
    if form.action == "logout" && !form.keep_workflow.is_empty() {
        kept.push(format!(
            "After the logout it also runs the workflow {} (set through the API); saving keeps this.",
            names.workflow(&form.keep_workflow)
        ));
    }
    let system = rule.is_some_and(|r| r.system);
    EditorPage {
        is_new: rule.is_none(),
        system,
        action_url: match rule {
            Some(r) => format!("{PATH}/rules/{}", r.id),
            None => format!("{PATH}/rules/new"),
        },
        shell,
        form,
        groups,
        detections,
        levels,
        apps,
        workflows,
        errors,
        problem,
        kept,
    }
}

/// The editor refused: `e` placed beside the fields, the form as typed.
fn refused(
    shell: Shell,
    names: &Names,
    rule: Option<&PolicyRule>,
    form: RuleForm,
    e: ConsoleError,
) -> Response {
    let mut errors = FieldErrors::default();
    let problem = if e.status == StatusCode::BAD_REQUEST {
        errors.place(&e.causes);
        if e.causes.is_empty() {
            errors.other.push(e.message.clone());
        }
        "Check the fields marked below.".to_string()
    } else {
        errors.other.extend(e.causes.iter().cloned());
        e.message.clone()
    };
    page_with(
        e.status,
        &editor(shell, names, rule, form, errors, Some(problem)),
    )
}

fn forbidden_to_add() -> ConsoleError {
    ulo_core::error::DomainError::Forbidden(
        "You do not have permission to perform the requested action: adding a rule needs the SUPER_ADMIN role".into(),
    )
    .into()
}

/// `GET …/rules/new`: Add Rule.
pub async fn new_rule(State(state): State<AppState>, admin: Console) -> Response {
    let shell = admin.shell("Add Rule", Section::RiskPolicy);
    if !admin.can_write() {
        return forbidden_to_add().page(shell);
    }
    match Names::load(&state, &admin).await {
        Ok(names) => page(&editor(
            shell,
            &names,
            None,
            RuleForm::blank(),
            FieldErrors::default(),
            None,
        )),
        Err(e) => e.page(shell),
    }
}

/// `POST …/rules/new`: saves a new rule (last before the Default Rule).
pub async fn create(State(state): State<AppState>, admin: Console, body: Bytes) -> Response {
    let shell = admin.shell("Add Rule", Section::RiskPolicy);
    let form = RuleForm::from_fields(&Fields::parse(&body));
    let (policy, names) =
        match tokio::try_join!(the_policy(&state, &admin), Names::load(&state, &admin)) {
            Ok(x) => x,
            Err(e) => return e.page(shell),
        };
    let input = match form.to_input() {
        Ok(i) => i,
        Err(errors) => {
            return page_with(
                StatusCode::BAD_REQUEST,
                &editor(
                    shell,
                    &names,
                    None,
                    form,
                    *errors,
                    Some("Check the fields marked below.".into()),
                ),
            );
        }
    };
    match state
        .policies()
        .create_rule(&admin.ctx, &policy.id.to_string(), input)
        .await
    {
        Ok(rule) => see_other(&format!(
            "{PATH}?done=added&rule={}",
            query_value(&rule.id.to_string())
        )),
        Err(e) => refused(shell, &names, None, form, e.into()),
    }
}

/// The rule `id` of the policy, with the names the editor needs.
async fn load(
    state: &AppState,
    admin: &Console,
    id: &str,
) -> Result<(String, PolicyRule, Names), ConsoleError> {
    let (policy, names) = tokio::try_join!(the_policy(state, admin), Names::load(state, admin))?;
    let rule = policy
        .rules
        .iter()
        .find(|r| r.id.to_string() == id)
        .cloned()
        .ok_or_else(|| ulo_core::error::DomainError::not_found("policy rule", id))?;
    Ok((policy.id.to_string(), rule, names))
}

/// `GET …/rules/{id}`: the rule in the editor (read-only for the Default Rule and for a
/// read-only admin).
pub async fn edit(
    State(state): State<AppState>,
    admin: Console,
    Path(id): Path<String>,
) -> Response {
    let shell = admin.shell("Edit rule", Section::RiskPolicy);
    match load(&state, &admin, &id).await {
        Ok((_, rule, names)) => {
            let title = if rule.system || !admin.can_write() {
                "Rule"
            } else {
                "Edit rule"
            };
            let mut shell = shell;
            shell.title = title.into();
            page(&editor(
                shell,
                &names,
                Some(&rule),
                RuleForm::of_rule(&rule),
                FieldErrors::default(),
                None,
            ))
        }
        Err(e) => e.page(shell),
    }
}

/// `POST …/rules/{id}`: saves the rule (its place stays); a form opened before someone else's
/// change is refused (409) rather than undoing it.
pub async fn replace(
    State(state): State<AppState>,
    admin: Console,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let shell = admin.shell("Edit rule", Section::RiskPolicy);
    let form = RuleForm::from_fields(&Fields::parse(&body));
    let (pid, rule, names) = match load(&state, &admin, &id).await {
        Ok(x) => x,
        Err(e) => return e.page(shell),
    };
    if !rule.system
        && !form.last_updated.is_empty()
        && form.last_updated != rfc3339(rule.last_updated)
    {
        return refused(
            shell,
            &names,
            Some(&rule),
            form,
            ConsoleError::new(
                StatusCode::CONFLICT,
                "This rule was changed meanwhile (in another tab or by another admin), so nothing was saved. Reload the rule to see it as it is now, then make your change again.",
            ),
        );
    }
    let input = match form.to_input() {
        Ok(i) => i,
        Err(errors) => {
            return page_with(
                StatusCode::BAD_REQUEST,
                &editor(
                    shell,
                    &names,
                    Some(&rule),
                    form,
                    *errors,
                    Some("Check the fields marked below.".into()),
                ),
            );
        }
    };
    match state
        .policies()
        .replace_rule(&admin.ctx, &pid, &id, input)
        .await
    {
        Ok(rule) => see_other(&format!(
            "{PATH}?done=saved&rule={}",
            query_value(&rule.id.to_string())
        )),
        Err(e) => refused(shell, &names, Some(&rule), form, e.into()),
    }
}

/// `GET …/levels?detection_mode=…&detection=…&level=…`: the level fieldset for these
/// detections (htmx swaps it in when the detections change).
pub async fn levels(_admin: Console, RawQuery(q): RawQuery) -> Response {
    let form = RuleForm::from_fields(&Fields::parse(q.unwrap_or_default().as_bytes()));
    let (mut levels, _) = LevelField::of(&form, Vec::new(), true);
    levels.errors.clear();
    page(&LevelFragment { levels })
}
