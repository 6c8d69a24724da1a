//! The authorization endpoint (code flow): validate the request, require a fresh enough
//! sign-in, check the assignment, issue a one-time code.
//!
//! Until the client and its redirect URI are known to be genuine, errors are shown to the
//! person, never redirected (no open redirects); after that they go back to the client.

use crate::log::catalogue as events;
use time::OffsetDateTime;

use super::params::Params;
use super::scope::{OFFLINE_ACCESS, Scopes};
use super::{CODE_LIFETIME, ErrorCode, JwtCheck, Provider, hash_secret, pkce, user_context};
use crate::app::{App, AppStatus, GrantType, OidcClient, SigningAlg, TokenEndpointAuthMethod};
use crate::auth::random_base62;
use crate::clock::to_millis;
use crate::ids::GrantId;
use crate::log::{Client, LogEvent, Outcome, Target};
use crate::oauth::AuthCode;
use crate::session::Session;
use crate::store::StoreError;
use crate::user::{User, UserStatus};

/// Added to the authorize request sent through sign-in when a fresh sign-in is required
/// (`prompt=login`, `max_age`, `select_account`): a session created at or after the instant it
/// records satisfies the request, so the round trip ends after one sign-in. It is a JWT signed
/// by ulo for this client: a marker the browser made up (`ulo_reauth=0`) would otherwise let
/// any old session pass `max_age=0`.
pub const REAUTH_PARAM: &str = "ulo_reauth";

/// JWT `typ` of the sign-in marker.
const TYP_REAUTH: &str = "ulo-reauth+jwt";

/// How long after being sent to sign in the marker is honoured; later, the person signs in
/// again.
const REAUTH_WINDOW: time::Duration = time::Duration::minutes(30);

/// Longest `state` and `nonce` accepted.
const MAX_PARAM_LEN: usize = 2048;

/// What the authorization endpoint answers.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthorizeOutcome {
    /// Show an error page: the client or its redirect URI cannot be trusted, so no redirect.
    Refuse {
        /// The standard code.
        error: ErrorCode,
        /// What is wrong, for the person (and the app's developer).
        description: String,
    },
    /// Send the person to sign in, then back to the authorization endpoint with these parameters.
    SignIn {
        /// The authorize request to come back to.
        params: Vec<(String, String)>,
    },
    /// Redirect to the client's registered redirect URI (with a code or an error).
    Redirect {
        /// The full URL.
        location: String,
    },
    /// Ask the signed-in person first (`prompt=select_account` or `prompt=consent`).
    Ask(Question),
}

/// What the person is asked before the authorization request goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionKind {
    /// `prompt=select_account`: go on as the signed-in account, or sign in as another.
    SelectAccount,
    /// `prompt=consent`: allow the app what it asks for, or refuse.
    Consent,
}

/// A question for the person, with where each answer leads.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// Which question.
    pub kind: QuestionKind,
    /// The app asking.
    pub app_label: String,
    /// The signed-in account's login.
    pub login: String,
    /// The scopes the app asks for.
    pub scopes: Vec<String>,
    /// Going on: the authorize request to send again, with this `prompt` value answered. It
    /// asks for nothing the client could not have asked without the value, so it needs no
    /// proof of coming from this page.
    pub proceed: Vec<(String, String)>,
    /// `SelectAccount`: the authorize request to come back with after signing in as another.
    pub sign_in: Vec<(String, String)>,
    /// `Consent`: where refusing goes (the client, with `access_denied`).
    pub decline: String,
}

/// The `prompt` values ulo understands (OIDC Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    /// `none`: never show a sign-in page.
    pub none: bool,
    /// `login`: the person must sign in again.
    pub login: bool,
    /// `consent`: the person confirms what the app asks for, even though an admin assigned it.
    pub consent: bool,
    /// `select_account`: the person chooses the account (the signed-in one, or another).
    pub select_account: bool,
}

impl Prompt {
    /// Parses a space-separated `prompt`.
    pub fn parse(raw: Option<&str>) -> Result<Self, String> {
        let mut p = Prompt::default();
        for v in raw.unwrap_or("").split(' ').filter(|v| !v.is_empty()) {
            match v {
                "none" => p.none = true,
                "login" => p.login = true,
                "consent" => p.consent = true,
                "select_account" => p.select_account = true,
                other => {
                    return Err(format!(
                        "unknown prompt value {other:?}; ulo supports none, login, consent and select_account"
                    ));
                }
            }
        }
        if p.none && raw.is_some_and(|r| r.split(' ').filter(|v| !v.is_empty()).count() > 1) {
            return Err("prompt=none cannot be combined with other values".into());
        }
        Ok(p)
    }
}

/// The validated parts of an authorization request.
struct Request<'p> {
    scopes: Scopes,
    nonce: Option<&'p str>,
    challenge: Option<&'p str>,
    prompt: Prompt,
    max_age: Option<i64>,
    reauth: Option<&'p str>,
}

/// Where errors and codes go once the client is known: its registered redirect URI.
struct Callback<'a> {
    redirect_uri: &'a str,
    state: Option<&'a str>,
    issuer: &'a str,
}

impl Callback<'_> {
    fn with<'p>(&'p self, mut pairs: Vec<(&'p str, &'p str)>) -> AuthorizeOutcome {
        if let Some(s) = self.state {
            pairs.push(("state", s));
        }
        // RFC 9207: tells the client which issuer answered (mix-up defence).
        pairs.push(("iss", self.issuer));
        let location = match url::Url::parse(self.redirect_uri) {
            Ok(mut url) => {
                url.query_pairs_mut().extend_pairs(pairs);
                url.to_string()
            }
            // Registered URIs are validated as URLs; this only guards stored data.
            Err(_) => {
                return AuthorizeOutcome::Refuse {
                    error: ErrorCode::ServerError,
                    description: "the registered redirect URI is not a valid URL".into(),
                };
            }
        };
        AuthorizeOutcome::Redirect { location }
    }

    fn error(&self, code: ErrorCode, description: &str) -> AuthorizeOutcome {
        self.with(vec![
            ("error", code.as_str()),
            ("error_description", description),
        ])
    }
}

fn refuse(error: ErrorCode, description: impl Into<String>) -> AuthorizeOutcome {
    AuthorizeOutcome::Refuse {
        error,
        description: description.into(),
    }
}

/// Checks everything but the person: parameters, scopes, PKCE, prompt.
fn validate<'p>(params: &'p Params, oidc: &OidcClient) -> Result<Request<'p>, (ErrorCode, String)> {
    let bad = |d: &str| (ErrorCode::InvalidRequest, d.to_string());
    if let Some(name) = params.first_repeated() {
        return Err(bad(&format!("parameter {name} was sent more than once")));
    }
    if params.get("request").is_some() {
        return Err((
            ErrorCode::RequestNotSupported,
            "request objects are not supported".into(),
        ));
    }
    if params.get("request_uri").is_some() {
        return Err((
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported".into(),
        ));
    }
    match params.get("response_type") {
        None => return Err(bad("response_type is missing")),
        Some("code") => {}
        Some(other) => {
            return Err((
                ErrorCode::UnsupportedResponseType,
                format!("response_type {other:?} is not supported; use code"),
            ));
        }
    }
    if params.get("response_mode").is_some_and(|m| m != "query") {
        return Err(bad("response_mode must be query"));
    }
    if !oidc.allows(GrantType::AuthorizationCode) {
        return Err((
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code grant".into(),
        ));
    }
    let scopes = Scopes::parse(params.get("scope").unwrap_or(""))
        .map_err(|e| (ErrorCode::InvalidScope, e))?;
    if scopes.is_empty() {
        return Err((
            ErrorCode::InvalidScope,
            "scope is missing; request at least openid".into(),
        ));
    }
    if scopes.has(OFFLINE_ACCESS) && !oidc.allows(GrantType::RefreshToken) {
        return Err((
            ErrorCode::InvalidScope,
            "offline_access needs the refresh_token grant, which this client may not use".into(),
        ));
    }
    let state = params.get("state");
    let nonce = params.get("nonce");
    if state.is_some_and(|s| s.len() > MAX_PARAM_LEN)
        || nonce.is_some_and(|s| s.len() > MAX_PARAM_LEN)
    {
        return Err(bad("state and nonce may be at most 2048 characters"));
    }
    if nonce.is_some_and(|n| n.contains('\0')) {
        return Err(bad("nonce must not contain NUL characters"));
    }
    let challenge = params.get("code_challenge");
    match (challenge, params.get("code_challenge_method")) {
        (None, Some(_)) => return Err(bad("code_challenge_method without code_challenge")),
        (None, None) if oidc.token_endpoint_auth_method == TokenEndpointAuthMethod::None => {
            return Err(bad(
                "PKCE is required for public clients: send code_challenge and code_challenge_method=S256",
            ));
        }
        (None, None) => {}
        (Some(_), m) if m != Some(pkce::S256) => {
            return Err(bad("code_challenge_method must be S256"));
        }
        (Some(c), _) if !pkce::valid_challenge(c) => {
            return Err(bad(
                "code_challenge must be the base64url SHA-256 of the verifier (43 characters)",
            ));
        }
        (Some(_), _) => {}
    }
    let prompt = Prompt::parse(params.get("prompt")).map_err(|e| bad(&e))?;
    let max_age = match params.get("max_age") {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| bad("max_age must be a non-negative number of seconds"))?,
        ),
    };
    Ok(Request {
        scopes,
        nonce,
        challenge,
        prompt,
        max_age,
        reauth: params.get(REAUTH_PARAM),
    })
}

/// The request's parameters with the `prompt` values `answered` taken out (and `prompt`
/// itself when none is left).
fn without_prompt(params: &Params, answered: &[&str]) -> Vec<(String, String)> {
    params
        .pairs()
        .iter()
        .filter_map(|(k, v)| {
            if k != "prompt" {
                return Some((k.clone(), v.clone()));
            }
            let rest: Vec<&str> = v
                .split(' ')
                .filter(|p| !p.is_empty() && !answered.contains(p))
                .collect();
            (!rest.is_empty()).then(|| (k.clone(), rest.join(" ")))
        })
        .collect()
}

/// The parameters to come back with after signing in: `prompt=login` and
/// `prompt=select_account` are satisfied by the sign-in about to happen (where the person
/// picks the account by signing in with it), which the marker records.
fn sign_in_params(params: &Params, marker: String) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = without_prompt(params, &["login", "select_account"])
        .into_iter()
        .filter(|(k, _)| k != REAUTH_PARAM)
        .collect();
    out.push((REAUTH_PARAM.to_string(), marker));
    out
}

/// Whether a sign-in is older than `max_age` seconds allow (OIDC Core §3.1.2.1), compared at
/// the clock's full precision: truncating to whole seconds let a sign-in of 999 ms pass
/// `max_age=0`. `max_age=0` asks for a sign-in made for this very request (the same as
/// `prompt=login`), so no existing session ever satisfies it, even one made this millisecond.
fn max_age_exceeded(max_age: i64, session: &Session, now: OffsetDateTime) -> bool {
    max_age == 0 || now - session.created > time::Duration::seconds(max_age)
}

impl Provider<'_> {
    /// Handles an authorization request from a browser, signed in (`signed_in`) or not.
    pub async fn authorize(
        &self,
        params: &Params,
        signed_in: Option<(&Session, &User)>,
        client: Client,
    ) -> Result<AuthorizeOutcome, StoreError> {
        for name in ["client_id", "redirect_uri"] {
            if params.is_repeated(name) {
                return Ok(refuse(
                    ErrorCode::InvalidRequest,
                    format!("{name} was sent more than once"),
                ));
            }
        }
        let Some(client_id) = params.get("client_id") else {
            return Ok(refuse(ErrorCode::InvalidRequest, "client_id is missing"));
        };
        let app = {
            let mut tx = self.store.read().await?;
            tx.get_app_by_client_id(client_id).await?
        };
        let Some((app, oidc)) = app.and_then(|a| a.oidc.clone().map(|o| (a, o))) else {
            return Ok(refuse(ErrorCode::InvalidClient, "unknown client_id"));
        };
        if app.status != AppStatus::Active {
            return Ok(refuse(
                ErrorCode::UnauthorizedClient,
                "this app is deactivated",
            ));
        }
        let Some(redirect_uri) = params.get("redirect_uri") else {
            return Ok(refuse(ErrorCode::InvalidRequest, "redirect_uri is missing"));
        };
        if !oidc.redirect_uris.iter().any(|u| u == redirect_uri) {
            return Ok(refuse(
                ErrorCode::InvalidRequest,
                "redirect_uri is not registered for this client",
            ));
        }
        let callback = Callback {
            redirect_uri,
            state: params.get("state").filter(|s| s.len() <= MAX_PARAM_LEN),
            issuer: self.issuer,
        };
        let req = match validate(params, &oidc) {
            Ok(r) => r,
            Err((code, d)) => return Ok(callback.error(code, &d)),
        };

        let now = self.clock.now();
        let sign_in = || {
            self.reauth_marker(client_id, now)
                .map(|marker| sign_in_params(params, marker))
        };
        let unsigned = |e: String| {
            refuse(
                ErrorCode::ServerError,
                format!("ulo could not sign the sign-in marker: {e}"),
            )
        };
        let Some((session, user)) =
            signed_in.filter(|(s, u)| s.is_live(now) && u.status == UserStatus::Active)
        else {
            return Ok(if req.prompt.none {
                callback.error(ErrorCode::LoginRequired, "the user is not signed in")
            } else {
                match sign_in() {
                    Ok(params) => AuthorizeOutcome::SignIn { params },
                    Err(e) => unsigned(e),
                }
            });
        };
        // The marker stands for the prompt=login, max_age or select_account that sent the
        // person to sign in: only a sign-in made since satisfies it, and one such sign-in
        // satisfies it for good. A marker that does not verify (forged, another client's,
        // expired) is satisfied by nothing, so the person signs in again.
        let reauth_after = req
            .reauth
            .map(|m| self.reauth_since(m, client_id, now).unwrap_or(i64::MAX));
        let fresh = reauth_after.is_some_and(|t| to_millis(session.created) >= t);
        let too_old = req
            .max_age
            .is_some_and(|m| max_age_exceeded(m, session, now));
        if !fresh && (reauth_after.is_some() || req.prompt.login || too_old) {
            return Ok(if req.prompt.none {
                callback.error(
                    ErrorCode::LoginRequired,
                    "the sign-in is older than max_age allows",
                )
            } else {
                match sign_in() {
                    Ok(params) => AuthorizeOutcome::SignIn { params },
                    Err(e) => unsigned(e),
                }
            });
        }

        let question = |kind, answered: &str| {
            let sign_in = match kind {
                QuestionKind::SelectAccount => match sign_in() {
                    Ok(params) => params,
                    Err(e) => return unsigned(e),
                },
                QuestionKind::Consent => Vec::new(),
            };
            AuthorizeOutcome::Ask(Question {
                kind,
                app_label: app.label.clone(),
                login: user.profile.login.clone(),
                scopes: req
                    .scopes
                    .to_wire()
                    .split(' ')
                    .map(str::to_string)
                    .collect(),
                proceed: without_prompt(params, &[answered]),
                sign_in,
                decline: match callback.error(
                    ErrorCode::AccessDenied,
                    "the user did not allow the app's request",
                ) {
                    AuthorizeOutcome::Redirect { location } => location,
                    _ => String::new(),
                },
            })
        };
        // Before the assignment check: the account signed in may not be the one meant for
        // this app, and choosing another is the answer to that.
        if req.prompt.select_account {
            return Ok(question(QuestionKind::SelectAccount, "select_account"));
        }

        let mut tx = self.store.begin().await?;
        let assigned = tx
            .list_user_app_links(user.id)
            .await?
            .iter()
            .any(|l| l.app.id == app.id);
        if !assigned {
            let ctx = user_context(user, client);
            let ev = LogEvent::build(
                &ctx,
                events::oauth::AUTHORIZE,
                now,
                format!(
                    "Sign-in to {} refused: the app is not assigned to the user",
                    app.label
                ),
            )
            .outcome(Outcome::failure("access_denied"))
            .target(Target::user(user))
            .target(Target::app(&app))
            .debug("clientId", client_id)
            .finish();
            tx.append_event(&ev).await?;
            tx.commit().await?;
            return Ok(callback.error(
                ErrorCode::AccessDenied,
                "the app is not assigned to this user",
            ));
        }
        if req.prompt.consent {
            // Nothing written yet: dropping the transaction rolls it back.
            return Ok(question(QuestionKind::Consent, "consent"));
        }
        let code = random_base62(43);
        tx.insert_auth_code(&self.new_code(&code, &app, session, redirect_uri, &req, now))
            .await?;
        // The session's end must reach this app (single logout).
        tx.record_session_app(session.id, app.id, now).await?;
        tx.commit().await?;
        Ok(callback.with(vec![("code", code.as_str())]))
    }

    /// A sign-in marker for `client_id`: sessions created from `now` on satisfy it.
    fn reauth_marker(&self, client_id: &str, now: OffsetDateTime) -> Result<String, String> {
        let claims = serde_json::json!({
            "iss": self.issuer,
            "aud": self.authorization_endpoint(),
            "client_id": client_id,
            "since_ms": to_millis(now),
            "iat": now.unix_timestamp(),
            "exp": (now + REAUTH_WINDOW).unix_timestamp(),
        });
        self.keys.sign(SigningAlg::default(), TYP_REAUTH, &claims)
    }

    /// The instant (Unix ms) a marker stands for, when ulo signed it for `client_id` and it
    /// has not expired.
    fn reauth_since(&self, marker: &str, client_id: &str, now: OffsetDateTime) -> Option<i64> {
        let check = JwtCheck {
            jwks: None,
            typ: Some(TYP_REAUTH),
            now_unix: now.unix_timestamp(),
            allow_expired: false,
        };
        let claims = self.keys.verify(marker, &check).ok()?;
        let ours = claims["iss"] == self.issuer
            && claims["aud"] == self.authorization_endpoint().as_str()
            && claims["client_id"] == client_id;
        ours.then(|| claims["since_ms"].as_i64()).flatten()
    }

    fn new_code(
        &self,
        code: &str,
        app: &App,
        session: &Session,
        redirect_uri: &str,
        req: &Request<'_>,
        now: OffsetDateTime,
    ) -> AuthCode {
        AuthCode {
            code_hash: hash_secret(code),
            app_id: app.id,
            user_id: session.user_id,
            session_id: session.id,
            redirect_uri: redirect_uri.to_string(),
            scope: req.scopes.to_wire(),
            nonce: req.nonce.map(str::to_string),
            code_challenge: req.challenge.map(str::to_string),
            code_challenge_method: req.challenge.map(|_| pkce::S256.to_string()),
            auth_time: session.created,
            created: now,
            expires: now + CODE_LIFETIME,
            used: None,
            grant_id: GrantId::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_values() {
        assert_eq!(Prompt::parse(None), Ok(Prompt::default()));
        assert_eq!(
            Prompt::parse(Some("login consent")),
            Ok(Prompt {
                login: true,
                consent: true,
                ..Prompt::default()
            })
        );
        assert_eq!(
            Prompt::parse(Some("select_account")),
            Ok(Prompt {
                select_account: true,
                ..Prompt::default()
            })
        );
        assert!(Prompt::parse(Some("none login")).is_err());
        assert!(Prompt::parse(Some("bogus")).is_err());
    }

    #[test]
    fn sign_in_drops_prompt_login_and_marks_the_time() {
        let p =
            Params::parse(b"client_id=c&prompt=login+select_account+consent&ulo_reauth=1&state=s");
        let out = sign_in_params(&p, "signed-marker".into());
        assert!(out.contains(&("prompt".into(), "consent".into())));
        assert!(out.contains(&("state".into(), "s".into())));
        assert_eq!(out.iter().filter(|(k, _)| k == REAUTH_PARAM).count(), 1);
        assert!(out.contains(&(REAUTH_PARAM.into(), "signed-marker".into())));
    }
}
