//! The risk sources ulo observes itself: a lockout after failed sign-ins (brute force) and a
//! critical action (a sign-in, an admin API call) from an address on the operator's threat list.
//! Each builds its detection and records it through [`detect_in`] in the caller's transaction.

use std::fmt;
use std::net::IpAddr;

use time::{Duration, OffsetDateTime};

use super::threat_list::ThreatList;
use super::{Detected, DetectionInput, DetectionType, RiskLevel, RiskSettings};
use super::{detect_in, recent_detections_in};
use crate::context::Context;
use crate::error::DomainError;
use crate::store::StoreTx;
use crate::user::User;

/// A person and a listed address make at most one threat-list detection in this long.
pub const THREAT_ADDRESS_QUIET: Duration = Duration::hours(1);

/// How many of a person's most recent detections are read to find the last threat-list one.
const RECENT: u32 = 200;

/// Records the BRUTE_FORCE_ATTACK detection (MEDIUM) of a lockout: call it once, in the
/// transaction that locks `user` after `failed_attempts` failures. Ending sessions is left to
/// the Entity Risk Policy (a lockout by itself ends none).
pub async fn brute_force_in(
    tx: &mut dyn StoreTx,
    ctx: &Context,
    user: &User,
    failed_attempts: i64,
    settings: &RiskSettings,
    now: OffsetDateTime,
) -> Result<Detected, DomainError> {
    let from = ctx
        .client
        .ip_address
        .as_deref()
        .map(|ip| format!(", the last from {ip}"))
        .unwrap_or_default();
    let input = DetectionInput {
        detection_type: DetectionType::BruteForceAttack,
        level: RiskLevel::Medium,
        reasons: vec![format!(
            "locked out after {failed_attempts} failed sign-ins{from}"
        )],
        issuer: None,
    };
    detect_in(tx, ctx, user, input, settings, now).await
}

/// What a person did from an address, as a threat-list detection names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CriticalAction {
    /// A sign-in whose password was right.
    SignIn,
    /// An admin API call authenticated as the person.
    AdminCall,
}

impl fmt::Display for CriticalAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CriticalAction::SignIn => "a sign-in",
            CriticalAction::AdminCall => "an admin API call",
        })
    }
}

/// The reason that names the address of a threat-list detection (and finds it again).
fn address_reason(ip: IpAddr) -> String {
    format!("address {}", ip.to_canonical())
}

/// When `ip` is on `list`, records the ENTITY_CRITICAL_ACTION_FROM_HIGH_THREAT_IP detection (HIGH)
/// of `user` doing `action` from it — unless one for this person and address was recorded in the
/// last [`THREAT_ADDRESS_QUIET`] (ended or not): a person signing in again and again from one
/// listed address is one signal, not a storm of policy evaluations. Answers what was recorded.
#[allow(clippy::too_many_arguments)]
pub async fn threat_address_in(
    tx: &mut dyn StoreTx,
    ctx: &Context,
    user: &User,
    list: &ThreatList,
    ip: IpAddr,
    action: CriticalAction,
    settings: &RiskSettings,
    now: OffsetDateTime,
) -> Result<Option<Detected>, DomainError> {
    let Some(range) = list.find(ip) else {
        return Ok(None);
    };
    // Under the user's lock, two concurrent calls cannot both miss each other's detection.
    tx.lock_user(user.id).await?;
    let marker = address_reason(ip);
    let seen = recent_detections_in(tx, user.id, RECENT)
        .await?
        .iter()
        .any(|d| {
            d.detection_type == DetectionType::EntityCriticalActionFromHighThreatIp
                && d.created > now - THREAT_ADDRESS_QUIET
                && d.reasons.contains(&marker)
        });
    if seen {
        return Ok(None);
    }
    let input = DetectionInput {
        detection_type: DetectionType::EntityCriticalActionFromHighThreatIp,
        level: RiskLevel::High,
        reasons: vec![
            format!(
                "{action} from {}, in the threat list's range {range}",
                ip.to_canonical()
            ),
            marker,
        ],
        issuer: None,
    };
    detect_in(tx, ctx, user, input, settings, now)
        .await
        .map(Some)
}

/// What loading the threat list file came to, for [`log_threat_list_load`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreatListLoad {
    /// Loaded: this many ranges are in force now.
    Loaded(usize),
    /// A line is not a range: the previous list stays in force.
    BadLine(super::ThreatListError),
    /// The file could not be read (missing, unreadable): the previous list stays in force.
    Unreadable(String),
}

/// Logs `system.threat_list.reload` for `file` in its own transaction: SUCCESS with the number
/// of ranges, or FAILURE (severity ERROR) naming the bad line or why the file could not be read.
pub async fn log_threat_list_load(
    store: &dyn crate::store::Store,
    file: &str,
    load: &ThreatListLoad,
    now: OffsetDateTime,
) -> Result<(), DomainError> {
    use crate::log::catalogue::system::THREAT_LIST_RELOAD;
    use crate::log::{LogEvent, Outcome, Severity};
    let ctx = Context::system("SYSTEM");
    let ev = match load {
        ThreatListLoad::Loaded(n) => LogEvent::build(
            &ctx,
            THREAT_LIST_RELOAD,
            now,
            format!("Threat list loaded from {file}: {n} ranges"),
        )
        .debug("file", file)
        .debug("ranges", *n as u64),
        ThreatListLoad::BadLine(e) => LogEvent::build(
            &ctx,
            THREAT_LIST_RELOAD,
            now,
            format!("Threat list {file} not loaded, the previous list stays in force: {e}"),
        )
        .outcome(Outcome::failure("bad line"))
        .severity(Severity::Error)
        .debug("file", file)
        .debug("line", e.line as u64)
        .debug("text", e.text.clone())
        .debug("reason", e.reason.clone()),
        ThreatListLoad::Unreadable(why) => LogEvent::build(
            &ctx,
            THREAT_LIST_RELOAD,
            now,
            format!("Threat list {file} not loaded, the previous list stays in force: {why}"),
        )
        .outcome(Outcome::failure("unreadable"))
        .severity(Severity::Error)
        .debug("file", file)
        .debug("reason", why.clone()),
    }
    .finish();
    let mut tx = store.begin().await?;
    tx.append_event(&ev).await?;
    tx.commit().await?;
    Ok(())
}
