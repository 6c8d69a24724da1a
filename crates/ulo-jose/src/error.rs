//! The single error type of this crate.

use crate::keys::KeyAlg;

/// Everything that can go wrong while handling keys, sealed data and JWTs.
#[derive(Debug, thiserror::Error)]
pub enum JoseError {
    /// The master key material is malformed (never contains the key itself).
    #[error("invalid master key: {0}")]
    BadMasterKey(String),

    /// The master key file is readable by other users, so it is not trusted.
    #[error("insecure master key file: {0}")]
    InsecureKeyFile(String),

    /// A filesystem operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, including the path.
        context: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// Authenticated decryption failed.
    #[error(
        "could not decrypt sealed data: the master key may be wrong (ULO_MASTER_KEY or the key \
         file differs from the one used to seal it), or the data was modified"
    )]
    Decrypt,

    /// A sealed string is not in a format this version understands.
    #[error("malformed sealed data: {0}")]
    SealedFormat(String),

    /// An unexpected failure inside the crypto library.
    #[error("cryptographic operation failed: {0}")]
    Crypto(String),

    /// Key generation failed.
    #[error("key generation failed: {0}")]
    KeyGen(String),

    /// A private or public key could not be parsed or does not match its description.
    #[error("invalid key: {0}")]
    InvalidKey(String),

    /// The key ring was built from inconsistent inputs.
    #[error("invalid key ring: {0}")]
    KeyRing(String),

    /// No active signing key exists for the requested algorithm.
    #[error("no active signing key for {0}")]
    NoActiveKey(KeyAlg),

    /// Remote keys or a configuration could not be fetched.
    #[error("could not fetch keys: {0}")]
    Fetch(String),
    /// The token names a key id that is not in the key set.
    #[error("unknown key id {0:?}")]
    UnknownKid(String),

    /// The token has no `kid` and the key set does not identify a single candidate key.
    #[error("token has no kid and the key set has {0} candidate keys for its algorithm")]
    MissingKid(usize),

    /// The algorithm is not accepted (symmetric, `none`, or unknown).
    #[error("unsupported or forbidden algorithm {0:?}")]
    UnsupportedAlg(String),

    /// The `typ` header differs from the expected one.
    #[error("unexpected token type: expected {expected:?}, found {found:?}")]
    BadTyp {
        /// The expected `typ`.
        expected: String,
        /// The `typ` in the token (`"<none>"` if absent).
        found: String,
    },

    /// The signature does not verify with the selected key.
    #[error("invalid token signature")]
    BadSignature,

    /// The token is expired (`exp` plus leeway is not after now).
    #[error("token expired at {exp} (now {now})")]
    Expired {
        /// The `exp` claim.
        exp: i64,
        /// The time used for the check.
        now: i64,
    },

    /// The token is not valid yet (`nbf` is after now plus leeway).
    #[error("token not valid before {nbf} (now {now})")]
    NotYetValid {
        /// The `nbf` claim.
        nbf: i64,
        /// The time used for the check.
        now: i64,
    },

    /// The token claims to be issued in the future (`iat` is after now plus leeway).
    #[error("token issued in the future at {iat} (now {now})")]
    IssuedInFuture {
        /// The `iat` claim.
        iat: i64,
        /// The time used for the check.
        now: i64,
    },

    /// The `iss` claim is missing or differs from the expected issuer.
    #[error("unexpected issuer: expected {expected:?}, found {found:?}")]
    BadIssuer {
        /// The expected issuer.
        expected: String,
        /// The `iss` in the token (`"<none>"` if absent or not a string).
        found: String,
    },

    /// The `aud` claim is missing or does not contain the expected audience.
    #[error("token audience does not include {expected:?}")]
    BadAudience {
        /// The expected audience.
        expected: String,
    },

    /// The token is malformed or otherwise unacceptable.
    #[error("invalid token: {0}")]
    InvalidToken(String),

    /// The claims could not be serialized to a JSON object.
    #[error("cannot serialize claims: {0}")]
    Claims(String),
}
