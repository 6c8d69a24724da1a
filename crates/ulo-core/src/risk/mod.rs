//! Identity Threat Protection's input: risk detections about users and their entity risk level.
//!
//! A detection has a type (Okta's names), a level and a source; it is active until it expires
//! (`ULO_RISK_DETECTION_TTL`) or a reset ends it. A user's level is the highest active
//! detection's. Detections are kept in the store's `risk` area (`RiskRead`/`RiskTx`); the level
//! is also written on the user's row at every detection and reset, but a detection expires
//! without a write, so every read that answers a level computes it from the active detections
//! (`GET …/risk`, the user object, the users list and its `riskLevel` filter) and an expired
//! detection never leaves a stale level there; the server's sweep brings stored levels up to
//! date now and then for the rest.
//! [`detect_in`] is the one entry every source calls: it stores the detection, logs
//! `user.risk.detect` and evaluates the Entity Risk Policy in the caller's transaction.
//! [`sources`] holds the sources ulo observes itself (lockouts, the threat list).

mod admin;
mod detect;
mod model;
pub mod sources;
mod sweep;
pub mod threat_list;
mod upgrade;

pub use crate::user::RiskLevel;
pub use admin::Risks;
pub use detect::{
    KEEP_INACTIVE, detect_in, level_in, recent_detections_in, reset_if_risky_in, reset_in,
};
pub use model::{
    Detected, Detection, DetectionInput, DetectionType, EntityRisk, RiskSettings, level_of,
};
pub use sweep::{KEEP_STOPPED, Swept, sweep};
pub use threat_list::{ThreatList, ThreatListError};
pub(crate) use upgrade::import_legacy;
