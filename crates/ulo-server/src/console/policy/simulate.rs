//! The policy's dry run: pick a person, a detection and a level, and see which rule would match
//! and what it would do, down to the apps and devices its logout would reach (the domain's
//! `simulate`: nothing changes, nothing is logged).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use ulo_core::logout::{TargetStatus, TargetType};
use ulo_core::policy::{ActionKind, RuleMode, Simulation};
use ulo_core::risk::{DetectionType, RiskLevel};
use ulo_core::store::{Page, UserQuery};
use ulo_core::user::User;

use super::{
    Done, Fields, LEVELS, Names, action_summary, detection_name, mode_label, policy_page,
    status_label, the_policy,
};
use crate::console::people::full_name;
use crate::console::render::{ConsoleError, is_htmx, page, page_with};
use crate::console::security::sentence;
use crate::console::session::Console;
use crate::state::AppState;

/// One option of a select.
pub struct Opt {
    /// Submitted value.
    pub value: String,
    /// Shown.
    pub label: String,
    /// Chosen.
    pub selected: bool,
}

/// Problems by field.
#[derive(Default)]
pub struct SimErrors {
    /// The person.
    pub person: Vec<String>,
    /// The detection.
    pub detection: Vec<String>,
    /// The level.
    pub level: Vec<String>,
    /// Anything else.
    pub other: Vec<String>,
}

/// One place the logout would reach, or why not.
pub struct SimTarget {
    /// What it is called.
    pub name: String,
    /// App, device, ulo sessions…
    pub kind: &'static str,
    /// Would be reached (not skipped).
    pub reached: bool,
    /// Why (or why not).
    pub why: String,
    /// How many sessions or tokens, when counted.
    pub count: String,
}

/// What the dry run found.
pub struct SimResult {
    /// The person.
    pub person: String,
    /// The detection in words.
    pub detection: String,
    /// The level.
    pub level: String,
    /// The matching rule's name.
    pub rule: String,
    /// Its priority.
    pub priority: u32,
    /// It is the Default Rule.
    pub system: bool,
    /// Enabled.
    pub status: &'static str,
    /// Enforce / Monitor.
    pub mode: &'static str,
    /// Its action in words.
    pub action: String,
    /// What would happen, in a sentence.
    pub outcome: String,
    /// The logout's targets (empty when it starts none).
    pub targets: Vec<SimTarget>,
}

/// The Simulate card: its form (kept as chosen), errors and result.
pub struct SimulateCard {
    /// The admin may simulate (SUPER_ADMIN: it reveals which apps a person reaches).
    pub allowed: bool,
    /// The csrf token for the form.
    pub csrf: String,
    /// Username or id as typed.
    pub person: String,
    /// Detections to choose from.
    pub detections: Vec<Opt>,
    /// Levels the chosen detection can carry.
    pub levels: Vec<Opt>,
    /// Problems.
    pub errors: SimErrors,
    /// The answer.
    pub result: Option<SimResult>,
    /// The status to answer with.
    pub status: StatusCode,
}

impl SimulateCard {
    /// An empty card.
    pub fn blank(admin: &Console) -> Self {
        Self::new(
            admin,
            "",
            DetectionType::AdminReportedUserRisk.as_str(),
            "HIGH",
        )
    }

    fn new(admin: &Console, person: &str, detection: &str, level: &str) -> Self {
        let chosen = detection.parse::<DetectionType>().ok();
        let detections = DetectionType::ALL
            .iter()
            .map(|t| Opt {
                value: t.as_str().into(),
                label: detection_name(*t).into(),
                selected: Some(*t) == chosen,
            })
            .collect();
        SimulateCard {
            allowed: admin.can_write(),
            csrf: admin.csrf.clone(),
            person: person.into(),
            detections,
            levels: level_options(chosen, level),
            errors: SimErrors::default(),
            result: None,
            status: StatusCode::OK,
        }
    }
}

/// The levels detection type `t` can carry (all when unknown); `level` stays chosen when it is
/// one of them, else the highest is.
fn level_options(t: Option<DetectionType>, level: &str) -> Vec<Opt> {
    let possible: Vec<(RiskLevel, &str)> = LEVELS
        .iter()
        .copied()
        .filter(|(l, _)| t.is_none_or(|t| t.can_produce(*l)))
        .collect();
    let keep = possible.iter().any(|(l, _)| l.as_str() == level);
    let last = possible.len().saturating_sub(1);
    possible
        .iter()
        .enumerate()
        .map(|(i, (l, name))| Opt {
            value: l.as_str().into(),
            label: (*name).into(),
            selected: if keep { l.as_str() == level } else { i == last },
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/policy_simulate.html")]
struct SimFragment {
    sim: SimulateCard,
}

#[derive(Template)]
#[template(path = "console/policy_sim_levels.html")]
struct SimLevels {
    sim: SimulateCard,
}

/// `GET …/simulate/levels?detection=…&level=…`: the level select for this detection.
pub async fn levels(admin: Console, RawQuery(q): RawQuery) -> Response {
    let f = Fields::parse(q.unwrap_or_default().as_bytes());
    let sim = SimulateCard::new(&admin, "", &f.one("detection"), &f.one("level"));
    page(&SimLevels { sim })
}

/// `POST …/simulate`: the dry run; the card (htmx) or the page with it.
pub async fn run(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Console,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    let person = f.one("person").trim().to_string();
    let mut sim = SimulateCard::new(&admin, &person, &f.one("detection"), &f.one("level"));
    let detection = f.one("detection").parse::<DetectionType>();
    let level = f.one("level").parse::<RiskLevel>();
    if person.is_empty() {
        sim.errors
            .person
            .push("Choose a person: type their username (or id).".into());
    }
    if detection.is_err() {
        sim.errors
            .detection
            .push("Choose one of the detection types listed.".into());
    }
    if level.is_err() {
        sim.errors.level.push("Choose Low, Medium or High.".into());
    }
    match (detection, level) {
        (Ok(d), Ok(l)) if !person.is_empty() => {
            match simulate(&state, &admin, &person, d, l).await {
                Ok(result) => sim.result = Some(result),
                Err(e) => {
                    sim.status = e.status;
                    if e.status == StatusCode::NOT_FOUND {
                        sim.errors.person.push(format!(
                            "No one has the username or id {person:?}. Pick a person from the suggestions."
                        ));
                    } else {
                        sim.errors.other.push(e.message);
                        sim.errors.other.extend(e.causes);
                    }
                }
            }
        }
        _ => sim.status = StatusCode::BAD_REQUEST,
    }
    if is_htmx(&headers) {
        let status = sim.status;
        page_with(status, &SimFragment { sim })
    } else {
        policy_page(&state, &admin, &Done::default(), None, sim).await
    }
}

async fn simulate(
    state: &AppState,
    admin: &Console,
    person: &str,
    detection: DetectionType,
    level: RiskLevel,
) -> Result<SimResult, ConsoleError> {
    let policy = the_policy(state, admin).await?;
    let user = state.directory().get_user(&admin.ctx, person).await?;
    let Simulation { rule, logout } = state
        .policies()
        .simulate(
            &admin.ctx,
            &policy.id.to_string(),
            &user.id.to_string(),
            detection,
            level,
        )
        .await?;
    let names = Names::load(state, admin).await?;
    let actions = &rule.actions.entity_risk.actions;
    let outcome = if rule.mode == RuleMode::Monitor {
        "The rule is in Monitor mode: ulo would log what it would do, and do nothing.".to_string()
    } else if actions.is_empty() {
        "Nothing: ulo would log the detection and the evaluation only.".to_string()
    } else {
        let mut parts = Vec::new();
        if logout.is_some() {
            parts.push("start a Universal Logout reaching the places below".to_string());
        }
        if let Some(w) = actions
            .iter()
            .find(|a| a.action == ActionKind::RunWorkflow)
            .and_then(|a| a.workflow.as_ref())
        {
            parts.push(format!("call the workflow {}", names.workflow(&w.id)));
        }
        format!("ulo would {}.", parts.join(", then "))
    };
    let targets = logout
        .map(|l| {
            l.targets
                .iter()
                .map(|t| SimTarget {
                    name: t.display_name.clone(),
                    kind: match t.target_type {
                        TargetType::UloSessions
                        | TargetType::OauthTokens
                        | TargetType::ApiTokens => "ulo",
                        TargetType::App => "App",
                        TargetType::Device => "Device",
                    },
                    reached: t.status != TargetStatus::Skipped,
                    why: sentence(&t.reason),
                    count: t.count.map(|c| c.to_string()).unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(SimResult {
        person: describe(&user),
        detection: detection_name(detection).into(),
        level: LEVELS
            .iter()
            .find(|(l, _)| *l == level)
            .map(|(_, n)| (*n).to_string())
            .unwrap_or_default(),
        rule: rule.name.clone(),
        priority: rule.priority,
        system: rule.system,
        status: status_label(rule.status),
        mode: mode_label(rule.mode),
        action: action_summary(&rule, &names),
        outcome,
        targets,
    })
}

fn describe(u: &User) -> String {
    let name = full_name(u);
    if name == u.profile.login {
        name
    } else {
        format!("{name} ({})", u.profile.login)
    }
}

#[derive(Debug, Deserialize)]
pub struct PeopleQuery {
    #[serde(default)]
    person: String,
}

#[derive(Template)]
#[template(path = "console/policy_people_options.html")]
struct PeopleOptions {
    people: Vec<(String, String)>,
}

/// `GET …/people?person=…`: up to 8 people whose name, username or email starts so, as
/// `<option>`s for a `<datalist>` (the person pickers of the Security pages).
pub async fn people(
    State(state): State<AppState>,
    admin: Console,
    Query(q): Query<PeopleQuery>,
) -> Response {
    let typed = q.person.trim();
    if typed.is_empty() {
        return page(&PeopleOptions { people: Vec::new() });
    }
    let found = state
        .directory()
        .list_users(
            &admin.ctx,
            &UserQuery {
                q: Some(typed.to_string()),
                filter: None,
                page: Page {
                    after: None,
                    limit: 8,
                },
                risk_at: None,
            },
        )
        .await;
    match found {
        Ok(users) => page(&PeopleOptions {
            people: users
                .iter()
                .map(|u| (u.profile.login.clone(), full_name(u)))
                .collect(),
        }),
        Err(e) => ConsoleError::from(e).fragment(),
    }
}
