//! The outbound side: the guarded HTTP client and ulo's job kinds (logout deliveries, SCIM
//! pushes, Shared Signals events, webhooks, device command expiry), run by the worker of
//! `ulo-jobs` on ulo's store.

pub mod device_expiry;
pub mod http;
pub mod logout_delivery;
pub mod logout_request;
pub mod scim_push;
pub mod ssf;
pub mod webhook;
pub mod workflow;

pub use ulo_jobs::{Attempt, Finished, JobKind, Ran, Unregistered, WorkerConfig};

/// The job worker on ulo's store.
pub type Worker = ulo_jobs::Worker<dyn ulo_core::store::Store>;
