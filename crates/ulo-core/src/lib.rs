//! ulo's domain: directory, System Log, jobs, policies. No HTTP, no SQL, no clock reads.

pub mod app;
pub mod auth;
pub mod clock;
pub mod context;
pub mod device;
pub mod directory;
pub mod error;
pub mod features;
pub mod filter;
pub mod group;
pub mod ids;
pub mod job;
pub mod log;
pub mod login_key;
pub mod logout;
pub mod oauth;
pub mod oidc;
pub mod provisioning;
pub mod scim;
pub mod session;
pub mod signin;
pub mod ssf;
pub mod store;
pub mod user;
