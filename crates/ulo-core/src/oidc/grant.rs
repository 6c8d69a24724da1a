//! The token endpoint's grants: authorization code (redeemed once, PKCE checked), refresh
//! token (rotated by compare-and-set; reuse revokes the family) and client credentials.

use crate::log::catalogue as events;
use serde::Serialize;
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use super::claims::add_user_claims;
use super::client_auth::ClientCredentials;
use super::params::Params;
use super::scope::{OFFLINE_ACCESS, OPENID, Scopes};
use super::{
    ErrorCode, ID_TOKEN_LIFETIME, OAuthError, Provider, TYP_ACCESS_TOKEN, TYP_ID_TOKEN,
    client_context, hash_secret, left_hash, pkce, user_context,
};
use crate::app::{App, GrantType, OidcClient, SigningAlg};
use crate::auth::random_base62;
use crate::context::Context;
use crate::ids::{GrantId, RefreshTokenId, SessionId, UserId};
use crate::log::{Client, LogEvent, Outcome, Severity, Target};
use crate::oauth::{AccessTokenRecord, AuthCode, RefreshToken};
use crate::session_influence::{Use, UseSubject};
use crate::store::StoreTx;
use crate::user::{User, UserStatus};

/// A token request: the `Authorization` header, the form, and where it came from.
#[derive(Debug, Clone)]
pub struct TokenRequest<'a> {
    /// The `Authorization` header, if any.
    pub authorization: Option<&'a str>,
    /// The form body.
    pub form: &'a Params,
    /// The HTTP client (IP, user agent), for the System Log.
    pub client: Client,
}

/// A successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    /// The JWT access token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u32,
    /// Granted scopes.
    pub scope: String,
    /// The new refresh token, when `offline_access` was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The ID token, when `openid` was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// Who the tokens are for and how they came about.
struct Grant<'a> {
    app: &'a App,
    oidc: &'a OidcClient,
    user: &'a User,
    /// Scopes of the access token (and ID token claims).
    scopes: Scopes,
    /// Scopes the refresh token keeps (the original grant's).
    family_scopes: Scopes,
    grant_id: GrantId,
    session_id: Option<SessionId>,
    auth_time: OffsetDateTime,
    nonce: Option<String>,
    amr: Vec<String>,
    grant_type: GrantType,
}

/// A code or refresh token presented again, for [`Provider::reuse_detected`].
struct Reuse {
    /// `debugData.artifact`: what was presented again.
    artifact: &'static str,
    /// `outcome.reason` of the event.
    reason: &'static str,
    grant_id: GrantId,
    user_id: UserId,
    /// The event's display message.
    message: String,
}

/// Why a rotated refresh token presented again is refused.
const REFRESH_REUSED: &str =
    "the refresh token was already used; every token of its grant is revoked";

/// The reuse of rotated refresh token `rt` of `app`.
fn refresh_reuse(app: &App, rt: &RefreshToken) -> Reuse {
    Reuse {
        artifact: "refresh_token",
        reason: "refresh_token_reuse",
        grant_id: rt.grant_id,
        user_id: rt.user_id,
        message: format!(
            "A rotated refresh token of {} was used again: every token of its grant is revoked",
            app.label
        ),
    }
}

/// The use a token request's client makes (session influence).
fn client_use(client: &Client) -> Use {
    Use::new(
        client.ip_address.as_deref(),
        client
            .user_agent
            .as_ref()
            .map(|u| u.raw_user_agent.as_str()),
    )
}

/// A domain failure inside a grant: a store failure as such, anything else a server error.
fn domain_failed(e: crate::error::DomainError) -> OAuthError {
    match e {
        crate::error::DomainError::Store(e) => e.into(),
        other => OAuthError::new(ErrorCode::ServerError, other.to_string()),
    }
}

fn grant_failed(d: impl Into<String>) -> OAuthError {
    OAuthError::invalid_grant(d)
}

fn signing_failed(e: String) -> OAuthError {
    OAuthError::new(
        ErrorCode::ServerError,
        format!("could not sign a token: {e}"),
    )
}

impl Provider<'_> {
    /// Handles a token request.
    pub async fn token(&self, req: TokenRequest<'_>) -> Result<TokenResponse, OAuthError> {
        let form = req.form;
        let creds = ClientCredentials::from_request(req.authorization, form)?
            .ok_or_else(|| OAuthError::invalid_client("client authentication is required"))?;
        if let Some(name) = form.first_repeated() {
            return Err(OAuthError::invalid_request(format!(
                "parameter {name} was sent more than once"
            )));
        }
        let grant_type = form
            .get("grant_type")
            .ok_or_else(|| OAuthError::invalid_request("grant_type is missing"))?;
        let (app, oidc) = self.authenticate(&creds).await?;
        match grant_type {
            "authorization_code" => self.code_grant(&app, &oidc, form, req.client).await,
            "refresh_token" => self.refresh_grant(&app, &oidc, form, req.client).await,
            "client_credentials" => self.client_credentials(&app, &oidc, form, req.client).await,
            other => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!("grant_type {other:?} is not supported"),
            )),
        }
    }

    /// Authenticates a client in a transaction of its own, so a used assertion `jti` stays
    /// recorded whatever happens to the request after.
    pub(crate) async fn authenticate(
        &self,
        creds: &ClientCredentials,
    ) -> Result<(App, OidcClient), OAuthError> {
        let audiences = [
            self.token_endpoint(),
            self.issuer.to_string(),
            format!("{}/oauth2/v1/introspect", self.issuer),
            format!("{}/oauth2/v1/revoke", self.issuer),
        ];
        let mut tx = self.store.begin().await?;
        let found = self
            .authenticate_client(tx.as_mut(), creds, &audiences)
            .await?;
        tx.commit().await?;
        Ok(found)
    }

    async fn code_grant(
        &self,
        app: &App,
        oidc: &OidcClient,
        form: &Params,
        client: Client,
    ) -> Result<TokenResponse, OAuthError> {
        if !oidc.allows(GrantType::AuthorizationCode) {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "this client may not use the authorization code grant",
            ));
        }
        let code = form
            .get("code")
            .ok_or_else(|| OAuthError::invalid_request("code is missing"))?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let Some(c) = tx.redeem_auth_code(&hash_secret(code), now).await? else {
            return Err(grant_failed("unknown authorization code"));
        };
        if c.app_id != app.id {
            // Not this client's code: leave it untouched for its owner.
            return Err(grant_failed("the code was issued to another client"));
        }
        if c.used.is_some() {
            // RFC 6749 §4.1.2: a code used twice may have been stolen; revoke what it gave.
            let reuse = Reuse {
                artifact: "authorization_code",
                reason: "authorization_code_reuse",
                grant_id: c.grant_id,
                user_id: c.user_id,
                message: format!(
                    "Authorization code for {} used twice: its tokens are revoked",
                    app.label
                ),
            };
            self.reuse_detected(tx, app, reuse, client, now).await?;
            return Err(grant_failed(
                "the authorization code was already used; the tokens it gave are revoked",
            ));
        }
        check_code(&c, form, now)?;
        let user = active_user(tx.as_mut(), c.user_id).await?;
        let session = tx
            .get_session(c.session_id)
            .await?
            .filter(|s| s.ended.is_none())
            .ok_or_else(|| grant_failed("the sign-in session has ended"))?;
        ensure_assigned(tx.as_mut(), app, &user).await?;
        // The refresh-token family begins here, in the context of this token request.
        crate::session_influence::begin_in(
            tx.as_mut(),
            UseSubject::Grant(c.grant_id),
            &user,
            &client_use(&client),
            self.session_influence,
            now,
        )
        .await
        .map_err(domain_failed)?;
        let scopes = Scopes::parse(&c.scope).map_err(grant_failed)?;
        let grant = Grant {
            app,
            oidc,
            user: &user,
            family_scopes: scopes.clone(),
            scopes,
            grant_id: c.grant_id,
            session_id: Some(session.id),
            auth_time: c.auth_time,
            nonce: c.nonce.clone(),
            amr: session.amr.clone(),
            grant_type: GrantType::AuthorizationCode,
        };
        let resp = self.issue(tx.as_mut(), &grant, client, now).await?;
        tx.commit().await?;
        Ok(resp)
    }

    async fn refresh_grant(
        &self,
        app: &App,
        oidc: &OidcClient,
        form: &Params,
        client: Client,
    ) -> Result<TokenResponse, OAuthError> {
        if !oidc.allows(GrantType::RefreshToken) {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "this client may not use the refresh_token grant",
            ));
        }
        let presented = form
            .get("refresh_token")
            .ok_or_else(|| OAuthError::invalid_request("refresh_token is missing"))?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let Some(rt) = tx.find_refresh_token(&hash_secret(presented)).await? else {
            return Err(grant_failed("unknown refresh token"));
        };
        if rt.app_id != app.id {
            return Err(grant_failed(
                "the refresh token was issued to another client",
            ));
        }
        if rt.rotated.is_some() {
            self.reuse_detected(tx, app, refresh_reuse(app, &rt), client, now)
                .await?;
            return Err(grant_failed(REFRESH_REUSED));
        }
        if rt.revoked.is_some() {
            return Err(grant_failed("the refresh token is revoked"));
        }
        if rt.expires <= now {
            return Err(grant_failed("the refresh token has expired"));
        }
        let family_scopes = Scopes::parse(&rt.scope).map_err(grant_failed)?;
        let scopes = match form.get("scope") {
            None => family_scopes.clone(),
            Some(raw) => {
                let s =
                    Scopes::parse(raw).map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e))?;
                if !s.is_subset_of(&family_scopes) {
                    return Err(OAuthError::new(
                        ErrorCode::InvalidScope,
                        "a refresh may only narrow the original scopes",
                    ));
                }
                s
            }
        };
        let user = active_user(tx.as_mut(), rt.user_id).await?;
        ensure_assigned(tx.as_mut(), app, &user).await?;
        if self
            .refresh_influenced(tx.as_mut(), &user, &rt, &client, now)
            .await?
        {
            // The detection's rule ended the person's tokens: this one with them.
            tx.commit().await?;
            return Err(grant_failed("the refresh token is revoked"));
        }
        if !tx.rotate_refresh_token(rt.id, now).await? {
            // Another request rotated it first: the same token was presented twice.
            self.reuse_detected(tx, app, refresh_reuse(app, &rt), client, now)
                .await?;
            return Err(grant_failed(REFRESH_REUSED));
        }
        let amr = match rt.session_id {
            Some(id) => tx.get_session(id).await?.map(|s| s.amr).unwrap_or_default(),
            None => Vec::new(),
        };
        let grant = Grant {
            app,
            oidc,
            user: &user,
            scopes,
            family_scopes,
            grant_id: rt.grant_id,
            session_id: rt.session_id,
            auth_time: rt.auth_time,
            nonce: None,
            amr,
            grant_type: GrantType::RefreshToken,
        };
        let resp = self.issue(tx.as_mut(), &grant, client, now).await?;
        tx.commit().await?;
        Ok(resp)
    }

    /// Compares this refresh with the context its family began in (session influence); true
    /// when a detection's action revoked the presented token.
    async fn refresh_influenced(
        &self,
        tx: &mut dyn StoreTx,
        user: &User,
        rt: &RefreshToken,
        client: &Client,
        now: OffsetDateTime,
    ) -> Result<bool, OAuthError> {
        let ctx = user_context(user, client.clone());
        let influence = crate::session_influence::observe_in(
            tx,
            &ctx,
            user,
            UseSubject::Grant(rt.grant_id),
            None,
            &client_use(client),
            self.session_influence,
            &self.risk,
            now,
        )
        .await
        .map_err(domain_failed)?;
        if influence.is_none_or(|i| i.detected.is_none()) {
            return Ok(false);
        }
        Ok(tx
            .find_refresh_token(&rt.token_hash)
            .await?
            .is_some_and(|t| t.revoked.is_some()))
    }

    /// Revokes every token of a grant whose code or refresh token was presented again, logs
    /// the detection and commits.
    async fn reuse_detected(
        &self,
        mut tx: Box<dyn StoreTx>,
        app: &App,
        reuse: Reuse,
        client: Client,
        now: OffsetDateTime,
    ) -> Result<(), OAuthError> {
        let revoked = tx.revoke_grant(reuse.grant_id, now).await?;
        let user = tx.get_user(reuse.user_id).await?;
        let ctx = match &user {
            Some(u) => user_context(u, client),
            None => client_context(&app_client_id(app), &app.label, client),
        };
        let mut ev = LogEvent::build(&ctx, events::oauth::TOKEN_REUSE, now, reuse.message)
            .outcome(Outcome::failure(reuse.reason))
            .severity(Severity::Warn)
            .target(Target::app(app))
            .debug("artifact", reuse.artifact)
            .debug("grantId", reuse.grant_id.to_string())
            .debug("revokedTokens", revoked);
        if let Some(u) = &user {
            ev = ev.target(Target::user(u));
        }
        tx.append_event(&ev.finish()).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn client_credentials(
        &self,
        app: &App,
        oidc: &OidcClient,
        form: &Params,
        client: Client,
    ) -> Result<TokenResponse, OAuthError> {
        if !oidc.is_confidential() || !oidc.allows(GrantType::ClientCredentials) {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "this client may not use the client_credentials grant",
            ));
        }
        let scopes = Scopes::parse(form.get("scope").unwrap_or(""))
            .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e))?;
        if !scopes.is_empty() {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "openid, profile, email and offline_access are about a person; a client_credentials token carries none",
            ));
        }
        let now = self.clock.now();
        let client_id = oidc.client_id.clone();
        let (access_token, record) =
            self.access_token(app, oidc, &client_id, None, "", None, None, now)?;
        let mut tx = self.store.begin().await?;
        tx.insert_access_token(&record).await?;
        let ctx = client_context(&client_id, &app.label, client);
        let ev = LogEvent::build(
            &ctx,
            events::oauth::TOKEN_GRANT,
            now,
            format!("Issue an access token to {} for itself", app.label),
        )
        .target(Target::app(app))
        .debug("grantType", GrantType::ClientCredentials.as_str())
        .debug("scopes", "")
        .debug("clientId", client_id.clone())
        .debug("accessTokenJti", record.jti.clone())
        .finish();
        tx.append_event(&ev).await?;
        tx.commit().await?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: oidc.access_token_lifetime_seconds,
            scope: String::new(),
            refresh_token: None,
            id_token: None,
        })
    }

    /// Signs an access token and builds its record.
    #[allow(clippy::too_many_arguments)]
    fn access_token(
        &self,
        app: &App,
        oidc: &OidcClient,
        sub: &str,
        user: Option<&User>,
        scope: &str,
        grant_id: Option<GrantId>,
        auth_time: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<(String, AccessTokenRecord), OAuthError> {
        let jti = random_base62(32);
        let expires = now + Duration::seconds(i64::from(oidc.access_token_lifetime_seconds));
        let mut claims = json!({
            "iss": self.issuer,
            "sub": sub,
            // ulo itself (userinfo) is the resource these tokens are for: RFC 9068 §3.
            "aud": self.issuer,
            "client_id": oidc.client_id,
            "scope": scope,
            "jti": jti,
            "iat": now.unix_timestamp(),
            "exp": expires.unix_timestamp(),
        });
        if let Some(t) = auth_time {
            claims["auth_time"] = json!(t.unix_timestamp());
        }
        let token = self
            .keys
            .sign(SigningAlg::Es256, TYP_ACCESS_TOKEN, &claims)
            .map_err(signing_failed)?;
        let record = AccessTokenRecord {
            jti,
            app_id: app.id,
            user_id: user.map(|u| u.id),
            grant_id,
            scope: scope.to_string(),
            created: now,
            expires,
            revoked: None,
        };
        Ok((token, record))
    }

    /// Issues the access token, and the refresh and ID tokens the scopes call for, and logs it.
    async fn issue(
        &self,
        tx: &mut dyn StoreTx,
        g: &Grant<'_>,
        client: Client,
        now: OffsetDateTime,
    ) -> Result<TokenResponse, OAuthError> {
        let scope = g.scopes.to_wire();
        let (access_token, record) = self.access_token(
            g.app,
            g.oidc,
            &g.user.id.to_string(),
            Some(g.user),
            &scope,
            Some(g.grant_id),
            Some(g.auth_time),
            now,
        )?;
        tx.insert_access_token(&record).await?;
        let refresh_token =
            if g.family_scopes.has(OFFLINE_ACCESS) && g.oidc.allows(GrantType::RefreshToken) {
                let secret = random_base62(48);
                let lifetime = Duration::seconds(i64::from(g.oidc.refresh_token_lifetime_seconds));
                tx.insert_refresh_token(&RefreshToken {
                    id: RefreshTokenId::new(),
                    grant_id: g.grant_id,
                    token_hash: hash_secret(&secret),
                    app_id: g.app.id,
                    user_id: g.user.id,
                    session_id: g.session_id,
                    scope: g.family_scopes.to_wire(),
                    auth_time: g.auth_time,
                    created: now,
                    expires: now + lifetime,
                    rotated: None,
                    revoked: None,
                })
                .await?;
                Some(secret)
            } else {
                None
            };
        let id_token = if g.scopes.has(OPENID) {
            Some(self.id_token(g, &access_token, now)?)
        } else {
            None
        };
        let ctx: Context = user_context(g.user, client);
        let ev = LogEvent::build(
            &ctx,
            events::oauth::TOKEN_GRANT,
            now,
            format!(
                "Issue tokens to {} for {}",
                g.app.label, g.user.profile.login
            ),
        )
        .target(Target::user(g.user))
        .target(Target::app(g.app))
        .debug("grantType", g.grant_type.as_str())
        .debug("scopes", scope.clone())
        .debug("clientId", g.oidc.client_id.clone())
        .debug("grantId", g.grant_id.to_string())
        .debug("accessTokenJti", record.jti.clone())
        .debug("refreshTokenIssued", refresh_token.is_some())
        .debug("idTokenIssued", id_token.is_some())
        .finish();
        tx.append_event(&ev).await?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: g.oidc.access_token_lifetime_seconds,
            scope,
            refresh_token,
            id_token,
        })
    }

    fn id_token(
        &self,
        g: &Grant<'_>,
        access_token: &str,
        now: OffsetDateTime,
    ) -> Result<String, OAuthError> {
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("sub".into(), json!(g.user.id.to_string()));
        claims.insert("aud".into(), json!(g.oidc.client_id));
        claims.insert(
            "exp".into(),
            json!((now + ID_TOKEN_LIFETIME).unix_timestamp()),
        );
        claims.insert("iat".into(), json!(now.unix_timestamp()));
        claims.insert("auth_time".into(), json!(g.auth_time.unix_timestamp()));
        if let Some(n) = &g.nonce {
            claims.insert("nonce".into(), json!(n));
        }
        if let Some(sid) = g.session_id {
            claims.insert("sid".into(), json!(sid.to_string()));
        }
        if !g.amr.is_empty() {
            claims.insert("amr".into(), json!(g.amr));
        }
        claims.insert("at_hash".into(), json!(left_hash(access_token)));
        add_user_claims(g.user, &g.scopes, &mut claims);
        self.keys
            .sign(
                g.oidc.id_token_signed_response_alg,
                TYP_ID_TOKEN,
                &Value::Object(claims),
            )
            .map_err(signing_failed)
    }
}

fn app_client_id(app: &App) -> String {
    app.oidc
        .as_ref()
        .map(|o| o.client_id.clone())
        .unwrap_or_default()
}

/// The checks a code must pass besides its owner: expiry, redirect URI, PKCE.
fn check_code(c: &AuthCode, form: &Params, now: OffsetDateTime) -> Result<(), OAuthError> {
    if c.expires <= now {
        return Err(grant_failed("the authorization code has expired"));
    }
    if form.get("redirect_uri") != Some(c.redirect_uri.as_str()) {
        return Err(grant_failed(
            "redirect_uri must be the one the authorization request used",
        ));
    }
    match (&c.code_challenge, form.get("code_verifier")) {
        (Some(challenge), Some(verifier)) if pkce::verify(verifier, challenge) => Ok(()),
        (Some(_), Some(_)) => Err(grant_failed(
            "code_verifier does not match the code_challenge",
        )),
        (Some(_), None) => Err(grant_failed(
            "code_verifier is missing: the authorization request used PKCE",
        )),
        // RFC 9700 §2.1.1: a verifier for a code issued without a challenge is a downgrade attempt.
        (None, Some(_)) => Err(grant_failed(
            "code_verifier sent, but the authorization request had no code_challenge",
        )),
        (None, None) => Ok(()),
    }
}

/// The user a grant is for, who must still be ACTIVE.
async fn active_user(tx: &mut dyn StoreTx, id: UserId) -> Result<User, OAuthError> {
    tx.get_user(id)
        .await?
        .filter(|u| u.status == UserStatus::Active)
        .ok_or_else(|| grant_failed("the user may no longer sign in"))
}

/// The user must still be assigned to the app, directly or through a group.
async fn ensure_assigned(tx: &mut dyn StoreTx, app: &App, user: &User) -> Result<(), OAuthError> {
    let assigned = tx
        .list_user_app_links(user.id)
        .await?
        .iter()
        .any(|l| l.app.id == app.id);
    if assigned {
        Ok(())
    } else {
        Err(grant_failed("the app is no longer assigned to the user"))
    }
}
