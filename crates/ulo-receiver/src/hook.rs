//! The app's side: who is logged out, and the hook that does it.

/// The user a Universal Logout request is about (RFC 9493 subject identifier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// Format `email`.
    Email {
        /// The user's email address.
        email: String,
    },
    /// Format `iss_sub`: `sub` is the user's id in this app as linked by SCIM.
    IssSub {
        /// The issuer (ulo).
        iss: String,
        /// The user's id in this app.
        sub: String,
    },
}

/// What the app's logout hook reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookOutcome {
    /// The user's sessions and tokens were ended (or ending began): 204.
    Done,
    /// The app does not know this user: 404.
    UnknownUser,
    /// The app could not log the user out: 422 with this description.
    Failed(String),
}

/// A verified Universal Logout request: who is logged out, and the token's `jti` (unique per
/// request, so an app can correlate what it does with ulo's delivery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutRequest {
    /// The user.
    pub subject: Subject,
    /// The request token's `jti`.
    pub jti: String,
}

/// Who an OIDC Back-Channel Logout token is about: at least one of the two is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackchannelLogout {
    /// The `sub` claim: the user's subject identifier at ulo.
    pub sub: Option<String>,
    /// The `sid` claim: the ulo session whose app sessions end.
    pub sid: Option<String>,
}

/// The app's side of Universal Logout: end every session and token of `subject`.
#[async_trait::async_trait]
pub trait LogoutHook: Send + Sync {
    /// Logs `subject` out of the app and reports the outcome.
    async fn logout(&self, subject: &Subject) -> HookOutcome;

    /// Handles a verified Universal Logout request. The default calls [`LogoutHook::logout`]
    /// with its subject; override it to see the request's `jti` too.
    async fn logout_request(&self, request: &LogoutRequest) -> HookOutcome {
        self.logout(&request.subject).await
    }

    /// Handles a verified OIDC Back-Channel Logout token: ends the sessions of
    /// `logout.sub` (all of them) or of `logout.sid` (that ulo session), as the app can.
    ///
    /// [`HookOutcome::Done`] and [`HookOutcome::UnknownUser`] are answered 200,
    /// [`HookOutcome::Failed`] 400. The default refuses, for apps that only use
    /// Universal Logout.
    async fn backchannel_logout(&self, logout: &BackchannelLogout) -> HookOutcome {
        let _ = logout;
        HookOutcome::Failed("this app does not implement back-channel logout".into())
    }
}
