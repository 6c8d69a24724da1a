//! The set of keys a server signs with and publishes.

use std::collections::HashSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::error::JoseError;
use crate::keys::{KeyAlg, PRIVATE_JWK_MEMBERS, SigningKey};
use crate::verify::{VerifyOptions, verify_with_jwks};

/// The keys a server signs with and publishes.
#[derive(Debug)]
pub struct KeyRing {
    /// At most one signing key per algorithm.
    active: Vec<SigningKey>,
    /// Published keys that no longer sign tokens but still vouch for their successors (a key
    /// rollover for clients that pinned them, such as device agents).
    rollover: Vec<SigningKey>,
    /// The JWKS document, built once because it is served on every `/keys` request.
    jwks: Value,
}

/// Protected header of tokens signed by a [`KeyRing`].
#[derive(serde::Serialize)]
struct JwsHeader<'a> {
    alg: &'static str,
    kid: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    typ: &'a str,
}

impl KeyRing {
    /// `active`: one signing key per alg (the newest ACTIVE); `published`: every public JWK to publish (active and not yet retired).
    pub fn new(active: Vec<SigningKey>, published: Vec<Value>) -> Result<Self, JoseError> {
        let mut kids = HashSet::new();
        for jwk in &published {
            let kid = jwk
                .get("kid")
                .and_then(Value::as_str)
                .filter(|k| !k.is_empty())
                .ok_or_else(|| JoseError::KeyRing("a published JWK has no kid".into()))?;
            if !kids.insert(kid) {
                return Err(JoseError::KeyRing(format!(
                    "kid {kid:?} is published twice"
                )));
            }
            if jwk.get("kty").and_then(Value::as_str).is_none() {
                return Err(JoseError::KeyRing(format!(
                    "published JWK {kid:?} has no kty"
                )));
            }
            // Last line of defence against publishing private key material.
            if let Some(member) = PRIVATE_JWK_MEMBERS.iter().find(|m| jwk.get(**m).is_some()) {
                return Err(JoseError::KeyRing(format!(
                    "published JWK {kid:?} contains private member {member:?}"
                )));
            }
        }

        let mut algs = HashSet::new();
        for key in &active {
            if !algs.insert(key.alg) {
                return Err(JoseError::KeyRing(format!(
                    "more than one active {} key",
                    key.alg
                )));
            }
            // Tokens signed with a key nobody can fetch would fail verification everywhere,
            // and a mismatch means the store's sealed key and public JWK disagree.
            let published_jwk = published
                .iter()
                .find(|jwk| jwk.get("kid").and_then(Value::as_str) == Some(key.kid.as_str()))
                .ok_or_else(|| {
                    JoseError::KeyRing(format!(
                        "active key {:?} is not in the published set",
                        key.kid
                    ))
                })?;
            if !key.matches_public_jwk(published_jwk) {
                return Err(JoseError::KeyRing(format!(
                    "published JWK {:?} does not match the active private key",
                    key.kid
                )));
            }
        }

        Ok(Self {
            active,
            rollover: Vec::new(),
            jwks: serde_json::json!({ "keys": published }),
        })
    }

    /// Adds published, no longer active keys that may sign with [`KeyRing::sign_as`] only (to
    /// vouch for the current key set to clients that pinned them); each must be published and
    /// match its JWK.
    pub fn with_rollover(mut self, keys: Vec<SigningKey>) -> Result<Self, JoseError> {
        for key in keys {
            let published = self.jwks["keys"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|jwk| jwk.get("kid").and_then(Value::as_str) == Some(key.kid.as_str()))
                .ok_or_else(|| {
                    JoseError::KeyRing(format!("rollover key {:?} is not published", key.kid))
                })?;
            if !key.matches_public_jwk(published) {
                return Err(JoseError::KeyRing(format!(
                    "published JWK {:?} does not match the rollover private key",
                    key.kid
                )));
            }
            if self.signer(&key.kid).is_none() {
                self.rollover.push(key);
            }
        }
        Ok(self)
    }

    /// The kids this ring can sign with: the active keys first, then the rollover keys.
    pub fn signing_kids(&self) -> impl Iterator<Item = &str> {
        self.active
            .iter()
            .chain(&self.rollover)
            .map(|k| k.kid.as_str())
    }

    /// Signs `claims` with the key `kid` (active or rollover), header {alg, kid, typ}.
    pub fn sign_as(
        &self,
        kid: &str,
        typ: &str,
        claims: &impl serde::Serialize,
    ) -> Result<String, JoseError> {
        let key = self
            .signer(kid)
            .ok_or_else(|| JoseError::UnknownKid(kid.to_string()))?;
        sign_with(key, typ, claims)
    }

    /// The JWKS document: `{"keys":[...]}`.
    pub fn jwks(&self) -> Value {
        self.jwks.clone()
    }

    /// Borrowed JWKS document, for verification without cloning.
    pub fn jwks_ref(&self) -> &Value {
        &self.jwks
    }

    /// The kid of the active key for `alg`, if any.
    pub fn active_kid(&self, alg: KeyAlg) -> Option<&str> {
        self.active_key(alg).map(|k| k.kid.as_str())
    }

    /// Signs `claims` with the active key for `alg`, header {alg, kid, typ}.
    ///
    /// `claims` must serialize to a JSON object; an empty `typ` omits the `typ` header.
    pub fn sign(
        &self,
        alg: KeyAlg,
        typ: &str,
        claims: &impl serde::Serialize,
    ) -> Result<String, JoseError> {
        let key = self.active_key(alg).ok_or(JoseError::NoActiveKey(alg))?;
        sign_with(key, typ, claims)
    }

    /// Verifies a token against this ring's published keys.
    pub fn verify(
        &self,
        token: &str,
        opts: &VerifyOptions<'_>,
    ) -> Result<(jsonwebtoken::Header, Value), JoseError> {
        verify_with_jwks(token, &self.jwks, opts)
    }

    /// The active key for `alg`.
    fn active_key(&self, alg: KeyAlg) -> Option<&SigningKey> {
        self.active.iter().find(|k| k.alg == alg)
    }

    /// The active or rollover key `kid`.
    fn signer(&self, kid: &str) -> Option<&SigningKey> {
        self.active
            .iter()
            .chain(&self.rollover)
            .find(|k| k.kid == kid)
    }
}

/// A compact JWS of `claims` signed by `key`, header {alg, kid, typ}.
fn sign_with(
    key: &SigningKey,
    typ: &str,
    claims: &impl serde::Serialize,
) -> Result<String, JoseError> {
    let claims = serde_json::to_value(claims).map_err(|e| JoseError::Claims(e.to_string()))?;
    if !claims.is_object() {
        return Err(JoseError::Claims("claims must be a JSON object".into()));
    }
    let header = JwsHeader {
        alg: key.alg.as_str(),
        kid: &key.kid,
        typ,
    };
    let header = serde_json::to_vec(&header).map_err(|e| JoseError::Claims(e.to_string()))?;
    let payload = serde_json::to_vec(&claims).map_err(|e| JoseError::Claims(e.to_string()))?;
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(payload));
    let signature = key.sign_raw(token.as_bytes())?;
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(token)
}
