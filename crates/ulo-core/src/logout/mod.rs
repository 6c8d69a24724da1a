//! Universal Logout: one action that ends a user's access in ulo (sessions, OAuth tokens, API
//! tokens) and in every logout-enabled app, with a receipt that proves what each target answered.
//!
//! Starting a logout ends the local targets and enqueues one durable delivery job per app in the
//! same transaction; each delivery attempt is recorded back into the receipt (and the System Log)
//! in the transaction that finishes the job, so the receipt is never behind what the apps saw.
//!
//! [`single`] is the same machinery for the end of one session: its back-channel apps are told
//! through a receipt of scope `SESSION_END`.

mod api_tokens;
pub(crate) mod deliver;
mod model;
mod receipt;
mod service;
pub mod single;
mod start;
pub mod upstream;

pub use deliver::{
    Delivery, DeliveryOutcome, DeliverySubject, gtr_jti, record_deliveries, record_delivery,
};
pub use model::{DELIVER_JOB, Deadlines, LogoutRequest, LogoutScope, reason};
pub(crate) use model::{REASON_RULE, reason_is_valid};
pub use receipt::{Logout, LogoutStatus, LogoutTarget, TargetStatus, TargetType};
pub use service::Logouts;
pub use single::{
    SessionEnd, SessionsEnded, SingleLogout, end_sessions_in, sweep_expired_sessions,
};
pub use start::start_in;
