//! OAuth 2.0 artefacts ulo issues: authorization codes, refresh tokens (rotated, in families),
//! and records of JWT access tokens so introspection reflects a revocation at once.

use time::OffsetDateTime;

use crate::ids::{AppId, GrantId, RefreshTokenId, SessionId, UserId};

/// A one-time authorization code (stored hashed).
#[derive(Debug, Clone, PartialEq)]
pub struct AuthCode {
    /// SHA-256 hex of the code.
    pub code_hash: String,
    /// The client.
    pub app_id: AppId,
    /// The user.
    pub user_id: UserId,
    /// The session it was issued in.
    pub session_id: SessionId,
    /// The redirect URI it was issued for.
    pub redirect_uri: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The client's nonce.
    pub nonce: Option<String>,
    /// PKCE challenge.
    pub code_challenge: Option<String>,
    /// PKCE method (`S256`).
    pub code_challenge_method: Option<String>,
    /// When the user authenticated.
    pub auth_time: OffsetDateTime,
    /// Issued.
    pub created: OffsetDateTime,
    /// Expires (one minute).
    pub expires: OffsetDateTime,
    /// When it was redeemed; a second redemption is an attack.
    pub used: Option<OffsetDateTime>,
    /// The grant (token family) the code started, once redeemed.
    pub grant_id: GrantId,
}

/// A refresh token (stored hashed); each use replaces it with a new one in the same family.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshToken {
    /// Id.
    pub id: RefreshTokenId,
    /// Family: every token descending from one authorization.
    pub grant_id: GrantId,
    /// SHA-256 hex of the token.
    pub token_hash: String,
    /// The client.
    pub app_id: AppId,
    /// The user.
    pub user_id: UserId,
    /// The session it descends from (may have ended).
    pub session_id: Option<SessionId>,
    /// Scopes.
    pub scope: String,
    /// When the user authenticated.
    pub auth_time: OffsetDateTime,
    /// Issued.
    pub created: OffsetDateTime,
    /// Expires.
    pub expires: OffsetDateTime,
    /// When it was exchanged for its successor.
    pub rotated: Option<OffsetDateTime>,
    /// When it was revoked.
    pub revoked: Option<OffsetDateTime>,
}

/// A JWT access token ulo issued, by `jti`.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessTokenRecord {
    /// The `jti` claim.
    pub jti: String,
    /// The client.
    pub app_id: AppId,
    /// The user (none for client credentials).
    pub user_id: Option<UserId>,
    /// The token family it came from.
    pub grant_id: Option<GrantId>,
    /// Scopes.
    pub scope: String,
    /// Issued.
    pub created: OffsetDateTime,
    /// Expires.
    pub expires: OffsetDateTime,
    /// When revoked.
    pub revoked: Option<OffsetDateTime>,
}

/// TOTP enrollment and sign-in throttling state of a user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SignInState {
    /// The TOTP secret, sealed with the master key.
    pub totp_sealed: Option<String>,
    /// When TOTP enrollment was verified (only then is it required).
    pub totp_verified: Option<OffsetDateTime>,
    /// Consecutive failed sign-ins.
    pub failed_attempts: i64,
    /// Locked out until.
    pub locked_until: Option<OffsetDateTime>,
    /// The last TOTP time step accepted: a code is accepted once (RFC 6238 §5.2).
    pub totp_last_step: Option<i64>,
}
