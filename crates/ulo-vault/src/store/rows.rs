//! Rows as both databases return them, and their conversion to domain records.

use serde_json::Value;
use ulo_core::clock::from_millis;

use super::StoreError;
use crate::model::*;

pub(crate) const PERSON_COLS: &str = "id, user_name, external_id, active, provisioned_by, resource, tokens_not_before, created, updated";
pub(crate) const GROUP_COLS: &str = "id, display_name, external_id, created, updated";
pub(crate) const SESSION_COLS: &str = "id, person_id, secret_hash, created, expires, ended";
pub(crate) const LOGIN_COLS: &str = "state_hash, nonce, verifier_sealed, created, expires";
pub(crate) const APP_COLS: &str = "id, name, sign_in_url, connector_type, connector_url, connector_secret_sealed, created, updated";
pub(crate) const ACCOUNT_COLS: &str = "id, app_id, username, password_sealed, candidate_sealed, policy, status, rotated_at, rotation_error, created, updated";
pub(crate) const EVENT_COLS: &str = "id, published, event_type, actor_type, actor_id, actor_name, target_type, target_id, target_name, jti, outcome, reason, detail";
pub(crate) const JOB_COLS: &str =
    "id, kind, subject, payload, state, attempts, run_at, deadline, last_error, created";

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn json(what: &str, s: &str) -> Result<Value, StoreError> {
    serde_json::from_str(s).map_err(|e| corrupt(what, e))
}

#[derive(sqlx::FromRow)]
pub(crate) struct PersonRow {
    id: String,
    user_name: String,
    external_id: Option<String>,
    active: i64,
    provisioned_by: String,
    resource: String,
    tokens_not_before: Option<i64>,
    created: i64,
    updated: i64,
}

impl TryFrom<PersonRow> for Person {
    type Error = StoreError;
    fn try_from(r: PersonRow) -> Result<Self, StoreError> {
        Ok(Person {
            provisioned_by: Provisioning::parse(&r.provisioned_by)
                .ok_or_else(|| corrupt("person.provisioned_by", &r.provisioned_by))?,
            attributes: json("person.resource", &r.resource)?,
            id: r.id,
            user_name: r.user_name,
            external_id: r.external_id,
            active: r.active != 0,
            tokens_not_before: r.tokens_not_before.map(from_millis),
            created: from_millis(r.created),
            updated: from_millis(r.updated),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct GroupRow {
    id: String,
    display_name: String,
    external_id: Option<String>,
    created: i64,
    updated: i64,
}

impl From<GroupRow> for Group {
    fn from(r: GroupRow) -> Self {
        Group {
            id: r.id,
            display_name: r.display_name,
            external_id: r.external_id,
            created: from_millis(r.created),
            updated: from_millis(r.updated),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    id: String,
    person_id: String,
    secret_hash: String,
    created: i64,
    expires: i64,
    ended: Option<i64>,
}

impl From<SessionRow> for Session {
    fn from(r: SessionRow) -> Self {
        Session {
            id: r.id,
            person_id: r.person_id,
            secret_hash: r.secret_hash,
            created: from_millis(r.created),
            expires: from_millis(r.expires),
            ended: r.ended.map(from_millis),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct LoginRow {
    state_hash: String,
    nonce: String,
    verifier_sealed: String,
    created: i64,
    expires: i64,
}

impl From<LoginRow> for OidcLogin {
    fn from(r: LoginRow) -> Self {
        OidcLogin {
            state_hash: r.state_hash,
            nonce: r.nonce,
            verifier_sealed: r.verifier_sealed,
            created: from_millis(r.created),
            expires: from_millis(r.expires),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AppRow {
    id: String,
    name: String,
    sign_in_url: String,
    connector_type: String,
    connector_url: String,
    connector_secret_sealed: String,
    created: i64,
    updated: i64,
}

impl From<AppRow> for ManagedApp {
    fn from(r: AppRow) -> Self {
        ManagedApp {
            id: r.id,
            name: r.name,
            sign_in_url: r.sign_in_url,
            connector_type: r.connector_type,
            connector_url: r.connector_url,
            connector_secret_sealed: r.connector_secret_sealed,
            created: from_millis(r.created),
            updated: from_millis(r.updated),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AccountRow {
    id: String,
    app_id: String,
    username: String,
    password_sealed: String,
    candidate_sealed: Option<String>,
    policy: String,
    status: String,
    rotated_at: Option<i64>,
    rotation_error: Option<String>,
    created: i64,
    updated: i64,
}

impl TryFrom<AccountRow> for Account {
    type Error = StoreError;
    fn try_from(r: AccountRow) -> Result<Self, StoreError> {
        Ok(Account {
            policy: serde_json::from_str(&r.policy).map_err(|e| corrupt("account.policy", e))?,
            status: AccountStatus::parse(&r.status)
                .ok_or_else(|| corrupt("account.status", &r.status))?,
            id: r.id,
            app_id: r.app_id,
            username: r.username,
            password_sealed: r.password_sealed,
            candidate_sealed: r.candidate_sealed,
            rotated_at: r.rotated_at.map(from_millis),
            rotation_error: r.rotation_error,
            created: from_millis(r.created),
            updated: from_millis(r.updated),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    id: String,
    published: i64,
    event_type: String,
    actor_type: String,
    actor_id: String,
    actor_name: String,
    target_type: Option<String>,
    target_id: Option<String>,
    target_name: Option<String>,
    jti: Option<String>,
    outcome: String,
    reason: Option<String>,
    detail: String,
}

impl TryFrom<EventRow> for AuditEvent {
    type Error = StoreError;
    fn try_from(r: EventRow) -> Result<Self, StoreError> {
        let target = match (r.target_type, r.target_id) {
            (Some(kind), Some(id)) => Some(AuditTarget {
                kind,
                id,
                display_name: r.target_name.unwrap_or_default(),
            }),
            _ => None,
        };
        Ok(AuditEvent {
            detail: json("audit_event.detail", &r.detail)?,
            id: r.id,
            published: from_millis(r.published),
            event_type: r.event_type,
            actor: Actor {
                kind: r.actor_type,
                id: r.actor_id,
                display_name: r.actor_name,
            },
            target,
            jti: r.jti,
            outcome: r.outcome,
            reason: r.reason,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct JobRow {
    id: String,
    kind: String,
    subject: String,
    payload: String,
    state: String,
    attempts: i64,
    run_at: i64,
    deadline: i64,
    last_error: Option<String>,
    created: i64,
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;
    fn try_from(r: JobRow) -> Result<Self, StoreError> {
        Ok(Job {
            payload: json("job.payload", &r.payload)?,
            state: JobState::parse(&r.state).ok_or_else(|| corrupt("job.state", &r.state))?,
            id: r.id,
            kind: r.kind,
            subject: r.subject,
            attempts: r.attempts,
            run_at: from_millis(r.run_at),
            deadline: from_millis(r.deadline),
            last_error: r.last_error,
            created: from_millis(r.created),
        })
    }
}

/// Converts rows, failing on the first that cannot be read.
pub(crate) fn all<R, T: TryFrom<R, Error = StoreError>>(
    rows: Vec<R>,
) -> Result<Vec<T>, StoreError> {
    rows.into_iter().map(T::try_from).collect()
}
