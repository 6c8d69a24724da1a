//! The vault's domain records: people and groups (from SCIM), sessions, managed apps, shared
//! accounts and their rotation policy, shares, audit events and jobs.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// A new time-ordered id (UUID v7), the key of every record.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// How a person came to exist in the vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provisioning {
    /// Created by a SCIM `POST /Users`: reachable by Universal Logout and allowed to sign in.
    Scim,
    /// Created by a vault admin: not linked to ulo, so a logout request cannot reach it.
    Admin,
}

impl Provisioning {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scim => "scim",
            Self::Admin => "admin",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "scim" => Some(Self::Scim),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// A person who may use shared accounts.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    /// The vault's id (the SCIM `id`, the `sub` ulo sends in `iss_sub` subjects).
    pub id: String,
    /// The SCIM `userName` (unique, case-insensitively).
    pub user_name: String,
    /// The SCIM `externalId`: ulo's user id, the `sub` of ulo's ID tokens.
    pub external_id: Option<String>,
    /// Whether the person may sign in.
    pub active: bool,
    /// Who created the person.
    pub provisioned_by: Provisioning,
    /// The SCIM attributes kept as sent (`name`, `emails`, `displayName`).
    pub attributes: Value,
    /// Vault sessions and ulo access tokens issued before this instant are refused.
    pub tokens_not_before: Option<OffsetDateTime>,
    /// Created.
    pub created: OffsetDateTime,
    /// Last changed.
    pub updated: OffsetDateTime,
}

impl Person {
    /// The primary (or first) email among the SCIM `emails`.
    pub fn email(&self) -> Option<String> {
        let emails = self.attributes.get("emails")?.as_array()?;
        let primary = emails
            .iter()
            .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
            .or_else(|| emails.first())?;
        primary
            .get("value")
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    /// A name to show: `displayName`, the formatted name, or the userName.
    pub fn display_name(&self) -> String {
        let a = &self.attributes;
        a.get("displayName")
            .and_then(Value::as_str)
            .or_else(|| a.pointer("/name/formatted").and_then(Value::as_str))
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(&self.user_name)
            .to_string()
    }
}

/// A SCIM group; accounts shared with it are shared with its members.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The SCIM `id`.
    pub id: String,
    /// The SCIM `displayName` (unique, case-insensitively).
    pub display_name: String,
    /// The SCIM `externalId`.
    pub external_id: Option<String>,
    /// Created.
    pub created: OffsetDateTime,
    /// Last changed.
    pub updated: OffsetDateTime,
}

/// A signed-in person's vault session; the cookie holds a secret whose hash is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Its id.
    pub id: String,
    /// Whose.
    pub person_id: String,
    /// SHA-256 (hex) of the cookie's secret.
    pub secret_hash: String,
    /// Started.
    pub created: OffsetDateTime,
    /// Ends at the latest.
    pub expires: OffsetDateTime,
    /// Ended early (sign-out, Universal Logout).
    pub ended: Option<OffsetDateTime>,
}

/// An OIDC sign-in in progress: what the callback needs to finish it.
#[derive(Debug, Clone, PartialEq)]
pub struct OidcLogin {
    /// SHA-256 (hex) of the `state` parameter.
    pub state_hash: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier, sealed with the master key.
    pub verifier_sealed: String,
    /// Started.
    pub created: OffsetDateTime,
    /// Useless after.
    pub expires: OffsetDateTime,
}

/// A third-party app whose shared accounts the vault holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedApp {
    /// Its id.
    pub id: String,
    /// Its name (unique, case-insensitively).
    pub name: String,
    /// Where people sign in to it.
    pub sign_in_url: String,
    /// The connector's kind; only `http` exists.
    pub connector_type: String,
    /// The URL the vault calls to set passwords and end sessions.
    pub connector_url: String,
    /// The secret that signs connector requests, sealed with the master key.
    pub connector_secret_sealed: String,
    /// Created.
    pub created: OffsetDateTime,
    /// Last changed.
    pub updated: OffsetDateTime,
}

/// Where an account's rotation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountStatus {
    /// The stored password is the one the app has, and nobody who lost access saw it.
    Ok,
    /// The password must change (someone who saw it lost access) and the app has not yet
    /// confirmed a new one.
    RotationPending,
}

impl AccountStatus {
    /// The stored (and API) form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::RotationPending => "ROTATION_PENDING",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "OK" => Some(Self::Ok),
            "ROTATION_PENDING" => Some(Self::RotationPending),
            _ => None,
        }
    }
}

/// A shared account of a managed app.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    /// Its id.
    pub id: String,
    /// The managed app.
    pub app_id: String,
    /// The username at the app.
    pub username: String,
    /// The password the app has, sealed with the master key.
    pub password_sealed: String,
    /// A generated password being set at the app (sealed); it becomes the password only once
    /// the app confirmed it.
    pub candidate_sealed: Option<String>,
    /// How new passwords are generated.
    pub policy: crate::password::Policy,
    /// Rotation state.
    pub status: AccountStatus,
    /// When the vault last rotated the password.
    pub rotated_at: Option<OffsetDateTime>,
    /// Why the last rotation attempt failed.
    pub rotation_error: Option<String>,
    /// Created.
    pub created: OffsetDateTime,
    /// Last changed.
    pub updated: OffsetDateTime,
}

/// Who an account is shared with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "lowercase")]
pub enum Principal {
    /// A person, by id.
    Person(String),
    /// A SCIM group, by id.
    Group(String),
}

impl Principal {
    /// The stored type.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Person(_) => "person",
            Self::Group(_) => "group",
        }
    }

    /// The id.
    pub fn id(&self) -> &str {
        match self {
            Self::Person(id) | Self::Group(id) => id,
        }
    }
}

/// Who did something recorded in the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// `admin`, `person`, `scim`, `idp` (ulo, through a logout request) or `system` (jobs).
    #[serde(rename = "type")]
    pub kind: String,
    /// An id within that type.
    pub id: String,
    /// A name to show.
    #[serde(rename = "displayName")]
    pub display_name: String,
}

impl Actor {
    /// An actor of `kind`.
    pub fn new(kind: &str, id: impl Into<String>, display_name: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            id: id.into(),
            display_name: display_name.into(),
        }
    }

    /// The vault admin (bearer token).
    pub fn admin() -> Self {
        Self::new("admin", "admin", "vault admin")
    }

    /// The SCIM client (ulo's provisioning).
    pub fn scim() -> Self {
        Self::new("scim", "scim", "SCIM client")
    }

    /// The vault's own job worker.
    pub fn system() -> Self {
        Self::new("system", "worker", "vault job worker")
    }

    /// A person acting for themselves.
    pub fn person(p: &Person) -> Self {
        Self::new("person", p.id.clone(), p.user_name.clone())
    }
}

/// What an audit event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditTarget {
    /// `person`, `group`, `account`, `app`, `session`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its id.
    pub id: String,
    /// A name to show.
    #[serde(rename = "displayName")]
    pub display_name: String,
}

/// A string column of the audit log that filters can reach in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventColumn {
    /// `id`.
    Id,
    /// `type`.
    Type,
    /// `actor.type`.
    ActorType,
    /// `actor.id`.
    ActorId,
    /// `actor.displayName`.
    ActorName,
    /// `target.type`.
    TargetType,
    /// `target.id`.
    TargetId,
    /// `target.displayName`.
    TargetName,
    /// `jti`.
    Jti,
    /// `outcome`.
    Outcome,
    /// `reason`.
    Reason,
}

/// One entry of the vault's audit log. Never holds a secret.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// Its id (time-ordered).
    pub id: String,
    /// When.
    pub published: OffsetDateTime,
    /// What happened, e.g. `account.password.reveal`.
    pub event_type: String,
    /// Who.
    pub actor: Actor,
    /// What it was about.
    pub target: Option<AuditTarget>,
    /// The `jti` of the Universal Logout request this event belongs to.
    pub jti: Option<String>,
    /// `SUCCESS` or `FAILURE`.
    pub outcome: String,
    /// Why it failed, or more about what happened.
    pub reason: Option<String>,
    /// Further details (JSON object).
    pub detail: Value,
}

/// The state of a job in the durable queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for `run_at`.
    Queued,
    /// Claimed by a worker until `lease_until`.
    Running,
    /// Finished.
    Done,
    /// Given up.
    Dead,
}

impl JobState {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "QUEUED",
            Self::Running => "RUNNING",
            Self::Done => "DONE",
            Self::Dead => "DEAD",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "QUEUED" => Self::Queued,
            "RUNNING" => Self::Running,
            "DONE" => Self::Done,
            "DEAD" => Self::Dead,
            _ => return None,
        })
    }
}

/// A unit of work in the durable queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Its id.
    pub id: String,
    /// What to do (`account.rotate`, `account.end_sessions`).
    pub kind: String,
    /// What it acts on (an account id): at most one queued job per kind and subject.
    pub subject: String,
    /// Its parameters.
    pub payload: Value,
    /// Where it stands.
    pub state: JobState,
    /// Attempts started so far (counting the current one).
    pub attempts: i64,
    /// Not before.
    pub run_at: OffsetDateTime,
    /// Given up after.
    pub deadline: OffsetDateTime,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Created.
    pub created: OffsetDateTime,
}
