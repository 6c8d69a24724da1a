//! The `workflow.run` job: POSTs one workflow call, signed with the workflow's secret
//! (`Ulo-Workflow-Timestamp`, `Ulo-Workflow-Signature: v1=<hex HMAC-SHA256(secret,
//! "<timestamp>.<body>")>`, the scheme of [`ulo_http::signature`]), retried with backoff until
//! its deadline, and logs every attempt as `workflow.run.delivery`.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use time::OffsetDateTime;
use ulo_core::app::OutboundPolicy;
use ulo_core::clock::Clock;
use ulo_core::context::Context;
use ulo_core::directory::Sealer;
use ulo_core::job::{Job, JobResult};
use ulo_core::log::catalogue as events;
use ulo_core::log::{LogEvent, Outcome, Target};
use ulo_core::store::{Store, StoreError, StoreTx};
use ulo_core::workflow::{RUN_JOB, RunPayload, WorkflowStatus, secret_purpose};

use crate::http;
use crate::{Attempt, Finished, JobKind, Ran};

/// The job kind.
pub const KIND: &str = RUN_JOB;
/// The header carrying the call's Unix time (seconds).
pub const TIMESTAMP_HEADER: &str = "Ulo-Workflow-Timestamp";
/// The header carrying the call's signature, `v1=<hex>`.
pub const SIGNATURE_HEADER: &str = "Ulo-Workflow-Signature";

/// What one attempt learned.
#[derive(Debug, Clone, Default)]
pub struct Called {
    /// The HTTP status, when the receiver answered.
    status: Option<u16>,
    /// The URL called.
    url: Option<String>,
}

/// Calls workflows.
pub struct WorkflowRun {
    client: reqwest::Client,
    policy: OutboundPolicy,
    store: Arc<dyn Store>,
    sealer: Arc<dyn Sealer>,
    clock: Arc<dyn Clock>,
}

impl WorkflowRun {
    /// A caller with a per-request `timeout`; signatures carry `clock`'s time.
    pub fn new(
        policy: OutboundPolicy,
        timeout: StdDuration,
        store: Arc<dyn Store>,
        sealer: Arc<dyn Sealer>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, String> {
        Ok(WorkflowRun {
            client: http::client(policy, timeout)?,
            policy,
            store,
            sealer,
            clock,
        })
    }

    async fn attempt(&self, job: &Job, payload: &RunPayload, called: &mut Called) -> Attempt {
        let loaded = async {
            let mut tx = self.store.read().await?;
            tx.get_workflow(payload.workflow_id).await
        }
        .await;
        let w = match loaded {
            Ok(Some(w)) => w,
            Ok(None) => {
                return Attempt::Fail {
                    error: format!("workflow {} was deleted", payload.workflow_id),
                };
            }
            Err(e) => {
                return Attempt::Retry {
                    error: format!("reading the workflow: {e}"),
                    retry_after: None,
                };
            }
        };
        called.url = Some(w.url.clone());
        if w.status != WorkflowStatus::Active && payload.event_type == RUN_JOB {
            return Attempt::Fail {
                error: format!("workflow {} was deactivated", w.name),
            };
        }
        let secret = match self.sealer.open(&w.secret_sealed, &secret_purpose(w.id)) {
            Ok(s) => String::from_utf8_lossy(&s).into_owned(),
            Err(e) => {
                return Attempt::Fail {
                    error: format!("the workflow's secret cannot be opened: {e}"),
                };
            }
        };
        let url = match http::check_url(&self.policy, &w.url) {
            Ok(u) => u,
            Err(e) => return Attempt::Fail { error: e },
        };
        let body = match serde_json::to_vec(payload) {
            Ok(b) => b,
            Err(e) => {
                return Attempt::Fail {
                    error: format!("encoding the call: {e}"),
                };
            }
        };
        let timestamp = self.clock.now().unix_timestamp();
        let signature = ulo_http::signature::sign(&secret, timestamp, &body);
        let req = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", job.id.to_string())
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(body);
        let answer = http::send(&self.policy, req).await;
        called.status = answer.status;
        answer.attempt
    }
}

#[async_trait]
impl JobKind for WorkflowRun {
    const KIND: &'static str = KIND;
    type Queue = dyn Store;
    type Payload = RunPayload;
    type Outcome = Called;

    async fn run(&self, job: &Job, payload: &RunPayload) -> Ran<Called> {
        let mut called = Called::default();
        let attempt = self.attempt(job, payload, &mut called).await;
        Ran::new(attempt, called)
    }

    async fn record(
        &self,
        tx: &mut (dyn StoreTx + 'static),
        finished: &[Finished<'_, Self>],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        for f in finished {
            record_call(tx, f, now).await?;
        }
        Ok(())
    }
}

/// Writes one `workflow.run.delivery` event for an attempt (also for one that never ran: its
/// deadline passed first).
async fn record_call(
    tx: &mut dyn StoreTx,
    f: &Finished<'_, WorkflowRun>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let (job, payload, called, attempt, result) =
        (f.job, f.payload, f.outcome, f.attempt, f.result);
    let workflow = tx.get_workflow(payload.workflow_id).await?;
    let name = workflow
        .as_ref()
        .map(|w| w.name.clone())
        .unwrap_or_default();
    let url = called
        .url
        .clone()
        .or_else(|| workflow.as_ref().map(|w| w.url.clone()))
        .unwrap_or_default();
    let ctx = Context::system("JOB");
    let mut ev = LogEvent::build(
        &ctx,
        events::workflow::RUN_DELIVERY,
        now,
        format!("Call workflow {name}"),
    )
    .target(Target::new("Workflow", payload.workflow_id, url, name))
    .debug("eventType", payload.event_type.clone())
    .debug("requestTransactionId", payload.transaction_id.clone())
    .debug("attempt", job.attempts)
    .debug("jobId", job.id.to_string());
    if let Some(u) = &payload.user {
        ev = ev.debug("userId", u.id.to_string());
    }
    if let Some(s) = called.status {
        ev = ev.debug("httpStatus", s);
    }
    let error = match (attempt, result) {
        (_, JobResult::Dead { error }) => Some(error.clone()),
        (Attempt::Done, _) => None,
        (Attempt::Retry { error, .. } | Attempt::Fail { error }, _) => Some(error.clone()),
    };
    if let Some(e) = error {
        ev = ev
            .outcome(Outcome::failure(e))
            .debug("willRetry", matches!(result, JobResult::Retry { .. }));
    }
    tx.append_event(&ev.finish()).await
}
