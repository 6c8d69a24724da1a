//! The policy and its rules, in Okta's wire shape.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::serde_rfc3339;
use crate::ids::{PolicyId, PolicyRuleId};
use crate::logout::Logout;
use crate::risk::{DetectionType, RiskLevel};
use crate::user::str_enum;

/// The default rule's priority: it always comes last.
pub const DEFAULT_PRIORITY: u32 = 99;

/// The Entity Risk Policy with its rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityRiskPolicy {
    /// Stable id.
    pub id: PolicyId,
    /// Always `ENTITY_RISK`.
    #[serde(rename = "type")]
    pub policy_type: String,
    /// Name to show.
    pub name: String,
    /// Always `ACTIVE`.
    pub status: String,
    /// Always 1 (one policy of its type).
    pub priority: u32,
    /// Made by ulo.
    pub system: bool,
    /// When created.
    #[serde(with = "serde_rfc3339")]
    pub created: OffsetDateTime,
    /// When anything last changed.
    #[serde(with = "serde_rfc3339")]
    pub last_updated: OffsetDateTime,
    /// Its rules, in priority order (the default rule last).
    pub rules: Vec<PolicyRule>,
}

/// Whether a rule is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RuleStatus {
    /// Evaluated.
    #[default]
    Active,
    /// Skipped.
    Inactive,
}
str_enum!(RuleStatus { Active => "ACTIVE", Inactive => "INACTIVE" });

/// Whether a matching rule acts *(ulo)*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RuleMode {
    /// Takes its actions.
    #[default]
    Enforce,
    /// Logs what it would do and does nothing.
    Monitor,
}
str_enum!(RuleMode { Enforce => "ENFORCE", Monitor => "MONITOR" });

/// One rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    /// Stable id.
    pub id: PolicyRuleId,
    /// Always `ENTITY_RISK`.
    #[serde(rename = "type")]
    pub rule_type: String,
    /// Name to show.
    pub name: String,
    /// Evaluation order, 1 first; the default rule is 99.
    pub priority: u32,
    /// ACTIVE or INACTIVE.
    pub status: RuleStatus,
    /// ENFORCE or MONITOR.
    pub mode: RuleMode,
    /// The default rule: cannot be changed or deleted.
    pub system: bool,
    /// When it applies.
    pub conditions: RuleConditions,
    /// What it does.
    pub actions: RuleActions,
    /// When created.
    #[serde(with = "serde_rfc3339")]
    pub created: OffsetDateTime,
    /// When last changed.
    #[serde(with = "serde_rfc3339")]
    pub last_updated: OffsetDateTime,
}

/// A rule as an admin writes it (create or replace).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleInput {
    /// `ENTITY_RISK` when given.
    #[serde(default, rename = "type")]
    pub rule_type: Option<String>,
    /// Name to show (1 to 255 characters).
    pub name: String,
    /// Where to insert it (rules at and after it move down); last when absent.
    #[serde(default)]
    pub priority: Option<u32>,
    /// ACTIVE (default) or INACTIVE.
    #[serde(default)]
    pub status: Option<RuleStatus>,
    /// ENFORCE (default) or MONITOR.
    #[serde(default)]
    pub mode: Option<RuleMode>,
    /// When it applies.
    #[serde(default)]
    pub conditions: RuleConditions,
    /// What it does.
    #[serde(default)]
    pub actions: RuleActions,
}

/// When a rule applies; absent parts match everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleConditions {
    /// Which people.
    #[serde(default)]
    pub people: People,
    /// Which entity risk level.
    #[serde(default)]
    pub entity_risk: EntityRiskCondition,
    /// Which detections (absent: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_detection_types: Option<DetectionTypesCondition>,
}

/// Which people a rule applies to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct People {
    /// Users left out.
    #[serde(default)]
    pub users: UsersCondition,
    /// Groups in or out.
    #[serde(default)]
    pub groups: GroupsCondition,
}

/// Users a rule never applies to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UsersCondition {
    /// User ids.
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// Groups a rule applies to (include: a member of one; empty = any group) or not.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupsCondition {
    /// Group ids; empty = any.
    #[serde(default)]
    pub include: Vec<String>,
    /// Group ids whose members are left out.
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// The entity risk level a rule applies at.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EntityRiskCondition {
    /// ANY, LOW, MEDIUM or HIGH.
    #[serde(default)]
    pub level: LevelCondition,
}

/// A level condition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LevelCondition {
    /// Any level.
    #[default]
    Any,
    /// LOW.
    Low,
    /// MEDIUM.
    Medium,
    /// HIGH.
    High,
}

impl LevelCondition {
    /// The one level it asks for; `None` for ANY.
    pub fn level(self) -> Option<RiskLevel> {
        match self {
            LevelCondition::Any => None,
            LevelCondition::Low => Some(RiskLevel::Low),
            LevelCondition::Medium => Some(RiskLevel::Medium),
            LevelCondition::High => Some(RiskLevel::High),
        }
    }
}

/// Detection types a rule applies to (include) or not (exclude); exclusive.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DetectionTypesCondition {
    /// Any of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<DetectionType>,
    /// None of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<DetectionType>,
}

impl DetectionTypesCondition {
    /// Whether a detection this condition lets through can carry `level` (an empty condition
    /// lets every type through).
    pub fn can_produce(&self, level: RiskLevel) -> bool {
        if self.include.is_empty() {
            DetectionType::ALL
                .into_iter()
                .filter(|t| !self.exclude.contains(t))
                .any(|t| t.can_produce(level))
        } else {
            self.include.iter().any(|t| t.can_produce(level))
        }
    }
}

/// What a rule does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleActions {
    /// The entity risk actions.
    #[serde(default)]
    pub entity_risk: EntityRiskActions,
}

/// The list of actions; empty = log only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EntityRiskActions {
    /// In order.
    #[serde(default)]
    pub actions: Vec<RuleAction>,
}

/// An action kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActionKind {
    /// Logout and revoke tokens (Universal Logout, reach by `slo`).
    TerminateAllSessions,
    /// Call a registered workflow.
    RunWorkflow,
}
str_enum!(ActionKind { TerminateAllSessions => "TERMINATE_ALL_SESSIONS", RunWorkflow => "RUN_WORKFLOW" });

/// One action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleAction {
    /// Which.
    pub action: ActionKind,
    /// With TERMINATE_ALL_SESSIONS: which apps besides ulo (absent = NONE) *(ulo)*.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<Slo>,
    /// With RUN_WORKFLOW: which workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<WorkflowRef>,
}

/// Which apps a TERMINATE_ALL_SESSIONS reaches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Slo {
    /// NONE, ALL or SPECIFIC.
    pub app_selection_mode: AppSelectionMode,
    /// With SPECIFIC: the apps (the desktop-mfa app = device logout).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub app_instance_ids: Vec<String>,
}

/// App selection of a TERMINATE_ALL_SESSIONS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AppSelectionMode {
    /// ulo's sessions and tokens only.
    None,
    /// Also every logout-enabled app.
    All,
    /// Also the listed apps.
    Specific,
}

/// A workflow named by a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkflowRef {
    /// The workflow's id.
    pub id: String,
}

/// What `simulate` answers: the rule that would match, its actions and the logout it would
/// start (a dry-run receipt).
#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    /// The matching rule.
    pub rule: PolicyRule,
    /// The logout TERMINATE_ALL_SESSIONS would start, as a dry-run receipt.
    pub logout: Option<Logout>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_detection_condition_produces_what_its_types_can() {
        let only = |include: Vec<DetectionType>| DetectionTypesCondition {
            include,
            exclude: Vec::new(),
        };
        let brute = only(vec![DetectionType::BruteForceAttack]);
        assert!(brute.can_produce(RiskLevel::Medium));
        assert!(!brute.can_produce(RiskLevel::High) && !brute.can_produce(RiskLevel::Low));
        let two = only(vec![
            DetectionType::BruteForceAttack,
            DetectionType::UserReportedSuspiciousActivity,
        ]);
        assert!(two.can_produce(RiskLevel::High) && !two.can_produce(RiskLevel::Low));
        // Excluding the only sources of LOW leaves none; an empty condition lets all through.
        let not_low = DetectionTypesCondition {
            include: Vec::new(),
            exclude: vec![DetectionType::SecurityEventsProviderReportedRisk],
        };
        assert!(!not_low.can_produce(RiskLevel::Low));
        assert!(not_low.can_produce(RiskLevel::High));
        assert!(DetectionTypesCondition::default().can_produce(RiskLevel::Low));
    }
}
