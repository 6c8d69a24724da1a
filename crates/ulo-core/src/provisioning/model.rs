//! Links between apps and people, what ulo wants each to be, and the push job's payload.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::app::{App, AppStatus};
use crate::ids::{AppId, UserId};
use crate::user::{User, UserStatus, str_enum};

/// The job kind that pushes one user to one app.
pub const PUSH_JOB: &str = "scim.push";
/// How long a push keeps being retried.
pub const PUSH_DEADLINE: Duration = Duration::hours(24);
/// The purpose an app's SCIM token is sealed for.
pub fn scim_token_purpose(app: AppId) -> String {
    format!("app-scim-token:{app}")
}

/// Where the user stands in the app's SCIM server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LinkState {
    /// A push is queued or being retried.
    Pending,
    /// The user exists and is active there, up to date.
    Synced,
    /// The user was deactivated there (or never needed creating).
    Deactivated,
    /// The last push failed for good.
    Error,
}
str_enum!(LinkState { Pending => "PENDING", Synced => "SYNCED", Deactivated => "DEACTIVATED", Error => "ERROR" });

/// What ulo wants the user to be in the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Desired {
    /// Present and active.
    Active,
    /// Deactivated (`active: false`), or absent.
    Inactive,
}
str_enum!(Desired { Active => "ACTIVE", Inactive => "INACTIVE" });

/// The link between a ulo user and their account in one app's SCIM server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppUserLink {
    /// The app.
    pub app_id: AppId,
    /// The ulo user.
    pub user_id: UserId,
    /// The id the app's SCIM server gave the user: the `sub` of `iss_sub` logout requests.
    pub remote_id: Option<String>,
    /// Last known state there.
    pub state: LinkState,
    /// What ulo wants.
    pub desired: Desired,
    /// Why the last push failed.
    pub last_error: Option<String>,
    /// HTTP status of the last push.
    pub last_status: Option<i64>,
    /// When a push last succeeded.
    #[serde(with = "crate::clock::serde_rfc3339::option")]
    pub last_synced: Option<OffsetDateTime>,
    /// Created.
    #[serde(with = "crate::clock::serde_rfc3339")]
    pub created: OffsetDateTime,
    /// Last changed.
    #[serde(with = "crate::clock::serde_rfc3339")]
    pub updated: OffsetDateTime,
}

/// What a `scim.push` job carries: only ids, so every attempt pushes the state current then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushPayload {
    /// The app.
    pub app_id: AppId,
    /// The user.
    pub user_id: UserId,
}

/// What ulo wants `user` to be in `app`, given whether the user reaches it.
pub fn desired_for(user: &User, app: &App, reaches: bool) -> Desired {
    if reaches
        && user.status == UserStatus::Active
        && app.status == AppStatus::Active
        && app.provisioning.is_some()
    {
        Desired::Active
    } else {
        Desired::Inactive
    }
}
