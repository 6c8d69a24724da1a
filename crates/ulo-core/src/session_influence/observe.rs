//! Recording the context a session or refresh-token family begins in, and comparing later uses
//! with it: a use from another network or client is a session-influence detection, once per
//! session or family per new context.

use std::net::IpAddr;

use serde_json::json;
use time::OffsetDateTime;

use super::{Change, Mode, Settings, Use, UseContext, UseSubject};
use crate::context::Context;
use crate::error::DomainError;
use crate::log::catalogue as events;
use crate::log::{LogEvent, Severity, Target};
use crate::network::network_prefix;
use crate::risk::{DetectionInput, DetectionType, RiskSettings};
use crate::store::StoreTx;
use crate::user::{RiskLevel, User};

/// What a use that differs from its beginning caused.
#[derive(Debug, Clone, PartialEq)]
pub struct Influence {
    /// The mode it was handled in (monitor or on).
    pub mode: Mode,
    /// What changed.
    pub change: Change,
    /// The reasons logged (and carried by the detection, when one was recorded).
    pub reasons: Vec<String>,
    /// The detection, in mode on.
    pub detected: Option<crate::risk::Detected>,
}

/// Records the context `subject` begins in (a sign-in, a grant's first tokens), in the caller's
/// transaction. Nothing in mode off.
pub async fn begin_in(
    tx: &mut dyn StoreTx,
    subject: UseSubject,
    user: &User,
    u: &Use,
    settings: &Settings,
    now: OffsetDateTime,
) -> Result<(), DomainError> {
    if settings.mode == Mode::Off {
        return Ok(());
    }
    tx.insert_use_context(&UseContext::of(subject, user.id, u, true, now))
        .await?;
    Ok(())
}

/// Compares a use of `subject` with the context it began in, in the caller's transaction. A
/// use from another network (the new address not exempt) or another client family is logged
/// (`user.session.context_change`) and, in mode on, recorded as a MEDIUM
/// `SESSION_INFLUENCED_USER_RISK` detection through [`crate::risk::detect_in`] — once per new
/// context: a context already seen (the beginning, or a change already handled) does nothing.
/// A subject with no recorded beginning records `began` (a session keeps the address and user
/// agent it began with) or else this use as its beginning.
#[allow(clippy::too_many_arguments)]
pub async fn observe_in(
    tx: &mut dyn StoreTx,
    ctx: &Context,
    user: &User,
    subject: UseSubject,
    began: Option<&Use>,
    u: &Use,
    settings: &Settings,
    risk: &RiskSettings,
    now: OffsetDateTime,
) -> Result<Option<Influence>, DomainError> {
    if settings.mode == Mode::Off {
        return Ok(None);
    }
    let current = UseContext::of(subject, user.id, u, false, now);
    let known = tx.list_use_contexts(subject).await?;
    let origin = match known.iter().find(|c| c.origin) {
        Some(o) => o.clone(),
        None => {
            let begun = UseContext::of(subject, user.id, began.unwrap_or(u), true, now);
            tx.insert_use_context(&begun).await?;
            if began.is_none() || begun.same_place(&current) {
                return Ok(None);
            }
            begun
        }
    };
    if known.iter().any(|c| c.same_place(&current)) {
        return Ok(None);
    }
    // Recorded whether or not it counts, so the next use from here costs one read; a
    // concurrent use that recorded it first handles it.
    if !tx.insert_use_context(&current).await? {
        return Ok(None);
    }
    let Some(change) = Change::between(&origin, &current, &settings.exempt) else {
        return Ok(None);
    };
    let reasons = change.reasons(&origin, &current);
    let detail = json!({
        "subject": subject.kind(),
        "subjectId": subject.id(),
        "previousNetwork": origin.network,
        "previousAddress": origin.address,
        "previousClient": origin.client,
        "network": current.network,
        "address": current.address,
        "client": current.client,
        "networkChanged": change.network,
        "clientChanged": change.client,
    });
    influenced(
        tx,
        ctx,
        user,
        settings.mode,
        &detail,
        reasons.clone(),
        risk,
        now,
    )
    .await
    .map(|detected| {
        Some(Influence {
            mode: settings.mode,
            change,
            reasons,
            detected,
        })
    })
}

/// Logs `user.session.context_change` and, in mode on, records the detection.
#[allow(clippy::too_many_arguments)]
async fn influenced(
    tx: &mut dyn StoreTx,
    ctx: &Context,
    user: &User,
    mode: Mode,
    detail: &serde_json::Value,
    reasons: Vec<String>,
    risk: &RiskSettings,
    now: OffsetDateTime,
) -> Result<Option<crate::risk::Detected>, DomainError> {
    let ev = LogEvent::build(
        ctx,
        events::risk::SESSION_INFLUENCE,
        now,
        format!(
            "{} used from another context ({}): {}",
            user.profile.login,
            if mode == Mode::On {
                "recorded as a detection"
            } else {
                "monitor only"
            },
            reasons.join("; ")
        ),
    )
    .severity(Severity::Warn)
    .target(Target::user(user))
    .debug("mode", mode.as_str())
    .debug("context", detail.clone())
    .debug("reasons", reasons.clone())
    .finish();
    tx.append_event(&ev).await?;
    if mode != Mode::On {
        return Ok(None);
    }
    let input = DetectionInput {
        detection_type: DetectionType::SessionInfluencedUserRisk,
        level: RiskLevel::Medium,
        reasons,
        issuer: None,
    };
    crate::risk::detect_in(tx, ctx, user, input, risk, now)
        .await
        .map(Some)
}

/// A security events provider says `user` now comes from `address` (Okta's `ip-change`):
/// each of their live sessions that began on another network (the address not exempt) and has
/// not yet been seen there records the new network; if any did, one session-influence
/// detection names them (mode on), in the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub async fn ip_changed_in(
    tx: &mut dyn StoreTx,
    ctx: &Context,
    user: &User,
    address: IpAddr,
    settings: &Settings,
    risk: &RiskSettings,
    now: OffsetDateTime,
) -> Result<Option<Influence>, DomainError> {
    if settings.mode == Mode::Off || settings.exempt.contains(address) {
        return Ok(None);
    }
    let network = network_prefix(address);
    let mut reasons = Vec::new();
    let mut sessions = Vec::new();
    for session in tx.list_open_sessions(user.id).await? {
        if !session.is_live(now) {
            continue;
        }
        let subject = UseSubject::Session(session.id);
        let known = tx.list_use_contexts(subject).await?;
        // A session keeps the address and user agent it began with: its beginning until one
        // is recorded.
        let origin = match known.iter().find(|c| c.origin) {
            Some(o) => o.clone(),
            None => {
                let began = Use::new(session.ip_address.as_deref(), session.user_agent.as_deref());
                let o = UseContext::of(subject, user.id, &began, true, now);
                tx.insert_use_context(&o).await?;
                o
            }
        };
        if origin.network.is_none()
            || origin.network.as_deref() == Some(&network)
            || known.iter().any(|c| c.network.as_deref() == Some(&network))
        {
            continue;
        }
        let seen = UseContext {
            subject,
            user_id: user.id,
            address: Some(address.to_canonical().to_string()),
            network: Some(network.clone()),
            client: origin.client.clone(),
            origin: false,
            seen: now,
        };
        if !tx.insert_use_context(&seen).await? {
            continue;
        }
        let change = Change {
            network: true,
            client: false,
        };
        reasons.extend(change.reasons(&origin, &seen));
        sessions.push(session.id.to_string());
    }
    if sessions.is_empty() {
        return Ok(None);
    }
    reasons.push(format!(
        "reported by a security events provider (ip-change to {address})"
    ));
    let detail = json!({
        "subject": "SESSION",
        "sessions": sessions,
        "network": network,
        "address": address.to_canonical().to_string(),
        "source": "ip-change",
    });
    let detected = influenced(
        tx,
        ctx,
        user,
        settings.mode,
        &detail,
        reasons.clone(),
        risk,
        now,
    )
    .await?;
    Ok(Some(Influence {
        mode: settings.mode,
        change: Change {
            network: true,
            client: false,
        },
        reasons,
        detected,
    }))
}
