//! Provisioning to apps: each (app, user) link records what ulo wants the user to be in the app's
//! SCIM server and what it last achieved there. Directory changes call [`reconcile`] inside their
//! transaction; it records the wanted state and enqueues one `scim.push` job per change, so the
//! push is as durable as the change that caused it.

mod model;
mod reconcile;

pub use model::{
    AppUserLink, Desired, LinkState, PUSH_DEADLINE, PUSH_JOB, PushPayload, desired_for,
    scim_token_purpose,
};
pub use reconcile::{app_audience, group_members, reconcile, reconcile_all, reconcile_app, resync};
