//! Identity Threat Protection: entity risk and the Entity Risk Policy (Okta's shapes).

use utoipa::ToSchema;

#[allow(unused_imports)]
use super::*;

/// An admin's risk report: MEDIUM or HIGH elevates (an ADMIN_REPORTED_USER_RISK detection),
/// LOW resets.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserRiskRequest {
    /// LOW, MEDIUM or HIGH.
    #[serde(rename = "riskLevel")]
    #[schema(pattern = "^(LOW|MEDIUM|HIGH)$")]
    pub risk_level: String,
    /// Why (1 to 256 characters).
    pub reason: Option<String>,
}

/// One risk detection.
#[derive(ToSchema)]
pub struct RiskDetection {
    #[schema(format = "uuid")]
    pub id: String,
    #[serde(rename = "userId")]
    #[schema(format = "uuid")]
    pub user_id: String,
    /// ADMIN_REPORTED_USER_RISK, SECURITY_EVENTS_PROVIDER_REPORTED_RISK,
    /// SESSION_INFLUENCED_USER_RISK, USER_REPORTED_SUSPICIOUS_ACTIVITY, BRUTE_FORCE_ATTACK or
    /// ENTITY_CRITICAL_ACTION_FROM_HIGH_THREAT_IP.
    #[serde(rename = "type")]
    pub detection_type: String,
    /// LOW, MEDIUM or HIGH.
    pub level: String,
    /// ADMIN, SECURITY_EVENTS_PROVIDER, SESSION, USER, SIGN_IN or THREAT_LIST.
    pub source: String,
    pub reasons: Vec<String>,
    pub issuer: Option<String>,
    #[schema(format = "date-time")]
    pub created: String,
    #[schema(format = "date-time")]
    pub expires: String,
    /// When a reset ended it early; null while it runs to `expires`.
    #[schema(format = "date-time")]
    pub ended: Option<String>,
}

/// A user's entity risk.
#[derive(ToSchema)]
pub struct UserRisk {
    /// HIGH, MEDIUM, LOW or NONE (no active detection).
    #[serde(rename = "riskLevel")]
    pub risk_level: String,
    /// The highest active detection's reason.
    pub reason: Option<String>,
    /// Active detections, newest first.
    pub detections: Vec<RiskDetection>,
}

/// A rule of the Entity Risk Policy.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntityRiskRule {
    #[schema(format = "uuid", required = false)]
    pub id: String,
    /// ENTITY_RISK.
    #[serde(rename = "type")]
    pub rule_type: String,
    pub name: String,
    /// 1 first; the default rule is 99. Creating at a taken priority moves the others down.
    pub priority: Option<u32>,
    /// ACTIVE or INACTIVE.
    pub status: Option<String>,
    /// ENFORCE or MONITOR (logs what it would do, does nothing).
    pub mode: Option<String>,
    /// The default rule (cannot be changed or deleted).
    #[schema(required = false)]
    pub system: bool,
    /// When the rule was created (answers only; ignored in requests).
    #[schema(format = "date-time", read_only, required = false)]
    pub created: String,
    /// When the rule last changed (answers only; ignored in requests).
    #[serde(rename = "lastUpdated")]
    #[schema(format = "date-time", read_only, required = false)]
    pub last_updated: String,
    /// `people.users.exclude`, `people.groups.include|exclude`, `entityRisk.level`
    /// (ANY|LOW|MEDIUM|HIGH), `riskDetectionTypes.include|exclude`.
    #[schema(value_type = Object)]
    pub conditions: Option<String>,
    /// `entityRisk.actions`: [] (log only), `{"action":"TERMINATE_ALL_SESSIONS","slo":
    /// {"appSelectionMode":"NONE|ALL|SPECIFIC","appInstanceIds":[…]}}`,
    /// `{"action":"RUN_WORKFLOW","workflow":{"id"}}`.
    #[schema(value_type = Object)]
    pub actions: Option<String>,
}

/// The Entity Risk Policy.
#[derive(ToSchema)]
pub struct EntityRiskPolicyBody {
    #[schema(format = "uuid")]
    pub id: String,
    /// ENTITY_RISK.
    #[serde(rename = "type")]
    pub policy_type: String,
    pub name: String,
    pub status: String,
    pub priority: u32,
    pub system: bool,
    #[schema(format = "date-time")]
    pub created: String,
    /// When the policy or one of its rules last changed.
    #[serde(rename = "lastUpdated")]
    #[schema(format = "date-time")]
    pub last_updated: String,
}

/// A dry run of the policy.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicySimulateRequest {
    #[serde(rename = "userId")]
    pub user_id: String,
    /// A detection type.
    pub detection: String,
    /// LOW, MEDIUM or HIGH.
    pub level: String,
}

/// What a detection would do.
#[derive(ToSchema)]
pub struct PolicySimulation {
    pub rule: EntityRiskRule,
    /// The logout TERMINATE_ALL_SESSIONS would start (a dry-run receipt), when it would.
    pub logout: Option<LogoutPreview>,
}
