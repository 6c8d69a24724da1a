//! Universal Logout and Global Token Revocation.

use utoipa::ToSchema;

#[allow(unused_imports)]
use super::*;

/// Which apps a logout reaches besides ulo: none, every logout-enabled app assigned to the user (directly or through a group; desktop-mfa apps only when named), or the apps in appIds (assigned or not). DEVICES: Log Out All Devices (the person's enrolled devices only; not accepted by POST /users/{id}/logout). SESSION_END: single logout, made by ulo when sessions end (sign-out, RP-initiated logout, expiry, idle timeout, an admin ending or clearing them): the back-channel apps those sessions signed in to (and, with ULO_SINGLE_LOGOUT_ALL_APPS, the person's other logout-enabled apps); not accepted by POST /users/{id}/logout. Whatever the scope, a Universal Logout also tells the back-channel apps the sessions it ends signed in to (reason "signed in to during the ended session"), once each.
#[derive(ToSchema)]
pub enum LogoutScope {
    #[serde(rename = "ULO_ONLY")]
    UloOnly,
    #[serde(rename = "ALL_APPS")]
    AllApps,
    #[serde(rename = "SPECIFIED_APPS")]
    SpecifiedApps,
    #[serde(rename = "DEVICES")]
    Devices,
    #[serde(rename = "SESSION_END")]
    SessionEnd,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UniversalLogoutRequest {
    pub scope: LogoutScope,
    /// The apps, with scope SPECIFIED_APPS (at least one, at most 1,000); refused with any other scope. An unknown id answers 404, one not a UUID 400.
    #[serde(rename = "appIds")]
    #[schema(format = "uuid", max_items = 1000, required = false)]
    pub app_ids: Vec<String>,
    /// Also revoke the user's admin API tokens. The last working SUPER_ADMIN token (an unrestricted token of an ACTIVE super admin, when no other active super admin holds one) is kept: the API_TOKENS target is then FAILED with lastHttpStatus 409 and a lastError saying what to do.
    #[serde(rename = "apiTokens")]
    #[schema(default = json!(false), required = false)]
    pub api_tokens: bool,
    /// Also revoke the user's OAuth refresh and access tokens.
    #[serde(rename = "oauthTokens")]
    #[schema(default = json!(true), required = false)]
    pub oauth_tokens: bool,
    /// Why, kept in the receipt and the System Log: 1 to 256 characters.
    #[schema(pattern = "^[^\\u0000]*$", min_length = 1, max_length = 256, default = json!("API"), required = false)]
    pub reason: String,
    /// Answer the targets the logout would reach (200) and change nothing.
    #[serde(rename = "dryRun")]
    #[schema(default = json!(false), required = false)]
    pub dry_run: bool,
}

/// Who did it.
#[derive(ToSchema)]
pub struct Actor {
    /// Id of the user or identity provider, or system.
    pub id: String,
    /// User, SystemPrincipal, IdentityProvider, ...
    #[serde(rename = "type")]
    pub type_: String,
    /// Login, issuer or other readable id.
    #[serde(rename = "alternateId")]
    pub alternate_id: String,
    #[serde(rename = "displayName")]
    pub display_name: String,
}

/// IN_PROGRESS until every target has answered for good; then COMPLETED (each succeeded or was skipped) or COMPLETED_WITH_FAILURES (at least one failed).
#[derive(ToSchema)]
pub enum LogoutStatus {
    #[serde(rename = "IN_PROGRESS")]
    InProgress,
    #[serde(rename = "COMPLETED")]
    Completed,
    #[serde(rename = "COMPLETED_WITH_FAILURES")]
    CompletedWithFailures,
}

#[derive(ToSchema)]
pub enum LogoutTargetType {
    #[serde(rename = "ULO_SESSIONS")]
    UloSessions,
    #[serde(rename = "OAUTH_TOKENS")]
    OauthTokens,
    #[serde(rename = "API_TOKENS")]
    ApiTokens,
    #[serde(rename = "APP")]
    App,
    #[serde(rename = "DEVICE")]
    Device,
}

#[derive(ToSchema)]
pub enum LogoutTargetProtocol {
    #[serde(rename = "global-token-revocation")]
    GlobalTokenRevocation,
    #[serde(rename = "oidc-backchannel")]
    OidcBackchannel,
    #[serde(rename = "ssf")]
    Ssf,
}

#[derive(ToSchema)]
pub enum LogoutTargetStatus {
    #[serde(rename = "PENDING")]
    Pending,
    #[serde(rename = "RETRYING")]
    Retrying,
    #[serde(rename = "SUCCEEDED")]
    Succeeded,
    #[serde(rename = "FAILED")]
    Failed,
    #[serde(rename = "SKIPPED")]
    Skipped,
}

/// One target of a logout and what it answered.
#[derive(ToSchema)]
pub struct LogoutTarget {
    /// ulo's sessions, the OAuth tokens ulo issued, the user's admin API tokens, or one app, or one enrolled device (DEVICE: id is the device id).
    #[serde(rename = "type")]
    #[schema(inline)]
    pub type_: LogoutTargetType,
    /// The app's id (apps only), else null.
    #[schema(format = "uuid", required = true)]
    pub id: Option<String>,
    /// What to show (the app's label).
    #[serde(rename = "displayName")]
    pub display_name: String,
    /// The app's logout protocol (apps only), else null.
    #[schema(inline, required = true)]
    pub protocol: Option<LogoutTargetProtocol>,
    /// PENDING: not attempted yet; RETRYING: an attempt failed in a way worth retrying and another is scheduled; SUCCEEDED; FAILED for good (a permanent error, or the deadline passed); SKIPPED: not attempted, reason says why.
    #[schema(inline)]
    pub status: LogoutTargetStatus,
    /// Why the target is reached (e.g. "assigned through Sales") or why it was skipped.
    pub reason: String,
    /// How many sessions or tokens were ended (ulo's own targets; in a dry run, how many are live). Absent for apps.
    #[schema(minimum = 0, required = false)]
    pub count: i64,
    /// Delivery attempts made.
    #[schema(minimum = 0)]
    pub attempts: i64,
    /// The HTTP status the app answered to the last attempt, or null.
    #[serde(rename = "lastHttpStatus")]
    #[schema(required = true)]
    pub last_http_status: Option<i64>,
    /// Why the last attempt failed, or null.
    #[serde(rename = "lastError")]
    #[schema(required = true)]
    pub last_error: Option<String>,
    /// When the target answered for good (RFC 3339), or null.
    #[serde(rename = "completedAt")]
    #[schema(format = "date-time", required = true)]
    pub completed_at: Option<String>,
    /// The delivery job (apps that are attempted only).
    #[serde(rename = "deliveryId")]
    #[schema(format = "uuid", required = false)]
    pub delivery_id: String,
    /// The SIGN_OUT command (devices only).
    #[serde(rename = "commandId")]
    #[schema(format = "uuid", required = false)]
    pub command_id: String,
}

#[derive(ToSchema)]
pub struct LogoutReceiptLinks {
    #[serde(rename = "self")]
    pub self_: Href,
    pub stream: Href,
    pub user: Href,
}

/// One Universal Logout of one user: what was asked, and what each target answered.
#[derive(ToSchema)]
pub struct LogoutReceipt {
    /// The logout's id.
    #[schema(format = "uuid")]
    pub id: String,
    /// The user logged out.
    #[serde(rename = "userId")]
    #[schema(format = "uuid")]
    pub user_id: String,
    /// Their login when the logout started.
    #[serde(rename = "userLogin")]
    pub user_login: String,
    /// Why: the request's reason, or API, ADMIN (sessions cleared with universalLogout), LIFECYCLE (deactivation, suspension, deletion, password reset) or UPSTREAM (Global Token Revocation). A SESSION_END receipt has the sessions' end reason: LOGOUT (RP-initiated logout or the person's own sign-out), EXPIRED, IDLE_TIMEOUT, ADMIN_END, ADMIN_CLEAR or REPLACED (a new sign-in in the same browser).
    pub reason: String,
    pub scope: LogoutScope,
    pub status: LogoutStatus,
    /// RFC 3339 UTC timestamp with milliseconds, e.g. 2026-01-31T12:00:00.000Z.
    #[schema(format = "date-time")]
    pub created: String,
    /// When every target had answered for good, or null.
    #[schema(format = "date-time", required = true)]
    pub completed: Option<String>,
    #[serde(rename = "initiatedBy")]
    pub initiated_by: Actor,
    /// One per target, in the order they were planned: ulo's own first, then the apps.
    pub targets: Vec<LogoutTarget>,
    /// Shared by every System Log event of this logout.
    #[serde(rename = "transactionId")]
    pub transaction_id: String,
    #[serde(rename = "_links")]
    #[schema(inline)]
    pub links: LogoutReceiptLinks,
}

/// A dry run's answer: the receipt the logout would start with, without id, transactionId or _links.
#[derive(ToSchema)]
pub struct LogoutPreview {
    #[serde(rename = "dryRun")]
    pub dry_run: bool,
    /// The user logged out.
    #[serde(rename = "userId")]
    #[schema(format = "uuid")]
    pub user_id: String,
    /// Their login when the logout started.
    #[serde(rename = "userLogin")]
    pub user_login: String,
    /// Why: the request's reason, or API, ADMIN (sessions cleared with universalLogout), LIFECYCLE (deactivation, suspension, deletion, password reset) or UPSTREAM (Global Token Revocation). A SESSION_END receipt has the sessions' end reason: LOGOUT (RP-initiated logout or the person's own sign-out), EXPIRED, IDLE_TIMEOUT, ADMIN_END, ADMIN_CLEAR or REPLACED (a new sign-in in the same browser).
    pub reason: String,
    pub scope: LogoutScope,
    pub status: LogoutStatus,
    /// RFC 3339 UTC timestamp with milliseconds, e.g. 2026-01-31T12:00:00.000Z.
    #[schema(format = "date-time")]
    pub created: String,
    /// When every target had answered for good, or null.
    #[schema(format = "date-time", required = true)]
    pub completed: Option<String>,
    #[serde(rename = "initiatedBy")]
    pub initiated_by: Actor,
    /// One per target, in the order they were planned: ulo's own first, then the apps.
    pub targets: Vec<LogoutTarget>,
}

#[derive(ToSchema)]
pub enum SubjectIdentifierEmailFormat {
    #[serde(rename = "email")]
    Email,
}

#[derive(ToSchema)]
pub struct SubjectIdentifierEmail {
    #[schema(inline)]
    pub format: SubjectIdentifierEmailFormat,
    pub email: String,
}

#[derive(ToSchema)]
pub enum SubjectIdentifierIssSubFormat {
    #[serde(rename = "iss_sub")]
    IssSub,
}

#[derive(ToSchema)]
pub struct SubjectIdentifierIssSub {
    #[schema(inline)]
    pub format: SubjectIdentifierIssSubFormat,
    pub iss: String,
    pub sub: String,
}

#[derive(ToSchema)]
pub enum SubjectIdentifierOpaqueFormat {
    #[serde(rename = "opaque")]
    Opaque,
}

#[derive(ToSchema)]
pub struct SubjectIdentifierOpaque {
    #[schema(inline)]
    pub format: SubjectIdentifierOpaqueFormat,
    pub id: String,
}

/// An RFC 9493 subject identifier in one of the formats ulo supports: email, iss_sub or opaque.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum SubjectIdentifier {
    /// The `Email` form.
    Email(SubjectIdentifierEmail),
    /// The `IssSub` form.
    IssSub(SubjectIdentifierIssSub),
    /// The `Opaque` form.
    Opaque(SubjectIdentifierOpaque),
}

/// Names the user to log out. email: a login, or the email of exactly one user; iss_sub: with ulo's issuer, sub is the user's id, with another issuer the externalId SCIM provisioning gave the user; opaque: id is the user's id. Other members are ignored.
#[derive(ToSchema)]
pub struct GlobalTokenRevocationRequest {
    #[schema(required = false)]
    pub sub_id: SubjectIdentifier,
    /// The member's name in earlier drafts; sub_id wins when both are sent.
    #[schema(required = false)]
    pub subject: SubjectIdentifier,
}

#[derive(ToSchema)]
pub enum GlobalTokenRevocationErrorError {
    #[serde(rename = "invalid_request")]
    InvalidRequest,
    #[serde(rename = "invalid_token")]
    InvalidToken,
    #[serde(rename = "insufficient_scope")]
    InsufficientScope,
    #[serde(rename = "unknown_subject")]
    UnknownSubject,
}

/// An error of the Global Token Revocation endpoint.
#[derive(ToSchema)]
pub struct GlobalTokenRevocationError {
    #[schema(inline)]
    pub error: GlobalTokenRevocationErrorError,
    /// A sentence for the caller's developer.
    #[schema(required = false)]
    pub error_description: String,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpstreamIdpRequest {
    /// 1 to 255 characters after trimming.
    #[schema(pattern = "^[^\\u0000]*$", min_length = 1, max_length = 255)]
    pub name: String,
    /// The iss of the provider's JWTs; unique.
    #[schema(format = "uri")]
    pub issuer: String,
    pub jwks: UpstreamJwks,
}

#[derive(ToSchema)]
pub enum UpstreamJwksKeysItemKty {
    #[serde(rename = "RSA")]
    Rsa,
    #[serde(rename = "EC")]
    Ec,
    #[serde(rename = "OKP")]
    Okp,
}

/// A public JWK (a private part "d" is refused).
#[derive(ToSchema)]
pub struct UpstreamJwksKeysItem {
    #[schema(inline)]
    pub kty: UpstreamJwksKeysItemKty,
}

/// The provider's public keys, a JWKS document.
#[derive(ToSchema)]
pub struct UpstreamJwks {
    #[schema(inline, min_items = 1)]
    pub keys: Vec<UpstreamJwksKeysItem>,
}

/// An upstream identity provider whose signed JWTs may ask ulo to log users out (Global Token Revocation).
#[derive(ToSchema)]
pub struct UpstreamIdp {
    #[schema(format = "uuid")]
    pub id: String,
    pub name: String,
    #[schema(format = "uri")]
    pub issuer: String,
    pub jwks: UpstreamJwks,
    /// RFC 3339 UTC timestamp with milliseconds, e.g. 2026-01-31T12:00:00.000Z.
    #[schema(format = "date-time")]
    pub created: String,
}

#[derive(ToSchema)]
pub enum ListLogoutsStatus {
    #[serde(rename = "IN_PROGRESS")]
    InProgress,
    #[serde(rename = "COMPLETED")]
    Completed,
    #[serde(rename = "COMPLETED_WITH_FAILURES")]
    CompletedWithFailures,
}
