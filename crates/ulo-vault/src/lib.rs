//! ulo-vault: the reference logout-enabled credential vault.
//!
//! A vault holds shared accounts of third-party apps that have no single sign-on of their own.
//! People reach it only through ulo: they are provisioned by SCIM, sign in with OpenID Connect,
//! and when ulo runs a Universal Logout for one of them the vault ends their vault sessions,
//! ends their sessions in every managed app they could use (through the app's connector) and
//! rotates every password they could have seen — durably, with every step in its audit log.
//!
//! [`demo_app`] is a small managed app with its own password sign-in that implements the
//! connector, so rotation can be watched end to end.

pub mod accounts;
pub mod api;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod connector;
pub mod demo_app;
pub mod error;
pub mod jobs;
pub mod logout;
pub mod model;
pub mod oidc;
pub mod password;
pub mod people;
pub mod replay;
pub mod scim;
pub mod seal;
pub mod secret;
pub mod server;
pub mod store;
pub mod vault;
pub mod web;

pub use error::{StoreError, VaultError};
pub use server::{Options, Running, start};
pub use vault::{RetryPolicy, Vault};
