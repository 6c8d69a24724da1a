//! The crypto behind sign-in: argon2id passwords and TOTP codes (totp-rs), and the sign-in
//! service wired to them.

use std::sync::OnceLock;

use async_trait::async_trait;
use totp_rs::{Algorithm, Builder};
use ulo_core::signin::{CredentialVerifier, SignIn, TOTP_DIGITS, TOTP_PERIOD};

use crate::state::AppState;

/// argon2id for passwords, HMAC-SHA1 TOTP (RFC 6238, 6 digits, 30 s) for codes.
pub struct ServerCredentials;

static VERIFIER: ServerCredentials = ServerCredentials;

/// A hash of nothing anyone knows, checked when a login has no password so that the answer
/// takes as long as for a real user.
static DUMMY_HASH: OnceLock<String> = OnceLock::new();

async fn dummy_hash() -> Option<String> {
    if let Some(h) = DUMMY_HASH.get() {
        return Some(h.clone());
    }
    let h = crate::password::hash(ulo_core::auth::random_base62(32))
        .await
        .ok()?;
    Some(DUMMY_HASH.get_or_init(|| h).clone())
}

#[async_trait]
impl CredentialVerifier for ServerCredentials {
    async fn password_matches(&self, password: &str, hash: Option<&str>) -> bool {
        match hash {
            Some(h) => crate::password::verify(password.to_string(), h.to_string()).await,
            None => {
                if let Some(h) = dummy_hash().await {
                    let _ = crate::password::verify(password.to_string(), h).await;
                }
                false
            }
        }
    }

    fn totp_matches(&self, secret: &[u8], step: i64, code: &str) -> bool {
        let (Ok(time), Ok(totp)) = (u64::try_from(step * TOTP_PERIOD), totp(secret, None)) else {
            return false;
        };
        // With no skew, `check` compares the one code of `step`, in constant time.
        totp.check(code, time).is_some()
    }
}

fn totp(secret: &[u8], account: Option<(&str, &str)>) -> Result<totp_rs::Totp, totp_rs::TotpError> {
    let mut b = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(TOTP_DIGITS as u8)
        .with_step_duration(TOTP_PERIOD as u64)
        .with_skew(0)
        .with_secret(secret.to_vec());
    if let Some((issuer, login)) = account {
        b = b.with_issuer(Some(issuer)).with_account_name(login);
    }
    b.build()
}

/// The secret in base32 (what people type into an authenticator) and its `otpauth://` URI.
pub fn enrollment(
    state: &AppState,
    secret: &[u8],
    login: &str,
) -> Result<(String, String), String> {
    // Neither part of the label may contain ':' (it separates them).
    let issuer = url::Url::parse(state.issuer())
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .filter(|h| !h.contains(':'))
        .map(|h| format!("ulo {h}"))
        .unwrap_or_else(|| "ulo".into());
    let account = login.replace(':', "_");
    let t = totp(secret, Some((&issuer, &account))).map_err(|e| e.to_string())?;
    let uri = t.to_url().map_err(|e| e.to_string())?;
    Ok((t.secret().to_base32(), uri))
}

/// The sign-in service over `state`.
pub fn sign_in(state: &AppState) -> SignIn<'_> {
    SignIn {
        store: state.store.as_ref(),
        clock: state.clock.as_ref(),
        sealer: state.sealer.as_ref(),
        verifier: &VERIFIER,
        logout_deadlines: state.config.logout_deadlines(),
        single_logout: state.config.single_logout(),
        risk: state.config.risk_settings(),
        threat_list: state.threat_list(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors() {
        // RFC 6238 Appendix B, truncated to 6 digits.
        let secret = b"12345678901234567890";
        for (t, code) in [
            (59, "287082"),
            (1111111109, "081804"),
            (2000000000, "279037"),
        ] {
            let step = t / TOTP_PERIOD;
            assert!(VERIFIER.totp_matches(secret, step, code), "{t}");
            assert!(!VERIFIER.totp_matches(secret, step + 1, code), "{t}");
        }
        assert!(!VERIFIER.totp_matches(secret, -1, "287082"));
    }
}
