//! Universal Logout: one action that ends a user's access in ulo (sessions, OAuth tokens, API
//! tokens) and in every logout-enabled app, with a receipt that proves what each target answered.
//!
//! Starting a logout ends the local targets and enqueues one durable delivery job per app in the
//! same transaction; each delivery attempt is recorded back into the receipt (and the System Log)
//! in the transaction that finishes the job, so the receipt is never behind what the apps saw.
//!
//! [`single`] is the same machinery for the end of one session: its back-channel apps are told
//! through a receipt of scope `SESSION_END`.

mod api_tokens;
pub(crate) mod deliver;
pub mod single;
mod start;
pub mod upstream;

pub use deliver::{
    Delivery, DeliveryOutcome, DeliverySubject, gtr_jti, record_deliveries, record_delivery,
};
pub use single::{
    SessionEnd, SessionsEnded, SingleLogout, end_sessions_in, sweep_expired_sessions,
};
pub use start::{get_logout, list_logouts, parse_app_ids, preview, start, start_in};

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

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::app::LogoutProtocol;
use crate::clock::serde_rfc3339;
use crate::ids::{AppId, JobId, LogoutId, UserId};
use crate::log::Actor;
use crate::user::str_enum;

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

/// Where a logout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LogoutStatus {
    /// Some target has not answered for good yet.
    InProgress,
    /// Every target succeeded or was skipped.
    Completed,
    /// Every target answered, and at least one failed.
    CompletedWithFailures,
}
str_enum!(LogoutStatus { InProgress => "IN_PROGRESS", Completed => "COMPLETED", CompletedWithFailures => "COMPLETED_WITH_FAILURES" });

/// What a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TargetType {
    /// ulo's own sign-in sessions.
    UloSessions,
    /// OAuth refresh and access tokens ulo issued.
    OauthTokens,
    /// The user's admin API tokens.
    ApiTokens,
    /// A logout-enabled app.
    App,
    /// An enrolled device, signed out by a SIGN_OUT command.
    Device,
}

/// Where one target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TargetStatus {
    /// Not attempted yet.
    Pending,
    /// An attempt failed in a way worth retrying; another is scheduled.
    Retrying,
    /// Done.
    Succeeded,
    /// Failed for good (permanent error or deadline).
    Failed,
    /// Not attempted, and why is in `reason`.
    Skipped,
}

impl TargetStatus {
    /// Whether the target has answered for good.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Skipped)
    }
}

/// One target of a logout and what it answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogoutTarget {
    /// What it is.
    #[serde(rename = "type")]
    pub target_type: TargetType,
    /// The app id (apps only).
    pub id: Option<String>,
    /// What to show.
    pub display_name: String,
    /// The logout protocol (apps only).
    pub protocol: Option<LogoutProtocol>,
    /// Where it is.
    pub status: TargetStatus,
    /// Why it is reached (e.g. "assigned through group Sales") or why it was skipped.
    pub reason: String,
    /// How many sessions or tokens were ended (local targets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    /// Attempts made.
    pub attempts: i64,
    /// HTTP status of the last attempt.
    pub last_http_status: Option<u16>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the target answered for good.
    #[serde(with = "serde_rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    /// The delivery job (apps only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<JobId>,
    /// The SIGN_OUT command (devices only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_id: Option<crate::ids::DeviceCommandId>,
}

impl LogoutTarget {
    pub(crate) fn local(target_type: TargetType, display_name: &str, reason: &str) -> Self {
        LogoutTarget {
            target_type,
            id: None,
            display_name: display_name.into(),
            protocol: None,
            status: TargetStatus::Pending,
            reason: reason.into(),
            count: None,
            attempts: 0,
            last_http_status: None,
            last_error: None,
            completed_at: None,
            delivery_id: None,
            command_id: None,
        }
    }

    pub(crate) fn skipped(mut self, why: impl Into<String>) -> Self {
        self.status = TargetStatus::Skipped;
        self.reason = why.into();
        self
    }
}

/// One Universal Logout of one user: the receipt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Logout {
    /// Id.
    pub id: LogoutId,
    /// The user logged out.
    pub user_id: UserId,
    /// Their login when the logout started.
    pub user_login: String,
    /// Why.
    pub reason: String,
    /// Which apps were asked for.
    pub scope: LogoutScope,
    /// Where it is.
    pub status: LogoutStatus,
    /// When it started.
    #[serde(with = "serde_rfc3339")]
    pub created: OffsetDateTime,
    /// When every target had answered for good.
    #[serde(with = "serde_rfc3339::option")]
    pub completed: Option<OffsetDateTime>,
    /// Shared by every System Log event of this logout.
    pub transaction_id: String,
    /// Who started it.
    pub initiated_by: Actor,
    /// One per target, in the order they were planned.
    pub targets: Vec<LogoutTarget>,
}

impl Logout {
    /// Recomputes the status from the targets; `now` stamps completion.
    pub fn settle(&mut self, now: OffsetDateTime) {
        if self.targets.iter().all(|t| t.status.is_final()) {
            let failed = self
                .targets
                .iter()
                .any(|t| t.status == TargetStatus::Failed);
            self.status = if failed {
                LogoutStatus::CompletedWithFailures
            } else {
                LogoutStatus::Completed
            };
            if self.completed.is_none() {
                self.completed = Some(now);
            }
        } else {
            self.status = LogoutStatus::InProgress;
            self.completed = None;
        }
    }

    /// Whether every target has answered for good.
    pub fn is_final(&self) -> bool {
        self.status != LogoutStatus::InProgress
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logout(statuses: &[TargetStatus]) -> Logout {
        Logout {
            id: LogoutId::new(),
            user_id: UserId::new(),
            user_login: "a@example.com".into(),
            reason: reason::API.into(),
            scope: LogoutScope::AllApps,
            status: LogoutStatus::InProgress,
            created: OffsetDateTime::UNIX_EPOCH,
            completed: None,
            transaction_id: "t".into(),
            initiated_by: Actor::system(),
            targets: statuses
                .iter()
                .map(|s| {
                    let mut t = LogoutTarget::local(TargetType::App, "x", "");
                    t.status = *s;
                    t
                })
                .collect(),
        }
    }

    #[test]
    fn settles_from_targets() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(5);
        let mut l = logout(&[TargetStatus::Succeeded, TargetStatus::Retrying]);
        l.settle(now);
        assert_eq!(l.status, LogoutStatus::InProgress);
        assert_eq!(l.completed, None);
        let mut l = logout(&[TargetStatus::Succeeded, TargetStatus::Skipped]);
        l.settle(now);
        assert_eq!(l.status, LogoutStatus::Completed);
        assert_eq!(l.completed, Some(now));
        let mut l = logout(&[TargetStatus::Failed, TargetStatus::Succeeded]);
        l.settle(now);
        assert_eq!(l.status, LogoutStatus::CompletedWithFailures);
        let mut l = logout(&[]);
        l.settle(now);
        assert_eq!(l.status, LogoutStatus::Completed);
    }
}
