//! The vault's own store: SQLite (the default, a file in the data directory) or PostgreSQL.
//! Both run the same SQL (see [`tx`]); [`Store`] and [`Tx`] are what the rest of the vault sees.

mod common;
mod events;
mod postgres;
mod rows;
pub mod scratch;
mod sqlite;
mod tx;

use std::sync::Arc;
use ulo_core::job::JobResult;

use async_trait::async_trait;
use time::OffsetDateTime;

pub use crate::error::StoreError;
use crate::model::*;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// A necessary condition on audit events that the store checks in SQL, with its indexes:
/// every event an audit filter matches satisfies the condition the filter derives
/// ([`crate::audit::AuditFilter::condition`]), and the filter itself then decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventCondition {
    /// Every event.
    True,
    /// The column equals the value, ignoring ASCII case (as SCIM filters compare strings).
    Eq(EventColumn, String),
    /// Every part holds.
    And(Vec<EventCondition>),
    /// Some part holds.
    Or(Vec<EventCondition>),
}

/// A database holding the vault's state.
#[async_trait]
pub trait Store: Send + Sync {
    /// Starts a read-write transaction (on SQLite it takes the write lock at once).
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError>;
    /// Starts a read-only transaction.
    async fn read(&self) -> Result<Box<dyn Tx>, StoreError>;
    /// Leases up to `limit` due jobs (queued and due, or running with an expired lease) to
    /// `owner` until `lease_until`, counting an attempt on each.
    async fn claim_jobs(
        &self,
        owner: &str,
        limit: i64,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<Vec<Job>, StoreError>;
    /// Waits until a committed transaction queued a job, or `timeout` passed.
    async fn wait_for_jobs(&self, timeout: std::time::Duration);
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
}

/// One transaction: every change and its audit events and jobs commit together.
#[async_trait]
pub trait Tx: Send {
    /// Commits.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;

    /// Adds a person.
    async fn insert_person(&mut self, p: &Person) -> Result<(), StoreError>;
    /// Saves a changed person.
    async fn update_person(&mut self, p: &Person) -> Result<(), StoreError>;
    /// Removes a person, their memberships, sessions and shares; false if absent.
    async fn delete_person(&mut self, id: &str) -> Result<bool, StoreError>;
    /// A person by id.
    async fn person(&mut self, id: &str) -> Result<Option<Person>, StoreError>;
    /// A person by userName (case-insensitive).
    async fn person_by_user_name(&mut self, user_name: &str) -> Result<Option<Person>, StoreError>;
    /// A person by externalId (ulo's user id).
    async fn person_by_external_id(&mut self, id: &str) -> Result<Option<Person>, StoreError>;
    /// People whose primary email is `email` (case-insensitive).
    async fn people_by_email(&mut self, email: &str) -> Result<Vec<Person>, StoreError>;
    /// Everyone, oldest first.
    async fn people(&mut self) -> Result<Vec<Person>, StoreError>;

    /// Adds a group.
    async fn insert_group(&mut self, g: &Group) -> Result<(), StoreError>;
    /// Saves a changed group.
    async fn update_group(&mut self, g: &Group) -> Result<(), StoreError>;
    /// Removes a group, its memberships and shares; false if absent.
    async fn delete_group(&mut self, id: &str) -> Result<bool, StoreError>;
    /// A group by id.
    async fn group(&mut self, id: &str) -> Result<Option<Group>, StoreError>;
    /// A group by displayName (case-insensitive).
    async fn group_by_name(&mut self, name: &str) -> Result<Option<Group>, StoreError>;
    /// Every group, oldest first.
    async fn groups(&mut self) -> Result<Vec<Group>, StoreError>;
    /// The ids of a group's members.
    async fn group_members(&mut self, group_id: &str) -> Result<Vec<String>, StoreError>;
    /// Adds a member (no-op if already one).
    async fn add_group_member(&mut self, group_id: &str, person_id: &str)
    -> Result<(), StoreError>;
    /// Removes a member (no-op if not one).
    async fn remove_group_member(
        &mut self,
        group_id: &str,
        person_id: &str,
    ) -> Result<(), StoreError>;

    /// Adds a session.
    async fn insert_session(&mut self, s: &Session) -> Result<(), StoreError>;
    /// A session by the hash of its secret.
    async fn session_by_hash(&mut self, hash: &str) -> Result<Option<Session>, StoreError>;
    /// Ends one session; false if it had ended already.
    async fn end_session(
        &mut self,
        id: &str,
        now: OffsetDateTime,
        reason: &str,
    ) -> Result<bool, StoreError>;
    /// Ends every live session of a person; answers how many.
    async fn end_person_sessions(
        &mut self,
        person_id: &str,
        now: OffsetDateTime,
        reason: &str,
    ) -> Result<u64, StoreError>;

    /// Records an OIDC sign-in in progress.
    async fn insert_login(&mut self, l: &OidcLogin) -> Result<(), StoreError>;
    /// Takes (reads and deletes) the sign-in with this state hash: a state works once.
    async fn take_login(&mut self, state_hash: &str) -> Result<Option<OidcLogin>, StoreError>;

    /// Adds a managed app.
    async fn insert_app(&mut self, a: &ManagedApp) -> Result<(), StoreError>;
    /// A managed app by id.
    async fn app(&mut self, id: &str) -> Result<Option<ManagedApp>, StoreError>;
    /// Every managed app, oldest first.
    async fn apps(&mut self) -> Result<Vec<ManagedApp>, StoreError>;

    /// Adds an account.
    async fn insert_account(&mut self, a: &Account) -> Result<(), StoreError>;
    /// Saves a changed account.
    async fn update_account(&mut self, a: &Account) -> Result<(), StoreError>;
    /// An account by id.
    async fn account(&mut self, id: &str) -> Result<Option<Account>, StoreError>;
    /// Every account, oldest first.
    async fn accounts(&mut self) -> Result<Vec<Account>, StoreError>;
    /// The accounts shared with a person, directly or through a group.
    async fn accounts_for_person(&mut self, person_id: &str) -> Result<Vec<Account>, StoreError>;

    /// Shares an account; true if the share is new.
    async fn put_share(
        &mut self,
        account_id: &str,
        with: &Principal,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Stops sharing; true if there was such a share.
    async fn delete_share(
        &mut self,
        account_id: &str,
        with: &Principal,
    ) -> Result<bool, StoreError>;
    /// Who an account is shared with.
    async fn shares(&mut self, account_id: &str) -> Result<Vec<Principal>, StoreError>;

    /// Appends an audit event.
    async fn append_event(&mut self, e: &AuditEvent) -> Result<(), StoreError>;
    /// Audit events after `after` (an event id) that satisfy `condition`, oldest first, at
    /// most `limit`.
    async fn events(
        &mut self,
        condition: &EventCondition,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AuditEvent>, StoreError>;

    /// Remembers the `jti` of an accepted logout request until `expires`: true the first time,
    /// false while an unexpired record of it exists (an expired one is replaced).
    async fn remember_jti(
        &mut self,
        jti: &str,
        expires: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Forgets the `jti`s that expired by `now`; answers how many.
    async fn purge_jtis(&mut self, now: OffsetDateTime) -> Result<u64, StoreError>;

    /// Queues a job.
    async fn enqueue(&mut self, j: &Job) -> Result<(), StoreError>;
    /// The queued or running job of `kind` for `subject`, if any.
    async fn open_job(&mut self, kind: &str, subject: &str) -> Result<Option<Job>, StoreError>;
    /// A job by id.
    async fn job(&mut self, id: &str) -> Result<Option<Job>, StoreError>;
    /// Records how attempts ended — each `(job, the worker that claimed it, result)` — fenced by
    /// that worker and the attempt it claimed: whether each lease was still current (false
    /// when another worker took the job over), in order. A retried job is queued again.
    async fn finish_jobs(
        &mut self,
        finished: &[(&Job, &str, &JobResult)],
        now: OffsetDateTime,
    ) -> Result<Vec<bool>, StoreError>;
}

/// Opens the store at `url` (`sqlite://…` or `postgres://…`) and migrates it.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    match ulo_sql::Backend::of(url)? {
        ulo_sql::Backend::Sqlite => Ok(Arc::new(SqliteStore::open(url).await?)),
        ulo_sql::Backend::Postgres => Ok(Arc::new(PgStore::open(url).await?)),
    }
}

pub use ulo_sql::redact;

/// Maps a database error: uniqueness violations are conflicts, values that do not decode
/// corrupt, the rest unavailability.
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    ulo_sql::db_err(e).into()
}
