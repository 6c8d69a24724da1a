//! The storage boundary, implemented for SQLite and PostgreSQL in ulo-store.
//!
//! A [`Store`] hands out transactions ([`StoreTx`]) and read handles ([`StoreRead`]). Both are
//! composed of one trait pair per area (`UsersRead` and `UsersTx`, `GroupsRead` and `GroupsTx`,
//! …, one file each): the read part is all a read handle has, so a write through a read does
//! not compile. Every state change runs inside a [`StoreTx`] so the change, its System Log
//! events and its jobs commit together or not at all.

mod admin;
mod apps;
mod devices;
mod groups;
mod jobs;
mod keys;
mod log;
mod logouts;
mod policies;
mod risk;
mod scim;
mod security_events;
mod sessions;
mod settings;
mod ssf;
mod use_contexts;
mod users;
mod workflows;

pub use admin::{AdminRead, AdminTx};
pub use apps::{AppsRead, AppsTx};
pub use devices::{DevicesRead, DevicesTx};
pub use groups::{GroupsRead, GroupsTx};
pub use jobs::{JobsRead, JobsTx};
pub use keys::{KeysRead, KeysTx};
pub use log::{LogRead, LogTx};
pub use logouts::{LogoutsRead, LogoutsTx};
pub use policies::{PoliciesRead, PoliciesTx};
pub use risk::{RiskRead, RiskTx};
pub use scim::{ScimRead, ScimTx};
pub use security_events::{SecurityEventsRead, SecurityEventsTx};
pub use sessions::{SessionsRead, SessionsTx};
pub use settings::{SettingsRead, SettingsTx};
pub use ssf::{SsfRead, SsfTx};
pub use use_contexts::{UseContextsRead, UseContextsTx};
pub use users::{UsersRead, UsersTx};
pub use workflows::{WorkflowsRead, WorkflowsTx};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::app::App;
use crate::ids::{DeviceId, GroupId};
use crate::job::{Job, Lease};

/// A storage failure. Database library errors stay inside ulo-store; only their meaning leaks out.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness constraint would be broken (the message names it).
    #[error("already exists: {0}")]
    Unique(String),
    /// The store cannot be reached or answered with an error.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The database refused a value (e.g. bad encoding); the caller sent something unstorable.
    #[error("invalid data: {0}")]
    Invalid(String),
    /// Stored data could not be read back.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A query could not be built (e.g. a filter the backend cannot express).
    #[error("bad query: {0}")]
    BadQuery(String),
}

/// A page request for keyset paging by id.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Continue after this id.
    pub after: Option<String>,
    /// At most this many.
    pub limit: u32,
}

/// A user search.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// Prefix match on first name, last name, email or login.
    pub q: Option<String>,
    /// Filter over id, status, created, lastUpdated, provisionedBy, profile.*.
    pub filter: Option<crate::filter::Filter>,
    /// Paging.
    pub page: Page,
    /// When set, each user's `riskLevel` (answered and filtered on) is the highest of their
    /// detections active at this time, not the level stored at the last change: a detection
    /// expires without a write. Admin reads set it; internal look-ups need not.
    pub risk_at: Option<time::OffsetDateTime>,
}

/// How a user reaches an app.
#[derive(Debug, Clone, PartialEq)]
pub struct AppLink {
    /// The app.
    pub app: App,
    /// Assigned directly.
    pub direct: bool,
    /// Assigned through these groups.
    pub groups: Vec<GroupId>,
}

/// Counts of jobs by state, for health and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobCounts {
    /// Waiting.
    pub queued: i64,
    /// Leased.
    pub running: i64,
    /// Finished.
    pub done: i64,
    /// Given up.
    pub dead: i64,
}

/// A store: hands out transactions.
#[async_trait]
pub trait Store: Send + Sync {
    /// A read-write transaction (on SQLite it takes the write lock up front).
    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError>;
    /// A handle for reads only (it has no write methods; on PostgreSQL each read is a statement
    /// of its own, outside any transaction).
    async fn read(&self) -> Result<Box<dyn StoreRead>, StoreError>;
    /// Whether the store answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Claims up to `limit` due jobs (queued and due, or running with an expired lease) for `owner`
    /// until `lease_until`; several processes may call this concurrently without sharing a job.
    async fn claim_jobs(
        &self,
        owner: &str,
        limit: u32,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<Vec<Job>, StoreError>;
    /// Extends a lease still held; false when it was lost.
    async fn extend_lease(&self, lease: &Lease, until: OffsetDateTime) -> Result<bool, StoreError>;
    /// Waits up to `timeout` for a sign that another process enqueued jobs (PostgreSQL LISTEN);
    /// a backend without such a signal waits out the timeout.
    async fn wait_for_jobs(&self, timeout: std::time::Duration);
    /// Starts watching for commands issued to `device` (in this process, or on PostgreSQL in any
    /// process sharing the database): a command committed after this call returns wakes
    /// [`CommandWatch::wait`]. Watch first, then read the open commands, then wait: nothing
    /// issued in between is missed.
    async fn watch_device(&self, device: DeviceId) -> Box<dyn CommandWatch>;
    /// Records that a one-time JWT `jti` was used in `namespace` until `expires`, durably and
    /// at once, outside any transaction: true the first time, false while it is remembered
    /// (a replay). Of concurrent callers with the same `jti`, on any process sharing the
    /// database, exactly one gets true. Cheaper than [`SessionsTx::remember_jti`] for hot paths
    /// (SQLite group-commits concurrent callers in one write transaction).
    async fn remember_jti(
        &self,
        namespace: &str,
        jti: &str,
        expires: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Forgets the `jti`s expired at `now` (run now and then: remembering does not purge);
    /// answers how many.
    async fn purge_jtis(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}

/// Waits for commands issued to one device (see [`Store::watch_device`]); dropping it stops
/// watching.
#[async_trait]
pub trait CommandWatch: Send {
    /// Resolves true as soon as a command may have been issued since the watch began (or since
    /// the last wake), false after `timeout` without one.
    async fn wait(&mut self, timeout: std::time::Duration) -> bool;
}

/// What a read handle can do: the read part of every area, and nothing that writes.
pub trait StoreRead:
    Send
    + UsersRead
    + AdminRead
    + GroupsRead
    + AppsRead
    + SessionsRead
    + LogoutsRead
    + JobsRead
    + LogRead
    + KeysRead
    + SettingsRead
    + ScimRead
    + SsfRead
    + SecurityEventsRead
    + DevicesRead
    + WorkflowsRead
    + RiskRead
    + PoliciesRead
    + UseContextsRead
{
}

impl<
    T: ?Sized
        + Send
        + UsersRead
        + AdminRead
        + GroupsRead
        + AppsRead
        + SessionsRead
        + LogoutsRead
        + JobsRead
        + LogRead
        + KeysRead
        + SettingsRead
        + ScimRead
        + SsfRead
        + SecurityEventsRead
        + DevicesRead
        + WorkflowsRead
        + RiskRead
        + PoliciesRead
        + UseContextsRead,
> StoreRead for T
{
}

/// One transaction: the read and the write part of every area. Dropping it without
/// [`StoreTx::commit`] rolls back.
#[async_trait]
pub trait StoreTx:
    StoreRead
    + UsersTx
    + AdminTx
    + GroupsTx
    + AppsTx
    + SessionsTx
    + LogoutsTx
    + JobsTx
    + LogTx
    + KeysTx
    + SettingsTx
    + ScimTx
    + SsfTx
    + SecurityEventsTx
    + DevicesTx
    + WorkflowsTx
    + RiskTx
    + PoliciesTx
    + UseContextsTx
{
    /// Makes every change of this transaction durable.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
    /// Lets this transaction's commit return before it is flushed to disk (PostgreSQL
    /// `synchronous_commit = off`; SQLite in WAL mode with `synchronous=NORMAL` already commits
    /// so). A crash of the process never loses it; a crash of the database server or machine
    /// may lose the last fraction of a second of such commits. For bookkeeping whose loss only
    /// repeats idempotent work (recording job results), never for what an API call promises.
    async fn relax_durability(&mut self) -> Result<(), StoreError>;
}
