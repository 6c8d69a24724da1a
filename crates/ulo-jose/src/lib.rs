//! ulo-jose: master key sealing, signing keys, JWKS publication and JWT signing/verification.
//!
//! aws-lc-rs is the only crypto backend: it seals private keys, generates and signs with
//! them, and backs jsonwebtoken's verification.

mod error;
mod keys;
mod master_key;
mod remote;
mod ring;
mod verify;

pub use error::JoseError;
pub use keys::{
    GeneratedKey, KeyAlg, SigningKey, generate_key, jwk_thumbprint, public_jwk_from_pkcs8,
};
pub use master_key::MasterKey;
pub use remote::RemoteJwks;
pub use ring::KeyRing;
pub use verify::{PublicKey, VerifyOptions, verify_with_jwks, verify_with_key};

/// Re-exported so dependants (and their tests) use the same jsonwebtoken version and features.
pub use jsonwebtoken;
/// Re-exported so callers can name the header type returned by [`verify_with_jwks`].
pub use jsonwebtoken::Header;

/// Well-known JWT `typ` header values used by ulo.
pub mod typ {
    /// Universal Logout / global token revocation request JWT.
    pub const GLOBAL_TOKEN_REVOCATION: &str = "global-token-revocation+jwt";
    /// OpenID Connect Back-Channel Logout token.
    pub const LOGOUT: &str = "logout+jwt";
    /// Security Event Token (RFC 8417).
    pub const SECEVENT: &str = "secevent+jwt";
    /// OAuth 2.0 JWT access token (RFC 9068).
    pub const ACCESS_TOKEN: &str = "at+jwt";
    /// Plain JWT (e.g. ID tokens).
    pub const JWT: &str = "JWT";
}
