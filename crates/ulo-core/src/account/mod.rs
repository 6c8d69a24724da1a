//! The person's own account: their recent sign-ins (from the System Log's `user.session.start`
//! events, which outlive sessions) and their *This wasn't me* report about one of them, a
//! `USER_REPORTED_SUSPICIOUS_ACTIVITY` detection (HIGH) through [`crate::risk::detect_in`].

use time::OffsetDateTime;

use crate::clock::Clock;
use crate::context::Context;
use crate::error::DomainError;
use crate::ids::EventId;
use crate::log::catalogue as events;
use crate::log::{EventQuery, LogEvent, Severity, SortOrder, Target};
use crate::risk::{Detected, DetectionInput, DetectionType, RiskSettings};
use crate::session_influence::client_family;
use crate::store::{Store, StoreRead};
use crate::user::{RiskLevel, User};

/// How many sign-ins the account page lists.
pub const RECENT_SIGN_INS: u32 = 20;

/// One successful sign-in, as the person sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    /// The `user.session.start` event (what a report names).
    pub event_id: EventId,
    /// When.
    pub at: OffsetDateTime,
    /// From which address.
    pub address: Option<String>,
    /// With which client family (`Chrome on macOS`).
    pub client: String,
}

impl SignIn {
    fn of(ev: &LogEvent) -> Self {
        SignIn {
            event_id: ev.uuid,
            at: ev.published,
            address: ev.client.ip_address.clone(),
            client: client_family(
                ev.client
                    .user_agent
                    .as_ref()
                    .map(|u| u.raw_user_agent.as_str()),
            ),
        }
    }
}

fn is_sign_in_of(ev: &LogEvent, user: &User) -> bool {
    ev.event_type == events::session::START.as_str()
        && ev.outcome.result == "SUCCESS"
        && ev.target.iter().any(|t| t.id == user.id.to_string())
}

/// `user`'s successful sign-ins, newest first, at most `limit`.
pub async fn recent_sign_ins(
    tx: &mut dyn StoreRead,
    user: &User,
    limit: u32,
) -> Result<Vec<SignIn>, DomainError> {
    let filter = crate::filter::parse(&format!(
        r#"eventType eq "{}" and target.id eq "{}" and outcome.result eq "SUCCESS""#,
        events::session::START,
        user.id
    ))
    .map_err(|e| DomainError::invalid("The sign-in query is not valid", e.to_string()))?;
    let found = tx
        .query_events(&EventQuery {
            since: None,
            until: None,
            after: None,
            filter: Some(filter),
            keywords: Vec::new(),
            sort: SortOrder::Descending,
            limit,
        })
        .await?;
    Ok(found
        .iter()
        .filter(|e| is_sign_in_of(e, user))
        .map(SignIn::of)
        .collect())
}

/// `user` says the sign-in `event` was not theirs: logs
/// `user.account.report_suspicious_activity_by_enduser` and records a HIGH
/// `USER_REPORTED_SUSPICIOUS_ACTIVITY` detection (the Entity Risk Policy may then log them out),
/// in one transaction. An event that is not one of their sign-ins is not found.
pub async fn report_sign_in(
    store: &dyn Store,
    clock: &dyn Clock,
    ctx: &Context,
    user: &User,
    event: EventId,
    risk: &RiskSettings,
) -> Result<(SignIn, Detected), DomainError> {
    let now = clock.now();
    let mut tx = store.begin().await?;
    let sign_in = match tx.get_event(event).await? {
        Some(ev) if is_sign_in_of(&ev, user) => SignIn::of(&ev),
        _ => return Err(DomainError::not_found("sign-in", event)),
    };
    let when = sign_in
        .at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let from = sign_in.address.as_deref().unwrap_or("an unknown address");
    let reason = format!(
        "{} reported the sign-in of {when} from {from} ({}) as not theirs",
        user.profile.login, sign_in.client
    );
    let ev = LogEvent::build(ctx, events::risk::USER_REPORT, now, reason.clone())
        .severity(Severity::Warn)
        .target(Target::user(user))
        .debug("signInEventId", event.to_string())
        .debug("signInAt", when)
        .debug("signInAddress", sign_in.address.clone())
        .debug("signInClient", sign_in.client.clone())
        .finish();
    tx.append_event(&ev).await?;
    let input = DetectionInput {
        detection_type: DetectionType::UserReportedSuspiciousActivity,
        level: RiskLevel::High,
        reasons: vec![reason],
        issuer: Some(user.profile.login.clone()),
    };
    let detected = crate::risk::detect_in(tx.as_mut(), ctx, user, input, risk, now).await?;
    tx.commit().await?;
    Ok((sign_in, detected))
}
