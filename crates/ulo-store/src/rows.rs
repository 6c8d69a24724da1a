//! Row shapes shared by both backends, and their conversion to domain types.

use serde_json::Value;
use sqlx::types::Json;
use ulo_core::app::{App, AppSecrets};
use ulo_core::auth::{ApiToken, SigningKeyRecord};
use ulo_core::clock::from_millis;
use ulo_core::group::Group;
use ulo_core::job::Job;
use ulo_core::log::LogEvent;
use ulo_core::store::StoreError;
use ulo_core::user::User;

pub(crate) fn parse<T: std::str::FromStr>(what: &str, s: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    s.parse()
        .map_err(|e| StoreError::Corrupt(format!("{what} {s:?}: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, v: Value) -> Result<T, StoreError> {
    serde_json::from_value(v).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

pub(crate) const USER_COLS: &str = "u.id, u.status, u.provisioned_by, u.risk_level, u.profile, u.created, u.activated, u.status_changed, u.last_updated, u.password_changed, u.last_login";

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: String,
    status: String,
    provisioned_by: String,
    risk_level: String,
    profile: Json<Value>,
    created: i64,
    activated: Option<i64>,
    status_changed: Option<i64>,
    last_updated: i64,
    password_changed: Option<i64>,
    last_login: Option<i64>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        Ok(User {
            id: parse("user id", &r.id)?,
            status: parse("user status", &r.status)?,
            provisioned_by: parse("provisionedBy", &r.provisioned_by)?,
            risk_level: parse("risk level", &r.risk_level)?,
            created: from_millis(r.created),
            activated: r.activated.map(from_millis),
            status_changed: r.status_changed.map(from_millis),
            last_updated: from_millis(r.last_updated),
            password_changed: r.password_changed.map(from_millis),
            last_login: r.last_login.map(from_millis),
            profile: from_json("user profile", r.profile.0)?,
        })
    }
}

pub(crate) const GROUP_COLS: &str =
    "g.id, g.profile, g.created, g.last_updated, g.last_membership_updated";

#[derive(sqlx::FromRow)]
pub(crate) struct GroupRow {
    id: String,
    profile: Json<Value>,
    created: i64,
    last_updated: i64,
    last_membership_updated: i64,
}

impl TryFrom<GroupRow> for Group {
    type Error = StoreError;
    fn try_from(r: GroupRow) -> Result<Self, StoreError> {
        Ok(Group {
            id: parse("group id", &r.id)?,
            created: from_millis(r.created),
            last_updated: from_millis(r.last_updated),
            last_membership_updated: from_millis(r.last_membership_updated),
            profile: from_json("group profile", r.profile.0)?,
        })
    }
}

pub(crate) const APP_COLS: &str = "a.id, a.label, a.app_type, a.status, a.oidc, a.logout, a.provisioning, a.client_secret_hash, a.scim_token_sealed, a.created, a.last_updated";

#[derive(sqlx::FromRow)]
pub(crate) struct AppRow {
    id: String,
    label: String,
    app_type: String,
    status: String,
    oidc: Option<Json<Value>>,
    logout: Json<Value>,
    provisioning: Option<Json<Value>>,
    client_secret_hash: Option<String>,
    scim_token_sealed: Option<String>,
    created: i64,
    last_updated: i64,
}

impl TryFrom<AppRow> for App {
    type Error = StoreError;
    fn try_from(r: AppRow) -> Result<Self, StoreError> {
        Ok(App {
            id: parse("app id", &r.id)?,
            label: r.label,
            app_type: parse("app type", &r.app_type)?,
            status: parse("app status", &r.status)?,
            created: from_millis(r.created),
            last_updated: from_millis(r.last_updated),
            oidc: r.oidc.map(|j| from_json("app oidc", j.0)).transpose()?,
            logout: from_json("app logout", r.logout.0)?,
            provisioning: r
                .provisioning
                .map(|j| from_json("app provisioning", j.0))
                .transpose()?,
            secrets: AppSecrets {
                client_secret_hash: r.client_secret_hash,
                scim_token_sealed: r.scim_token_sealed,
            },
        })
    }
}

pub(crate) const TOKEN_COLS: &str =
    "id, user_id, name, token_prefix, token_hash, created, last_used, revoked, scopes";

/// An API token with its owner and the owner's admin roles (what authenticating a call needs).
pub(crate) const TOKEN_OWNER_COLS: &str = "t.id AS t_id, t.name AS t_name, t.token_prefix AS t_prefix, t.token_hash AS t_hash, t.created AS t_created, t.last_used AS t_last_used, t.scopes AS t_scopes";

#[derive(sqlx::FromRow)]
pub(crate) struct TokenOwnerRow {
    #[sqlx(flatten)]
    user: UserRow,
    t_id: String,
    t_name: String,
    t_prefix: String,
    t_hash: String,
    t_created: i64,
    t_last_used: Option<i64>,
    t_scopes: Option<String>,
    roles: Option<String>,
}

impl TryFrom<TokenOwnerRow> for (ApiToken, User, Vec<ulo_core::user::AdminRole>) {
    type Error = StoreError;
    fn try_from(r: TokenOwnerRow) -> Result<Self, StoreError> {
        let token = ApiToken::try_from(TokenRow {
            id: r.t_id,
            user_id: r.user.id.clone(),
            name: r.t_name,
            token_prefix: r.t_prefix,
            token_hash: r.t_hash,
            created: r.t_created,
            last_used: r.t_last_used,
            revoked: None,
            scopes: r.t_scopes,
        })?;
        let mut roles = r
            .roles
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().map_err(StoreError::Corrupt))
            .collect::<Result<Vec<ulo_core::user::AdminRole>, _>>()?;
        roles.sort_by_key(|r| r.as_str());
        Ok((token, User::try_from(r.user)?, roles))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    id: String,
    user_id: String,
    name: String,
    token_prefix: String,
    token_hash: String,
    created: i64,
    last_used: Option<i64>,
    revoked: Option<i64>,
    scopes: Option<String>,
}

impl TryFrom<TokenRow> for ApiToken {
    type Error = StoreError;
    fn try_from(r: TokenRow) -> Result<Self, StoreError> {
        Ok(ApiToken {
            id: parse("token id", &r.id)?,
            user_id: parse("user id", &r.user_id)?,
            name: r.name,
            token_prefix: r.token_prefix,
            created: from_millis(r.created),
            last_used: r.last_used.map(from_millis),
            revoked: r.revoked.map(from_millis),
            token_hash: r.token_hash,
            scopes: r
                .scopes
                .map(|s| {
                    serde_json::from_str(&s)
                        .map_err(|e| StoreError::Corrupt(format!("token scopes: {e}")))
                })
                .transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct KeyRow {
    kid: String,
    alg: String,
    state: String,
    private_sealed: String,
    public_jwk: Json<Value>,
    created: i64,
    state_changed: Option<i64>,
}

impl TryFrom<KeyRow> for SigningKeyRecord {
    type Error = StoreError;
    fn try_from(r: KeyRow) -> Result<Self, StoreError> {
        Ok(SigningKeyRecord {
            kid: r.kid,
            alg: r.alg,
            state: parse("key state", &r.state)?,
            private_sealed: r.private_sealed,
            public_jwk: r.public_jwk.0,
            created: from_millis(r.created),
            state_changed: r.state_changed.map(from_millis),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    data: Json<Value>,
}

impl TryFrom<EventRow> for LogEvent {
    type Error = StoreError;
    fn try_from(r: EventRow) -> Result<Self, StoreError> {
        from_json("log event", r.data.0)
    }
}

pub(crate) const JOB_COLS: &str = "id, kind, payload, state, attempts, run_at, deadline, lease_owner, lease_until, last_error, created, finished";

#[derive(sqlx::FromRow)]
pub(crate) struct JobRow {
    id: String,
    kind: String,
    payload: Json<Value>,
    state: String,
    attempts: i64,
    run_at: i64,
    deadline: i64,
    lease_owner: Option<String>,
    lease_until: Option<i64>,
    last_error: Option<String>,
    created: i64,
    finished: Option<i64>,
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;
    fn try_from(r: JobRow) -> Result<Self, StoreError> {
        Ok(Job {
            id: parse("job id", &r.id)?,
            kind: r.kind,
            payload: r.payload.0,
            state: parse("job state", &r.state)?,
            attempts: r.attempts,
            run_at: from_millis(r.run_at),
            deadline: from_millis(r.deadline),
            lease_owner: r.lease_owner,
            lease_until: r.lease_until.map(from_millis),
            last_error: r.last_error,
            created: from_millis(r.created),
            finished: r.finished.map(from_millis),
        })
    }
}

/// Converts a vector of rows.
pub(crate) fn convert<R, T: TryFrom<R, Error = StoreError>>(
    rows: Vec<R>,
) -> Result<Vec<T>, StoreError> {
    rows.into_iter().map(T::try_from).collect()
}

/// The lower-cased text keyword search runs over.
pub(crate) fn event_search_text(e: &LogEvent) -> String {
    let mut s = format!(
        "{} {} {} {} {} {}",
        e.event_type,
        e.display_message,
        e.actor.id,
        e.actor.alternate_id,
        e.actor.display_name,
        e.outcome.result
    );
    if let Some(r) = &e.outcome.reason {
        s.push(' ');
        s.push_str(r);
    }
    for t in &e.target {
        s.push_str(&format!(" {} {} {}", t.id, t.alternate_id, t.display_name));
    }
    s.to_lowercase()
}

/// Maps a database error to the store's own error.
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    sql_err(ulo_sql::db_err(e))
}

/// The store's own error for a classified database error.
pub(crate) fn sql_err(e: ulo_sql::SqlError) -> StoreError {
    match e {
        ulo_sql::SqlError::Unique(m) => StoreError::Unique(m),
        ulo_sql::SqlError::Corrupt(m) => StoreError::Corrupt(m),
        ulo_sql::SqlError::Unavailable(m) => StoreError::Unavailable(m),
        ulo_sql::SqlError::Refused(m) => StoreError::BadQuery(m),
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct LinkRow {
    #[sqlx(flatten)]
    pub app: AppRow,
    pub via: String,
}

pub(crate) const SESSION_COLS: &str = "id, user_id, secret_hash, created, last_used, expires, ip_address, user_agent, amr, ended, end_reason";

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    id: String,
    user_id: String,
    secret_hash: String,
    created: i64,
    last_used: i64,
    expires: i64,
    ip_address: Option<String>,
    user_agent: Option<String>,
    amr: String,
    ended: Option<i64>,
    end_reason: Option<String>,
}

impl TryFrom<SessionRow> for ulo_core::session::Session {
    type Error = StoreError;
    fn try_from(r: SessionRow) -> Result<Self, StoreError> {
        Ok(ulo_core::session::Session {
            id: parse("session id", &r.id)?,
            user_id: parse("user id", &r.user_id)?,
            created: from_millis(r.created),
            last_used: from_millis(r.last_used),
            expires: from_millis(r.expires),
            ip_address: r.ip_address,
            user_agent: r.user_agent,
            amr: r.amr.split_whitespace().map(str::to_string).collect(),
            ended: r.ended.map(from_millis),
            end_reason: r.end_reason,
            secret_hash: r.secret_hash,
        })
    }
}

pub(crate) const CODE_COLS: &str = "code_hash, app_id, user_id, session_id, redirect_uri, scope, nonce, code_challenge, code_challenge_method, auth_time, created, expires, used, grant_id";

#[derive(sqlx::FromRow)]
pub(crate) struct CodeRow {
    code_hash: String,
    app_id: String,
    user_id: String,
    session_id: String,
    redirect_uri: String,
    scope: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    auth_time: i64,
    created: i64,
    expires: i64,
    used: Option<i64>,
    grant_id: String,
}

impl TryFrom<CodeRow> for ulo_core::oauth::AuthCode {
    type Error = StoreError;
    fn try_from(r: CodeRow) -> Result<Self, StoreError> {
        Ok(ulo_core::oauth::AuthCode {
            code_hash: r.code_hash,
            app_id: parse("app id", &r.app_id)?,
            user_id: parse("user id", &r.user_id)?,
            session_id: parse("session id", &r.session_id)?,
            redirect_uri: r.redirect_uri,
            scope: r.scope,
            nonce: r.nonce,
            code_challenge: r.code_challenge,
            code_challenge_method: r.code_challenge_method,
            auth_time: from_millis(r.auth_time),
            created: from_millis(r.created),
            expires: from_millis(r.expires),
            used: r.used.map(from_millis),
            grant_id: parse("grant id", &r.grant_id)?,
        })
    }
}

pub(crate) const REFRESH_COLS: &str = "id, grant_id, token_hash, app_id, user_id, session_id, scope, auth_time, created, expires, rotated, revoked";

#[derive(sqlx::FromRow)]
pub(crate) struct RefreshRow {
    id: String,
    grant_id: String,
    token_hash: String,
    app_id: String,
    user_id: String,
    session_id: Option<String>,
    scope: String,
    auth_time: i64,
    created: i64,
    expires: i64,
    rotated: Option<i64>,
    revoked: Option<i64>,
}

impl TryFrom<RefreshRow> for ulo_core::oauth::RefreshToken {
    type Error = StoreError;
    fn try_from(r: RefreshRow) -> Result<Self, StoreError> {
        Ok(ulo_core::oauth::RefreshToken {
            id: parse("refresh token id", &r.id)?,
            grant_id: parse("grant id", &r.grant_id)?,
            token_hash: r.token_hash,
            app_id: parse("app id", &r.app_id)?,
            user_id: parse("user id", &r.user_id)?,
            session_id: r.session_id.map(|s| parse("session id", &s)).transpose()?,
            scope: r.scope,
            auth_time: from_millis(r.auth_time),
            created: from_millis(r.created),
            expires: from_millis(r.expires),
            rotated: r.rotated.map(from_millis),
            revoked: r.revoked.map(from_millis),
        })
    }
}

pub(crate) const ACCESS_COLS: &str =
    "jti, app_id, user_id, grant_id, scope, created, expires, revoked";

#[derive(sqlx::FromRow)]
pub(crate) struct AccessRow {
    jti: String,
    app_id: String,
    user_id: Option<String>,
    grant_id: Option<String>,
    scope: String,
    created: i64,
    expires: i64,
    revoked: Option<i64>,
}

impl TryFrom<AccessRow> for ulo_core::oauth::AccessTokenRecord {
    type Error = StoreError;
    fn try_from(r: AccessRow) -> Result<Self, StoreError> {
        Ok(ulo_core::oauth::AccessTokenRecord {
            jti: r.jti,
            app_id: parse("app id", &r.app_id)?,
            user_id: r.user_id.map(|s| parse("user id", &s)).transpose()?,
            grant_id: r.grant_id.map(|s| parse("grant id", &s)).transpose()?,
            scope: r.scope,
            created: from_millis(r.created),
            expires: from_millis(r.expires),
            revoked: r.revoked.map(from_millis),
        })
    }
}

/// Live token counts per app, from a `(app_id, refresh, access)` query.
pub(crate) fn grant_summaries(
    rows: Vec<(String, i64, i64)>,
) -> Result<Vec<ulo_core::session::GrantSummary>, StoreError> {
    rows.into_iter()
        .map(|(app, refresh_tokens, access_tokens)| {
            Ok(ulo_core::session::GrantSummary {
                app_id: parse("app id", &app)?,
                refresh_tokens,
                access_tokens,
            })
        })
        .collect()
}

/// How an attempt ended, as the shared job-queue SQL takes it.
pub(crate) fn ending(result: &ulo_core::job::JobResult) -> ulo_sql::jobs::Ending<'_> {
    use ulo_core::job::JobResult;
    match result {
        JobResult::Done => ulo_sql::jobs::Ending::Done,
        JobResult::Retry { at, error } => ulo_sql::jobs::Ending::Retry {
            at: ulo_core::clock::to_millis(*at),
            error,
        },
        JobResult::Dead { error } => ulo_sql::jobs::Ending::Dead { error },
    }
}
