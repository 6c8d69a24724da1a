//! Introspection (RFC 7662), revocation (RFC 7009) and userinfo (OIDC Core §5.3).
//!
//! A JWT access token is live only while its signature verifies, it has not expired, its
//! `jti` record is unrevoked, its user is ACTIVE and its app is ACTIVE: a revocation or a
//! cleared session shows at once, not when the token expires.

use crate::log::catalogue as events;
use serde_json::{Map, Value, json};

use super::claims::add_user_claims;
use super::client_auth::ClientCredentials;
use super::params::Params;
use super::scope::{OPENID, Scopes};
use super::{JwtCheck, OAuthError, Provider, TYP_ACCESS_TOKEN, client_context, hash_secret};
use crate::app::{App, AppStatus, OidcClient};
use crate::log::{Client, LogEvent, Target};
use crate::oauth::{AccessTokenRecord, RefreshToken};
use crate::store::{StoreError, StoreRead};
use crate::user::{User, UserStatus};

/// Why a bearer token was refused at userinfo (RFC 6750 §3.1).
#[derive(Debug, thiserror::Error)]
pub enum BearerError {
    /// No token, or it is malformed, unknown, expired or revoked: 401 `invalid_token`.
    #[error("{0}")]
    InvalidToken(String),
    /// The token lacks the `openid` scope: 403 `insufficient_scope`.
    #[error("{0}")]
    InsufficientScope(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A live access token: its record, claims and user.
struct LiveAccess {
    record: AccessTokenRecord,
    claims: Value,
    user: Option<User>,
}

fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

impl Provider<'_> {
    /// Authenticates the client of an introspection or revocation request.
    async fn endpoint_client(
        &self,
        authorization: Option<&str>,
        form: &Params,
    ) -> Result<(App, OidcClient), OAuthError> {
        let creds = ClientCredentials::from_request(authorization, form)?
            .ok_or_else(|| OAuthError::invalid_client("client authentication is required"))?;
        if form.is_repeated("token") {
            return Err(OAuthError::invalid_request("token was sent more than once"));
        }
        self.authenticate(&creds).await
    }

    /// Verifies a JWT access token and finds it live; `None` when it is not.
    async fn live_access_token(
        &self,
        tx: &mut dyn StoreRead,
        token: &str,
    ) -> Result<Option<LiveAccess>, StoreError> {
        let now = self.clock.now();
        let check = JwtCheck {
            jwks: None,
            typ: Some(TYP_ACCESS_TOKEN),
            now_unix: now.unix_timestamp(),
            allow_expired: false,
        };
        let Ok(claims) = self.keys.verify(token, &check) else {
            return Ok(None);
        };
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer) {
            return Ok(None);
        }
        let Some(jti) = claims.get("jti").and_then(Value::as_str) else {
            return Ok(None);
        };
        let Some(record) = tx.get_access_token(jti).await? else {
            return Ok(None);
        };
        if record.revoked.is_some() || record.expires <= now {
            return Ok(None);
        }
        let Some(app) = tx.get_app(record.app_id).await? else {
            return Ok(None);
        };
        if app.status != AppStatus::Active {
            return Ok(None);
        }
        let user = match record.user_id {
            None => None,
            Some(id) => match tx.get_user(id).await? {
                Some(u) if u.status == UserStatus::Active => Some(u),
                _ => return Ok(None),
            },
        };
        Ok(Some(LiveAccess {
            record,
            claims,
            user,
        }))
    }

    /// A refresh token that may still be used; `None` otherwise.
    async fn live_refresh_token(
        &self,
        tx: &mut dyn StoreRead,
        token: &str,
    ) -> Result<Option<(RefreshToken, User)>, StoreError> {
        let now = self.clock.now();
        let Some(rt) = tx.find_refresh_token(&hash_secret(token)).await? else {
            return Ok(None);
        };
        if rt.rotated.is_some() || rt.revoked.is_some() || rt.expires <= now {
            return Ok(None);
        }
        match tx.get_app(rt.app_id).await? {
            Some(a) if a.status == AppStatus::Active => {}
            _ => return Ok(None),
        }
        match tx.get_user(rt.user_id).await? {
            Some(u) if u.status == UserStatus::Active => Ok(Some((rt, u))),
            _ => Ok(None),
        }
    }

    /// RFC 7662 introspection. A client learns only about tokens issued to it; anything else
    /// (unknown, expired, revoked, another client's) is `{"active": false}`.
    pub async fn introspect(
        &self,
        authorization: Option<&str>,
        form: &Params,
    ) -> Result<Value, OAuthError> {
        let (app, oidc) = self.endpoint_client(authorization, form).await?;
        let token = form
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
        let inactive = json!({"active": false});
        let mut tx = self.store.read().await?;
        // The hint only orders the look-ups (RFC 7662 §2.1); both kinds are tried.
        if looks_like_jwt(token) {
            if let Some(live) = self.live_access_token(tx.as_mut(), token).await? {
                if live.record.app_id != app.id {
                    return Ok(inactive);
                }
                let c = &live.claims;
                let mut out = json!({
                    "active": true,
                    "token_type": "Bearer",
                    "scope": live.record.scope,
                    "client_id": oidc.client_id,
                    "sub": c["sub"],
                    "aud": c["aud"],
                    "iss": c["iss"],
                    "jti": live.record.jti,
                    "iat": live.record.created.unix_timestamp(),
                    "exp": live.record.expires.unix_timestamp(),
                });
                if let Some(u) = &live.user {
                    out["username"] = json!(u.profile.login);
                }
                return Ok(out);
            }
            return Ok(inactive);
        }
        if let Some((rt, user)) = self.live_refresh_token(tx.as_mut(), token).await? {
            if rt.app_id != app.id {
                return Ok(inactive);
            }
            return Ok(json!({
                "active": true,
                "token_type": "refresh_token",
                "scope": rt.scope,
                "client_id": oidc.client_id,
                "sub": user.id.to_string(),
                "username": user.profile.login,
                "iss": self.issuer,
                "iat": rt.created.unix_timestamp(),
                "exp": rt.expires.unix_timestamp(),
            }));
        }
        Ok(inactive)
    }

    /// RFC 7009 revocation. A refresh token takes its whole grant with it (every refresh and
    /// access token of the family); an access token is revoked alone. Unknown tokens and other
    /// clients' tokens are answered alike (success, nothing done), so nothing leaks.
    pub async fn revoke(
        &self,
        authorization: Option<&str>,
        form: &Params,
        client: Client,
    ) -> Result<(), OAuthError> {
        let (app, oidc) = self.endpoint_client(authorization, form).await?;
        let token = form
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let mut what: Option<(&str, Map<String, Value>, Option<User>)> = None;
        if looks_like_jwt(token) {
            // An expired token needs no revoking, but its record may as well say so.
            let check = JwtCheck {
                jwks: None,
                typ: Some(TYP_ACCESS_TOKEN),
                now_unix: now.unix_timestamp(),
                allow_expired: true,
            };
            if let Ok(claims) = self.keys.verify(token, &check)
                && let Some(jti) = claims.get("jti").and_then(Value::as_str)
                && let Some(rec) = tx.get_access_token(jti).await?
                && rec.app_id == app.id
            {
                let changed = tx.revoke_access_token(jti, now).await?;
                let user = match rec.user_id {
                    Some(id) => tx.get_user(id).await?,
                    None => None,
                };
                let mut d = Map::new();
                d.insert("jti".into(), json!(jti));
                d.insert("wasLive".into(), json!(changed && rec.expires > now));
                what = Some(("access_token", d, user));
            }
        } else if let Some(rt) = tx.find_refresh_token(&hash_secret(token)).await?
            && rt.app_id == app.id
        {
            let revoked = tx.revoke_grant(rt.grant_id, now).await?;
            let user = tx.get_user(rt.user_id).await?;
            let mut d = Map::new();
            d.insert("grantId".into(), json!(rt.grant_id.to_string()));
            d.insert("revokedTokens".into(), json!(revoked));
            what = Some(("refresh_token", d, user));
        }
        let Some((kind, data, user)) = what else {
            return Ok(());
        };
        let ctx = client_context(&oidc.client_id, &app.label, client);
        let mut ev = LogEvent::build(
            &ctx,
            events::oauth::TOKEN_REVOKE,
            now,
            format!("{} revoked a {}", app.label, kind.replace('_', " ")),
        )
        .target(Target::app(&app))
        .debug("tokenType", kind)
        .debug("clientId", oidc.client_id.clone());
        for (k, v) in data {
            ev = ev.debug(&k, v);
        }
        if let Some(u) = &user {
            ev = ev.target(Target::user(u));
        }
        tx.append_event(&ev.finish()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The userinfo claims for a bearer access token with the `openid` scope.
    pub async fn userinfo(&self, access_token: &str) -> Result<Value, BearerError> {
        let mut tx = self.store.read().await?;
        let live = self
            .live_access_token(tx.as_mut(), access_token)
            .await?
            .ok_or_else(|| {
                BearerError::InvalidToken("the access token is invalid, expired or revoked".into())
            })?;
        let Some(user) = live.user else {
            return Err(BearerError::InvalidToken(
                "a client_credentials token names no user".into(),
            ));
        };
        let scopes = Scopes::parse(&live.record.scope).unwrap_or_default();
        if !scopes.has(OPENID) {
            return Err(BearerError::InsufficientScope(
                "userinfo needs a token with the openid scope".into(),
            ));
        }
        let mut out = Map::new();
        out.insert("sub".into(), json!(user.id.to_string()));
        add_user_claims(&user, &scopes, &mut out);
        Ok(Value::Object(out))
    }
}
