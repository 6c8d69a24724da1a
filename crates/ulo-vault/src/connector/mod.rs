//! The HTTP connector protocol between the vault and a managed app.
//!
//! The vault `POST`s JSON to the app's connector URL:
//!
//! - `{"action": "set-password", "username": "…", "password": "…"}`: from now on only this
//!   password signs `username` in;
//! - `{"action": "end-sessions", "username": "…"}`: end every session of `username`.
//!
//! Each request carries `Ulo-Vault-Timestamp` (Unix seconds) and `Ulo-Vault-Signature:
//! v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. The app refuses a bad signature, a
//! timestamp more than [`WINDOW_SECS`] away from its clock, and a signature it has already
//! seen, and answers 2xx once the change is in effect (404 for an unknown username).

mod client;

use serde::{Deserialize, Serialize};

pub use client::{ConnectorClient, ConnectorFailure};

/// The header carrying the request's Unix time.
pub const TIMESTAMP_HEADER: &str = "ulo-vault-timestamp";
/// The header carrying the request's signature.
pub const SIGNATURE_HEADER: &str = "ulo-vault-signature";
/// How far (seconds) a request's timestamp may be from the receiver's clock.
pub const WINDOW_SECS: i64 = 300;

/// What the vault asks a managed app to do.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    /// Replace the password of `username`.
    SetPassword {
        /// The account.
        username: String,
        /// Its new password.
        password: String,
    },
    /// End every session of `username`.
    EndSessions {
        /// The account.
        username: String,
    },
}

impl std::fmt::Debug for Action {
    // Never print a password, even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SetPassword { username, .. } => f
                .debug_struct("SetPassword")
                .field("username", username)
                .finish_non_exhaustive(),
            Self::EndSessions { username } => f
                .debug_struct("EndSessions")
                .field("username", username)
                .finish(),
        }
    }
}

/// The signature header value for `body` sent at `timestamp` (the scheme shared with workflow
/// calls: [`ulo_http::signature::sign`]).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    ulo_http::signature::sign(secret, timestamp, body)
}

/// Why a connector request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A header is missing or unreadable.
    #[error("{0}")]
    Malformed(String),
    /// The timestamp is outside the window.
    #[error(
        "the request timestamp is {0} s away from this server's clock (at most {WINDOW_SECS} s allowed)"
    )]
    Stale(i64),
    /// The signature does not match.
    #[error("the signature does not match the body and timestamp")]
    BadSignature,
}

/// Checks a request's signature headers against `secret` at Unix time `now`.
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let timestamp = timestamp
        .ok_or_else(|| SignatureError::Malformed(format!("missing {TIMESTAMP_HEADER} header")))?;
    let signature = signature
        .ok_or_else(|| SignatureError::Malformed(format!("missing {SIGNATURE_HEADER} header")))?;
    let ts: i64 = timestamp.trim().parse().map_err(|_| {
        SignatureError::Malformed(format!("{TIMESTAMP_HEADER} is not a Unix time in seconds"))
    })?;
    let skew = (now - ts).abs();
    if skew > WINDOW_SECS {
        return Err(SignatureError::Stale(skew));
    }
    let hex_sig = signature
        .trim()
        .strip_prefix("v1=")
        .ok_or_else(|| SignatureError::Malformed(format!("{SIGNATURE_HEADER} must be v1=<hex>")))?;
    if ulo_http::signature::matches(secret, ts, hex_sig, body) {
        Ok(())
    } else {
        Err(SignatureError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_tampering_is_caught() {
        let body = br#"{"action":"end-sessions","username":"team"}"#;
        let sig = sign("s3cret-0123456789", 1000, body);
        assert!(sig.starts_with("v1="));
        assert_eq!(
            verify("s3cret-0123456789", Some("1000"), Some(&sig), body, 1100),
            Ok(())
        );
        assert_eq!(
            verify("other-secret", Some("1000"), Some(&sig), body, 1000),
            Err(SignatureError::BadSignature)
        );
        assert_eq!(
            verify("s3cret-0123456789", Some("1001"), Some(&sig), body, 1000),
            Err(SignatureError::BadSignature),
            "the timestamp is signed"
        );
        assert_eq!(
            verify("s3cret-0123456789", Some("1000"), Some(&sig), b"{}", 1000),
            Err(SignatureError::BadSignature)
        );
        assert_eq!(
            verify(
                "s3cret-0123456789",
                Some("1000"),
                Some(&sig),
                body,
                1000 + 301
            ),
            Err(SignatureError::Stale(301))
        );
        assert!(matches!(
            verify("s3cret-0123456789", None, Some(&sig), body, 1000),
            Err(SignatureError::Malformed(_))
        ));
    }

    #[test]
    fn actions_have_their_wire_form_and_hide_passwords() {
        let a = Action::SetPassword {
            username: "team".into(),
            password: "p4ss".into(),
        };
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(v["action"], "set-password");
        assert_eq!(v["password"], "p4ss");
        assert!(!format!("{a:?}").contains("p4ss"));
    }
}
