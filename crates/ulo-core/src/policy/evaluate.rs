//! Which rule a detection matches, and doing what it says.

use time::OffsetDateTime;

use super::model::{ActionKind, AppSelectionMode, EntityRiskPolicy, PolicyRule, RuleAction};
use super::{RuleMode, RuleStatus, stored};
use crate::context::Context;
use crate::error::DomainError;
use crate::ids::{AppId, GroupId, LogoutId, UserId, WorkflowId};
use crate::log::catalogue as events;
use crate::log::{LogEvent, Outcome, Target};
use crate::logout::{LogoutRequest, LogoutScope, LogoutStatus, start_in};
use crate::risk::{Detection, DetectionType, RiskLevel, RiskSettings};
use crate::store::StoreTx;
use crate::user::User;
use crate::workflow::WorkflowCall;

/// What the policy decided for one detection.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The matching rule (the default rule when no other matched).
    pub rule: Option<PolicyRule>,
    /// The logout it started, or the one in progress it coalesced into.
    pub logout_id: Option<LogoutId>,
    /// Whether a logout was coalesced into one in progress.
    pub coalesced: bool,
}

/// Whether `rule` applies to a user (`user`, member of `groups`) with a `detection` at `level`.
pub fn rule_matches(
    rule: &PolicyRule,
    user: UserId,
    groups: &[GroupId],
    detection: DetectionType,
    level: RiskLevel,
) -> bool {
    let c = &rule.conditions;
    let user_s = user.to_string();
    if c.people.users.exclude.contains(&user_s) {
        return false;
    }
    let in_group = |ids: &[String]| {
        ids.iter()
            .any(|g| groups.iter().any(|m| m.to_string() == *g))
    };
    if !c.people.groups.include.is_empty() && !in_group(&c.people.groups.include) {
        return false;
    }
    if in_group(&c.people.groups.exclude) {
        return false;
    }
    if let Some(want) = c.entity_risk.level.level()
        && want != level
    {
        return false;
    }
    if let Some(d) = &c.risk_detection_types {
        if !d.include.is_empty() && !d.include.contains(&detection) {
            return false;
        }
        if d.exclude.contains(&detection) {
            return false;
        }
    }
    true
}

/// The first ACTIVE rule, in priority order, that applies.
pub fn first_match<'a>(
    policy: &'a EntityRiskPolicy,
    user: UserId,
    groups: &[GroupId],
    detection: DetectionType,
    level: RiskLevel,
) -> Option<&'a PolicyRule> {
    let mut rules: Vec<&PolicyRule> = policy.rules.iter().collect();
    rules.sort_by_key(|r| (r.system, r.priority));
    rules
        .into_iter()
        .find(|r| r.status == RuleStatus::Active && rule_matches(r, user, groups, detection, level))
}

/// The reason a logout started by `rule` carries; coalescing finds it by this.
pub fn rule_reason(rule: &PolicyRule) -> String {
    format!(
        "{}: Entity Risk Policy rule {}",
        crate::logout::reason::POLICY,
        rule.id
    )
}

/// The logout TERMINATE_ALL_SESSIONS asks for.
pub(super) fn logout_request(
    rule: &PolicyRule,
    action: &RuleAction,
) -> Result<LogoutRequest, DomainError> {
    let (scope, ids) = match &action.slo {
        None => (LogoutScope::UloOnly, Vec::new()),
        Some(slo) => match slo.app_selection_mode {
            AppSelectionMode::None => (LogoutScope::UloOnly, Vec::new()),
            AppSelectionMode::All => (LogoutScope::AllApps, Vec::new()),
            AppSelectionMode::Specific => {
                let ids = slo
                    .app_instance_ids
                    .iter()
                    .map(|s| {
                        s.parse::<AppId>().map_err(|_| {
                            DomainError::invalid(
                                "The rule is not valid",
                                format!("actions.entityRisk.actions.slo.appInstanceIds: {s:?} is not an app id"),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                (LogoutScope::SpecifiedApps, ids)
            }
        },
    };
    Ok(LogoutRequest::policy(scope, ids, rule_reason(rule)))
}

/// Evaluates the Entity Risk Policy for `detection` (the user now at `level`), logs
/// `policy.entity_risk.evaluate`, and takes the matching rule's actions (or, in MONITOR mode,
/// logs them), each logged as `policy.entity_risk.action`; all in the caller's transaction.
pub async fn evaluate_in(
    tx: &mut dyn StoreTx,
    ctx: &Context,
    user: &User,
    detection: &Detection,
    level: RiskLevel,
    settings: &RiskSettings,
    now: OffsetDateTime,
) -> Result<Evaluation, DomainError> {
    let policy = stored::ensure_in(tx, now).await?;
    // The user's groups matter only to a rule that names groups.
    let names_groups = policy.rules.iter().any(|r| {
        let g = &r.conditions.people.groups;
        r.status == RuleStatus::Active && !(g.include.is_empty() && g.exclude.is_empty())
    });
    let groups: Vec<GroupId> = if names_groups {
        tx.list_user_groups(user.id)
            .await?
            .into_iter()
            .map(|g| g.id)
            .collect()
    } else {
        Vec::new()
    };
    let rule = first_match(&policy, user.id, &groups, detection.detection_type, level).cloned();
    let ev = LogEvent::build(
        ctx,
        events::risk::POLICY_EVALUATE,
        now,
        match &rule {
            Some(r) => format!("Entity Risk Policy: rule {:?} matched", r.name),
            None => "Entity Risk Policy: no rule matched".to_string(),
        },
    )
    .target(Target::user(user))
    .debug("policy", policy.id.to_string())
    .debug("policyName", policy.name.clone())
    .debug("rule", rule.as_ref().map(|r| r.id.to_string()))
    .debug("ruleName", rule.as_ref().map(|r| r.name.clone()))
    .debug("mode", rule.as_ref().map(|r| r.mode.as_str()))
    .debug("detection", detection.id.to_string())
    .debug("detectionType", detection.detection_type.as_str())
    .debug("level", level.as_str())
    .finish();
    tx.append_event(&ev).await?;
    let mut evaluation = Evaluation {
        rule: rule.clone(),
        logout_id: None,
        coalesced: false,
    };
    let Some(rule) = rule else {
        return Ok(evaluation);
    };
    for action in &rule.actions.entity_risk.actions {
        let action_event = |message: String| {
            LogEvent::build(ctx, events::risk::POLICY_ACTION, now, message)
                .target(Target::user(user))
                .debug("policy", policy.id.to_string())
                .debug("rule", rule.id.to_string())
                .debug("action", action.action.as_str())
                .debug("mode", rule.mode.as_str())
                .debug("detection", detection.id.to_string())
        };
        if rule.mode == RuleMode::Monitor {
            let ev = action_event(format!("MONITOR: would {}", action.action))
                .outcome(Outcome {
                    result: "SKIPPED".into(),
                    reason: Some("rule in MONITOR mode: nothing done".into()),
                })
                .debug("slo", serde_json::to_value(&action.slo).unwrap_or_default())
                .finish();
            tx.append_event(&ev).await?;
            continue;
        }
        match action.action {
            ActionKind::TerminateAllSessions => {
                let request = logout_request(&rule, action)?;
                if let Some(running) = in_progress(tx, user, &rule, &request).await? {
                    let ev = action_event(format!(
                        "{}: coalesced into logout {running} in progress",
                        action.action
                    ))
                    .outcome(Outcome {
                        result: "SKIPPED".into(),
                        reason: Some("coalesced".into()),
                    })
                    .debug("logoutId", running.to_string())
                    .debug("coalesced", true)
                    .finish();
                    tx.append_event(&ev).await?;
                    evaluation.logout_id = Some(running);
                    evaluation.coalesced = true;
                    continue;
                }
                let logout = start_in(tx, ctx, user, &request, settings.deadlines, now).await?;
                let ev = action_event(format!("{}: logout {}", action.action, logout.id))
                    .debug("logoutId", logout.id.to_string())
                    .debug("scope", logout.scope.as_str())
                    .finish();
                tx.append_event(&ev).await?;
                evaluation.logout_id = Some(logout.id);
            }
            ActionKind::RunWorkflow => {
                let workflow = action.workflow.as_ref().map(|w| w.id.clone());
                run_workflow_in(tx, ctx, user, detection, &rule, workflow.as_deref(), now).await?;
            }
        }
    }
    Ok(evaluation)
}

/// A logout of `user` by `rule`, with the same scope, still IN_PROGRESS.
async fn in_progress(
    tx: &mut dyn StoreTx,
    user: &User,
    rule: &PolicyRule,
    request: &LogoutRequest,
) -> Result<Option<LogoutId>, DomainError> {
    let reason = rule_reason(rule);
    let running = tx
        .list_logout_headers(user.id, LogoutStatus::InProgress, 100)
        .await?;
    Ok(running
        .into_iter()
        .find(|l| l.reason == reason && l.scope == request.scope())
        .map(|l| l.id))
}

/// RUN_WORKFLOW: queues the workflow's signed call (user, detection, rule, level, transaction id)
/// in `tx`, so it runs once the detection commits. A workflow that is unknown, inactive or no
/// longer valid is not an error of the detection: `policy.entity_risk.action` says FAILURE and why.
pub async fn run_workflow_in(
    tx: &mut dyn StoreTx,
    ctx: &Context,
    user: &User,
    detection: &Detection,
    rule: &PolicyRule,
    workflow: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), DomainError> {
    // `run_in` checks the workflow (it exists and is ACTIVE) before it queues anything, so its
    // refusals leave `tx` as it was and become this action's FAILURE.
    let refused = match workflow.and_then(|w| w.parse::<WorkflowId>().ok()) {
        None => Some(format!(
            "no valid workflow id: {}",
            workflow.unwrap_or("none")
        )),
        Some(id) => {
            let call = WorkflowCall {
                user: user.id,
                login: user.profile.login.clone(),
                detection: serde_json::to_value(detection).unwrap_or_default(),
                rule_id: rule.id.to_string(),
                rule_name: rule.name.clone(),
                level: detection.level.as_str().to_string(),
            };
            match crate::workflow::run_in(tx, ctx, &id, call, now).await {
                Ok(()) => None,
                Err(e @ (DomainError::NotFound { .. } | DomainError::InvalidState(_))) => {
                    Some(e.to_string())
                }
                Err(e) => return Err(e),
            }
        }
    };
    let (message, result) = match &refused {
        None => ("RUN_WORKFLOW: the workflow's call is queued", "SUCCESS"),
        Some(_) => ("RUN_WORKFLOW: the workflow cannot be called", "FAILURE"),
    };
    let ev = LogEvent::build(ctx, events::risk::POLICY_ACTION, now, message)
        .target(Target::user(user))
        .outcome(Outcome {
            result: result.into(),
            reason: refused,
        })
        .debug("rule", rule.id.to_string())
        .debug("action", ActionKind::RunWorkflow.as_str())
        .debug("workflow", workflow.map(str::to_string))
        .debug("detection", detection.id.to_string())
        .finish();
    tx.append_event(&ev).await?;
    Ok(())
}
