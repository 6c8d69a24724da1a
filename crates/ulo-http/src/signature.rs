//! The request signature ulo puts on the calls it makes to admin-registered receivers (the
//! vault's connector calls, workflow calls): a timestamp header with Unix seconds and a
//! signature header `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.

use aws_lc_rs::hmac;

fn key(secret: &str) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes())
}

fn message(timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(body.len() + 12);
    msg.extend_from_slice(timestamp.to_string().as_bytes());
    msg.push(b'.');
    msg.extend_from_slice(body);
    msg
}

/// The signature header value (`v1=<hex>`) for `body` sent at Unix time `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = hmac::sign(&key(secret), &message(timestamp, body));
    format!("v1={}", hex::encode(tag.as_ref()))
}

/// Whether `hex_signature` (the part after `v1=`) is the signature of `body` at `timestamp`
/// under `secret` (compared in constant time).
pub fn matches(secret: &str, timestamp: i64, hex_signature: &str, body: &[u8]) -> bool {
    let Ok(given) = hex::decode(hex_signature.trim()) else {
        return false;
    };
    hmac::verify(&key(secret), &message(timestamp, body), &given).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_matches_only_its_body_time_and_secret() {
        let s = sign("k", 1_700_000_000, b"{}");
        let hex = s.strip_prefix("v1=").unwrap_or_default();
        assert!(matches("k", 1_700_000_000, hex, b"{}"));
        assert!(!matches("k", 1_700_000_001, hex, b"{}"));
        assert!(!matches("k", 1_700_000_000, hex, b"{ }"));
        assert!(!matches("j", 1_700_000_000, hex, b"{}"));
    }
}
