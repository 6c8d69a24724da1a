//! End session: OpenID Connect RP-Initiated Logout 1.0 (`/oauth2/v1/logout`, Okta's path). In ulo
//! "logout" alone means Universal Logout; a relying party ending one session is `end_session`.
//!
//! A valid `id_token_hint` (signed by ulo, expired allowed) names the client and the session:
//! that session ends at once. Without one, the person confirms on ulo's page first, so a link
//! on another site cannot sign them out. The browser is sent back only to a
//! `post_logout_redirect_uri` registered for the client; otherwise ulo shows its own page.

use serde_json::Value;

use super::params::Params;
use super::{JwtCheck, Provider, TYP_ID_TOKEN, user_context};
use crate::error::DomainError;
use crate::ids::SessionId;
use crate::log::Client;
use crate::logout::{SessionEnd, end_sessions_in};
use crate::session::Session;
use crate::store::StoreError;
use crate::user::User;

/// The reason recorded on sessions ended here.
pub const END_REASON: &str = "LOGOUT";

/// A logout request from a browser.
#[derive(Debug, Clone)]
pub struct EndSessionRequest<'a> {
    /// Query or form parameters.
    pub params: &'a Params,
    /// The live session behind the browser's cookie, if any.
    pub signed_in: Option<(&'a Session, &'a User)>,
    /// Whether the person confirmed on ulo's own page.
    pub confirmed: bool,
    /// Where the request came from.
    pub client: Client,
}

/// What the logout endpoint answers.
#[derive(Debug, Clone, PartialEq)]
pub enum EndSessionOutcome {
    /// Ask the person to confirm, posting these parameters back.
    Confirm {
        /// The request's parameters, to repeat in the form.
        params: Vec<(String, String)>,
        /// The app asking, when known.
        app_label: Option<String>,
    },
    /// Done: redirect when a registered URI was given, else show a page.
    Done {
        /// The sessions that ended.
        ended: Vec<SessionId>,
        /// Where to send the browser (registered URI, with `state`).
        redirect: Option<String>,
        /// The app that asked, when known.
        app_label: Option<String>,
        /// Why no redirect happened though one was asked for.
        notice: Option<String>,
    },
    /// The request is malformed: show an error page.
    Refuse {
        /// What is wrong.
        description: String,
    },
}

/// What a verified `id_token_hint` says.
struct Hint {
    sub: String,
    sid: Option<String>,
    aud: Vec<String>,
}

impl Provider<'_> {
    fn read_hint(&self, token: &str) -> Option<Hint> {
        let check = JwtCheck {
            jwks: None,
            typ: Some(TYP_ID_TOKEN),
            now_unix: self.clock.now().unix_timestamp(),
            allow_expired: true,
        };
        let claims = self.keys.verify(token, &check).ok()?;
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer) {
            return None;
        }
        let aud = match claims.get("aud")? {
            Value::String(a) => vec![a.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => return None,
        };
        Some(Hint {
            sub: claims.get("sub")?.as_str()?.to_string(),
            sid: claims
                .get("sid")
                .and_then(Value::as_str)
                .map(str::to_string),
            aud,
        })
    }

    /// Handles an RP-initiated logout request.
    pub async fn end_session(
        &self,
        req: EndSessionRequest<'_>,
    ) -> Result<EndSessionOutcome, StoreError> {
        let p = req.params;
        if let Some(name) = p.first_repeated() {
            return Ok(EndSessionOutcome::Refuse {
                description: format!("parameter {name} was sent more than once"),
            });
        }
        let hint = match p.get("id_token_hint") {
            None => None,
            Some(t) => match self.read_hint(t) {
                Some(h) => Some(h),
                None => {
                    return Ok(EndSessionOutcome::Refuse {
                        description: "id_token_hint is not an ID token ulo issued".into(),
                    });
                }
            },
        };
        let client_id = match (p.get("client_id"), &hint) {
            (Some(c), Some(h)) if !h.aud.iter().any(|a| a == c) => {
                return Ok(EndSessionOutcome::Refuse {
                    description: "client_id is not the audience of id_token_hint".into(),
                });
            }
            (Some(c), _) => Some(c.to_string()),
            (None, Some(h)) => h.aud.first().cloned(),
            (None, None) => None,
        };
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let app = match &client_id {
            Some(c) => tx.get_app_by_client_id(c).await?,
            None => None,
        };
        let app_label = app.as_ref().map(|a| a.label.clone());
        let mut notice = None;
        let redirect = match p.get("post_logout_redirect_uri") {
            None => None,
            Some(uri) => {
                let registered = app
                    .as_ref()
                    .and_then(|a| a.oidc.as_ref())
                    .is_some_and(|o| o.post_logout_redirect_uris.iter().any(|u| u == uri));
                match url::Url::parse(uri) {
                    Ok(mut url) if registered => {
                        if let Some(s) = p.get("state") {
                            url.query_pairs_mut().append_pair("state", s);
                        }
                        Some(url.to_string())
                    }
                    _ => {
                        notice = Some(if app.is_none() {
                            "The app that sent you here could not be identified, so you were not sent back to it.".to_string()
                        } else {
                            "The address the app asked to send you back to is not registered for it, so you were not sent back.".to_string()
                        });
                        None
                    }
                }
            }
        };

        // Which sessions end.
        let mut to_end: Vec<(Session, User)> = Vec::new();
        match &hint {
            Some(h) => {
                if let Some((s, u)) = req.signed_in
                    && u.id.to_string() == h.sub
                {
                    to_end.push((s.clone(), u.clone()));
                }
                if let Some(sid) = h.sid.as_deref().and_then(|s| s.parse::<SessionId>().ok())
                    && !to_end.iter().any(|(s, _)| s.id == sid)
                    && let Some(s) = tx.get_session(sid).await?
                    && s.ended.is_none()
                    && s.user_id.to_string() == h.sub
                    && let Some(u) = tx.get_user(s.user_id).await?
                {
                    to_end.push((s, u));
                }
            }
            None => {
                if let Some((s, u)) = req.signed_in {
                    if !req.confirmed {
                        return Ok(EndSessionOutcome::Confirm {
                            params: p.pairs().to_vec(),
                            app_label,
                        });
                    }
                    to_end.push((s.clone(), u.clone()));
                }
            }
        }
        // Every session here is the hint's or the cookie's person: one end, one single logout.
        let mut ended = Vec::new();
        if let Some((_, u)) = to_end.first() {
            let sessions: Vec<Session> = to_end
                .iter()
                .filter(|(_, owner)| owner.id == u.id)
                .map(|(s, _)| s.clone())
                .collect();
            let ctx = user_context(u, req.client.clone());
            let mut end = SessionEnd::new(END_REASON);
            end.message = "User logout from ulo";
            end.app = app.as_ref();
            // An app asked (RP-initiated), or the person signed out on ulo's own page.
            end.debug.push((
                "initiatedBy",
                Value::from(if client_id.is_some() { "rp" } else { "user" }),
            ));
            if let Some(c) = &client_id {
                end.debug.push(("clientId", Value::from(c.clone())));
            }
            let done = end_sessions_in(
                tx.as_mut(),
                &ctx,
                u,
                &sessions,
                &end,
                Some(self.single_logout),
                now,
            )
            .await
            .map_err(|e| match e {
                DomainError::Store(e) => e,
                other => StoreError::Invalid(other.to_string()),
            })?;
            ended = done.sessions;
        }
        tx.commit().await?;
        Ok(EndSessionOutcome::Done {
            ended,
            redirect,
            app_label,
            notice,
        })
    }
}
