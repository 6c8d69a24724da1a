//! The outbound side: the durable job worker, the guarded HTTP client, and job handlers.

pub mod device_expiry;
pub mod http;
pub mod logout_delivery;
pub mod logout_request;
pub mod scim_push;
pub mod ssf;
pub mod webhook;
pub mod worker;

pub use worker::{Attempt, JobHandler, Worker, WorkerConfig};
