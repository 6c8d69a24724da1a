//! ulo as an OpenID Connect provider: authorization requests, codes, token grants (code with
//! PKCE, refresh with rotation and reuse detection, client credentials), client
//! authentication, introspection, revocation, userinfo and RP-initiated logout.
//!
//! Signing and verifying JWTs is infrastructure: the domain reaches it through [`TokenKeys`].

mod authorize;
mod claims;
mod client_auth;
pub mod cors;
mod end_session;
mod error;
mod grant;
mod introspect;
mod params;
pub mod pkce;
pub mod scope;

pub use authorize::{AuthorizeOutcome, Prompt, Question, QuestionKind, REAUTH_PARAM};
pub use client_auth::{ClientAssertion, ClientCredentials};
pub use end_session::{END_REASON as SIGN_OUT_REASON, EndSessionOutcome, EndSessionRequest};
pub use error::{ErrorCode, OAuthError};
pub use grant::{TokenRequest, TokenResponse};
pub use introspect::BearerError;
pub use params::Params;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::app::SigningAlg;
use crate::clock::Clock;
use crate::context::{Context, new_transaction};
use crate::log::{Actor, Client};
use crate::store::Store;
use crate::user::User;

/// Lifetime of an authorization code.
pub const CODE_LIFETIME: time::Duration = time::Duration::seconds(60);
/// Lifetime of an ID token.
pub const ID_TOKEN_LIFETIME: time::Duration = time::Duration::hours(1);
/// JWT `typ` of ID tokens.
pub const TYP_ID_TOKEN: &str = "JWT";
/// JWT `typ` of access tokens (RFC 9068).
pub const TYP_ACCESS_TOKEN: &str = "at+jwt";

/// What a JWT must satisfy besides its signature.
#[derive(Debug, Clone, Copy)]
pub struct JwtCheck<'a> {
    /// Verify against these keys (a JWKS); `None`: ulo's own published keys.
    pub jwks: Option<&'a Value>,
    /// Required `typ` header, if any.
    pub typ: Option<&'a str>,
    /// The current Unix time.
    pub now_unix: i64,
    /// Accept an expired token (e.g. an `id_token_hint`).
    pub allow_expired: bool,
}

/// ulo's signing keys and JWT verification, implemented by the server over its key ring.
pub trait TokenKeys: Send + Sync {
    /// Signs `claims` with ulo's active key for `alg`, with header `typ`.
    fn sign(&self, alg: SigningAlg, typ: &str, claims: &Value) -> Result<String, String>;
    /// Verifies a JWT's signature (asymmetric algorithms only), `typ`, `exp`, `nbf` and `iat`;
    /// answers its claims. Issuer and audience are the caller's to check.
    fn verify(&self, token: &str, check: &JwtCheck<'_>) -> Result<Value, String>;
}

/// The OpenID provider over a store, a clock and ulo's keys.
pub struct Provider<'a> {
    /// Where everything is kept.
    pub store: &'a dyn Store,
    /// What time it is.
    pub clock: &'a dyn Clock,
    /// Signs and verifies tokens.
    pub keys: &'a dyn TokenKeys,
    /// ulo's issuer URL (no trailing slash).
    pub issuer: &'a str,
    /// How the end of a session (RP-initiated logout) reaches apps.
    pub single_logout: crate::logout::SingleLogout,
    /// How refresh-token families' later uses are compared with their beginning.
    pub session_influence: &'a crate::session_influence::Settings,
    /// How detections count (session influence records them).
    pub risk: crate::risk::RiskSettings,
}

impl Provider<'_> {
    /// The token endpoint URL (the audience of client assertions).
    pub fn token_endpoint(&self) -> String {
        format!("{}/oauth2/v1/token", self.issuer)
    }

    /// The authorization endpoint URL (the audience of sign-in markers).
    pub fn authorization_endpoint(&self) -> String {
        format!("{}/oauth2/v1/authorize", self.issuer)
    }
}

/// SHA-256 hex of an opaque secret (codes, refresh tokens, client secrets).
pub fn hash_secret(secret: &str) -> String {
    crate::auth::hash_token(secret)
}

/// Compares two byte strings in time independent of where they differ.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// base64url (no padding) of the left half of SHA-256 of `token`: `at_hash` for ES256/RS256.
pub fn left_hash(token: &str) -> String {
    use base64::Engine;
    let digest = Sha256::digest(token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// The context of an action a person takes in their browser (sign-in to an app, logout).
pub fn user_context(user: &User, client: Client) -> Context {
    Context::user(user, Vec::new(), client, new_transaction("WEB"))
}

/// The context of an action an OAuth client takes on its own behalf (revocation, client credentials).
pub fn client_context(client_id: &str, label: &str, client: Client) -> Context {
    Context {
        authority: crate::context::Authority::Full,
        actor: Actor {
            id: client_id.to_string(),
            actor_type: "PublicClientApp".into(),
            alternate_id: client_id.to_string(),
            display_name: label.to_string(),
        },
        actor_user: None,
        roles: Vec::new(),
        client,
        transaction: new_transaction("WEB"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_equality() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(ct_eq(b"", b""));
    }

    #[test]
    fn at_hash_is_the_left_half() {
        // OIDC Core A.3's example access token and at_hash (RS256, SHA-256).
        assert_eq!(
            left_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
