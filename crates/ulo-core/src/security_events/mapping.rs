//! Which risk detection an accepted event is (a pure function): the risk domain records them.

use serde::Serialize;
use serde_json::Value;

use super::events;
use crate::risk::DetectionType;
use crate::user::RiskLevel;

/// A level a provider sends (`low|medium|high`, in any case).
pub fn parse_level(s: &str) -> Option<RiskLevel> {
    match s.to_ascii_lowercase().as_str() {
        "low" => Some(RiskLevel::Low),
        "medium" => Some(RiskLevel::Medium),
        "high" => Some(RiskLevel::High),
        _ => None,
    }
}

/// A detection an event maps to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MappedDetection {
    /// Always [`DetectionType::SecurityEventsProviderReportedRisk`].
    pub detection_type: DetectionType,
    /// Its level.
    pub level: RiskLevel,
    /// Why, for people: the event type's short name and what it said.
    pub reasons: Vec<String>,
}

fn short(event_type: &str) -> &str {
    event_type.rsplit('/').next().unwrap_or(event_type)
}

fn detection(event_type: &str, level: RiskLevel, extra: Option<String>) -> MappedDetection {
    let mut reasons = vec![short(event_type).to_string()];
    reasons.extend(extra);
    MappedDetection {
        detection_type: DetectionType::SecurityEventsProviderReportedRisk,
        level,
        reasons,
    }
}

/// The detection one event of a SET maps to: `Ok(None)` for an event that is only logged
/// (`credential-change`, `identifier-changed`, `device-risk-change`, `ip-change` — the last
/// feeds session influence — and a device that became compliant); `Err` names what is
/// malformed in a risk change (no or an unknown `current_level`).
pub fn map_event(event_type: &str, event: &Value) -> Result<Option<MappedDetection>, String> {
    let reason = event
        .get("reason_admin")
        .or_else(|| event.get("risk_reason"))
        .and_then(|r| match r {
            Value::String(s) => Some(s.clone()),
            Value::Object(m) => m.get("en").and_then(Value::as_str).map(str::to_string),
            _ => None,
        });
    Ok(match event_type {
        events::RISK_LEVEL_CHANGE | events::USER_RISK_CHANGE => {
            let raw = event
                .get("current_level")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{}: needs current_level", short(event_type)))?;
            let level = parse_level(raw).ok_or_else(|| {
                format!(
                    "{}: current_level {raw:?} is not low, medium or high",
                    short(event_type)
                )
            })?;
            Some(detection(event_type, level, reason))
        }
        events::SESSION_REVOKED | events::ACCOUNT_DISABLED | events::CREDENTIAL_COMPROMISE => {
            Some(detection(event_type, RiskLevel::High, reason))
        }
        events::DEVICE_COMPLIANCE_CHANGE => {
            let status = event
                .get("current_status")
                .and_then(Value::as_str)
                .ok_or_else(|| "device-compliance-change: needs current_status".to_string())?;
            match status {
                "not-compliant" => Some(detection(event_type, RiskLevel::Medium, reason)),
                "compliant" => None,
                other => {
                    return Err(format!(
                        "device-compliance-change: current_status {other:?} is not compliant or not-compliant"
                    ));
                }
            }
        }
        _ => None,
    })
}

/// The new address an Okta `ip-change` event reports (`current_ip_address`); `Err` names what
/// is missing or malformed.
pub fn ip_change_address(event: &Value) -> Result<std::net::IpAddr, String> {
    let raw = event
        .get("current_ip_address")
        .and_then(Value::as_str)
        .ok_or_else(|| "ip-change: needs current_ip_address".to_string())?;
    raw.trim()
        .parse()
        .map_err(|_| format!("ip-change: current_ip_address {raw:?} is not an IP address"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn level(event_type: &str, body: Value) -> Option<RiskLevel> {
        map_event(event_type, &body).unwrap().map(|d| d.level)
    }

    #[test]
    fn risk_changes_carry_the_sent_level() {
        for t in [events::RISK_LEVEL_CHANGE, events::USER_RISK_CHANGE] {
            assert_eq!(
                level(t, json!({"current_level": "HIGH"})),
                Some(RiskLevel::High)
            );
            assert_eq!(
                level(
                    t,
                    json!({"current_level": "medium", "previous_level": "low"})
                ),
                Some(RiskLevel::Medium)
            );
            assert_eq!(
                level(t, json!({"current_level": "low"})),
                Some(RiskLevel::Low)
            );
            assert!(map_event(t, &json!({})).is_err());
            assert!(map_event(t, &json!({"current_level": "severe"})).is_err());
        }
        let d = map_event(
            events::RISK_LEVEL_CHANGE,
            &json!({"current_level": "HIGH", "risk_reason": "PASSWORD_FOUND_IN_DATA_BREACH"}),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            d.detection_type,
            DetectionType::SecurityEventsProviderReportedRisk
        );
        assert_eq!(
            d.reasons,
            vec!["risk-level-change", "PASSWORD_FOUND_IN_DATA_BREACH"]
        );
    }

    #[test]
    fn revocations_and_compromises_are_high() {
        for t in [
            events::SESSION_REVOKED,
            events::ACCOUNT_DISABLED,
            events::CREDENTIAL_COMPROMISE,
        ] {
            assert_eq!(level(t, json!({})), Some(RiskLevel::High), "{t}");
        }
    }

    #[test]
    fn a_device_out_of_compliance_is_medium() {
        let t = events::DEVICE_COMPLIANCE_CHANGE;
        assert_eq!(
            level(t, json!({"current_status": "not-compliant"})),
            Some(RiskLevel::Medium)
        );
        assert_eq!(level(t, json!({"current_status": "compliant"})), None);
        assert!(map_event(t, &json!({})).is_err());
        assert!(map_event(t, &json!({"current_status": "meh"})).is_err());
    }

    #[test]
    fn other_events_are_only_logged() {
        for t in [
            events::CREDENTIAL_CHANGE,
            events::IDENTIFIER_CHANGED,
            events::DEVICE_RISK_CHANGE,
            events::IP_CHANGE,
        ] {
            assert_eq!(level(t, json!({"current_level": "high"})), None, "{t}");
        }
    }
}
