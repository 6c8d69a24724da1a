//! Identity Threat Protection's input: risk detections about users and their entity risk level.
//!
//! A detection has a type (Okta's names), a level and a source; it is active until it expires
//! (`ULO_RISK_DETECTION_TTL`) or a reset ends it. A user's level is the highest active
//! detection's, computed on every read, so an expired detection never leaves a stale level.
//! [`detect_in`] is the one entry every source calls: it stores the detection, logs
//! `user.risk.detect` and evaluates the Entity Risk Policy in the caller's transaction.
//! [`sources`] holds the sources ulo observes itself (lockouts, the threat list).

mod admin;
mod detect;
mod model;
pub mod sources;
mod stored;
pub mod threat_list;

pub use crate::user::RiskLevel;
pub use admin::Risks;
pub use detect::{detect_in, recent_detections_in, reset_if_risky_in, reset_in};
pub use model::{
    Detected, Detection, DetectionInput, DetectionType, EntityRisk, RiskSettings, level_of,
};
pub use threat_list::{ThreatList, ThreatListError};
