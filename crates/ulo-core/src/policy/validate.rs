//! What a rule must be: every problem is a 400 naming its field.

use super::model::{ActionKind, AppSelectionMode, RuleInput};
use crate::error::{DomainError, Problems};
use crate::ids::{AppId, GroupId, UserId, WorkflowId};
use crate::store::StoreRead;

/// Checks `input` against the rules of SPEC §3 and the directory (groups, users and apps must
/// exist, and so must the workflow a RUN_WORKFLOW calls; an INACTIVE one is accepted, since
/// admins may pause a workflow without editing every rule that names it).
pub(super) async fn validate(tx: &mut dyn StoreRead, input: &RuleInput) -> Result<(), DomainError> {
    let mut p = Problems::default();
    p.check(
        input.name.trim().is_empty() || input.name.chars().count() > 255,
        "name: must be 1 to 255 characters",
    );
    p.check(
        input
            .rule_type
            .as_deref()
            .is_some_and(|t| t != "ENTITY_RISK"),
        "type: must be ENTITY_RISK",
    );
    p.check(input.priority == Some(0), "priority: must be 1 or more");
    let c = &input.conditions;
    for (field, ids) in [
        ("conditions.people.groups.include", &c.people.groups.include),
        ("conditions.people.groups.exclude", &c.people.groups.exclude),
    ] {
        for id in ids {
            let known = match id.parse::<GroupId>() {
                Ok(g) => tx.get_group(g).await?.is_some(),
                Err(_) => false,
            };
            p.check(!known, format!("{field}: no group {id:?}"));
        }
    }
    for g in &c.people.groups.include {
        p.check(
            c.people.groups.exclude.contains(g),
            format!("conditions.people.groups: group {g:?} is both included and excluded"),
        );
    }
    for id in &c.people.users.exclude {
        let known = match id.parse::<UserId>() {
            Ok(u) => tx.get_user(u).await?.is_some(),
            Err(_) => false,
        };
        p.check(
            !known,
            format!("conditions.people.users.exclude: no user {id:?}"),
        );
    }
    if let Some(d) = &c.risk_detection_types {
        p.check(
            !d.include.is_empty() && !d.exclude.is_empty(),
            "conditions.riskDetectionTypes: use include or exclude, not both",
        );
        p.check(
            d.include.is_empty() && d.exclude.is_empty(),
            "conditions.riskDetectionTypes: name at least one detection type (leave it out for any detection)",
        );
        if let Some(level) = c.entity_risk.level.level() {
            p.check(
                !d.can_produce(level),
                format!(
                    "conditions.entityRisk.level: no detection of the chosen types produces {level}"
                ),
            );
        }
    }
    let actions = &input.actions.entity_risk.actions;
    for kind in [ActionKind::TerminateAllSessions, ActionKind::RunWorkflow] {
        p.check(
            actions.iter().filter(|a| a.action == kind).count() > 1,
            format!("actions.entityRisk.actions: {kind} at most once"),
        );
    }
    for (n, a) in actions.iter().enumerate() {
        match a.action {
            ActionKind::TerminateAllSessions => {
                p.check(
                    a.workflow.is_some(),
                    "actions.entityRisk.actions.workflow: only with RUN_WORKFLOW",
                );
                let Some(slo) = &a.slo else { continue };
                let specific = slo.app_selection_mode == AppSelectionMode::Specific;
                p.check(
                    specific && slo.app_instance_ids.is_empty(),
                    "actions.entityRisk.actions.slo.appInstanceIds: SPECIFIC needs at least one app",
                );
                p.check(
                    !specific && !slo.app_instance_ids.is_empty(),
                    "actions.entityRisk.actions.slo.appInstanceIds: only with appSelectionMode SPECIFIC",
                );
                for id in &slo.app_instance_ids {
                    let known = match id.parse::<AppId>() {
                        Ok(a) => tx.get_app(a).await?.is_some(),
                        Err(_) => false,
                    };
                    p.check(
                        !known,
                        format!("actions.entityRisk.actions.slo.appInstanceIds: no app {id:?}"),
                    );
                }
            }
            ActionKind::RunWorkflow => {
                p.check(
                    a.slo.is_some(),
                    "actions.entityRisk.actions.slo: only with TERMINATE_ALL_SESSIONS",
                );
                match a.workflow.as_ref().map(|w| w.id.trim()) {
                    None | Some("") => p.check(
                        true,
                        "actions.entityRisk.actions.workflow.id: RUN_WORKFLOW needs a workflow id",
                    ),
                    Some(id) => {
                        // Caught now, not when the rule fires and cannot call it.
                        let known = match id.parse::<WorkflowId>() {
                            Ok(w) => tx.get_workflow(w).await?.is_some(),
                            Err(_) => false,
                        };
                        p.check(
                            !known,
                            format!(
                                "actions.entityRisk.actions[{n}].workflow.id: no workflow {id:?}"
                            ),
                        );
                    }
                }
            }
        }
    }
    p.finish("The rule is not valid")
}
