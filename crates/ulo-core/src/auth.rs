//! Admin credentials: API tokens (stored hashed) and signing-key records.

use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::clock::serde_rfc3339;
use crate::ids::{ApiTokenId, UserId};
use crate::user::str_enum;

/// A long-lived admin credential (`Authorization: SSWS <token>`). Only its hash is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiToken {
    /// Id.
    pub id: ApiTokenId,
    /// Owner; the token acts with the owner's roles.
    pub user_id: UserId,
    /// Name chosen by the owner.
    pub name: String,
    /// First characters of the token, to tell tokens apart.
    pub token_prefix: String,
    /// When created.
    #[serde(with = "serde_rfc3339")]
    pub created: OffsetDateTime,
    /// When last used.
    #[serde(with = "serde_rfc3339::option")]
    pub last_used: Option<OffsetDateTime>,
    /// When revoked, if it was.
    #[serde(with = "serde_rfc3339::option")]
    pub revoked: Option<OffsetDateTime>,
    /// SHA-256 hex of the token.
    #[serde(skip)]
    pub token_hash: String,
    /// The scopes the token is limited to; `None`: an unrestricted admin token acting with its
    /// owner's roles. A token with scopes cannot call the admin API.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scopes: Option<Vec<String>>,
}

const TOKEN_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `n` random base62 characters.
pub fn random_base62(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| TOKEN_ALPHABET[rng.random_range(0..TOKEN_ALPHABET.len())] as char)
        .collect()
}

/// A new random token: `ulo_` and 40 base62 characters (~238 bits).
pub fn new_token_secret() -> String {
    format!("ulo_{}", random_base62(40))
}

/// SHA-256 hex of a token: tokens have enough entropy that a slow hash adds nothing.
pub fn hash_token(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

impl ApiToken {
    /// A token record for `secret`, owned by `user_id`.
    pub fn new(user_id: UserId, name: &str, secret: &str, now: OffsetDateTime) -> Self {
        ApiToken {
            id: ApiTokenId::new(),
            user_id,
            name: name.to_string(),
            token_prefix: secret.chars().take(8).collect(),
            created: now,
            last_used: None,
            revoked: None,
            token_hash: hash_token(secret),
            scopes: None,
        }
    }
}

/// Where a signing key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KeyState {
    /// Signs new tokens and is published.
    Active,
    /// Replaced, still published so tokens it signed verify.
    Published,
    /// Gone from the JWKS.
    Retired,
}
str_enum!(KeyState { Active => "ACTIVE", Published => "PUBLISHED", Retired => "RETIRED" });

/// A stored signing key: the private part sealed with the master key.
#[derive(Debug, Clone, PartialEq)]
pub struct SigningKeyRecord {
    /// JWK thumbprint.
    pub kid: String,
    /// ES256 or RS256.
    pub alg: String,
    /// Life state.
    pub state: KeyState,
    /// Sealed PKCS#8 private key.
    pub private_sealed: String,
    /// Public JWK.
    pub public_jwk: serde_json::Value,
    /// Created.
    pub created: OffsetDateTime,
    /// When it left ACTIVE or PUBLISHED last.
    pub state_changed: Option<OffsetDateTime>,
}
