//! Workflows: signed webhooks ulo calls on the durable job queue when a rule (the risk policy)
//! asks for one. An admin registers a URL; ulo generates the signing secret, shows it once, and
//! keeps it sealed. Each call is a `workflow.run` job (in ulo-delivery) that POSTs a signed JSON
//! body and logs every attempt as `workflow.run.delivery`.

mod admin;
mod model;
mod run;

pub use admin::{RUN_DEADLINE, WorkflowInput, WorkflowWithSecret, Workflows};
pub use model::{
    RUN_JOB, RunPayload, RunRule, RunUser, SECRET_PURPOSE_PREFIX, Workflow, WorkflowStatus,
    secret_purpose,
};
pub use run::{WorkflowCall, run_in};
