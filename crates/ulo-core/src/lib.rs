//! ulo's domain: directory, System Log, jobs, policies. No HTTP, no SQL, no clock reads.
//!
//! One module convention. The entities many domains share are model modules at the top (`user`,
//! `group`, `app`, `session`, `ids`). A domain that acts is a folder: `mod.rs` says what it is
//! and re-exports its public face, `model.rs` holds its types, and each operation has its own
//! file (`logout/{model,receipt,service,start,deliver,single,upstream}.rs`, `device/…`); its
//! entry for admins is a service struct that checks the caller once (`Directory`,
//! `logout::Logouts`, `device::Devices`). Storage is one trait per area in `store`, System Log
//! event types are constants in `log::catalogue`.

pub mod account;
pub mod app;
pub mod auth;
pub mod clock;
pub mod context;
pub mod csrf;
pub mod device;
pub mod directory;
pub mod error;
pub mod features;
pub use ulo_scim::filter;
pub mod group;
pub mod ids;
pub mod job;
pub mod log;
pub mod login_key;
pub mod logout;
pub mod network;
pub mod oauth;
pub mod oidc;
pub mod outbound;
pub mod policy;
pub mod provisioning;
pub mod risk;
pub mod scim;
pub mod security_events;
pub mod session;
pub mod session_influence;
pub mod signin;
pub mod ssf;
pub mod store;
pub mod throttle;
pub mod user;
pub mod workflow;
