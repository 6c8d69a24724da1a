//! ulo-vault: the reference logout-enabled credential vault.
//!
//! A vault holds shared accounts of third-party apps that have no single sign-on of their own.
//! People reach it only through ulo: they are provisioned by SCIM, sign in with OpenID Connect,
//! and when ulo runs a Universal Logout for one of them the vault ends their vault sessions,
//! ends their sessions in every managed app they could use (through the app's connector) and
//! rotates every password they could have seen — durably, with every step in its audit log.

pub mod audit;
pub mod clock;
pub mod connector;
pub mod error;
pub mod model;
pub mod password;
pub mod seal;
pub mod secret;
pub mod store;

pub use error::{StoreError, VaultError};
