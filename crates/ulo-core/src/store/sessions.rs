//! Sign-in state, sessions (with the apps each signed in to and the expiry sweep), OAuth codes and
//! tokens, and the memory of one-time JWT ids.

use super::StoreError;
use crate::ids::AppId;
use crate::ids::GrantId;
use crate::ids::SessionId;
use crate::ids::UserId;
use crate::oauth::AccessTokenRecord;
use crate::oauth::AuthCode;
use crate::oauth::RefreshToken;
use crate::oauth::SignInState;
use crate::session::GrantSummary;
use crate::session::Session;
use async_trait::async_trait;
use time::OffsetDateTime;

/// What a read handle or a transaction can read of this area.
#[async_trait]
pub trait SessionsRead: Send {
    /// A user's TOTP and throttling state (default when none was stored).
    async fn sign_in_state(&mut self, user: UserId) -> Result<SignInState, StoreError>;
    /// A session by the hash of its cookie secret (ended ones too).
    async fn find_session(&mut self, secret_hash: &str) -> Result<Option<Session>, StoreError>;
    /// A session by id.
    async fn get_session(&mut self, id: SessionId) -> Result<Option<Session>, StoreError>;
    /// A user's sessions not yet ended (expired ones included), oldest first.
    async fn list_open_sessions(&mut self, user: UserId) -> Result<Vec<Session>, StoreError>;
    /// The apps `session` signed in to, in the order it first did.
    async fn list_session_apps(&mut self, session: SessionId) -> Result<Vec<AppId>, StoreError>;
    /// Whether some open session's absolute end is at or before `now` or its last use at or
    /// before `idle_cutoff` (a cheap read before the sweep takes a write transaction).
    async fn any_expired_sessions(
        &mut self,
        now: OffsetDateTime,
        idle_cutoff: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// A refresh token by hash.
    async fn find_refresh_token(&mut self, hash: &str) -> Result<Option<RefreshToken>, StoreError>;
    /// An access token record by `jti`.
    async fn get_access_token(
        &mut self,
        jti: &str,
    ) -> Result<Option<AccessTokenRecord>, StoreError>;
    /// Live (unrevoked, unexpired) grants of a user per app.
    async fn list_grants(
        &mut self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<GrantSummary>, StoreError>;
}

/// What a transaction can change in this area (a part of [`StoreTx`](super::StoreTx)).
#[async_trait]
pub trait SessionsTx: SessionsRead {
    /// Stores a user's TOTP and throttling state.
    async fn put_sign_in_state(
        &mut self,
        user: UserId,
        state: &SignInState,
    ) -> Result<(), StoreError>;
    /// Stores a new session.
    async fn insert_session(&mut self, session: &Session) -> Result<(), StoreError>;
    /// Records a use.
    async fn touch_session(&mut self, id: SessionId, now: OffsetDateTime)
    -> Result<(), StoreError>;
    /// Ends a session; false when it had already ended.
    async fn end_session(
        &mut self,
        id: SessionId,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Records that `session` signed in to `app` (an authorization code was issued in it); a
    /// second sign-in to the same app changes nothing.
    async fn record_session_app(
        &mut self,
        session: SessionId,
        app: AppId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Open sessions whose absolute end is at or before `now` or whose last use is at or before
    /// `idle_cutoff`, oldest first, at most `limit`, locked until the transaction ends. On
    /// PostgreSQL rows another transaction holds are skipped (`FOR UPDATE SKIP LOCKED`), so
    /// several nodes sweeping at once share the work instead of waiting on each other.
    async fn claim_expired_sessions(
        &mut self,
        now: OffsetDateTime,
        idle_cutoff: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Session>, StoreError>;
    /// Stores an authorization code.
    async fn insert_auth_code(&mut self, code: &AuthCode) -> Result<(), StoreError>;
    /// Marks a code used and answers it as it was before: `used` set means it was already redeemed.
    async fn redeem_auth_code(
        &mut self,
        code_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<AuthCode>, StoreError>;
    /// Stores a refresh token.
    async fn insert_refresh_token(&mut self, token: &RefreshToken) -> Result<(), StoreError>;
    /// Marks a live refresh token exchanged; false when it was already rotated or revoked.
    async fn rotate_refresh_token(
        &mut self,
        id: crate::ids::RefreshTokenId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Revokes every refresh and access token of a grant; answers how many were live.
    async fn revoke_grant(
        &mut self,
        grant: GrantId,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;
    /// Stores an access token record.
    async fn insert_access_token(&mut self, token: &AccessTokenRecord) -> Result<(), StoreError>;
    /// Revokes one access token; false when already revoked or unknown.
    async fn revoke_access_token(
        &mut self,
        jti: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Revokes every live refresh and access token of a user; answers what was live, per app.
    async fn revoke_user_tokens(
        &mut self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<GrantSummary>, StoreError>;
    /// Records that a one-time JWT `jti` was used in `namespace` (e.g. a client's assertions)
    /// until `expires`; false when it was already recorded and not yet expired at `now`, i.e.
    /// a replay. Concurrent callers cannot both get true. Expired entries are overwritten
    /// here and purged by [`Store::purge_jtis`](super::Store::purge_jtis).
    async fn remember_jti(
        &mut self,
        namespace: &str,
        jti: &str,
        expires: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}
