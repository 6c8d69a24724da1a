//! Client authentication at the token, introspection and revocation endpoints:
//! `client_secret_basic`, `client_secret_post`, `private_key_jwt` (RFC 7523) and `none`.
//! A client must use the method it was registered with, and only one per request.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;

use super::params::Params;
use super::{JwtCheck, OAuthError, Provider, ct_eq, hash_secret};
use crate::app::{App, AppStatus, OidcClient, TokenEndpointAuthMethod};
use crate::store::StoreTx;

/// `client_assertion_type` of a JWT client assertion.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Longest lifetime a client assertion may claim.
const MAX_ASSERTION_LIFETIME: i64 = 3600;

/// A JWT the client signed with its key.
#[derive(Debug, Clone)]
pub struct ClientAssertion {
    /// `client_id` sent beside it, if any.
    pub client_id: Option<String>,
    /// The JWT.
    pub assertion: String,
}

/// How a request says which client sends it.
#[derive(Debug, Clone)]
pub enum ClientCredentials {
    /// `Authorization: Basic` with the client id and secret.
    Basic {
        /// Client id.
        client_id: String,
        /// Secret (never logged).
        secret: String,
    },
    /// `client_id` and `client_secret` in the form.
    Post {
        /// Client id.
        client_id: String,
        /// Secret (never logged).
        secret: String,
    },
    /// `client_assertion` (private_key_jwt).
    Assertion(ClientAssertion),
    /// Only `client_id`: a public client.
    Public {
        /// Client id.
        client_id: String,
    },
}

impl ClientCredentials {
    /// Reads the credentials from the `Authorization` header and the form; `None` when the
    /// request names no client. More than one method in a request is refused.
    pub fn from_request(
        authorization: Option<&str>,
        form: &Params,
    ) -> Result<Option<Self>, OAuthError> {
        for name in [
            "client_id",
            "client_secret",
            "client_assertion",
            "client_assertion_type",
        ] {
            if form.is_repeated(name) {
                return Err(OAuthError::invalid_request(format!(
                    "{name} was sent more than once"
                )));
            }
        }
        let basic = authorization.map(parse_basic).transpose()?;
        let secret = form.get("client_secret");
        let assertion = form.get("client_assertion");
        let used = [basic.is_some(), secret.is_some(), assertion.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if used > 1 {
            return Err(OAuthError::invalid_request(
                "use one client authentication method per request",
            ));
        }
        let form_id = form.get("client_id").map(str::to_string);
        if let Some((client_id, secret)) = basic {
            if form_id.as_ref().is_some_and(|f| *f != client_id) {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the one in the Authorization header",
                ));
            }
            return Ok(Some(ClientCredentials::Basic { client_id, secret }));
        }
        if let Some(assertion) = assertion {
            if form.get("client_assertion_type") != Some(JWT_BEARER) {
                return Err(OAuthError::invalid_request(format!(
                    "client_assertion_type must be {JWT_BEARER}"
                )));
            }
            return Ok(Some(ClientCredentials::Assertion(ClientAssertion {
                client_id: form_id,
                assertion: assertion.to_string(),
            })));
        }
        Ok(match (form_id, secret) {
            (Some(client_id), Some(secret)) => Some(ClientCredentials::Post {
                client_id,
                secret: secret.to_string(),
            }),
            (None, Some(_)) => {
                return Err(OAuthError::invalid_request(
                    "client_secret without client_id",
                ));
            }
            (Some(client_id), None) => Some(ClientCredentials::Public { client_id }),
            (None, None) => None,
        })
    }

    /// Whether the client tried HTTP Basic (its failure answer must challenge Basic).
    pub fn is_basic(&self) -> bool {
        matches!(self, ClientCredentials::Basic { .. })
    }
}

/// Decodes `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn parse_basic(header: &str) -> Result<(String, String), OAuthError> {
    let bad = || OAuthError::invalid_client("malformed Basic credentials");
    let (scheme, rest) = header.trim().split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("Basic") {
        return Err(OAuthError::invalid_client(
            "the token endpoint takes Basic client credentials, not this Authorization scheme",
        ));
    }
    let raw = STANDARD.decode(rest.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let (id, secret) = (decode(id), decode(secret));
    if id.is_empty() {
        return Err(bad());
    }
    Ok((id, secret))
}

/// The unverified `iss` of a JWT, to find the client whose keys verify it.
fn unverified_issuer(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    claims.get("iss")?.as_str().map(str::to_string)
}

fn failed() -> OAuthError {
    OAuthError::invalid_client("client authentication failed")
}

impl Provider<'_> {
    /// Authenticates the client of a request; `audiences` are the URLs a client assertion may
    /// be addressed to. Answers the ACTIVE app. Every failure is `invalid_client`.
    pub(crate) async fn authenticate_client(
        &self,
        tx: &mut dyn StoreTx,
        creds: &ClientCredentials,
        audiences: &[String],
    ) -> Result<(App, OidcClient), OAuthError> {
        let client_id = match creds {
            ClientCredentials::Basic { client_id, .. }
            | ClientCredentials::Post { client_id, .. }
            | ClientCredentials::Public { client_id } => client_id.clone(),
            ClientCredentials::Assertion(a) => {
                match (&a.client_id, unverified_issuer(&a.assertion)) {
                    (Some(id), _) => id.clone(),
                    (None, Some(iss)) => iss,
                    (None, None) => return Err(failed()),
                }
            }
        };
        let app = tx
            .get_app_by_client_id(&client_id)
            .await?
            .ok_or_else(failed)?;
        let oidc = app.oidc.clone().ok_or_else(failed)?;
        if app.status != AppStatus::Active {
            return Err(OAuthError::invalid_client(
                "the client's app is deactivated",
            ));
        }
        let registered = oidc.token_endpoint_auth_method;
        let used = match creds {
            ClientCredentials::Basic { .. } => TokenEndpointAuthMethod::ClientSecretBasic,
            ClientCredentials::Post { .. } => TokenEndpointAuthMethod::ClientSecretPost,
            ClientCredentials::Assertion(_) => TokenEndpointAuthMethod::PrivateKeyJwt,
            ClientCredentials::Public { .. } => TokenEndpointAuthMethod::None,
        };
        if used != registered {
            return Err(OAuthError::invalid_client(format!(
                "this client is registered for token endpoint auth method {}",
                serde_json::to_value(registered)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            )));
        }
        match creds {
            ClientCredentials::Basic { secret, .. } | ClientCredentials::Post { secret, .. } => {
                let stored = app
                    .secrets
                    .client_secret_hash
                    .as_deref()
                    .ok_or_else(failed)?;
                if !ct_eq(hash_secret(secret).as_bytes(), stored.as_bytes()) {
                    return Err(failed());
                }
            }
            ClientCredentials::Assertion(a) => {
                self.check_assertion(tx, &client_id, &oidc, &a.assertion, audiences)
                    .await?;
            }
            ClientCredentials::Public { .. } => {}
        }
        Ok((app, oidc))
    }

    /// Verifies a `private_key_jwt` assertion (RFC 7523 §3) and records its `jti` against replay.
    async fn check_assertion(
        &self,
        tx: &mut dyn StoreTx,
        client_id: &str,
        oidc: &OidcClient,
        assertion: &str,
        audiences: &[String],
    ) -> Result<(), OAuthError> {
        let jwks = oidc.jwks.as_ref().ok_or_else(failed)?;
        let now = self.clock.now();
        let claims = self
            .keys
            .verify(
                assertion,
                &JwtCheck {
                    jwks: Some(jwks),
                    typ: None,
                    now_unix: now.unix_timestamp(),
                    allow_expired: false,
                },
            )
            .map_err(|e| OAuthError::invalid_client(format!("client assertion: {e}")))?;
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        if text("iss") != Some(client_id) || text("sub") != Some(client_id) {
            return Err(OAuthError::invalid_client(
                "client assertion: iss and sub must be the client_id",
            ));
        }
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => audiences.iter().any(|x| x == a),
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(Value::as_str)
                .any(|a| audiences.iter().any(|x| x == a)),
            _ => false,
        };
        if !aud_ok {
            return Err(OAuthError::invalid_client(format!(
                "client assertion: aud must be {}",
                audiences.first().map(String::as_str).unwrap_or_default()
            )));
        }
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or_else(|| OAuthError::invalid_client("client assertion: exp is required"))?;
        if exp - now.unix_timestamp() > MAX_ASSERTION_LIFETIME {
            return Err(OAuthError::invalid_client(
                "client assertion: exp may be at most an hour away",
            ));
        }
        let jti = text("jti")
            .filter(|j| !j.is_empty() && j.len() <= 256)
            .ok_or_else(|| OAuthError::invalid_client("client assertion: jti is required"))?;
        let until = time::OffsetDateTime::from_unix_timestamp(exp)
            .map_err(|_| OAuthError::invalid_client("client assertion: exp out of range"))?;
        let namespace = format!("client-assertion:{client_id}");
        if !tx.remember_jti(&namespace, jti, until, now).await? {
            return Err(OAuthError::invalid_client(
                "client assertion: this jti was already used",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(s: &str) -> Params {
        Params::parse(s.as_bytes())
    }

    #[test]
    fn reads_each_method() {
        let basic = format!("Basic {}", STANDARD.encode("my%20id:s%3Acret"));
        match ClientCredentials::from_request(Some(&basic), &form("grant_type=x")) {
            Ok(Some(ClientCredentials::Basic { client_id, secret })) => {
                assert_eq!(client_id, "my id");
                assert_eq!(secret, "s:cret");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            ClientCredentials::from_request(None, &form("client_id=a&client_secret=b")),
            Ok(Some(ClientCredentials::Post { .. }))
        ));
        assert!(matches!(
            ClientCredentials::from_request(None, &form("client_id=a")),
            Ok(Some(ClientCredentials::Public { .. }))
        ));
        assert!(matches!(
            ClientCredentials::from_request(None, &form("")),
            Ok(None)
        ));
        let jwt = format!(
            "client_assertion=a.b.c&client_assertion_type={}",
            url::form_urlencoded::byte_serialize(JWT_BEARER.as_bytes()).collect::<String>()
        );
        assert!(matches!(
            ClientCredentials::from_request(None, &form(&jwt)),
            Ok(Some(ClientCredentials::Assertion(_)))
        ));
    }

    #[test]
    fn refuses_two_methods_and_repeats() {
        let basic = format!("Basic {}", STANDARD.encode("a:b"));
        assert!(
            ClientCredentials::from_request(Some(&basic), &form("client_id=a&client_secret=b"))
                .is_err()
        );
        assert!(ClientCredentials::from_request(None, &form("client_id=a&client_id=b")).is_err());
        assert!(ClientCredentials::from_request(None, &form("client_secret=b")).is_err());
        assert!(ClientCredentials::from_request(Some("Bearer x"), &form("")).is_err());
        assert!(ClientCredentials::from_request(None, &form("client_assertion=a.b.c")).is_err());
    }
}
