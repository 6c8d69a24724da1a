//! Shared Signals (SSF 1.0) transmitter: one event stream per app, managed by the app's receiver
//! with a credential ulo issues for that app; CAEP `session-revoked` on Universal Logout,
//! `credential-change` on password change, and verification events, pushed (RFC 8935) or
//! queued for polling (RFC 8936).

mod events;
mod model;
mod transmitter;

pub use events::{create_credential, credential_changed, enqueue_event};
pub use model::{
    CREDENTIAL_CHANGE, DeliveryInput, EVENT_DEADLINE, EVENT_JOB, EVENTS_SUPPORTED, EventPayload,
    POLL, PUSH, SESSION_REVOKED, SsfCredential, SsfStream, StreamDelivery, StreamInput,
    StreamStatus, VERIFICATION, push_auth_purpose, subject_key,
};
pub use transmitter::{PollAnswer, Transmitter};
