//! Sessions, factors, sign-in forms and the System Log.

use utoipa::ToSchema;

#[allow(unused_imports)]
use super::*;

#[derive(ToSchema)]
pub enum SessionStatus {
    #[serde(rename = "ACTIVE")]
    Active,
}

#[derive(ToSchema)]
pub enum SessionAmrItem {
    #[serde(rename = "pwd")]
    Pwd,
    #[serde(rename = "otp")]
    Otp,
}

/// A live ulo session (never its cookie).
#[derive(ToSchema)]
pub struct Session {
    /// The session id (sid).
    #[schema(format = "uuid", required = false)]
    pub id: String,
    #[serde(rename = "userId")]
    #[schema(format = "uuid", required = false)]
    pub user_id: String,
    #[schema(inline, required = false)]
    pub status: SessionStatus,
    /// When the user signed in.
    #[serde(rename = "createdAt")]
    #[schema(format = "date-time", required = false)]
    pub created_at: String,
    /// Last request with it (minute precision).
    #[serde(rename = "lastUsed")]
    #[schema(format = "date-time", required = false)]
    pub last_used: String,
    /// Absolute end (12 hours after sign-in).
    #[serde(rename = "expiresAt")]
    #[schema(format = "date-time", required = false)]
    pub expires_at: String,
    /// When it ends unless used (2 hours idle).
    #[serde(rename = "idleExpiresAt")]
    #[schema(format = "date-time", required = false)]
    pub idle_expires_at: String,
    /// The IP it began from.
    #[serde(rename = "ipAddress")]
    pub ip_address: Option<String>,
    /// The user agent it began with.
    #[serde(rename = "userAgent")]
    pub user_agent: Option<String>,
    /// How the user authenticated.
    #[schema(inline, required = false)]
    pub amr: Vec<SessionAmrItem>,
}

/// Live OAuth tokens of the user at one app.
#[derive(ToSchema)]
pub struct TokenGrant {
    #[serde(rename = "appId")]
    #[schema(format = "uuid", required = false)]
    pub app_id: String,
    /// The app's label.
    pub label: Option<String>,
    /// Live refresh tokens.
    #[serde(rename = "refreshTokens")]
    #[schema(required = false)]
    pub refresh_tokens: i64,
    /// Live access tokens.
    #[serde(rename = "accessTokens")]
    #[schema(required = false)]
    pub access_tokens: i64,
}

#[derive(ToSchema)]
pub struct UserSessions {
    #[serde(rename = "userId")]
    #[schema(format = "uuid", required = false)]
    pub user_id: String,
    #[schema(required = false)]
    pub sessions: Vec<Session>,
    #[schema(required = false)]
    pub grants: Vec<TokenGrant>,
}

#[derive(ToSchema)]
pub enum TotpFactorFactorType {
    #[serde(rename = "token:software:totp")]
    TokenSoftwareTotp,
}

#[derive(ToSchema)]
pub enum TotpFactorProvider {
    #[serde(rename = "ULO")]
    Ulo,
}

#[derive(ToSchema)]
pub enum TotpFactorStatus {
    #[serde(rename = "NOT_SETUP")]
    NotSetup,
    #[serde(rename = "PENDING_ACTIVATION")]
    PendingActivation,
    #[serde(rename = "ACTIVE")]
    Active,
}

/// A user's TOTP factor; the secret and URI only in the enroll answer.
#[derive(ToSchema)]
pub struct TotpFactor {
    #[serde(rename = "factorType")]
    #[schema(inline, required = false)]
    pub factor_type: TotpFactorFactorType,
    #[schema(inline, required = false)]
    pub provider: TotpFactorProvider,
    #[serde(rename = "userId")]
    #[schema(format = "uuid", required = false)]
    pub user_id: String,
    #[schema(inline, required = false)]
    pub status: TotpFactorStatus,
    #[schema(format = "date-time")]
    pub activated: Option<String>,
    /// Base32 secret, on enroll only (stored sealed, never shown again).
    #[schema(required = false)]
    pub secret: String,
    /// otpauth://totp/… for authenticator apps, on enroll only.
    #[serde(rename = "otpauthUri")]
    #[schema(required = false)]
    pub otpauth_uri: String,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyFactorRequest {
    /// The current 6-digit code (±1 step of skew; a code is accepted once).
    #[serde(rename = "passCode")]
    pub pass_code: String,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequestPassword {
    /// At least 8 characters, at most 256 bytes.
    #[schema(pattern = "^[^\\u0000]*$", min_length = 8)]
    pub value: String,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    #[schema(inline)]
    pub password: ResetPasswordRequestPassword,
}

/// The sign-in form: username and password, then (when the user has TOTP) pending and totp.
#[derive(ToSchema)]
pub struct LoginForm {
    #[schema(required = false)]
    pub username: String,
    #[schema(required = false)]
    pub password: String,
    /// The 6-digit code; may be sent with the password at once.
    #[schema(required = false)]
    pub totp: String,
    /// The signed, 5-minute token the code page carries after a correct password.
    #[schema(required = false)]
    pub pending: String,
    /// Where to go after sign-in: a path on this server; anything else is ignored.
    #[schema(required = false)]
    pub return_to: String,
    /// The token the form carries, bound to the browser's ulo_csrf cookie; required.
    #[schema(required = false)]
    pub csrf: String,
}

#[derive(ToSchema)]
pub struct TotpForm {
    #[serde(rename = "passCode")]
    #[schema(required = false)]
    pub pass_code: String,
    /// The token the page's form carries, bound to the session cookie; required.
    #[schema(required = false)]
    pub csrf: String,
}

/// The *This wasn't me* form of the account page.
#[derive(ToSchema)]
pub struct SignInReportForm {
    /// The id of the sign-in's `user.session.start` System Log event.
    #[serde(rename = "signIn")]
    #[schema(required = false)]
    pub sign_in: String,
    /// The token the page's form carries, bound to the session cookie; required.
    #[schema(required = false)]
    pub csrf: String,
}

#[derive(ToSchema)]
pub enum LogEventSeverity {
    #[serde(rename = "DEBUG")]
    Debug,
    #[serde(rename = "INFO")]
    Info,
    #[serde(rename = "WARN")]
    Warn,
    #[serde(rename = "ERROR")]
    Error,
}

#[derive(ToSchema)]
pub struct LogEventActor {
    /// Id of the user, or system.
    pub id: String,
    /// User, SystemPrincipal, ...
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(rename = "alternateId")]
    pub alternate_id: String,
    #[serde(rename = "displayName")]
    pub display_name: String,
}

#[derive(ToSchema)]
pub struct LogEventClientUserAgent {
    #[serde(rename = "rawUserAgent")]
    pub raw_user_agent: String,
}

#[derive(ToSchema)]
pub struct LogEventClient {
    #[serde(rename = "ipAddress")]
    #[schema(required = true)]
    pub ip_address: Option<String>,
    #[serde(rename = "userAgent")]
    #[schema(inline, required = true)]
    pub user_agent: Option<LogEventClientUserAgent>,
    /// The ulo client the action came through, when not the API: `ulo-admin-console` for the
    /// admin console.
    pub id: Option<String>,
}

#[derive(ToSchema)]
pub struct LogEventOutcome {
    /// SUCCESS, FAILURE, SKIPPED, ALLOW, DENY, CHALLENGE or UNKNOWN.
    pub result: String,
    #[schema(required = true)]
    pub reason: Option<String>,
}

#[derive(ToSchema)]
pub struct LogEventTargetItem {
    pub id: String,
    /// User, UserGroup, AppInstance, ApiToken, ...
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(rename = "alternateId")]
    pub alternate_id: String,
    #[serde(rename = "displayName")]
    pub display_name: String,
}

#[derive(ToSchema)]
pub struct LogEventTransaction {
    /// Shared by every event of one action.
    pub id: String,
    /// WEB for API calls, JOB for background work.
    #[serde(rename = "type")]
    pub type_: String,
}

#[derive(ToSchema)]
pub struct LogEventDebugContext {
    #[serde(rename = "debugData")]
    pub debug_data: serde_json::Map<String, serde_json::Value>,
}

/// One System Log event (Okta-shaped).
#[derive(ToSchema)]
pub struct LogEvent {
    #[schema(format = "uuid")]
    pub uuid: String,
    /// RFC 3339 UTC timestamp with milliseconds, e.g. 2026-01-31T12:00:00.000Z.
    #[schema(format = "date-time")]
    pub published: String,
    /// Dotted type, e.g. user.lifecycle.create.
    #[serde(rename = "eventType")]
    pub event_type: String,
    pub version: String,
    #[schema(inline)]
    pub severity: LogEventSeverity,
    #[serde(rename = "displayMessage")]
    pub display_message: String,
    #[schema(inline)]
    pub actor: LogEventActor,
    #[schema(inline)]
    pub client: LogEventClient,
    #[schema(inline)]
    pub outcome: LogEventOutcome,
    #[schema(inline)]
    pub target: Vec<LogEventTargetItem>,
    #[schema(inline)]
    pub transaction: LogEventTransaction,
    #[serde(rename = "debugContext")]
    #[schema(inline)]
    pub debug_context: LogEventDebugContext,
}

#[derive(ToSchema)]
pub enum QueryLogsSortOrder {
    #[serde(rename = "ASCENDING")]
    Ascending,
    #[serde(rename = "DESCENDING")]
    Descending,
}
