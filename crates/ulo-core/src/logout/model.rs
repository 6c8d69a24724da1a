//! What a logout is asked to do: its scope, reason and deadlines.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
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
    /// A rule of the Entity Risk Policy (the receipt's reason names the rule after it).
    pub const POLICY: &str = "POLICY";
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
///
/// Made valid or not at all: [`LogoutRequest::new`] checks what a caller asks for once, at the
/// entry, and everything after trusts it.
pub struct LogoutRequest {
    /// Which apps.
    pub(crate) scope: LogoutScope,
    /// The apps, with [`LogoutScope::SpecifiedApps`].
    pub(crate) app_ids: Vec<AppId>,
    /// Revoke the user's OAuth refresh and access tokens.
    pub(crate) oauth_tokens: bool,
    /// Revoke the user's admin API tokens.
    pub(crate) api_tokens: bool,
    /// Why (free text, or one of [`reason`]).
    pub(crate) reason: String,
    /// What ended sessions record as their end reason (see [`crate::signin::end_reason`]).
    pub(crate) session_end_reason: &'static str,
}

impl LogoutRequest {
    /// What an admin or an API caller asks for: the app ids (as given) must parse, name apps
    /// only with SPECIFIED_APPS (at least one, at most 1,000), the scope must be one a caller
    /// may ask for, and the reason 1 to 256 characters.
    pub fn new(
        scope: LogoutScope,
        app_ids: &[String],
        oauth_tokens: bool,
        api_tokens: bool,
        reason: String,
    ) -> Result<Self, DomainError> {
        let request = LogoutRequest {
            scope,
            app_ids: parse_app_ids(app_ids)?,
            oauth_tokens,
            api_tokens,
            reason,
            session_end_reason: crate::signin::end_reason::UNIVERSAL_LOGOUT,
        };
        validate(&request)?;
        Ok(request)
    }

    /// What an Entity Risk Policy rule's TERMINATE_ALL_SESSIONS asks for: ulo's sessions and
    /// OAuth tokens, and the apps of `scope` (`app_ids` with SPECIFIED_APPS); never API tokens.
    pub(crate) fn policy(scope: LogoutScope, app_ids: Vec<AppId>, reason: String) -> Self {
        LogoutRequest {
            scope,
            app_ids,
            oauth_tokens: true,
            api_tokens: false,
            reason,
            session_end_reason: crate::signin::end_reason::UNIVERSAL_LOGOUT,
        }
    }

    /// The same request, revoking the user's OAuth tokens or not.
    pub fn with_oauth_tokens(mut self, oauth_tokens: bool) -> Self {
        self.oauth_tokens = oauth_tokens;
        self
    }

    /// Which apps it reaches.
    pub fn scope(&self) -> LogoutScope {
        self.scope
    }

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

/// What a logout's reason must be; Universal Logout and Device Logout both check it.
pub(crate) const REASON_RULE: &str = "reason: must be 1 to 256 characters";

/// Whether `reason` is 1 to 256 characters and not only white space.
pub(crate) fn reason_is_valid(reason: &str) -> bool {
    !reason.trim().is_empty() && reason.chars().count() <= 256
}

fn validate(request: &LogoutRequest) -> Result<(), DomainError> {
    let mut p = crate::error::Problems::default();
    p.check(!reason_is_valid(&request.reason), REASON_RULE);
    p.check(
        request.scope == LogoutScope::SpecifiedApps && request.app_ids.is_empty(),
        "appIds: SPECIFIED_APPS needs at least one app id",
    );
    p.check(
        request.scope == LogoutScope::SessionEnd,
        "scope: SESSION_END receipts are made by ulo when sessions end; use ULO_ONLY, ALL_APPS or SPECIFIED_APPS",
    );
    p.check(
        request.scope == LogoutScope::Devices,
        "scope: DEVICES is Device Logout: POST /api/v1/users/{id}/devices/logout",
    );
    p.check(
        request.scope != LogoutScope::SpecifiedApps && !request.app_ids.is_empty(),
        "appIds: only allowed with scope SPECIFIED_APPS",
    );
    p.check(
        request.app_ids.len() > 1000,
        "appIds: at most 1,000 apps per logout",
    );
    p.finish("The logout request is not valid")
}

/// The app ids a request names, parsed; unknown syntax is a validation error.
fn parse_app_ids(raw: &[String]) -> Result<Vec<AppId>, DomainError> {
    raw.iter()
        .map(|s| {
            s.parse().map_err(|_| {
                DomainError::invalid("appIds", format!("appIds: {s:?} is not an app id"))
            })
        })
        .collect()
}
