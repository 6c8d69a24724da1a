//! What a logout is asked to do: its scope, reason and deadlines.

use serde::{Deserialize, Serialize};

use crate::ids::AppId;
use crate::user::str_enum;

/// How long a Universal Logout keeps waiting on each kind of target before it is FAILED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// An app delivery is retried until then (`ULO_LOGOUT_DEADLINE_SECONDS`).
    pub delivery: time::Duration,
    /// A device's SIGN_OUT command waits this long for its acknowledgement
    /// (`ULO_DEVICE_COMMAND_TTL_SECONDS`).
    pub device_command: time::Duration,
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            delivery: time::Duration::days(1),
            device_command: time::Duration::days(1),
        }
    }
}

/// The job kind of one app delivery.
pub const DELIVER_JOB: &str = "logout.deliver";

/// Default reasons, by what started the logout.
pub mod reason {
    /// An admin cleared the user's sessions with apps included.
    pub const ADMIN: &str = "ADMIN";
    /// An API call without a stated reason.
    pub const API: &str = "API";
    /// Deactivation, suspension, deletion or an admin password reset.
    pub const LIFECYCLE: &str = "LIFECYCLE";
    /// An upstream identity provider or tool called ulo's Global Token Revocation endpoint.
    pub const UPSTREAM: &str = "UPSTREAM";
}

/// Which apps a logout reaches besides ulo itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LogoutScope {
    /// ulo's sessions and tokens only.
    UloOnly,
    /// ulo and every logout-enabled app assigned to the user.
    AllApps,
    /// ulo and the apps named in the request.
    SpecifiedApps,
    /// The user's enrolled devices only (Device Logout's *Log Out All Devices*).
    Devices,
    /// Single logout: ulo sessions ended (signed out, expired, ended by an admin…) and the
    /// back-channel apps they signed in to. Made by ulo, never asked for.
    SessionEnd,
}
str_enum!(LogoutScope { UloOnly => "ULO_ONLY", AllApps => "ALL_APPS", SpecifiedApps => "SPECIFIED_APPS", Devices => "DEVICES", SessionEnd => "SESSION_END" });

/// What a logout must end.
#[derive(Debug, Clone, PartialEq)]
pub struct LogoutRequest {
    /// Which apps.
    pub scope: LogoutScope,
    /// The apps, with [`LogoutScope::SpecifiedApps`].
    pub app_ids: Vec<AppId>,
    /// Revoke the user's OAuth refresh and access tokens.
    pub oauth_tokens: bool,
    /// Revoke the user's admin API tokens.
    pub api_tokens: bool,
    /// Why (free text, or one of [`reason`]).
    pub reason: String,
    /// What ended sessions record as their end reason (see [`crate::signin::end_reason`]).
    pub session_end_reason: &'static str,
}

impl LogoutRequest {
    /// Everything: ulo, OAuth and API tokens, every logout-enabled app.
    pub fn everything(reason: &str) -> Self {
        LogoutRequest {
            scope: LogoutScope::AllApps,
            app_ids: Vec::new(),
            oauth_tokens: true,
            api_tokens: true,
            reason: reason.to_string(),
            session_end_reason: if reason == self::reason::LIFECYCLE {
                crate::signin::end_reason::LIFECYCLE
            } else {
                crate::signin::end_reason::UNIVERSAL_LOGOUT
            },
        }
    }
}
