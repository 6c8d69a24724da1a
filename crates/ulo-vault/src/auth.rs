//! Who is calling: the admin (bearer `ULO_VAULT_ADMIN_TOKEN`), or a person (vault session
//! cookie, or an access token ulo issued to the vault, checked with ulo on every call).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};

use crate::error::VaultError;
use crate::model::{Person, Provisioning, Session};
use crate::secret;
use crate::vault::Vault;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "ulo_vault_session";
/// The cookie binding an OIDC sign-in to the browser that started it.
pub const LOGIN_COOKIE: &str = "ulo_vault_login";

/// The value of cookie `name` in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

/// The admin, authenticated by the admin token.
#[derive(Debug)]
pub struct Admin;

impl FromRequestParts<Arc<Vault>> for Admin {
    type Rejection = VaultError;

    async fn from_request_parts(parts: &mut Parts, vault: &Arc<Vault>) -> Result<Self, VaultError> {
        match bearer(parts) {
            Some(t) if secret::equal(t, &vault.settings.admin_token) => Ok(Admin),
            Some(_) => Err(VaultError::Unauthorized(
                "the admin bearer token is not valid".into(),
            )),
            None => Err(VaultError::Unauthorized(
                "send Authorization: Bearer <ULO_VAULT_ADMIN_TOKEN>".into(),
            )),
        }
    }
}

/// How a person authenticated.
#[derive(Debug, Clone, PartialEq)]
pub enum Via {
    /// A vault session (cookie).
    Session(Session),
    /// An access token from ulo.
    AccessToken,
}

/// A signed-in person.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Who.
    pub person: Person,
    /// How.
    pub via: Via,
}

/// Whether `person` may use the vault: provisioned by SCIM and active.
pub fn may_sign_in(person: &Person) -> Result<(), VaultError> {
    if person.provisioned_by != Provisioning::Scim {
        return Err(VaultError::Forbidden(format!(
            "{} was not provisioned by SCIM from ulo, so cannot sign in",
            person.user_name
        )));
    }
    if !person.active {
        return Err(VaultError::Forbidden(format!(
            "{} is deactivated",
            person.user_name
        )));
    }
    Ok(())
}

impl SignedIn {
    /// The person behind a session cookie, if it is live.
    pub async fn from_cookie(vault: &Vault, value: &str) -> Result<Option<SignedIn>, VaultError> {
        let now = vault.clock.now();
        let mut tx = vault.read().await?;
        let Some(session) = tx.session_by_hash(&secret::hash(value)).await? else {
            return Ok(None);
        };
        if session.ended.is_some() || session.expires <= now {
            return Ok(None);
        }
        let Some(person) = tx.person(&session.person_id).await? else {
            return Ok(None);
        };
        if may_sign_in(&person).is_err()
            || person
                .tokens_not_before
                .is_some_and(|t| session.created < t)
        {
            return Ok(None);
        }
        Ok(Some(SignedIn {
            person,
            via: Via::Session(session),
        }))
    }

    async fn from_token(vault: &Vault, token: &str) -> Result<SignedIn, VaultError> {
        let invalid = || {
            VaultError::Unauthorized(
                "the access token is not live, or was not issued to the vault".into(),
            )
        };
        let live = vault.rp.introspect(token).await?.ok_or_else(invalid)?;
        let person = vault
            .read()
            .await?
            .person_by_external_id(&live.sub)
            .await?
            .ok_or_else(|| {
                VaultError::Forbidden(
                    "you were not provisioned to the vault; ask an admin to assign it to you in ulo"
                        .into(),
                )
            })?;
        may_sign_in(&person)?;
        if let (Some(nb), Some(iat)) = (person.tokens_not_before, live.iat)
            && iat * 1000 < ulo_core::clock::to_millis(nb)
        {
            return Err(invalid());
        }
        Ok(SignedIn {
            person,
            via: Via::AccessToken,
        })
    }
}

impl FromRequestParts<Arc<Vault>> for SignedIn {
    type Rejection = VaultError;

    async fn from_request_parts(parts: &mut Parts, vault: &Arc<Vault>) -> Result<Self, VaultError> {
        if let Some(token) = bearer(parts) {
            return SignedIn::from_token(vault, token).await;
        }
        let Some(value) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(VaultError::Unauthorized(
                "sign in at /login, or send Authorization: Bearer <access token from ulo>".into(),
            ));
        };
        // A cookie rides along on cross-site requests too: state changes must come from the
        // vault's own pages.
        if parts.method != Method::GET && !same_origin(parts, &vault.settings.public_url) {
            return Err(VaultError::Forbidden(
                "this request did not come from the vault's own pages".into(),
            ));
        }
        SignedIn::from_cookie(vault, value).await?.ok_or_else(|| {
            VaultError::Unauthorized("your vault session has ended; sign in again at /login".into())
        })
    }
}

/// Whether what the browser says about where the request came from (`Sec-Fetch-Site`,
/// `Origin`, when sent) allows it to be the vault's own page: ulo's rules
/// ([`ulo_core::csrf::Provenance`]), so sibling origins and `Origin: null` are refused too.
pub fn same_origin(parts: &Parts, public_url: &str) -> bool {
    let get = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let provenance = ulo_core::csrf::Provenance {
        sec_fetch_site: get("sec-fetch-site"),
        origin: get(header::ORIGIN.as_str()),
    };
    url::Url::parse(public_url)
        .is_ok_and(|u| provenance.check(&u.origin().ascii_serialization()).is_ok())
}
