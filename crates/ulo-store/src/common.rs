//! Imports the `store_tx!` body needs, in one place for both backends.

pub(crate) use sqlx::AssertSqlSafe;
pub(crate) use sqlx::types::Json;
pub(crate) use time::OffsetDateTime;
pub(crate) use ulo_core::app::App;
pub(crate) use ulo_core::auth::{ApiToken, KeyState, SigningKeyRecord};
pub(crate) use ulo_core::clock::{from_millis, to_millis};
pub(crate) use ulo_core::group::Group;
pub(crate) use ulo_core::ids::{
    ApiTokenId, AppId, EventId, GrantId, GroupId, JobId, RefreshTokenId, SessionId, UserId,
};
pub(crate) use ulo_core::job::{Job, JobResult, Lease, NewJob};
pub(crate) use ulo_core::log::{EventQuery, LogEvent, SortOrder};
pub(crate) use ulo_core::oauth::{AccessTokenRecord, AuthCode, RefreshToken, SignInState};
pub(crate) use ulo_core::session::{GrantSummary, Session};
pub(crate) use ulo_core::store::{AppLink, JobCounts, Page, StoreError, UserQuery};
pub(crate) use ulo_core::user::{AdminRole, User};

pub(crate) use crate::filter_sql::SqlParam;
pub(crate) use crate::query::{Sql, UserFields, event_fields, json_text, like_escape};
pub(crate) use crate::rows::*;
pub(crate) use crate::tx::{bind_all, notify_sql, to_json};

/// Remembers a `jti` (`$1` namespace, `$2` jti, `$3` expires) unless it is remembered and
/// unexpired at `$4`: one row changed means first use. The primary key decides between
/// concurrent callers; an expired entry is overwritten, so remembering never needs a purge.
pub(crate) const REMEMBER_JTI_SQL: &str = "INSERT INTO seen_jtis (namespace, jti, expires) VALUES ($1,$2,$3) \
     ON CONFLICT (namespace, jti) DO UPDATE SET expires=excluded.expires WHERE seen_jtis.expires <= $4";

/// Forgets the `jti`s expired at `$1`.
pub(crate) const PURGE_JTIS_SQL: &str = "DELETE FROM seen_jtis WHERE expires <= $1";

/// Live refresh and access tokens of a user (`$1`) at time `$2`, counted per app.
pub(crate) const LIVE_GRANTS_SQL: &str = "SELECT app_id, SUM(r) AS refresh, SUM(a) AS access FROM (\
     SELECT app_id, 1 AS r, 0 AS a FROM refresh_tokens WHERE user_id=$1 AND revoked IS NULL AND rotated IS NULL AND expires > $2 \
     UNION ALL \
     SELECT app_id, 0 AS r, 1 AS a FROM access_tokens WHERE user_id=$1 AND revoked IS NULL AND expires > $2\
   ) t GROUP BY app_id ORDER BY app_id";

/// Spaces out the notifications a process sends other nodes' workers (PostgreSQL NOTIFY takes a
/// database-wide lock across commit, which would serialize every committing transaction): the
/// local worker is woken in-process at every commit anyway, and other nodes also poll, so one
/// notification per interval is enough to bring them in.
#[derive(Debug, Default)]
pub(crate) struct NotifyGate {
    last: std::sync::Mutex<Option<std::time::Instant>>,
}

impl NotifyGate {
    /// The shortest time between two notifications.
    const INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

    /// Whether to notify now (and, if so, counts it as sent).
    pub(crate) fn admit(&self) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let now = std::time::Instant::now();
        match *last {
            Some(t) if now.duration_since(t) < Self::INTERVAL => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }
}

/// What a store transaction runs its statements on: a real transaction, or (for reads) a plain
/// pooled connection. PostgreSQL's READ COMMITTED gives every statement its own snapshot even
/// inside a transaction, so BEGIN/ROLLBACK around reads bought nothing but two round trips per
/// read; SQLite's reads do the same, so that reads behave alike on both backends.
pub(crate) enum Conn<DB: sqlx::Database> {
    /// A transaction: changes land at commit, or not at all.
    Tx(sqlx::Transaction<'static, DB>),
    /// Autocommit, used only for reads.
    Plain(sqlx::pool::PoolConnection<DB>),
}

impl<DB: sqlx::Database> Conn<DB> {
    /// Commits a transaction; a plain connection has nothing to commit.
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Conn::Tx(tx) => tx.commit().await,
            Conn::Plain(_) => Ok(()),
        }
    }
}

impl<DB: sqlx::Database> std::ops::Deref for Conn<DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &Self::Target {
        match self {
            Conn::Tx(tx) => tx,
            Conn::Plain(c) => c,
        }
    }
}

impl<DB: sqlx::Database> std::ops::DerefMut for Conn<DB> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Conn::Tx(tx) => &mut *tx,
            Conn::Plain(c) => &mut *c,
        }
    }
}
