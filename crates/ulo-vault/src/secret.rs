//! Bearer secrets: generated from the CSPRNG, stored only as SHA-256, compared in constant time.

use aws_lc_rs::digest;

use crate::error::VaultError;

/// A new random secret: 32 bytes, URL-safe base64 without padding.
pub fn new_secret() -> Result<String, VaultError> {
    use base64::Engine;
    let mut b = [0u8; 32];
    aws_lc_rs::rand::fill(&mut b)
        .map_err(|_| VaultError::Internal("the system random generator failed".into()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

/// SHA-256 of `s`, hex: the stored form of a secret.
pub fn hash(s: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, s.as_bytes()))
}

/// Whether two strings are equal, in time independent of where they differ.
pub fn equal(a: &str, b: &str) -> bool {
    // Comparing digests keeps the time independent of the lengths too.
    aws_lc_rs::constant_time::verify_slices_are_equal(
        digest::digest(&digest::SHA256, a.as_bytes()).as_ref(),
        digest::digest(&digest::SHA256, b.as_bytes()).as_ref(),
    )
    .is_ok()
}

/// PKCE S256 challenge of `verifier` (RFC 7636).
pub fn pkce_challenge(verifier: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_hash_and_compare() {
        let a = new_secret().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, new_secret().unwrap());
        assert_eq!(hash(&a).len(), 64);
        assert!(equal(&a, &a.clone()));
        assert!(!equal(&a, "other"));
        // Base64url(SHA-256(verifier)) without padding.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mJ0kHyc9aDj0z8lVbTFOiQG4VWCEU0"),
            "pWLRIRaanu8w03sQOYb6dUuM__UGWZ4X1r7NUg8gDPQ"
        );
    }
}
