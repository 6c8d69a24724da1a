//! The workflow as stored, and the payload of its job.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::clock::serde_rfc3339;
use crate::ids::{UserId, WorkflowId};

/// The job kind that calls a workflow.
pub const RUN_JOB: &str = "workflow.run";

/// The sealing purpose prefix of a workflow's secret (followed by its id).
pub const SECRET_PURPOSE_PREFIX: &str = "workflow-secret:";

/// The sealing purpose of `id`'s signing secret: a sealed secret cannot be moved to another
/// workflow.
pub fn secret_purpose(id: WorkflowId) -> String {
    format!("{SECRET_PURPOSE_PREFIX}{id}")
}

/// Whether a workflow is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowStatus {
    /// Called when a rule asks.
    Active,
    /// Kept but never called.
    Inactive,
}

impl WorkflowStatus {
    /// `ACTIVE` or `INACTIVE`.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowStatus::Active => "ACTIVE",
            WorkflowStatus::Inactive => "INACTIVE",
        }
    }
}

/// A registered workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Workflow {
    /// Id.
    pub id: WorkflowId,
    /// What admins call it.
    pub name: String,
    /// Where ulo POSTs (https, or http to loopback when the operator allows it).
    pub url: String,
    /// Whether it is called.
    pub status: WorkflowStatus,
    /// Created.
    #[serde(with = "serde_rfc3339")]
    pub created: OffsetDateTime,
    /// Last changed.
    #[serde(with = "serde_rfc3339")]
    pub last_updated: OffsetDateTime,
    /// The signing secret, sealed with the master key (never serialized).
    #[serde(skip)]
    pub secret_sealed: String,
}

/// The payload of a [`RUN_JOB`] job: everything the call sends, fixed when it was asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunPayload {
    /// The workflow.
    pub workflow_id: WorkflowId,
    /// `workflow.run` for a rule's call, `workflow.test` for an admin's test call.
    pub event_type: String,
    /// The transaction that asked for the call.
    pub transaction_id: String,
    /// Who it is about (absent in a test call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<RunUser>,
    /// What was detected.
    pub detection: Value,
    /// The rule that asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RunRule>,
    /// The rule's level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// When it was asked for (RFC 3339).
    pub published: String,
}

/// The person a call is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunUser {
    /// Id.
    pub id: UserId,
    /// Login.
    pub login: String,
}

/// The rule that asked for a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRule {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
}
