//! Security events providers: ulo as a Shared Signals *receiver*. Registered providers (by
//! issuer and keys, or by their SSF configuration) push Security Event Tokens (RFC 8417) to
//! `/security/api/v1/security-events` (RFC 8935); each accepted SET is logged as
//! `security.events.provider.receive_event` and mapped to risk detections.
//!
//! `model.rs` holds the types, `providers.rs` the admin registry ([`Providers`]), `intake.rs`
//! the handling of a verified SET ([`Intake`]), `mapping.rs` the event → detection mapping.

mod intake;
mod mapping;
mod model;
mod providers;

pub use intake::{Accepted, Intake, IntakeSettings, SetError, SetErrorCode};
pub use intake::{provider_actor, provider_context};
pub use mapping::{MappedDetection, map_event, parse_level};
pub use model::{
    Discovery, NewProvider, PROVIDER_TYPE, Provider, ProviderSettings, ProviderStatus,
    SsfConfiguration, events,
};
pub use providers::Providers;
