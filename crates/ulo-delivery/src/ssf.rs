//! The Shared Signals transmitter's sending side: signs SETs (`typ: secevent+jwt`) and pushes
//! them to the receiver (RFC 8935, `application/secevent+jwt`, 202) or queues them for the
//! receiver to poll (RFC 8936). Used by logout deliveries (CAEP `session-revoked`) and by the
//! `ssf.event` job (verification, `credential-change`).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use ulo_core::app::OutboundPolicy;
use ulo_core::directory::Sealer;
use ulo_core::ids::AppId;
use ulo_core::job::Job;
use ulo_core::logout::Delivery;
use ulo_core::ssf::{self, EventPayload, SsfStream, StreamStatus};
use ulo_core::store::Store;
use ulo_jose::{KeyAlg, typ};

use crate::http;
use crate::logout_delivery::{KeySource, SsfOutcome, SsfSender};
use crate::logout_request::SubjectId;
use crate::{Attempt, JobKind, Ran};

/// The job kind of [`ssf::EVENT_JOB`].
pub const KIND: &str = ssf::EVENT_JOB;

/// Signs and sends SETs on apps' streams.
pub struct SsfTransmitter {
    client: reqwest::Client,
    policy: OutboundPolicy,
    issuer: String,
    keys: KeySource,
    store: Arc<dyn Store>,
    sealer: Arc<dyn Sealer>,
    clock: Arc<dyn ulo_core::clock::Clock>,
}

impl SsfTransmitter {
    /// A transmitter whose pushes are given up after `timeout`.
    pub fn new(
        policy: OutboundPolicy,
        timeout: StdDuration,
        issuer: String,
        keys: KeySource,
        store: Arc<dyn Store>,
        sealer: Arc<dyn Sealer>,
        clock: Arc<dyn ulo_core::clock::Clock>,
    ) -> Result<Self, String> {
        Ok(SsfTransmitter {
            client: http::client(policy, timeout)?,
            policy,
            issuer,
            keys,
            store,
            sealer,
            clock,
        })
    }

    /// Sends one event on an app's stream: checks the stream wants it, signs, pushes or queues.
    async fn send(&self, out: Outgoing<'_>, now: OffsetDateTime) -> SsfOutcome {
        let Outgoing {
            app,
            event_type,
            event,
            sub_id,
            txn,
            delivery,
        } = out;
        let stream = match async { self.store.read().await?.get_ssf_stream(app).await }.await {
            Ok(Some(s)) => s,
            Ok(None) => {
                return SsfOutcome::Sent(
                    None,
                    Attempt::Fail {
                        error: "the app's receiver has not created an SSF stream".into(),
                    },
                );
            }
            Err(e) => return SsfOutcome::Sent(None, retry(format!("reading the stream: {e}"))),
        };
        match stream.status {
            StreamStatus::Enabled => {}
            StreamStatus::Paused => {
                // Held until the receiver enables the stream again (or the deadline passes).
                return SsfOutcome::Sent(
                    None,
                    Attempt::Retry {
                        error: "the app's SSF stream is paused".into(),
                        retry_after: Some(Duration::seconds(30)),
                    },
                );
            }
            StreamStatus::Disabled => {
                return SsfOutcome::NotWanted("the app's SSF stream is disabled".into());
            }
        }
        if !stream.carries(event_type) {
            return SsfOutcome::NotWanted(format!(
                "the app's SSF stream did not request {event_type} events"
            ));
        }
        if let Some(sub) = &sub_id
            && let Ok(key) = ssf::subject_key(sub)
        {
            match async {
                self.store
                    .read()
                    .await?
                    .ssf_subject_excluded(app, &key)
                    .await
            }
            .await
            {
                Ok(true) => {
                    return SsfOutcome::NotWanted(
                        "the app's receiver removed this subject from its stream".into(),
                    );
                }
                Ok(false) => {}
                Err(e) => return SsfOutcome::Sent(None, retry(format!("reading subjects: {e}"))),
            }
        }
        let jti = uuid::Uuid::now_v7().to_string();
        let mut claims = json!({
            "iss": self.issuer,
            "jti": jti,
            "iat": now.unix_timestamp(),
            "aud": stream.aud,
            "events": { event_type: event },
        });
        match &sub_id {
            Some(s) => claims["sub_id"] = s.clone(),
            // A verification event's subject is the stream itself.
            None => claims["sub_id"] = json!({"format": "opaque", "id": stream.stream_id}),
        }
        if let Some(t) = txn {
            claims["txn"] = json!(t);
        }
        let set = match (self.keys)().sign(KeyAlg::ES256, typ::SECEVENT, &claims) {
            Ok(s) => s,
            Err(e) => return SsfOutcome::Sent(None, retry(format!("cannot sign the SET: {e}"))),
        };
        if stream.delivery.method == ssf::POLL {
            let delivery = delivery.and_then(|d| serde_json::to_value(d).ok());
            let queued = async {
                let mut tx = self.store.begin().await?;
                tx.enqueue_ssf_set(app, &jti, &set, delivery.as_ref(), now)
                    .await?;
                tx.commit().await
            }
            .await;
            return match queued {
                Ok(()) => SsfOutcome::Queued,
                Err(e) => SsfOutcome::Sent(None, retry(format!("queueing the SET: {e}"))),
            };
        }
        self.push(&stream, app, set).await
    }

    async fn push(&self, stream: &SsfStream, app: AppId, set: String) -> SsfOutcome {
        let Some(endpoint) = &stream.delivery.endpoint_url else {
            return SsfOutcome::Sent(
                None,
                Attempt::Fail {
                    error: "the push stream has no endpoint_url".into(),
                },
            );
        };
        let url = match http::check_url(&self.policy, endpoint) {
            Ok(u) => u,
            Err(e) => return SsfOutcome::Sent(None, Attempt::Fail { error: e }),
        };
        let mut req = self
            .client
            .post(url)
            .header("Content-Type", "application/secevent+jwt")
            .header("Accept", "application/json");
        if let Some(sealed) = &stream.delivery.authorization_header_sealed {
            match self.sealer.open(sealed, &ssf::push_auth_purpose(app)) {
                Ok(h) => req = req.header("Authorization", String::from_utf8_lossy(&h).as_ref()),
                Err(e) => {
                    return SsfOutcome::Sent(
                        None,
                        Attempt::Fail {
                            error: format!("the stream's push credential cannot be opened: {e}"),
                        },
                    );
                }
            }
        }
        let answer = http::send(&self.policy, req.body(set)).await;
        SsfOutcome::Sent(answer.status, answer.attempt)
    }
}

/// One event to send.
struct Outgoing<'a> {
    app: AppId,
    event_type: &'a str,
    event: Value,
    sub_id: Option<Value>,
    /// The transaction it belongs to (`txn` claim).
    txn: Option<&'a str>,
    /// The logout delivery it carries, completed when a poll receiver acknowledges it.
    delivery: Option<&'a Delivery>,
}

fn retry(error: String) -> Attempt {
    Attempt::Retry {
        error,
        retry_after: None,
    }
}

#[async_trait]
impl SsfSender for SsfTransmitter {
    async fn session_revoked(
        &self,
        delivery: &Delivery,
        subject: &SubjectId,
        now: OffsetDateTime,
    ) -> SsfOutcome {
        let event = json!({
            "event_timestamp": now.unix_timestamp(),
            "initiating_entity": "admin",
        });
        let out = Outgoing {
            app: delivery.app_id,
            event_type: ssf::SESSION_REVOKED,
            event,
            sub_id: Some(subject.to_json()),
            txn: Some(&delivery.transaction_id),
            delivery: Some(delivery),
        };
        self.send(out, now).await
    }
}

#[async_trait]
impl JobKind for SsfTransmitter {
    const KIND: &'static str = KIND;
    type Queue = dyn Store;
    type Payload = EventPayload;
    type Outcome = ();

    async fn run(&self, _job: &Job, p: &EventPayload) -> Ran<()> {
        let now = self.clock.now();
        let out = Outgoing {
            app: p.app_id,
            event_type: &p.event_type,
            event: p.event.clone(),
            sub_id: p.sub_id.clone(),
            txn: None,
            delivery: None,
        };
        match self.send(out, now).await {
            SsfOutcome::Sent(_, a) => a.into(),
            SsfOutcome::Queued | SsfOutcome::NotWanted(_) => Attempt::Done.into(),
        }
    }
}
