//! Universal Logout: ulo's Global Token Revocation request, verified by `ulo-receiver`, ends a
//! person's vault sessions and tokens and queues, in the same transaction, the jobs that end
//! their sessions in every managed app they could use and rotate every password they could
//! reveal. The 204 goes out once that transaction committed.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;
use ulo_core::throttle::{RefusalSummary, Verdict};
use ulo_receiver::{HookOutcome, LogoutHook, LogoutRequest, Receiver, Subject};

use crate::audit::{self, person_target};
use crate::error::VaultError;
use crate::jobs;
use crate::model::{Actor, AuditEvent, Person, Provisioning};
use crate::store::Tx;
use crate::vault::Vault;

/// The audit actor for ulo sending a logout request.
fn idp(vault: &Vault) -> Actor {
    Actor::new("idp", vault.rp.issuer(), "ulo (Universal Logout)")
}

/// What a Universal Logout did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutResult {
    /// Sessions ended, jobs queued.
    Done {
        /// The person.
        person_id: String,
        /// Vault sessions ended.
        sessions: u64,
        /// Accounts whose app sessions end and passwords rotate.
        accounts: usize,
    },
    /// No SCIM-provisioned person matches.
    Unknown(String),
}

impl Vault {
    /// Runs a Universal Logout for `subject` (request `jti`).
    pub async fn universal_logout(
        &self,
        subject: &Subject,
        jti: Option<&str>,
    ) -> Result<LogoutResult, VaultError> {
        let now = self.clock.now();
        let actor = idp(self);
        let mut tx = self.begin().await?;
        let person = match resolve(tx.as_mut(), self, subject).await? {
            Ok(p) => p,
            Err(why) => {
                tx.append_event(
                    &audit::event("person.universal_logout", &actor, now)
                        .jti(jti)
                        .failure(why.clone())
                        .detail("subject", subject_detail(subject)),
                )
                .await?;
                tx.commit().await?;
                return Ok(LogoutResult::Unknown(why));
            }
        };
        let result = logout_person(tx.as_mut(), self, &person, jti, &actor, now).await?;
        tx.commit().await?;
        Ok(result)
    }
}

/// Ends the person's sessions and tokens and queues the app work, in `tx`.
async fn logout_person(
    tx: &mut dyn Tx,
    vault: &Vault,
    person: &Person,
    jti: Option<&str>,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<LogoutResult, VaultError> {
    let sessions = tx
        .end_person_sessions(&person.id, now, "universal_logout")
        .await?;
    let mut updated = person.clone();
    // ulo access tokens issued before now are refused even if ulo still says they are live.
    updated.tokens_not_before = Some(now);
    updated.updated = now;
    tx.update_person(&updated).await?;
    let accounts = tx.accounts_for_person(&person.id).await?;
    tx.append_event(
        &audit::event("person.universal_logout", actor, now)
            .target(person_target(person))
            .jti(jti)
            .detail("sessionsEnded", sessions)
            .detail("tokensRevokedBefore", ulo_core::clock::rfc3339(now))
            .detail("accounts", accounts.len()),
    )
    .await?;
    for mut account in accounts.clone() {
        jobs::queue_end_sessions(tx, vault, &account, jti, actor, now).await?;
        jobs::queue_rotation(tx, vault, &mut account, jti, actor, now).await?;
    }
    Ok(LogoutResult::Done {
        person_id: person.id.clone(),
        sessions,
        accounts: accounts.len(),
    })
}

/// The SCIM-provisioned person a subject names, or why there is none.
async fn resolve(
    tx: &mut dyn Tx,
    vault: &Vault,
    subject: &Subject,
) -> Result<Result<Person, String>, VaultError> {
    let found = match subject {
        Subject::IssSub { iss, sub } => {
            if iss.trim_end_matches('/') != vault.rp.issuer() {
                return Ok(Err(format!(
                    "the subject's issuer {iss:?} is not this vault's identity provider"
                )));
            }
            tx.person(sub).await?
        }
        Subject::Email { email } => {
            let mut people = tx.people_by_email(email).await?;
            people.retain(|p| p.provisioned_by == Provisioning::Scim);
            if people.len() > 1 {
                return Ok(Err(format!(
                    "{} people have the email {email:?}; use iss_sub subjects",
                    people.len()
                )));
            }
            people.pop()
        }
    };
    Ok(match found {
        None => Err("no person with this id was provisioned to the vault".into()),
        Some(p) if p.provisioned_by != Provisioning::Scim => Err(format!(
            "person {:?} was not created by SCIM provisioning, so ulo cannot log them out",
            p.user_name
        )),
        Some(p) => Ok(p),
    })
}

fn subject_detail(s: &Subject) -> serde_json::Value {
    match s {
        Subject::IssSub { iss, sub } => {
            serde_json::json!({"format": "iss_sub", "iss": iss, "sub": sub})
        }
        Subject::Email { email } => serde_json::json!({"format": "email", "email": email}),
    }
}

/// The receiver's hook: the vault's Universal Logout.
pub struct Hook(pub Arc<Vault>);

#[async_trait::async_trait]
impl LogoutHook for Hook {
    async fn logout(&self, subject: &Subject) -> HookOutcome {
        outcome(self.0.universal_logout(subject, None).await)
    }

    async fn logout_request(&self, request: &LogoutRequest) -> HookOutcome {
        outcome(
            self.0
                .universal_logout(&request.subject, Some(&request.jti))
                .await,
        )
    }
}

fn outcome(r: Result<LogoutResult, VaultError>) -> HookOutcome {
    match r {
        Ok(LogoutResult::Done { .. }) => HookOutcome::Done,
        Ok(LogoutResult::Unknown(_)) => HookOutcome::UnknownUser,
        Err(e) => {
            tracing::error!(error = %e, "universal logout failed");
            HookOutcome::Failed(e.public_message())
        }
    }
}

/// `POST /global-token-revocation`: the receiver answers. Refused requests are counted per
/// source address: the first of a window is audited on its own, the rest as one counted event
/// per address and window, and past the limit the address gets 429. A request that verifies is
/// served whatever its address's tally says.
pub async fn endpoint(
    State((vault, receiver)): State<(Arc<Vault>, Receiver)>,
    extensions: Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let e = match receiver.handle(&headers, &body).await {
        Ok(()) => return StatusCode::NO_CONTENT.into_response(),
        Err(e) => e,
    };
    // Unknown people and failed logouts come from verified requests, audited by the hook.
    if matches!(
        e,
        ulo_receiver::ReceiverError::UnknownUser | ulo_receiver::ReceiverError::LogoutFailed(_)
    ) {
        return e.into_response();
    }
    let ip = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let now = vault.clock.now();
    let reason = e.to_string();
    let (verdict, closed) = vault.refusals.refuse(ip, &reason, now);
    let mut events = Vec::new();
    if verdict == Verdict::RecordFirst {
        events.push(
            audit::event("universal_logout.reject", &idp(&vault), now)
                .failure(ulo_core::throttle::short_reason(&reason))
                .detail("httpStatus", e.status().as_u16())
                .detail("address", ip.map(|i| i.to_string()))
                .detail("refusals", 1),
        );
    }
    events.extend(closed.iter().map(|s| tally_event(&vault, s, now)));
    if let Err(w) = append_events(&vault, &events).await {
        tracing::warn!(error = %w, "could not audit a refused logout request");
    }
    match verdict {
        Verdict::Throttled(wait) => {
            let secs = ulo_core::throttle::retry_after_secs(wait);
            let mut resp = (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(serde_json::json!({
                    "error": "too_many_requests",
                    "error_description": format!("too many refused requests from this address; retry in {secs} s (a valid request is still accepted)"),
                })),
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
        Verdict::RecordFirst | Verdict::Counted => e.into_response(),
    }
}

/// The audit event for one address's refusals beyond the first in one window.
fn tally_event(vault: &Vault, s: &RefusalSummary, now: OffsetDateTime) -> AuditEvent {
    audit::event("universal_logout.reject", &idp(vault), now)
        .failure(s.last_reason.clone())
        .detail("address", s.address.to_string())
        .detail("refusals", s.refused)
        .detail("throttled", s.throttled)
        .detail("windowStart", ulo_core::clock::rfc3339(s.window_start))
        .detail("windowEnd", ulo_core::clock::rfc3339(s.window_end))
        .detail("summary", true)
}

async fn append_events(vault: &Vault, events: &[AuditEvent]) -> Result<(), VaultError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut tx = vault.begin().await?;
    for ev in events {
        tx.append_event(ev).await?;
    }
    Ok(tx.commit().await?)
}

impl Vault {
    /// Audits the tallies of refused requests whose windows ended (all of them when `all`, at
    /// shutdown): one counted event per address and window.
    pub async fn audit_refusal_tallies(&self, all: bool) {
        let now = self.clock.now();
        let summaries = if all {
            self.refusals.drain()
        } else {
            self.refusals.closed(now)
        };
        let events: Vec<AuditEvent> = summaries
            .iter()
            .map(|s| tally_event(self, s, now))
            .collect();
        if let Err(e) = append_events(self, &events).await {
            tracing::warn!(error = %e, count = events.len(), "could not audit refused-request tallies");
        }
    }
}
