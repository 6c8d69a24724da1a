//! What the risk policy calls: queue a workflow call in the caller's transaction.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::admin::RUN_DEADLINE;
use super::model::{RUN_JOB, RunPayload, RunRule, RunUser, WorkflowStatus};
use crate::clock::rfc3339;
use crate::context::Context;
use crate::error::DomainError;
use crate::ids::{UserId, WorkflowId};
use crate::job::NewJob;
use crate::store::StoreTx;

/// One call of a workflow, as a rule asks for it.
#[derive(Debug, Clone)]
pub struct WorkflowCall {
    /// Who it is about.
    pub user: UserId,
    /// Their login.
    pub login: String,
    /// What was detected (sent as is).
    pub detection: Value,
    /// The rule's id.
    pub rule_id: String,
    /// The rule's name.
    pub rule_name: String,
    /// The rule's level.
    pub level: String,
}

/// Queues a `workflow.run` job calling `workflow` in `tx` (it runs once `tx` commits). An
/// unknown or inactive workflow is refused with an error naming it.
pub async fn run_in(
    tx: &mut dyn StoreTx,
    ctx: &Context,
    workflow: &WorkflowId,
    call: WorkflowCall,
    now: OffsetDateTime,
) -> Result<(), DomainError> {
    let w = tx
        .get_workflow(*workflow)
        .await?
        .ok_or_else(|| DomainError::not_found("workflow", workflow))?;
    if w.status != WorkflowStatus::Active {
        return Err(DomainError::InvalidState(format!(
            "workflow {} ({}) is {}; activate it to call it",
            w.name,
            w.id,
            w.status.as_str()
        )));
    }
    let payload = RunPayload {
        workflow_id: w.id,
        event_type: RUN_JOB.into(),
        transaction_id: ctx.transaction.id.clone(),
        user: Some(RunUser {
            id: call.user,
            login: call.login,
        }),
        detection: call.detection,
        rule: Some(RunRule {
            id: call.rule_id,
            name: call.rule_name,
        }),
        level: Some(call.level),
        published: rfc3339(now),
    };
    tx.enqueue_job(&NewJob::new(RUN_JOB, json!(payload), now, RUN_DEADLINE))
        .await?;
    Ok(())
}
