//! The `logout.deliver` job: tells one app that a user was logged out (Global Token Revocation,
//! OIDC Back-Channel Logout or a Shared Signals SET), and records each attempt into the logout's
//! receipt in the transaction that finishes the job.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use time::OffsetDateTime;
use ulo_core::app::{LogoutProtocol, OutboundPolicy};
use ulo_core::clock::Clock;
use ulo_core::ids::LogoutId;
use ulo_core::job::{Job, JobResult};
use ulo_core::logout::{Delivery, DeliveryOutcome, DeliverySubject, TargetStatus};
use ulo_core::store::{Store, StoreError, StoreTx};
use ulo_jose::KeyRing;

use crate::http;
use crate::logout_request::{OutboundRequest, SubjectId, backchannel_logout_request, gtr_request};
use crate::{Attempt, Finished, JobKind, Ran};

/// The job kind.
pub const KIND: &str = ulo_core::logout::DELIVER_JOB;

/// The current signing keys (they rotate while the server runs).
pub type KeySource = Arc<dyn Fn() -> Arc<KeyRing> + Send + Sync>;

/// Told after a receipt changed (the change is committed).
pub type ReceiptListener = Arc<dyn Fn(LogoutId) + Send + Sync>;

/// What sending an event on an app's stream came to.
#[derive(Debug, Clone, PartialEq)]
pub enum SsfOutcome {
    /// Pushed (or failed to): the HTTP status, if the receiver answered, and the attempt.
    Sent(Option<u16>, Attempt),
    /// Queued for the receiver to poll; the target completes when the receiver acknowledges it.
    Queued,
    /// The receiver does not want it (stream disabled, event not requested, subject removed).
    NotWanted(String),
}

/// Delivers a Shared Signals `session-revoked` event to an app's stream.
#[async_trait]
pub trait SsfSender: Send + Sync {
    /// Sends (push) or queues (poll) the event.
    async fn session_revoked(
        &self,
        delivery: &Delivery,
        subject: &SubjectId,
        now: OffsetDateTime,
    ) -> SsfOutcome;
}

/// What an attempt learned, for [`JobKind::record`].
#[derive(Debug, Clone, Default)]
pub struct Sent {
    http_status: Option<u16>,
    /// A status other than the one the job result implies (queued → PENDING, not wanted →
    /// SKIPPED), with why.
    status: Option<(TargetStatus, Option<String>)>,
}

/// Delivers logouts to apps.
pub struct LogoutDelivery {
    client: reqwest::Client,
    policy: OutboundPolicy,
    issuer: String,
    keys: KeySource,
    clock: Arc<dyn Clock>,
    ssf: Option<Arc<dyn SsfSender>>,
    listener: Option<ReceiptListener>,
}

impl LogoutDelivery {
    /// A deliverer whose every attempt is given up after `timeout`.
    pub fn new(
        policy: OutboundPolicy,
        timeout: StdDuration,
        issuer: String,
        keys: KeySource,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, String> {
        Ok(LogoutDelivery {
            client: http::client(policy, timeout)?,
            policy,
            issuer,
            keys,
            clock,
            ssf: None,
            listener: None,
        })
    }

    /// Sends `ssf` deliveries through `sender`.
    pub fn with_ssf(mut self, sender: Arc<dyn SsfSender>) -> Self {
        self.ssf = Some(sender);
        self
    }

    /// Calls `listener` after each recorded attempt.
    pub fn with_listener(mut self, listener: ReceiptListener) -> Self {
        self.listener = Some(listener);
        self
    }

    fn subject(&self, d: &Delivery) -> SubjectId {
        match &d.subject {
            DeliverySubject::Email(e) => SubjectId::Email(e.clone()),
            DeliverySubject::IssSub(sub) | DeliverySubject::UserId(sub) => SubjectId::IssSub {
                iss: self.issuer.clone(),
                sub: sub.clone(),
            },
        }
    }

    async fn post(&self, req: OutboundRequest, idempotency_key: &str) -> (Option<u16>, Attempt) {
        let url = match http::check_url(&self.policy, &req.url) {
            Ok(u) => u,
            Err(e) => return (None, Attempt::Fail { error: e }),
        };
        let mut builder = self
            .client
            .post(url)
            .header("Idempotency-Key", idempotency_key);
        for (k, v) in &req.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let answer = http::send(&self.policy, builder.body(req.body)).await;
        (answer.status, answer.attempt)
    }

    async fn attempt(&self, job: &Job, d: &Delivery) -> (Sent, Attempt) {
        let sent = |(http_status, attempt): (Option<u16>, Attempt)| {
            (
                Sent {
                    http_status,
                    status: None,
                },
                attempt,
            )
        };
        if d.protocol == LogoutProtocol::Ssf {
            return match &self.ssf {
                Some(ssf) => match ssf
                    .session_revoked(d, &self.subject(d), self.clock.now())
                    .await
                {
                    SsfOutcome::Sent(status, attempt) => sent((status, attempt)),
                    SsfOutcome::Queued => (
                        Sent {
                            http_status: None,
                            status: Some((TargetStatus::Pending, None)),
                        },
                        Attempt::Done,
                    ),
                    SsfOutcome::NotWanted(why) => (
                        Sent {
                            http_status: None,
                            status: Some((TargetStatus::Skipped, Some(why))),
                        },
                        Attempt::Done,
                    ),
                },
                None => sent((
                    None,
                    Attempt::Retry {
                        error: "this node cannot send Shared Signals events".into(),
                        retry_after: None,
                    },
                )),
            };
        }
        sent(self.send_http(job, d).await)
    }

    async fn send_http(&self, job: &Job, d: &Delivery) -> (Option<u16>, Attempt) {
        let now = self.clock.now();
        let keys = (self.keys)();
        let fail = |error: String| (None, Attempt::Fail { error });
        let jti = |n: usize| format!("{}-{}-{n}", job.id, job.attempts);
        match d.protocol {
            LogoutProtocol::GlobalTokenRevocation => {
                let (Some(endpoint), Some(client_id)) = (&d.endpoint, &d.client_id) else {
                    return fail("the app has no endpoint or OIDC client id".into());
                };
                match gtr_request(
                    &keys,
                    &self.issuer,
                    client_id,
                    endpoint,
                    &self.subject(d),
                    now.unix_timestamp(),
                    &ulo_core::logout::gtr_jti(job.id, job.attempts),
                ) {
                    Ok(req) => self.post(req, &job.id.to_string()).await,
                    Err(e) => retry_signing(e),
                }
            }
            LogoutProtocol::OidcBackchannel => {
                let (Some(endpoint), Some(client_id)) = (&d.endpoint, &d.client_id) else {
                    return fail("the app has no endpoint or OIDC client id".into());
                };
                let sub = match &d.subject {
                    DeliverySubject::UserId(s) => Some(s.as_str()),
                    _ => None,
                };
                // One token names all of the user's sessions; apps that require `sid` get one
                // token per ended session, each with `sub` too.
                let sids: Vec<Option<&str>> = if d.sids.is_empty() {
                    vec![None]
                } else {
                    d.sids.iter().map(|s| Some(s.as_str())).collect()
                };
                let mut last = (None, Attempt::Done);
                for (n, sid) in sids.into_iter().enumerate() {
                    let req = match backchannel_logout_request(
                        &keys,
                        &self.issuer,
                        client_id,
                        endpoint,
                        sub,
                        sid,
                        now.unix_timestamp(),
                        &jti(n),
                    ) {
                        Ok(r) => r,
                        Err(e) => return retry_signing(e),
                    };
                    last = self.post(req, &format!("{}-{n}", job.id)).await;
                    if last.1 != Attempt::Done {
                        return last;
                    }
                }
                last
            }
            LogoutProtocol::Ssf => (
                None,
                Attempt::Fail {
                    error: "Shared Signals deliveries are not sent over HTTP here".into(),
                },
            ),
        }
    }
}

fn retry_signing(e: impl std::fmt::Display) -> (Option<u16>, Attempt) {
    (
        None,
        Attempt::Retry {
            error: format!("cannot sign the request: {e}"),
            retry_after: None,
        },
    )
}

/// What an attempt came to, as the receipt records it.
fn outcome(f: &Finished<'_, LogoutDelivery>) -> DeliveryOutcome {
    let (status, error) = match (&f.outcome.status, f.attempt, f.result) {
        (Some((status, why)), Attempt::Done, _) => (*status, why.clone()),
        (_, Attempt::Done, _) | (_, _, JobResult::Done) => (TargetStatus::Succeeded, None),
        (_, _, JobResult::Retry { error, .. }) => (TargetStatus::Retrying, Some(error.clone())),
        (_, _, JobResult::Dead { error }) => (TargetStatus::Failed, Some(error.clone())),
    };
    DeliveryOutcome {
        attempt: f.job.attempts,
        status,
        http_status: f.outcome.http_status,
        error,
    }
}

/// Records the attempts gathered for one logout, and empties the group.
async fn flush(
    tx: &mut dyn StoreTx,
    group: &mut Vec<(Delivery, DeliveryOutcome)>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let Some(logout_id) = group.first().map(|(d, _)| d.logout_id) else {
        return Ok(());
    };
    let attempts = std::mem::take(group);
    match ulo_core::logout::record_deliveries(tx, logout_id, &attempts, now).await {
        Ok(_) => Ok(()),
        Err(ulo_core::error::DomainError::Store(e)) => Err(e),
        Err(e) => Err(StoreError::Invalid(e.to_string())),
    }
}

#[async_trait]
impl JobKind for LogoutDelivery {
    const KIND: &'static str = KIND;
    type Queue = dyn Store;
    type Payload = Delivery;
    type Outcome = Sent;

    async fn run(&self, job: &Job, d: &Delivery) -> Ran<Sent> {
        let (sent, attempt) = self.attempt(job, d).await;
        Ran::new(attempt, sent)
    }

    async fn record(
        &self,
        tx: &mut (dyn StoreTx + 'static),
        finished: &[Finished<'_, Self>],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        // Consecutive attempts of one logout (they come sorted by lock_key) share one read and
        // lock of its receipt.
        let mut group: Vec<(Delivery, DeliveryOutcome)> = Vec::new();
        for f in finished {
            if group
                .first()
                .is_some_and(|(g, _)| g.logout_id != f.payload.logout_id)
            {
                flush(tx, &mut group, now).await?;
            }
            group.push((f.payload.clone(), outcome(f)));
        }
        flush(tx, &mut group, now).await
    }

    fn lock_key(&self, d: &Delivery) -> Option<String> {
        Some(d.logout_id.to_string())
    }

    fn committed(&self, d: &Delivery, _: &Sent) {
        if let Some(listener) = &self.listener {
            listener(d.logout_id);
        }
    }
}
