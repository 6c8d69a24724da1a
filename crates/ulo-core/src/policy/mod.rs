//! The Entity Risk Policy (SPEC §3, Okta's shapes): one per org, ordered rules whose first
//! ACTIVE match decides what a detection does — nothing (log only), end the user's sessions
//! (and apps, and devices), or run a workflow.
//!
//! Coalescing: while a logout this policy started for a user from one rule is IN_PROGRESS
//! (its receipt's reason is [`rule_reason`] of that rule), another detection matching the same
//! rule starts no second logout; `policy.entity_risk.action` says `coalesced` and names the
//! logout in progress. A different rule, or the same rule after the logout finished, acts.

mod admin;
mod evaluate;
mod model;
mod priority;
mod stored;
mod validate;

pub use admin::Policies;
pub use evaluate::{Evaluation, evaluate_in, first_match, rule_reason, run_workflow_in};
pub use model::{
    ActionKind, AppSelectionMode, DetectionTypesCondition, EntityRiskActions, EntityRiskCondition,
    EntityRiskPolicy, GroupsCondition, LevelCondition, People, PolicyRule, RuleAction, RuleActions,
    RuleConditions, RuleInput, RuleMode, RuleStatus, Simulation, Slo, UsersCondition, WorkflowRef,
};
pub use stored::ensure;
