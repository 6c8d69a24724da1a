//! Directory operations: every admin change validates, writes, logs and commits in one transaction.

mod admin;
mod apps;
mod groups;
mod users;

pub use admin::NewApiToken;
pub(crate) use admin::{Reach, check_provisioning_reach};
pub use apps::{AppUser, CreatedApp};
pub(crate) use users::load_user;
pub use users::{CreateUser, ProfileChange};

use crate::app::OutboundPolicy;
use crate::clock::Clock;
use crate::context::{require_read, require_write};
use crate::error::DomainError;
use crate::store::{Store, StoreError};

/// Seals secrets at rest (implemented with the operator's master key).
pub trait Sealer: Send + Sync {
    /// Encrypts `plaintext`, binding it to `purpose`.
    fn seal(&self, plaintext: &[u8], purpose: &str) -> Result<String, String>;
    /// Decrypts what [`Sealer::seal`] produced for the same `purpose`.
    fn open(&self, sealed: &str, purpose: &str) -> Result<Vec<u8>, String>;
}

/// The directory: users, groups, apps, assignments, admin roles and API tokens.
pub struct Directory<'a> {
    /// Where everything is kept.
    pub store: &'a dyn Store,
    /// What time it is.
    pub clock: &'a dyn Clock,
    /// Which outbound URLs admins may configure.
    pub outbound: OutboundPolicy,
    /// Seals app credentials.
    pub sealer: &'a dyn Sealer,
    /// How long the Universal Logouts that lifecycle changes start wait on each target.
    pub logout_deadlines: crate::logout::Deadlines,
}

/// Maps a uniqueness failure to a conflict with `message`; other store errors pass through.
fn unique_as(message: impl Into<String>) -> impl FnOnce(StoreError) -> DomainError {
    let message = message.into();
    move |e| match e {
        StoreError::Unique(_) => DomainError::Conflict(message),
        other => DomainError::Store(other),
    }
}
