//! Sign-in sessions: what a ulo cookie stands for, with the context it began in.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::clock::serde_rfc3339;
use crate::ids::{SessionId, UserId};

/// How long a session lives without use.
pub const IDLE_TIMEOUT: Duration = Duration::hours(2);
/// How long a session lives at most.
pub const MAX_LIFETIME: Duration = Duration::hours(12);

/// A ulo sign-in session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// Id (the `sid` claim).
    pub id: SessionId,
    /// Whose.
    pub user_id: UserId,
    /// When the user authenticated.
    #[serde(with = "serde_rfc3339")]
    pub created: OffsetDateTime,
    /// Last request that used it.
    #[serde(with = "serde_rfc3339")]
    pub last_used: OffsetDateTime,
    /// Absolute end.
    #[serde(with = "serde_rfc3339")]
    pub expires: OffsetDateTime,
    /// IP it began from.
    pub ip_address: Option<String>,
    /// User agent it began with.
    pub user_agent: Option<String>,
    /// Authentication methods (`pwd`, `otp`).
    pub amr: Vec<String>,
    /// When it ended, if it did.
    #[serde(with = "serde_rfc3339::option")]
    pub ended: Option<OffsetDateTime>,
    /// Why it ended (`LOGOUT`, `ADMIN_CLEAR`, `LIFECYCLE`…).
    pub end_reason: Option<String>,
    /// SHA-256 hex of the cookie secret.
    #[serde(skip)]
    pub secret_hash: String,
}

impl Session {
    /// Whether the session may still be used at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.ended.is_none() && now < self.expires && now < self.last_used + IDLE_TIMEOUT
    }
}

/// Access and refresh tokens of one user at one app, for the sessions API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantSummary {
    /// The app.
    pub app_id: crate::ids::AppId,
    /// Live refresh tokens.
    pub refresh_tokens: i64,
    /// Live access tokens.
    pub access_tokens: i64,
}
