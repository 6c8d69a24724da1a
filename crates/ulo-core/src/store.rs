//! The storage boundary: one trait pair, implemented for SQLite and PostgreSQL in ulo-store.
//!
//! Every state change runs inside a [`StoreTx`] so the change, its System Log events and its
//! jobs commit together or not at all.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::app::App;
use crate::auth::{ApiToken, KeyState, SigningKeyRecord};
use crate::device::{Device, DeviceCommand, DeviceUser, EnrollmentToken};
use crate::group::Group;
use crate::ids::{
    ApiTokenId, AppId, DeviceCommandId, DeviceId, EventId, GrantId, GroupId, JobId, SessionId,
    UserId,
};
use crate::job::{Job, JobResult, Lease, NewJob};
use crate::log::{EventQuery, LogEvent};
use crate::oauth::{AccessTokenRecord, AuthCode, RefreshToken, SignInState};
use crate::session::{GrantSummary, Session};
use crate::user::{AdminRole, User};

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
    /// A transaction for reads only.
    async fn read(&self) -> Result<Box<dyn StoreTx>, StoreError>;
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
    /// database, exactly one gets true. Cheaper than [`StoreTx::remember_jti`] for hot paths
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

/// One transaction. Dropping it without [`StoreTx::commit`] rolls back.
#[async_trait]
pub trait StoreTx: Send + DeviceStoreTx + SessionStoreTx {
    /// Makes every change of this transaction durable.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
    /// Lets this transaction's commit return before it is flushed to disk (PostgreSQL
    /// `synchronous_commit = off`; SQLite in WAL mode with `synchronous=NORMAL` already commits
    /// so). A crash of the process never loses it; a crash of the database server or machine
    /// may lose the last fraction of a second of such commits. For bookkeeping whose loss only
    /// repeats idempotent work (recording job results), never for what an API call promises.
    async fn relax_durability(&mut self) -> Result<(), StoreError>;

    // --- users
    /// Inserts a user with an optional password hash.
    async fn insert_user(
        &mut self,
        user: &User,
        password_hash: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Replaces a user's stored fields.
    async fn update_user(&mut self, user: &User) -> Result<(), StoreError>;
    /// Sets the password hash.
    async fn set_password_hash(&mut self, id: UserId, hash: &str) -> Result<(), StoreError>;
    /// The password hash, if the user has one.
    async fn password_hash(&mut self, id: UserId) -> Result<Option<String>, StoreError>;
    /// A user by id.
    async fn get_user(&mut self, id: UserId) -> Result<Option<User>, StoreError>;
    /// A user by login (case-insensitive).
    async fn get_user_by_login(&mut self, login: &str) -> Result<Option<User>, StoreError>;
    /// Removes a user and everything that hangs on it (memberships, assignments, roles, tokens).
    async fn delete_user(&mut self, id: UserId) -> Result<bool, StoreError>;
    /// Searches users in id order.
    async fn list_users(&mut self, query: &UserQuery) -> Result<Vec<User>, StoreError>;
    /// How many users there are.
    async fn count_users(&mut self) -> Result<i64, StoreError>;

    // --- groups
    /// Inserts a group.
    async fn insert_group(&mut self, group: &Group) -> Result<(), StoreError>;
    /// Replaces a group's stored fields.
    async fn update_group(&mut self, group: &Group) -> Result<(), StoreError>;
    /// A group by id.
    async fn get_group(&mut self, id: GroupId) -> Result<Option<Group>, StoreError>;
    /// Removes a group and its memberships and assignments.
    async fn delete_group(&mut self, id: GroupId) -> Result<bool, StoreError>;
    /// Groups in id order, optionally by name prefix.
    async fn list_groups(&mut self, q: Option<&str>, page: &Page)
    -> Result<Vec<Group>, StoreError>;
    /// Adds a member; false when already a member.
    async fn add_member(
        &mut self,
        group: GroupId,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Removes a member; false when not a member.
    async fn remove_member(&mut self, group: GroupId, user: UserId) -> Result<bool, StoreError>;
    /// Members in id order.
    async fn list_members(&mut self, group: GroupId, page: &Page) -> Result<Vec<User>, StoreError>;
    /// Groups a user belongs to.
    async fn list_user_groups(&mut self, user: UserId) -> Result<Vec<Group>, StoreError>;

    // --- apps and assignments
    /// Inserts an app with its secrets.
    async fn insert_app(&mut self, app: &App) -> Result<(), StoreError>;
    /// Replaces an app's stored fields and secrets.
    async fn update_app(&mut self, app: &App) -> Result<(), StoreError>;
    /// An app by id.
    async fn get_app(&mut self, id: AppId) -> Result<Option<App>, StoreError>;
    /// An app by OIDC client id.
    async fn get_app_by_client_id(&mut self, client_id: &str) -> Result<Option<App>, StoreError>;
    /// The org's desktop-mfa app (at most one: a unique index keeps it so).
    async fn get_desktop_mfa_app(&mut self) -> Result<Option<App>, StoreError>;
    /// Removes an app and its assignments.
    async fn delete_app(&mut self, id: AppId) -> Result<bool, StoreError>;
    /// Apps in id order, optionally by label prefix.
    async fn list_apps(&mut self, q: Option<&str>, page: &Page) -> Result<Vec<App>, StoreError>;
    /// Assigns a user directly; false when already assigned.
    async fn assign_user(
        &mut self,
        app: AppId,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Removes a direct assignment; false when there was none.
    async fn unassign_user(&mut self, app: AppId, user: UserId) -> Result<bool, StoreError>;
    /// Assigns a group; false when already assigned.
    async fn assign_group(
        &mut self,
        app: AppId,
        group: GroupId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Removes a group assignment; false when there was none.
    async fn unassign_group(&mut self, app: AppId, group: GroupId) -> Result<bool, StoreError>;
    /// Users assigned directly, in id order.
    async fn list_app_users(&mut self, app: AppId, page: &Page) -> Result<Vec<User>, StoreError>;
    /// Groups assigned.
    async fn list_app_groups(&mut self, app: AppId) -> Result<Vec<Group>, StoreError>;
    /// Every app a user reaches, and how.
    async fn list_user_app_links(&mut self, user: UserId) -> Result<Vec<AppLink>, StoreError>;

    // --- admin roles and API tokens
    /// Grants a role; false when already held.
    async fn grant_role(
        &mut self,
        user: UserId,
        role: AdminRole,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Revokes a role; false when not held.
    async fn revoke_role(&mut self, user: UserId, role: AdminRole) -> Result<bool, StoreError>;
    /// Roles a user holds.
    async fn list_roles(&mut self, user: UserId) -> Result<Vec<AdminRole>, StoreError>;
    /// Users holding `role`, locked until the transaction ends (PostgreSQL `FOR UPDATE`; SQLite's
    /// single writer serializes anyway) so "is another admin left?" checks cannot race.
    async fn role_holders(&mut self, role: AdminRole) -> Result<Vec<User>, StoreError>;
    /// Stores a new API token.
    async fn insert_api_token(&mut self, token: &ApiToken) -> Result<(), StoreError>;
    /// A live API token by hash with its owner and the owner's admin roles, in one read.
    async fn find_api_token_owner(
        &mut self,
        hash: &str,
    ) -> Result<Option<(ApiToken, User, Vec<AdminRole>)>, StoreError>;
    /// An unrevoked token by hash.
    async fn find_api_token(&mut self, hash: &str) -> Result<Option<ApiToken>, StoreError>;
    /// A token by id.
    async fn get_api_token(&mut self, id: ApiTokenId) -> Result<Option<ApiToken>, StoreError>;
    /// Records a use.
    async fn touch_api_token(
        &mut self,
        id: ApiTokenId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// A user's tokens, newest last.
    async fn list_api_tokens(&mut self, user: UserId) -> Result<Vec<ApiToken>, StoreError>;
    /// Revokes a token; false when already revoked or unknown.
    async fn revoke_api_token(
        &mut self,
        id: ApiTokenId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    // --- sign-in and sessions
    /// Locks a user's row until the transaction ends (PostgreSQL `FOR UPDATE`; SQLite's single
    /// writer serializes anyway), so sign-ins, session clears and password resets of one user
    /// cannot interleave; false when the user does not exist.
    async fn lock_user(&mut self, user: UserId) -> Result<bool, StoreError>;
    /// A user's TOTP and throttling state (default when none was stored).
    async fn sign_in_state(&mut self, user: UserId) -> Result<SignInState, StoreError>;
    /// Stores a user's TOTP and throttling state.
    async fn put_sign_in_state(
        &mut self,
        user: UserId,
        state: &SignInState,
    ) -> Result<(), StoreError>;
    /// Stores a new session.
    async fn insert_session(&mut self, session: &Session) -> Result<(), StoreError>;
    /// A session by the hash of its cookie secret (ended ones too).
    async fn find_session(&mut self, secret_hash: &str) -> Result<Option<Session>, StoreError>;
    /// A session by id.
    async fn get_session(&mut self, id: SessionId) -> Result<Option<Session>, StoreError>;
    /// Records a use.
    async fn touch_session(&mut self, id: SessionId, now: OffsetDateTime)
    -> Result<(), StoreError>;
    /// Ends a session; false when it had already ended.
    async fn end_session(
        &mut self,
        id: SessionId,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// A user's sessions not yet ended (expired ones included), oldest first.
    async fn list_open_sessions(&mut self, user: UserId) -> Result<Vec<Session>, StoreError>;

    // --- OAuth
    /// Stores an authorization code.
    async fn insert_auth_code(&mut self, code: &AuthCode) -> Result<(), StoreError>;
    /// Marks a code used and answers it as it was before: `used` set means it was already redeemed.
    async fn redeem_auth_code(
        &mut self,
        code_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<AuthCode>, StoreError>;
    /// Stores a refresh token.
    async fn insert_refresh_token(&mut self, token: &RefreshToken) -> Result<(), StoreError>;
    /// A refresh token by hash.
    async fn find_refresh_token(&mut self, hash: &str) -> Result<Option<RefreshToken>, StoreError>;
    /// Marks a live refresh token exchanged; false when it was already rotated or revoked.
    async fn rotate_refresh_token(
        &mut self,
        id: crate::ids::RefreshTokenId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Revokes every refresh and access token of a grant; answers how many were live.
    async fn revoke_grant(
        &mut self,
        grant: GrantId,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;
    /// Stores an access token record.
    async fn insert_access_token(&mut self, token: &AccessTokenRecord) -> Result<(), StoreError>;
    /// An access token record by `jti`.
    async fn get_access_token(
        &mut self,
        jti: &str,
    ) -> Result<Option<AccessTokenRecord>, StoreError>;
    /// Revokes one access token; false when already revoked or unknown.
    async fn revoke_access_token(
        &mut self,
        jti: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Live (unrevoked, unexpired) grants of a user per app.
    async fn list_grants(
        &mut self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<GrantSummary>, StoreError>;
    /// Revokes every live refresh and access token of a user; answers what was live, per app.
    async fn revoke_user_tokens(
        &mut self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<GrantSummary>, StoreError>;
    /// Records that a one-time JWT `jti` was used in `namespace` (e.g. a client's assertions)
    /// until `expires`; false when it was already recorded and not yet expired at `now`, i.e.
    /// a replay. Concurrent callers cannot both get true. Expired entries are overwritten
    /// here and purged by [`Store::purge_jtis`].
    async fn remember_jti(
        &mut self,
        namespace: &str,
        jti: &str,
        expires: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    // --- signing keys and settings
    /// Stores a new signing key.
    async fn insert_signing_key(&mut self, key: &SigningKeyRecord) -> Result<(), StoreError>;
    /// Every signing key, oldest first.
    async fn list_signing_keys(&mut self) -> Result<Vec<SigningKeyRecord>, StoreError>;
    /// Moves a key to `state`; false when unknown.
    async fn set_signing_key_state(
        &mut self,
        kid: &str,
        state: KeyState,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// A server setting.
    async fn get_setting(&mut self, key: &str) -> Result<Option<serde_json::Value>, StoreError>;
    /// Stores a server setting.
    async fn put_setting(
        &mut self,
        key: &str,
        value: &serde_json::Value,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    // --- System Log
    /// Appends an event.
    async fn append_event(&mut self, event: &LogEvent) -> Result<(), StoreError>;
    /// Queries events.
    async fn query_events(&mut self, query: &EventQuery) -> Result<Vec<LogEvent>, StoreError>;
    /// An event by id.
    async fn get_event(&mut self, id: EventId) -> Result<Option<LogEvent>, StoreError>;

    // --- jobs
    /// Enqueues a job; it becomes visible to workers when the transaction commits.
    async fn enqueue_job(&mut self, job: &NewJob) -> Result<(), StoreError>;
    /// Enqueues several jobs at once (fewer round trips than one by one).
    async fn enqueue_jobs(&mut self, jobs: &[NewJob]) -> Result<(), StoreError>;
    /// A job by id.
    async fn get_job(&mut self, id: JobId) -> Result<Option<Job>, StoreError>;
    /// Records the result of an attempt; false when `lease` is no longer the job's current lease
    /// (another worker reclaimed it), in which case nothing changes.
    async fn finish_job(
        &mut self,
        lease: &Lease,
        result: &JobResult,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// [`StoreTx::finish_job`] for several attempts: whether each lease was still current, in
    /// order.
    async fn finish_jobs(
        &mut self,
        finished: &[(&Lease, &JobResult)],
        now: OffsetDateTime,
    ) -> Result<Vec<bool>, StoreError>;
    /// Counts jobs by state, optionally of one kind.
    async fn count_jobs(&mut self, kind: Option<&str>) -> Result<JobCounts, StoreError>;

    // --- SCIM service provider
    /// Stores a new SCIM credential.
    async fn insert_scim_credential(
        &mut self,
        credential: &crate::scim::ScimCredential,
    ) -> Result<(), StoreError>;
    /// An unrevoked SCIM credential by token hash.
    async fn find_scim_credential(
        &mut self,
        hash: &str,
    ) -> Result<Option<crate::scim::ScimCredential>, StoreError>;
    /// Every SCIM credential, oldest first.
    async fn list_scim_credentials(
        &mut self,
    ) -> Result<Vec<crate::scim::ScimCredential>, StoreError>;
    /// Revokes a SCIM credential; false when already revoked or unknown.
    async fn revoke_scim_credential(
        &mut self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Sets (or with `None` clears) the externalId a SCIM client gave a resource.
    async fn put_scim_external_id(
        &mut self,
        resource_type: &str,
        resource_id: &str,
        external_id: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Every (resource id, externalId) pair of a resource type.
    async fn list_scim_external_ids(
        &mut self,
        resource_type: &str,
    ) -> Result<Vec<(String, String)>, StoreError>;
    /// Sets (or with `None` clears) the SCIM attributes a client last wrote for a resource.
    async fn put_scim_attributes(
        &mut self,
        resource_type: &str,
        resource_id: &str,
        attributes: Option<&serde_json::Value>,
    ) -> Result<(), StoreError>;
    /// The externalId of one resource, if a SCIM client gave it one.
    async fn get_scim_external_id(
        &mut self,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<Option<String>, StoreError>;
    /// The SCIM attributes a client last wrote for one resource.
    async fn get_scim_attributes(
        &mut self,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<Option<serde_json::Value>, StoreError>;
    /// Every (resource id, attributes) pair of a resource type.
    async fn list_scim_attributes(
        &mut self,
        resource_type: &str,
    ) -> Result<Vec<(String, serde_json::Value)>, StoreError>;

    // --- provisioning to apps
    /// The provisioning link of a user with an app.
    async fn get_app_user_link(
        &mut self,
        app: AppId,
        user: UserId,
    ) -> Result<Option<crate::provisioning::AppUserLink>, StoreError>;
    /// Inserts or replaces a provisioning link.
    async fn put_app_user_link(
        &mut self,
        link: &crate::provisioning::AppUserLink,
    ) -> Result<(), StoreError>;
    /// An app's provisioning links, in user id order.
    async fn list_app_user_links(
        &mut self,
        app: AppId,
        page: &Page,
    ) -> Result<Vec<crate::provisioning::AppUserLink>, StoreError>;
    /// A user's provisioning links, one per app.
    async fn list_user_app_user_links(
        &mut self,
        user: UserId,
    ) -> Result<Vec<crate::provisioning::AppUserLink>, StoreError>;

    // --- Universal Logout
    /// Stores a new logout receipt.
    async fn insert_logout(&mut self, logout: &crate::logout::Logout) -> Result<(), StoreError>;
    /// A logout receipt.
    async fn get_logout(
        &mut self,
        id: crate::ids::LogoutId,
    ) -> Result<Option<crate::logout::Logout>, StoreError>;
    /// A logout receipt, locked until the transaction ends (PostgreSQL `FOR UPDATE`; SQLite's
    /// single writer serializes anyway) so concurrent deliveries update it one after another.
    async fn get_logout_for_update(
        &mut self,
        id: crate::ids::LogoutId,
    ) -> Result<Option<crate::logout::Logout>, StoreError>;
    /// Updates a receipt's status and completion (not its targets).
    async fn update_logout(&mut self, logout: &crate::logout::Logout) -> Result<(), StoreError>;
    /// Updates one target of a receipt.
    async fn update_logout_target(
        &mut self,
        id: crate::ids::LogoutId,
        position: usize,
        target: &crate::logout::LogoutTarget,
    ) -> Result<(), StoreError>;
    /// Receipts newest first (`page.after` continues below that id), optionally of one user
    /// and in one status.
    async fn list_logouts(
        &mut self,
        user: Option<UserId>,
        status: Option<crate::logout::LogoutStatus>,
        page: &Page,
    ) -> Result<Vec<crate::logout::Logout>, StoreError>;

    // --- Shared Signals transmitter
    /// Stores a receiver credential.
    async fn insert_ssf_credential(
        &mut self,
        credential: &crate::ssf::SsfCredential,
    ) -> Result<(), StoreError>;
    /// A receiver credential by token hash.
    async fn find_ssf_credential(
        &mut self,
        hash: &str,
    ) -> Result<Option<crate::ssf::SsfCredential>, StoreError>;
    /// An app's stream.
    async fn get_ssf_stream(
        &mut self,
        app: AppId,
    ) -> Result<Option<crate::ssf::SsfStream>, StoreError>;
    /// Inserts or replaces an app's stream.
    async fn put_ssf_stream(&mut self, stream: &crate::ssf::SsfStream) -> Result<(), StoreError>;
    /// Deletes an app's stream with its subjects and queued SETs; false when there was none.
    async fn delete_ssf_stream(&mut self, app: AppId) -> Result<bool, StoreError>;
    /// Marks a subject included in (or excluded from) an app's stream.
    async fn put_ssf_subject(
        &mut self,
        app: AppId,
        subject: &str,
        included: bool,
    ) -> Result<(), StoreError>;
    /// Whether a receiver removed a subject from an app's stream.
    async fn ssf_subject_excluded(&mut self, app: AppId, subject: &str)
    -> Result<bool, StoreError>;
    /// Queues a SET for polling, with the logout delivery it carries (if any).
    async fn enqueue_ssf_set(
        &mut self,
        app: AppId,
        jti: &str,
        set: &str,
        delivery: Option<&serde_json::Value>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Up to `limit` queued SETs (jti, SET), oldest first.
    async fn poll_ssf_sets(
        &mut self,
        app: AppId,
        limit: u32,
    ) -> Result<Vec<(String, String)>, StoreError>;
    /// Removes an acknowledged SET; answers the delivery it carried (`None` when the jti is not
    /// queued).
    async fn ack_ssf_set(
        &mut self,
        app: AppId,
        jti: &str,
    ) -> Result<Option<Option<serde_json::Value>>, StoreError>;

    // --- upstream identity providers
    /// Registers an upstream identity provider (unique issuer).
    async fn insert_upstream_idp(
        &mut self,
        idp: &crate::logout::upstream::UpstreamIdp,
    ) -> Result<(), StoreError>;
    /// Every upstream identity provider, oldest first.
    async fn list_upstream_idps(
        &mut self,
    ) -> Result<Vec<crate::logout::upstream::UpstreamIdp>, StoreError>;
    /// Removes one; false when unknown.
    async fn delete_upstream_idp(&mut self, id: &str) -> Result<bool, StoreError>;
}

/// The device part of a transaction (a supertrait of [`StoreTx`]: call these on any
/// transaction with this trait in scope).
#[async_trait]
pub trait DeviceStoreTx: Send {
    /// Stores a new enrollment token.
    async fn insert_enrollment_token(&mut self, token: &EnrollmentToken) -> Result<(), StoreError>;
    /// An enrollment token by the hash of its secret (used and expired ones too).
    async fn find_enrollment_token(
        &mut self,
        hash: &str,
    ) -> Result<Option<EnrollmentToken>, StoreError>;
    /// Marks an unused token used by `device`; false when it was already used (of two concurrent
    /// enrollments with one token only one gets true).
    async fn consume_enrollment_token(
        &mut self,
        id: &str,
        device: DeviceId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Stores a new device.
    async fn insert_device(&mut self, device: &Device) -> Result<(), StoreError>;
    /// A device by id.
    async fn get_device(&mut self, id: DeviceId) -> Result<Option<Device>, StoreError>;
    /// Replaces a device's stored fields.
    async fn update_device(&mut self, device: &Device) -> Result<(), StoreError>;
    /// Devices in id order.
    async fn list_devices(&mut self, page: &Page) -> Result<Vec<Device>, StoreError>;
    /// Records that a user signs in on a device (inserted, or `os_login` and `last_seen` updated).
    async fn put_device_user(&mut self, link: &DeviceUser) -> Result<(), StoreError>;
    /// The users seen on a device, most recently seen first.
    async fn list_device_users(&mut self, device: DeviceId) -> Result<Vec<DeviceUser>, StoreError>;
    /// The devices a user was seen on, with that link, in device id order.
    async fn list_user_devices(
        &mut self,
        user: UserId,
    ) -> Result<Vec<(Device, DeviceUser)>, StoreError>;
    /// Stores new commands; each device's watchers wake when the transaction commits.
    async fn insert_device_commands(
        &mut self,
        commands: &[DeviceCommand],
    ) -> Result<(), StoreError>;
    /// A command by id.
    async fn get_device_command(
        &mut self,
        id: DeviceCommandId,
    ) -> Result<Option<DeviceCommand>, StoreError>;
    /// A device's commands still waiting for an answer (ISSUED or DELIVERED), oldest first.
    async fn open_device_commands(
        &mut self,
        device: DeviceId,
    ) -> Result<Vec<DeviceCommand>, StoreError>;
    /// A device with its commands still waiting for an answer (as [`open_device_commands`]), in
    /// one round trip: what an agent's poll reads.
    ///
    /// [`open_device_commands`]: StoreDevices::open_device_commands
    async fn get_device_with_open_commands(
        &mut self,
        id: DeviceId,
    ) -> Result<Option<(Device, Vec<DeviceCommand>)>, StoreError>;
    /// Replaces a command's stored fields.
    async fn update_device_command(&mut self, command: &DeviceCommand) -> Result<(), StoreError>;
}

/// The single-logout part of sessions (a supertrait of [`StoreTx`]): which apps a session signed
/// in to, and finding sessions whose time is up.
#[async_trait]
pub trait SessionStoreTx: Send {
    /// Records that `session` signed in to `app` (an authorization code was issued in it); a
    /// second sign-in to the same app changes nothing.
    async fn record_session_app(
        &mut self,
        session: SessionId,
        app: AppId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The apps `session` signed in to, in the order it first did.
    async fn list_session_apps(&mut self, session: SessionId) -> Result<Vec<AppId>, StoreError>;
    /// Whether some open session's absolute end is at or before `now` or its last use at or
    /// before `idle_cutoff` (a cheap read before the sweep takes a write transaction).
    async fn any_expired_sessions(
        &mut self,
        now: OffsetDateTime,
        idle_cutoff: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Open sessions whose absolute end is at or before `now` or whose last use is at or before
    /// `idle_cutoff`, oldest first, at most `limit`, locked until the transaction ends. On
    /// PostgreSQL rows another transaction holds are skipped (`FOR UPDATE SKIP LOCKED`), so
    /// several nodes sweeping at once share the work instead of waiting on each other.
    async fn claim_expired_sessions(
        &mut self,
        now: OffsetDateTime,
        idle_cutoff: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Session>, StoreError>;
}
