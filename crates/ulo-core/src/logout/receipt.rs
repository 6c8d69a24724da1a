//! The logout receipt: one Universal Logout of one user, with one target per place it reaches
//! and what each answered.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::app::LogoutProtocol;
use crate::clock::serde_rfc3339;
use crate::ids::{JobId, LogoutId, UserId};
use crate::log::Actor;
use crate::user::str_enum;

use super::LogoutScope;
use crate::context::Context;
use crate::user::User;

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
    /// A new receipt of `user`'s logout: started by `ctx`'s actor at `now`, sharing `ctx`'s
    /// transaction id with every event of the logout, its status settled from `targets`.
    pub fn new(
        id: LogoutId,
        user: &User,
        scope: LogoutScope,
        reason: String,
        ctx: &Context,
        now: OffsetDateTime,
        targets: Vec<LogoutTarget>,
    ) -> Logout {
        let mut logout = Logout {
            id,
            user_id: user.id,
            user_login: user.profile.login.clone(),
            reason,
            scope,
            status: LogoutStatus::InProgress,
            created: now,
            completed: None,
            transaction_id: ctx.transaction.id.clone(),
            initiated_by: ctx.actor.clone(),
            targets,
        };
        logout.settle(now);
        logout
    }

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
    use crate::logout::reason;

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
