//! Detections, their types and the level they add up to.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::serde_rfc3339;
use crate::ids::{DetectionId, UserId};
use crate::logout::Deadlines;
use crate::user::{RiskLevel, str_enum};

/// What kind of risk signal a detection is (Okta's enum names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DetectionType {
    /// An admin elevated the user's risk (`PUT /api/v1/users/{id}/risk`).
    AdminReportedUserRisk,
    /// A registered security events provider sent a SET (level as sent).
    SecurityEventsProviderReportedRisk,
    /// A session or refresh token was used from another network or client (MEDIUM).
    SessionInfluencedUserRisk,
    /// The person said "this wasn't me" about a sign-in (HIGH).
    UserReportedSuspiciousActivity,
    /// A lockout after failed sign-ins (MEDIUM).
    BruteForceAttack,
    /// A sign-in or admin action from an address on the threat list (HIGH).
    EntityCriticalActionFromHighThreatIp,
}
str_enum!(DetectionType {
    AdminReportedUserRisk => "ADMIN_REPORTED_USER_RISK",
    SecurityEventsProviderReportedRisk => "SECURITY_EVENTS_PROVIDER_REPORTED_RISK",
    SessionInfluencedUserRisk => "SESSION_INFLUENCED_USER_RISK",
    UserReportedSuspiciousActivity => "USER_REPORTED_SUSPICIOUS_ACTIVITY",
    BruteForceAttack => "BRUTE_FORCE_ATTACK",
    EntityCriticalActionFromHighThreatIp => "ENTITY_CRITICAL_ACTION_FROM_HIGH_THREAT_IP"
});

impl DetectionType {
    /// Every type.
    pub const ALL: [DetectionType; 6] = [
        DetectionType::AdminReportedUserRisk,
        DetectionType::SecurityEventsProviderReportedRisk,
        DetectionType::SessionInfluencedUserRisk,
        DetectionType::UserReportedSuspiciousActivity,
        DetectionType::BruteForceAttack,
        DetectionType::EntityCriticalActionFromHighThreatIp,
    ];

    /// Where detections of this type come from.
    pub fn source(self) -> &'static str {
        match self {
            DetectionType::AdminReportedUserRisk => "ADMIN",
            DetectionType::SecurityEventsProviderReportedRisk => "SECURITY_EVENTS_PROVIDER",
            DetectionType::SessionInfluencedUserRisk => "SESSION",
            DetectionType::UserReportedSuspiciousActivity => "USER",
            DetectionType::BruteForceAttack => "SIGN_IN",
            DetectionType::EntityCriticalActionFromHighThreatIp => "THREAT_LIST",
        }
    }

    /// Whether a detection of this type can carry `level` (SPEC §3: an admin reports MEDIUM or
    /// HIGH, LOW resets; a provider sends any level; the others have a fixed level).
    pub fn can_produce(self, level: RiskLevel) -> bool {
        match self {
            DetectionType::AdminReportedUserRisk => level != RiskLevel::Low,
            DetectionType::SecurityEventsProviderReportedRisk => true,
            DetectionType::SessionInfluencedUserRisk | DetectionType::BruteForceAttack => {
                level == RiskLevel::Medium
            }
            DetectionType::UserReportedSuspiciousActivity
            | DetectionType::EntityCriticalActionFromHighThreatIp => level == RiskLevel::High,
        }
    }
}

/// One risk signal about one user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Detection {
    /// Stable id.
    pub id: DetectionId,
    /// About whom.
    pub user_id: UserId,
    /// What kind of signal.
    #[serde(rename = "type")]
    pub detection_type: DetectionType,
    /// How risky.
    pub level: RiskLevel,
    /// Where it came from (see [`DetectionType::source`]).
    pub source: String,
    /// Why, in words (the admin's reason, the provider's reason…).
    pub reasons: Vec<String>,
    /// Who reported it (a provider's issuer, an admin's login), when known.
    pub issuer: Option<String>,
    /// When recorded.
    #[serde(with = "serde_rfc3339")]
    pub created: OffsetDateTime,
    /// When it stops counting.
    #[serde(with = "serde_rfc3339")]
    pub expires: OffsetDateTime,
    /// When a reset ended it early.
    #[serde(default, with = "serde_rfc3339::option")]
    pub ended: Option<OffsetDateTime>,
}

impl Detection {
    /// Whether it still counts at `now`.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.ended.is_none() && self.expires > now
    }
}

/// The highest level of the detections active at `now`; `None` (NONE) when none is.
pub fn level_of(detections: &[Detection], now: OffsetDateTime) -> Option<RiskLevel> {
    detections
        .iter()
        .filter(|d| d.is_active(now))
        .map(|d| d.level)
        .max()
}

/// A user's entity risk, as `GET /api/v1/users/{id}/risk` answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityRisk {
    /// The level; `None` is NONE.
    pub level: Option<RiskLevel>,
    /// The highest active detection's first reason.
    pub reason: Option<String>,
    /// Active detections, newest first.
    pub detections: Vec<Detection>,
}

impl EntityRisk {
    /// The risk of a user whose detections are `all`, at `now`.
    pub fn of(all: &[Detection], now: OffsetDateTime) -> Self {
        let mut detections: Vec<Detection> =
            all.iter().filter(|d| d.is_active(now)).cloned().collect();
        detections.sort_by_key(|d| std::cmp::Reverse(d.created));
        let level = level_of(&detections, now);
        let reason = detections
            .iter()
            .find(|d| Some(d.level) == level)
            .and_then(|d| d.reasons.first().cloned());
        EntityRisk {
            level,
            reason,
            detections,
        }
    }
}

/// What a source reports (the entry point's input; other sources build it).
#[derive(Debug, Clone, PartialEq)]
pub struct DetectionInput {
    /// What kind of signal.
    pub detection_type: DetectionType,
    /// How risky.
    pub level: RiskLevel,
    /// Why, in words.
    pub reasons: Vec<String>,
    /// Who reported it, when known.
    pub issuer: Option<String>,
}

/// How risk behaves: detection lifetime and the deadlines of the logouts policies start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskSettings {
    /// How long a detection counts (`ULO_RISK_DETECTION_TTL`, default 7 days).
    pub ttl: time::Duration,
    /// The deadlines of policy-started logouts.
    pub deadlines: Deadlines,
}

impl Default for RiskSettings {
    fn default() -> Self {
        RiskSettings {
            ttl: time::Duration::days(7),
            deadlines: Deadlines::default(),
        }
    }
}

/// What [`super::detect_in`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Detected {
    /// The stored detection.
    pub detection: Detection,
    /// The level before it (`None` = NONE).
    pub previous_level: Option<RiskLevel>,
    /// The level after it.
    pub level: Option<RiskLevel>,
    /// What the Entity Risk Policy decided.
    pub evaluation: crate::policy::Evaluation,
}

/// `NONE` or the level's name.
pub(crate) fn level_name(level: Option<RiskLevel>) -> &'static str {
    level.map_or("NONE", |l| l.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(level: RiskLevel, created: i64, ttl: i64) -> Detection {
        let created = OffsetDateTime::from_unix_timestamp(created).unwrap();
        Detection {
            id: DetectionId::new(),
            user_id: UserId::new(),
            detection_type: DetectionType::SecurityEventsProviderReportedRisk,
            level,
            source: "SECURITY_EVENTS_PROVIDER".into(),
            reasons: vec![format!("{level}")],
            issuer: None,
            created,
            expires: created + time::Duration::seconds(ttl),
            ended: None,
        }
    }

    #[test]
    fn level_is_the_highest_active_and_none_after_expiry() {
        let at = |s| OffsetDateTime::from_unix_timestamp(s).unwrap();
        let all = vec![det(RiskLevel::High, 0, 10), det(RiskLevel::Medium, 0, 100)];
        assert_eq!(level_of(&all, at(5)), Some(RiskLevel::High));
        assert_eq!(level_of(&all, at(10)), Some(RiskLevel::Medium));
        assert_eq!(level_of(&all, at(100)), None);
        let risk = EntityRisk::of(&all, at(5));
        assert_eq!(risk.reason.as_deref(), Some("HIGH"));
        let mut ended = all.clone();
        for d in &mut ended {
            d.ended = Some(at(1));
        }
        assert_eq!(level_of(&ended, at(2)), None);
    }

    #[test]
    fn types_use_okta_names_and_fixed_levels() {
        let json =
            serde_json::to_string(&DetectionType::EntityCriticalActionFromHighThreatIp).unwrap();
        assert_eq!(json, "\"ENTITY_CRITICAL_ACTION_FROM_HIGH_THREAT_IP\"");
        for t in DetectionType::ALL {
            assert_eq!(t.as_str().parse::<DetectionType>().unwrap(), t);
        }
        assert!(!DetectionType::BruteForceAttack.can_produce(RiskLevel::High));
        assert!(!DetectionType::AdminReportedUserRisk.can_produce(RiskLevel::Low));
    }
}
